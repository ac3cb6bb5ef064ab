//===- FuzzCommon.h - Oracles shared by the runtime fuzz targets -*- C++
//-*-===//
//
// Besides the sanitizers (ASan, UBSan: any report aborts), the targets check
// the error rules of docs/Robustness.md on every message they get and a few
// properties of accepted inputs; a violation traps, so libFuzzer reports it
// as a crash with the input.
//
//===----------------------------------------------------------------------===//

#ifndef SAMOYEDS_FUZZ_RUNTIME_FUZZCOMMON_H
#define SAMOYEDS_FUZZ_RUNTIME_FUZZCOMMON_H

#include "samoyeds/Runtime/Format.h"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace samoyeds {
namespace fuzz {

/// The longest error message any input may produce (besides file paths).
constexpr size_t kMaxMessage = 1024;

/// Reports `what` about `subject` on stderr and aborts.
[[noreturn]] inline void violated(const char *what,
                                  const std::string &subject) {
  std::fprintf(stderr, "fuzz oracle violated: %s\n%s\n", what,
               subject.substr(0, 4096).c_str());
  std::abort();
}

/// Aborts unless `message` (an error for some input) is non-empty, at most
/// kMaxMessage bytes longer than `path`, and printable ASCII: every value it
/// took from the input was quoted, cut and escaped.
inline void checkMessage(const std::string &message,
                         const std::string &path = "") {
  if (message.empty())
    violated("an error without a message", message);
  if (message.size() > path.size() + kMaxMessage)
    violated("an error message longer than the limit", message);
  for (char c : message)
    if (c < 0x20 || c > 0x7e)
      violated("a non-printable byte in an error message", message);
}

/// Sets `there` to `w` in the next layout (mma_sp -> wgmma -> wgmma_halves
/// -> mma_sp, so that inputs of every layout reach every pair) and aborts
/// unless relaying it out back gives `w` word for word. False (nothing to
/// compare) when `w`'s shape does not fit the other layout or `w` cannot be
/// relaid out (its error is checked).
inline bool relayoutRoundTrip(const rt::PackedWeight &w,
                              rt::PackedWeight &there) {
  using rt::WeightLayout;
  WeightLayout other = w.layout == WeightLayout::MmaSp ? WeightLayout::Wgmma
                       : w.layout == WeightLayout::Wgmma
                           ? WeightLayout::WgmmaHalves
                           : WeightLayout::MmaSp;
  if (!rt::validate(w.p, w.s, other).empty())
    return false;
  std::string err;
  there = rt::relayout(w, other, &err);
  if (!err.empty()) {
    checkMessage(err);
    return false;
  }
  rt::PackedWeight back = rt::relayout(there, w.layout, &err);
  if (!err.empty() || back.values != w.values || back.meta != w.meta ||
      back.rowIdx != w.rowIdx)
    violated("relayout there and back is not the identity", err);
  return true;
}

} // namespace fuzz
} // namespace samoyeds

#endif // SAMOYEDS_FUZZ_RUNTIME_FUZZCOMMON_H

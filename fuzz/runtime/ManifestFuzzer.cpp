//===- ManifestFuzzer.cpp - libFuzzer target: manifest.json ---------------===//
//
// Parses the input as a bundle's manifest.json (parseManifest: the JSON reader
// and every check of docs/Bundle.md), then computes what the runtime derives
// from an accepted manifest for a few symbol values: buffer sizes (with their
// overflow checks), launch guards and grid sizes, name look-ups, that an
// accepted activation has a finite alpha and limit above 0, and a layer's
// bias inputs (checkLayerBiases). Errors must follow the message rules
// (FuzzCommon.h).
//
//===----------------------------------------------------------------------===//

#include "FuzzCommon.h"
#include "Manifest.h"

#include <climits>
#include <cmath>
#include <cstdint>

using namespace samoyeds;
using namespace samoyeds::rt;

namespace {

/// What sy_bundle_buffer_bytes and sy_session_run compute with every symbol
/// set to `value` (at most INT32_MAX, as sy_session_run allows).
void derive(const Manifest &m, int64_t value) {
  std::vector<int64_t> syms(m.symbols.size(), value);
  for (const BufferDesc &b : m.buffers) {
    if (m.findBuffer(b.name) < 0)
      fuzz::violated("an accepted buffer cannot be found", b.name);
    if (b.kind == SY_BUFFER_WEIGHT)
      continue;
    int64_t elements, bytes;
    std::string err;
    if (!bufferSize(m, b, syms, elements, bytes, err))
      fuzz::checkMessage(err);
  }
  for (const LaunchDesc &l : m.launches) {
    (void)launchSelected(l, syms);
    for (const GridDim &g : l.grid)
      if (gridSize(g, syms, 132) < 0)
        fuzz::violated("a negative grid size", l.kernel);
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string text(reinterpret_cast<const char *>(data), size);
  Manifest m;
  std::string err;
  if (parseManifest(text, "manifest.json", m, err) != SY_OK) {
    fuzz::checkMessage(err);
    return 0;
  }
  for (int64_t value :
       {int64_t(0), int64_t(1), int64_t(977), int64_t(INT32_MAX)})
    derive(m, value);
  // A layer's bias inputs (gpt-oss), of a layer that routes and of one that
  // does not: found, or refused with a well-formed message.
  for (bool routes : {true, false}) {
    LayerBiases biases;
    if (!checkLayerBiases(m, 2, 128, 32, SY_DTYPE_BF16, routes, biases, err))
      fuzz::checkMessage(err);
    else if (biases.router && sy_dtype_size(biases.routerDtype) == 0)
      fuzz::violated("an accepted router bias of no dtype", "router_bias");
  }
  const Activation &a = m.activation;
  if (!(std::isfinite(a.alpha) && std::isfinite(a.limit) && a.alpha > 0 &&
        a.limit > 0))
    fuzz::violated("an accepted activation with a non-finite or non-positive "
                   "alpha or limit",
                   activationName(a.kind));
  return 0;
}

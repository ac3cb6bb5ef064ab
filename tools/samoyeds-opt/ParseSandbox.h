//===- ParseSandbox.h - Parse the input in a child first --------*- C++ -*-===//
//
// MLIR 22's parser and bytecode reader crash, abort or hang on some hostile
// inputs (docs/Robustness.md). samoyeds-opt parses its input once in a forked
// child first, so that such an input gives an error instead.
//
//===----------------------------------------------------------------------===//

#ifndef SAMOYEDS_TOOLS_SAMOYEDS_OPT_PARSESANDBOX_H
#define SAMOYEDS_TOOLS_SAMOYEDS_OPT_PARSESANDBOX_H

#include "mlir/Support/LLVM.h"

#include <memory>

namespace llvm {
class MemoryBuffer;
} // namespace llvm

namespace mlir {
class DialectRegistry;
class MlirOptMainConfig;

namespace samoyeds {

/// Parses `input` as MlirOptMain will (a text input split at the input split
/// marker, a bytecode input whole; each in a fresh context with `registry`,
/// honouring the unregistered dialect, IRDL, explicit module and verifier
/// options of `config`) in a forked child process, and waits for it at most
/// `--parse-sandbox-timeout` seconds.
///
/// Succeeds when the child finished normally, whether a text input parsed or
/// not (MlirOptMain parses it again and reports its errors); also when the
/// sandbox is off (`--parse-sandbox-timeout=0`) or fork is not available.
/// A bytecode input is read in the child only: on success `input` is
/// replaced by the module the child read, as MLIR's bytecode writer writes
/// it; if the read failed, the child's errors are printed and this fails.
/// Otherwise (the child died of a signal, exited with an unexpected status,
/// ran past the time limit, or failed without an error message) prints
/// `<input>:0:0: error: parse sandbox: ...` naming what happened and fails.
///
/// Call it on the thread MlirOptMain will run on (the parser needs its
/// stack), before any MLIRContext with a thread pool exists in the process.
LogicalResult parseInSandbox(std::unique_ptr<llvm::MemoryBuffer> &input,
                             DialectRegistry &registry,
                             const MlirOptMainConfig &config);

} // namespace samoyeds
} // namespace mlir

#endif // SAMOYEDS_TOOLS_SAMOYEDS_OPT_PARSESANDBOX_H

//===- ParseSandbox.cpp - Parse the input in a child process first --------===//
//
// The child parses, the parent watches: a signal, an unexpected exit status,
// a parse past the time limit or a failure without a message becomes one
// located error, and samoyeds-opt stops before it opens its output
// (docs/Robustness.md, "Known upstream issues").
//
//===----------------------------------------------------------------------===//

#include "ParseSandbox.h"

#include "mlir/Bytecode/BytecodeReader.h"
#include "mlir/Bytecode/BytecodeWriter.h"
#include "mlir/Dialect/IRDL/IRDLLoading.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Support/ToolUtilities.h"
#include "mlir/Tools/ParseUtilities.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Signals.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#if LLVM_ON_UNIX
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

using namespace mlir;

static llvm::cl::opt<unsigned> parseSandboxTimeout(
    "parse-sandbox-timeout",
    llvm::cl::desc("Parse the input in a child process first and give up "
                   "after this many seconds (0: no sandbox; default: 10, or "
                   "4 per MiB of input if more)"),
    llvm::cl::value_desc("seconds"));

#if LLVM_ON_UNIX

/// The child's exit statuses besides 0 (parsed, or failed with an error).
enum : int {
  /// A chunk failed to parse without an error message.
  kFailedSilently = 3,
  /// The bytecode writer failed, or the pipe to the parent did.
  kCannotSend = 4,
};

/// The time limit for an input of `size` bytes: --parse-sandbox-timeout if
/// given, else max(10 s, 4 s per MiB). A text or bytecode file parses in well
/// under a second per MiB (docs/Robustness.md).
static unsigned timeLimit(size_t size) {
  if (parseSandboxTimeout.getNumOccurrences())
    return parseSandboxTimeout;
  uint64_t perMiB = (4 * uint64_t(size) + (1u << 20) - 1) >> 20;
  return std::max<uint64_t>(10, std::min<uint64_t>(perMiB, 1u << 30));
}

/// Parses `chunk` in `context` as MlirOptMain does; the diagnostics are
/// printed to `diagnostics`.
static OwningOpRef<Operation *>
parseChunk(std::unique_ptr<llvm::MemoryBuffer> chunk, MLIRContext &context,
           const MlirOptMainConfig &config, FallbackAsmResourceMap &resources,
           raw_ostream &diagnostics) {
  context.allowUnregisteredDialects(config.shouldAllowUnregisteredDialects());
  auto sourceMgr = std::make_shared<llvm::SourceMgr>();
  sourceMgr->AddNewSourceBuffer(std::move(chunk), llvm::SMLoc());
  SourceMgrDiagnosticHandler handler(*sourceMgr, &context, diagnostics);
  if (!config.getIrdlFile().empty()) {
    OwningOpRef<ModuleOp> irdl =
        parseSourceFile<ModuleOp>(config.getIrdlFile(), &context);
    if (!irdl || failed(irdl::loadDialects(*irdl)))
      return nullptr;
  }
  ParserConfig parserConfig(&context, config.shouldVerifyOnParsing(),
                            &resources);
  return parseSourceFileForTool(sourceMgr, parserConfig,
                                !config.shouldUseExplicitModule());
}

/// The child's work on a text input: each chunk parsed as MlirOptMain will
/// parse it again. Returns the exit status.
static int parseTextInChild(const llvm::MemoryBuffer &input,
                            DialectRegistry &registry,
                            const MlirOptMainConfig &config) {
  bool failedSilently = false;
  auto parse = [&](std::unique_ptr<llvm::MemoryBuffer> chunk, raw_ostream &) {
    MLIRContext context(registry, MLIRContext::Threading::DISABLED);
    FallbackAsmResourceMap resources;
    std::string diagnostics;
    llvm::raw_string_ostream os(diagnostics);
    OwningOpRef<Operation *> op =
        parseChunk(std::move(chunk), context, config, resources, os);
    failedSilently |= !op && diagnostics.empty();
    // Not destroyed: the child exits soon, and destroying deeply nested
    // regions takes time quadratic in the depth (Operation::dropAllReferences).
    (void)op.release();
    return success();
  };
  (void)splitAndProcessBuffer(
      llvm::MemoryBuffer::getMemBuffer(input.getMemBufferRef(),
                                       /*RequiresNullTerminator=*/false),
      parse, llvm::nulls(), config.inputSplitMarker(),
      config.outputSplitMarker());
  return failedSilently ? kFailedSilently : 0;
}

/// Writes all of `data` to `fd`.
static bool writeAll(int fd, StringRef data) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    data = data.drop_front(n);
  }
  return true;
}

/// The child's work on a bytecode input (never split): reads it and sends to
/// `fd` the length of the diagnostics (8 bytes, host order), the diagnostics
/// and, if it read a module, the module as the bytecode writer writes it.
/// Returns the exit status.
static int readBytecodeInChild(const llvm::MemoryBuffer &input,
                               DialectRegistry &registry,
                               const MlirOptMainConfig &config, int fd) {
  MLIRContext context(registry, MLIRContext::Threading::DISABLED);
  FallbackAsmResourceMap resources;
  std::string diagnostics, module;
  llvm::raw_string_ostream os(diagnostics);
  OwningOpRef<Operation *> op =
      parseChunk(llvm::MemoryBuffer::getMemBuffer(input.getMemBufferRef(),
                                                  /*RequiresNullTerminator=*/
                                                  false),
                 context, config, resources, os);
  if (!op && diagnostics.empty())
    return kFailedSilently;
  llvm::raw_string_ostream bytecode(module);
  if (op && failed(writeBytecodeToFile(op.get(), bytecode,
                                       BytecodeWriterConfig(resources))))
    return kCannotSend;
  (void)op.release(); // Not destroyed, as in parseTextInChild.
  uint64_t length = diagnostics.size();
  char header[sizeof(length)];
  memcpy(header, &length, sizeof(length));
  return writeAll(fd, StringRef(header, sizeof(header))) &&
                 writeAll(fd, diagnostics) && writeAll(fd, module)
             ? 0
             : kCannotSend;
}

/// Makes this (forked) process die quietly if the parse crashes: LLVM's
/// signal handlers (stack dump, symbolizer) removed, no core file, standard
/// output and error to /dev/null.
static void enterChild() {
  llvm::sys::unregisterHandlers();
  struct rlimit noCore = {0, 0};
  (void)setrlimit(RLIMIT_CORE, &noCore);
  int null = open("/dev/null", O_WRONLY);
  if (null >= 0) {
    (void)dup2(null, STDOUT_FILENO);
    (void)dup2(null, STDERR_FILENO);
  }
}

/// Reads `fd` into `data` until its write end is closed (the child exited or
/// died); false if `seconds` pass first.
static bool readUntilClosed(int fd, unsigned seconds, std::string &data) {
  using Clock = std::chrono::steady_clock;
  Clock::time_point deadline = Clock::now() + std::chrono::seconds(seconds);
  char buffer[1 << 16];
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - Clock::now());
    if (left.count() <= 0)
      return false;
    struct pollfd p = {fd, POLLIN, 0};
    int n = poll(&p, 1, int(std::min<int64_t>(left.count(), 1 << 30)));
    if (n == 0 || (n < 0 && errno == EINTR))
      continue;
    ssize_t got = read(fd, buffer, sizeof(buffer));
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      return true; // End of file (or an error: waitpid waits).
    data.append(buffer, got);
  }
}

LogicalResult
samoyeds::parseInSandbox(std::unique_ptr<llvm::MemoryBuffer> &input,
                         DialectRegistry &registry,
                         const MlirOptMainConfig &config) {
  unsigned seconds = timeLimit(input->getBufferSize());
  if (seconds == 0)
    return success();
  bool bytecode = isBytecode(input->getMemBufferRef());
  auto error = [&]() -> raw_ostream & {
    return llvm::errs() << input->getBufferIdentifier() << ":0:0: error: ";
  };
  // waitpid needs the child's status: SIGCHLD ignored would reap it.
  (void)signal(SIGCHLD, SIG_DFL);
  int fds[2];
  pid_t pid = -1;
  if (pipe(fds) == 0) {
    (void)fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    pid = fork();
    if (pid < 0) {
      int err = errno;
      close(fds[0]);
      close(fds[1]);
      errno = err;
    }
  }
  if (pid < 0) {
    error() << "cannot start the parse sandbox: " << strerror(errno)
            << " (--parse-sandbox-timeout=0 parses without it)\n";
    return failure();
  }
  if (pid == 0) {
    close(fds[0]);
    enterChild();
    _exit(bytecode ? readBytecodeInChild(*input, registry, config, fds[1])
                   : parseTextInChild(*input, registry, config));
  }

  close(fds[1]);
  std::string data;
  bool finished = readUntilClosed(fds[0], seconds, data);
  close(fds[0]);
  if (!finished)
    (void)kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }

  // A bytecode input's result: the diagnostics and the module, if any.
  uint64_t length = 0;
  bool exitedNormally = finished && WIFEXITED(status) &&
                        WEXITSTATUS(status) == 0 &&
                        (!bytecode || data.size() >= sizeof(length));
  if (exitedNormally && bytecode) {
    memcpy(&length, data.data(), sizeof(length));
    // (Always true: the child exits 0 only after sending all of it.)
    exitedNormally = length <= data.size() - sizeof(length);
  }

  std::string what;
  llvm::raw_string_ostream os(what);
  if (!finished)
    os << "did not finish within " << seconds << " s (--parse-sandbox-timeout)";
  else if (WIFSIGNALED(status))
    os << "crashed (signal " << WTERMSIG(status) << ", "
       << strsignal(WTERMSIG(status)) << ")";
  else if (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != kFailedSilently)
    os << "crashed (exit status " << WEXITSTATUS(status) << ")";
  else if (!exitedNormally)
    os << "failed without an error message";
  if (!what.empty()) {
    error() << "parse sandbox: "
            << (bytecode ? "MLIR's bytecode reader" : "MLIR's parser") << " "
            << what
            << " on this input: a defect of MLIR 22 (docs/Robustness.md); "
               "nothing was written\n";
    return failure();
  }
  if (!bytecode)
    return success();

  // MLIR's bytecode reader may write past its buffers on malformed input, so
  // that a read that was harmless in the child crashes here: MlirOptMain
  // reads the module as the writer wrote it instead of the input.
  StringRef result = StringRef(data).drop_front(sizeof(length));
  llvm::errs() << result.take_front(length);
  StringRef module = result.drop_front(length);
  if (module.empty())
    return failure(); // The child's read failed, with the errors above.
  input = llvm::MemoryBuffer::getMemBufferCopy(module,
                                               input->getBufferIdentifier());
  return success();
}

#else // !LLVM_ON_UNIX

/// Without fork the input is parsed once, by MlirOptMain, unguarded.
LogicalResult samoyeds::parseInSandbox(std::unique_ptr<llvm::MemoryBuffer> &,
                                       DialectRegistry &,
                                       const MlirOptMainConfig &) {
  return success();
}

#endif // LLVM_ON_UNIX

//===- EmitBundle.cpp - Write kernels + manifest for the runtime ----------===//
//
// The bundle format is specified in docs/Bundle.md. Files are written under a
// temporary name and renamed at the end, so a failed run leaves no partial
// bundle behind.
//
//===----------------------------------------------------------------------===//

#include "samoyeds/Conversion/SamoyedsToGPU/SamoyedsToGPU.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

namespace mlir::samoyeds {
#define GEN_PASS_DEF_SAMOYEDSEMITBUNDLE
#include "samoyeds/Conversion/Passes.h.inc"
} // namespace mlir::samoyeds

using namespace mlir;
using namespace mlir::samoyeds;

namespace {
/// Converts a builtin attribute (as the conversion recorded it) to JSON.
llvm::json::Value toJSON(Attribute attr) {
  if (auto s = dyn_cast<StringAttr>(attr))
    return s.getValue().str();
  if (auto i = dyn_cast<IntegerAttr>(attr))
    return i.getInt();
  if (auto f = dyn_cast<FloatAttr>(attr))
    return f.getValueAsDouble();
  if (auto b = dyn_cast<BoolAttr>(attr))
    return b.getValue();
  if (auto a = dyn_cast<ArrayAttr>(attr)) {
    llvm::json::Array out;
    for (Attribute e : a)
      out.push_back(toJSON(e));
    return out;
  }
  if (auto d = dyn_cast<DictionaryAttr>(attr)) {
    // Grid dimensions are written as {"ceil_div": [symbol, divisor]}, or
    // {"ceil_div": [symbol, divisor, plus]} when a constant is added.
    if (auto sym = d.getAs<StringAttr>("ceil_div")) {
      llvm::json::Array entry{sym.getValue().str(),
                              d.getAs<IntegerAttr>("by").getInt()};
      if (auto plus = d.getAs<IntegerAttr>("plus"))
        entry.push_back(plus.getInt());
      return llvm::json::Object{{"ceil_div", std::move(entry)}};
    }
    llvm::json::Object out;
    for (NamedAttribute n : d)
      out[n.getName().getValue()] = toJSON(n.getValue());
    return out;
  }
  if (auto ref = dyn_cast<SymbolRefAttr>(attr))
    return ref.getLeafReference().getValue().str();
  return "?";
}

/// Writes `data` to `path` through a temporary file and a rename.
LogicalResult writeAtomically(Operation *op, StringRef path, StringRef data) {
  std::string tmp = (path + ".tmp").str();
  std::error_code ec;
  {
    llvm::raw_fd_ostream os(tmp, ec);
    if (ec)
      return op->emitError()
             << "cannot write '" << tmp << "': " << ec.message();
    os << data;
  }
  if ((ec = llvm::sys::fs::rename(tmp, path)))
    return op->emitError() << "cannot rename '" << tmp << "' to '" << path
                           << "': " << ec.message();
  return success();
}

struct SamoyedsEmitBundle
    : samoyeds::impl::SamoyedsEmitBundleBase<SamoyedsEmitBundle> {
  using Base::Base;

  void runOnOperation() override {
    if (failed(emit()))
      signalPassFailure();
  }

  LogicalResult emit() {
    ModuleOp module = getOperation();
    if (dir.empty())
      return module.emitError() << "samoyeds-emit-bundle needs dir=<directory>";
    SmallVector<func::FuncOp> layers;
    for (auto f : module.getOps<func::FuncOp>())
      if (f->hasAttr("samoyeds.buffers"))
        layers.push_back(f);
    if (layers.size() != 1)
      return module.emitError() << "a bundle holds one compiled function; "
                                << "found " << layers.size()
                                << " (run convert-samoyeds-to-gpu first)";
    func::FuncOp layer = layers.front();

    auto binary = module.lookupSymbol<gpu::BinaryOp>("samoyeds_kernels");
    if (!binary)
      return module.emitError() << "no gpu.binary @samoyeds_kernels; run "
                                << "gpu-module-to-binary{format=isa} first";
    auto object = cast<gpu::ObjectAttr>(binary.getObjects()[0]);
    if (object.getFormat() != gpu::CompilationTarget::Assembly)
      return binary.emitError() << "expects PTX (format=isa) objects";
    auto target = dyn_cast<NVVM::NVVMTargetAttr>(object.getTarget());
    if (!target)
      return binary.emitError() << "expects an #nvvm.target object";

    llvm::json::Array launches;
    std::string epilogue;
    int ssmmCount = 0;
    std::optional<llvm::json::Object> routing;
    layer.walk([&](Operation *op) {
      if (auto route = dyn_cast<RouteOp>(op))
        routing = llvm::json::Object{
            {"experts",
             cast<ShapedType>(route.getRouter().getType()).getDimSize(0)},
            {"top_k", route.getTopK()},
            {"renormalize", route.getRenormalize()},
            {"routed_scaling_factor",
             route.getRoutedScalingFactor().convertToDouble()}};
      if (auto ssmm = dyn_cast<SSMMOp>(op)) {
        ++ssmmCount;
        epilogue = stringifyEpilogueKind(ssmm.getEpilogue()).str();
      }
      if (auto records = op->getAttrOfType<ArrayAttr>("samoyeds.launches"))
        for (Attribute r : records)
          launches.push_back(toJSON(r));
    });

    std::error_code ec = llvm::sys::fs::create_directories(dir);
    if (ec)
      return module.emitError() << "cannot create bundle directory '" << dir
                                << "': " << ec.message();
    SmallString<256> ptxPath(dir), cubinPath(dir), manifestPath(dir);
    llvm::sys::path::append(ptxPath, "kernels.ptx");
    llvm::sys::path::append(cubinPath, "kernels.cubin");
    llvm::sys::path::append(manifestPath, "manifest.json");
    if (failed(writeAtomically(binary, ptxPath, object.getObject().getValue())))
      return failure();
    bool haveCubin = false;
    if (assemble && failed(assembleCubin(binary, target.getChip(), ptxPath,
                                         cubinPath, haveCubin)))
      return failure();

    llvm::json::Object manifest{
        {"format", "samoyeds-bundle"},
        {"version", 1},
        {"function", layer.getSymName().str()},
        {"chip", target.getChip().str()},
        {"ptx_version", 85},
        {"module", "kernels.ptx"},
        {"symbols", llvm::json::Array{"T", "P"}},
        {"buffers", toJSON(layer->getAttr("samoyeds.buffers"))},
        {"weights", toJSON(layer->getAttr("samoyeds.weights"))},
        {"launches", std::move(launches)}};
    if (haveCubin)
      manifest["cubin"] = "kernels.cubin";
    if (routing)
      manifest["routing"] = std::move(*routing);
    if (ssmmCount == 1)
      manifest["epilogue"] = epilogue;
    std::string text;
    llvm::raw_string_ostream os(text);
    os << llvm::formatv("{0:2}", llvm::json::Value(std::move(manifest)))
       << "\n";
    return writeAtomically(layer, manifestPath, text);
  }

  /// Runs ptxas when it is installed; its failure is an error (the PTX we
  /// emitted must assemble), its absence is not.
  LogicalResult assembleCubin(Operation *op, StringRef chip, StringRef ptx,
                              StringRef cubin, bool &haveCubin) {
    auto ptxas = llvm::sys::findProgramByName("ptxas");
    if (!ptxas)
      ptxas = llvm::sys::findProgramByName("ptxas", {"/usr/local/cuda/bin"});
    if (!ptxas)
      return success();
    std::string arch = ("-arch=" + chip).str();
    std::string tmp = (cubin + ".tmp").str();
    SmallString<128> log;
    llvm::sys::fs::createTemporaryFile("samoyeds-ptxas", "log", log);
    StringRef args[] = {*ptxas, arch, "-O3", ptx, "-o", tmp};
    std::optional<StringRef> redirects[] = {std::nullopt, log.str(), log.str()};
    std::string err;
    int rc = llvm::sys::ExecuteAndWait(*ptxas, args, std::nullopt, redirects,
                                       /*SecondsToWait=*/300, 0, &err);
    if (rc != 0) {
      auto buf = llvm::MemoryBuffer::getFile(log);
      return op->emitError()
             << "ptxas failed (" << rc << ") on '" << ptx << "': " << err << " "
             << (buf ? (*buf)->getBuffer() : "");
    }
    llvm::sys::fs::remove(log);
    if (std::error_code ec = llvm::sys::fs::rename(tmp, cubin))
      return op->emitError() << "cannot rename cubin: " << ec.message();
    haveCubin = true;
    return success();
  }
};
} // namespace

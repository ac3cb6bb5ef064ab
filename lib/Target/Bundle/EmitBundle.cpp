//===- EmitBundle.cpp - Write kernels + manifest for the runtime ----------===//
//
// The bundle format is specified in docs/Bundle.md. The files are written
// into a fresh directory beside the target and moved into place at the end
// (see BundleWriter), so a failed or killed run never leaves a loadable mix
// of two bundles; the manifest records each kernel file's size and checksum.
//
//===----------------------------------------------------------------------===//

#include "samoyeds/Dialect/Samoyeds/IR/Samoyeds.h"
#include "samoyeds/Support/Chip.h"
#include "samoyeds/Target/Bundle/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

namespace mlir::samoyeds {
#define GEN_PASS_DEF_SAMOYEDSEMITBUNDLE
#include "samoyeds/Target/Bundle/Passes.h.inc"
} // namespace mlir::samoyeds

using namespace mlir;
using namespace mlir::samoyeds;

namespace {
using llvm::json::Array;
using llvm::json::Object;

/// The manifest entry of a grid dimension (docs/Bundle.md).
llvm::json::Value toJSON(GridDimAttr dim) {
  switch (dim.getKind()) {
  case GridDimKind::Constant:
    return Object{{"const", dim.getValue()}};
  case GridDimKind::PerSM:
    return Object{{"per_sm", dim.getValue()}};
  case GridDimKind::CeilDiv:
    return Object{{"ceil_div", Array{stringifySizeSymbol(dim.getSymbol()),
                                     dim.getValue()}}};
  case GridDimKind::TokenTiles:
    return Object{{"token_tiles", Array{stringifySizeSymbol(dim.getSymbol()),
                                        dim.getValue(), dim.getExperts()}}};
  }
  llvm_unreachable("unknown grid dimension kind");
}

/// The manifest entry of a kernel argument.
llvm::json::Value toJSON(KernelArgAttr arg) {
  switch (arg.getKind()) {
  case KernelArgKind::Buffer: {
    Object o{{"buffer", arg.getBuffer()}, {"elem_bytes", arg.getValue()}};
    if (arg.getAlign() > 0)
      o["align"] = arg.getAlign();
    return o;
  }
  case KernelArgKind::Symbol:
    return Object{{"symbol", stringifySizeSymbol(arg.getSymbol())}};
  case KernelArgKind::I32:
    return Object{{"i32", arg.getValue()}};
  }
  llvm_unreachable("unknown kernel argument kind");
}

/// The manifest entry of a kernel launch.
llvm::json::Value toJSON(KernelLaunchAttr launch) {
  Array grid, args;
  for (GridDimAttr dim : launch.getGrid())
    grid.push_back(toJSON(dim));
  for (KernelArgAttr arg : launch.getArgs())
    args.push_back(toJSON(arg));
  Object entry{{"kernel", launch.getKernel().getLeafReference().getValue()},
               {"grid", std::move(grid)},
               {"block", Array(launch.getBlock())},
               {"smem", launch.getSmem()},
               {"args", std::move(args)}};
  if (launch.getPdl())
    entry["pdl"] = true;
  if (SlotGuardAttr when = launch.getWhen()) {
    Object guard{{"symbol", stringifySizeSymbol(when.getSymbol())},
                 {"min", when.getMin()}};
    if (when.getMax())
      guard["max"] = *when.getMax();
    entry["when"] = std::move(guard);
  }
  return entry;
}

/// The manifest entry of a `samoyeds.buffers` element.
llvm::json::Value toJSON(Attribute buffer) {
  if (auto part = dyn_cast<WeightPartAttr>(buffer))
    return Object{{"name", part.getName()},
                  {"kind", "weight"},
                  {"dtype", getBundleDTypeName(part.getElementType())},
                  {"bytes", part.getBytes()},
                  {"of", part.getWeight()},
                  {"part", stringifyWeightPartKind(part.getPart())}};
  auto dense = cast<BufferAttr>(buffer);
  Array shape;
  for (auto [d, size] : llvm::enumerate(dense.getShape())) {
    if (std::optional<SizeSymbol> symbol = dense.getSymbol(d))
      shape.push_back(stringifySizeSymbol(*symbol));
    else
      shape.push_back(size);
  }
  return Object{{"name", dense.getName()},
                {"kind", stringifyBufferKind(dense.getKind())},
                {"dtype", getBundleDTypeName(dense.getElementType())},
                {"shape", std::move(shape)}};
}

/// The manifest entry of a packed weight.
llvm::json::Value toJSON(WeightAttr weight) {
  SparseFormatAttr format = weight.getFormat();
  return Object{{"name", weight.getName()},
                {"layout", stringifyWeightLayout(weight.getLayout())},
                {"dtype", getBundleDTypeName(weight.getElementType())},
                {"experts", weight.getExperts()},
                {"rows", weight.getRows()},
                {"cols", weight.getCols()},
                {"n", format.getN()},
                {"m", format.getM()},
                {"v", format.getV()}};
}

/// The manifest's `routing` object.
Object toJSON(RoutingAttr routing) {
  return Object{{"experts", routing.getExperts()},
                {"top_k", routing.getTopK()},
                {"renormalize", routing.getRenormalize()},
                {"routed_scaling_factor",
                 routing.getRoutedScalingFactor().getValueAsDouble()}};
}

/// The manifest's `activation` object of a launch whose expert matmul's
/// activation is not SiLU (docs/Bundle.md), or none.
std::optional<Object> activationJSON(LaunchOp op) {
  std::optional<ActivationKind> kind = op.getActivation();
  if (!kind || *kind == ActivationKind::Silu)
    return std::nullopt;
  GatedActivation act = GatedActivation::get(*kind, op.getSwigluAlphaAttr(),
                                             op.getSwigluLimitAttr());
  return Object{{"kind", stringifyActivationKind(*kind)},
                {"alpha", act.alpha},
                {"limit", act.limit}};
}

/// The files a bundle directory holds. Replacing a bundle removes or
/// replaces these and nothing else.
constexpr StringLiteral kManifest = "manifest.json", kPTX = "kernels.ptx",
                        kCubin = "kernels.cubin";

/// FNV-1a (64 bits) of `data`: the checksum the manifest records for each
/// kernel file (it detects a torn or mixed bundle; it is not a signature).
uint64_t fnv1a64(StringRef data) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : data) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

/// Writes a bundle so that no crash point leaves a loadable mix of two: the
/// files go into a fresh directory beside the target (DIR.tmp-XXXXXX, same
/// parent, so same file system), which `commit` then turns into DIR. A
/// writer that is destroyed uncommitted removes its directory.
///
/// When DIR does not exist, the whole directory is renamed into place (one
/// atomic step). When it exists, it may hold files that are not ours (notes,
/// weights), so it is never replaced or emptied wholesale: the old
/// manifest.json is removed first (from then on DIR is not a loadable
/// bundle), the new kernel files are renamed over the old ones and an old
/// kernels.cubin the new bundle lacks is removed, and the new manifest.json
/// is renamed in last. Every other file in DIR is left as it is. A reader
/// racing with the writer can still pair an old manifest with a new kernel
/// file; the manifest's sizes and checksums make the runtime reject that.
class BundleWriter {
public:
  BundleWriter(Location loc, StringRef dir) : loc(loc), target(dir) {}
  ~BundleWriter() {
    if (!staging.empty())
      llvm::sys::fs::remove_directories(staging);
  }

  /// Creates the parent directories of the target and the staging directory.
  LogicalResult create() {
    llvm::sys::fs::make_absolute(target);
    llvm::sys::path::remove_dots(target);
    StringRef parent = llvm::sys::path::parent_path(target);
    std::error_code ec = llvm::sys::fs::create_directories(parent);
    if (!ec && !llvm::sys::fs::is_directory(parent))
      ec = std::make_error_code(std::errc::not_a_directory);
    if (ec)
      return ioError("create bundle directory", target, ec);
    // DIR.tmp-XXXXXX, made like create_directories makes DIR.
    if ((ec = llvm::sys::fs::createUniqueDirectory(target + ".tmp", staging))) {
      staging.clear();
      return ioError("create a directory beside", target, ec);
    }
    return success();
  }

  /// The path of file `name` in the staging directory.
  std::string staged(StringRef name) const {
    SmallString<256> path(staging);
    llvm::sys::path::append(path, name);
    return path.str().str();
  }

  /// Writes `data` to the staged file `name`; a kernel file (`checksum`)
  /// goes into the manifest's `files` list.
  LogicalResult write(StringRef name, StringRef data, bool checksum) {
    std::error_code ec;
    std::string path = staged(name);
    {
      llvm::raw_fd_ostream os(path, ec);
      if (!ec) {
        os << data;
        os.close();
        ec = os.error();
        os.clear_error(); // Reported below, not fatal in the destructor.
      }
    }
    if (ec)
      return ioError("write", path, ec);
    if (checksum)
      addChecksum(name, data);
    return success();
  }

  /// Records the size and checksum of a staged file another tool wrote.
  LogicalResult addStagedChecksum(StringRef name) {
    std::string path = staged(name);
    auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                              /*RequiresNullTerminator=*/false);
    if (!buffer)
      return ioError("read", path, buffer.getError());
    addChecksum(name, (*buffer)->getBuffer());
    return success();
  }

  /// Makes the staged files the bundle at the target (see the class comment).
  LogicalResult commit() {
    if (!llvm::sys::fs::exists(target)) {
      std::error_code ec = llvm::sys::fs::rename(staging, target);
      if (!ec) {
        staging.clear();
        return success();
      }
      // Created meanwhile: replace its files like those of an old bundle.
      if (ec != std::errc::directory_not_empty && ec != std::errc::file_exists)
        return ioError("rename '" + staging + "' to", target, ec);
    }
    if (!llvm::sys::fs::is_directory(target))
      return emitError(loc) << "bundle directory '" << target
                            << "' exists and is not a directory";
    if (failed(removeFromTarget(kManifest)))
      return failure();
    for (StringRef name : {kPTX, kCubin}) {
      if (!kernelFiles.contains(name)) {
        if (failed(removeFromTarget(name)))
          return failure();
        continue;
      }
      if (failed(moveToTarget(name)))
        return failure();
    }
    if (failed(moveToTarget(kManifest)))
      return failure();
    return success();
  }

  /// The manifest's `files` entries.
  llvm::json::Array files;

private:
  void addChecksum(StringRef name, StringRef data) {
    kernelFiles.insert(name);
    files.push_back(llvm::json::Object{
        {"name", name.str()},
        {"bytes", static_cast<int64_t>(data.size())},
        {"fnv1a64", llvm::utohexstr(fnv1a64(data), /*LowerCase=*/true,
                                    /*Width=*/16)}});
  }

  std::string inTarget(StringRef name) const {
    SmallString<256> path(target);
    llvm::sys::path::append(path, name);
    return path.str().str();
  }

  LogicalResult removeFromTarget(StringRef name) {
    std::string path = inTarget(name);
    if (std::error_code ec = llvm::sys::fs::remove(path))
      return ioError("remove", path, ec);
    return success();
  }

  LogicalResult moveToTarget(StringRef name) {
    std::string path = inTarget(name);
    if (std::error_code ec = llvm::sys::fs::rename(staged(name), path))
      return ioError("replace", path, ec);
    return success();
  }

  LogicalResult ioError(const Twine &action, const Twine &path,
                        std::error_code ec) {
    return emitError(loc) << "cannot " << action << " '" << path
                          << "': " << ec.message();
  }

  Location loc;
  SmallString<256> target, staging;
  llvm::StringSet<> kernelFiles;
};

struct SamoyedsEmitBundle
    : samoyeds::impl::SamoyedsEmitBundleBase<SamoyedsEmitBundle> {
  using Base::Base;

  void runOnOperation() override {
    if (failed(emit()))
      signalPassFailure();
  }

  /// Diagnostics are located at the compiled function (or the module) and
  /// carry no op: an attached op would print the whole module, PTX and all.
  LogicalResult emit() {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> layers;
    for (auto f : module.getOps<func::FuncOp>())
      if (f->hasAttr(SamoyedsDialect::kBuffersAttrName))
        layers.push_back(f);
    Location loc =
        layers.size() == 1 ? layers.front().getLoc() : module.getLoc();
    if (dir.empty())
      return emitError(loc) << "samoyeds-emit-bundle needs dir=<directory>";
    if (layers.size() != 1) {
      InFlightDiagnostic diag =
          emitError(layers.empty() ? loc : layers[1].getLoc())
          << "a bundle holds one compiled function; found " << layers.size()
          << " (run convert-samoyeds-to-gpu first)";
      if (!layers.empty())
        diag.attachNote(layers.front().getLoc()) << "the first one";
      return diag;
    }
    func::FuncOp layer = layers.front();

    auto binary = module.lookupSymbol<gpu::BinaryOp>("samoyeds_kernels");
    if (!binary)
      return emitError(loc) << "no gpu.binary @samoyeds_kernels; run "
                            << "gpu-module-to-binary{format=isa} first";
    auto object = cast<gpu::ObjectAttr>(binary.getObjects()[0]);
    if (object.getFormat() != gpu::CompilationTarget::Assembly)
      return emitError(binary.getLoc())
             << "'gpu.binary' op expects PTX (format=isa) objects";
    auto target = dyn_cast<NVVM::NVVMTargetAttr>(object.getTarget());
    if (!target)
      return emitError(binary.getLoc())
             << "'gpu.binary' op expects an #nvvm.target object";

    Array launches, buffers, weights;
    std::string epilogue;
    int ssmmCount = 0;
    std::optional<Object> routing, activation;
    LaunchOp activationOp;
    WalkResult walk = layer.walk([&](LaunchOp op) {
      if (RoutingAttr r = op.getRoutingAttr())
        routing = toJSON(r);
      if (std::optional<Object> a = activationJSON(op)) {
        // The manifest names one activation for the bundle's experts.
        if (activation && llvm::json::Value(Object(*activation)) !=
                              llvm::json::Value(Object(*a))) {
          InFlightDiagnostic diag =
              op.emitError() << "a bundle's expert matmuls have one gated "
                                "activation; this one differs";
          diag.attachNote(activationOp.getLoc()) << "the first one";
          return WalkResult::interrupt();
        }
        activation = std::move(a);
        activationOp = op;
      }
      if (EpilogueKindAttr e = op.getEpilogueAttr()) {
        ++ssmmCount;
        epilogue = stringifyEpilogueKind(e.getValue()).str();
      }
      for (auto launch : op.getLaunches().getAsRange<KernelLaunchAttr>())
        launches.push_back(toJSON(launch));
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return failure();
    for (Attribute buffer :
         layer->getAttrOfType<ArrayAttr>(SamoyedsDialect::kBuffersAttrName))
      buffers.push_back(toJSON(buffer));
    if (auto list =
            layer->getAttrOfType<ArrayAttr>(SamoyedsDialect::kWeightsAttrName))
      for (auto weight : list.getAsRange<WeightAttr>())
        weights.push_back(toJSON(weight));

    BundleWriter writer(loc, dir);
    if (failed(writer.create()) ||
        failed(writer.write(kPTX, object.getObject().getValue(),
                            /*checksum=*/true)))
      return failure();
    bool haveCubin = false;
    if (assemble && (failed(assembleCubin(writer, binary.getLoc(),
                                          target.getChip(), haveCubin)) ||
                     (haveCubin && failed(writer.addStagedChecksum(kCubin)))))
      return failure();

    llvm::json::Object manifest{{"format", "samoyeds-bundle"},
                                {"version", 1},
                                {"function", layer.getSymName().str()},
                                {"chip", target.getChip().str()},
                                {"ptx_version", kPtxVersion},
                                {"module", kPTX},
                                {"symbols", llvm::json::Array{"T", "P"}},
                                {"buffers", std::move(buffers)},
                                {"weights", std::move(weights)},
                                {"launches", std::move(launches)},
                                {"files", std::move(writer.files)}};
    if (haveCubin)
      manifest["cubin"] = kCubin;
    if (routing)
      manifest["routing"] = std::move(*routing);
    if (ssmmCount == 1)
      manifest["epilogue"] = epilogue;
    if (activation)
      manifest["activation"] = std::move(*activation);
    std::string text;
    llvm::raw_string_ostream os(text);
    os << llvm::formatv("{0:2}", llvm::json::Value(std::move(manifest)))
       << "\n";
    if (failed(writer.write(kManifest, text, /*checksum=*/false)))
      return failure();
    return writer.commit();
  }

  /// Runs ptxas, when it is installed, on the staged PTX into the staged
  /// cubin; its failure is an error (the PTX we emitted must assemble), its
  /// absence is not.
  LogicalResult assembleCubin(BundleWriter &writer, Location loc,
                              StringRef chip, bool &haveCubin) {
    auto ptxas = llvm::sys::findProgramByName("ptxas");
    if (!ptxas)
      ptxas = llvm::sys::findProgramByName("ptxas", {"/usr/local/cuda/bin"});
    if (!ptxas)
      return success();
    std::string arch = ("-arch=" + chip).str();
    std::string ptx = writer.staged(kPTX), cubin = writer.staged(kCubin),
                log = writer.staged("ptxas.log");
    StringRef args[] = {*ptxas, arch, "-O3", ptx, "-o", cubin};
    std::optional<StringRef> redirects[] = {std::nullopt, StringRef(log),
                                            StringRef(log)};
    std::string err;
    int rc = llvm::sys::ExecuteAndWait(*ptxas, args, std::nullopt, redirects,
                                       /*SecondsToWait=*/300, 0, &err);
    auto output = llvm::MemoryBuffer::getFile(log);
    llvm::sys::fs::remove(log);
    if (rc != 0)
      return emitError(loc)
             << "ptxas failed (" << rc << ") on '" << ptx << "': " << err << " "
             << (output ? (*output)->getBuffer() : "");
    haveCubin = true;
    return success();
  }
};
} // namespace

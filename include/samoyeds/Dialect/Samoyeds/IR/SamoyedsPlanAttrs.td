//===- SamoyedsPlanAttrs.td - The launch plan of a bundle --*- tablegen -*-===//
//
// What `convert-samoyeds-to-gpu` states about the host side of a compiled
// function, and `samoyeds-emit-bundle` serialises (docs/Bundle.md): the
// buffers it binds, its packed weights, and for each `samoyeds.launch` the
// kernel launches with their grids, arguments and guards.
//
//===----------------------------------------------------------------------===//

#ifndef SAMOYEDS_DIALECT_SAMOYEDS_IR_SAMOYEDSPLANATTRS_TD
#define SAMOYEDS_DIALECT_SAMOYEDS_IR_SAMOYEDSPLANATTRS_TD

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def Samoyeds_SizeSymbol : I32EnumAttr<"SizeSymbol",
    "a size known only when the runtime is called", [
      I32EnumAttrCase<"T", 0, "T">,
      I32EnumAttrCase<"P", 1, "P">]> {
  let cppNamespace = "::mlir::samoyeds";
  let genSpecializedAttr = 0;
}

def Samoyeds_GridDimKind : I32EnumAttr<"GridDimKind",
    "how the runtime sizes one grid dimension", [
      I32EnumAttrCase<"Constant", 0, "const">,
      I32EnumAttrCase<"CeilDiv", 1, "ceil_div">,
      I32EnumAttrCase<"PerSM", 2, "per_sm">,
      I32EnumAttrCase<"TokenTiles", 3, "token_tiles">]> {
  let cppNamespace = "::mlir::samoyeds";
  let genSpecializedAttr = 0;
}

def Samoyeds_KernelArgKind : I32EnumAttr<"KernelArgKind",
    "how the runtime binds one kernel argument", [
      I32EnumAttrCase<"Buffer", 0, "buffer">,
      I32EnumAttrCase<"Symbol", 1, "symbol">,
      I32EnumAttrCase<"I32", 2, "i32">]> {
  let cppNamespace = "::mlir::samoyeds";
  let genSpecializedAttr = 0;
}

def Samoyeds_BufferKind : I32EnumAttr<"BufferKind",
    "who provides a bundle buffer", [
      I32EnumAttrCase<"Input", 0, "input">,
      I32EnumAttrCase<"Output", 1, "output">,
      I32EnumAttrCase<"Workspace", 2, "workspace">,
      // i32 counters that the runtime zeroes when it allocates them and that
      // every kernel using them leaves zeroed (a split-K reduction's arrivals).
      I32EnumAttrCase<"Counters", 3, "counters">]> {
  let cppNamespace = "::mlir::samoyeds";
  let genSpecializedAttr = 0;
}

def Samoyeds_WeightPartKind : I32EnumAttr<"WeightPartKind",
    "one array of a packed weight (docs/Format.md)", [
      I32EnumAttrCase<"Values", 0, "values">,
      I32EnumAttrCase<"Meta", 1, "meta">,
      I32EnumAttrCase<"RowIdx", 2, "row_idx">]> {
  let cppNamespace = "::mlir::samoyeds";
  let genSpecializedAttr = 0;
}

def Samoyeds_WeightLayout : I32EnumAttr<"WeightLayout",
    "the physical layout of a packed weight (docs/Format.md)", [
      I32EnumAttrCase<"MmaSp", 0, "mma_sp">,
      I32EnumAttrCase<"Wgmma", 1, "wgmma">,
      I32EnumAttrCase<"WgmmaHalves", 2, "wgmma_halves">]> {
  let cppNamespace = "::mlir::samoyeds";
  let genSpecializedAttr = 0;
}

//===----------------------------------------------------------------------===//
// Launch attributes
//===----------------------------------------------------------------------===//

def Samoyeds_GridDimAttr : Samoyeds_Attr<"GridDim", "dim"> {
  let summary = "One grid dimension of a kernel launch";
  let description = [{
    A constant, `ceil_div(S, d)` of a size symbol S (T tokens or P routed
    slots), `per_sm(k)`: k blocks per multiprocessor of the device the
    runtime runs on, or `token_tiles(S, d, E)`: the most tiles of d slots S
    routed slots can make over E experts, each expert's slots cut into
    ceil(count / d) tiles. With n = min(E, S) that is n + (S - n) / d
    (floor): an expert with c > 0 slots makes 1 + floor((c - 1) / d) tiles,
    and the sum over the n' <= n experts that have slots is at most
    n' + floor((S - n') / d), which does not decrease as n' grows. The expert
    matmuls launch one block row per token tile; ceil(S / d) + E, the bound
    before, launched 161 block rows for the 6 tiles of one token routed to
    6 of 160 experts.

    ```mlir
    #samoyeds.dim<16>
    #samoyeds.dim<ceil_div(P, 32)>
    #samoyeds.dim<per_sm(1)>
    #samoyeds.dim<token_tiles(P, 8, 160)>
    ```
  }];
  let parameters = (ins EnumParameter<Samoyeds_GridDimKind>:$kind,
                        EnumParameter<Samoyeds_SizeSymbol>:$symbol,
                        "int64_t":$value, "int64_t":$experts);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    static GridDimAttr getConstant(::mlir::MLIRContext *ctx, int64_t size);
    static GridDimAttr getCeilDiv(::mlir::MLIRContext *ctx, SizeSymbol symbol,
                                  int64_t divisor);
    static GridDimAttr getPerSM(::mlir::MLIRContext *ctx, int64_t blocks);
    static GridDimAttr getTokenTiles(::mlir::MLIRContext *ctx,
                                     SizeSymbol symbol, int64_t tokens,
                                     int64_t experts);
    /// Parses the body (`16`, `ceil_div(P, 32)`, `per_sm(1)`,
    /// `token_tiles(P, 8, 160)`).
    static GridDimAttr parseBody(::mlir::AsmParser &parser);
    void printBody(::mlir::AsmPrinter &printer) const;
  }];
}

def Samoyeds_KernelArgAttr : Samoyeds_Attr<"KernelArg", "arg"> {
  let summary = "How the runtime binds one kernel argument";
  let description = [{
    `buffer("NAME", B)`: the device address of the bundle buffer NAME, whose
    kernel parameter reads elements of B bytes; `buffer("NAME", B, align A)`:
    the kernel also accesses it in aligned A-byte pieces (16-byte copies or
    vector loads), so its address must be a multiple of A (a power of two
    above B, at most 256); `symbol(S)`: the value of a size symbol as i32;
    `i32(N)`: a constant.

    ```mlir
    #samoyeds.arg<buffer("w.values", 4)>
    #samoyeds.arg<buffer("x", 2, align 16)>
    #samoyeds.arg<symbol(P)>
    #samoyeds.arg<i32(7)>
    ```
  }];
  let parameters = (ins EnumParameter<Samoyeds_KernelArgKind>:$kind,
                        StringRefParameter<"the buffer">:$buffer,
                        EnumParameter<Samoyeds_SizeSymbol>:$symbol,
                        "int64_t":$value,
                        DefaultValuedParameter<"int64_t", "0">:$align);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// A buffer argument; `align` (0: none) the address alignment its
    /// kernel needs beyond the element size.
    static KernelArgAttr getBuffer(::mlir::MLIRContext *ctx,
                                   ::llvm::StringRef name, int64_t elemBytes,
                                   int64_t align = 0);
    /// The alignment, in bytes, the kernel needs for a buffer argument's
    /// address: `align`, or the element size.
    int64_t getAddressAlignment() const {
      return getAlign() > 0 ? getAlign() : getValue();
    }
    static KernelArgAttr getSymbol(::mlir::MLIRContext *ctx, SizeSymbol symbol);
    static KernelArgAttr getI32(::mlir::MLIRContext *ctx, int64_t value);
    static KernelArgAttr parseBody(::mlir::AsmParser &parser);
    void printBody(::mlir::AsmPrinter &printer) const;
  }];
}

def Samoyeds_SlotGuardAttr : Samoyeds_Attr<"SlotGuard", "guard"> {
  let summary = "The calls a kernel launch runs in";
  let description = [{
    The launch runs when the size symbol is in [min, max] (`S in [min,
    max]`), or at least min (`S in [min, ...]`); launches without a guard
    always run.

    ```mlir
    #samoyeds.guard<P in [1, 96]>
    #samoyeds.guard<P in [97, ...]>
    ```
  }];
  let parameters = (ins EnumParameter<Samoyeds_SizeSymbol>:$symbol,
                        "int64_t":$min,
                        OptionalParameter<"std::optional<int64_t>">:$max);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    static SlotGuardAttr parseBody(::mlir::AsmParser &parser);
    void printBody(::mlir::AsmPrinter &printer) const;
  }];
}

def Samoyeds_KernelLaunchAttr : Samoyeds_Attr<"KernelLaunch", "launch"> {
  let summary = "One kernel launch of a samoyeds.launch";
  let description = [{
    The kernel (a symbol of the `gpu.module`), its grid, its block, the
    bytes of dynamic shared memory, whether it is a programmatic dependent
    launch (`pdl`: the kernel starts with `griddepcontrol.wait` and
    `griddepcontrol.launch_dependents`, so the runtime may launch it before
    the previous kernel of the stream ends), one binding per kernel argument
    and an optional guard.

    ```mlir
    #samoyeds.launch<@samoyeds_kernels::@f_ssmm_2
        grid(16, ceil_div(P, 32) + 2, 1) block(128, 1, 1) smem(18432)
        args(buffer("w.values", 4), buffer("x", 2), symbol(P))
        when(P in [97, ...])>
    ```
  }];
  let parameters = (ins "::mlir::SymbolRefAttr":$kernel,
                        ArrayRefParameter<"GridDimAttr">:$grid,
                        ArrayRefParameter<"int64_t">:$block,
                        "int64_t":$smem,
                        DefaultValuedParameter<"bool", "false">:$pdl,
                        ArrayRefParameter<"KernelArgAttr">:$args,
                        OptionalParameter<"SlotGuardAttr">:$when);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
}

//===----------------------------------------------------------------------===//
// Buffer and weight attributes
//===----------------------------------------------------------------------===//

def Samoyeds_BufferAttr : Samoyeds_Attr<"Buffer", "buffer"> {
  let summary = "A dense buffer of a compiled function";
  let description = [{
    Name, who provides it, element type and shape; a dimension is a size or
    a size symbol.

    ```mlir
    #samoyeds.buffer<"x", input, bf16, [T, 2048]>
    #samoyeds.buffer<"ws_f_ssmm_3", workspace, f32, [P, 4096]>
    ```
  }];
  let parameters = (ins StringRefParameter<"the name">:$name,
                        EnumParameter<Samoyeds_BufferKind>:$kind,
                        "::mlir::Type":$elementType,
                        ArrayRefParameter<"int64_t">:$shape);
  let assemblyFormat = [{
    `<` $name `,` $kind `,` $elementType `,` `[` custom<BufferShape>($shape) `]` `>`
  }];
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// How `shape` holds a size symbol: -1 - symbol.
    static int64_t encodeSymbol(SizeSymbol symbol) {
      return -1 - static_cast<int64_t>(symbol);
    }
    /// The symbol of dimension `d`, when it is one.
    std::optional<SizeSymbol> getSymbol(unsigned d) const;
  }];
}

def Samoyeds_WeightPartAttr : Samoyeds_Attr<"WeightPart", "weight_part"> {
  let summary = "One array of a packed weight, as a bundle buffer";
  let description = [{
    The buffer `NAME.PART` holding part PART of packed weight NAME, its
    element type and its size in bytes.

    ```mlir
    #samoyeds.weight_part<"w.meta", "w", meta, ui32, 524288>
    ```
  }];
  let parameters = (ins StringRefParameter<"the buffer name">:$name,
                        StringRefParameter<"the weight">:$weight,
                        EnumParameter<Samoyeds_WeightPartKind>:$part,
                        "::mlir::Type":$elementType, "int64_t":$bytes);
  let assemblyFormat = [{
    `<` $name `,` $weight `,` $part `,` $elementType `,` $bytes `>`
  }];
  let genVerifyDecl = 1;
}

def Samoyeds_WeightAttr : Samoyeds_Attr<"Weight", "weight"> {
  let summary = "A packed expert weight of a compiled function";
  let description = [{
    Name, packed layout, element type, shape `[experts, rows, cols]` and
    SS format.

    ```mlir
    #samoyeds.weight<"w13", mma_sp, bf16, [64, 2048, 2048], <n = 1, m = 2, v = 128>>
    ```
  }];
  let parameters = (ins StringRefParameter<"the name">:$name,
                        EnumParameter<Samoyeds_WeightLayout>:$layout,
                        "::mlir::Type":$elementType,
                        "int64_t":$experts, "int64_t":$rows, "int64_t":$cols,
                        "SparseFormatAttr":$format);
  let assemblyFormat = [{
    `<` $name `,` $layout `,` $elementType `,` `[` $experts `,` $rows `,` $cols
    `]` `,` $format `>`
  }];
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Kept rows of a wgmma layout's tile (the warpgroup MMA's M) and dense
    /// columns of its blocks (docs/Format.md).
    static constexpr int64_t kWgmmaTileRows = 64, kWgmmaBlockCols = 128;
    /// The wgmma layout a weight of `keptRows` kept rows in `halves` halves
    /// (2: a gate/up weight) takes: `wgmma_halves` where the halves' kept
    /// rows are no whole 64-row tiles (each half padded on its own), else
    /// `wgmma` (its kept rows padded to whole tiles; docs/Format.md).
    static WeightLayout wgmmaLayout(int64_t keptRows, int64_t halves);
    /// Kept rows `layout` stores per expert (docs/Format.md): `keptRows`
    /// for mma_sp, rounded up to whole 64-row tiles for wgmma, each half
    /// rounded up for wgmma_halves.
    static int64_t storedKeptRows(WeightLayout layout, int64_t keptRows);
    /// Columns `layout` stores per kept row: `cols` for mma_sp, rounded up
    /// to whole 128-column blocks for the wgmma layouts.
    static int64_t storedCols(WeightLayout layout, int64_t cols);
  }];
}

def Samoyeds_RoutingAttr : Samoyeds_Attr<"Routing", "routing"> {
  let summary = "The routing a compiled function's route kernel implements";
  let description = [{
    The experts, top_k, renormalisation and scaling of a `samoyeds.route`,
    as the bundle manifest's `routing` object records them.

    ```mlir
    #samoyeds.routing<experts = 64, top_k = 8, renormalize = false, routed_scaling_factor = 1.0>
    ```
  }];
  let parameters = (ins "int64_t":$experts, "int64_t":$top_k,
                        "bool":$renormalize,
                        "::mlir::FloatAttr":$routed_scaling_factor);
  let assemblyFormat = "`<` struct(params) `>`";
}

#endif // SAMOYEDS_DIALECT_SAMOYEDS_IR_SAMOYEDSPLANATTRS_TD

"""What the converter will write for a checkpoint (:func:`make_plan`): its MoE layers,
their shapes and source dtypes, every tensor of the output, checked before anything is
read or written."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from ._capi import SamoyedsError, quote
from .checkpoint import FUSED, MODELS, Checkpoint, ConversionError, ModelSpec
from .fp8 import E4M3, SCALE_SUFFIX, Fp8Error, block_from_config, scale_shape
from .pack import validate
from .weightfile import weight_entries

__all__ = ["LayerPlan", "Plan", "make_plan", "parse_layers", "SOURCE_DTYPES",
           "DEFAULT_LAYOUT"]

SOURCE_DTYPES = ("BF16", "F16", "F32")
# Expert weights may also be block-scaled FP8 (F8_E4M3 with W.weight_scale_inv; fp8.py).
SCALE_DTYPES = ("F32", "BF16")
DEFAULT_LAYOUT = "wgmma"
# --layers may name at most this many layers.
MAX_LAYERS = 1 << 16


@dataclass
class LayerPlan:
    index: int
    experts: int
    hidden: int
    inter: int
    src_bytes: int = 0
    router: str = ""  # the router's tensor name
    fused: bool = False  # experts in experts.gate_up_proj / experts.down_proj


@dataclass
class Plan:
    model: ModelSpec
    layers: List[LayerPlan]
    passthrough: List[str]
    ignored: List[str]
    dense_layers: List[int]
    entries: List[Tuple[str, str, Tuple[int, ...]]] = field(default_factory=list)
    weights: Dict[str, dict] = field(default_factory=dict)
    source_dtypes: set = field(default_factory=set)  # of the expert weights
    fp8_block: Optional[Tuple[int, int]] = None  # where some are FP8


def parse_layers(spec: Optional[str]) -> Optional[List[int]]:
    """"0,2,5-7" -> [0, 2, 5, 6, 7]."""
    if spec is None:
        return None
    out = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m:
            raise ConversionError(f"--layers: bad entry {part!r} (expected N or A-B, comma separated)")
        a = int(m.group(1))
        b = int(m.group(2)) if m.group(2) else a
        if b < a:
            raise ConversionError(f"--layers: empty range {part!r}")
        if b - a >= MAX_LAYERS or len(out) + b - a >= MAX_LAYERS:
            raise ConversionError(f"--layers: more than {MAX_LAYERS} layers")
        out.extend(range(a, b + 1))
    return sorted(set(out))


def _check_dtype(ckpt: Checkpoint, name: str) -> None:
    t = ckpt.info(name)
    if t.dtype not in SOURCE_DTYPES:
        raise ConversionError(f"{ckpt.file_of(name)}: tensor {quote(name)}: unsupported dtype {t.dtype} "
                              f"(supported: {', '.join(SOURCE_DTYPES)})")


def _check_expert(ckpt: Checkpoint, plan: "Plan", name: str) -> int:
    """Checks an expert weight's dtype, and for FP8 its scales (dtype, shape); returns the
    bytes it takes in the checkpoint (its scales included)."""
    t = ckpt.info(name)
    scale = name + SCALE_SUFFIX
    where = f"{ckpt.file_of(name)}: tensor {quote(name)}"
    if t.dtype in SOURCE_DTYPES:
        if scale in ckpt.where:
            raise ConversionError(f"{where}: has scales {quote(scale)} but is {t.dtype}, not "
                                  f"{E4M3}")
        plan.source_dtypes.add(t.dtype)
        return t.nbytes
    if t.dtype != E4M3:
        raise ConversionError(f"{where}: unsupported dtype {t.dtype} (supported: "
                              f"{', '.join(SOURCE_DTYPES)}, and {E4M3} with its "
                              f"weight{SCALE_SUFFIX} block scales)")
    if plan.fp8_block is None:
        try:
            plan.fp8_block = block_from_config(ckpt.config())
        except Fp8Error as e:
            raise ConversionError(f"{ckpt.config_path()}: {e}") from None
    if scale not in ckpt.where:
        raise ConversionError(f"{where}: {E4M3} without its block scales: missing tensor "
                              f"{quote(scale)}")
    s = ckpt.info(scale)
    want = scale_shape(t.shape, plan.fp8_block) if len(t.shape) == 2 else None
    if s.dtype not in SCALE_DTYPES or s.shape != want:
        raise ConversionError(
            f"{ckpt.file_of(scale)}: tensor {quote(scale)}: {s.dtype} {list(s.shape)}, expected "
            f"{' or '.join(SCALE_DTYPES)} {list(want) if want else '[R/br, C/bc]'} (the scales of "
            f"the {list(t.shape)} weight in blocks of {list(plan.fp8_block)}, config.json's "
            f"quantization_config.weight_block_size or {list(plan.fp8_block)} without one)")
    plan.source_dtypes.add(E4M3)
    return t.nbytes + s.nbytes


@dataclass
class _Scan:
    """The checkpoint's tensors by role (_scan)."""

    experts: Dict[int, Dict[int, set]] = field(default_factory=dict)  # layer -> e -> projs
    fused: Dict[int, Dict[str, str]] = field(default_factory=dict)  # layer -> kind -> name
    layers: set = field(default_factory=set)  # every layer index with a tensor
    passthrough: List[str] = field(default_factory=list)
    ignored: List[str] = field(default_factory=list)


def _check_quantization(ckpt: Checkpoint) -> None:
    """A quantization other than block-scaled FP8 is refused before any tensor is read."""
    config = ckpt.config()
    if config is not None and config.get("quantization_config") is not None:
        try:
            block_from_config(config)
        except Fp8Error as e:
            raise ConversionError(f"{ckpt.config_path()}: {e}") from None


def _scan(ckpt: Checkpoint, spec: ModelSpec) -> _Scan:
    """Sorts the tensor names: per-expert weights (and their FP8 scales), fused expert
    tensors (transformers 5's ``experts.gate_up_proj`` / ``experts.down_proj``),
    shared-expert tensors to copy, and the rest."""
    if not spec.per_expert:
        return _scan_stacked(ckpt, spec)
    expert_re = re.compile(rf"model\.layers\.(\d+)\.{re.escape(spec.moe)}\.experts\.(\d+)\.(.+)$")
    fused_re = re.compile(
        rf"model\.layers\.(\d+)\.{re.escape(spec.fused_block)}\.experts\.([^\d.][^.]*)$")
    shared_re = re.compile(rf"model\.layers\.\d+\.{spec.shared}") if spec.shared else None
    projs = (spec.gate, spec.up, spec.down)
    scan = _Scan()
    for name in ckpt.names():
        lm = re.match(r"model\.layers\.(\d+)\.", name)
        if lm:
            scan.layers.add(int(lm.group(1)))
        mm, fm = expert_re.match(name), fused_re.match(name)
        if mm:
            layer, e, rest = int(mm.group(1)), int(mm.group(2)), mm.group(3)
            scales = rest.endswith(".weight" + SCALE_SUFFIX)
            if scales:
                rest = rest[:-len(SCALE_SUFFIX)]
            proj = rest[:-len(".weight")] if rest.endswith(".weight") else None
            if proj not in projs:
                raise ConversionError(
                    f"{ckpt.file_of(name)}: unexpected expert tensor {quote(name)} (misnamed? a "
                    f"{spec.name} expert has {', '.join(p + '.weight' for p in projs)}, and FP8 "
                    f"ones their .weight{SCALE_SUFFIX})")
            if not scales:  # scales are checked with their weight (_check_expert)
                scan.experts.setdefault(layer, {}).setdefault(e, set()).add(proj)
        elif fm:
            if fm.group(2) not in FUSED:
                raise ConversionError(
                    f"{ckpt.file_of(name)}: unexpected expert tensor {quote(name)} (fused experts "
                    f"are {' and '.join('experts.' + k for k in FUSED)}, 16- or 32-bit)")
            scan.fused.setdefault(int(fm.group(1)), {})[fm.group(2)] = name
        elif shared_re and shared_re.match(name):
            scan.passthrough.append(name)
        else:
            scan.ignored.append(name)
    for i in sorted(set(scan.experts) & set(scan.fused)):
        raise ConversionError(f"{ckpt.src}: layer {i} has both per-expert tensors (e.g. "
                              f"{quote(spec.expert(i, min(scan.experts[i]), spec.gate))}) and "
                              f"fused ones ({quote(next(iter(scan.fused[i].values())))})")
    return scan


def _scan_stacked(ckpt: Checkpoint, spec: ModelSpec) -> _Scan:
    """_scan for a family whose experts are only stacked (``spec.fused_names``): those two
    tensors and the router under the block; anything else there is refused (where no
    stacked tensor is found at all, make_plan's "no experts" error, which names the
    family the names look like, is the clearer one)."""
    block_re = re.compile(rf"model\.layers\.(\d+)\.{re.escape(spec.fused_block)}\.(.+)$")
    kinds = dict(zip(spec.fused_names, FUSED))
    scan = _Scan()
    unexpected = []
    for name in ckpt.names():
        lm = re.match(r"model\.layers\.(\d+)\.", name)
        if lm:
            scan.layers.add(int(lm.group(1)))
        bm = block_re.match(name)
        if bm and bm.group(2) in kinds:
            scan.fused.setdefault(int(bm.group(1)), {})[kinds[bm.group(2)]] = name
        elif bm and bm.group(2) != spec.router_name:
            unexpected.append(name)
        else:
            scan.ignored.append(name)
    if unexpected and scan.fused:
        name = unexpected[0]
        raise ConversionError(
            f"{ckpt.file_of(name)}: unexpected tensor {quote(name)} in a {spec.name} MoE "
            f"block (it has {', '.join(spec.fused_names)} and {spec.router_name}, 16- or "
            f"32-bit)")
    return scan


def _no_experts(ckpt: Checkpoint, spec: ModelSpec) -> ConversionError:
    hint = ""
    for other in MODELS.values():
        tail = (rf"experts\.\d+\.{other.gate}\.weight" if other.per_expert
                else re.escape(other.fused_names[0]))
        if other.name != spec.name and any(
                re.match(rf"model\.layers\.\d+\.{re.escape(other.moe)}\.{tail}$", x)
                for x in ckpt.names()):
            hint = f" (the names look like --model {other.name})"
            break
    like = (f"named like '{spec.expert(0, 0, spec.gate)}', or fused like "
            if spec.per_expert else "stacked like ")
    return ConversionError(
        f"{ckpt.src}: no {spec.name} expert tensors ({like}'{spec.fused(0, FUSED[0])}') "
        f"found{hint}")


def _expert_layer(ckpt: Checkpoint, spec: ModelSpec, plan: "Plan", i: int,
                  experts: Dict[int, set]) -> Tuple[int, int, int, int]:
    """(E, hidden, inter, source bytes) of per-expert layer ``i``, every tensor checked."""
    projs = (spec.gate, spec.up, spec.down)
    E = max(experts) + 1
    ref = {}
    src_bytes = 0
    for e in range(E):
        for proj in projs:
            name = spec.expert(i, e, proj)
            if e not in experts or proj not in experts[e]:
                raise ConversionError(f"{ckpt.src}: missing tensor {quote(name)} (layer {i} has "
                                      f"experts 0..{E - 1})")
            src_bytes += _check_expert(ckpt, plan, name)
            shape = ckpt.info(name).shape
            if proj not in ref:
                ref[proj] = shape
            elif shape != ref[proj]:
                raise ConversionError(
                    f"{ckpt.file_of(name)}: shape mismatch between experts: tensor {quote(name)} has "
                    f"shape {list(shape)}, expert 0 has {list(ref[proj])}")
    g, u, d = ref[spec.gate], ref[spec.up], ref[spec.down]
    if len(g) != 2 or g != u or d != (g[1], g[0]):
        raise ConversionError(
            f"{ckpt.file_of(spec.expert(i, 0, spec.gate))}: layer {i}: expert shapes "
            f"{spec.gate} {list(g)}, {spec.up} {list(u)}, {spec.down} {list(d)} do not form an "
            f"MLP ([I, H], [I, H], [H, I])")
    return E, g[1], g[0], src_bytes


def _fused_layer(ckpt: Checkpoint, spec: ModelSpec, plan: "Plan", i: int,
                 names: Dict[str, str]) -> Tuple[int, int, int, int]:
    """(E, hidden, inter, source bytes) of fused layer ``i``: gate_up_proj [E, 2I, H] (gate
    rows first, as w13) and down_proj [E, H, I], 16- or 32-bit."""
    for kind in FUSED:
        if kind not in names:
            raise ConversionError(f"{ckpt.src}: missing tensor {quote(spec.fused(i, kind))} "
                                  f"(layer {i} has {quote(next(iter(names.values())))})")
        t = ckpt.info(names[kind])
        if t.dtype not in SOURCE_DTYPES:
            raise ConversionError(f"{ckpt.file_of(names[kind])}: tensor {quote(names[kind])}: "
                                  f"unsupported dtype {t.dtype} for fused experts (supported: "
                                  f"{', '.join(SOURCE_DTYPES)})")
        plan.source_dtypes.add(t.dtype)
    gu, d = (ckpt.info(names[k]).shape for k in FUSED)
    if (len(gu) != 3 or len(d) != 3 or gu[1] % 2 or not gu[0]
            or d != (gu[0], gu[2], gu[1] // 2)):
        a, b = (spec.fused_label(k) for k in FUSED)
        raise ConversionError(
            f"{ckpt.file_of(names[FUSED[0]])}: layer {i}: fused expert shapes {a} "
            f"{list(gu)}, {b} {list(d)} do not form experts' MLPs ([E, 2I, H], [E, H, I])")
    return gu[0], gu[2], gu[1] // 2, sum(ckpt.info(names[k]).nbytes for k in FUSED)


def make_plan(ckpt: Checkpoint, spec: ModelSpec, n: int, m: int, v: int, dtype: str,
              layers: Optional[List[int]], layout: str = DEFAULT_LAYOUT) -> Plan:
    _check_quantization(ckpt)
    scan = _scan(ckpt, spec)
    found = set(scan.experts) | set(scan.fused)
    if not found:
        raise _no_experts(ckpt, spec)
    moe_layers = sorted(found)
    dense_layers = sorted(scan.layers - found)
    if layers is not None:
        for i in layers:
            if i not in found:
                raise ConversionError(f"{ckpt.src}: --layers: layer {i} has no {spec.name} experts "
                                      f"(MoE layers: {_ranges(moe_layers)})")
        moe_layers = layers
    passthrough = [p for p in scan.passthrough if int(p.split(".")[2]) in moe_layers]

    plan = Plan(spec, [], passthrough, scan.ignored, dense_layers)
    for i in moe_layers:
        fused = i in scan.fused
        E, hidden, inter, src_bytes = (
            _fused_layer(ckpt, spec, plan, i, scan.fused[i]) if fused
            else _expert_layer(ckpt, spec, plan, i, scan.experts[i]))
        where = ckpt.file_of(spec.fused(i, FUSED[0]) if fused else spec.expert(i, 0, spec.gate))
        router = spec.fused_router(i) if fused else spec.router(i)
        if router not in ckpt.where:
            raise ConversionError(f"{ckpt.src}: missing tensor {quote(router)} (router of layer {i})")
        _check_dtype(ckpt, router)
        rshape = ckpt.info(router).shape
        if rshape != (E, hidden):
            raise ConversionError(f"{ckpt.file_of(router)}: tensor {quote(router)} has shape "
                                  f"{list(rshape)}, expected [{E}, {hidden}] (experts, hidden)")
        plan.layers.append(LayerPlan(i, E, hidden, inter, src_bytes, router, fused))
        _add_weights(plan, where, i, E, hidden, inter, n, m, v, dtype, layout)
        plan.entries.append((f"layers.{i}.router", "BF16", (E, hidden)))
        for p in passthrough:
            if int(p.split(".")[2]) == i:
                t = ckpt.info(p)
                plan.entries.append((p, t.dtype, t.shape))
    return plan


def _add_weights(plan: "Plan", where: str, i: int, E: int, hidden: int, inter: int, n: int,
                 m: int, v: int, dtype: str, layout: str) -> None:
    """The packed w13 and w2 of layer ``i`` in the plan's entries and weights."""
    for wname, rows, cols in ((f"layers.{i}.w13", 2 * inter, hidden),
                              (f"layers.{i}.w2", hidden, inter)):
        try:
            plan.entries += weight_entries(wname, E, rows, cols, n, m, v, layout)
        except SamoyedsError as e:
            hint = (" (--layout mma_sp can hold this shape)"
                    if layout != "mma_sp" and _fits(E, rows, cols, n, m, v, "mma_sp") else "")
            raise ConversionError(
                f"{where}: layer {i}: cannot pack {wname} "
                f"[{E} x {rows} x {cols}] with n:m:v = {n}:{m}:{v} in layout {layout}: "
                f"{e.message}{hint}") from e
        plan.weights[wname] = {"dtype": dtype, "experts": E, "rows": rows, "cols": cols,
                               "n": n, "m": m, "v": v, "layout": layout}


def _fits(E, rows, cols, n, m, v, layout) -> bool:
    try:
        validate(E, rows, cols, n, m, v, layout)
        return True
    except SamoyedsError:
        return False


def _ranges(xs: Sequence[int]) -> str:
    xs = sorted(xs)
    out, i = [], 0
    while i < len(xs):
        j = i
        while j + 1 < len(xs) and xs[j + 1] == xs[j] + 1:
            j += 1
        out.append(str(xs[i]) if i == j else f"{xs[i]}-{xs[j]}")
        i = j + 1
    return ",".join(out) or "none"

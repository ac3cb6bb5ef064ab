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
from .mxfp4 import BLOCK as MXFP4_BLOCK, BLOCKS_SUFFIX, QUANT_METHOD as MXFP4_METHOD, \
    SCALES_SUFFIX
from .pack import validate
from .weightfile import weight_entries

__all__ = ["LayerPlan", "Plan", "make_plan", "parse_layers", "SOURCE_DTYPES",
           "DEFAULT_LAYOUT", "weight_layout"]

SOURCE_DTYPES = ("BF16", "F16", "F32")
# Expert weights may also be block-scaled FP8 (F8_E4M3 with W.weight_scale_inv; fp8.py).
SCALE_DTYPES = ("F32", "BF16")
# gpt-oss's experts may also be MXFP4 (U8 W_blocks with W_scales; mxfp4.py); the plan's
# source dtypes name them so.
MXFP4 = "MXFP4"
DEFAULT_LAYOUT = "wgmma"


def weight_layout(layout: str, fused_gate_up: bool) -> str:
    """The layout of a layer's weight when the layer is packed in ``layout``: "wgmma_halves"
    (each half's kept rows padded separately) is for the fused gate/up weight w13, whose
    rows are the gate then the up projection; the down projection w2 has no halves and
    takes "wgmma". Any other layout is every weight's."""
    return "wgmma" if layout == "wgmma_halves" and not fused_gate_up else layout
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
    interleaved: bool = False  # gpt-oss's layout (ModelSpec.interleaved)
    # FUSED kind -> (blocks, scales) tensor names of the kinds stored in MXFP4.
    mxfp4: Dict[str, Tuple[str, str]] = field(default_factory=dict)
    biases: Tuple[str, ...] = ()  # the expert biases' tensor names, in FUSED's order
    router_bias: str = ""  # the router's bias's tensor name


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
    mxfp4: bool = False  # where some are MXFP4


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


def _check_quantization(ckpt: Checkpoint, spec: ModelSpec) -> None:
    """A quantization other than block-scaled FP8, or MXFP4 for a family whose release is
    MXFP4 (gpt-oss), is refused before any tensor is read."""
    config = ckpt.config()
    if config is not None and config.get("quantization_config") is not None:
        q = config["quantization_config"]
        if isinstance(q, dict) and q.get("quant_method") == MXFP4_METHOD:
            if not spec.mxfp4:
                raise ConversionError(
                    f"{ckpt.config_path()}: quantization_config: quant_method 'mxfp4' is "
                    f"supported for gpt_oss only (its MXFP4 experts), not {spec.name}")
            return
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


def _block_roles(spec: ModelSpec) -> Dict[str, str]:
    """The tensors under a stacked family's block: name after the block -> role, a FUSED
    kind (the weight), the kind + BLOCKS_SUFFIX / SCALES_SUFFIX (its MXFP4 form), the
    kind + "_bias", "router" or "router_bias"."""
    roles = {}
    for tail, kind in zip(spec.fused_names, FUSED):
        roles[tail] = kind
        if spec.mxfp4:
            roles[tail + BLOCKS_SUFFIX] = kind + BLOCKS_SUFFIX
            roles[tail + SCALES_SUFFIX] = kind + SCALES_SUFFIX
    for tail, kind in zip(spec.expert_biases or (), FUSED):
        roles[tail] = kind + "_bias"
    roles[spec.router_name] = "router"
    if spec.router_bias_name:
        roles[spec.router_bias_name] = "router_bias"
    return roles


def _block_listing(spec: ModelSpec) -> str:
    """What a stacked family's block holds, for messages."""
    if not spec.expert_biases:
        return f"{', '.join(spec.fused_names)} and {spec.router_name}, 16- or 32-bit"
    weights = ", ".join(spec.fused_names)
    if spec.mxfp4:
        weights += f" (16- or 32-bit, or MXFP4 {BLOCKS_SUFFIX} and {SCALES_SUFFIX})"
    return (f"{weights}, {', '.join(spec.expert_biases)}, {spec.router_name} and "
            f"{spec.router_bias_name}")


def _scan_stacked(ckpt: Checkpoint, spec: ModelSpec) -> _Scan:
    """_scan for a family whose experts are only stacked (``spec.fused_names``): those two
    tensors (or their MXFP4 forms, and their biases) and the router under the block;
    anything else there is refused (where no stacked tensor is found at all, make_plan's
    "no experts" error, which names the family the names look like, is the clearer one).
    ``scan.fused[i]`` maps each role of _block_roles but the router's to its name."""
    block_re = re.compile(rf"model\.layers\.(\d+)\.{re.escape(spec.fused_block)}\.(.+)$")
    roles = _block_roles(spec)
    scan = _Scan()
    unexpected = []
    for name in ckpt.names():
        lm = re.match(r"model\.layers\.(\d+)\.", name)
        if lm:
            scan.layers.add(int(lm.group(1)))
        bm = block_re.match(name)
        role = roles.get(bm.group(2)) if bm else None
        if role is not None and not role.startswith("router"):
            scan.fused.setdefault(int(bm.group(1)), {})[role] = name
        elif bm and role is None:
            unexpected.append(name)
        else:
            scan.ignored.append(name)
    if unexpected and scan.fused:
        name = unexpected[0]
        raise ConversionError(
            f"{ckpt.file_of(name)}: unexpected tensor {quote(name)} in a {spec.name} MoE "
            f"block (it has {_block_listing(spec)})")
    return scan


def _no_experts(ckpt: Checkpoint, spec: ModelSpec) -> ConversionError:
    hint = ""
    for other in MODELS.values():
        tail = (rf"experts\.\d+\.{other.gate}\.weight" if other.per_expert
                else re.escape(other.fused_names[0])
                + (f"(?:{BLOCKS_SUFFIX})?" if other.mxfp4 else ""))
        if other.name != spec.name and any(
                re.match(rf"model\.layers\.\d+\.{re.escape(other.moe)}\.{tail}$", x)
                for x in ckpt.names()):
            hint = f" (the names look like --model {other.name})"
            break
    like = (f"named like '{spec.expert(0, 0, spec.gate)}', or fused like "
            if spec.per_expert else "stacked like ")
    mx = f" or '{spec.fused(0, FUSED[0])}{BLOCKS_SUFFIX}'" if spec.mxfp4 else ""
    return ConversionError(
        f"{ckpt.src}: no {spec.name} expert tensors ({like}'{spec.fused(0, FUSED[0])}'{mx}) "
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


def _interleaved_layer(ckpt: Checkpoint, spec: ModelSpec, plan: "Plan", i: int,
                       names: Dict[str, str]):
    """(E, hidden, inter, source bytes, MXFP4 kinds, bias names) of gpt-oss's layer ``i``:
    experts.gate_up_proj [E, H, 2I] (gate and up interleaved on the last dimension) and
    experts.down_proj [E, I, H], 16- or 32-bit, or each in MXFP4 (``_blocks`` of the
    dequantized "out x in" forms, [E, 2I, H/32, 16] and [E, H, I/32, 16], with
    ``_scales`` [E, 2I, H/32] and [E, H, I/32]), and their biases [E, 2I] and [E, H]."""
    src_bytes = 0
    shapes, quant, what = {}, {}, {}  # kind -> [E, in, out]; MXFP4 names; for messages
    first = next(iter(names.values()))
    for kind in FUSED:
        label = spec.fused(i, kind)
        plain = names.get(kind)
        blocks, scales = names.get(kind + BLOCKS_SUFFIX), names.get(kind + SCALES_SUFFIX)
        if plain and (blocks or scales):
            raise ConversionError(f"{ckpt.file_of(plain)}: layer {i} has both {quote(plain)} "
                                  f"and its MXFP4 form {quote(blocks or scales)}")
        if plain:
            t = ckpt.info(plain)
            if t.dtype not in SOURCE_DTYPES:
                raise ConversionError(
                    f"{ckpt.file_of(plain)}: tensor {quote(plain)}: unsupported dtype "
                    f"{t.dtype} (supported: {', '.join(SOURCE_DTYPES)}, or MXFP4 as U8 "
                    f"{label.rsplit('.', 1)[1]}{BLOCKS_SUFFIX} with {SCALES_SUFFIX})")
            if len(t.shape) != 3:
                raise ConversionError(f"{ckpt.file_of(plain)}: tensor {quote(plain)} has "
                                      f"shape {list(t.shape)}, expected [E, in, out]")
            plan.source_dtypes.add(t.dtype)
            src_bytes += t.nbytes
            shapes[kind], what[kind] = t.shape, f"{spec.fused_label(kind)} {list(t.shape)}"
            continue
        if not blocks and not scales:
            raise ConversionError(f"{ckpt.src}: missing tensor {quote(label)} (or its MXFP4 "
                                  f"{label.rsplit('.', 1)[1]}{BLOCKS_SUFFIX} and "
                                  f"{SCALES_SUFFIX}; layer {i} has {quote(first)})")
        for have, miss in ((blocks, label + SCALES_SUFFIX), (scales, label + BLOCKS_SUFFIX)):
            if have and miss not in ckpt.where:
                raise ConversionError(f"{ckpt.file_of(have)}: tensor {quote(have)}: MXFP4 "
                                      f"without its {miss.rsplit('_', 1)[1]}: missing tensor "
                                      f"{quote(miss)}")
        b, s = ckpt.info(blocks), ckpt.info(scales)
        if (b.dtype != "U8" or len(b.shape) != 4 or b.shape[3] != MXFP4_BLOCK // 2
                or not all(b.shape)):
            raise ConversionError(
                f"{ckpt.file_of(blocks)}: tensor {quote(blocks)}: {b.dtype} {list(b.shape)}, "
                f"expected U8 [E, R, C/32, 16] (MXFP4 blocks: 32 E2M1 codes in 16 bytes)")
        if s.dtype != "U8" or s.shape != b.shape[:3]:
            raise ConversionError(
                f"{ckpt.file_of(scales)}: tensor {quote(scales)}: {s.dtype} {list(s.shape)}, "
                f"expected U8 {list(b.shape[:3])} (one E8M0 scale per block of 32 values of "
                f"the {list(b.shape)} blocks)")
        E, R, G = b.shape[:3]
        # The blocks hold the "out x in" form [E, R, G * 32]; [E, in, out] is its transpose.
        shapes[kind] = (E, G * MXFP4_BLOCK, R)
        what[kind] = f"{spec.fused_label(kind)}{BLOCKS_SUFFIX} {list(b.shape)}"
        quant[kind] = (blocks, scales)
        plan.source_dtypes.add(MXFP4)
        plan.mxfp4 = True
        src_bytes += b.nbytes + s.nbytes
    gu, d = shapes[FUSED[0]], shapes[FUSED[1]]
    if gu[2] % 2 or not gu[0] or d != (gu[0], gu[2] // 2, gu[1]):
        raise ConversionError(
            f"{ckpt.file_of(quant[FUSED[0]][0] if FUSED[0] in quant else names[FUSED[0]])}: "
            f"layer {i}: expert shapes {what[FUSED[0]]}, {what[FUSED[1]]} do not form "
            f"experts' MLPs (gate_up_proj [E, H, 2I] and down_proj [E, I, H], or MXFP4 "
            f"blocks [E, 2I, H/32, 16] and [E, H, I/32, 16])")
    E, hidden, inter = gu[0], gu[1], gu[2] // 2
    biases = []
    for kind, want in zip(FUSED, ((E, 2 * inter), (E, hidden))):
        name = spec.expert_bias(i, kind)
        if name not in ckpt.where:
            raise ConversionError(f"{ckpt.src}: missing tensor {quote(name)} (the bias of "
                                  f"layer {i}'s {spec.fused_label(kind)}; {spec.name} experts "
                                  f"have biases)")
        t = ckpt.info(name)
        _check_dtype(ckpt, name)
        if t.shape != want:
            raise ConversionError(f"{ckpt.file_of(name)}: tensor {quote(name)} has shape "
                                  f"{list(t.shape)}, expected {list(want)}")
        src_bytes += t.nbytes
        biases.append(name)
    return E, hidden, inter, src_bytes, quant, tuple(biases)


def make_plan(ckpt: Checkpoint, spec: ModelSpec, n: int, m: int, v: int, dtype: str,
              layers: Optional[List[int]], layout: str = DEFAULT_LAYOUT) -> Plan:
    _check_quantization(ckpt, spec)
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
        quant, biases = {}, ()
        if fused and spec.interleaved:
            E, hidden, inter, src_bytes, quant, biases = _interleaved_layer(
                ckpt, spec, plan, i, scan.fused[i])
        else:
            E, hidden, inter, src_bytes = (
                _fused_layer(ckpt, spec, plan, i, scan.fused[i]) if fused
                else _expert_layer(ckpt, spec, plan, i, scan.experts[i]))
        where = ckpt.file_of(quant[FUSED[0]][0] if FUSED[0] in quant
                             else spec.fused(i, FUSED[0]) if fused
                             else spec.expert(i, 0, spec.gate))
        router = spec.fused_router(i) if fused else spec.router(i)
        if router not in ckpt.where:
            raise ConversionError(f"{ckpt.src}: missing tensor {quote(router)} (router of layer {i})")
        _check_dtype(ckpt, router)
        rshape = ckpt.info(router).shape
        if rshape != (E, hidden):
            raise ConversionError(f"{ckpt.file_of(router)}: tensor {quote(router)} has shape "
                                  f"{list(rshape)}, expected [{E}, {hidden}] (experts, hidden)")
        router_bias = ""
        if spec.router_bias_name:
            router_bias = spec.router_bias(i)
            if router_bias not in ckpt.where:
                raise ConversionError(f"{ckpt.src}: missing tensor {quote(router_bias)} (the "
                                      f"router bias of layer {i})")
            _check_dtype(ckpt, router_bias)
            if ckpt.info(router_bias).shape != (E,):
                raise ConversionError(f"{ckpt.file_of(router_bias)}: tensor "
                                      f"{quote(router_bias)} has shape "
                                      f"{list(ckpt.info(router_bias).shape)}, expected [{E}] "
                                      f"(experts)")
        plan.layers.append(LayerPlan(i, E, hidden, inter, src_bytes, router, fused,
                                     spec.interleaved and fused, quant, biases, router_bias))
        _add_weights(plan, where, i, E, hidden, inter, n, m, v, dtype, layout)
        plan.entries.append((f"layers.{i}.router", "BF16", (E, hidden)))
        if biases:  # in the output dtype, as the packed weights
            st = "BF16" if dtype == "bf16" else "F16"
            plan.entries += [(f"layers.{i}.w13_bias", st, (E, 2 * inter)),
                             (f"layers.{i}.w2_bias", st, (E, hidden))]
        if router_bias:
            plan.entries.append((f"layers.{i}.router_bias", "BF16", (E,)))
        for p in passthrough:
            if int(p.split(".")[2]) == i:
                t = ckpt.info(p)
                plan.entries.append((p, t.dtype, t.shape))
    return plan


def _add_weights(plan: "Plan", where: str, i: int, E: int, hidden: int, inter: int, n: int,
                 m: int, v: int, dtype: str, layout: str) -> None:
    """The packed w13 and w2 of layer ``i`` in the plan's entries and weights."""
    for wname, rows, cols, gate_up in ((f"layers.{i}.w13", 2 * inter, hidden, True),
                                       (f"layers.{i}.w2", hidden, inter, False)):
        wl = weight_layout(layout, gate_up)
        try:
            plan.entries += weight_entries(wname, E, rows, cols, n, m, v, wl)
        except SamoyedsError as e:
            hint = (" (--layout mma_sp can hold this shape)"
                    if wl != "mma_sp" and _fits(E, rows, cols, n, m, v, "mma_sp")
                    else _v_hint(E, hidden, inter, n, m, v, layout))
            raise ConversionError(
                f"{where}: layer {i}: cannot pack {wname} "
                f"[{E} x {rows} x {cols}] with n:m:v = {n}:{m}:{v} in layout {wl}: "
                f"{e.message}{hint}") from e
        plan.weights[wname] = {"dtype": dtype, "experts": E, "rows": rows, "cols": cols,
                               "n": n, "m": m, "v": v, "layout": wl}


def _v_hint(E: int, hidden: int, inter: int, n: int, m: int, v: int, layout: str) -> str:
    """Where another span width v would hold both of a layer's weights (gpt-oss's 2880 is
    no multiple of 128): which, in ``layout`` or else in mma_sp; "" where none does."""
    for lay in dict.fromkeys((layout, "mma_sp")):
        fits = [c for c in (128, 96, 64, 32) if c != v and all(
            _fits(E, r, c2, n, m, c, weight_layout(lay, gate_up))
            for r, c2, gate_up in ((2 * inter, hidden, True), (hidden, inter, False)))]
        if fits:
            pick = 64 if 64 in fits else fits[0]
            others = [str(c) for c in fits if c != pick]
            return (f" (v must divide the hidden size {hidden} and the intermediate size "
                    f"{inter}: n:m:v = {n}:{m}:{pick}"
                    + (f" in layout {lay}" if lay != layout else "") + " fits"
                    + (f", and so does v = {' or '.join(others)}" if others else "") + ")")
    return ""


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

"""samoyeds-compile: a Hugging Face MoE checkpoint -> a serving-ready sparse model directory.

    python -m samoyeds.compile CKPT_DIR OUT_DIR [--format 1:2:128] [--chip sm_90a]
        [--layout auto|wgmma|mma_sp] [--layers 0-3,7] [--samoyeds-opt PATH] [--workers N]
        [--routing torch|compiled] [--expert-parallel R [--placement FILE.json]] [--dry-run]

(also installed as the console script ``samoyeds-compile``). It

1. reads ``CKPT_DIR/config.json`` and recognises the architecture from ``model_type``
   (Mixtral, Qwen2-MoE, Qwen3-MoE, Qwen3-Next, OLMoE, DeepSeek-V2, DeepSeek-V3, GLM-4.5,
   Kimi-K2, GraniteMoE and the Granite 4.0 MoE families, MiniMax-M2, ERNIE-4.5, gpt-oss)
   and its routing convention (:mod:`samoyeds.routing`);
2. finds every MoE layer's experts in the single-file or sharded (bf16/f16/f32, or
   block-scaled FP8) safetensors checkpoint (:mod:`samoyeds.convert`'s reading and checks);
   layers without experts (DeepSeek's ``first_k_dense_replace`` dense layers) are left
   alone, and so, unless ``--layers`` names them, are layers from ``num_hidden_layers`` on
   (DeepSeek-V3's and GLM-4.5's next-token-prediction layers, which transformers does not
   load);
3. writes, for each distinct layer shape (experts, hidden, intermediate, top-k), the MLIR
   of an experts-only layer (``samoyeds.moe_experts``: the routing is computed outside,
   so any convention runs on it; gpt-oss's with its clamped SwiGLU and the experts' biases,
   :func:`layer_mlir`) and compiles it with ``samoyeds-opt`` to a bundle; with
   ``--routing compiled`` the whole layer instead (``samoyeds.moe_ffn``: the router's
   logits, softmax top-k and the checkpoint's renormalisation, scaling and router bias
   compiled in, :func:`compiled_routing`; the conventions it cannot express are refused);
4. packs every layer's experts into ``weights.safetensors`` (progress on stderr);
5. writes the model manifest ``samoyeds-model.json`` and prints a summary table.

Everything is built in ``OUT_DIR.tmp-XXXX`` next to OUT_DIR and renamed to OUT_DIR at the
end: an interrupted compile leaves no OUT_DIR; SIGINT and SIGTERM remove the ``.tmp-``
directory and exit 130 / 143 (a harder kill may leave it; :func:`samoyeds.serving.load`
never reads one). OUT_DIR gets the mode the umask gives a new directory. An existing
OUT_DIR is replaced only when it is a samoyeds model directory (it has
``samoyeds-model.json``); anything else is refused.

The model directory::

    OUT_DIR/samoyeds-model.json     the model manifest (docs/Serving.md)
    OUT_DIR/weights.safetensors     packed experts, routers, shared-expert tensors
    OUT_DIR/bundles/<shape>/        one bundle per layer shape (docs/Bundle.md; <shape> is
                                    e{E}_h{H}_i{I}_k{k}, moe_ffn_e{E}_h{H}_i{I}_k{k} for
                                    --routing compiled, whose manifest says
                                    "routing_mode": "compiled")
    OUT_DIR/mlir/<shape>.mlir       the MLIR each bundle was compiled from

``--expert-parallel R`` writes an expert-parallel directory instead (docs/ExpertParallel.md,
:mod:`samoyeds.ep_model`): the experts placed over R ranks (contiguous slices, R must divide
the experts, or the per-rank lists of ``--placement``), for every rank an experts-only bundle
of its experts with top-k 1 (``e{E_r}_h{H}_i{I}_k1``) and ``weights.rank{r}.safetensors``
with its slice of the packed experts, and the placement in the manifest (format
``samoyeds-ep-model``). The weights are packed once, then split (the full file exists in the
temporary directory until then: twice the packed bytes on disk at the peak).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from ._capi import RuntimeLibraryNotFound, SamoyedsError, SamoyedsValueError
from ._files import bounded, read_json
from .convert import (MAX_CONFIG_BYTES, MAX_WORKERS, Checkpoint, ConversionError, MODELS, Terminated,
                      _ranges, _sigterm_interrupts, convert, make_plan, parse_layers)
from .convert_plan import weight_layout
from .ep_model import EP_MODEL_FORMAT, rank_weights_name, shard_weights
from .pack import packed_sizes
from .placement import Placement
from .routing import RoutingError, routing_from_config
from .safetensors_io import SafetensorsError

__all__ = ["CompileError", "MODEL_MANIFEST", "MODEL_FORMAT", "ROUTING_MODES", "compile_model",
           "compiled_routing", "layer_mlir", "find_samoyeds_opt", "parse_format", "ep_placement",
           "main"]

MODEL_MANIFEST = "samoyeds-model.json"
MODEL_FORMAT = "samoyeds-model"
WEIGHTS_FILE = "weights.safetensors"
CHIPS = ("sm_80", "sm_90", "sm_90a")
STRATEGIES = {"auto": "auto", "wgmma": "wgmma_sp", "mma_sp": "mma_sp"}
# The experts' activations (#samoyeds.activation): SiLU(gate) * up, or gpt-oss's clamped
# SwiGLU, gate = min(gate, limit), up = clamp(up, -limit, limit),
# h = gate * sigmoid(alpha * gate) * (up + 1), with these defaults (transformers hardcodes
# them in GptOssExperts).
ACTIVATIONS = ("silu", "clamped_swiglu")
SWIGLU_ALPHA = 1.702
SWIGLU_LIMIT = 7.0
# Architectures whose experts have biases and the clamped SwiGLU.
CLAMPED_SWIGLU_MODELS = ("gpt_oss",)
# Where the routing runs (--routing; the model manifest's "routing_mode", absent meaning
# "torch"): in torch at load, beside experts-only bundles, or compiled into whole-layer
# (moe_ffn) bundles.
ROUTING_MODES = ("torch", "compiled")


class CompileError(Exception):
    """The checkpoint cannot be compiled; the message names the problem."""


def parse_format(spec: str):
    """"1:2:128" -> (1, 2, 128)."""
    try:
        n, m, v = (int(x) for x in spec.split(":"))
    except ValueError:
        raise CompileError(f"--format: bad value {spec!r} (expected N:M:V, e.g. 1:2:128)")
    return n, m, v


def find_samoyeds_opt(explicit: Optional[str] = None) -> Path:
    """samoyeds-opt: ``explicit``, else $SAMOYEDS_OPT, else on PATH, else the build tree
    next to this package (build/bin/samoyeds-opt)."""
    if explicit:
        p = Path(explicit)
        if not (p.is_file() and os.access(p, os.X_OK)):
            raise CompileError(f"--samoyeds-opt {explicit}: not an executable file")
        return p
    env = os.environ.get("SAMOYEDS_OPT")
    if env and Path(env).is_file():
        return Path(env)
    on_path = shutil.which("samoyeds-opt")
    if on_path:
        return Path(on_path)
    tree = Path(__file__).resolve().parent.parent.parent / "build" / "bin" / "samoyeds-opt"
    if tree.is_file():
        return tree
    raise CompileError("samoyeds-opt not found: pass --samoyeds-opt PATH, set $SAMOYEDS_OPT, "
                       "put it on PATH, or build it (scripts/build.sh -> build/bin)")


def shape_key(E: int, H: int, I: int, k: int) -> str:
    return f"e{E}_h{H}_i{I}_k{k}"


def bundle_key(E: int, H: int, I: int, k: int, routing: str = "torch") -> str:
    """The key (and bundle directory name) of a layer shape's bundle in a model directory:
    :func:`shape_key` for an experts-only bundle, prefixed with ``moe_ffn_`` for a whole
    layer (``--routing compiled``), so that the two kinds never share a name."""
    return ("moe_ffn_" if routing == "compiled" else "") + shape_key(E, H, I, k)


def compiled_routing(spec) -> dict:
    """The routing of a whole-layer (moe_ffn) bundle that runs ``spec``'s convention (a
    :class:`samoyeds.routing.RoutingSpec`), as :func:`layer_mlir` takes it:
    ``{"renormalize", "routed_scaling_factor", "router_bias"}``.

    The compiled route takes the top-k of the softmax of the router's logits (with the
    router's bias where there is one: gpt-oss), renormalises them if asked, then scales
    them. DeepSeek-V2's greedy "renormalise, else scale" is that with one of the two left
    out, and its 1e-20 added to the sum changes no float32 sum of k softmax scores (at
    least 1/E). CompileError, naming the architecture and what is missing, for the
    conventions that need more: sigmoid scores, group-limited selection, a selection bias
    (DeepSeek-V3, GLM-4.5, Kimi-K2, grouped DeepSeek-V2, MiniMax-M2, ERNIE-4.5)."""
    missing = []
    if spec.scoring != "softmax":
        missing.append(f"{spec.scoring} scores")
    if spec.n_group > 1:
        missing.append(f"group-limited selection ({spec.topk_group} of {spec.n_group} groups)")
    if spec.uses_bias:
        missing.append("a selection bias (e_score_correction_bias)")
    if missing:
        needs = ", ".join(missing[:-1]) + " and " + missing[-1] if len(missing) > 1 \
            else missing[0]
        raise CompileError(f"--routing compiled: {spec.model_type}'s routing ({spec.describe()}) "
                           f"needs {needs}, which the compiled route does not have (it takes "
                           f"the top-k of softmax scores, with a router bias, renormalisation "
                           f"and routed_scaling_factor as configured); compile with --routing "
                           f"torch (the default), which runs every convention")
    return {"renormalize": spec.normalize and (spec.top_k > 1 or spec.scale_when_normalized),
            "routed_scaling_factor": spec.scale if spec.applies_scale else 1.0,
            "router_bias": spec.router_bias}


def _f64(x: float) -> str:
    """An MLIR float literal of ``x`` (its shortest repr, with a '.' as MLIR needs)."""
    r = repr(float(x))
    mantissa, e, exponent = r.partition("e")
    return (mantissa if "." in mantissa else mantissa + ".0") + e + exponent


def layer_mlir(E: int, H: int, I: int, k: int, n: int, m: int, v: int,
               dtype: str = "bf16", activation: str = "silu", bias: bool = False,
               swiglu_alpha: Optional[float] = None,
               swiglu_limit: Optional[float] = None, router: bool = False,
               renormalize: bool = False, router_bias: bool = False,
               routed_scaling_factor: float = 1.0) -> str:
    """The experts-only layer of one shape: inputs x [T, H], topk_weights [T, k] f32,
    topk_ids [T, k] i32, weights w13 [E, 2I, H] and w2 [E, H, I] in n:m:v, output y.

    gpt-oss's form (docs/Serving.md): ``activation="clamped_swiglu"`` (with
    ``swiglu_alpha`` / ``swiglu_limit`` written only where given and not the defaults
    1.702 / 7.0) and ``bias=True``: the inputs ``w13_bias`` [E, 2I] (gate first) and
    ``w2_bias`` [E, H] in ``dtype``, the op's ``bias(%b13, %b2)``. The SiLU form without
    biases is the text it always was.

    ``router=True`` writes instead the whole layer with its routing compiled in
    (``samoyeds.moe_ffn``, a bundle with a "routing" entry): the input ``router`` [E, H]
    in place of topk_weights and topk_ids, softmax top-k, ``renormalize`` as given, then
    the weights times ``routed_scaling_factor`` (written where it is not 1); with
    ``router_bias=True`` (gpt-oss: renormalize, the clamped SwiGLU and both biases too)
    the router's bias, the input ``router_bias`` [E] in ``dtype`` (the op's
    ``router_bias(%rb)``), added to the logits before the softmax."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation {activation!r}: one of {', '.join(ACTIVATIONS)}")
    scale = routed_scaling_factor
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or \
            not math.isfinite(scale) or not scale > 0:
        raise ValueError(f"routed_scaling_factor = {scale!r}: a finite number > 0")
    if (renormalize or router_bias or scale != 1) and not router:
        raise ValueError("renormalize, router_bias and routed_scaling_factor are the "
                         "routing's: they need router=True (a moe_ffn layer)")
    attrs = ["renormalize"] if renormalize else []
    if scale != 1:
        attrs.append(f"routed_scaling_factor = {_f64(scale)} : f64")
    if activation != "silu":
        attrs.append(f"activation = #samoyeds<activation {activation}>")
    for key, value, default in (("swiglu_alpha", swiglu_alpha, SWIGLU_ALPHA),
                                ("swiglu_limit", swiglu_limit, SWIGLU_LIMIT)):
        if value is None:
            continue
        if activation != "clamped_swiglu":
            raise ValueError(f"{key} is an attribute of the clamped_swiglu activation, not "
                             f"of {activation}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                not math.isfinite(value) or not value > 0:
            raise ValueError(f"{key} = {value!r}: a finite number > 0")
        if float(value) != default:
            attrs.append(f"{key} = {_f64(value)} : f64")
    ss = f"#samoyeds.ss<n = {n}, m = {m}, v = {v}>"
    x = f"tensor<?x{H}x{dtype}>"
    # (SSA name, type, samoyeds.name) of each argument, in order.
    if router:
        op, name = "moe_ffn", "moe_ffn_" + shape_key(E, H, I, k)
        args = [("x", x, "x"), ("router", f"tensor<{E}x{H}x{dtype}>", "router")]
    else:
        op, name = "moe_experts", "moe_experts_" + shape_key(E, H, I, k)
        args = [("x", x, "x"), ("w", f"tensor<?x{k}xf32>", "topk_weights"),
                ("ids", f"tensor<?x{k}xi32>", "topk_ids")]
    args += [("w13", f"tensor<{E}x{2 * I}x{H}x{dtype}, #ss>", "w13"),
             ("w2", f"tensor<{E}x{H}x{I}x{dtype}, #ss>", "w2")]
    operands = ", ".join("%" + a[0] for a in args)
    if bias:
        args += [("b13", f"tensor<{E}x{2 * I}x{dtype}>", "w13_bias"),
                 ("b2", f"tensor<{E}x{H}x{dtype}>", "w2_bias")]
        operands += " bias(%b13, %b2)"
    if router_bias:
        args.append(("rb", f"tensor<{E}x{dtype}>", "router_bias"))
        operands += " router_bias(%rb)"
    if router:
        operands += f" top_k({k})"
    attr = f" {{{', '.join(attrs)}}}" if attrs else ""
    params = ",\n    ".join(f"%{a}: {t} {{samoyeds.name = \"{nm}\"}}" for a, t, nm in args)
    routing = "a whole MoE layer, routing compiled in" if router else \
        "experts of a MoE layer, routing given"
    return (f"// Generated by samoyeds.compile: {routing}.\n"
            f"#ss = {ss}\n"
            f"func.func @{name}({params})\n"
            f"    -> ({x} {{samoyeds.name = \"y\"}}) {{\n"
            f"  %y = samoyeds.{op} {operands}{attr}\n"
            f"      : ({', '.join(t for _, t, _ in args)}) -> {x}\n"
            f"  return %y : {x}\n"
            f"}}\n")


def model_activation(config: dict, model_type: str) -> Optional[dict]:
    """The experts' activation of an architecture as the model manifest records it, None
    for SiLU: gpt-oss's clamped SwiGLU ({"kind", "alpha", "limit"}). CompileError for a
    config.json ``swiglu_limit`` other than the 7.0 transformers' GptOssExperts uses
    (its eager experts hardcode 7.0; a checkpoint saying otherwise would run differently
    in transformers' two paths)."""
    if model_type not in CLAMPED_SWIGLU_MODELS:
        return None
    limit = config.get("swiglu_limit", SWIGLU_LIMIT)
    if limit is None:
        limit = SWIGLU_LIMIT
    if isinstance(limit, bool) or not isinstance(limit, (int, float)) or \
            float(limit) != SWIGLU_LIMIT:
        raise CompileError(f"{model_type}: swiglu_limit = {limit!r} is not "
                           f"supported (transformers' GptOssExperts clamps at "
                           f"{SWIGLU_LIMIT}; the compiled layers do the same)")
    return {"kind": "clamped_swiglu", "alpha": SWIGLU_ALPHA, "limit": SWIGLU_LIMIT}


def _read_config(ckpt: Path) -> dict:
    path = ckpt / "config.json"
    if not ckpt.is_dir():
        raise CompileError(f"{ckpt}: not a checkpoint directory")
    try:
        config = read_json(str(path), MAX_CONFIG_BYTES)
    except FileNotFoundError:
        raise CompileError(f"{path}: not found (a Hugging Face checkpoint directory has "
                           f"config.json)")
    except OSError as e:
        raise CompileError(f"{path}: cannot read: {e.strerror or e}")
    except ValueError as e:
        raise CompileError(f"{path}: cannot read: {bounded(e)}")
    if not isinstance(config, dict):
        raise CompileError(f"{path}: not a JSON object")
    return config


def _layers_beyond(config: dict, plan, layers) -> List[int]:
    """Drops from ``plan`` the MoE layers from config.json's ``num_hidden_layers`` on (the
    next-token-prediction layers some checkpoints carry), unless ``layers`` was given;
    returns their indices."""
    count = config.get("num_hidden_layers")
    if layers is not None or isinstance(count, bool) or not isinstance(count, int):
        return []
    beyond = [lp.index for lp in plan.layers if lp.index >= count]
    plan.layers = [lp for lp in plan.layers if lp.index < count]
    return beyond


def _check_out_dir(out: Path) -> None:
    if not out.exists():
        return
    if not out.is_dir():
        raise CompileError(f"{out} exists and is not a directory; refusing to overwrite it")
    if not (out / MODEL_MANIFEST).is_file():
        if any(out.iterdir()):
            raise CompileError(f"{out} exists and is not a samoyeds model directory (no "
                               f"{MODEL_MANIFEST}); refusing to overwrite it")
        return
    try:
        fmt = json.loads((out / MODEL_MANIFEST).read_text()).get("format")
    except (OSError, ValueError, AttributeError):
        fmt = None
    if fmt not in (MODEL_FORMAT, EP_MODEL_FORMAT):
        raise CompileError(f"{out}/{MODEL_MANIFEST} is not a samoyeds model manifest; "
                           f"refusing to overwrite {out}")


def _run_opt(opt: Path, mlir: Path, bundle: Path, chip: str, strategy: str) -> None:
    cmd = [str(opt), str(mlir),
           f"--samoyeds-to-bundle=chip={chip} strategy={strategy} dir={bundle}",
           "-o", os.devnull]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    except OSError as e:
        raise CompileError(f"cannot run {opt}: {e}")
    if r.returncode != 0 or not (bundle / "manifest.json").is_file():
        raise CompileError(f"samoyeds-opt failed ({r.returncode}) on {mlir.name}:\n"
                           f"  {' '.join(cmd)}\n{r.stderr.strip()}")


def _bundle_layout(bundle: Path) -> str:
    """The layout convert() packs a bundle's weights in: its weights' one layout, or
    "wgmma_halves" where w13 is in it and w2 in wgmma (weight_layout); else mma_sp."""
    m = json.loads((bundle / "manifest.json").read_text())
    layouts = {w.get("layout", "mma_sp") for w in m.get("weights", [])}
    if layouts == {"wgmma_halves", "wgmma"}:
        return "wgmma_halves"
    return layouts.pop() if len(layouts) == 1 else "mma_sp"


def ep_placement(experts: int, world_size: Optional[int], placement=None) -> Placement:
    """The placement of ``--expert-parallel R`` / ``--placement``: ``placement`` (a
    Placement, per-rank lists, or a JSON file of them) or contiguous slices; CompileError
    when it is invalid or its rank count is not ``world_size``."""
    try:
        if placement is None:
            return Placement.contiguous(experts, world_size)
        if isinstance(placement, (str, os.PathLike)):
            try:
                placement = json.loads(Path(placement).read_text())
            except (OSError, ValueError) as e:
                raise CompileError(f"--placement {placement}: cannot read: {e}") from None
            if isinstance(placement, dict):
                placement = placement.get("ranks")
        p = placement if isinstance(placement, Placement) else \
            Placement.from_ranks(placement, experts)
    except SamoyedsValueError as e:
        what = f"--expert-parallel {world_size}" if world_size is not None else "--placement"
        raise CompileError(f"{what}: {e.message}") from None
    if p.experts != experts or (world_size is not None and p.world_size != world_size):
        raise CompileError(f"--placement places {p.experts} experts over {p.world_size} "
                           f"ranks; the model has {experts} experts, --expert-parallel "
                           f"{world_size}")
    return p


def compile_model(ckpt_dir, out_dir, fmt: str = "1:2:128", chip: str = "sm_90a",
                  layout: str = "auto", layers: Optional[List[int]] = None,
                  samoyeds_opt: Optional[str] = None, progress: bool = True,
                  log=None, expert_parallel: Optional[int] = None,
                  placement=None, workers: Optional[int] = None,
                  dry_run: bool = False, routing: str = "torch") -> dict:
    """Compiles ``ckpt_dir`` into the model directory ``out_dir``; returns its manifest.
    ``expert_parallel`` (R) and/or ``placement``: an expert-parallel directory (module
    docstring). ``workers``: :func:`samoyeds.convert.convert`'s threads. ``dry_run``: every
    check of the config, routing, checkpoint names, dtypes and shapes and of OUT_DIR, and
    what would be compiled (``plan``: layers and bundle shapes), without compiling, reading
    weights or writing anything. ``routing``: "torch" (experts-only bundles; the routing
    runs in torch at load) or "compiled" (whole-layer bundles with the checkpoint's
    routing, :func:`compiled_routing`; the manifest's "routing_mode" says so)."""
    log = log or sys.stderr
    ckpt, out = Path(ckpt_dir), Path(out_dir)
    n, m, v = parse_format(fmt)
    if chip not in CHIPS:
        raise CompileError(f"--chip {chip!r}: not a supported chip ({', '.join(CHIPS)})")
    if layout not in STRATEGIES:
        raise CompileError(f"--layout {layout!r}: one of {', '.join(STRATEGIES)}")
    if layout == "wgmma" and chip != "sm_90a":
        raise CompileError(f"--layout wgmma needs --chip sm_90a, not {chip}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or not 1 <= workers <= MAX_WORKERS):
        raise CompileError(f"--workers {workers!r}: an integer in [1, {MAX_WORKERS}]")
    if routing not in ROUTING_MODES:
        raise CompileError(f"--routing {routing!r}: one of {', '.join(ROUTING_MODES)}")
    if routing == "compiled" and (expert_parallel is not None or placement is not None):
        raise CompileError("--routing compiled is not supported with --expert-parallel (each "
                           "rank runs an experts-only layer of its own experts, routed in "
                           "torch before the tokens are exchanged); compile with --routing "
                           "torch")
    config = _read_config(ckpt)
    try:
        spec = routing_from_config(config)
    except RoutingError as e:
        raise CompileError(f"{ckpt / 'config.json'}: {e}")
    route = compiled_routing(spec) if routing == "compiled" else None
    model_type = config["model_type"]
    try:
        activation = model_activation(config, model_type)
    except CompileError as e:
        raise CompileError(f"{ckpt / 'config.json'}: {e}") from None
    if activation is not None and (expert_parallel is not None or placement is not None):
        raise CompileError(f"--expert-parallel: {model_type} is not supported with expert "
                           f"parallelism (its experts' biases and clamped SwiGLU are not in "
                           f"the expert-parallel layer); compile it without --expert-parallel")
    _check_out_dir(out)

    source = Checkpoint(ckpt)
    try:
        plan = make_plan(source, MODELS[model_type], n, m, v, "bf16", layers,
                         "mma_sp" if layout == "auto" else layout)
    finally:
        source.close()
    beyond = _layers_beyond(config, plan, layers)
    if not plan.layers:
        raise CompileError(f"{ckpt}: no MoE layer below num_hidden_layers = "
                           f"{config['num_hidden_layers']} (layers {_ranges(beyond)} are past "
                           f"it; --layers names them explicitly)")
    for lp in plan.layers:
        if lp.experts != spec.experts:
            raise CompileError(f"{ckpt}: layer {lp.index} has {lp.experts} experts, config.json "
                               f"says {spec.experts}")
    ep = None
    if expert_parallel is not None or placement is not None:
        ep = ep_placement(spec.experts, expert_parallel, placement)

    shapes: Dict[str, tuple] = {}
    for lp in plan.layers:
        for E, k in ([(len(r), 1) for r in ep.ranks] if ep else [(lp.experts, spec.top_k)]):
            shapes.setdefault(bundle_key(E, lp.hidden, lp.inter, k, routing),
                              (E, lp.hidden, lp.inter, k))
    if dry_run:
        return {"dry_run": True, "architecture": model_type, "source": str(ckpt.resolve()),
                "out_dir": str(out), "chip": chip, "routing": spec.to_json(),
                "routing_mode": routing,
                "layers": [lp.index for lp in plan.layers],
                "fused_layers": [lp.index for lp in plan.layers if lp.fused],
                "source_dtypes": sorted(plan.source_dtypes), "bundles": sorted(shapes),
                "dense_layers": plan.dense_layers, "layers_beyond_num_hidden_layers": beyond,
                **({"activation": activation} if activation else {})}
    opt = find_samoyeds_opt(samoyeds_opt)

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = _create_temporary_dir(out)
    try:
        bundles = {}
        (tmp / "mlir").mkdir()
        for i, (key, (E, H, I, k)) in enumerate(sorted(shapes.items())):
            print(f"[{i + 1}/{len(shapes)}] compiling {key} for {chip} "
                  f"(samoyeds-opt {layout} strategy)", file=log, flush=True)
            src = tmp / "mlir" / f"{key}.mlir"
            src.write_text(layer_mlir(E, H, I, k, n, m, v, **_layer_form(activation, route)))
            bdir = tmp / "bundles" / key
            _run_opt(opt, src, bdir, chip, STRATEGIES[layout])
            bundles[key] = {"dir": f"bundles/{key}", "mlir": f"mlir/{key}.mlir",
                            "experts": E, "hidden": H, "intermediate": I, "top_k": k,
                            "layout": _bundle_layout(bdir)}
            if route:  # a whole layer; experts-only entries stay as they were
                bundles[key].update(kind="moe_ffn", **route)
        # Pack in the layout most bundles read (the runtime relays out the others).
        layouts = [b["layout"] for b in bundles.values()]
        pack_layout = max(sorted(set(layouts)), key=layouts.count)
        print(f"packing {len(plan.layers)} MoE layers ({n}:{m}:{v}, layout {pack_layout})",
              file=log, flush=True)
        full = tmp / ("weights.full.safetensors" if ep else WEIGHTS_FILE)
        summary = convert(ckpt, full, model_type, n, m, v, "bf16",
                          [lp.index for lp in plan.layers], progress=progress,
                          layout=pack_layout, workers=workers)
        if ep:
            print(f"splitting the packed experts over {ep.world_size} ranks "
                  f"({ep.describe()})", file=log, flush=True)
            files = shard_weights(full, tmp, ep)
            full.unlink()
            summary["output_bytes"] = sum(f.stat().st_size for f in files)
        layer_entries = []
        for lp in plan.layers:
            after = sum(sum(packed_sizes(lp.experts, r, c, n, m, v,
                                         weight_layout(pack_layout, gate_up)))
                        for r, c, gate_up in ((2 * lp.inter, lp.hidden, True),
                                              (lp.hidden, lp.inter, False)))
            if lp.biases:  # gpt-oss: its experts' biases, bf16 [E, 2I] and [E, H]
                after += lp.experts * (2 * lp.inter + lp.hidden) * 2
            entry = {"index": lp.index, "prefix": f"layers.{lp.index}.", "experts": lp.experts,
                     "hidden": lp.hidden, "intermediate": lp.inter,
                     "bytes_before": lp.src_bytes, "bytes_after": after}
            if ep:
                entry.update(top_k=spec.top_k, bundles=[
                    shape_key(len(r), lp.hidden, lp.inter, 1) for r in ep.ranks])
            else:
                entry["bundle"] = bundle_key(lp.experts, lp.hidden, lp.inter, spec.top_k,
                                             routing)
            layer_entries.append(entry)
        manifest = {
            "format": EP_MODEL_FORMAT if ep else MODEL_FORMAT, "version": 1,
            "architecture": model_type, "source": str(ckpt.resolve()),
            "chip": chip, "sparsity": {"n": n, "m": m, "v": v, "format": f"{n}:{m}:{v}"},
            "layout": pack_layout, "dtype": "bf16",
            "routing": spec.to_json(),
            # Written for compiled routing only: a manifest without it (every one written
            # before it existed) means "torch".
            **({"routing_mode": "compiled"} if route else {}),
            "bundles": bundles, "layers": layer_entries,
            "dense_layers": plan.dense_layers, "layers_beyond_num_hidden_layers": beyond,
            "passthrough": summary["passthrough"],
            "bytes_before": sum(e["bytes_before"] for e in layer_entries),
            "bytes_after": sum(e["bytes_after"] for e in layer_entries),
            "weights_file_bytes": summary["output_bytes"],
        }
        if activation:  # gpt-oss; the others' manifests stay as they were
            manifest["activation"] = activation
            manifest["expert_biases"] = ["w13_bias", "w2_bias"]
        if ep:
            manifest["expert_parallel"] = {
                "world_size": ep.world_size, "placement": ep.to_json(),
                "weights": [rank_weights_name(r) for r in range(ep.world_size)]}
        else:
            manifest["weights"] = WEIGHTS_FILE
        (tmp / MODEL_MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
        _replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    manifest["out_dir"] = str(out)
    return manifest


def _layer_form(activation: Optional[dict], route: Optional[dict]) -> dict:
    """:func:`layer_mlir`'s arguments beyond the shape: gpt-oss's activation and experts'
    biases, and for compiled routing the router and its routing (:func:`compiled_routing`)."""
    form = {"activation": activation["kind"], "bias": True} if activation else {}
    if route:
        form.update(router=True, **route)
    return form


def _routing_text(routing: dict, mode: str) -> str:
    """The routing line of the summaries: the convention and where it runs."""
    where = ("compiled into each layer (moe_ffn bundles, --routing compiled)"
             if mode == "compiled" else "in torch at load (experts-only bundles)")
    return f"routing: {routing['describe']}; {where}"


def _create_temporary_dir(out: Path) -> Path:
    """A new empty ``OUT_DIR.tmp-XXXX`` next to ``out``, created like mkdir creates
    directories (mode 0777 less the umask; tempfile.mkdtemp would make it 0700)."""
    while True:
        tmp = out.parent / f"{out.name}.tmp-{secrets.token_hex(6)}"
        try:
            tmp.mkdir(0o777)
        except FileExistsError:
            continue
        return tmp


def _replace_dir(tmp: Path, out: Path) -> None:
    """Renames ``tmp`` to ``out``; an existing (samoyeds) ``out`` is moved aside first and
    removed after, so ``out`` is at every moment either the old or the new model."""
    if not out.exists():
        os.rename(tmp, out)
        return
    _check_out_dir(out)  # again: it may have changed while we compiled
    old = Path(tempfile.mkdtemp(prefix=f"{out.name}.old-", dir=str(out.parent)))
    os.rename(out, old / "model")
    os.rename(tmp, out)
    shutil.rmtree(old, ignore_errors=True)


def format_plan(plan: dict) -> str:
    """What a dry run found (compile_model(dry_run=True))."""
    rows = [f"Checked {plan['source']} ({plan['architecture']}) for {plan['out_dir']} "
            f"(dry run: nothing compiled, read or written)",
            f"  {_routing_text(plan['routing'], plan['routing_mode'])}",
            f"  MoE layers: {_ranges(plan['layers'])}; expert weights "
            f"{', '.join(plan['source_dtypes'])}"
            + (f", fused in layers {_ranges(plan['fused_layers'])}" if plan["fused_layers"]
               else ""),
            f"  bundles for {plan['chip']}: {', '.join(plan['bundles'])}"]
    if plan.get("activation"):
        a = plan["activation"]
        rows.append(f"  experts: {a['kind']} (alpha {a['alpha']}, limit {a['limit']}) with "
                    f"their biases (w13_bias, w2_bias)")
    if plan["dense_layers"]:
        rows.append(f"  dense layers left alone: {_ranges(plan['dense_layers'])}")
    if plan["layers_beyond_num_hidden_layers"]:
        rows.append(f"  layers past num_hidden_layers left out (next-token prediction): "
                    f"{_ranges(plan['layers_beyond_num_hidden_layers'])}")
    return "\n".join(rows)


def format_table(manifest: dict) -> str:
    def mib(b):
        return f"{b / 2**20:10.2f}"

    rows = [f"Compiled {manifest['source']} ({manifest['architecture']}) -> "
            f"{manifest.get('out_dir', '')}",
            f"  chip {manifest['chip']}, format {manifest['sparsity']['format']}, layout "
            f"{manifest['layout']}, "
            f"{_routing_text(manifest['routing'], manifest.get('routing_mode', 'torch'))}",
            "",
            f"  {'layer':>5}  {'experts':>7}  {'hidden':>6}  {'inter':>6}  {'bundle':<24} "
            f"{'MiB before':>10} {'MiB after':>10}"]
    ep = manifest.get("expert_parallel")
    if ep:
        rows.insert(2, f"  expert parallel: {Placement.from_json(ep['placement']).describe()}, "
                       f"one bundle and weight file per rank")
    for e in manifest["layers"]:
        bundle = e.get("bundle") or "+".join(sorted(set(e["bundles"])))
        rows.append(f"  {e['index']:>5}  {e['experts']:>7}  {e['hidden']:>6}  "
                    f"{e['intermediate']:>6}  {bundle:<24} {mib(e['bytes_before'])} "
                    f"{mib(e['bytes_after'])}")
    before, after = manifest["bytes_before"], manifest["bytes_after"]
    rows.append(f"  {'total':>5}  {'':>7}  {'':>6}  {'':>6}  {len(manifest['bundles'])} "
                f"bundle(s){'':<14} {mib(before)} {mib(after)}"
                f"  ({100 * after / before if before else 0:.1f}%)")
    if manifest["dense_layers"]:
        rows.append(f"  dense layers left alone: {_ranges(manifest['dense_layers'])}")
    if manifest.get("layers_beyond_num_hidden_layers"):
        rows.append(f"  layers past num_hidden_layers left out (next-token prediction): "
                    f"{_ranges(manifest['layers_beyond_num_hidden_layers'])}")
    return "\n".join(rows)


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(
        prog="samoyeds-compile",
        description="Compile a Hugging Face MoE checkpoint into a serving-ready Samoyeds "
                    "model directory (bundles + packed weights + manifest).")
    ap.add_argument("ckpt_dir", help="checkpoint directory (config.json + safetensors)")
    ap.add_argument("out_dir", help="output model directory (created atomically)")
    ap.add_argument("--format", default="1:2:128", help="SS format N:M:V (default 1:2:128)")
    ap.add_argument("--chip", default="sm_90a", choices=CHIPS, help="target (default sm_90a)")
    ap.add_argument("--layout", default="auto", choices=sorted(STRATEGIES),
                    help="MMA strategy / weight layout: auto (samoyeds-opt chooses), wgmma "
                         "(sm_90a; kept rows and K padded to 64-row tiles and 128-column "
                         "blocks, each gate/up half on its own: wgmma_halves) or mma_sp")
    ap.add_argument("--layers", help="MoE layers to compile, e.g. 0-3,7 (default: all)")
    ap.add_argument("--samoyeds-opt", help="the samoyeds-opt binary (default: $SAMOYEDS_OPT, "
                                           "PATH, then build/bin)")
    ap.add_argument("--expert-parallel", type=int, metavar="R",
                    help="write an expert-parallel model for R ranks: per rank a bundle of "
                         "its experts and its slice of the packed weights "
                         "(docs/ExpertParallel.md)")
    ap.add_argument("--placement", metavar="FILE",
                    help="with --expert-parallel: JSON list of each rank's expert ids "
                         "(default: contiguous slices)")
    ap.add_argument("--routing", default="torch", choices=ROUTING_MODES,
                    help="where the routing runs: torch (default; experts-only bundles, "
                         "the routing computed by samoyeds.load in torch, every convention) "
                         "or compiled (whole-layer bundles with the router and softmax top-k "
                         "compiled in; Mixtral-, Qwen-, OLMoE-, Granite-, gpt-oss-style and "
                         "greedy DeepSeek-V2 routing)")
    ap.add_argument("--workers", type=int, default=None,
                    help="threads packing the experts (default: up to 8, one per core)")
    ap.add_argument("--dry-run", action="store_true",
                    help="check config.json, the routing, the checkpoint's names, dtypes and "
                         "shapes and OUT_DIR, print what would be compiled, and stop")
    ap.add_argument("--quiet", action="store_true", help="no progress output")
    args = ap.parse_args(argv)
    try:
        with open(os.devnull, "w") as devnull, _sigterm_interrupts():
            manifest = compile_model(args.ckpt_dir, args.out_dir, args.format, args.chip,
                                     args.layout, parse_layers(args.layers), args.samoyeds_opt,
                                     progress=not args.quiet,
                                     log=devnull if args.quiet else sys.stderr,
                                     expert_parallel=args.expert_parallel,
                                     placement=args.placement, workers=args.workers,
                                     dry_run=args.dry_run, routing=args.routing)
    except (CompileError, ConversionError, SafetensorsError, RuntimeLibraryNotFound,
            SamoyedsError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as e:  # SIGINT, or SIGTERM (Terminated)
        what = "terminated (SIGTERM)" if isinstance(e, Terminated) else "interrupted"
        print(f"error: {what}; no model directory written", file=sys.stderr)
        return 128 + (signal.SIGTERM if isinstance(e, Terminated) else signal.SIGINT)
    print(format_plan(manifest) if manifest.get("dry_run") else format_table(manifest))
    return 0


if __name__ == "__main__":
    sys.exit(main())

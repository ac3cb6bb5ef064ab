"""Expert-parallel model directories (``samoyeds-compile --expert-parallel R``).

Writing: :func:`shard_weights` splits a packed weight file (what ``samoyeds.convert``
writes) into one file per rank: every packed weight (``layers.{i}.w13`` / ``w2``) keeps
only the rank's experts, in its local order (packed weights store experts one after
another, so this is a copy of rows, no repacking); routers and shared-expert tensors are
copied to every rank (each rank routes its own tokens and runs the shared experts).

Reading: :func:`read_ep_model` checks a directory's manifest (format
``samoyeds-ep-model``) and files; :class:`EPModelDir` answers which bundle and weight file
a rank loads for a layer. No torch and no device needed.

The directory::

    OUT_DIR/samoyeds-model.json           manifest ("format": "samoyeds-ep-model")
    OUT_DIR/weights.rank{r}.safetensors   rank r's experts (+ routers, shared tensors)
    OUT_DIR/bundles/e{E_r}_h{H}_i{I}_k1/  experts-only bundle of E_r local experts, top-k 1
    OUT_DIR/mlir/e{E_r}_h{H}_i{I}_k1.mlir
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List

import numpy as np

from . import _capi
from ._capi import SamoyedsError
from ._files import bounded, read_json
from .placement import Placement
from .routing import RoutingError, RoutingSpec
from .safetensors_io import SafetensorsFile, SafetensorsWriter
from .weightfile import FORMAT as WEIGHTS_FORMAT, PARTS, samoyeds_metadata

__all__ = ["EP_MODEL_FORMAT", "rank_weights_name", "shard_weights", "EPModelDir",
           "read_ep_model"]

EP_MODEL_FORMAT = "samoyeds-ep-model"
MODEL_MANIFEST = "samoyeds-model.json"
MAX_MANIFEST_BYTES = 64 << 20


_err = _capi.status_error


def rank_weights_name(rank: int) -> str:
    """The weight file of ``rank`` in an expert-parallel directory."""
    return f"weights.rank{rank}.safetensors"


def _file_description(f: SafetensorsFile) -> dict:
    try:
        desc = json.loads(f.metadata["samoyeds"])
        if desc.get("format") != WEIGHTS_FORMAT or not isinstance(desc.get("weights"), dict):
            raise ValueError("not a samoyeds weight file")
        return desc
    except (KeyError, ValueError, AttributeError) as e:
        raise _err("SY_ERR_WEIGHT_FILE", f"{f.path}: no samoyeds weight description: "
                   f"{bounded(e)}") from None


def shard_weights(full_path, out_dir, placement: Placement) -> List[Path]:
    """Writes ``out_dir/weights.rank{r}.safetensors`` for every rank of ``placement`` from
    the packed weight file ``full_path``; returns their paths. Every packed weight must have
    ``placement.experts`` experts."""
    src = SafetensorsFile(full_path)
    desc = _file_description(src)
    weights = desc["weights"]
    for name, w in weights.items():
        if w.get("experts") != placement.experts:
            raise _err("SY_ERR_PARAM_MISMATCH", f"{full_path}: weight {name} has "
                       f"{w.get('experts')} experts, the placement {placement.experts}")
    packed_parts = {f"{name}.{p}": name for name in weights for p in PARTS}
    out = []
    try:
        for r, experts in enumerate(placement.ranks):
            idx = np.asarray(experts, dtype=np.int64)
            entries = []
            for t in src.keys():
                info = src.info(t)
                shape = info.shape
                if t in packed_parts:
                    shape = (len(experts),) + tuple(shape[1:])
                entries.append((t, info.dtype, shape))
            mine = {k: dict(w, experts=len(experts)) for k, w in weights.items()}
            extra = {k: v for k, v in desc.items()
                     if k not in ("format", "version", "source", "weights")}
            extra["expert_parallel"] = {"rank": r, "world_size": placement.world_size,
                                        "experts": list(experts)}
            meta = samoyeds_metadata(mine, source=desc.get("source", ""), **extra)
            path = Path(out_dir) / rank_weights_name(r)
            writer = SafetensorsWriter(path, entries, meta)
            try:
                for t, _, _ in entries:
                    a = src.get(t)
                    writer.write(t, a[idx] if t in packed_parts else a)
                writer.close()
            except BaseException:
                writer.abort()
                raise
            out.append(path)
    finally:
        src.close()
    return out


@dataclass
class EPModelDir:
    """An expert-parallel model directory: manifest, routing, placement."""

    dir: Path
    manifest: dict
    routing: RoutingSpec
    placement: Placement

    @property
    def world_size(self) -> int:
        """The ranks the directory is compiled for."""
        return self.placement.world_size

    def layers(self) -> Dict[int, dict]:
        """{layer index: manifest entry}."""
        return {int(e["index"]): e for e in self.manifest["layers"]}

    def layer(self, index: int) -> dict:
        """The manifest entry of layer ``index``; SY_ERR_NOT_FOUND if it is not compiled."""
        layers = self.layers()
        if index not in layers:
            raise _err("SY_ERR_NOT_FOUND", f"{self.dir}: no compiled layer {index} "
                       f"(compiled: {sorted(layers)})")
        return layers[index]

    def weights(self, rank: int) -> Path:
        """The weight file of ``rank``."""
        return self.dir / self.manifest["expert_parallel"]["weights"][rank]

    def bundle_dir(self, layer: dict, rank: int) -> Path:
        """The bundle of ``rank``'s experts for the manifest entry ``layer``."""
        return self.dir / self.manifest["bundles"][layer["bundles"][rank]]["dir"]


def read_ep_model(out_dir) -> EPModelDir:
    """Reads and checks an expert-parallel model directory (no device): format, version,
    routing, placement, every rank's bundle and weight file present."""
    d = Path(os.fspath(out_dir))
    path = d / MODEL_MANIFEST
    try:
        m = read_json(str(path), MAX_MANIFEST_BYTES)
    except OSError as e:
        raise _err("SY_ERR_IO", f"{path}: cannot read: {e.strerror or e} (compile the "
                   f"directory with samoyeds-compile --expert-parallel R)") from None
    except ValueError as e:
        raise _err("SY_ERR_MANIFEST", f"{path}: not valid JSON: {bounded(e)}") from None
    if not isinstance(m, dict) or m.get("format") != EP_MODEL_FORMAT:
        fmt = m.get("format") if isinstance(m, dict) else None
        hint = (" (a single-GPU model: samoyeds.load runs it; recompile with "
                "--expert-parallel R for expert parallelism)" if fmt == "samoyeds-model" else "")
        raise _err("SY_ERR_MANIFEST", f"{path}: format is {_capi.quote(fmt)}, not "
                   f"{EP_MODEL_FORMAT!r}{hint}")
    if m.get("version") != 1:
        raise _err("SY_ERR_MANIFEST", f"{path}: unsupported version {_capi.quote(m.get('version'))}")
    try:
        spec = RoutingSpec.from_json(m["routing"])
        ep = m["expert_parallel"]
        placement = Placement.from_json(ep["placement"])
        if placement.experts != spec.experts:
            raise ValueError(f"placement of {placement.experts} experts, routing of "
                             f"{spec.experts}")
        if len(ep["weights"]) != placement.world_size:
            raise ValueError(f"{len(ep['weights'])} weight files for "
                             f"{placement.world_size} ranks")
        for name in ep["weights"]:
            if not (d / name).is_file():
                raise _err("SY_ERR_IO", f"{path}: weight file {name} is missing")
        for e in m["layers"]:
            if len(e["bundles"]) != placement.world_size:
                raise ValueError(f"layer {e['index']}: {len(e['bundles'])} bundles for "
                                 f"{placement.world_size} ranks")
            for r, key in enumerate(e["bundles"]):
                b = m["bundles"][key]
                if b["experts"] != len(placement.ranks[r]):
                    raise ValueError(f"layer {e['index']}: rank {r}'s bundle {key} has "
                                     f"{b['experts']} experts, the placement "
                                     f"{len(placement.ranks[r])}")
                if not (d / b["dir"] / "manifest.json").is_file():
                    raise _err("SY_ERR_IO", f"{path}: layer {e['index']}: bundle {b['dir']} "
                               f"is missing")
    except (KeyError, TypeError, ValueError, IndexError, RoutingError) as e:
        what = e.message if isinstance(e, SamoyedsError) else repr(e)
        raise _err("SY_ERR_MANIFEST", f"{path}: malformed manifest: {bounded(what)}") from e
    return EPModelDir(d, m, spec, placement)

"""Hugging Face MoE checkpoints as the converter reads them: the architectures' tensor
names (:data:`MODELS`), a single-file or sharded safetensors checkpoint
(:class:`Checkpoint`) and its config.json, each read with its sizes bounded.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

from ._capi import SamoyedsValueError, quote
from ._files import bounded, read_json
from .safetensors_io import SafetensorsError, SafetensorsFile

__all__ = ["ConversionError", "ModelSpec", "MODELS", "Checkpoint", "MAX_CONFIG_BYTES",
           "MAX_INDEX_BYTES", "FUSED"]

# Fused expert tensors as transformers 5 saves them (and checkpoints released since):
# experts.gate_up_proj [E, 2I, H] (gate rows first) and experts.down_proj [E, H, I].
FUSED = ("gate_up_proj", "down_proj")

# A model.safetensors.index.json is a few hundred kilobytes.
MAX_INDEX_BYTES = 64 << 20
# config.json is a few kilobytes.
MAX_CONFIG_BYTES = 16 << 20


class ConversionError(SamoyedsValueError):
    """The checkpoint or the arguments cannot be converted; the message names the file and
    the tensor (a SamoyedsError, status SY_ERR_INVALID_ARGUMENT, and a ValueError)."""


@dataclass(frozen=True)
class ModelSpec:
    name: str
    moe: str  # the MoE block under model.layers.{i}: "mlp" or "block_sparse_moe"
    gate: str
    up: str
    down: str
    shared: Optional[str] = None  # regex (after "model.layers.{i}.") of shared-expert tensors
    # The block of fused experts (transformers 5's layout) where it differs from `moe`.
    fused_moe: Optional[str] = None
    # The fused tensors' names under the block, in FUSED's order, where they are not
    # transformers 5's experts.gate_up_proj / experts.down_proj (GraniteMoE's stacked
    # input_linear / output_linear); such a family has no per-expert form, and every other
    # tensor under its block but the router is refused as unexpected.
    fused_names: Optional[Tuple[str, str]] = None
    router_name: str = "gate.weight"  # the router's weight under the block
    # gpt-oss's layout: the stacked experts stored "in x out", gate_up [E, H, 2I] with gate
    # and up interleaved on the last dimension (gate = [..., ::2], up = [..., 1::2]) and
    # down [E, I, H]; w13 and w2 are their de-interleaved transposes.
    interleaved: bool = False
    # Per-expert biases under the block, in FUSED's order ([E, 2I] interleaved as the
    # weight, and [E, H]); converted into layers.{i}.w13_bias / w2_bias.
    expert_biases: Optional[Tuple[str, str]] = None
    router_bias_name: Optional[str] = None  # the router's bias under the block ([E])
    # The experts may also be MXFP4 (W_blocks / W_scales, mxfp4.py).
    mxfp4: bool = False

    def expert(self, layer: int, e: int, proj: str) -> str:
        return f"model.layers.{layer}.{self.moe}.experts.{e}.{proj}.weight"

    def router(self, layer: int) -> str:
        return f"model.layers.{layer}.{self.moe}.{self.router_name}"

    @property
    def per_expert(self) -> bool:
        """Whether the family also saves its experts one by one (experts.{e}.{proj})."""
        return self.fused_names is None

    @property
    def fused_block(self) -> str:
        return self.fused_moe or self.moe

    def fused_label(self, kind: str) -> str:
        """The name a message gives the fused tensor of ``kind`` (one of FUSED)."""
        return kind if self.fused_names is None else self.fused_names[FUSED.index(kind)]

    def fused(self, layer: int, kind: str) -> str:
        """A fused expert tensor (``kind`` one of FUSED) of layer ``layer``."""
        tail = f"experts.{kind}" if self.fused_names is None else self.fused_label(kind)
        return f"model.layers.{layer}.{self.fused_block}.{tail}"

    def fused_router(self, layer: int) -> str:
        return f"model.layers.{layer}.{self.fused_block}.{self.router_name}"

    def expert_bias(self, layer: int, kind: str) -> str:
        """The bias of the fused tensor of ``kind`` (one of FUSED), where the family has
        expert biases."""
        return (f"model.layers.{layer}.{self.fused_block}."
                f"{self.expert_biases[FUSED.index(kind)]}")

    def router_bias(self, layer: int) -> str:
        return f"model.layers.{layer}.{self.fused_block}.{self.router_bias_name}"


# Qwen2-MoE's block (a gated shared expert) and DeepSeek-V3's (shared experts, the router's
# selection bias), which later families reuse under their own names.
_QWEN2_STYLE = ModelSpec("qwen2_moe", "mlp", "gate_proj", "up_proj", "down_proj",
                         shared=r"mlp\.shared_expert(\.|_gate\.)")
_V3_STYLE = ModelSpec("deepseek_v3", "mlp", "gate_proj", "up_proj", "down_proj",
                      shared=r"mlp\.(shared_experts\.|gate\.e_score_correction_bias$)")
# GraniteMoE's block (GraniteMoe, GraniteMoeShared, GraniteMoeHybrid): its experts stacked in
# input_linear.weight [E, 2I, H] (gate rows first, as gate_up_proj) and output_linear.weight
# [E, H, I], its router router.layer.weight. The shared families' shared_mlp sits beside the
# block in the decoder layer (transformers runs it there), so it is not copied.
_GRANITE = ModelSpec("granitemoe", "block_sparse_moe", "", "", "",
                     fused_names=("input_linear.weight", "output_linear.weight"),
                     router_name="router.layer.weight")

# gpt-oss (OpenAI; transformers' GptOssMLP): the experts stacked "in x out" with gate and up
# interleaved, biases on every expert projection and on the router (router.weight,
# router.bias), bf16 or MXFP4 (the release: experts.gate_up_proj_blocks / _scales ...).
_GPT_OSS = ModelSpec("gpt_oss", "mlp", "", "", "",
                     fused_names=("experts.gate_up_proj", "experts.down_proj"),
                     router_name="router.weight", interleaved=True,
                     expert_biases=("experts.gate_up_proj_bias", "experts.down_proj_bias"),
                     router_bias_name="router.bias", mxfp4=True)

MODELS: Dict[str, ModelSpec] = {
    "mixtral": ModelSpec("mixtral", "block_sparse_moe", "w1", "w3", "w2", fused_moe="mlp"),
    "qwen2_moe": _QWEN2_STYLE,
    "deepseek_v2": ModelSpec("deepseek_v2", "mlp", "gate_proj", "up_proj", "down_proj",
                             shared=r"mlp\.shared_experts\."),
    "qwen3_moe": ModelSpec("qwen3_moe", "mlp", "gate_proj", "up_proj", "down_proj"),
    "qwen3_next": replace(_QWEN2_STYLE, name="qwen3_next"),
    "deepseek_v3": _V3_STYLE,
    "glm4_moe": replace(_V3_STYLE, name="glm4_moe"),
    "kimi_k2": replace(_V3_STYLE, name="kimi_k2"),
    "olmoe": ModelSpec("olmoe", "mlp", "gate_proj", "up_proj", "down_proj"),
    # MiniMax-M2: Mixtral's names, its selection bias on the block (mlp once transformers 5
    # saves it), no shared experts.
    "minimax_m2": ModelSpec("minimax_m2", "block_sparse_moe", "w1", "w3", "w2",
                            shared=r"(block_sparse_moe|mlp)\.e_score_correction_bias$",
                            fused_moe="mlp"),
    # ERNIE-4.5: DeepSeek's shared experts, its selection bias in the block's moe_statics.
    "ernie4_5_moe": ModelSpec("ernie4_5_moe", "mlp", "gate_proj", "up_proj", "down_proj",
                              shared=r"mlp\.(shared_experts\.|moe_statics\."
                                     r"e_score_correction_bias$)"),
    "granitemoe": _GRANITE,
    "granitemoeshared": replace(_GRANITE, name="granitemoeshared"),
    "granitemoehybrid": replace(_GRANITE, name="granitemoehybrid"),
    "gpt_oss": _GPT_OSS,
}


class Checkpoint:
    """The tensors of a single-file or sharded safetensors checkpoint."""

    def __init__(self, src):
        self.src = Path(src)
        self._config: Optional[dict] = None
        self.files: Dict[str, SafetensorsFile] = {}
        self.where: Dict[str, str] = {}  # tensor -> file path
        self.sources: List[str] = []  # every file read (shards, index), for samefile checks
        p = self.src
        try:
            mode = os.stat(p).st_mode
        except OSError as e:
            raise ConversionError(f"{p}: {e.strerror or 'cannot stat'}") from None
        if stat.S_ISDIR(mode):
            index = p / "model.safetensors.index.json"
            if index.is_file():
                self._load_index(index)
            else:
                shards = sorted(p.glob("*.safetensors"))
                if not shards:
                    raise ConversionError(f"{p}: no model.safetensors.index.json and no *.safetensors files")
                for s in shards:
                    self._add_file(s)
        elif stat.S_ISREG(mode):
            if p.name.endswith(".json"):
                self._load_index(p)
            else:
                self._add_file(p)
        else:
            raise ConversionError(f"{p}: not a regular file or directory")

    def _open(self, path: Path) -> SafetensorsFile:
        key = str(path)
        if key not in self.files:
            try:
                self.files[key] = SafetensorsFile(path)
            except SafetensorsError as e:
                raise ConversionError(e.message) from e
            self.sources.append(key)
        return self.files[key]

    def _add_file(self, path: Path) -> None:
        f = self._open(path)
        for name in f.keys():
            if name in self.where:
                raise ConversionError(f"{path}: tensor {quote(name)} also in {self.where[name]}")
            self.where[name] = str(path)

    def _load_index(self, index: Path) -> None:
        try:
            data = read_json(str(index), MAX_INDEX_BYTES)
        except OSError as e:
            raise ConversionError(f"{index}: cannot read the index file: "
                                  f"{e.strerror or e}") from None
        except ValueError as e:
            raise ConversionError(f"{index}: bad index file: {bounded(e)}") from None
        self.sources.append(str(index))
        wm = data.get("weight_map") if isinstance(data, dict) else None
        if not isinstance(wm, dict):
            raise ConversionError(f"{index}: bad index file: expected an object with a "
                                  f"'weight_map' object")
        for name, shard in wm.items():
            if not isinstance(shard, str) or not shard:
                raise ConversionError(f"{index}: weight_map[{quote(name)}] is {quote(shard)}, "
                                      f"not a shard file name")
            path = index.parent / shard
            if not path.exists():
                raise ConversionError(f"{index}: shard {quote(shard)} of tensor {quote(name)} does not exist")
            f = self._open(path)
            if name not in f:
                raise ConversionError(f"{path}: tensor {quote(name)} (listed in {index.name}) not found")
            self.where[name] = str(path)

    def names(self) -> List[str]:
        return list(self.where)

    def config_path(self) -> Path:
        """config.json beside the checkpoint's files (in the directory given, or beside the
        index or the single file)."""
        return (self.src if self.src.is_dir() else self.src.parent) / "config.json"

    def config(self) -> Optional[dict]:
        """config.json (see config_path) or None where there is none; read once."""
        if self._config is not None:
            return self._config
        path = self.config_path()
        if not path.is_file():
            return None
        try:
            data = read_json(str(path), MAX_CONFIG_BYTES)
        except OSError as e:
            raise ConversionError(f"{path}: cannot read: {e.strerror or e}") from None
        except ValueError as e:
            raise ConversionError(f"{path}: bad config file: {bounded(e)}") from None
        if not isinstance(data, dict):
            raise ConversionError(f"{path}: bad config file: not a JSON object")
        self._config = data
        return data

    def info(self, name: str):
        if name not in self.where:
            raise ConversionError(f"{self.src}: missing tensor {quote(name)}")
        return self.files[self.where[name]].info(name)

    def file_of(self, name: str) -> str:
        return self.where.get(name, str(self.src))

    def get(self, name: str) -> np.ndarray:
        self.info(name)
        return self.files[self.where[name]].get(name)

    def close(self) -> None:
        for f in self.files.values():
            f.close()

"""The layer's weights follow the bundle's layout (no GPU: the upload call is captured)."""
import ctypes
import json

import numpy as np
import pytest

from conftest import requires_runtime
from samoyeds import _capi
from samoyeds.pack import pack, to_storage

pytestmark = requires_runtime

E, H, I = 2, 128, 128


def layer_manifest(layout=None):
    """A device-less samoyeds.moe_ffn layer manifest; ``layout`` (None: absent) for w13."""
    bufs = [{"name": "x", "kind": "input", "dtype": "bf16", "shape": ["T", H]},
            {"name": "router", "kind": "input", "dtype": "bf16", "shape": [E, H]},
            {"name": "y", "kind": "output", "dtype": "bf16", "shape": ["T", H]}]
    weights = []
    for name, r, c in (("w13", 2 * I, H), ("w2", H, I)):
        rk = r // 2
        for part, dt, nbytes in (("values", "bf16", rk * c), ("meta", "u32", rk * c // 8),
                                 ("row_idx", "u8", c // 64 * rk)):
            bufs.append({"name": f"{name}.{part}", "kind": "weight", "dtype": dt,
                         "bytes": nbytes * E, "of": name, "part": part})
        weights.append({"name": name, "dtype": "bf16", "experts": E, "rows": r, "cols": c,
                        "n": 1, "m": 2, "v": 64})
    if layout is not None:
        weights[0]["layout"] = layout
    return {"format": "samoyeds-bundle", "version": 1, "chip": "sm_90a", "module": "k.ptx",
            "symbols": ["T", "P"], "buffers": bufs, "weights": weights,
            "routing": {"experts": E, "top_k": 2},
            "launches": [{"kernel": "k", "grid": [{"const": 1}] * 3, "block": [32, 1, 1],
                          "args": [{"buffer": "x"}]}]}


def bundle_dir(tmp_path, layout):
    d = tmp_path / f"b_{layout}"
    d.mkdir()
    (d / "k.ptx").write_text("// none\n")
    (d / "manifest.json").write_text(json.dumps(layer_manifest(layout)))
    return d


class CapturingLib:
    """Stands in for the runtime library in a session's upload calls."""

    def __init__(self):
        self.uploads = {}

    def sy_session_upload_weight(self, session, name, ref):
        view = ref._obj
        self.uploads[name.decode()] = tuple(
            ctypes.string_at(p, n) if n else b""
            for p, n in ((view.values, view.values_bytes), (view.meta, view.meta_bytes),
                         (view.row_idx, view.row_idx_bytes)))
        return _capi.SY_OK


def stub_layer(bundle):
    """A MoELayer without a device: the bundle's weights, a captured upload."""
    from samoyeds.layer import MoELayer

    layer = MoELayer.__new__(MoELayer)
    layer.dir, layer.weights = bundle.dir, bundle.weights
    layer._lib, layer._s, layer._uploaded = CapturingLib(), 1, set()
    return layer


def raw(p):
    return (p.values.tobytes(), p.meta.tobytes(), p.row_idx.tobytes())


@pytest.mark.parametrize("layout,want", [(None, "mma_sp"), ("mma_sp", "mma_sp"),
                                         ("wgmma", "wgmma"), ("wgmma_halves", "wgmma_halves")])
def test_layer_bundle_reports_the_layouts(tmp_path, layout, want):
    from samoyeds.layer import LayerBundle

    with LayerBundle(bundle_dir(tmp_path, layout)) as b:
        assert b.weights["w13"]["layout"] == want
        assert b.weights["w2"]["layout"] == "mma_sp"
        assert f"layout={want}" in b.describe()


def test_set_weights_packs_in_the_bundles_layout(tmp_path):
    from samoyeds.layer import LayerBundle

    rng = np.random.default_rng(0)
    w13 = to_storage(rng.standard_normal((E, 2 * I, H)).astype(np.float32))
    w2 = to_storage(rng.standard_normal((E, H, I)).astype(np.float32))
    with LayerBundle(bundle_dir(tmp_path, "wgmma")) as b:
        layer = stub_layer(b)
        layer.set_weights(w13, w2)
    assert layer._uploaded == {"w13", "w2"}
    got = layer._lib.uploads
    assert got["w13"] == raw(pack(w13, 1, 2, 64, layout="wgmma"))
    assert got["w13"] != raw(pack(w13, 1, 2, 64))
    assert got["w2"] == raw(pack(w2, 1, 2, 64))  # w2 has no "layout": mma_sp


# w13's halves hold 64 kept rows each: wgmma_halves has no padding rows here (its bytes are
# wgmma's; test_pack.py and FormatTest cover the padded ones).
@pytest.mark.parametrize("bundle_layout", ["mma_sp", "wgmma", "wgmma_halves"])
@pytest.mark.parametrize("packed_layout", ["mma_sp", "wgmma", "wgmma_halves"])
def test_upload_packed_rearranges_into_the_bundles_layout(tmp_path, bundle_layout,
                                                          packed_layout):
    from samoyeds.layer import LayerBundle

    w13 = to_storage(np.random.default_rng(1).standard_normal((E, 2 * I, H)).astype(np.float32))
    with LayerBundle(bundle_dir(tmp_path, bundle_layout)) as b:
        layer = stub_layer(b)
        layer.upload_packed("w13", pack(w13, 1, 2, 64, layout=packed_layout))
    assert layer._lib.uploads["w13"] == raw(pack(w13, 1, 2, 64, layout=bundle_layout))

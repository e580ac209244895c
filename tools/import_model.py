#!/usr/bin/env python3
"""Convert trained MobileNetV2-family weights into PatchRT files.

    python3 tools/import_model.py --format {keras-h5|torchvision|effnet-lite} \
        --input FILE --out DIR [--labels FILE] [--dtype f32|f16] \
        [--task NAME] [--resolution N]

writes DIR/backbone.safetensors and DIR/patch.safetensors as described in
docs/formats.md and prints a one-line summary. A source that cannot be read
(missing, truncated, wrong format, unexpected layer names or shapes) exits
with status 2 and a one-line message; see tools/README.md.

Needs Python 3.11, numpy, h5py (keras-h5 only) and safetensors; never torch,
tensorflow or keras: PyTorch checkpoints (zip and legacy formats) and pickled
scikit-learn label encoders are read with restricted unpicklers that build
plain numpy arrays and never import or run the classes they name.
"""

from __future__ import annotations

import argparse
import bz2
import collections
import gzip
import hashlib
import io
import json
import lzma
import os
import pickle
import re
import struct
import sys
import time
import zipfile
import zlib
from dataclasses import dataclass, field

EXIT_BAD_INPUT = 2
EXIT_OUTPUT = 1

try:
    import numpy as np
except ImportError:  # pragma: no cover - environment problem, not input
    print(
        "import_model: error: numpy is not installed "
        "(python3 -m pip install -r tools/requirements.txt)",
        file=sys.stderr,
    )
    sys.exit(EXIT_OUTPUT)


class InputError(Exception):
    """The source file cannot be imported; the message is shown as is."""


def fail(message: str):
    raise InputError(message)


# ---------------------------------------------------------------------------
# The layer table: a port of runtime/src/model/arch.rs (Architecture::mobilenet_v2)
# ---------------------------------------------------------------------------

# [t, c, n, s, k] rows, as in the `blocks` metadata.
MOBILENET_V2_BLOCKS = [
    [1, 16, 1, 1, 3],
    [6, 24, 2, 2, 3],
    [6, 32, 3, 2, 3],
    [6, 64, 4, 2, 3],
    [6, 96, 3, 1, 3],
    [6, 160, 3, 2, 3],
    [6, 320, 1, 1, 3],
]
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280
# Width multipliers tried when a source does not say which one it has; the
# runtime is tested with the first four.
CANDIDATE_WIDTHS = [1.0, 0.75, 0.5, 0.35, 1.3, 1.4]


def make_divisible(value: float, divisor: int = 8) -> int:
    """make_divisible as the runtime computes it, in f32 arithmetic."""
    v = np.float32(value)
    d = np.float32(divisor)
    rounded = max(np.floor((v + d / np.float32(2.0)) / d) * d, d)
    if rounded < np.float32(0.9) * v:
        rounded = rounded + d
    return int(rounded)


@dataclass(frozen=True)
class LayerSpec:
    kind: str  # stem, expand, depthwise, project, head
    block: int | None
    cin: int
    cout: int
    kernel: int
    stride: int

    @property
    def prefix(self) -> str:
        if self.block is None:
            return self.kind
        return f"blocks.{self.block}.{self.kind}"

    @property
    def weight_shape(self) -> tuple[int, ...]:
        k = self.kernel
        if self.kind == "stem":
            return (k, k, self.cin, self.cout)
        if self.kind == "depthwise":
            return (k, k, self.cout)
        return (self.cin, self.cout)


def layer_table(width: float, blocks: list[list[int]]) -> tuple[list[LayerSpec], int]:
    """Layers in execution order and the feature channels, as the runtime derives them."""
    w = np.float32(width)
    layers = []
    stem = make_divisible(np.float32(STEM_CHANNELS) * w)
    layers.append(LayerSpec("stem", None, 3, stem, 3, 2))
    channels = stem
    block = 0
    for t, c, n, s, k in blocks:
        out = make_divisible(np.float32(c) * w)
        for repeat in range(n):
            stride = s if repeat == 0 else 1
            hidden = channels * t
            if t != 1:
                layers.append(LayerSpec("expand", block, channels, hidden, 1, 1))
            layers.append(LayerSpec("depthwise", block, hidden, hidden, k, stride))
            layers.append(LayerSpec("project", block, hidden, out, 1, 1))
            channels = out
            block += 1
    features = make_divisible(np.float32(HEAD_CHANNELS) * w) if width > 1.0 else HEAD_CHANNELS
    layers.append(LayerSpec("head", None, channels, features, 1, 1))
    return layers, features


# ---------------------------------------------------------------------------
# What every reader produces
# ---------------------------------------------------------------------------

BN_FIELDS = ("gamma", "beta", "mean", "var")


@dataclass
class SourceLayer:
    """One conv + BatchNorm of the source, weights already in PatchRT layout."""

    kind: str
    block: int | None
    weight: np.ndarray
    weight_src: str
    bn: dict[str, np.ndarray]  # gamma, beta, mean, var
    bn_src: str
    kernel: int
    # Block-level facts the layer table cannot be checked without.
    stride: int | None = None


@dataclass
class SourceModel:
    source_format: str
    source_path: str
    source_arch: str  # e.g. mobilenet_v2_1.00_160, efficientnet_lite0
    layers: list[SourceLayer]
    classifier_weight: np.ndarray  # [C, F]
    classifier_bias: np.ndarray  # [C]
    classifier_src: str
    bn_epsilon: float
    padding: str
    input_mean: list[float]
    input_scale: list[float]
    native_resolution: int
    default_task: str
    # None: infer the width among CANDIDATE_WIDTHS, MobileNetV2 block table.
    width: float | None = None
    blocks: list[list[int]] | None = None
    preferred_width: float | None = None
    labels: list[str] | None = None
    labels_src: str | None = None
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------
# Layout conversions (docs/formats.md section 9), each checking its input shape
# ---------------------------------------------------------------------------


def _shape(a) -> str:
    return "[" + ", ".join(str(int(d)) for d in a.shape) + "]"


def as_float(name: str, a) -> np.ndarray:
    if not isinstance(a, np.ndarray):
        fail(f"{name}: expected a tensor, found {type(a).__name__}")
    if a.dtype.kind != "f":
        fail(f"{name}: expected floating-point values, found dtype {a.dtype}")
    a = np.asarray(a, dtype=np.float32)
    if not np.all(np.isfinite(a)):
        index = int(np.flatnonzero(~np.isfinite(a.ravel()))[0])
        fail(f"{name}: non-finite value at flat index {index}")
    return a


def keras_stem(name, a):
    a = as_float(name, a)
    if a.ndim != 4 or a.shape[2] != 3 or a.shape[0] != a.shape[1]:
        fail(f"{name}: unexpected shape {_shape(a)} for the stem (Keras [k, k, 3, out])")
    return np.ascontiguousarray(a)


def keras_depthwise(name, a):
    a = as_float(name, a)
    if a.ndim != 4 or a.shape[3] != 1 or a.shape[0] != a.shape[1]:
        fail(f"{name}: unexpected shape {_shape(a)} for a depthwise kernel (Keras [k, k, c, 1])")
    return np.ascontiguousarray(a[:, :, :, 0])


def keras_pointwise(name, a):
    a = as_float(name, a)
    if a.ndim != 4 or a.shape[0] != 1 or a.shape[1] != 1:
        fail(f"{name}: unexpected shape {_shape(a)} for a 1x1 convolution (Keras [1, 1, in, out])")
    return np.ascontiguousarray(a[0, 0])


def torch_stem(name, a):
    a = as_float(name, a)
    if a.ndim != 4 or a.shape[1] != 3 or a.shape[2] != a.shape[3]:
        fail(f"{name}: unexpected shape {_shape(a)} for the stem (PyTorch [out, 3, k, k])")
    return np.ascontiguousarray(a.transpose(2, 3, 1, 0))


def torch_depthwise(name, a):
    a = as_float(name, a)
    if a.ndim != 4 or a.shape[1] != 1 or a.shape[2] != a.shape[3]:
        fail(f"{name}: unexpected shape {_shape(a)} for a depthwise kernel (PyTorch [c, 1, k, k])")
    return np.ascontiguousarray(a[:, 0].transpose(1, 2, 0))


def torch_pointwise(name, a):
    a = as_float(name, a)
    if a.ndim != 4 or a.shape[2] != 1 or a.shape[3] != 1:
        fail(f"{name}: unexpected shape {_shape(a)} for a 1x1 convolution (PyTorch [out, in, 1, 1])")
    return np.ascontiguousarray(a[:, :, 0, 0].T)


def bn_params(src: str, values: dict[str, np.ndarray | None]) -> dict[str, np.ndarray]:
    """values maps gamma/beta/mean/var to the source arrays (None if absent)."""
    out = {}
    for k in BN_FIELDS:
        a = values.get(k)
        if a is None:
            fail(f"{src}: BatchNorm {k} is missing")
        a = as_float(f"{src} ({k})", a)
        if a.ndim != 1:
            fail(f"{src}: BatchNorm {k} has shape {_shape(a)}, expected a vector")
        out[k] = np.ascontiguousarray(a)
    n = {a.shape[0] for a in out.values()}
    if len(n) != 1:
        fail(f"{src}: BatchNorm vectors differ in length {sorted(n)}")
    if np.any(out["var"] < 0):
        fail(f"{src}: BatchNorm variance has negative values")
    return out


# ---------------------------------------------------------------------------
# Restricted unpickling helpers
# ---------------------------------------------------------------------------


class _Opaque:
    """Stand-in for a class named in a pickle that is not needed (never imported)."""

    _qualname = "?"

    def __init__(self, *args, **kwargs):
        self._args = args

    def __setstate__(self, state):
        if isinstance(state, tuple) and len(state) == 2:
            state, slots = state
            if isinstance(slots, dict):
                self.__dict__.update(slots)
        if isinstance(state, dict):
            self.__dict__.update(state)
        else:
            self._state = state

    def __repr__(self):
        return f"<{self._qualname}>"


def _opaque(module: str, name: str):
    return type(name, (_Opaque,), {"_qualname": f"{module}.{name}"})


# ---------------------------------------------------------------------------
# PyTorch checkpoints without torch: zip (torch >= 1.6) and legacy formats
# ---------------------------------------------------------------------------

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001

TORCH_STORAGE_DTYPES = {
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "BFloat16Storage": np.dtype("<u2"),  # widened to f32 below
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
    "UntypedStorage": np.dtype("u1"),
}


@dataclass
class _StorageType:
    name: str
    dtype: np.dtype


@dataclass
class _Storage:
    key: str
    stype: _StorageType
    numel: int
    data: bytes | None = None
    view: tuple | None = None  # legacy (root key, offset, size)


@dataclass
class _TensorRef:
    storage: _Storage
    offset: int
    size: tuple
    stride: tuple


def _rebuild_tensor(storage, storage_offset, size, stride, *rest):
    if not isinstance(storage, _Storage):
        fail("checkpoint tensor does not reference a storage")
    return _TensorRef(storage, int(storage_offset), tuple(size), tuple(stride))


def _rebuild_parameter(data, *rest):
    return data


class _TorchUnpickler(pickle.Unpickler):
    """Builds tensor references; anything that is not a tensor stays opaque."""

    def __init__(self, f, persistent):
        super().__init__(f)
        self._persistent = persistent

    def find_class(self, module, name):
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return _rebuild_tensor
        if module == "torch._utils" and name in (
            "_rebuild_parameter",
            "_rebuild_parameter_with_state",
        ):
            return _rebuild_parameter
        if module in ("torch", "torch.storage") and name.endswith("Storage"):
            dtype = TORCH_STORAGE_DTYPES.get(name)
            if dtype is None:
                fail(f"checkpoint uses an unsupported storage type torch.{name}")
            return _StorageType(name, dtype)
        return _opaque(module, name)

    def persistent_load(self, pid):
        return self._persistent(pid)


def _storage_from_pid(pid, storages, legacy):
    if not isinstance(pid, tuple) or len(pid) < 5 or pid[0] != "storage":
        fail(f"checkpoint has an unexpected persistent id {pid!r:.80}")
    stype, key, _location, numel = pid[1], str(pid[2]), pid[3], int(pid[4])
    if not isinstance(stype, _StorageType):
        fail(f"checkpoint storage {key} has no storage type")
    if key not in storages:
        storages[key] = _Storage(key, stype, numel)
    root = storages[key]
    if legacy and len(pid) > 5 and pid[5] is not None:
        view_key, offset, view_size = pid[5]
        view_key = str(view_key)
        if view_key not in storages:
            storages[view_key] = _Storage(view_key, stype, int(view_size), view=(key, int(offset), int(view_size)))
        return storages[view_key]
    return root


def _materialize(name: str, ref: _TensorRef, storages: dict) -> np.ndarray:
    st = ref.storage
    data = st.data
    dtype = st.stype.dtype
    if st.view is not None:
        root = storages[st.view[0]]
        item = root.stype.dtype.itemsize
        if root.data is None:
            fail(f"{name}: storage {root.key} has no data")
        data = root.data[st.view[1] * item : (st.view[1] + st.view[2]) * item]
    if data is None:
        fail(f"{name}: storage {st.key} has no data")
    flat = np.frombuffer(data, dtype=dtype)
    size, stride = ref.size, ref.stride
    if len(size) != len(stride):
        fail(f"{name}: size {size} and stride {stride} differ in rank")
    if any(d < 0 for d in size) or any(s < 0 for s in stride):
        fail(f"{name}: negative size or stride")
    if 0 in size:
        out = np.zeros(size, dtype=dtype)
    else:
        last = ref.offset + sum((d - 1) * s for d, s in zip(size, stride))
        if ref.offset < 0 or last >= flat.size:
            fail(f"{name}: tensor reaches past the end of its storage (truncated file?)")
        view = np.lib.stride_tricks.as_strided(
            flat[ref.offset :],
            shape=size,
            strides=tuple(s * dtype.itemsize for s in stride),
            writeable=False,
        )
        out = np.array(view, copy=True)
    if st.stype.name == "BFloat16Storage":
        out = (out.astype(np.uint32) << 16).view(np.float32)
    return out


def _collect_tensors(obj, storages) -> dict:
    """The state dict inside a loaded checkpoint, as name -> numpy array."""

    def is_state_dict(d):
        return isinstance(d, dict) and any(isinstance(v, _TensorRef) for v in d.values())

    found = None
    if is_state_dict(obj):
        found = obj
    elif isinstance(obj, dict):
        for key in ("state_dict", "model_state_dict", "model", "net", "module"):
            if is_state_dict(obj.get(key)):
                found = obj[key]
                break
        else:
            for v in obj.values():
                if is_state_dict(v):
                    found = v
                    break
    if found is None:
        fail(f"checkpoint holds no state dict of tensors (top-level object: {type(obj).__name__})")
    out = {}
    for k, v in found.items():
        if not isinstance(k, str):
            fail(f"state dict key {k!r} is not a string")
        if not isinstance(v, _TensorRef):
            fail(f"state dict entry {k} is not a tensor ({v!r:.60})")
        if k.startswith("module."):
            k = k[len("module.") :]
        out[k] = _materialize(k, v, storages)
    return out


def _read_exact(f, n, what):
    data = f.read(n)
    if len(data) != n:
        fail(f"file is truncated ({what})")
    return data


def _plain_load(f, what):
    """A pickle that may only hold plain Python values."""

    class Plain(pickle.Unpickler):
        def find_class(self, module, name):
            fail(f"unexpected object {module}.{name} in the {what} pickle")

    return Plain(f).load()


def load_torch_legacy(path: str) -> dict:
    with open(path, "rb") as f:
        try:
            magic = _plain_load(f, "magic number")
        except InputError:
            raise
        except Exception:
            fail("not a PyTorch checkpoint (no legacy magic number, not a zip)")
        if magic != LEGACY_MAGIC:
            fail("not a PyTorch checkpoint (pickle without the legacy magic number)")
        protocol = _plain_load(f, "protocol")
        if protocol != LEGACY_PROTOCOL:
            fail(f"unsupported legacy PyTorch protocol {protocol!r}")
        sys_info = _plain_load(f, "sys info")
        if not isinstance(sys_info, dict) or not sys_info.get("little_endian", False):
            fail("legacy PyTorch file is not little-endian")
        storages: dict[str, _Storage] = {}
        obj = _TorchUnpickler(f, lambda pid: _storage_from_pid(pid, storages, True)).load()
        keys = _plain_load(f, "storage keys")
        if not isinstance(keys, list):
            fail("legacy PyTorch file has no storage key list")
        for key in keys:
            key = str(key)
            st = storages.get(key)
            if st is None:
                fail(f"storage {key} is listed but never used")
            (numel,) = struct.unpack("<q", _read_exact(f, 8, f"size of storage {key}"))
            if numel != st.numel:
                fail(f"storage {key}: {numel} elements on disk, {st.numel} expected")
            st.data = _read_exact(f, numel * st.stype.dtype.itemsize, f"data of storage {key}")
        return _collect_tensors(obj, storages)


def load_torch_zip(path: str) -> dict:
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as e:
        fail(f"not a readable zip file ({e})")
    with zf:
        names = zf.namelist()
        pkls = [n for n in names if n.endswith("data.pkl") and n.count("/") == 1]
        if len(pkls) != 1:
            fail("zip file has no <archive>/data.pkl: not a PyTorch checkpoint")
        prefix = pkls[0][: -len("data.pkl")]
        byteorder = prefix + "byteorder"
        if byteorder in names and zf.read(byteorder).strip() not in (b"little", b""):
            fail("PyTorch checkpoint is big-endian; only little-endian is supported")
        storages: dict[str, _Storage] = {}

        def persistent(pid):
            st = _storage_from_pid(pid, storages, False)
            if st.data is None:
                record = f"{prefix}data/{st.key}"
                try:
                    st.data = zf.read(record)
                except KeyError:
                    fail(f"checkpoint lacks storage record {record}")
                need = st.numel * st.stype.dtype.itemsize
                if len(st.data) < need:
                    fail(f"storage {record} holds {len(st.data)} bytes, {need} expected (truncated?)")
            return st

        obj = _TorchUnpickler(io.BytesIO(zf.read(pkls[0])), persistent).load()
        return _collect_tensors(obj, storages)


def load_safetensors(path: str) -> dict:
    from safetensors import deserialize

    with open(path, "rb") as f:
        raw = f.read()
    try:
        items = deserialize(raw)
    except Exception as e:  # the package raises its own error type
        fail(f"not a valid safetensors file ({str(e).splitlines()[0] if str(e) else type(e).__name__})")
    names = {"F32": "<f4", "F16": "<f2", "F64": "<f8", "I64": "<i8", "I32": "<i4",
             "I16": "<i2", "I8": "i1", "U8": "u1", "BOOL": "?", "BF16": "<u2",
             "float32": "<f4", "float16": "<f2", "float64": "<f8", "int64": "<i8",
             "int32": "<i4", "bfloat16": "<u2", "uint8": "u1", "int8": "i1", "bool": "?"}
    out = {}
    for name, t in items:
        code = names.get(t["dtype"])
        if code is None:
            fail(f"{name}: unsupported safetensors dtype {t['dtype']}")
        a = np.frombuffer(bytes(t["data"]), dtype=code).reshape(t["shape"]).copy()
        if t["dtype"] in ("BF16", "bfloat16"):
            a = (a.astype(np.uint32) << 16).view(np.float32)
        out[name[len("module."):] if name.startswith("module.") else name] = a
    return out


def sniff(path: str) -> str:
    with open(path, "rb") as f:
        head = f.read(16)
    if len(head) < 8:
        fail("file is too short to be a model file")
    if head[:4] == b"PK\x03\x04":
        return "zip"
    if head[:8] == b"\x89HDF\r\n\x1a\n":
        return "hdf5"
    if head[0] == 0x80:
        return "pickle"
    n = struct.unpack("<Q", head[:8])[0]
    if 2 <= n < 100_000_000 and head[8:9] == b"{":
        return "safetensors"
    return "unknown"


def load_state_dict(path: str) -> tuple[dict, str]:
    kind = sniff(path)
    if kind == "zip":
        return load_torch_zip(path), "PyTorch zip checkpoint"
    if kind == "pickle":
        return load_torch_legacy(path), "PyTorch legacy checkpoint"
    if kind == "safetensors":
        return load_safetensors(path), "safetensors"
    if kind == "hdf5":
        fail("this is an HDF5 (Keras) file, not a PyTorch state dict: use --format keras-h5")
    fail("not a PyTorch checkpoint (.pth zip or legacy) or .safetensors file")


class _KeyTracker:
    """A state dict that remembers which keys were read, for the unknown-key check."""

    def __init__(self, sd: dict):
        self.sd = sd
        self.used: set[str] = set()

    def has(self, key):
        return key in self.sd

    def get(self, key):
        if key not in self.sd:
            fail(f"missing tensor {key}")
        self.used.add(key)
        return self.sd[key]

    def bn(self, prefix):
        return bn_params(
            prefix,
            {
                "gamma": self.get(prefix + ".weight"),
                "beta": self.get(prefix + ".bias"),
                "mean": self.get(prefix + ".running_mean"),
                "var": self.get(prefix + ".running_var"),
            },
        )

    def reject_unused(self, what):
        left = sorted(
            k for k in self.sd if k not in self.used and not k.endswith("num_batches_tracked")
        )
        if left:
            more = f" and {len(left) - 3} more" if len(left) > 3 else ""
            fail(f"unexpected tensors for {what}: {', '.join(left[:3])}{more}")


def _classifier_torch(sd: _KeyTracker, prefix: str):
    w = as_float(prefix + ".weight", sd.get(prefix + ".weight"))
    b = as_float(prefix + ".bias", sd.get(prefix + ".bias"))
    if w.ndim != 2 or b.ndim != 1 or b.shape[0] != w.shape[0]:
        fail(f"{prefix}: unexpected classifier shapes weight {_shape(w)}, bias {_shape(b)}")
    return np.ascontiguousarray(w), np.ascontiguousarray(b)


# ---------------------------------------------------------------------------
# torchvision MobileNetV2
# ---------------------------------------------------------------------------


def read_torchvision(path: str) -> SourceModel:
    raw, container = load_state_dict(path)
    if "features.0.0.weight" not in raw:
        sample = ", ".join(list(raw)[:3])
        fail(
            f"not a torchvision MobileNetV2 state dict (no features.0.0.weight; keys start {sample})"
        )
    sd = _KeyTracker(raw)
    layers = []
    stem = sd.get("features.0.0.weight")
    layers.append(
        SourceLayer("stem", None, torch_stem("features.0.0.weight", stem), "features.0.0.weight",
                    sd.bn("features.0.1"), "features.0.1", int(stem.shape[-1]))
    )
    i = 1
    block = 0
    while sd.has(f"features.{i}.conv.0.0.weight"):
        p = f"features.{i}.conv"
        first = sd.get(f"{p}.0.0.weight")
        if first.ndim == 4 and first.shape[1] == 1 and first.shape[2] > 1:
            # expand ratio 1: [dw conv-bn-relu, project conv, bn]
            dw_key, dw_bn, pj_key, pj_bn = f"{p}.0.0.weight", f"{p}.0.1", f"{p}.1.weight", f"{p}.2"
        else:
            layers.append(
                SourceLayer("expand", block, torch_pointwise(f"{p}.0.0.weight", first),
                            f"{p}.0.0.weight", sd.bn(f"{p}.0.1"), f"{p}.0.1", 1)
            )
            dw_key, dw_bn, pj_key, pj_bn = f"{p}.1.0.weight", f"{p}.1.1", f"{p}.2.weight", f"{p}.3"
        dw = sd.get(dw_key)
        layers.append(
            SourceLayer("depthwise", block, torch_depthwise(dw_key, dw), dw_key, sd.bn(dw_bn), dw_bn,
                        int(dw.shape[-1]))
        )
        layers.append(
            SourceLayer("project", block, torch_pointwise(pj_key, sd.get(pj_key)), pj_key,
                        sd.bn(pj_bn), pj_bn, 1)
        )
        i += 1
        block += 1
    head_key = f"features.{i}.0.weight"
    if not sd.has(head_key):
        fail(f"missing tensor {head_key} (the last 1x1 convolution after {block} blocks)")
    layers.append(
        SourceLayer("head", None, torch_pointwise(head_key, sd.get(head_key)), head_key,
                    sd.bn(f"features.{i}.1"), f"features.{i}.1", 1)
    )
    cw, cb = _classifier_torch(sd, "classifier.1")
    sd.reject_unused("torchvision MobileNetV2")
    return SourceModel(
        source_format="torchvision",
        source_path=path,
        source_arch="torchvision mobilenet_v2",
        layers=layers,
        classifier_weight=cw,
        classifier_bias=cb,
        classifier_src="classifier.1",
        bn_epsilon=1e-5,
        padding="symmetric",
        input_mean=[123.675, 116.28, 103.53],
        input_scale=[1 / 58.395, 1 / 57.12, 1 / 57.375],
        native_resolution=224,
        default_task="imagenet",
        notes=[f"read as {container}"],
    )


# ---------------------------------------------------------------------------
# EfficientNet-Lite (PyTorch ports: EfficientNet-PyTorch style or timm style)
# ---------------------------------------------------------------------------

EFFNET_LITE_BASE = [  # [t, c, n, s, k] of EfficientNet-B0 / Lite0
    [1, 16, 1, 1, 3],
    [6, 24, 2, 2, 3],
    [6, 40, 2, 2, 5],
    [6, 80, 3, 2, 3],
    [6, 112, 3, 1, 5],
    [6, 192, 4, 2, 5],
    [6, 320, 1, 1, 3],
]
# name: (width coefficient, depth coefficient, resolution)
EFFNET_LITE_VARIANTS = {
    "efficientnet_lite0": (1.0, 1.0, 224),
    "efficientnet_lite1": (1.0, 1.1, 240),
    "efficientnet_lite2": (1.1, 1.2, 260),
    "efficientnet_lite3": (1.2, 1.4, 280),
    "efficientnet_lite4": (1.4, 1.8, 300),
}


def effnet_lite_blocks(width: float, depth: float) -> list[list[int]]:
    """The Lite block table: scaled filters, scaled repeats except first and last stage."""
    import math

    def round_filters(c):
        c = c * width
        new = max(8, int(c + 4) // 8 * 8)
        if new < 0.9 * c:
            new += 8
        return int(new)

    rows = []
    last = len(EFFNET_LITE_BASE) - 1
    for i, (t, c, n, s, k) in enumerate(EFFNET_LITE_BASE):
        reps = n if i in (0, last) else int(math.ceil(depth * n))
        rows.append([t, round_filters(c), reps, s, k])
    return rows


def read_effnet_lite(path: str) -> SourceModel:
    raw, container = load_state_dict(path)
    sd = _KeyTracker(raw)
    if any(".se." in k or "_se_" in k or "conv_reduce" in k for k in raw):
        fail("state dict has squeeze-and-excitation layers: a full EfficientNet, not EfficientNet-Lite")
    blocks: list[tuple[int, list[SourceLayer]]] = []  # (stage or -1, layers)
    if sd.has("_conv_stem.weight"):
        style = "EfficientNet-PyTorch"
        stem_key, stem_bn, head_key, head_bn, fc = "_conv_stem.weight", "_bn0", "_conv_head.weight", "_bn1", "_fc"
        i = 0
        while sd.has(f"_blocks.{i}._depthwise_conv.weight"):
            p = f"_blocks.{i}"
            bl = []
            if sd.has(f"{p}._expand_conv.weight"):
                bl.append(SourceLayer("expand", i, torch_pointwise(f"{p}._expand_conv.weight", sd.get(f"{p}._expand_conv.weight")),
                                      f"{p}._expand_conv.weight", sd.bn(f"{p}._bn0"), f"{p}._bn0", 1))
            dw = sd.get(f"{p}._depthwise_conv.weight")
            bl.append(SourceLayer("depthwise", i, torch_depthwise(f"{p}._depthwise_conv.weight", dw),
                                  f"{p}._depthwise_conv.weight", sd.bn(f"{p}._bn1"), f"{p}._bn1", int(dw.shape[-1])))
            bl.append(SourceLayer("project", i, torch_pointwise(f"{p}._project_conv.weight", sd.get(f"{p}._project_conv.weight")),
                                  f"{p}._project_conv.weight", sd.bn(f"{p}._bn2"), f"{p}._bn2", 1))
            blocks.append((-1, bl))
            i += 1
    elif sd.has("conv_stem.weight"):
        style = "timm"
        stem_key, stem_bn, head_key, head_bn, fc = "conv_stem.weight", "bn1", "conv_head.weight", "bn2", "classifier"
        s = 0
        n = 0
        while sd.has(f"blocks.{s}.0.conv_dw.weight"):
            r = 0
            while sd.has(f"blocks.{s}.{r}.conv_dw.weight"):
                p = f"blocks.{s}.{r}"
                bl = []
                if sd.has(f"{p}.conv_pwl.weight"):  # inverted residual
                    bl.append(SourceLayer("expand", n, torch_pointwise(f"{p}.conv_pw.weight", sd.get(f"{p}.conv_pw.weight")),
                                          f"{p}.conv_pw.weight", sd.bn(f"{p}.bn1"), f"{p}.bn1", 1))
                    dw_bn, pj_key, pj_bn = f"{p}.bn2", f"{p}.conv_pwl.weight", f"{p}.bn3"
                else:  # depthwise separable (expand ratio 1)
                    dw_bn, pj_key, pj_bn = f"{p}.bn1", f"{p}.conv_pw.weight", f"{p}.bn2"
                dw = sd.get(f"{p}.conv_dw.weight")
                bl.append(SourceLayer("depthwise", n, torch_depthwise(f"{p}.conv_dw.weight", dw),
                                      f"{p}.conv_dw.weight", sd.bn(dw_bn), dw_bn, int(dw.shape[-1])))
                bl.append(SourceLayer("project", n, torch_pointwise(pj_key, sd.get(pj_key)), pj_key,
                                      sd.bn(pj_bn), pj_bn, 1))
                blocks.append((s, bl))
                r += 1
                n += 1
            s += 1
    else:
        sample = ", ".join(list(raw)[:3])
        fail(f"not an EfficientNet-Lite state dict (no _conv_stem.weight or conv_stem.weight; keys start {sample})")
    if not blocks:
        fail("EfficientNet-Lite state dict has no blocks")

    stem_w = sd.get(stem_key)
    layers = [SourceLayer("stem", None, torch_stem(stem_key, stem_w), stem_key, sd.bn(stem_bn), stem_bn, int(stem_w.shape[-1]))]
    # Derive the [t, c, n, s, k] table from the shapes. A stage starts where the
    # channel count changes (timm: where the stage index changes); strides come
    # from the EfficientNet stage layout, which weights cannot tell.
    rows: list[list[int]] = []
    channels = layers[0].weight.shape[-1]
    prev_stage = None
    for stage, bl in blocks:
        expand = bl[0] if bl[0].kind == "expand" else None
        dw, pj = bl[-2], bl[-1]
        hidden = dw.weight.shape[-1]
        cin = expand.weight.shape[0] if expand else hidden
        cout = pj.weight.shape[1]
        if cin != channels:
            fail(f"{(expand or dw).weight_src}: block input has {cin} channels, previous output has {channels}")
        if hidden % cin:
            fail(f"{dw.weight_src}: {hidden} hidden channels is not a multiple of {cin} input channels")
        t, k = hidden // cin, dw.kernel
        if expand is None and t != 1:
            fail(f"{dw.weight_src}: block without expand convolution changes the channel count")
        if stage >= 0:
            new_stage = stage != prev_stage
        else:
            new_stage = not rows or cin != cout or rows[-1][0] != t or rows[-1][4] != k
        if new_stage:
            rows.append([t, cout, 1, None, k])
        else:
            row = rows[-1]
            if row[0] != t or row[1] != cout or row[4] != k:
                fail(f"{dw.weight_src}: block differs from the rest of its stage (t, c, k = {t}, {cout}, {k})")
            row[2] += 1
        prev_stage = stage
        layers.extend(bl)
        channels = cout
    if len(rows) != len(EFFNET_LITE_BASE):
        fail(f"found {len(rows)} stages of blocks; EfficientNet-Lite has {len(EFFNET_LITE_BASE)}")
    for row, base in zip(rows, EFFNET_LITE_BASE):
        row[3] = base[3]
    head_w = sd.get(head_key)
    layers.append(SourceLayer("head", None, torch_pointwise(head_key, head_w), head_key, sd.bn(head_bn), head_bn, 1))
    cw, cb = _classifier_torch(sd, fc)
    sd.reject_unused(f"EfficientNet-Lite ({style} layout)")

    variant, resolution = None, 224
    for name, (wc, dc, res) in EFFNET_LITE_VARIANTS.items():
        if effnet_lite_blocks(wc, dc) == rows:
            variant, resolution = name, res
            break
    notes = [f"read as {container}, {style} key layout"]
    if variant is None:
        variant = "efficientnet_lite (unknown variant)"
        notes.append("block table matches no EfficientNet-Lite0..4; native resolution assumed 224")
    return SourceModel(
        source_format="effnet-lite",
        source_path=path,
        source_arch=variant,
        layers=layers,
        classifier_weight=cw,
        classifier_bias=cb,
        classifier_src=fc,
        bn_epsilon=1e-3,
        padding="same_upper",
        input_mean=[127.0, 127.0, 127.0],
        input_scale=[1 / 128, 1 / 128, 1 / 128],
        native_resolution=resolution,
        default_task="imagenet",
        width=1.0,
        blocks=rows,
        notes=notes,
    )


# ---------------------------------------------------------------------------
# Keras MobileNetV2 (.h5, Keras 2 or Keras 3 legacy HDF5)
# ---------------------------------------------------------------------------

KERAS_BN_VARS = {"gamma": "gamma", "beta": "beta", "mean": "moving_mean", "var": "moving_variance"}
KERAS_ALLOWED_LAYERS = {
    "InputLayer", "Functional", "Model", "Sequential", "Conv2D", "DepthwiseConv2D",
    "BatchNormalization", "ReLU", "ZeroPadding2D", "Add", "GlobalAveragePooling2D",
    "Dropout", "Dense", "Activation", "Softmax",
}


def keras_names(n_blocks: int = 17):
    """(kind, block, conv layer, bn layer) for MobileNetV2 as keras.applications names it."""
    names = [("stem", None, "Conv1", "bn_Conv1")]
    names.append(("depthwise", 0, "expanded_conv_depthwise", "expanded_conv_depthwise_BN"))
    names.append(("project", 0, "expanded_conv_project", "expanded_conv_project_BN"))
    for b in range(1, n_blocks):
        for kind in ("expand", "depthwise", "project"):
            names.append((kind, b, f"block_{b}_{kind}", f"block_{b}_{kind}_BN"))
    names.append(("head", None, "Conv_1", "Conv_1_bn"))
    return names


def _keras_config_layers(cfg):
    """Flattened (class_name, name, config) of every layer, nested models included."""
    out = []

    def walk(node):
        conf = node.get("config", {}) if isinstance(node, dict) else {}
        layers = conf.get("layers") if isinstance(conf, dict) else None
        if isinstance(layers, list):
            for layer in layers:
                if not isinstance(layer, dict):
                    continue
                lconf = layer.get("config", {})
                name = layer.get("name") or (lconf.get("name") if isinstance(lconf, dict) else None)
                out.append((layer.get("class_name"), name, lconf if isinstance(lconf, dict) else {}))
                walk(layer)

    walk(cfg)
    return out


def _attr_str(v):
    if isinstance(v, bytes):
        return v.decode("utf-8")
    if isinstance(v, np.ndarray) and v.shape == ():
        return _attr_str(v[()])
    return v if isinstance(v, str) else None


def read_keras_h5(path: str) -> SourceModel:
    try:
        import h5py
    except ImportError:
        fail("h5py is not installed (python3 -m pip install -r tools/requirements.txt)")
    if sniff(path) != "hdf5":
        fail("not an HDF5 file (a Keras .h5 model starts with the HDF5 signature)")
    try:
        f = h5py.File(path, "r")
    except Exception as e:
        fail(f"cannot open the HDF5 file ({str(e).splitlines()[0]})")
    with f:
        cfg = None
        text = _attr_str(f.attrs.get("model_config"))
        if text:
            try:
                cfg = json.loads(text)
            except ValueError:
                fail("model_config attribute is not valid JSON")
        root = f["model_weights"] if "model_weights" in f else f
        weights: dict[tuple[str, str], tuple[str, object]] = {}

        def visit(name, obj):
            if not isinstance(obj, h5py.Dataset):
                return
            if root is f and name.split("/")[0] == "optimizer_weights":
                return
            parts = name.split("/")
            if len(parts) < 2:
                return
            key = (parts[-2], parts[-1].split(":")[0])
            if key in weights:
                fail(f"weight {key[0]}/{key[1]} appears twice ({weights[key][0]}, {name})")
            weights[key] = (name, obj)

        try:
            root.visititems(visit)
        except InputError:
            raise
        except Exception as e:
            fail(f"cannot read the HDF5 file ({str(e).splitlines()[0]})")

        def get(layer, var, required=True):
            entry = weights.get((layer, var))
            if entry is None:
                if required:
                    fail(f"missing weight {layer}/{var}")
                return None
            try:
                return entry[1][()]
            except Exception as e:
                fail(f"cannot read weight {layer}/{var} ({str(e).splitlines()[0]})")

        if ("Conv1", "kernel") not in weights:
            fail("no Keras MobileNetV2 weights (no Conv1/kernel layer; Keras 3 .weights.h5 and .keras files are not supported)")

        # Block count: expanded_conv plus block_1 .. block_N.
        n_blocks = 1
        while (f"block_{n_blocks}_project", "kernel") in weights:
            n_blocks += 1
        used_layers = set()
        layers = []
        for kind, block, conv, bn in keras_names(n_blocks):
            var = "kernel"
            if kind == "depthwise" and (conv, "kernel") not in weights:
                var = "depthwise_kernel"  # tf.keras 2 names it so; Keras 3 says kernel
            kernel = get(conv, var)
            conv_name = f"{conv}/{var}"
            if kind == "stem":
                wgt = keras_stem(conv_name, kernel)
            elif kind == "depthwise":
                wgt = keras_depthwise(conv_name, kernel)
            else:
                wgt = keras_pointwise(conv_name, kernel)
            bn_vals = {k: get(bn, v) for k, v in KERAS_BN_VARS.items()}
            layers.append(SourceLayer(kind, block, wgt, conv_name, bn_params(bn, bn_vals), bn, int(wgt.shape[0])))
            used_layers.update((conv, bn))
        if (("expanded_conv_expand", "kernel")) in weights:
            fail("unexpected layer expanded_conv_expand: MobileNetV2's first block has no expand convolution")

        # The classifier: the one other layer with a 2-D kernel.
        others = sorted({layer for layer, _ in weights} - used_layers)
        dense = [layer for layer in others if getattr(weights.get((layer, "kernel"), (None, None))[1], "ndim", 0) == 2]
        if len(dense) != 1:
            what = "no Dense classifier" if not dense else f"{len(dense)} Dense layers ({', '.join(dense)})"
            fail(f"expected exactly one Dense classifier after MobileNetV2, found {what}")
        extra = [layer for layer in others if layer not in dense]
        if extra:
            fail(f"unexpected layer(s) with weights: {', '.join(extra[:5])}")
        kernel = as_float(f"{dense[0]}/kernel", get(dense[0], "kernel"))
        bias = get(dense[0], "bias", required=False)
        notes = []
        if bias is None:
            bias = np.zeros(kernel.shape[1], np.float32)
            notes.append("Dense layer has no bias: zeros written")
        bias = as_float(f"{dense[0]}/bias", bias)
        if bias.ndim != 1 or bias.shape[0] != kernel.shape[1]:
            fail(f"{dense[0]}: kernel {_shape(kernel)} and bias {_shape(bias)} do not match")
        cw = np.ascontiguousarray(kernel.T)
        extra_weights = sorted(f"{layer}/{var}" for layer, var in weights if layer in used_layers
                               and var not in ("kernel", "depthwise_kernel", *KERAS_BN_VARS.values()))
        if extra_weights:
            fail(f"unexpected weight(s): {', '.join(extra_weights[:5])} (convolutions must have no bias)")

        # What the config says: BN epsilon, input size, layer types, padding.
        epsilon, resolution, alpha = None, None, None
        if cfg is not None:
            entries = _keras_config_layers(cfg)
            bn_names = {bn for *_, bn in keras_names(n_blocks)}
            eps = set()
            for cls, name, conf in entries:
                if cls not in KERAS_ALLOWED_LAYERS:
                    fail(f"unsupported Keras layer {name} ({cls}): PatchRT runs plain MobileNetV2 + pooling + Dense")
                if cls == "BatchNormalization" and name in bn_names and "epsilon" in conf:
                    eps.add(float(conf["epsilon"]))
                if cls == "ReLU" and conf.get("max_value") not in (6, 6.0, None):
                    fail(f"Keras layer {name}: ReLU max_value {conf.get('max_value')}, PatchRT uses ReLU6")
                if cls == "ZeroPadding2D":
                    pad = conf.get("padding")
                    if pad not in ([[0, 1], [0, 1]], [[1, 1], [1, 1]]):
                        fail(f"Keras layer {name}: padding {pad} is not TensorFlow SAME padding")
                if cls in ("Conv2D", "DepthwiseConv2D") and conf.get("padding") not in ("same", "valid"):
                    fail(f"Keras layer {name}: padding {conf.get('padding')!r}")
                if cls in ("Functional", "Model") and name:
                    m = re.fullmatch(r"mobilenetv2_(\d+(?:\.\d+)?)_(\d+)", name)
                    if m:
                        alpha, resolution = float(m.group(1)), int(m.group(2))
                if cls == "InputLayer" and resolution is None:
                    shape = conf.get("batch_shape") or conf.get("batch_input_shape")
                    if isinstance(shape, list) and len(shape) == 4 and shape[1] and shape[1] == shape[2]:
                        resolution = int(shape[1])
            if len(eps) > 1:
                fail(f"BatchNorm layers use different epsilons {sorted(eps)}; PatchRT needs one")
            if eps:
                epsilon = eps.pop()
        if epsilon is None:
            epsilon = 1e-3
            notes.append("no BatchNorm epsilon in the model config: assumed the Keras default 1e-3")
        if resolution is None:
            resolution = 224
            notes.append("input size not in the model config: native resolution assumed 224")
    arch = f"keras mobilenetv2_{alpha:.2f}_{resolution}" if alpha else "keras mobilenet_v2"
    return SourceModel(
        source_format="keras-h5",
        source_path=path,
        source_arch=arch,
        layers=layers,
        classifier_weight=cw,
        classifier_bias=bias,
        classifier_src=dense[0],
        bn_epsilon=epsilon,
        padding="same_upper",
        input_mean=[127.5, 127.5, 127.5],
        input_scale=[1 / 127.5, 1 / 127.5, 1 / 127.5],
        native_resolution=resolution,
        default_task=re.sub(r"[^A-Za-z0-9_.-]+", "_", os.path.splitext(os.path.basename(path))[0]) or "keras",
        preferred_width=alpha,
        notes=notes,
    )


# ---------------------------------------------------------------------------
# Labels: text, JSON, or a pickled (joblib) scikit-learn LabelEncoder
# ---------------------------------------------------------------------------


class _NumpyArrayWrapper(_Opaque):
    """joblib.numpy_pickle.NumpyArrayWrapper: the array's bytes follow in the stream."""


class _LabelUnpickler(pickle._Unpickler):  # the Python implementation, for BUILD
    ALLOWED = {
        ("numpy", "ndarray"), ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
        ("builtins", "list"), ("builtins", "tuple"), ("builtins", "dict"), ("builtins", "set"),
        ("collections", "OrderedDict"),
    }

    def __init__(self, f):
        super().__init__(f)
        self._fh = f

    def find_class(self, module, name):
        if module in ("numpy.core.multiarray", "numpy._core.multiarray") and (module, name) in self.ALLOWED:
            try:  # numpy 2 moved numpy.core to numpy._core (the old name warns)
                from numpy._core import multiarray
            except ImportError:
                from numpy.core import multiarray
            return getattr(multiarray, name)
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        if module.startswith("joblib") and name == "NumpyArrayWrapper":
            return _NumpyArrayWrapper
        return _opaque(module, name)  # scikit-learn and anything else: inert

    def load_build(self):
        super().load_build()
        top = self.stack[-1]
        if isinstance(top, _NumpyArrayWrapper):
            self.stack[-1] = self._read_joblib_array(top)

    dispatch = dict(pickle._Unpickler.dispatch)
    dispatch[pickle.BUILD[0]] = load_build

    def _read_joblib_array(self, w):
        dtype = getattr(w, "dtype", None)
        shape = tuple(getattr(w, "shape", ()))
        if not isinstance(dtype, np.dtype):
            fail("joblib array without a dtype")
        if dtype.hasobject:
            return _LabelUnpickler(self._fh).load()
        if getattr(w, "numpy_array_alignment_bytes", None) is not None:
            pad = self.read(1)
            if len(pad) != 1:
                fail("label file is truncated")
            if pad[0]:
                self.read(pad[0])
        count = int(np.prod(shape)) if shape else 1
        data = self.read(count * dtype.itemsize)
        if len(data) != count * dtype.itemsize:
            fail("label file is truncated")
        a = np.frombuffer(data, dtype=dtype, count=count)
        if getattr(w, "order", "C") == "F":
            return a.reshape(shape[::-1]).T
        return a.reshape(shape)


def _decompress(raw: bytes) -> bytes:
    try:
        if raw[:2] == b"\x1f\x8b":
            return gzip.decompress(raw)
        if raw[:3] == b"BZh":
            return bz2.decompress(raw)
        if raw[:6] == b"\xfd7zXZ\x00" or raw[:3] == b"\x5d\x00\x00":
            return lzma.decompress(raw)
        if raw[:2] in (b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda"):
            return zlib.decompress(raw)
    except Exception as e:
        fail(f"compressed label file cannot be decompressed ({e})")
    return raw


def load_labels(path: str) -> list[str]:
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        fail(f"cannot read labels {path}: {e.strerror}")
    raw = _decompress(raw)
    if raw[:1] == b"\x80":
        try:
            obj = _LabelUnpickler(io.BytesIO(raw)).load()
        except InputError as e:
            fail(f"labels {path}: {e}")
        except Exception as e:
            fail(f"labels {path}: not a readable pickle ({type(e).__name__}: {e})")
        classes = getattr(obj, "classes_", obj)
        if isinstance(classes, np.ndarray):
            classes = classes.tolist()
        if not isinstance(classes, (list, tuple)) or not classes:
            fail(f"labels {path}: pickle holds no classes_ list")
        return [c.decode() if isinstance(c, bytes) else str(c) for c in classes]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        fail(f"labels {path}: neither a pickle nor UTF-8 text")
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except ValueError as e:
            fail(f"labels {path}: invalid JSON ({e})")
        if not isinstance(items, list) or not all(isinstance(s, str) for s in items):
            fail(f"labels {path}: JSON must be a list of strings")
        return items
    return [line.strip() for line in text.splitlines() if line.strip()]


# ---------------------------------------------------------------------------
# Checking against the layer table, and writing
# ---------------------------------------------------------------------------


def fmt_float(v: float) -> str:
    return repr(float(v))


def match_table(model: SourceModel, width: float, blocks) -> tuple[int, str] | None:
    """None when the source layers are exactly the table's; else (how many
    layers matched, the first difference)."""
    table, features = layer_table(width, blocks)
    for i, (spec, src) in enumerate(zip(table, model.layers)):
        if (spec.kind, spec.block) != (src.kind, src.block):
            return i, f"{src.weight_src} is a {src.kind} layer where the table has {spec.prefix}"
        if tuple(src.weight.shape) != spec.weight_shape:
            return i, (f"{src.weight_src}: shape {_shape(src.weight)} in PatchRT layout, "
                       f"expected {list(spec.weight_shape)} for {spec.prefix}")
        if src.bn["gamma"].shape[0] != spec.cout:
            return i, f"{src.bn_src}: {src.bn['gamma'].shape[0]} BatchNorm channels, expected {spec.cout}"
        if spec.kind == "depthwise" and src.kernel != spec.kernel:
            return i, f"{src.weight_src}: kernel {src.kernel}, expected {spec.kernel}"
    if len(table) != len(model.layers):
        n = min(len(table), len(model.layers))
        return n, f"{len(model.layers)} convolution layers, the table has {len(table)}"
    if model.classifier_weight.shape[1] != features:
        return len(table), (f"{model.classifier_src}: classifier takes {model.classifier_weight.shape[1]} "
                            f"features, the head has {features}")
    return None


def resolve_architecture(model: SourceModel) -> tuple[float, list[list[int]], list[LayerSpec]]:
    if model.width is not None:
        problem = match_table(model, model.width, model.blocks)
        if problem:
            fail(f"unexpected shapes: {problem[1]}")
        return model.width, model.blocks, layer_table(model.width, model.blocks)[0]
    candidates = list(CANDIDATE_WIDTHS)
    if model.preferred_width is not None and model.preferred_width not in candidates:
        candidates.insert(0, model.preferred_width)
    elif model.preferred_width is not None:
        candidates.remove(model.preferred_width)
        candidates.insert(0, model.preferred_width)
    best = None
    for w in candidates:
        problem = match_table(model, w, MOBILENET_V2_BLOCKS)
        if problem is None:
            return w, MOBILENET_V2_BLOCKS, layer_table(w, MOBILENET_V2_BLOCKS)[0]
        if best is None or problem[0] > best[0]:
            best = (problem[0], f"closest is width {w}: {problem[1]}")
    fail(f"unexpected shapes: not MobileNetV2 at any width {candidates} ({best[1]})")


def _store(a: np.ndarray, dtype: str, name: str) -> np.ndarray:
    if dtype == "f16":
        h = a.astype(np.float16)
        if not np.all(np.isfinite(h)):
            fail(f"{name}: a value exceeds the f16 range (max 65504); use --dtype f32")
        return np.ascontiguousarray(h)
    return np.ascontiguousarray(a.astype(np.float32))


def bn_tensors(model: SourceModel, table: list[LayerSpec]) -> dict[str, np.ndarray]:
    # BatchNorm parameters stay F32 whatever --dtype says: they are tiny, and
    # f16 would not keep the source values exactly.
    out = {}
    for spec, src in zip(table, model.layers):
        for k in BN_FIELDS:
            out[f"{spec.prefix}.bn.{k}"] = np.ascontiguousarray(src.bn[k], dtype=np.float32)
    return out


def write_safetensors(path: str, tensors: dict[str, np.ndarray], metadata: dict[str, str]):
    from safetensors.numpy import save

    for k, v in metadata.items():
        assert isinstance(v, str), k
    data = save(tensors, metadata=metadata)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:  # plain open(): the file mode follows the umask
        f.write(data)
    os.replace(tmp, path)


def backbone_identity(path: str) -> str:
    """docs/formats.md section 3.6, over the file as written (own parser)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    data = memoryview(raw)[8 + n :]
    h = hashlib.sha256()
    for name in sorted((k for k in header if k != "__metadata__"), key=lambda s: s.encode("utf-8")):
        t = header[name]
        begin, end = t["data_offsets"]
        h.update(name.encode("utf-8") + b"\0")
        h.update(t["dtype"].encode("ascii") + b"\0")
        h.update(struct.pack("<Q", len(t["shape"])))
        for d in t["shape"]:
            h.update(struct.pack("<Q", d))
        h.update(struct.pack("<Q", end - begin))
        h.update(data[begin:end])
    return h.hexdigest()


def file_sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def parameter_count(table: list[LayerSpec], classes: int, features: int) -> int:
    conv = sum(int(np.prod(s.weight_shape)) for s in table)
    bn = sum(s.cout for s in table)
    return conv + 2 * bn + classes * features + classes


def convert(model: SourceModel, out_dir: str, dtype: str, task: str | None,
            labels: list[str] | None, labels_src: str | None, resolution: int | None):
    width, blocks, table = resolve_architecture(model)
    classes, features = model.classifier_weight.shape
    if not 1 <= classes <= 1_000_000:
        fail(f"classifier has {classes} classes; PatchRT accepts 1..1000000")
    if labels is not None and len(labels) != classes:
        fail(f"{labels_src}: {len(labels)} labels for {classes} classes")
    res = resolution or model.native_resolution
    if not 8 <= res <= 4096:
        fail(f"native resolution {res} is outside 8..4096")
    task = task or model.default_task

    backbone = {}
    for spec, src in zip(table, model.layers):
        backbone[f"{spec.prefix}.conv.weight"] = _store(src.weight, dtype, src.weight_src)
    bn = bn_tensors(model, table)
    backbone.update(bn)
    cls_w = _store(model.classifier_weight, dtype, model.classifier_src)
    cls_b = _store(model.classifier_bias, dtype, model.classifier_src)
    backbone["classifier.weight"] = cls_w
    backbone["classifier.bias"] = cls_b

    source_sha = file_sha256(model.source_path)
    meta = {
        "format": "patchrt.backbone",
        "format_version": "1",
        "arch": "mobilenet_v2",
        "width": fmt_float(width),
        "classes": str(classes),
        "bn_epsilon": fmt_float(model.bn_epsilon),
        "padding": model.padding,
        "input_mean": json.dumps([float(v) for v in model.input_mean]),
        "input_scale": json.dumps([float(v) for v in model.input_scale]),
        "native_resolution": str(res),
        "task": task,
        "blocks": json.dumps(blocks, separators=(",", ":")),
        # Informative keys (ignored by the runtime):
        "source_format": model.source_format,
        "source_arch": model.source_arch,
        "source_file": os.path.basename(model.source_path),
        "source_sha256": source_sha,
        "importer": "tools/import_model.py",
    }
    if labels is not None:
        meta["labels"] = json.dumps(labels, ensure_ascii=False)

    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as e:
        raise OSError(f"cannot create {out_dir}: {e.strerror}") from e
    bb_path = os.path.join(out_dir, "backbone.safetensors")
    write_safetensors(bb_path, backbone, meta)
    identity = backbone_identity(bb_path)

    patch = dict(bn)
    patch["classifier.weight"] = cls_w
    patch["classifier.bias"] = cls_b
    pmeta = {
        "format": "patchrt.patch",
        "format_version": "1",
        "patch_id": f"{task}@{res}",
        "backbone_sha256": identity,
        "task": task,
        "resolution": str(res),
        "kind": "scale_bias+classifier",
        "bn_epsilon": fmt_float(model.bn_epsilon),
        "source_format": model.source_format,
        "source_sha256": source_sha,
    }
    if labels is not None:
        pmeta["labels"] = json.dumps(labels, ensure_ascii=False)
    patch_path = os.path.join(out_dir, "patch.safetensors")
    write_safetensors(patch_path, patch, pmeta)
    return {
        "width": width,
        "classes": classes,
        "features": features,
        "params": parameter_count(table, classes, features),
        "backbone": bb_path,
        "patch": patch_path,
        "identity": identity,
        "task": task,
        "resolution": res,
        "layers": len(table),
        "blocks": blocks,
    }


READERS = {
    "keras-h5": read_keras_h5,
    "torchvision": read_torchvision,
    "effnet-lite": read_effnet_lite,
}


def _size(n: int) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="import_model.py",
        description="Convert MobileNetV2-family weights into PatchRT backbone and patch files.",
    )
    ap.add_argument("--format", required=True, choices=sorted(READERS))
    ap.add_argument("--input", required=True, help="source weights file")
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--labels", help="class names: one per line, a JSON list, or a pickled LabelEncoder")
    ap.add_argument("--dtype", choices=["f32", "f16"], default="f32",
                    help="storage of conv weights and classifier (BatchNorm stays f32)")
    ap.add_argument("--task", help="task name (default: imagenet for PyTorch sources, the file name for Keras)")
    ap.add_argument("--resolution", type=int, help="override the native resolution")
    ap.add_argument("--debug", action="store_true", help="show tracebacks")
    args = ap.parse_args(argv)
    started = time.perf_counter()

    def error(msg, code):
        print(f"import_model: error: {msg}", file=sys.stderr)
        return code

    try:
        if not os.path.exists(args.input):
            fail(f"{args.input}: no such file")
        if not os.path.isfile(args.input):
            fail(f"{args.input}: not a regular file")
        if args.task is not None and not 1 <= len(f"{args.task}@0".encode()) <= 128:
            fail("--task is empty or too long")
        try:
            model = READERS[args.format](args.input)
        except InputError as e:
            raise InputError(f"{args.input}: {e}") from None
        except Exception as e:
            if args.debug:
                raise
            detail = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise InputError(f"{args.input}: not a readable {args.format} file ({detail})") from None
        labels, labels_src = None, None
        if args.labels:
            labels, labels_src = load_labels(args.labels), args.labels
        elif args.format == "keras-h5":
            guess = os.path.join(os.path.dirname(os.path.abspath(args.input)), "label_encoder.pkl")
            if os.path.exists(guess):
                labels, labels_src = load_labels(guess), guess
        if labels is not None and any(not s for s in labels):
            fail(f"{labels_src}: empty label")
        summary = convert(model, args.out, args.dtype, args.task, labels, labels_src, args.resolution)
    except InputError as e:
        if args.debug:
            raise
        return error(str(e), EXIT_BAD_INPUT)
    except OSError as e:
        if args.debug:
            raise
        return error(f"writing {args.out}: {e}", EXIT_OUTPUT)

    elapsed = time.perf_counter() - started
    bb_size = os.path.getsize(summary["backbone"])
    p_size = os.path.getsize(summary["patch"])
    notes = "; ".join(model.notes)
    print(
        f"imported {args.format} {os.path.basename(args.input)} ({model.source_arch}): "
        f"arch=mobilenet_v2 width={fmt_float(summary['width'])} classes={summary['classes']} "
        f"res={summary['resolution']} task={summary['task']} layers={summary['layers']} "
        f"params={summary['params']:,} dtype={args.dtype} "
        f"labels={'yes' if labels is not None else 'none'} "
        f"backbone={_size(bb_size)} patch={_size(p_size)} "
        f"backbone_sha256={summary['identity']} time={elapsed:.2f}s"
        + (f" [{notes}]" if notes else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

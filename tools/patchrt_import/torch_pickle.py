"""A PyTorch state dict from a file, without torch: zip checkpoints (torch >= 1.6),
legacy checkpoints and .safetensors, as name -> numpy array."""

from __future__ import annotations

import collections
import io
import pickle
import struct
import zipfile
from dataclasses import dataclass

import numpy as np

from .errors import InputError, fail
from .opaque import opaque_class
from .sniff import sniff

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
        return opaque_class(module, name)

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

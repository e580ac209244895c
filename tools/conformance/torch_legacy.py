"""Read a PyTorch state dict saved in the LEGACY (pre-zip, torch < 1.6) format
without importing torch.

Layout of such a file (all pickles use protocol 2):

1. pickle: the magic number 0x1950a86a20f9469cfc6c
2. pickle: the protocol version (1001)
3. pickle: sys info (endianness, type sizes)
4. pickle: the object itself; every storage is a persistent id
   ('storage', StorageType, key, location, numel, view_metadata)
   and every tensor is torch._utils._rebuild_tensor_v2(storage, offset, size,
   stride, requires_grad, backward_hooks)
5. pickle: the list of storage keys, in the order their data follows
6. for each key: u64 little-endian element count, then the raw elements.

Only what a state dict needs is accepted; any other global in the pickle is an
error, so nothing in the file gets executed.
"""

import collections
import pickle
import struct

import numpy as np

MAGIC = 0x1950A86A20F9469CFC6C
PROTOCOL = 1001

STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class _StorageType:
    def __init__(self, name):
        self.name = name
        self.dtype = np.dtype(STORAGE_DTYPES[name])


class _Storage:
    def __init__(self, dtype, numel):
        self.dtype = dtype
        self.numel = numel
        self.data = None  # filled after the main pickle


class _LazyTensor:
    def __init__(self, storage, offset, size, stride):
        self.storage = storage
        self.offset = offset
        self.size = tuple(size)
        self.stride = tuple(stride)

    def materialise(self):
        base = self.storage.data
        if not self.size:
            return np.array(base[self.offset], dtype=base.dtype)
        item = base.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(
            base[self.offset:],
            shape=self.size,
            strides=tuple(s * item for s in self.stride),
            writeable=False,
        )
        return np.ascontiguousarray(view)


def _rebuild_tensor_v2(storage, offset, size, stride, *_rest):
    return _LazyTensor(storage, offset, size, stride)


def _rebuild_tensor(storage, offset, size, stride):
    return _LazyTensor(storage, offset, size, stride)


class _Unpickler(pickle.Unpickler):
    def __init__(self, f, storages):
        super().__init__(f, encoding="utf-8")
        self.storages = storages

    def find_class(self, module, name):
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor_v2
        if module == "torch._utils" and name == "_rebuild_tensor":
            return _rebuild_tensor
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(name)
        raise pickle.UnpicklingError(f"refusing global {module}.{name}")

    def persistent_load(self, pid):
        kind, stype, key, _location, numel, view_meta = pid
        if kind != "storage":
            raise pickle.UnpicklingError(f"unknown persistent id {kind!r}")
        if view_meta is not None:
            raise pickle.UnpicklingError("storage views are not supported")
        if key not in self.storages:
            self.storages[key] = _Storage(stype.dtype, numel)
        return self.storages[key]


def _load_plain(f):
    return pickle.Unpickler(f, encoding="utf-8").load()


def load_legacy_state_dict(path):
    """Return an ordered {name: float32/int numpy array} from a legacy .pth."""
    storages = {}
    with open(path, "rb") as f:
        if _load_plain(f) != MAGIC:
            raise ValueError(f"{path}: not a legacy torch file (bad magic)")
        if _load_plain(f) != PROTOCOL:
            raise ValueError(f"{path}: unexpected protocol version")
        sys_info = _load_plain(f)
        if not sys_info.get("little_endian", False):
            raise ValueError(f"{path}: big-endian files are not supported")
        obj = _Unpickler(f, storages).load()
        keys = _load_plain(f)
        for key in keys:
            (numel,) = struct.unpack("<Q", f.read(8))
            st = storages[key]
            if numel != st.numel:
                raise ValueError(f"storage {key}: {numel} elements, pickle said {st.numel}")
            raw = f.read(numel * st.dtype.itemsize)
            if len(raw) != numel * st.dtype.itemsize:
                raise ValueError(f"storage {key}: truncated")
            st.data = np.frombuffer(raw, dtype=st.dtype.newbyteorder("<"))
        if f.read(1):
            raise ValueError(f"{path}: trailing bytes after the last storage")
    if "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    out = collections.OrderedDict()
    for name, t in obj.items():
        if isinstance(t, _LazyTensor):
            out[name] = t.materialise()
        else:
            raise ValueError(f"{name}: not a tensor ({type(t).__name__})")
    return out

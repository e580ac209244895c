"""Class names: text, JSON, or a pickled (joblib) scikit-learn LabelEncoder."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import pickle
import zlib

import numpy as np

from .errors import InputError, fail
from .opaque import Opaque, opaque_class


class _NumpyArrayWrapper(Opaque):
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
        return opaque_class(module, name)  # scikit-learn and anything else: inert

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

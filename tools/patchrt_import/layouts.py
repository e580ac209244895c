"""Layout conversions (docs/formats.md section 9), each checking its input shape."""

from __future__ import annotations

import numpy as np

from .errors import fail
from .model import BN_FIELDS


def shape_str(a) -> str:
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
        fail(f"{name}: unexpected shape {shape_str(a)} for the stem (Keras [k, k, 3, out])")
    return np.ascontiguousarray(a)


def keras_depthwise(name, a):
    a = as_float(name, a)
    if a.ndim != 4 or a.shape[3] != 1 or a.shape[0] != a.shape[1]:
        fail(f"{name}: unexpected shape {shape_str(a)} for a depthwise kernel (Keras [k, k, c, 1])")
    return np.ascontiguousarray(a[:, :, :, 0])


def keras_pointwise(name, a):
    a = as_float(name, a)
    if a.ndim != 4 or a.shape[0] != 1 or a.shape[1] != 1:
        fail(f"{name}: unexpected shape {shape_str(a)} for a 1x1 convolution (Keras [1, 1, in, out])")
    return np.ascontiguousarray(a[0, 0])


def torch_stem(name, a):
    a = as_float(name, a)
    if a.ndim != 4 or a.shape[1] != 3 or a.shape[2] != a.shape[3]:
        fail(f"{name}: unexpected shape {shape_str(a)} for the stem (PyTorch [out, 3, k, k])")
    return np.ascontiguousarray(a.transpose(2, 3, 1, 0))


def torch_depthwise(name, a):
    a = as_float(name, a)
    if a.ndim != 4 or a.shape[1] != 1 or a.shape[2] != a.shape[3]:
        fail(f"{name}: unexpected shape {shape_str(a)} for a depthwise kernel (PyTorch [c, 1, k, k])")
    return np.ascontiguousarray(a[:, 0].transpose(1, 2, 0))


def torch_pointwise(name, a):
    a = as_float(name, a)
    if a.ndim != 4 or a.shape[2] != 1 or a.shape[3] != 1:
        fail(f"{name}: unexpected shape {shape_str(a)} for a 1x1 convolution (PyTorch [out, in, 1, 1])")
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
            fail(f"{src}: BatchNorm {k} has shape {shape_str(a)}, expected a vector")
        out[k] = np.ascontiguousarray(a)
    n = {a.shape[0] for a in out.values()}
    if len(n) != 1:
        fail(f"{src}: BatchNorm vectors differ in length {sorted(n)}")
    if np.any(out["var"] < 0):
        fail(f"{src}: BatchNorm variance has negative values")
    return out

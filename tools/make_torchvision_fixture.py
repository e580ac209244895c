#!/usr/bin/env python3
"""Write a random MobileNetV2 state dict in torchvision's exact layout.

    python3 tools/make_torchvision_fixture.py --out DIR [--width 1.0] [--seed N] [--classes 1000]

creates DIR/mobilenet_v2_random.safetensors and DIR/mobilenet_v2_random.pth
(PyTorch's zip checkpoint format, written without torch), holding the same
tensors. No torchvision weights are reachable from this project's machines,
so this stands in for `torchvision.models.mobilenet_v2(...).state_dict()`
when exercising tools/import_model.py --format torchvision.

The .pth follows what torch.save (zip serialization, pickle protocol 2)
writes: a zip of uncompressed records `archive/data.pkl`,
`archive/byteorder`, `archive/data/<key>` (one raw little-endian storage per
tensor, 64-byte aligned) and `archive/version`; data.pkl is an OrderedDict of
`torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False,
OrderedDict())` whose storages are persistent ids
`('storage', torch.FloatStorage, key, 'cpu', numel)`. Its pickle names only
globals that torch.load's weights-only unpickler allows.
"""

from __future__ import annotations

import argparse
import collections
import os
import struct
import sys
import zipfile
from dataclasses import dataclass

import numpy as np

MOBILENET_V2_BLOCKS = [
    [1, 16, 1, 1],
    [6, 24, 2, 2],
    [6, 32, 3, 2],
    [6, 64, 4, 2],
    [6, 96, 3, 1],
    [6, 160, 3, 2],
    [6, 320, 1, 1],
]


def _make_divisible(v: float, divisor: int = 8) -> int:
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new < 0.9 * v:
        new += divisor
    return new


def random_state_dict(width: float = 1.0, seed: int = 0, classes: int = 1000) -> dict:
    """torchvision.models.MobileNetV2(width_mult=width).state_dict() keys and shapes, random values."""
    rng = np.random.default_rng(seed)
    sd: dict[str, np.ndarray] = collections.OrderedDict()

    def conv(key, shape):
        # He (Kaiming) normal over the fan-in of one output channel
        # ([out, in/groups, k, k]), which keeps activations near unit scale.
        fan_in = shape[1] * shape[2] * shape[3]
        sd[key] = (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)

    def bn(prefix, c):
        sd[prefix + ".weight"] = rng.uniform(0.5, 1.5, c).astype(np.float32)
        sd[prefix + ".bias"] = (rng.standard_normal(c) * 0.05).astype(np.float32)
        sd[prefix + ".running_mean"] = (rng.standard_normal(c) * 0.1).astype(np.float32)
        sd[prefix + ".running_var"] = rng.uniform(0.5, 2.0, c).astype(np.float32)
        sd[prefix + ".num_batches_tracked"] = np.array(1000, dtype=np.int64)

    cin = _make_divisible(32 * width)
    last = _make_divisible(1280 * max(1.0, width))
    conv("features.0.0.weight", (cin, 3, 3, 3))
    bn("features.0.1", cin)
    i = 1
    for t, c, n, s in MOBILENET_V2_BLOCKS:
        cout = _make_divisible(c * width)
        for _ in range(n):
            hidden = cin * t
            p = f"features.{i}.conv"
            j = 0
            if t != 1:
                conv(f"{p}.0.0.weight", (hidden, cin, 1, 1))
                bn(f"{p}.0.1", hidden)
                j = 1
            conv(f"{p}.{j}.0.weight", (hidden, 1, 3, 3))
            bn(f"{p}.{j}.1", hidden)
            conv(f"{p}.{j + 1}.weight", (cout, hidden, 1, 1))
            bn(f"{p}.{j + 2}", cout)
            cin = cout
            i += 1
    conv(f"features.{i}.0.weight", (last, cin, 1, 1))
    bn(f"features.{i}.1", last)
    sd["classifier.1.weight"] = (rng.standard_normal((classes, last)) * 0.01).astype(np.float32)
    sd["classifier.1.bias"] = np.zeros(classes, dtype=np.float32)
    return sd


# ---------------------------------------------------------------------------
# A protocol-2 pickle of a state dict, opcode by opcode (what pickle.dump
# would emit if torch were importable; torch's classes are only named).
# ---------------------------------------------------------------------------

STORAGE_CLASSES = {
    np.dtype("float32"): "FloatStorage",
    np.dtype("float64"): "DoubleStorage",
    np.dtype("float16"): "HalfStorage",
    np.dtype("int64"): "LongStorage",
    np.dtype("int32"): "IntStorage",
    np.dtype("int16"): "ShortStorage",
    np.dtype("int8"): "CharStorage",
    np.dtype("uint8"): "ByteStorage",
    np.dtype("bool"): "BoolStorage",
}


class _PickleEmitter:
    def __init__(self):
        self.out = bytearray(b"\x80\x02")  # PROTO 2
        self.memo: dict = {}

    def _put(self, key=None):
        n = len(self.memo)
        self.memo[key if key is not None else ("anon", n)] = n
        self.out += b"q" + bytes([n]) if n < 256 else b"r" + struct.pack("<I", n)

    def _get(self, key) -> bool:
        n = self.memo.get(key)
        if n is None:
            return False
        self.out += b"h" + bytes([n]) if n < 256 else b"j" + struct.pack("<I", n)
        return True

    def global_(self, module, name):
        if not self._get(("global", module, name)):
            self.out += b"c" + f"{module}\n{name}\n".encode("ascii")
            self._put(("global", module, name))

    def str_(self, s, memo_by_value=False):
        if memo_by_value and self._get(("str", s)):
            return
        data = s.encode("utf-8")
        self.out += b"X" + struct.pack("<I", len(data)) + data
        self._put(("str", s) if memo_by_value else None)

    def int_(self, v):
        if 0 <= v < 256:
            self.out += b"K" + bytes([v])
        elif 0 <= v < 65536:
            self.out += b"M" + struct.pack("<H", v)
        elif -(2**31) <= v < 2**31:
            self.out += b"J" + struct.pack("<i", v)
        else:
            data = v.to_bytes((v.bit_length() + 8) // 8, "little", signed=True)
            self.out += b"\x8a" + bytes([len(data)]) + data

    def int_tuple(self, values):
        values = list(values)
        if not values:
            self.out += b")"  # EMPTY_TUPLE, not memoized
            return
        if len(values) > 3:
            self.out += b"("
        for v in values:
            self.int_(v)
        self.out += {1: b"\x85", 2: b"\x86", 3: b"\x87"}.get(len(values), b"t")
        self._put()

    def ordered_dict_empty(self):
        self.global_("collections", "OrderedDict")
        self.out += b")R"  # EMPTY_TUPLE, REDUCE
        self._put()

    def tensor(self, ref: "TensorRef", legacy: bool = False):
        self.global_("torch._utils", "_rebuild_tensor_v2")
        self.out += b"("  # MARK: the args tuple
        # persistent id ('storage', torch.<X>Storage, key, 'cpu', numel), and
        # in the legacy format a sixth element, the view metadata (None).
        self.out += b"("
        self.str_("storage", memo_by_value=True)
        self.global_("torch", STORAGE_CLASSES[np.dtype(ref.dtype)])
        self.str_(ref.key, memo_by_value=True)
        self.str_("cpu", memo_by_value=True)
        self.int_(ref.numel)
        if legacy:
            self.out += b"N"
        self.out += b"t"
        self._put()
        self.out += b"Q"  # BINPERSID
        self.int_(ref.offset)
        self.int_tuple(ref.size)
        self.int_tuple(ref.stride)
        self.out += b"\x89"  # NEWFALSE: requires_grad
        self.ordered_dict_empty()  # backward hooks
        self.out += b"t"
        self._put()
        self.out += b"R"  # REDUCE
        self._put()

    def state_dict(self, refs: dict, legacy: bool = False) -> bytes:
        self.ordered_dict_empty()
        items = list(refs.items())
        for start in range(0, len(items), 1000):  # pickle's batch size
            batch = items[start : start + 1000]
            if len(batch) > 1:
                self.out += b"("
            for name, ref in batch:
                self.str_(name)
                self.tensor(ref, legacy)
            self.out += b"u" if len(batch) > 1 else b"s"
        self.out += b"."
        return bytes(self.out)


@dataclass
class TensorRef:
    """A tensor as torch pickles it: a view (offset, size, stride in elements) of a storage."""

    key: str
    dtype: np.dtype
    numel: int  # elements in the storage
    offset: int
    size: tuple
    stride: tuple


def state_dict_pickle(refs: dict, legacy: bool = False) -> bytes:
    """The pickle of an OrderedDict name -> tensor, storages by persistent id."""
    return _PickleEmitter().state_dict(refs, legacy)


def contiguous_refs(sd: dict) -> tuple[dict, dict]:
    """One storage per tensor, keys "0", "1", ...: (name -> TensorRef, key -> bytes)."""
    refs, storages = collections.OrderedDict(), {}
    for i, (name, arr) in enumerate(sd.items()):
        arr = np.ascontiguousarray(arr, dtype=np.dtype(arr.dtype).newbyteorder("<"))
        key = str(i)
        stride, acc = [], 1
        for d in reversed(arr.shape):
            stride.insert(0, acc)
            acc *= d
        refs[name] = TensorRef(key, arr.dtype, int(arr.size), 0, tuple(arr.shape), tuple(stride))
        storages[key] = arr.tobytes()
    return refs, storages


def write_torch_zip(path: str, sd: dict, archive: str = "archive"):
    """torch.save(sd, path) as the zip format would write it."""
    refs, storages = contiguous_refs(sd)
    records = [("data.pkl", state_dict_pickle(refs)), ("byteorder", b"little")]
    records += [(f"data/{key}", data) for key, data in storages.items()]
    records.append(("version", b"3\n"))
    tmp = path + ".tmp"
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, data in records:
            info = zipfile.ZipInfo(f"{archive}/{name}", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            info.create_system = 0
            # Align the record's data to 64 bytes with an 'FB' extra field,
            # as PyTorch's writer does.
            header = 30 + len(info.filename.encode("utf-8"))
            offset = zf.fp.tell() + header
            pad = (-(offset + 4)) % 64
            info.extra = b"FB" + struct.pack("<H", pad) + b"Z" * pad
            zf.writestr(info, data)
    os.replace(tmp, path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--width", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--classes", type=int, default=1000)
    args = ap.parse_args(argv)
    from safetensors.numpy import save

    sd = random_state_dict(args.width, args.seed, args.classes)
    os.makedirs(args.out, exist_ok=True)
    st_path = os.path.join(args.out, "mobilenet_v2_random.safetensors")
    pth_path = os.path.join(args.out, "mobilenet_v2_random.pth")
    with open(st_path + ".tmp", "wb") as f:
        f.write(save(dict(sd), metadata={"format": "pt"}))
    os.replace(st_path + ".tmp", st_path)
    write_torch_zip(pth_path, sd)
    n = sum(int(v.size) for k, v in sd.items() if not k.endswith("num_batches_tracked"))
    print(f"wrote {st_path} and {pth_path}: width {args.width}, seed {args.seed}, "
          f"{len(sd)} tensors, {n:,} values")
    return 0


if __name__ == "__main__":
    sys.exit(main())

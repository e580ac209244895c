"""Writing a source as PatchRT files (docs/formats.md): the backbone, its identity, the patch."""

from __future__ import annotations

import hashlib
import json
import os
import struct

import numpy as np

from .arch import LayerSpec, parameter_count, resolve_architecture
from .errors import fail
from .model import BN_FIELDS, SourceModel


def fmt_float(v: float) -> str:
    return repr(float(v))


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

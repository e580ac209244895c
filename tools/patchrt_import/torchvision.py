"""Reader for torchvision's MobileNetV2 state dict."""

from __future__ import annotations

from .errors import fail
from .layouts import torch_depthwise, torch_pointwise, torch_stem
from .model import SourceLayer, SourceModel
from .state_dict import KeyTracker, torch_classifier
from .torch_pickle import load_state_dict


def read_torchvision(path: str) -> SourceModel:
    raw, container = load_state_dict(path)
    if "features.0.0.weight" not in raw:
        sample = ", ".join(list(raw)[:3])
        fail(
            f"not a torchvision MobileNetV2 state dict (no features.0.0.weight; keys start {sample})"
        )
    sd = KeyTracker(raw)
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
    cw, cb = torch_classifier(sd, "classifier.1")
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

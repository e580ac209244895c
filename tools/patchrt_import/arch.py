"""The layer table: a port of runtime/src/model/arch.rs (Architecture::mobilenet_v2),
EfficientNet-Lite's block tables, and matching a source's layers against them."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import fail
from .layouts import shape_str
from .model import SourceModel

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


# EfficientNet-Lite: MobileNetV2's structure with its own block table.

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


def match_table(model: SourceModel, width: float, blocks) -> tuple[int, str] | None:
    """None when the source layers are exactly the table's; else (how many
    layers matched, the first difference)."""
    table, features = layer_table(width, blocks)
    for i, (spec, src) in enumerate(zip(table, model.layers)):
        if (spec.kind, spec.block) != (src.kind, src.block):
            return i, f"{src.weight_src} is a {src.kind} layer where the table has {spec.prefix}"
        if tuple(src.weight.shape) != spec.weight_shape:
            return i, (f"{src.weight_src}: shape {shape_str(src.weight)} in PatchRT layout, "
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


def parameter_count(table: list[LayerSpec], classes: int, features: int) -> int:
    conv = sum(int(np.prod(s.weight_shape)) for s in table)
    bn = sum(s.cout for s in table)
    return conv + 2 * bn + classes * features + classes

"""What every reader produces: the source's layers in PatchRT layout, and its conventions."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

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

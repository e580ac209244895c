"""Reading layers out of a loaded PyTorch state dict, key by key."""

from __future__ import annotations

import numpy as np

from .errors import fail
from .layouts import as_float, bn_params, shape_str


class KeyTracker:
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


def torch_classifier(sd: KeyTracker, prefix: str):
    w = as_float(prefix + ".weight", sd.get(prefix + ".weight"))
    b = as_float(prefix + ".bias", sd.get(prefix + ".bias"))
    if w.ndim != 2 or b.ndim != 1 or b.shape[0] != w.shape[0]:
        fail(f"{prefix}: unexpected classifier shapes weight {shape_str(w)}, bias {shape_str(b)}")
    return np.ascontiguousarray(w), np.ascontiguousarray(b)

"""Reader for Keras MobileNetV2 (.h5, Keras 2 or Keras 3 legacy HDF5)."""

from __future__ import annotations

import json
import os
import re

import numpy as np

from .errors import InputError, fail
from .layouts import as_float, bn_params, keras_depthwise, keras_pointwise, keras_stem, shape_str
from .model import SourceLayer, SourceModel
from .sniff import sniff

KERAS_BN_VARS = {"gamma": "gamma", "beta": "beta", "mean": "moving_mean", "var": "moving_variance"}
KERAS_ALLOWED_LAYERS = {
    "InputLayer", "Functional", "Model", "Sequential", "Conv2D", "DepthwiseConv2D",
    "BatchNormalization", "ReLU", "ZeroPadding2D", "Add", "GlobalAveragePooling2D",
    "Dropout", "Dense", "Activation", "Softmax",
}


def keras_names(n_blocks: int = 17):
    """(kind, block, conv layer, bn layer) for MobileNetV2 as keras.applications names it."""
    names = [("stem", None, "Conv1", "bn_Conv1")]
    names.append(("depthwise", 0, "expanded_conv_depthwise", "expanded_conv_depthwise_BN"))
    names.append(("project", 0, "expanded_conv_project", "expanded_conv_project_BN"))
    for b in range(1, n_blocks):
        for kind in ("expand", "depthwise", "project"):
            names.append((kind, b, f"block_{b}_{kind}", f"block_{b}_{kind}_BN"))
    names.append(("head", None, "Conv_1", "Conv_1_bn"))
    return names


def _keras_config_layers(cfg):
    """Flattened (class_name, name, config) of every layer, nested models included."""
    out = []

    def walk(node):
        conf = node.get("config", {}) if isinstance(node, dict) else {}
        layers = conf.get("layers") if isinstance(conf, dict) else None
        if isinstance(layers, list):
            for layer in layers:
                if not isinstance(layer, dict):
                    continue
                lconf = layer.get("config", {})
                name = layer.get("name") or (lconf.get("name") if isinstance(lconf, dict) else None)
                out.append((layer.get("class_name"), name, lconf if isinstance(lconf, dict) else {}))
                walk(layer)

    walk(cfg)
    return out


def _attr_str(v):
    if isinstance(v, bytes):
        return v.decode("utf-8")
    if isinstance(v, np.ndarray) and v.shape == ():
        return _attr_str(v[()])
    return v if isinstance(v, str) else None


def read_keras_h5(path: str) -> SourceModel:
    try:
        import h5py
    except ImportError:
        fail("h5py is not installed (python3 -m pip install -r tools/requirements.txt)")
    if sniff(path) != "hdf5":
        fail("not an HDF5 file (a Keras .h5 model starts with the HDF5 signature)")
    try:
        f = h5py.File(path, "r")
    except Exception as e:
        fail(f"cannot open the HDF5 file ({str(e).splitlines()[0]})")
    with f:
        cfg = None
        text = _attr_str(f.attrs.get("model_config"))
        if text:
            try:
                cfg = json.loads(text)
            except ValueError:
                fail("model_config attribute is not valid JSON")
        root = f["model_weights"] if "model_weights" in f else f
        weights: dict[tuple[str, str], tuple[str, object]] = {}

        def visit(name, obj):
            if not isinstance(obj, h5py.Dataset):
                return
            if root is f and name.split("/")[0] == "optimizer_weights":
                return
            parts = name.split("/")
            if len(parts) < 2:
                return
            key = (parts[-2], parts[-1].split(":")[0])
            if key in weights:
                fail(f"weight {key[0]}/{key[1]} appears twice ({weights[key][0]}, {name})")
            weights[key] = (name, obj)

        try:
            root.visititems(visit)
        except InputError:
            raise
        except Exception as e:
            fail(f"cannot read the HDF5 file ({str(e).splitlines()[0]})")

        def get(layer, var, required=True):
            entry = weights.get((layer, var))
            if entry is None:
                if required:
                    fail(f"missing weight {layer}/{var}")
                return None
            try:
                return entry[1][()]
            except Exception as e:
                fail(f"cannot read weight {layer}/{var} ({str(e).splitlines()[0]})")

        if ("Conv1", "kernel") not in weights:
            fail("no Keras MobileNetV2 weights (no Conv1/kernel layer; Keras 3 .weights.h5 and .keras files are not supported)")

        # Block count: expanded_conv plus block_1 .. block_N.
        n_blocks = 1
        while (f"block_{n_blocks}_project", "kernel") in weights:
            n_blocks += 1
        used_layers = set()
        layers = []
        for kind, block, conv, bn in keras_names(n_blocks):
            var = "kernel"
            if kind == "depthwise" and (conv, "kernel") not in weights:
                var = "depthwise_kernel"  # tf.keras 2 names it so; Keras 3 says kernel
            kernel = get(conv, var)
            conv_name = f"{conv}/{var}"
            if kind == "stem":
                wgt = keras_stem(conv_name, kernel)
            elif kind == "depthwise":
                wgt = keras_depthwise(conv_name, kernel)
            else:
                wgt = keras_pointwise(conv_name, kernel)
            bn_vals = {k: get(bn, v) for k, v in KERAS_BN_VARS.items()}
            layers.append(SourceLayer(kind, block, wgt, conv_name, bn_params(bn, bn_vals), bn, int(wgt.shape[0])))
            used_layers.update((conv, bn))
        if (("expanded_conv_expand", "kernel")) in weights:
            fail("unexpected layer expanded_conv_expand: MobileNetV2's first block has no expand convolution")

        # The classifier: the one other layer with a 2-D kernel.
        others = sorted({layer for layer, _ in weights} - used_layers)
        dense = [layer for layer in others if getattr(weights.get((layer, "kernel"), (None, None))[1], "ndim", 0) == 2]
        if len(dense) != 1:
            what = "no Dense classifier" if not dense else f"{len(dense)} Dense layers ({', '.join(dense)})"
            fail(f"expected exactly one Dense classifier after MobileNetV2, found {what}")
        extra = [layer for layer in others if layer not in dense]
        if extra:
            fail(f"unexpected layer(s) with weights: {', '.join(extra[:5])}")
        kernel = as_float(f"{dense[0]}/kernel", get(dense[0], "kernel"))
        bias = get(dense[0], "bias", required=False)
        notes = []
        if bias is None:
            bias = np.zeros(kernel.shape[1], np.float32)
            notes.append("Dense layer has no bias: zeros written")
        bias = as_float(f"{dense[0]}/bias", bias)
        if bias.ndim != 1 or bias.shape[0] != kernel.shape[1]:
            fail(f"{dense[0]}: kernel {shape_str(kernel)} and bias {shape_str(bias)} do not match")
        cw = np.ascontiguousarray(kernel.T)
        extra_weights = sorted(f"{layer}/{var}" for layer, var in weights if layer in used_layers
                               and var not in ("kernel", "depthwise_kernel", *KERAS_BN_VARS.values()))
        if extra_weights:
            fail(f"unexpected weight(s): {', '.join(extra_weights[:5])} (convolutions must have no bias)")

        # What the config says: BN epsilon, input size, layer types, padding.
        epsilon, resolution, alpha = None, None, None
        if cfg is not None:
            entries = _keras_config_layers(cfg)
            bn_names = {bn for *_, bn in keras_names(n_blocks)}
            eps = set()
            for cls, name, conf in entries:
                if cls not in KERAS_ALLOWED_LAYERS:
                    fail(f"unsupported Keras layer {name} ({cls}): PatchRT runs plain MobileNetV2 + pooling + Dense")
                if cls == "BatchNormalization" and name in bn_names and "epsilon" in conf:
                    eps.add(float(conf["epsilon"]))
                if cls == "ReLU" and conf.get("max_value") not in (6, 6.0, None):
                    fail(f"Keras layer {name}: ReLU max_value {conf.get('max_value')}, PatchRT uses ReLU6")
                if cls == "ZeroPadding2D":
                    pad = conf.get("padding")
                    if pad not in ([[0, 1], [0, 1]], [[1, 1], [1, 1]]):
                        fail(f"Keras layer {name}: padding {pad} is not TensorFlow SAME padding")
                if cls in ("Conv2D", "DepthwiseConv2D") and conf.get("padding") not in ("same", "valid"):
                    fail(f"Keras layer {name}: padding {conf.get('padding')!r}")
                if cls in ("Functional", "Model") and name:
                    m = re.fullmatch(r"mobilenetv2_(\d+(?:\.\d+)?)_(\d+)", name)
                    if m:
                        alpha, resolution = float(m.group(1)), int(m.group(2))
                if cls == "InputLayer" and resolution is None:
                    shape = conf.get("batch_shape") or conf.get("batch_input_shape")
                    if isinstance(shape, list) and len(shape) == 4 and shape[1] and shape[1] == shape[2]:
                        resolution = int(shape[1])
            if len(eps) > 1:
                fail(f"BatchNorm layers use different epsilons {sorted(eps)}; PatchRT needs one")
            if eps:
                epsilon = eps.pop()
        if epsilon is None:
            epsilon = 1e-3
            notes.append("no BatchNorm epsilon in the model config: assumed the Keras default 1e-3")
        if resolution is None:
            resolution = 224
            notes.append("input size not in the model config: native resolution assumed 224")
    arch = f"keras mobilenetv2_{alpha:.2f}_{resolution}" if alpha else "keras mobilenet_v2"
    return SourceModel(
        source_format="keras-h5",
        source_path=path,
        source_arch=arch,
        layers=layers,
        classifier_weight=cw,
        classifier_bias=bias,
        classifier_src=dense[0],
        bn_epsilon=epsilon,
        padding="same_upper",
        input_mean=[127.5, 127.5, 127.5],
        input_scale=[1 / 127.5, 1 / 127.5, 1 / 127.5],
        native_resolution=resolution,
        default_task=re.sub(r"[^A-Za-z0-9_.-]+", "_", os.path.splitext(os.path.basename(path))[0]) or "keras",
        preferred_width=alpha,
        notes=notes,
    )

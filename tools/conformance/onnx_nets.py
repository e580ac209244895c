"""ONNX graphs built with the onnx helper API straight from PyTorch-layout
state-dict tensors (Conv weights OIHW, depthwise as group=C, BatchNormalization
nodes with the source's running statistics: ONNX Runtime does any folding).

Every graph takes one input, "image": float32 NCHW RGB on the 0..255 scale,
and ends in Softmax over the classes. With resize_in_graph the input is the
[1, 3, 224, 224] photo and, when the resolution R is not 224, the first node
is a Resize (linear, half_pixel, no antialias) to [1, 3, R, R]; without it the
input is already [1, 3, R, R]. Then (x - mean) / std, then the network.
"""

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 18
IR_VERSION = 9  # accepted by every onnxruntime with opset 18


class GraphBuilder:
    def __init__(self, input_side=224):
        self.input_side = input_side
        self.nodes = []
        self.inits = []
        self.count = 0
        self.init_names = set()

    def const(self, name, arr):
        if name not in self.init_names:
            self.inits.append(numpy_helper.from_array(np.asarray(arr), name))
            self.init_names.add(name)
        return name

    def op(self, op_type, inputs, **attrs):
        self.count += 1
        out = f"{op_type.lower()}_{self.count}"
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out

    # --- building blocks -------------------------------------------------
    def conv(self, x, w_name, w, stride, padding, group=1):
        """padding: 'same_upper' (ONNX auto_pad SAME_UPPER == TF 'SAME') or an
        int p (symmetric pads p on every side, PyTorch padding=p)."""
        self.const(w_name, w.astype(np.float32))
        k = int(w.shape[2])
        attrs = dict(kernel_shape=[k, k], strides=[stride, stride], group=group)
        if padding == "same_upper":
            attrs["auto_pad"] = "SAME_UPPER"
        else:
            attrs["pads"] = [padding] * 4
        return self.op("Conv", [x, w_name], **attrs)

    def bn(self, x, sd, prefix, eps):
        names = [
            self.const(f"{prefix}.{p}", sd[f"{prefix}.{p}"].astype(np.float32))
            for p in ("weight", "bias", "running_mean", "running_var")
        ]
        return self.op("BatchNormalization", [x] + names, epsilon=float(eps))

    def relu6(self, x):
        lo = self.const("relu6_min", np.array(0.0, np.float32))
        hi = self.const("relu6_max", np.array(6.0, np.float32))
        return self.op("Clip", [x, lo, hi])

    def preprocess(self, x, resolution, mean, std):
        if resolution != self.input_side:
            sizes = self.const(f"resize_sizes_{resolution}", np.array([1, 3, resolution, resolution], np.int64))
            x = self.op(
                "Resize",
                [x, "", "", sizes],
                mode="linear",
                coordinate_transformation_mode="half_pixel",
                antialias=0,
            )
        m = self.const("input_mean", np.array(mean, np.float32).reshape(1, 3, 1, 1))
        s = self.const("input_std", np.array(std, np.float32).reshape(1, 3, 1, 1))
        return self.op("Div", [self.op("Sub", [x, m]), s])

    def classifier(self, x, w, b):
        x = self.op("GlobalAveragePool", [x])
        x = self.op("Flatten", [x], axis=1)
        wn = self.const("fc.weight", w.astype(np.float32))
        bn = self.const("fc.bias", b.astype(np.float32))
        x = self.op("Gemm", [x, wn, bn], transB=1)
        return self.op("Softmax", [x], axis=1)

    def model(self, x_out, classes, name):
        graph = helper.make_graph(
            self.nodes,
            name,
            [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, self.input_side, self.input_side])],
            [helper.make_tensor_value_info(x_out, TensorProto.FLOAT, [1, classes])],
            initializer=self.inits,
        )
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION)
        onnx.checker.check_model(m)
        return m


# --- EfficientNet-Lite0 (lukemelas-style key names: _conv_stem, _blocks.N) ---

EFFNET_LITE0_BLOCKS = [  # t, c, n, s, k
    (1, 16, 1, 1, 3),
    (6, 24, 2, 2, 3),
    (6, 40, 2, 2, 5),
    (6, 80, 3, 2, 3),
    (6, 112, 3, 1, 5),
    (6, 192, 4, 2, 5),
    (6, 320, 1, 1, 3),
]
EFFNET_EPS = 1e-3
EFFNET_MEAN = [127.0, 127.0, 127.0]
EFFNET_STD = [128.0, 128.0, 128.0]


def effnet_lite0(sd, resolution, resize_in_graph=True):
    g = GraphBuilder(224 if resize_in_graph else resolution)
    used = set()

    def w(name):
        used.add(name)
        return sd[name]

    def bn(x, prefix):
        for p in ("weight", "bias", "running_mean", "running_var"):
            used.add(f"{prefix}.{p}")
        return g.bn(x, sd, prefix, EFFNET_EPS)

    x = g.preprocess("image", resolution, EFFNET_MEAN, EFFNET_STD)
    x = g.conv(x, "_conv_stem.weight", w("_conv_stem.weight"), 2, "same_upper")
    x = g.relu6(bn(x, "_bn0"))
    cin = 32
    idx = 0
    for t, c, n, s, k in EFFNET_LITE0_BLOCKS:
        for i in range(n):
            stride = s if i == 0 else 1
            p = f"_blocks.{idx}"
            inp = x
            hidden = cin * t
            if t != 1:
                x = g.conv(x, f"{p}._expand_conv.weight", w(f"{p}._expand_conv.weight"), 1, "same_upper")
                x = g.relu6(bn(x, f"{p}._bn0"))
            dw = w(f"{p}._depthwise_conv.weight")
            assert dw.shape == (hidden, 1, k, k), (p, dw.shape)
            x = g.conv(x, f"{p}._depthwise_conv.weight", dw, stride, "same_upper", group=hidden)
            x = g.relu6(bn(x, f"{p}._bn1"))
            x = g.conv(x, f"{p}._project_conv.weight", w(f"{p}._project_conv.weight"), 1, "same_upper")
            x = bn(x, f"{p}._bn2")
            if stride == 1 and cin == c:
                x = g.op("Add", [x, inp])
            cin = c
            idx += 1
    x = g.conv(x, "_conv_head.weight", w("_conv_head.weight"), 1, "same_upper")
    x = g.relu6(bn(x, "_bn1"))
    x = g.classifier(x, w("_fc.weight"), w("_fc.bias"))
    unused = [k for k in sd if k not in used and not k.endswith("num_batches_tracked")]
    if unused:
        raise ValueError(f"state dict tensors not used by the graph: {unused[:5]}...")
    return g.model(x, sd["_fc.weight"].shape[0], f"effnet_lite0_{resolution}")


# --- torchvision MobileNetV2 ------------------------------------------------

TV_SETTING = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
TV_EPS = 1e-5
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


def torchvision_mobilenet_v2(sd, resolution, resize_in_graph=True, padding="symmetric", eps=TV_EPS, mean=None, std=None):
    """torchvision's MobileNetV2. padding, eps, mean and std default to
    torchvision's; other values let the same topology run a Keras
    MobileNetV2 (same_upper, 1e-3, 127.5) as a check of this builder."""
    g = GraphBuilder(224 if resize_in_graph else resolution)
    used = set()

    def w(name):
        used.add(name)
        return sd[name]

    def bn(x, prefix):
        for p in ("weight", "bias", "running_mean", "running_var"):
            used.add(f"{prefix}.{p}")
        return g.bn(x, sd, prefix, eps)

    def conv(x, name, stride, group=1):
        wt = w(name)
        pad = int(wt.shape[2]) // 2 if padding == "symmetric" else padding
        return g.conv(x, name, wt, stride, pad, group)

    # (x/255 - mean)/std computed as (x - 255*mean) / (255*std)
    if mean is None:
        mean = [255.0 * m for m in IMAGENET_MEAN]
    if std is None:
        std = [255.0 * s for s in IMAGENET_STD]
    x = g.preprocess("image", resolution, mean, std)
    x = g.relu6(bn(conv(x, "features.0.0.weight", 2), "features.0.1"))
    cin = 32
    idx = 1
    for t, c, n, s in TV_SETTING:
        for i in range(n):
            stride = s if i == 0 else 1
            p = f"features.{idx}.conv"
            inp = x
            hidden = cin * t
            if t == 1:
                x = g.relu6(bn(conv(x, f"{p}.0.0.weight", stride, hidden), f"{p}.0.1"))
                x = bn(conv(x, f"{p}.1.weight", 1), f"{p}.2")
            else:
                x = g.relu6(bn(conv(x, f"{p}.0.0.weight", 1), f"{p}.0.1"))
                x = g.relu6(bn(conv(x, f"{p}.1.0.weight", stride, hidden), f"{p}.1.1"))
                x = bn(conv(x, f"{p}.2.weight", 1), f"{p}.3")
            if stride == 1 and cin == c:
                x = g.op("Add", [x, inp])
            cin = c
            idx += 1
    x = g.relu6(bn(conv(x, f"features.{idx}.0.weight", 1), f"features.{idx}.1"))
    x = g.classifier(x, w("classifier.1.weight"), w("classifier.1.bias"))
    unused = [k for k in sd if k not in used and not k.endswith("num_batches_tracked")]
    if unused:
        raise ValueError(f"state dict tensors not used by the graph: {unused[:5]}...")
    return g.model(x, sd["classifier.1.weight"].shape[0], f"torchvision_mobilenet_v2_{resolution}")


def resize_only(resolution):
    """Just the Resize node, for checking it against the formula."""
    g = GraphBuilder()
    sizes = g.const("sizes", np.array([1, 3, resolution, resolution], np.int64))
    y = g.op("Resize", ["image", "", "", sizes], mode="linear", coordinate_transformation_mode="half_pixel", antialias=0)
    graph = helper.make_graph(
        g.nodes,
        "resize",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 224, 224])],
        [helper.make_tensor_value_info(y, TensorProto.FLOAT, [1, 3, resolution, resolution])],
        initializer=g.inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION)

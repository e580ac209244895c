#!/usr/bin/env python3
"""PatchRT side by side with ncnn (Vulkan and CPU), ONNX Runtime and LiteRT on
the same random MobileNetV2 1.0 weights (issue 7, scope item 1).

    benches/peers/run.sh [--runs N] [--json out/peers.json] ...

(run.sh makes the venv, the models and the release patchbench, then runs this
file with the same arguments). Steps:

1. reads the torchvision-layout fixture that tools/fetch_models.sh imported
   into models/torchvision-random (checked by SHA-256) and writes it as one
   ONNX graph per resolution with tools/conformance/onnx_nets.py (input
   normalisation read from the PatchRT backbone's metadata, in the graph);
2. converts the 224 graph to ncnn with the pnnx binary shipped in the pip
   `pnnx` wheel (no torch), once with pnnx's default fp16 weights (timed) and
   once with fp32 weights (checked only);
3. LiteRT: times a .tflite only where a converter made one; none exists here
   without TensorFlow, so LiteRT is reported as not run;
4. checks that every engine gives ONNX Runtime's probabilities on one fixed
   RGB uint8 image per resolution (PatchRT gets the frame already at the
   resolution, so its resize is the identity), in probability and in log
   probability (= logits up to a constant);
5. times every engine interleaved: after warm-up, round r runs each engine
   once at each resolution, engines and resolutions rotated by r; prints the
   median, the p10-p90 spread and PatchRT / peer, and writes JSON.

PatchRT runs in `patchbench peer-worker` (benches/src/peer_worker.rs), one
process fed over a pipe; its times are Engine::classify's own wall clock.
"""

import argparse
import datetime
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools", "conformance"))

import onnx_nets  # noqa: E402

FIXTURE_DIR = os.path.join(ROOT, "models", "downloads", "torchvision-fixture")
MODEL_DIR = os.path.join(ROOT, "models", "torchvision-random")

# Tolerances against ONNX Runtime (float32, the reference), per precision:
# (max |dprob|, max |dlog prob|). The f32 pair is the conformance tests' own
# (tests/src/lib.rs ModelF32 and LogProbF32); f16 is LogProbF16 there, and
# 1e-3 in probability.
TOLERANCE = {"f32": (1e-4, 1e-3), "f16": (1e-3, 0.25)}


def log(msg=""):
    print(msg, flush=True)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def safetensors_metadata(path):
    with open(path, "rb") as f:
        (n,) = np.frombuffer(f.read(8), "<u8")
        return json.loads(f.read(int(n))).get("__metadata__", {})


def version(dist):
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def test_image(side, seed=7):
    """A fixed RGB uint8 image: smooth colour ramps and rings plus noise."""
    rng = np.random.default_rng(seed + side)
    y, x = np.mgrid[0:side, 0:side].astype(np.float64) / side
    r = 128 + 100 * np.sin(6.0 * x + 2.0 * y)
    g = 128 + 100 * np.cos(9.0 * np.hypot(x - 0.4, y - 0.6))
    b = 255 * x * (1 - y)
    img = np.stack([r, g, b], axis=-1) + rng.normal(0, 20, (side, side, 3))
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def stats(samples):
    a = np.asarray(samples, np.float64)
    p10, p50, p90 = np.percentile(a, [10, 50, 90])
    return {"median": float(p50), "p10": float(p10), "p90": float(p90), "min": float(a.min()), "n": len(a)}


# --- engines ----------------------------------------------------------------
# Each engine: name, precision ("f32"/"f16", for the tolerance), timed (bool),
# run(res) -> None (one timed inference on the prepared input), probs(res).


class OrtEngine:
    def __init__(self, onnx_paths, inputs, threads):
        import onnxruntime as ort

        self.name, self.precision, self.timed = "onnxruntime-cpu", "f32", True
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        self.sessions = {
            r: ort.InferenceSession(p, so, providers=["CPUExecutionProvider"]) for r, p in onnx_paths.items()
        }
        self.feeds = {r: {"image": inputs[r]} for r in onnx_paths}

    def run(self, r):
        t = time.perf_counter()
        self.sessions[r].run(None, self.feeds[r])
        return (time.perf_counter() - t) * 1e3, None

    def probs(self, r):
        return self.sessions[r].run(None, self.feeds[r])[0][0]

    def close(self):
        pass


class NcnnEngine:
    def __init__(self, name, param, binary, inputs, vulkan, threads, fp16_opts=True):
        import ncnn

        self.name, self.timed = name, True
        self.precision = "f16" if (fp16_opts or binary.endswith("fp16.bin")) else "f32"
        self.net = ncnn.Net()
        self.net.opt.use_vulkan_compute = vulkan
        self.net.opt.num_threads = threads
        if not fp16_opts:
            self.net.opt.use_fp16_packed = False
            self.net.opt.use_fp16_storage = False
            self.net.opt.use_fp16_arithmetic = False
        self.opt = {
            k: getattr(self.net.opt, k)
            for k in ("use_vulkan_compute", "num_threads", "use_fp16_packed", "use_fp16_storage",
                      "use_fp16_arithmetic", "use_packing_layout", "use_winograd_convolution")
        }
        if self.net.load_param(param) != 0 or self.net.load_model(binary) != 0:
            raise RuntimeError(f"ncnn could not load {param} / {binary}")
        # ncnn.Mat wraps the numpy buffer: keep both alive.
        self.arrays = {r: np.ascontiguousarray(x[0]) for r, x in inputs.items()}
        self.mats = {r: ncnn.Mat(a).clone() for r, a in self.arrays.items()}

    def _infer(self, r):
        with self.net.create_extractor() as ex:
            ex.input("in0", self.mats[r])
            ret, out = ex.extract("out0")
            if ret != 0:
                raise RuntimeError(f"{self.name}: extract returned {ret}")
            return np.array(out).reshape(-1)

    def run(self, r):
        t = time.perf_counter()
        self._infer(r)
        return (time.perf_counter() - t) * 1e3, None

    def probs(self, r):
        return self._infer(r)

    def close(self):
        self.net.clear()


class LiteRtEngine:
    def __init__(self, tflite_paths, inputs, threads):
        from ai_edge_litert.interpreter import Interpreter

        self.name, self.precision, self.timed = "litert-cpu", "f32", True
        self.interps, self.feeds = {}, {}
        for r, p in tflite_paths.items():
            it = Interpreter(model_path=p, num_threads=threads)
            it.allocate_tensors()
            self.interps[r] = it
            self.feeds[r] = np.ascontiguousarray(inputs[r].transpose(0, 2, 3, 1))  # NHWC

    def run(self, r):
        it = self.interps[r]
        t = time.perf_counter()
        it.set_tensor(it.get_input_details()[0]["index"], self.feeds[r])
        it.invoke()
        it.get_tensor(it.get_output_details()[0]["index"])
        return (time.perf_counter() - t) * 1e3, None

    def probs(self, r):
        self.run(r)
        it = self.interps[r]
        return it.get_tensor(it.get_output_details()[0]["index"]).reshape(-1)

    def close(self):
        pass


class PatchRtEngine:
    """`patchbench peer-worker` over a pipe."""

    def __init__(self, exe, backbone, patch, raw_paths, adapter, f16, resolutions, log_path):
        self.name = "patchrt" + ("-f16" if f16 else "")
        self.precision, self.timed = ("f16" if f16 else "f32"), True
        self.raw = raw_paths
        cmd = [exe, "peer-worker", "--backbone", backbone,
               "--resolutions", ",".join(str(r) for r in resolutions)]
        if patch:
            cmd += ["--patch", patch]
        if adapter:
            cmd += ["--adapter", adapter]
        if f16:
            cmd += ["--f16"]
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
                                     text=True, bufsize=1)
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"patchbench peer-worker exited at start-up: see {log_path}")
        self.info = json.loads(line)
        self.round_trip_ms = []
        self.overhead_ms = []  # pipe round trip minus Engine::classify

    def _ask(self, cmd):
        t = time.perf_counter()
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        self.round_trip_ms.append((time.perf_counter() - t) * 1e3)
        if not line:
            raise RuntimeError(f"patchbench peer-worker died: see {self.log.name}")
        ans = json.loads(line)
        if not ans.get("ok"):
            raise RuntimeError(f"patchbench peer-worker: {ans.get('error')}")
        return ans

    def run(self, r):
        ans = self._ask(f"run {r} {self.raw[r]}")
        self.overhead_ms.append(self.round_trip_ms[-1] - ans["ms"])
        return ans["ms"], ans.get("gpu_ms")

    def probs(self, r):
        return np.asarray(self._ask(f"probs {r} {self.raw[r]}")["probs"], np.float32)

    def close(self):
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
        self.log.close()


# --- model preparation --------------------------------------------------------


def load_fixture():
    """The fixture's tensors, and the PatchRT backbone's metadata, checked to
    come from the same file."""
    from safetensors.numpy import load_file

    backbone = os.path.join(MODEL_DIR, "backbone.safetensors")
    meta = safetensors_metadata(backbone)
    pth = os.path.join(FIXTURE_DIR, "mobilenet_v2_random.pth")
    st = os.path.join(FIXTURE_DIR, "mobilenet_v2_random.safetensors")
    got = sha256_file(pth)
    if meta.get("source_sha256") != got:
        raise SystemExit(
            f"{backbone} was imported from a file with SHA-256 {meta.get('source_sha256')}, but {pth} has {got}: "
            "rerun tools/fetch_models.sh"
        )
    # The .safetensors is written by the same run, from the same tensors.
    return load_file(st), meta, {"fixture": st, "fixture_sha256": sha256_file(st), "pth_sha256": got,
                                 "backbone_source_sha256": meta["source_sha256"]}


def build_onnx(sd, meta, resolutions, work):
    import onnx

    mean = json.loads(meta["input_mean"])
    scale = json.loads(meta["input_scale"])
    std = [1.0 / s for s in scale]
    padding = meta["padding"]
    if padding not in ("symmetric", "same_upper"):
        raise SystemExit(f"unexpected padding {padding!r} in the backbone metadata")
    paths = {}
    for r in resolutions:
        model = onnx_nets.torchvision_mobilenet_v2(
            sd, r, resize_in_graph=False, padding=padding, eps=float(meta["bn_epsilon"]), mean=mean, std=std
        )
        paths[r] = os.path.join(work, f"mobilenet_v2_{r}.onnx")
        onnx.save(model, paths[r])
    return paths, {"input_mean": mean, "input_std": std, "padding": padding, "bn_epsilon": float(meta["bn_epsilon"])}


def pnnx_exe():
    spec = importlib.util.find_spec("pnnx")  # not imported: its __init__ imports torch
    if spec is None or not spec.submodule_search_locations:
        return None
    exe = os.path.join(spec.submodule_search_locations[0], "pnnx")
    return exe if os.access(exe, os.X_OK) else None


def convert_ncnn(onnx_path, side, work):
    """ONNX -> ncnn with the pnnx wheel's binary, fp16 (pnnx's default) and
    fp32 weights. Returns ({"fp16": (param, bin), "fp32": ...}, report)."""
    exe = pnnx_exe()
    report = {"converter": f"pnnx {version('pnnx')} (binary from the pip wheel: {exe})", "attempts": []}
    if exe is None:
        report["error"] = "the pnnx wheel's binary was not found"
        return None, report
    out = {}
    for tag, fp16 in (("fp16", 1), ("fp32", 0)):
        stem = os.path.join(work, f"mobilenet_v2.{tag}")
        args = [exe, onnx_path, f"inputshape=[1,3,{side},{side}]", f"fp16={fp16}",
                f"ncnnparam={stem}.param", f"ncnnbin={stem}.bin", f"ncnnpy={stem}_ncnn.py",
                f"pnnxparam={stem}.pnnx.param", f"pnnxbin={stem}.pnnx.bin", f"pnnxpy={stem}_pnnx.py",
                f"pnnxonnx={stem}.pnnx.onnx"]
        p = subprocess.run(args, cwd=work, capture_output=True, text=True)
        with open(stem + ".pnnx.log", "w") as f:
            f.write(p.stdout + p.stderr)
        attempt = {"command": " ".join(args), "rc": p.returncode, "log": stem + ".pnnx.log"}
        report["attempts"].append(attempt)
        if p.returncode != 0 or not os.path.exists(stem + ".param"):
            report["error"] = f"pnnx failed (rc {p.returncode}): {(p.stdout + p.stderr)[-2000:]}"
            return None, report
        out[tag] = (stem + ".param", stem + ".bin")
    with open(out["fp16"][0]) as f:
        layers = [line.split()[0] for line in f.read().splitlines()[2:] if line.strip()]
    report["ncnn_layers"] = {k: layers.count(k) for k in sorted(set(layers))}
    return out, report


TFLITE_NOTE = (
    "no .tflite, so LiteRT is not timed: no ONNX-to-TFLite converter runs without TensorFlow (onnx2tf and "
    "tf.lite.TFLiteConverter need it; litert-torch needs torch). Not tried: the pip litert-converter (0.5.0) has a "
    "Python TFL-dialect builder (litert_converter.tools.model_utils) that could write the graph op by op, as "
    "onnx.helper does for ONNX"
)


def find_tflite(work, resolutions):
    """A .tflite per resolution, only if something converted one into WORK
    (mobilenet_v2_<R>.tflite). Nothing in this harness makes one."""
    paths = {r: os.path.join(work, f"mobilenet_v2_{r}.tflite") for r in resolutions}
    return paths if all(os.path.exists(p) for p in paths.values()) else None


# --- main ---------------------------------------------------------------------


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=20, help="timed rounds (>= 20 for results)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed rounds first")
    ap.add_argument("--resolutions", default="224,160,96")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="CPU threads for ncnn, ORT, LiteRT")
    ap.add_argument("--json", default=os.path.join(ROOT, "out", "peers.json"))
    ap.add_argument("--work", default=os.path.join(ROOT, "out", "peers"), help="models, inputs, logs")
    ap.add_argument("--patchbench", default=os.path.join(ROOT, "target", "release", "patchbench"))
    ap.add_argument("--adapter", help="PatchRT adapter name filter")
    ap.add_argument("--patchrt-f16", action="store_true", help="also run PatchRT with f16 weights")
    ap.add_argument("--skip", default="", help="comma-separated engines to leave out of the check and the timing (e.g. ncnn-cpu)")
    args = ap.parse_args(argv)
    resolutions = [int(r) for r in args.resolutions.split(",")]
    skip = set(filter(None, args.skip.split(",")))
    os.makedirs(args.work, exist_ok=True)
    started = time.time()
    load_start = os.getloadavg()
    result = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "host": {"machine": platform.machine(), "cpus": os.cpu_count(), "python": platform.python_version(),
                 "loadavg_at_start": load_start},
        "versions": {d: version(d) for d in ("ncnn", "pnnx", "onnx", "onnxruntime", "ai-edge-litert", "numpy")},
        "settings": {"runs": args.runs, "warmup": args.warmup, "resolutions": resolutions, "threads": args.threads},
    }
    log(f"peers harness, {result['date']}, {os.cpu_count()} CPUs, load average {load_start[0]:.2f}")
    log("versions: " + ", ".join(f"{k} {v}" for k, v in result["versions"].items()))

    # 1. the same weights in every format
    sd, meta, fixture = load_fixture()
    result["model"] = {"name": "torchvision-layout MobileNetV2 1.0, random weights (tools/make_torchvision_fixture.py "
                       "--width 1.0 --seed 0), 1000 classes", **fixture}
    onnx_paths, norm = build_onnx(sd, meta, resolutions, args.work)
    result["model"]["onnx"] = {"builder": "tools/conformance/onnx_nets.py torchvision_mobilenet_v2", **norm,
                               "files": onnx_paths}
    log(f"ONNX: {len(onnx_paths)} graphs from {fixture['fixture']} (normalisation from the backbone metadata)")
    ncnn_models, ncnn_report = convert_ncnn(onnx_paths[resolutions[0]], resolutions[0], args.work)
    result["model"]["ncnn"] = ncnn_report
    if ncnn_models is None:
        log(f"ncnn: conversion FAILED: {ncnn_report.get('error')}")
    else:
        log(f"ncnn: converted with {ncnn_report['converter']}; layers {ncnn_report['ncnn_layers']}")
    tflite = find_tflite(args.work, resolutions)
    result["model"]["tflite"] = {"files": tflite} if tflite else {"note": TFLITE_NOTE}
    if not tflite:
        log(f"LiteRT: {TFLITE_NOTE}")

    # 2. the same input
    images = {r: test_image(r) for r in resolutions}
    raw = {}
    for r, img in images.items():
        raw[r] = os.path.join(args.work, f"input_{r}.rgb")
        img.tofile(raw[r])
    inputs = {r: np.ascontiguousarray(img.astype(np.float32).transpose(2, 0, 1)[None]) for r, img in images.items()}

    # 3. engines
    engines = []
    check_only = []
    devices = {}
    engines.append(OrtEngine(onnx_paths, inputs, args.threads))
    if ncnn_models:
        import ncnn

        engines.append(NcnnEngine("ncnn-cpu", *ncnn_models["fp16"], inputs, False, args.threads))
        check_only.append(NcnnEngine("ncnn-cpu-fp32", *ncnn_models["fp32"], inputs, False, args.threads,
                                     fp16_opts=False))
        gpus = ncnn.get_gpu_count()
        names = [ncnn.get_gpu_info(i).device_name() for i in range(gpus)]
        devices["ncnn_vulkan_devices"] = names
        if gpus and "ncnn-vulkan" not in skip:
            idx = ncnn.get_default_gpu_index()
            devices["ncnn_vulkan"] = names[idx]
            engines.append(NcnnEngine("ncnn-vulkan", *ncnn_models["fp16"], inputs, True, args.threads))
        elif not gpus:
            log("ncnn: no Vulkan device: ncnn-vulkan not run")
    if tflite:
        engines.append(LiteRtEngine(tflite, inputs, args.threads))
    backbone = os.path.join(MODEL_DIR, "backbone.safetensors")
    patch = os.path.join(MODEL_DIR, "patch.safetensors")
    prt = PatchRtEngine(args.patchbench, backbone, patch, raw, args.adapter, False, resolutions,
                        os.path.join(args.work, "patchrt-worker.log"))
    engines.append(prt)
    devices["patchrt"] = prt.info["adapter"]
    devices["patchrt_gpu_timestamps"] = prt.info["gpu_timestamps"]
    if args.patchrt_f16:
        engines.append(PatchRtEngine(args.patchbench, backbone, patch, raw, args.adapter, True, resolutions,
                                     os.path.join(args.work, "patchrt-f16-worker.log")))
    engines = [e for e in engines if e.name not in skip]
    result["devices"] = devices
    result["engine_options"] = {e.name: getattr(e, "opt", None) for e in engines + check_only if hasattr(e, "opt")}
    log(f"PatchRT adapter: {prt.info['adapter']['name']} ({prt.info['adapter']['backend']}, "
        f"{prt.info['adapter']['device_type']}; {prt.info['adapter']['driver']})")
    if "ncnn_vulkan" in devices:
        same = devices["ncnn_vulkan"] == prt.info["adapter"]["name"]
        devices["same_device"] = same
        log(f"ncnn Vulkan device: {devices['ncnn_vulkan']}")
        if not same:
            log("WARNING: ncnn's Vulkan device and PatchRT's adapter differ: the GPU comparison is not like for like")
        else:
            log("same device for the GPU comparison: yes")
    if list(prt.info["input_mean"]) and not np.allclose(prt.info["input_mean"], norm["input_mean"], atol=1e-4):
        raise SystemExit(f"PatchRT's input mean {prt.info['input_mean']} differs from the ONNX graph's")

    # 4. same outputs
    log("\ncheck against ONNX Runtime (float32) on one fixed RGB uint8 image per resolution:")
    log(f"  tolerance f32: |dprob| <= {TOLERANCE['f32'][0]:g}, |dlogprob| <= {TOLERANCE['f32'][1]:g}; "
        f"f16: |dprob| <= {TOLERANCE['f16'][0]:g}, |dlogprob| <= {TOLERANCE['f16'][1]:g}")
    ref = {r: engines[0].probs(r) for r in resolutions}
    checks = []
    ok = True
    log("  " + "engine".ljust(16) + "prec".ljust(6) + "res".rjust(5) + "max|dprob|".rjust(12)
        + "max|dlogp|".rjust(12) + "top1".rjust(11) + "  verdict")
    for e in engines[1:] + check_only:
        for r in resolutions:
            p = np.asarray(e.probs(r), np.float64)
            q = ref[r].astype(np.float64)
            dp = float(np.abs(p - q).max())
            dl = float(np.abs(np.log(np.maximum(p, 1e-30)) - np.log(q)).max())
            t1, t1ref = int(p.argmax()), int(q.argmax())
            tp, tl = TOLERANCE[e.precision]
            passed = dp <= tp and dl <= tl and (t1 == t1ref or e.precision == "f16")
            ok &= passed
            checks.append({"engine": e.name, "precision": e.precision, "resolution": r, "max_abs_dprob": dp,
                           "max_abs_dlogprob": dl, "top1": t1, "top1_reference": t1ref, "pass": passed})
            log(f"  {e.name.ljust(16)}{e.precision.ljust(6)}{r:5d}{dp:12.2e}{dl:12.2e}{t1:6d}/{t1ref:<4d}  "
                + ("ok" if passed else "FAIL"))
    result["check"] = {"reference": "onnxruntime-cpu", "tolerance": TOLERANCE, "top1_reference": {
        r: [int(ref[r].argmax()), float(ref[r].max())] for r in resolutions}, "results": checks, "pass": ok}
    for e in check_only:
        e.close()

    # 5. interleaved timing
    timed = [e for e in engines if e.timed]
    pairs = [(e, r) for e in timed for r in resolutions]
    log(f"\ntiming: {args.warmup} warm-up + {args.runs} timed rounds; each round runs every engine once at "
        f"each resolution, order rotated per round ({len(pairs)} inferences a round)")
    samples = {(e.name, r): [] for e, r in pairs}
    gpu = {(e.name, r): [] for e, r in pairs}
    for w in range(args.warmup):
        for e, r in pairs:
            e.run(r)
    t_round = time.time()
    for k in range(args.runs):
        order = timed[k % len(timed):] + timed[:k % len(timed)]
        res_order = resolutions[k % len(resolutions):] + resolutions[:k % len(resolutions)]
        for e in order:
            for r in res_order:
                ms, g = e.run(r)
                samples[(e.name, r)].append(ms)
                if g is not None:
                    gpu[(e.name, r)].append(g)
        if k == 0:
            log(f"  one round takes {time.time() - t_round:.1f} s")
    load_end = os.getloadavg()
    result["host"]["loadavg_at_end"] = load_end

    # 6. table
    timings = []
    for e in timed:
        for r in resolutions:
            s = stats(samples[(e.name, r)])
            rec = {"engine": e.name, "resolution": r, **s, "samples_ms": samples[(e.name, r)]}
            if gpu[(e.name, r)]:
                rec["gpu_ms"] = stats(gpu[(e.name, r)])
            timings.append(rec)
    med = {(t["engine"], t["resolution"]): t["median"] for t in timings}
    for t in timings:
        t["patchrt_over_peer"] = med[(prt.name, t["resolution"])] / t["median"] if t["engine"] != prt.name else None
    result["timings"] = timings
    for e in engines:
        e.close()
    if ncnn_models:
        import ncnn

        ncnn.destroy_gpu_instance()

    log(f"\nmedian of {args.runs} interleaved runs after {args.warmup} warm-up rounds, ms "
        f"(load average {load_start[0]:.2f} at start, {load_end[0]:.2f} at end):")
    head = "  " + "engine".ljust(16) + "res".rjust(5) + "median".rjust(10) + "p10-p90".rjust(19) + "PatchRT/peer".rjust(14)
    log(head)
    for t in timings:
        ratio = "" if t["patchrt_over_peer"] is None else f"{t['patchrt_over_peer']:.2f}"
        spread = f"{t['p10']:.1f}-{t['p90']:.1f}"
        gms = f"   (GPU {t['gpu_ms']['median']:.1f})" if "gpu_ms" in t else ""
        log(f"  {t['engine'].ljust(16)}{t['resolution']:5d}{t['median']:10.1f}{spread:>19}{ratio:>14}{gms}")
    lo, hi = resolutions[0], resolutions[-1]
    if (prt.name, lo) in med and (prt.name, hi) in med:
        result["patchrt_latency_ratio"] = {f"{lo}/{hi}": med[(prt.name, lo)] / med[(prt.name, hi)]}
        log(f"  PatchRT {lo}/{hi} latency ratio: {med[(prt.name, lo)] / med[(prt.name, hi)]:.2f}")
    if prt.overhead_ms:
        over = float(np.median(prt.overhead_ms))
        result["patchrt_pipe_overhead_ms"] = over
        log(f"  (PatchRT times are Engine::classify inside the worker; the pipe adds a median {over:.2f} ms)")
    if "ncnn_vulkan" in devices:
        log(f"  devices: ncnn Vulkan '{devices['ncnn_vulkan']}', PatchRT wgpu '{prt.info['adapter']['name']}'"
            + ("" if devices.get("same_device") else "  (DIFFERENT)"))
    if not tflite:
        log("  LiteRT: not run (no .tflite, see above)")
    result["elapsed_s"] = time.time() - started

    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json + ".tmp", "w") as f:
        json.dump(result, f, indent=1)
    os.replace(args.json + ".tmp", args.json)
    log(f"wrote {args.json}; {'all outputs agree' if ok else 'OUTPUT CHECK FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

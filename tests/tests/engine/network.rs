//! The whole network against the CPU reference.

use patchrt::model::Padding;
use patchrt::{Patch, Resolution, RgbaImage, WeightPrecision, reference};
use patchrt_tests::{
    Tolerance, assert_close, default_backbone_bytes, default_patches, max_abs_diff,
    small_backbone_bytes, small_patches,
};

use super::{engine, image, load, probs, variant};

/// Natural logarithms: differences of log-probabilities are differences of
/// logits (up to one shared constant), so they stay meaningful for classes
/// whose probability is tiny.
fn ln(p: &[f32]) -> Vec<f32> {
    p.iter().map(|v| v.ln()).collect()
}

fn check_all_resolutions(precision: WeightPrecision, tol: Tolerance, log_tol: Tolerance) {
    let Some((ctx, engine)) = engine(default_backbone_bytes(), precision) else {
        return;
    };
    if precision == WeightPrecision::F16 && !ctx.has_f16() {
        eprintln!("SKIPPED: adapter {} has no shader-f16", ctx.report.name);
        return;
    }
    let patches: Vec<Patch> = default_patches()
        .iter()
        .filter(|p| p.task == "objects")
        .cloned()
        .collect();
    load(&engine, &patches);
    let img = image();
    for res in Resolution::STANDARD {
        let c = match engine.classify_task(&img, "objects", res) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        let patch = patches
            .iter()
            .find(|p| p.id == c.patch_id)
            .cloned()
            .unwrap_or_else(|| panic!("patch {}", c.patch_id));
        assert_eq!(
            patch.resolution,
            Some(res.side()),
            "task lookup picked the wrong patch"
        );
        let cpu = reference::forward(engine.backbone(), &patch, &img, res.side());
        eprintln!(
            "{precision:?} {res}: max abs err vs CPU {:.3e} (probabilities), {:.3e} (log-probabilities), top-1 {:.3}",
            max_abs_diff(&c.probabilities, &cpu),
            max_abs_diff(&ln(&c.probabilities), &ln(&cpu)),
            cpu.iter().copied().fold(0.0f32, f32::max),
        );
        assert_close(
            &ln(&c.probabilities),
            &ln(&cpu),
            log_tol,
            &format!("{precision:?} log-probabilities at {res}"),
        );
        assert_close(
            &c.probabilities,
            &cpu,
            tol,
            &format!("{precision:?} network at {res}"),
        );
    }
}

#[test]
fn f32_network_matches_reference_at_every_resolution() {
    check_all_resolutions(
        WeightPrecision::F32,
        Tolerance::ModelF32,
        Tolerance::LogProbF32,
    );
}

#[test]
fn f16_weight_network_matches_reference_at_every_resolution() {
    check_all_resolutions(WeightPrecision::F16, Tolerance::F16, Tolerance::LogProbF16);
}

#[test]
fn depthwise_and_classifier_patches_match_reference() {
    let Some((_, engine)) = engine(small_backbone_bytes(), WeightPrecision::F32) else {
        return;
    };
    load(&engine, small_patches());
    let img = image();
    for (task, res) in [
        ("scenes", 128),
        ("flowers", 160),
        ("scenes", 96),
        ("flowers", 224),
    ] {
        let c = match engine.classify_task(&img, task, Resolution(res)) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        let patch = small_patches()
            .iter()
            .find(|p| p.id == c.patch_id)
            .cloned()
            .unwrap_or_else(|| panic!("no patch"));
        let cpu = reference::forward(engine.backbone(), &patch, &img, res);
        assert_eq!(
            c.probabilities.len(),
            if task == "flowers" { 17 } else { 10 }
        );
        assert_eq!(c.labels.len(), c.probabilities.len());
        assert_close(
            &c.probabilities,
            &cpu,
            Tolerance::ModelF32,
            &format!("{task}@{res}"),
        );
    }
}

#[test]
fn every_width_and_padding_matches_reference() {
    for (width, padding) in [
        (0.75, Padding::Symmetric),
        (0.5, Padding::SameUpper),
        (0.35, Padding::SameUpper),
    ] {
        let bytes = variant(width, padding);
        let Some((_, engine)) = engine(&bytes, WeightPrecision::F32) else {
            return;
        };
        let img = image();
        let default = Patch::default_of(engine.backbone());
        for res in [160, 96] {
            let cpu = reference::forward(engine.backbone(), &default, &img, res);
            assert_close(
                &probs(&engine, &img, res),
                &cpu,
                Tolerance::ModelF32,
                &format!("width {width} {padding:?} at {res}"),
            );
        }
    }
}

#[test]
fn frames_of_any_size_match_reference() {
    let Some((_, engine)) = engine(small_backbone_bytes(), WeightPrecision::F32) else {
        return;
    };
    let default = Patch::default_of(engine.backbone());
    for (w, h) in [(1, 1), (3, 1000), (96, 96), (97, 61)] {
        let pixels = patchrt::model::synthetic::test_image(w, h, 5);
        let img = RgbaImage::new(w, h, &pixels).unwrap_or_else(|e| panic!("{e}"));
        let cpu = reference::forward(engine.backbone(), &default, &img, 96);
        assert_close(
            &probs(&engine, &img, 96),
            &cpu,
            Tolerance::ModelF32,
            &format!("{w}x{h} frame"),
        );
    }
}

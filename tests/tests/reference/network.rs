//! Pooling, classifier and softmax by hand; the whole network on the small
//! synthetic backbone at every standard resolution.

use patchrt::model::Classifier;
use patchrt::model::synthetic::{task_patches, test_image};
use patchrt::reference::pool_head::{classify, global_avg_pool, softmax};
use patchrt::reference::{forward, forward_logits};
use patchrt::{Patch, Resolution, RgbaImage};
use patchrt_tests::{Tolerance, assert_close, max_abs_diff, parse_backbone, small_backbone_bytes};

use super::tensor;

#[test]
fn global_avg_pool_averages_each_channel() {
    let x = tensor(2, 2, 2, vec![1.0, 10.0, 2.0, 0.0, 3.0, 0.0, 4.0, -2.0]);
    assert_close(
        &global_avg_pool(&x),
        &[2.5, 2.0],
        Tolerance::Exact,
        "pooled",
    );
}

#[test]
fn classify_is_weight_rows_dot_features_plus_bias() {
    let c = Classifier {
        weight: vec![1.0, 0.0, 0.0, 0.0, 1.0, 1.0],
        bias: vec![0.5, -1.0],
        labels: Vec::new(),
    };
    assert_eq!(c.classes(), 2);
    assert_close(
        &classify(&[1.0, 2.0, 3.0], &c),
        &[1.5, 4.0],
        Tolerance::Exact,
        "logits",
    );
}

#[test]
fn softmax_sums_to_one_and_ignores_shifts() {
    let p = softmax(&[1.0, 2.0, 3.0]);
    // e^k / (e + e^2 + e^3)
    assert_close(
        &p,
        &[0.090_030_57, 0.244_728_47, 0.665_240_96],
        Tolerance::KernelF32,
        "softmax(1, 2, 3)",
    );
    assert_close(
        &[p.iter().sum::<f32>()],
        &[1.0],
        Tolerance::KernelF32,
        "sum",
    );
    assert_close(
        &softmax(&[1001.0, 1002.0, 1003.0]),
        &p,
        Tolerance::KernelF32,
        "shifted by 1000",
    );
    assert_close(
        &softmax(&[-4.0, -3.0, -2.0]),
        &p,
        Tolerance::KernelF32,
        "shifted by -5",
    );
    // exp(89) overflows f32; the stable form does not.
    let big = softmax(&[89.0, 90.0]);
    assert!(big.iter().all(|v| v.is_finite()), "{big:?}");
    assert_close(
        &big,
        &softmax(&[0.0, 1.0]),
        Tolerance::KernelF32,
        "large logits",
    );
    assert_close(
        &softmax(&[-1000.0, 0.0]),
        &[0.0, 1.0],
        Tolerance::Exact,
        "underflow",
    );
}

#[test]
fn forward_gives_a_distribution_at_every_standard_resolution() {
    let backbone = parse_backbone(small_backbone_bytes());
    let patch = Patch::default_of(&backbone);
    // Not square and not a standard size: every resolution resamples it.
    let pixels = test_image(200, 150, 3);
    let image = match RgbaImage::new(200, 150, &pixels) {
        Ok(i) => i,
        Err(e) => panic!("{e}"),
    };
    let mut all = Vec::new();
    for res in Resolution::STANDARD {
        let p = forward(&backbone, &patch, &image, res.side());
        assert_eq!(p.len(), 10, "at {res}");
        assert!(
            p.iter().all(|v| v.is_finite() && (0.0..=1.0).contains(v)),
            "at {res}: {p:?}"
        );
        assert_close(
            &[p.iter().sum::<f32>()],
            &[1.0],
            Tolerance::ModelF32,
            &format!("sum at {res}"),
        );
        let logits = forward_logits(&backbone, &patch, &image, res.side());
        assert_close(
            &softmax(&logits),
            &p,
            Tolerance::Exact,
            &format!("softmax of logits at {res}"),
        );
        all.push(p);
    }
    // The network sees a different image at each resolution.
    assert!(
        max_abs_diff(&all[0], &all[4]) > 0.0,
        "224 and 96 gave identical probabilities"
    );
    // Deterministic: the same call twice is bitwise equal.
    let again = forward(&backbone, &patch, &image, 96);
    assert_close(&again, &all[4], Tolerance::Exact, "repeat at 96");
}

#[test]
fn forward_uses_the_patch_parts() {
    let backbone = parse_backbone(small_backbone_bytes());
    let default = Patch::default_of(&backbone);
    let patches = task_patches(&backbone, &[Resolution(96)], 1);
    let pixels = test_image(96, 96, 11);
    let image = match RgbaImage::new(96, 96, &pixels) {
        Ok(i) => i,
        Err(e) => panic!("{e}"),
    };
    let base = forward(&backbone, &default, &image, 96);
    for p in &patches {
        let probs = forward(&backbone, p, &image, 96);
        let classes = p.classifier.as_ref().map_or(10, |c| c.bias.len());
        assert_eq!(probs.len(), classes, "{}", p.id);
        assert!(probs.iter().all(|v| v.is_finite()), "{}", p.id);
        assert_close(
            &[probs.iter().sum::<f32>()],
            &[1.0],
            Tolerance::ModelF32,
            &p.id,
        );
        if classes == 10 {
            assert!(
                max_abs_diff(&probs, &base) > 0.0,
                "{} changed nothing",
                p.id
            );
        }
    }
}

//! `pool_head.wgsl` (global average pool, classifier, softmax) against
//! `reference::pool_head`.

use std::sync::Arc;

use patchrt::gpu::transfer::f32_bytes;
use patchrt::model::Classifier;
use patchrt::ops::pool_head::{classifier, pool, softmax};
use patchrt::ops::standalone::KernelInputs;
use patchrt::ops::{BatchParams, Kernel, feature_stride};
use patchrt::reference::pool_head::{classify, global_avg_pool, softmax as reference_softmax};
use patchrt::{GpuContext, WeightPrecision};
use patchrt_tests::{Tolerance, assert_close};

use super::{
    BATCH, Rng, SEED, activations, assert_patch_slices, check_output, f16_or_skip, gpu, run,
    weights,
};

/// Global average pool over an `h x w x c` tensor.
fn check_pool(ctx: &Arc<GpuContext>, h: u32, w: u32, c: u32) {
    let name = format!("global_avg_pool_{h}x{w}x{c}");
    let mut rng = Rng::new(SEED, &name);
    let x = activations(&mut rng, h as usize, w as usize, c as usize);
    let inputs = KernelInputs {
        input: f32_bytes(&x.data),
        output_len: c as usize,
        ..KernelInputs::default()
    };
    let got = run(ctx, WeightPrecision::F32, pool(h, w, c), &inputs, &name);
    assert_close(&got, &global_avg_pool(&x), Tolerance::KernelF32, &name);
}

/// [`BATCH`] patches' tensors pooled in one dispatch; patch b's features
/// land at `b * feature_stride(c)`, the gaps untouched.
fn check_pool_batch(ctx: &Arc<GpuContext>, h: u32, w: u32, c: u32) {
    let name = format!("global_avg_pool_batch_{h}x{w}x{c}");
    let mut rng = Rng::new(SEED, &name);
    let xs: Vec<_> = (0..BATCH)
        .map(|_| activations(&mut rng, h as usize, w as usize, c as usize))
        .collect();
    let input: Vec<f32> = xs.iter().flat_map(|x| x.data.iter().copied()).collect();
    let stride = feature_stride(c) as usize;
    let inputs = KernelInputs {
        input: f32_bytes(&input),
        output_len: BATCH * stride,
        batch: Some(BatchParams {
            patches: BATCH as u32,
            ..BatchParams::SINGLE
        }),
        ..KernelInputs::default()
    };
    let got = run(ctx, WeightPrecision::F32, pool(h, w, c), &inputs, &name);
    assert_patch_slices(&got, stride, |b| global_avg_pool(&xs[b]), &name);
}

#[test]
fn global_avg_pool_batch_of_three() {
    let Some(ctx) = gpu() else { return };
    check_pool_batch(&ctx, 7, 7, 1280);
    check_pool_batch(&ctx, 3, 3, 13);
    check_pool_batch(&ctx, 1, 1, 8);
}

#[test]
fn global_avg_pool_7x7x1280() {
    let Some(ctx) = gpu() else { return };
    check_pool(&ctx, 7, 7, 1280);
}

#[test]
fn global_avg_pool_odd_3x3x13() {
    let Some(ctx) = gpu() else { return };
    check_pool(&ctx, 3, 3, 13);
}

#[test]
fn global_avg_pool_1x1x8() {
    let Some(ctx) = gpu() else { return };
    check_pool(&ctx, 1, 1, 8);
}

#[test]
fn global_avg_pool_multi_workgroup_112x112x32() {
    let Some(ctx) = gpu() else { return };
    check_pool(&ctx, 112, 112, 32);
}

/// `features -> classes` logits.
fn check_classifier(
    ctx: &Arc<GpuContext>,
    features: u32,
    classes: u32,
    precision: WeightPrecision,
) {
    let name = format!("classifier_{features}_to_{classes}_{precision:?}");
    let (f, k) = (features as usize, classes as usize);
    let mut rng = Rng::new(SEED, &name);
    let x = rng.vec(f, 1.0);
    let weight = weights(&mut rng, k * f, f);
    let bias = rng.vec(k, 1.0);
    let inputs = KernelInputs {
        input: f32_bytes(&x),
        classifier_weight: &weight,
        classifier_bias: &bias,
        output_len: k,
        ..KernelInputs::default()
    };
    let got = run(
        ctx,
        precision,
        classifier(features, classes),
        &inputs,
        &name,
    );
    let reference = |weight: &[f32]| {
        classify(
            &x,
            &Classifier {
                weight: weight.to_vec(),
                bias: bias.clone(),
                labels: Vec::new(),
            },
        )
    };
    check_output(&got, precision, &weight, reference, &name);
    let vec4 = classifier(features, classes).kernel == Kernel::ClassifierVec4;
    assert_eq!(vec4, features.is_multiple_of(4), "{name}: entry point");
}

#[test]
fn classifier_f32_every_class_and_feature_count() {
    let Some(ctx) = gpu() else { return };
    // 1280, 8 and 4 features: classifier_vec4 (with 1, 2 or 3 classes in the
    // last group of four); 13: the scalar classifier.
    for features in [1280, 13, 8, 4] {
        for classes in [1000, 17, 1, 2, 3, 257] {
            check_classifier(&ctx, features, classes, WeightPrecision::F32);
        }
    }
}

#[test]
fn classifier_f16_weights() {
    let Some(ctx) = gpu() else { return };
    if !f16_or_skip(&ctx, "classifier_f16_weights") {
        return;
    }
    for (features, classes) in [(1280, 1000), (13, 17), (1280, 1), (13, 257)] {
        check_classifier(&ctx, features, classes, WeightPrecision::F16);
    }
}

/// Softmax over `classes` logits spread over `[-spread, spread]`.
fn check_softmax(ctx: &Arc<GpuContext>, classes: usize, spread: f32) {
    let name = format!("softmax_{classes}_classes_spread_{spread}");
    let mut rng = Rng::new(SEED, &name);
    let logits = rng.vec(classes, spread);
    // Only the length of the bias binding matters: it is the class count.
    let count = vec![0.0; classes];
    let inputs = KernelInputs {
        input: f32_bytes(&logits),
        classifier_bias: &count,
        output_len: classes,
        ..KernelInputs::default()
    };
    let got = run(ctx, WeightPrecision::F32, softmax(), &inputs, &name);
    assert_close(
        &got,
        &reference_softmax(&logits),
        Tolerance::KernelF32,
        &name,
    );
    let sum: f64 = got.iter().map(|&p| f64::from(p)).sum();
    assert!(
        (sum - 1.0).abs() <= 1e-5,
        "{name}: probabilities sum to {sum}"
    );
}

#[test]
fn softmax_1000_classes() {
    let Some(ctx) = gpu() else { return };
    check_softmax(&ctx, 1000, 20.0);
}

#[test]
fn softmax_1_class() {
    let Some(ctx) = gpu() else { return };
    check_softmax(&ctx, 1, 20.0);
}

#[test]
fn softmax_300_classes_more_than_one_pass_of_256() {
    let Some(ctx) = gpu() else { return };
    check_softmax(&ctx, 300, 20.0);
}

#[test]
fn softmax_17_classes() {
    let Some(ctx) = gpu() else { return };
    check_softmax(&ctx, 17, 20.0);
}

#[test]
fn softmax_256_and_257_classes_at_the_workgroup_edge() {
    let Some(ctx) = gpu() else { return };
    check_softmax(&ctx, 256, 20.0);
    check_softmax(&ctx, 257, 20.0);
}

#[test]
fn softmax_large_logits_do_not_overflow() {
    let Some(ctx) = gpu() else { return };
    check_softmax(&ctx, 1000, 100.0);
}

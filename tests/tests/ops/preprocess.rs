//! `preprocess.wgsl` against `reference::preprocess`: bilinear resize of an
//! RGBA8 image of any size to `side x side`, then `(x - mean) * scale`.

use patchrt::model::Normalization;
use patchrt::ops::preprocess::dispatch;
use patchrt::ops::standalone::KernelInputs;
use patchrt::reference::preprocess::preprocess;
use patchrt::{RgbaImage, WeightPrecision};
use patchrt_tests::{Tolerance, assert_close};

use super::{Rng, SEED, gpu, run};

/// Per-channel means and scales that differ per channel, with a negative
/// scale, so that swapped channels or a dropped term show.
const SKEWED: Normalization = Normalization {
    mean: [100.5, 20.25, 200.0],
    scale: [0.02, -0.05, 1.0 / 58.395],
};

/// Resizes a random `width x height` image to `side x side`.
fn check(width: u32, height: u32, side: u32, norm: &Normalization) {
    let Some(ctx) = gpu() else { return };
    let name = format!("preprocess_{width}x{height}_to_{side}");
    let mut rng = Rng::new(SEED, &name);
    // Random alpha too: the kernel must ignore it.
    let bytes = rng.bytes(width as usize * height as usize * 4);
    let image = RgbaImage::new(width, height, &bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    let inputs = KernelInputs {
        input: &bytes,
        output_len: (side * side * 3) as usize,
        ..KernelInputs::default()
    };
    let got = run(
        &ctx,
        WeightPrecision::F32,
        dispatch(width, height, side, norm),
        &inputs,
        &name,
    );
    let expected = preprocess(&image, side as usize, norm);
    assert_close(&got, &expected.data, Tolerance::KernelF32, &name);
}

#[test]
fn preprocess_1x1_upscaled_to_96() {
    check(1, 1, 96, &SKEWED);
}

#[test]
fn preprocess_3x5_upscaled_to_96() {
    check(3, 5, 96, &SKEWED);
}

#[test]
fn preprocess_5x3_upscaled_to_7() {
    check(5, 3, 7, &SKEWED);
}

#[test]
fn preprocess_640x480_downscaled_to_224() {
    check(640, 480, 224, &SKEWED);
}

#[test]
fn preprocess_640x480_downscaled_to_96_imagenet() {
    check(640, 480, 96, &Normalization::IMAGENET);
}

#[test]
fn preprocess_224x224_identity() {
    check(224, 224, 224, &SKEWED);
}

#[test]
fn preprocess_97x301_to_160() {
    check(97, 301, 160, &SKEWED);
}

#[test]
fn preprocess_odd_side_multi_workgroup_113x57_to_129() {
    check(113, 57, 129, &SKEWED);
}

/// At the target size the resize must be the identity: every output is
/// exactly `(pixel - mean) * scale` of the input pixel, bit for bit.
#[test]
fn preprocess_at_target_size_is_exactly_normalisation() {
    let Some(ctx) = gpu() else { return };
    let name = "preprocess_identity_exact";
    let side = 160u32;
    let mut rng = Rng::new(SEED, name);
    let bytes = rng.bytes((side * side * 4) as usize);
    let norm = Normalization::IMAGENET;
    let inputs = KernelInputs {
        input: &bytes,
        output_len: (side * side * 3) as usize,
        ..KernelInputs::default()
    };
    let got = run(
        &ctx,
        WeightPrecision::F32,
        dispatch(side, side, side, &norm),
        &inputs,
        name,
    );
    let expected: Vec<f32> = bytes
        .chunks_exact(4)
        .flat_map(|px| (0..3).map(move |c| (px[c] as f32 - norm.mean[c]) * norm.scale[c]))
        .collect();
    assert_close(&got, &expected, Tolerance::Exact, name);
}

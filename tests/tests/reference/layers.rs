//! Padding, dense and depthwise convolution, pointwise, BatchNorm and ReLU6.

use patchrt::model::{LayerNorm, Padding};
use patchrt::reference::batch_norm::{batch_norm, relu6};
use patchrt::reference::depthwise::depthwise;
use patchrt::reference::pad_before;
use patchrt::reference::pointwise::{pointwise, residual_add};
use patchrt::reference::stem_conv::conv2d;
use patchrt_tests::{Tolerance, assert_close};

use super::{channel, tensor};

/// How many taps of a 3x3 window land inside a 5x5 image, per output pixel.
#[rustfmt::skip]
const TAPS_5X5: [f32; 25] = [
    4.0, 6.0, 6.0, 6.0, 4.0,
    6.0, 9.0, 9.0, 9.0, 6.0,
    6.0, 9.0, 9.0, 9.0, 6.0,
    6.0, 9.0, 9.0, 9.0, 6.0,
    4.0, 6.0, 6.0, 6.0, 4.0,
];

#[test]
fn pad_before_symmetric_pads_half_the_kernel() {
    // (n, k, s) -> (padding before, output size)
    let cases = [
        ((224, 3, 2), (1, 112)),
        ((7, 3, 2), (1, 4)),
        ((8, 3, 1), (1, 8)),
        ((112, 3, 1), (1, 112)),
        ((7, 5, 2), (2, 4)),
        ((1, 3, 2), (1, 1)),
    ];
    for ((n, k, s), want) in cases {
        assert_eq!(
            pad_before(Padding::Symmetric, n, k, s),
            want,
            "symmetric n={n} k={k} s={s}"
        );
    }
}

#[test]
fn pad_before_same_upper_puts_the_odd_pixel_after() {
    let cases = [
        ((224, 3, 2), (0, 112)),
        ((7, 3, 2), (1, 4)),
        ((8, 3, 2), (0, 4)),
        ((8, 3, 1), (1, 8)),
        ((8, 5, 2), (1, 4)),
        ((112, 5, 2), (1, 56)),
        ((7, 5, 2), (2, 4)),
        ((1, 3, 2), (1, 1)),
    ];
    for ((n, k, s), want) in cases {
        assert_eq!(
            pad_before(Padding::SameUpper, n, k, s),
            want,
            "same_upper n={n} k={k} s={s}"
        );
    }
}

#[test]
fn pad_before_agrees_with_padding_begin_and_output() {
    for padding in [Padding::Symmetric, Padding::SameUpper] {
        for n in 1..=64u32 {
            for k in [3u32, 5] {
                for s in [1u32, 2] {
                    let (p, o) = padding.begin_and_output(n, k, s);
                    let want = pad_before(padding, n as usize, k as usize, s as usize);
                    assert_eq!(
                        (p as usize, o as usize),
                        want,
                        "{padding:?} n={n} k={k} s={s}"
                    );
                }
            }
        }
    }
}

#[test]
fn conv2d_all_ones_counts_taps_inside_the_image() {
    let x = tensor(5, 5, 1, vec![1.0; 25]);
    let y = conv2d(&x, &[1.0; 9], 3, 1, 1, Padding::Symmetric);
    assert_eq!((y.h, y.w, y.c), (5, 5, 1));
    assert_close(&y.data, &TAPS_5X5, Tolerance::Exact, "symmetric stride 1");
    // Same-size output with both conventions at stride 1 for odd k.
    let y = conv2d(&x, &[1.0; 9], 3, 1, 1, Padding::SameUpper);
    assert_close(&y.data, &TAPS_5X5, Tolerance::Exact, "same_upper stride 1");
}

#[test]
fn conv2d_stride_2_padding_conventions_differ_on_even_input() {
    let x = tensor(4, 4, 1, vec![1.0; 16]);
    // same_upper: nothing before, one row/column after: the top-left output
    // sees only real pixels, the bottom-right one the padding.
    let y = conv2d(&x, &[1.0; 9], 3, 1, 2, Padding::SameUpper);
    assert_eq!((y.h, y.w), (2, 2));
    assert_close(
        &y.data,
        &[9.0, 6.0, 6.0, 4.0],
        Tolerance::Exact,
        "same_upper stride 2",
    );
    // symmetric: one before and after: the top-left output sees the padding.
    let y = conv2d(&x, &[1.0; 9], 3, 1, 2, Padding::Symmetric);
    assert_eq!((y.h, y.w), (2, 2));
    assert_close(
        &y.data,
        &[4.0, 6.0, 6.0, 9.0],
        Tolerance::Exact,
        "symmetric stride 2",
    );
}

#[test]
fn conv2d_is_a_correlation_so_a_delta_shows_the_kernel_rotated() {
    let mut data = vec![0.0; 25];
    data[2 * 5 + 2] = 1.0;
    let x = tensor(5, 5, 1, data);
    let w: Vec<f32> = (1..=9).map(|v| v as f32).collect(); // w[ky][kx] = 3 ky + kx + 1
    let y = conv2d(&x, &w, 3, 1, 1, Padding::Symmetric);
    #[rustfmt::skip]
    let want = [
        0.0, 0.0, 0.0, 0.0, 0.0,
        0.0, 9.0, 8.0, 7.0, 0.0,
        0.0, 6.0, 5.0, 4.0, 0.0,
        0.0, 3.0, 2.0, 1.0, 0.0,
        0.0, 0.0, 0.0, 0.0, 0.0,
    ];
    assert_close(&y.data, &want, Tolerance::Exact, "delta response");
}

#[test]
fn conv2d_weight_layout_is_kh_kw_cin_cout() {
    // A 1x1 image only meets the centre tap (ky = kx = 1); every other tap
    // weighs -100 and would show if a padded tap were read.
    let x = tensor(1, 1, 2, vec![1.0, 10.0]);
    let mut w = vec![-100.0; 3 * 3 * 2 * 2];
    let at = |ky: usize, kx: usize, ci: usize, co: usize| ((ky * 3 + kx) * 2 + ci) * 2 + co;
    w[at(1, 1, 0, 0)] = 1.0;
    w[at(1, 1, 0, 1)] = 2.0;
    w[at(1, 1, 1, 0)] = 3.0;
    w[at(1, 1, 1, 1)] = 4.0;
    let y = conv2d(&x, &w, 3, 2, 1, Padding::Symmetric);
    assert_close(
        &y.data,
        &[1.0 + 30.0, 2.0 + 40.0],
        Tolerance::Exact,
        "centre tap",
    );
}

#[test]
fn depthwise_keeps_channels_apart() {
    // Channel 0 is ones under a ones kernel; channel 1 is twos under 0.25.
    let x = tensor(
        5,
        5,
        2,
        (0..50)
            .map(|i| if i % 2 == 0 { 1.0 } else { 2.0 })
            .collect(),
    );
    let w: Vec<f32> = (0..18)
        .map(|i| if i % 2 == 0 { 1.0 } else { 0.25 })
        .collect();
    let y = depthwise(&x, &w, 3, 1, Padding::Symmetric);
    assert_eq!((y.h, y.w, y.c), (5, 5, 2));
    assert_close(&channel(&y, 0), &TAPS_5X5, Tolerance::Exact, "channel 0");
    let half: Vec<f32> = TAPS_5X5.iter().map(|t| t * 0.5).collect();
    assert_close(&channel(&y, 1), &half, Tolerance::Exact, "channel 1");
}

#[test]
fn depthwise_stride_2_same_upper_and_delta() {
    let x = tensor(4, 4, 1, vec![1.0; 16]);
    let y = depthwise(&x, &[1.0; 9], 3, 2, Padding::SameUpper);
    assert_close(
        &y.data,
        &[9.0, 6.0, 6.0, 4.0],
        Tolerance::Exact,
        "same_upper stride 2",
    );
    let y = depthwise(&x, &[1.0; 9], 3, 2, Padding::Symmetric);
    assert_close(
        &y.data,
        &[4.0, 6.0, 6.0, 9.0],
        Tolerance::Exact,
        "symmetric stride 2",
    );

    // A delta in channel 1 only: channel 0 stays zero, channel 1 shows its
    // kernel rotated; weights are [k, k, c], channel fastest.
    let mut data = vec![0.0; 3 * 3 * 2];
    data[(3 + 1) * 2 + 1] = 1.0;
    let x = tensor(3, 3, 2, data);
    let w: Vec<f32> = (0..18)
        .map(|i| {
            if i % 2 == 0 {
                100.0
            } else {
                (i / 2 + 1) as f32
            }
        })
        .collect();
    let y = depthwise(&x, &w, 3, 1, Padding::Symmetric);
    assert_close(&channel(&y, 0), &[0.0; 9], Tolerance::Exact, "channel 0");
    assert_close(
        &channel(&y, 1),
        &[9.0, 8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0],
        Tolerance::Exact,
        "channel 1",
    );
}

#[test]
fn pointwise_weights_are_cin_by_cout() {
    let x = tensor(1, 2, 2, vec![1.0, 2.0, -1.0, 0.5]);
    let w = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]; // [[1, 2, 3], [4, 5, 6]]
    let y = pointwise(&x, &w, 3);
    assert_eq!((y.h, y.w, y.c), (1, 2, 3));
    assert_close(
        &y.data,
        &[9.0, 12.0, 15.0, 1.0, 0.5, 0.0],
        Tolerance::Exact,
        "pointwise",
    );
    let mut z = y.clone();
    residual_add(&mut z, &y);
    assert_close(
        &z.data,
        &[18.0, 24.0, 30.0, 2.0, 1.0, 0.0],
        Tolerance::Exact,
        "residual add",
    );
}

#[test]
fn batch_norm_unfolded_and_folded_agree() {
    let eps = 1.0;
    let norm = LayerNorm::Batch {
        gamma: vec![2.0, 1.0],
        beta: vec![0.5, 0.0],
        mean: vec![1.0, -1.0],
        var: vec![3.0, 0.25],
    };
    // ch0: 2 (2 - 1) / sqrt(4) + 0.5 = 1.5; ch1: (-1 + 1) / sqrt(1.25) = 0;
    // ch0 at x = 5: 2 * 4 / 2 + 0.5 = 4.5; ch1 at x = 0: 1 / sqrt(1.25).
    let x = tensor(1, 2, 2, vec![2.0, -1.0, 5.0, 0.0]);
    let want = [1.5, 0.0, 4.5, 1.0 / 1.25f32.sqrt()];
    let mut unfolded = x.clone();
    batch_norm(&mut unfolded, &norm, eps);
    assert_close(&unfolded.data, &want, Tolerance::KernelF32, "unfolded");
    let (scale, bias) = norm.fold(eps);
    assert_close(
        &scale,
        &[1.0, 1.0 / 1.25f32.sqrt()],
        Tolerance::KernelF32,
        "folded scale",
    );
    assert_close(
        &bias,
        &[-0.5, 1.0 / 1.25f32.sqrt()],
        Tolerance::KernelF32,
        "folded bias",
    );
    let mut folded = x;
    batch_norm(&mut folded, &LayerNorm::Folded { scale, bias }, eps);
    assert_close(&folded.data, &want, Tolerance::KernelF32, "folded");
}

#[test]
fn relu6_clamps_to_0_and_6() {
    let mut x = tensor(1, 1, 6, vec![-3.0, -0.0, 0.0, 2.5, 6.0, 7.5]);
    relu6(&mut x);
    assert_close(
        &x.data,
        &[0.0, 0.0, 0.0, 2.5, 6.0, 6.0],
        Tolerance::Exact,
        "relu6",
    );
}

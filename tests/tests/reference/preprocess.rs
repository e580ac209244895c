//! Bilinear resize on pixel centres and the `(x - mean) * scale` normalisation.

use patchrt::RgbaImage;
use patchrt::model::Normalization;
use patchrt::reference::preprocess::preprocess;
use patchrt_tests::{Tolerance, assert_close};

use super::channel;

/// Leaves 0..255 values as they are.
const RAW: Normalization = Normalization {
    mean: [0.0; 3],
    scale: [1.0; 3],
};

/// RGBA bytes from per-pixel `(r, g, b)`, alpha 255.
fn rgba(pixels: &[[u8; 3]]) -> Vec<u8> {
    pixels
        .iter()
        .flat_map(|p| [p[0], p[1], p[2], 255])
        .collect()
}

fn image<'a>(width: u32, height: u32, data: &'a [u8]) -> RgbaImage<'a> {
    match RgbaImage::new(width, height, data) {
        Ok(i) => i,
        Err(e) => panic!("test image rejected: {e}"),
    }
}

#[test]
fn image_at_the_target_size_is_reproduced() {
    let pixels: Vec<[u8; 3]> = (0..16u32)
        .map(|i| [i * 13, 255 - i * 7, (i * 31) % 251].map(|v| v as u8))
        .collect();
    let data = rgba(&pixels);
    let img = image(4, 4, &data);
    let want: Vec<f32> = pixels.iter().flat_map(|p| p.map(f32::from)).collect();
    let got = preprocess(&img, 4, &RAW);
    assert_eq!((got.h, got.w, got.c), (4, 4, 3));
    assert_close(&got.data, &want, Tolerance::Exact, "raw pixels");

    let norm = Normalization::IMAGENET;
    let got = preprocess(&img, 4, &norm);
    let want: Vec<f32> = want
        .iter()
        .enumerate()
        .map(|(i, v)| (v - norm.mean[i % 3]) * norm.scale[i % 3])
        .collect();
    assert_close(
        &got.data,
        &want,
        Tolerance::Exact,
        "ImageNet-normalised pixels",
    );
}

#[test]
fn normalisation_is_x_minus_mean_times_scale_on_0_to_255() {
    let data = rgba(&[[255, 0, 128]]);
    let norm = Normalization {
        mean: [127.5, 0.0, 128.0],
        scale: [1.0 / 127.5, 2.0, 0.5],
    };
    let got = preprocess(&image(1, 1, &data), 1, &norm);
    assert_close(
        &got.data,
        &[1.0, 0.0, 0.0],
        Tolerance::Exact,
        "normalised pixel",
    );
}

#[test]
fn upscale_2x2_to_4x4_interpolates_between_pixel_centres() {
    // Output pixel d samples source coordinate (d + 0.5) / 2 - 0.5, clamped:
    // 0, 0.25, 0.75, 1.25 -> weights of the second pixel 0, 1/4, 3/4, 1.
    // R: 0 100 / 200 40; G: constant 7; B: 0 0 / 255 255.
    let data = rgba(&[[0, 7, 0], [100, 7, 0], [200, 7, 255], [40, 7, 255]]);
    let got = preprocess(&image(2, 2, &data), 4, &RAW);
    #[rustfmt::skip]
    let red = [
        0.0, 25.0, 75.0, 100.0,
        50.0, 58.75, 76.25, 85.0,
        150.0, 126.25, 78.75, 55.0,
        200.0, 160.0, 80.0, 40.0,
    ];
    #[rustfmt::skip]
    let blue = [
        0.0, 0.0, 0.0, 0.0,
        63.75, 63.75, 63.75, 63.75,
        191.25, 191.25, 191.25, 191.25,
        255.0, 255.0, 255.0, 255.0,
    ];
    assert_close(&channel(&got, 0), &red, Tolerance::KernelF32, "red");
    assert_close(&channel(&got, 1), &[7.0; 16], Tolerance::KernelF32, "green");
    assert_close(&channel(&got, 2), &blue, Tolerance::KernelF32, "blue");
}

#[test]
fn downscale_by_2_averages_2x2_blocks() {
    // Output pixel d samples (d + 0.5) * 2 - 0.5 = 0.5, 2.5: halfway between
    // two source pixels on each axis. Red is 10 x + 40 y.
    let pixels: Vec<[u8; 3]> = (0..16u8)
        .map(|i| [10 * (i % 4) + 40 * (i / 4), 0, 0])
        .collect();
    let data = rgba(&pixels);
    let got = preprocess(&image(4, 4, &data), 2, &RAW);
    assert_close(
        &channel(&got, 0),
        &[25.0, 45.0, 105.0, 125.0],
        Tolerance::KernelF32,
        "red",
    );
}

#[test]
fn non_square_source_is_stretched_per_axis() {
    // 4 wide, 2 tall to 2x2: rows map one to one, columns pair up.
    let pixels: Vec<[u8; 3]> = (0..8u8)
        .map(|i| [10 * (i % 4) + 40 * (i / 4), 0, 0])
        .collect();
    let data = rgba(&pixels);
    let got = preprocess(&image(4, 2, &data), 2, &RAW);
    assert_close(
        &channel(&got, 0),
        &[5.0, 25.0, 45.0, 65.0],
        Tolerance::KernelF32,
        "red",
    );
}

#[test]
fn single_pixel_upscales_to_a_constant() {
    let data = rgba(&[[9, 99, 199]]);
    let got = preprocess(&image(1, 1, &data), 3, &RAW);
    for (ch, v) in [9.0, 99.0, 199.0].into_iter().enumerate() {
        assert_close(&channel(&got, ch), &[v; 9], Tolerance::Exact, "constant");
    }
}

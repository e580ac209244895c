//! Reference for `shaders/preprocess.wgsl`: bilinear resize + normalisation.

use super::Tensor;
use crate::image::RgbaImage;
use crate::model::Normalization;

/// Resizes an RGBA8 image to `side x side` with bilinear interpolation on pixel
/// centres (source coordinate `(d + 0.5) * in / out - 0.5`, clamped to the
/// edge; no antialiasing) and normalises each channel: `(x - mean) * scale`.
pub fn preprocess(image: &RgbaImage<'_>, side: usize, norm: &Normalization) -> Tensor {
    let (iw, ih) = (image.width() as usize, image.height() as usize);
    let mut out = Tensor::zeros(side, side, 3);
    let axis = |d: usize, n_in: usize| -> (usize, usize, f32) {
        let src = ((d as f64 + 0.5) * n_in as f64 / side as f64 - 0.5).max(0.0);
        let i0 = (src.floor() as usize).min(n_in - 1);
        let i1 = (i0 + 1).min(n_in - 1);
        (i0, i1, (src - i0 as f64) as f32)
    };
    for y in 0..side {
        let (y0, y1, fy) = axis(y, ih);
        for x in 0..side {
            let (x0, x1, fx) = axis(x, iw);
            let p00 = image.rgb(x0 as u32, y0 as u32);
            let p01 = image.rgb(x1 as u32, y0 as u32);
            let p10 = image.rgb(x0 as u32, y1 as u32);
            let p11 = image.rgb(x1 as u32, y1 as u32);
            for c in 0..3 {
                let top = p00[c] + (p01[c] - p00[c]) * fx;
                let bottom = p10[c] + (p11[c] - p10[c]) * fx;
                let v = top + (bottom - top) * fy;
                out.data[(y * side + x) * 3 + c] = (v - norm.mean[c]) * norm.scale[c];
            }
        }
    }
    out
}

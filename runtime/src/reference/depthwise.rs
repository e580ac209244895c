//! Reference for `shaders/depthwise.wgsl`: a kxk depthwise convolution.

use super::{Tensor, pad_before};
use crate::model::Padding;

/// Depthwise convolution, weights `[k, k, c]`, no bias.
pub fn depthwise(x: &Tensor, weight: &[f32], k: usize, stride: usize, padding: Padding) -> Tensor {
    let (pt, oh) = pad_before(padding, x.h, k, stride);
    let (pl, ow) = pad_before(padding, x.w, k, stride);
    let c = x.c;
    let mut out = Tensor::zeros(oh, ow, c);
    for oy in 0..oh {
        for ox in 0..ow {
            for ky in 0..k {
                let iy = (oy * stride + ky) as isize - pt as isize;
                if iy < 0 || iy >= x.h as isize {
                    continue;
                }
                for kx in 0..k {
                    let ix = (ox * stride + kx) as isize - pl as isize;
                    if ix < 0 || ix >= x.w as isize {
                        continue;
                    }
                    for ch in 0..c {
                        out.data[(oy * ow + ox) * c + ch] +=
                            x.at(iy as usize, ix as usize, ch) * weight[(ky * k + kx) * c + ch];
                    }
                }
            }
        }
    }
    out
}

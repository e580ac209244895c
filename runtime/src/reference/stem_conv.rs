//! Reference for `shaders/stem_conv.wgsl`: a dense kxk convolution.

use super::{Tensor, pad_before};
use crate::model::Padding;

/// Dense convolution, weights `[k, k, cin, cout]`, no bias.
pub fn conv2d(
    x: &Tensor,
    weight: &[f32],
    k: usize,
    cout: usize,
    stride: usize,
    padding: Padding,
) -> Tensor {
    let (pt, oh) = pad_before(padding, x.h, k, stride);
    let (pl, ow) = pad_before(padding, x.w, k, stride);
    let mut out = Tensor::zeros(oh, ow, cout);
    for oy in 0..oh {
        for ox in 0..ow {
            let o = (oy * ow + ox) * cout;
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
                    for ci in 0..x.c {
                        let v = x.at(iy as usize, ix as usize, ci);
                        let wrow = ((ky * k + kx) * x.c + ci) * cout;
                        for co in 0..cout {
                            out.data[o + co] += v * weight[wrow + co];
                        }
                    }
                }
            }
        }
    }
    out
}

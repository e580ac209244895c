//! Reference for `shaders/pointwise.wgsl`: 1x1 convolution and residual add.

use super::Tensor;

/// 1x1 convolution, weights `[cin, cout]`, no bias.
pub fn pointwise(x: &Tensor, weight: &[f32], cout: usize) -> Tensor {
    let mut out = Tensor::zeros(x.h, x.w, cout);
    for p in 0..x.h * x.w {
        let row = &mut out.data[p * cout..(p + 1) * cout];
        for ci in 0..x.c {
            let v = x.data[p * x.c + ci];
            for (o, w) in row.iter_mut().zip(&weight[ci * cout..(ci + 1) * cout]) {
                *o += v * w;
            }
        }
    }
    out
}

/// Element-wise `x + skip` (the inverted-residual shortcut).
pub fn residual_add(x: &mut Tensor, skip: &Tensor) {
    for (a, b) in x.data.iter_mut().zip(&skip.data) {
        *a += b;
    }
}

//! Plain f32 CPU implementation of the network: the specification the GPU
//! kernels are tested against.
//!
//! Everything here uses std only, loops over NHWC tensors (batch 1, so HWC),
//! computes BatchNorm unfolded and padding from first principles, so that a
//! folding or padding mistake in the GPU path cannot hide in both. Each file is
//! named after the shader family it governs.

pub mod batch_norm;
pub mod depthwise;
pub mod network;
pub mod pointwise;
pub mod pool_head;
pub mod preprocess;
pub mod stem_conv;

pub use network::{forward, forward_logits};

/// An HWC tensor of f32 (batch of one).
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Height.
    pub h: usize,
    /// Width.
    pub w: usize,
    /// Channels.
    pub c: usize,
    /// `h * w * c` values, channel fastest.
    pub data: Vec<f32>,
}

impl Tensor {
    /// A zero tensor.
    pub fn zeros(h: usize, w: usize, c: usize) -> Tensor {
        Tensor {
            h,
            w,
            c,
            data: vec![0.0; h * w * c],
        }
    }

    /// Value at `(y, x, ch)`.
    pub fn at(&self, y: usize, x: usize, ch: usize) -> f32 {
        self.data[(y * self.w + x) * self.c + ch]
    }
}

/// Input-side padding before the first element, from the convolution's
/// definition: symmetric pads `k/2`; `same_upper` pads so that the output has
/// `ceil(n/s)` elements, putting the odd element of padding after the input.
pub fn pad_before(padding: crate::model::Padding, n: usize, k: usize, s: usize) -> (usize, usize) {
    match padding {
        crate::model::Padding::Symmetric => {
            let p = k / 2;
            (p, (n + 2 * p - k) / s + 1)
        }
        crate::model::Padding::SameUpper => {
            let out = n.div_ceil(s);
            let needed = (out - 1) * s + k;
            let total = needed.saturating_sub(n);
            (total / 2, out)
        }
    }
}

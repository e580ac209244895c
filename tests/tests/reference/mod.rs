//! The CPU reference on cases small enough to compute by hand, and the whole
//! reference network on the small synthetic backbone. CPU only.
//!
//! The reference is the specification the GPU kernels are tested against, so
//! these tests pin it to numbers derived from the definitions rather than to
//! its own earlier output.

use patchrt::reference::Tensor;

// Padding, convolutions, pointwise, BatchNorm and ReLU6.
mod layers;
// Pooling, classifier, softmax and the whole network.
mod network;
// Bilinear resize and input normalisation.
mod preprocess;

/// An HWC tensor from its values.
fn tensor(h: usize, w: usize, c: usize, data: Vec<f32>) -> Tensor {
    assert_eq!(data.len(), h * w * c, "tensor {h}x{w}x{c}");
    Tensor { h, w, c, data }
}

/// One channel of an HWC tensor, row-major.
fn channel(t: &Tensor, ch: usize) -> Vec<f32> {
    t.data.iter().skip(ch).step_by(t.c).copied().collect()
}

//! Reference BatchNorm and ReLU6, the epilogue fused into every conv shader.

use super::Tensor;
use crate::model::LayerNorm;

/// Applies BatchNorm per channel, unfolded: `gamma * (x - mean) / sqrt(var + eps) + beta`
/// (or `x * scale + bias` for a file that stores folded values).
pub fn batch_norm(x: &mut Tensor, norm: &LayerNorm, eps: f32) {
    let c = x.c;
    for (i, v) in x.data.iter_mut().enumerate() {
        let ch = i % c;
        *v = match norm {
            LayerNorm::Batch {
                gamma,
                beta,
                mean,
                var,
            } => gamma[ch] * (*v - mean[ch]) / (var[ch] + eps).sqrt() + beta[ch],
            LayerNorm::Folded { scale, bias } => *v * scale[ch] + bias[ch],
        };
    }
}

/// `min(max(x, 0), 6)`.
pub fn relu6(x: &mut Tensor) {
    for v in &mut x.data {
        *v = v.clamp(0.0, 6.0);
    }
}

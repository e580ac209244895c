//! Reference for `shaders/pool_head.wgsl`: global average pool, classifier, softmax.

use super::Tensor;
use crate::model::Classifier;

/// Mean over all spatial positions, per channel.
pub fn global_avg_pool(x: &Tensor) -> Vec<f32> {
    let n = (x.h * x.w) as f32;
    (0..x.c)
        .map(|ch| (0..x.h * x.w).map(|p| x.data[p * x.c + ch]).sum::<f32>() / n)
        .collect()
}

/// `logits[k] = sum_f weight[k][f] * features[f] + bias[k]`.
pub fn classify(features: &[f32], classifier: &Classifier) -> Vec<f32> {
    let f = features.len();
    classifier
        .bias
        .iter()
        .enumerate()
        .map(|(k, b)| {
            classifier.weight[k * f..(k + 1) * f]
                .iter()
                .zip(features)
                .map(|(w, x)| w * x)
                .sum::<f32>()
                + b
        })
        .collect()
}

/// Numerically stable softmax.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
    let sum: f32 = exp.iter().sum();
    exp.iter().map(|e| e / sum).collect()
}

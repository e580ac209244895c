//! The whole network on the CPU.

use super::Tensor;
use super::batch_norm::{batch_norm, relu6};
use super::depthwise::depthwise;
use super::pointwise::{pointwise, residual_add};
use super::pool_head::{classify, global_avg_pool, softmax};
use super::preprocess::preprocess;
use super::stem_conv::conv2d;
use crate::image::RgbaImage;
use crate::model::{Backbone, LayerKind, LayerNorm};
use crate::patch::Patch;

/// Runs every conv layer of `backbone` on a batch of preprocessed inputs and
/// returns each input's pooled features.
///
/// `depthwise` replaces the backbone's depthwise kernels when given (flat, in
/// the backbone's depthwise layout). `norm_for(layer, pre_bn_outputs)` supplies
/// each layer's BatchNorm; it sees the convolution outputs of the whole batch
/// first, which lets the synthetic model derive BN statistics from real
/// activations.
pub fn features(
    backbone: &Backbone,
    depthwise_override: Option<&[f32]>,
    eps: f32,
    inputs: Vec<Tensor>,
    mut norm_for: impl FnMut(usize, &[Tensor]) -> LayerNorm,
) -> Vec<Vec<f32>> {
    let arch = &backbone.arch;
    let padding = backbone.config.padding;
    let mut xs = inputs;
    let mut block_inputs: Option<Vec<Tensor>> = None;
    let mut current_block = None;
    for (i, layer) in arch.layers.iter().enumerate() {
        let weight = match (layer.kind, depthwise_override) {
            (LayerKind::Depthwise, Some(dw)) => {
                let off = arch.layout.weight_offset[i];
                &dw[off..off + layer.weight_len()]
            }
            _ => backbone.layer_weight(i),
        };
        if layer.block.is_some() && layer.block != current_block {
            current_block = layer.block;
            let has_residual = arch
                .layers
                .iter()
                .any(|l| l.block == layer.block && l.residual);
            block_inputs = has_residual.then(|| xs.clone());
        }
        let (k, s, cout) = (
            layer.kernel as usize,
            layer.stride as usize,
            layer.out_channels as usize,
        );
        let mut ys: Vec<Tensor> = xs
            .iter()
            .map(|x| match layer.kind {
                LayerKind::Stem => conv2d(x, weight, k, cout, s, padding),
                LayerKind::Depthwise => depthwise(x, weight, k, s, padding),
                LayerKind::Expand | LayerKind::Project | LayerKind::Head => {
                    pointwise(x, weight, cout)
                }
            })
            .collect();
        let norm = norm_for(i, &ys);
        for y in &mut ys {
            batch_norm(y, &norm, eps);
            if layer.relu6 {
                relu6(y);
            }
        }
        if layer.residual
            && let Some(skips) = block_inputs.take()
        {
            for (y, skip) in ys.iter_mut().zip(&skips) {
                residual_add(y, skip);
            }
        }
        xs = ys;
    }
    xs.iter().map(global_avg_pool).collect()
}

/// Class logits for `image` at `side x side` under `patch`.
pub fn forward_logits(
    backbone: &Backbone,
    patch: &Patch,
    image: &RgbaImage<'_>,
    side: u32,
) -> Vec<f32> {
    let input = preprocess(image, side as usize, &backbone.config.normalization);
    let feats = features(
        backbone,
        patch.depthwise.as_deref(),
        patch.bn_epsilon,
        vec![input],
        |i, _| patch.norms[i].clone(),
    );
    let classifier = patch.classifier.as_ref().unwrap_or(&backbone.classifier);
    feats
        .first()
        .map(|f| classify(f, classifier))
        .unwrap_or_default()
}

/// Class probabilities for `image` at `side x side` under `patch`.
pub fn forward(backbone: &Backbone, patch: &Patch, image: &RgbaImage<'_>, side: u32) -> Vec<f32> {
    softmax(&forward_logits(backbone, patch, image, side))
}

//! BatchNorm parameters as files store them, and their fold into scale/bias.

use crate::error::{Error, FileKind, Result};
use crate::model::arch::{Architecture, ConvLayer};
use crate::model::tensors::{StoreAs, TensorFile, TensorWriter};

/// One layer's BatchNorm parameters as stored in a file.
#[derive(Debug, Clone, PartialEq)]
pub enum LayerNorm {
    /// Training-time BatchNorm: `gamma * (x - mean) / sqrt(var + eps) + beta`.
    Batch {
        /// Per-channel gamma.
        gamma: Vec<f32>,
        /// Per-channel beta.
        beta: Vec<f32>,
        /// Per-channel running mean.
        mean: Vec<f32>,
        /// Per-channel running variance.
        var: Vec<f32>,
    },
    /// Already folded: `x * scale + bias`.
    Folded {
        /// Per-channel scale.
        scale: Vec<f32>,
        /// Per-channel bias.
        bias: Vec<f32>,
    },
}

impl LayerNorm {
    /// Folds to `(scale, bias)` in f32 with `s = gamma / sqrt(var + eps)`,
    /// `b = beta - mean * s`.
    pub fn fold(&self, eps: f32) -> (Vec<f32>, Vec<f32>) {
        match self {
            LayerNorm::Folded { scale, bias } => (scale.clone(), bias.clone()),
            LayerNorm::Batch {
                gamma,
                beta,
                mean,
                var,
            } => {
                let scale: Vec<f32> = gamma
                    .iter()
                    .zip(var)
                    .map(|(g, v)| g / (v + eps).sqrt())
                    .collect();
                let bias = beta
                    .iter()
                    .zip(mean)
                    .zip(&scale)
                    .map(|((b, m), s)| b - m * s)
                    .collect();
                (scale, bias)
            }
        }
    }

    /// Reads one layer's BN tensors: `gamma/beta/mean/var`, else `scale/bias`.
    ///
    /// # Errors
    /// Tensor errors from [`TensorFile::f32`]; [`Error::MissingTensor`] naming
    /// `gamma` when neither form is present.
    pub fn read(file: &mut TensorFile<'_>, layer: &ConvLayer) -> Result<LayerNorm> {
        let shape = [layer.out_channels as usize];
        if file.has(&layer.bn_name("gamma")) {
            Ok(LayerNorm::Batch {
                gamma: file.f32(&layer.bn_name("gamma"), &shape)?,
                beta: file.f32(&layer.bn_name("beta"), &shape)?,
                mean: file.f32(&layer.bn_name("mean"), &shape)?,
                var: file.f32(&layer.bn_name("var"), &shape)?,
            })
        } else if file.has(&layer.bn_name("scale")) {
            Ok(LayerNorm::Folded {
                scale: file.f32(&layer.bn_name("scale"), &shape)?,
                bias: file.f32(&layer.bn_name("bias"), &shape)?,
            })
        } else {
            Err(Error::MissingTensor {
                file: file.kind(),
                name: layer.bn_name("gamma"),
            })
        }
    }

    /// Writes this layer's tensors under the layer's names.
    pub fn write(&self, w: &mut TensorWriter, layer: &ConvLayer, dtype: StoreAs) {
        let shape = [layer.out_channels as usize];
        match self {
            LayerNorm::Batch {
                gamma,
                beta,
                mean,
                var,
            } => {
                for (field, v) in [
                    ("gamma", gamma),
                    ("beta", beta),
                    ("mean", mean),
                    ("var", var),
                ] {
                    w.tensor(&layer.bn_name(field), &shape, v, dtype);
                }
            }
            LayerNorm::Folded { scale, bias } => {
                w.tensor(&layer.bn_name("scale"), &shape, scale, dtype);
                w.tensor(&layer.bn_name("bias"), &shape, bias, dtype);
            }
        }
    }
}

/// Reads the BN parameters of every layer of `arch`.
///
/// # Errors
/// See [`LayerNorm::read`].
pub fn read_all(file: &mut TensorFile<'_>, arch: &Architecture) -> Result<Vec<LayerNorm>> {
    arch.layers
        .iter()
        .map(|l| LayerNorm::read(file, l))
        .collect()
}

/// Folds all layers into one flat scale/bias vector laid out by
/// [`crate::model::WeightLayout::scale_bias_offset`].
///
/// # Errors
/// [`Error::NonFinite`] when a fold yields NaN or infinity (e.g. `var + eps <= 0`).
pub fn fold_all(
    norms: &[LayerNorm],
    eps: f32,
    arch: &Architecture,
    file: FileKind,
) -> Result<Vec<f32>> {
    let mut flat = vec![0.0f32; arch.layout.scale_bias_len];
    for ((layer, norm), &offset) in arch
        .layers
        .iter()
        .zip(norms)
        .zip(&arch.layout.scale_bias_offset)
    {
        let (scale, bias) = norm.fold(eps);
        let c = layer.out_channels as usize;
        for (i, v) in scale.iter().chain(&bias).enumerate() {
            if !v.is_finite() {
                // Name a tensor the file really has: the fold's inputs for BN
                // form, the folded tensor itself otherwise.
                let field = match (norm, i < c) {
                    (LayerNorm::Batch { .. }, true) => "var",
                    (LayerNorm::Batch { .. }, false) => "mean",
                    (LayerNorm::Folded { .. }, true) => "scale",
                    (LayerNorm::Folded { .. }, false) => "bias",
                };
                return Err(Error::NonFinite {
                    file,
                    name: layer.bn_name(field),
                    index: i % c,
                });
            }
        }
        flat[offset..offset + c].copy_from_slice(&scale);
        flat[offset + c..offset + 2 * c].copy_from_slice(&bias);
    }
    Ok(flat)
}

//! The embedded default model: a deterministic MobileNetV2 with seeded random
//! weights and BatchNorm statistics measured on a synthetic image, plus
//! synthetic task patches. The weights are synthetic: outputs mean nothing, but
//! every activation sits in the range a trained network produces, so kernels
//! and patch swaps are exercised realistically.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::image::{Resolution, RgbaImage};
use crate::model::arch::MOBILENET_V2_BLOCKS;
use crate::model::backbone::{Backbone, Classifier};
use crate::model::config::{BackboneConfig, Normalization, Padding};
use crate::model::identity::BackboneId;
use crate::model::tensors::StoreAs;
use crate::model::{LayerKind, LayerNorm};
use crate::patch::{Patch, PatchKind};
use crate::reference::{self, Tensor};

/// Parameters of a synthetic backbone.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SyntheticSpec {
    /// Width multiplier.
    pub width: f32,
    /// Classes of the backbone classifier.
    pub classes: u32,
    /// Padding convention.
    pub padding: Padding,
    /// RNG seed.
    pub seed: u64,
    /// Side of the image the BN statistics are measured on.
    pub calibration_side: u32,
}

impl Default for SyntheticSpec {
    /// MobileNetV2 1.0, 1000 classes, PyTorch padding, calibrated at 224.
    fn default() -> Self {
        SyntheticSpec {
            width: 1.0,
            classes: 1000,
            padding: Padding::Symmetric,
            seed: 2018,
            calibration_side: 224,
        }
    }
}

/// A synthetic task: which patch kinds it exercises.
#[derive(Debug, Clone, Copy)]
pub struct SyntheticTask {
    /// Task name.
    pub name: &'static str,
    /// Kind of its patches.
    pub kind: PatchKind,
    /// Classes of its own classifier (when it has one).
    pub classes: u32,
}

/// The three tasks of the embedded model: S/B only, S/B + depthwise, S/B + classifier.
pub const SYNTHETIC_TASKS: [SyntheticTask; 3] = [
    SyntheticTask {
        name: "objects",
        kind: PatchKind {
            depthwise: false,
            classifier: false,
        },
        classes: 0,
    },
    SyntheticTask {
        name: "scenes",
        kind: PatchKind {
            depthwise: true,
            classifier: false,
        },
        classes: 0,
    },
    SyntheticTask {
        name: "flowers",
        kind: PatchKind {
            depthwise: false,
            classifier: true,
        },
        classes: 17,
    },
];

fn uniform(rng: &mut ChaCha8Rng, n: usize, bound: f32) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(-bound..bound)).collect()
}

/// A deterministic RGBA test image with smooth structure and some noise.
pub fn test_image(width: u32, height: u32, seed: u64) -> Vec<u8> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let phase: f32 = rng.random_range(0.0..std::f32::consts::TAU);
    let mut data = Vec::with_capacity(width as usize * height as usize * 4);
    for y in 0..height {
        for x in 0..width {
            let (fx, fy) = (x as f32 / width as f32, y as f32 / height as f32);
            let r = 128.0 + 100.0 * (9.0 * fx + phase).sin() * (5.0 * fy).cos();
            let g = 128.0 + 90.0 * (7.0 * (fx + fy) - phase).cos();
            let b = if ((fx - 0.5).powi(2) + (fy - 0.4).powi(2)) < 0.06 {
                220.0
            } else {
                60.0 + 80.0 * fy
            };
            for v in [r, g, b] {
                let noise: f32 = rng.random_range(-12.0..12.0);
                data.push((v + noise).clamp(0.0, 255.0) as u8);
            }
            data.push(255);
        }
    }
    data
}

/// BatchNorm whose statistics are the mean and variance of `y` per channel.
///
/// A variance measured over one image's few positions (9 at the last layers
/// of a 96x96 input) can be far smaller than a dataset's; taken as is, it would
/// scale that channel by 100x and make the network amplify rounding noise as
/// no trained network does. Each channel's variance is therefore kept at least
/// a quarter of its layer's mean variance.
fn measured_norm(ys: &[Tensor], gamma: &[f32], beta: &[f32]) -> LayerNorm {
    let c = ys.first().map_or(0, |y| y.c);
    let n = ys.iter().map(|y| y.h * y.w).sum::<usize>() as f64;
    let mut mean = vec![0.0f64; c];
    let mut sq = vec![0.0f64; c];
    for y in ys {
        for (i, v) in y.data.iter().enumerate() {
            mean[i % c] += *v as f64;
            sq[i % c] += (*v as f64).powi(2);
        }
    }
    let var: Vec<f64> = sq
        .iter()
        .zip(&mean)
        .map(|(s, m)| s / n - (m / n).powi(2))
        .collect();
    let floor = (0.25 * var.iter().sum::<f64>() / c.max(1) as f64).max(1e-3);
    LayerNorm::Batch {
        gamma: gamma.to_vec(),
        beta: beta.to_vec(),
        mean: mean.iter().map(|m| (m / n) as f32).collect(),
        var: var.iter().map(|v| v.max(floor) as f32).collect(),
    }
}

/// Gamma and beta per layer; linear layers get smaller betas so residual sums stay bounded.
fn affine(
    backbone_layers: &[crate::model::ConvLayer],
    rng: &mut ChaCha8Rng,
) -> Vec<(Vec<f32>, Vec<f32>)> {
    backbone_layers
        .iter()
        .map(|l| {
            let c = l.out_channels as usize;
            // Gammas below 1 keep the random network contractive, as trained
            // networks are: a rounding difference in one layer then fades
            // instead of growing through 52 layers, so f32 GPU and CPU agree as
            // closely as they would on real weights.
            let gamma = (0..c).map(|_| rng.random_range(0.3..0.8)).collect();
            let beta_bound = if l.relu6 { 0.4 } else { 0.1 };
            (gamma, uniform(rng, c, beta_bound))
        })
        .collect()
}

/// Frames the BN statistics are measured on: camera-like sizes, resized like
/// real input, so the statistics match what inference sees.
const CALIBRATION_FRAMES: [(u32, u32, u64); 4] = [
    (320, 240, 101),
    (240, 320, 102),
    (400, 400, 103),
    (512, 288, 104),
];

/// Measures BN statistics at `side` with the given depthwise kernels and affine params.
fn calibrate(
    backbone: &Backbone,
    dw: Option<&[f32]>,
    side: u32,
    affine: &[(Vec<f32>, Vec<f32>)],
) -> Vec<LayerNorm> {
    let inputs = CALIBRATION_FRAMES
        .iter()
        .filter_map(|&(w, h, seed)| {
            let pixels = test_image(w, h, seed);
            let image = RgbaImage::new(w, h, &pixels).ok()?;
            Some(reference::preprocess::preprocess(
                &image,
                side as usize,
                &backbone.config.normalization,
            ))
        })
        .collect();
    let mut norms = Vec::with_capacity(affine.len());
    reference::network::features(backbone, dw, backbone.config.bn_epsilon, inputs, |i, ys| {
        let norm = measured_norm(ys, &affine[i].0, &affine[i].1);
        norms.push(norm.clone());
        norm
    });
    norms
}

/// Builds the synthetic backbone file.
pub fn backbone_bytes(spec: &SyntheticSpec) -> Vec<u8> {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let config = BackboneConfig {
        arch: "mobilenet_v2".into(),
        width: spec.width,
        classes: spec.classes,
        bn_epsilon: 1e-5,
        padding: spec.padding,
        normalization: Normalization::IMAGENET,
        native_resolution: 224,
        task: "objects".into(),
        labels: (0..spec.classes)
            .map(|i| format!("synthetic_{i}"))
            .collect(),
        blocks: MOBILENET_V2_BLOCKS.to_vec(),
    };
    let arch = config.architecture();
    let mut dense = vec![0.0; arch.layout.dense_len];
    let mut depthwise = vec![0.0; arch.layout.depthwise_len];
    for (layer, &off) in arch.layers.iter().zip(&arch.layout.weight_offset) {
        let fan_in = match layer.kind {
            LayerKind::Depthwise => layer.kernel * layer.kernel,
            _ => layer.kernel * layer.kernel * layer.in_channels,
        };
        let w = uniform(&mut rng, layer.weight_len(), (3.0 / fan_in as f32).sqrt());
        let dst = if layer.kind == LayerKind::Depthwise {
            &mut depthwise
        } else {
            &mut dense
        };
        dst[off..off + w.len()].copy_from_slice(&w);
    }
    let f = arch.feature_channels as usize;
    let classifier = Classifier {
        weight: uniform(
            &mut rng,
            spec.classes as usize * f,
            4.0 * (3.0 / f as f32).sqrt(),
        ),
        bias: uniform(&mut rng, spec.classes as usize, 0.1),
        labels: config.labels.clone(),
    };
    let gb = affine(&arch.layers, &mut rng);
    let mut backbone = Backbone {
        config,
        arch,
        identity: BackboneId([0; 32]),
        dense,
        depthwise,
        classifier,
        norms: Vec::new(),
    };
    backbone.norms = calibrate(&backbone, None, spec.calibration_side, &gb);
    backbone.to_bytes(StoreAs::F32)
}

/// Synthetic task patches for `backbone`: one per task in [`SYNTHETIC_TASKS`]
/// and resolution in `resolutions`, with BN statistics measured at that
/// resolution (the paper's per-resolution patches).
pub fn task_patches(backbone: &Backbone, resolutions: &[Resolution], seed: u64) -> Vec<Patch> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::new();
    for task in SYNTHETIC_TASKS {
        let gb = affine(&backbone.arch.layers, &mut rng);
        let dw = task.kind.depthwise.then(|| {
            backbone
                .depthwise
                .iter()
                .map(|w| w * rng.random_range(0.7f32..1.3))
                .collect::<Vec<f32>>()
        });
        let classifier = task.kind.classifier.then(|| {
            let f = backbone.arch.feature_channels as usize;
            let n = task.classes as usize;
            Classifier {
                weight: uniform(&mut rng, n * f, 4.0 * (3.0 / f as f32).sqrt()),
                bias: uniform(&mut rng, n, 0.1),
                labels: (0..n).map(|i| format!("{}_{i}", task.name)).collect(),
            }
        });
        for &res in resolutions {
            out.push(Patch {
                id: format!("{}@{}", task.name, res.side()),
                task: task.name.to_string(),
                resolution: Some(res.side()),
                kind: task.kind,
                backbone: backbone.identity,
                bn_epsilon: backbone.config.bn_epsilon,
                norms: calibrate(backbone, dw.as_deref(), res.side(), &gb),
                depthwise: dw.clone(),
                classifier: classifier.clone(),
            });
        }
    }
    out
}

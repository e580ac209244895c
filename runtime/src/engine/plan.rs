//! The inference plan: every dispatch of one inference, which buffers each
//! reads and writes, and the parameter records of every resolution.
//!
//! Buffer roles are the same at every resolution (buffers are sized for the
//! largest), so the per-dispatch bind groups are built once; a resolution is
//! only a different set of parameter records and workgroup counts.

use crate::image::Resolution;
use crate::model::{Architecture, Backbone, LayerKind};
use crate::ops::{
    self, Dispatch, depthwise::DepthwiseShape, pointwise::PointwiseShape, stem_conv::StemConvShape,
};

/// Number of ping-pong activation buffers; three suffice because only a
/// block's input must outlive the block (for its residual add).
pub const ACTIVATION_BUFFERS: usize = 3;

/// A buffer a dispatch reads or writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// The uploaded RGBA8 frame.
    Image,
    /// Activation buffer `i`.
    Activation(usize),
    /// Class logits.
    Logits,
    /// Class probabilities (the only buffer read back).
    Probabilities,
    /// Nothing (a placeholder binding).
    Unused,
}

/// One dispatch's buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepIo {
    /// Bound at binding 1.
    pub input: Slot,
    /// Bound at binding 4.
    pub output: Slot,
    /// Bound at binding 5.
    pub residual: Slot,
}

/// What one step of the plan computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Resize and normalise the frame.
    Preprocess,
    /// Convolution layer `i` of [`Architecture::layers`].
    Layer(usize),
    /// Global average pool.
    Pool,
    /// Classifier (features to logits).
    Classifier,
    /// Softmax over the logits.
    Softmax,
}

impl Step {
    /// Name of the step: `preprocess`, a layer's tensor prefix (`stem`,
    /// `blocks.3.expand`, `head`), `pool`, `classifier` or `softmax`.
    pub fn name(self, arch: &Architecture) -> String {
        match self {
            Step::Preprocess => "preprocess".to_string(),
            Step::Layer(i) => arch
                .layers
                .get(i)
                .map_or_else(|| format!("layer{i}"), |l| l.prefix()),
            Step::Pool => "pool".to_string(),
            Step::Classifier => "classifier".to_string(),
            Step::Softmax => "softmax".to_string(),
        }
    }

    /// The architecture layer this step runs, if it is a convolution.
    pub fn layer(self, arch: &Architecture) -> Option<&crate::model::ConvLayer> {
        match self {
            Step::Layer(i) => arch.layers.get(i),
            _ => None,
        }
    }
}

/// Every dispatch of one inference, at every resolution.
#[derive(Debug, Clone)]
pub struct Plan {
    /// What each step computes (same at every resolution).
    pub steps: Vec<Step>,
    /// Buffers per step.
    pub io: Vec<StepIo>,
    /// `dispatches[r][s]`: step `s` at resolution index `r`. Step 0
    /// (preprocess) is re-made per frame; the classifier's workgroup count is
    /// set per patch.
    pub dispatches: Vec<Vec<Dispatch>>,
    /// f32 elements each activation buffer must hold.
    pub activation_len: usize,
}

/// Index of the preprocess step.
pub const PREPROCESS_STEP: usize = 0;

impl Plan {
    /// Plans `backbone` at `resolutions`.
    pub fn new(backbone: &Backbone, resolutions: &[Resolution]) -> Plan {
        let arch = &backbone.arch;
        let padding = backbone.config.padding;
        let mut io = vec![StepIo {
            input: Slot::Image,
            output: Slot::Activation(0),
            residual: Slot::Unused,
        }];
        let mut current = 0usize;
        let mut pinned: Option<usize> = None;
        let mut block = None;
        for layer in &arch.layers {
            if layer.block.is_some() && layer.block != block {
                block = layer.block;
                let has_residual = arch.layers.iter().any(|l| l.block == block && l.residual);
                pinned = has_residual.then_some(current);
            }
            let out = (0..ACTIVATION_BUFFERS)
                .find(|b| *b != current && Some(*b) != pinned)
                .unwrap_or(0);
            let residual = match (layer.residual, pinned) {
                (true, Some(p)) => Slot::Activation(p),
                _ => Slot::Unused,
            };
            io.push(StepIo {
                input: Slot::Activation(current),
                output: Slot::Activation(out),
                residual,
            });
            if layer.kind == LayerKind::Project {
                pinned = None;
            }
            current = out;
        }
        let pooled = (current + 1) % ACTIVATION_BUFFERS;
        io.push(StepIo {
            input: Slot::Activation(current),
            output: Slot::Activation(pooled),
            residual: Slot::Unused,
        });
        io.push(StepIo {
            input: Slot::Activation(pooled),
            output: Slot::Logits,
            residual: Slot::Unused,
        });
        io.push(StepIo {
            input: Slot::Logits,
            output: Slot::Probabilities,
            residual: Slot::Unused,
        });

        let mut activation_len = arch.feature_channels as usize;
        let dispatches = resolutions
            .iter()
            .map(|res| {
                let side = res.side();
                let mut steps = vec![ops::preprocess::dispatch(
                    side,
                    side,
                    side,
                    &backbone.config.normalization,
                )];
                activation_len = activation_len.max((side * side * 3) as usize);
                let (mut h, mut w) = (side, side);
                for (i, layer) in arch.layers.iter().enumerate() {
                    let wo = arch.layout.weight_offset[i] as u32;
                    let so = arch.layout.scale_bias_offset[i] as u32;
                    let d = match layer.kind {
                        LayerKind::Stem => ops::stem_conv::dispatch(
                            StemConvShape {
                                h,
                                w,
                                cin: layer.in_channels,
                                cout: layer.out_channels,
                                kernel: layer.kernel,
                                stride: layer.stride,
                                padding,
                            },
                            wo,
                            so,
                        ),
                        LayerKind::Depthwise => ops::depthwise::dispatch(
                            DepthwiseShape {
                                h,
                                w,
                                c: layer.out_channels,
                                kernel: layer.kernel,
                                stride: layer.stride,
                                padding,
                            },
                            wo,
                            so,
                        ),
                        LayerKind::Expand | LayerKind::Project | LayerKind::Head => {
                            ops::pointwise::dispatch(
                                PointwiseShape {
                                    h,
                                    w,
                                    cin: layer.in_channels,
                                    cout: layer.out_channels,
                                    relu6: layer.relu6,
                                    residual: layer.residual,
                                },
                                wo,
                                so,
                            )
                        }
                    };
                    h = d.params.out_h;
                    w = d.params.out_w;
                    activation_len = activation_len.max((h * w * layer.out_channels) as usize);
                    steps.push(d);
                }
                steps.push(ops::pool_head::pool(h, w, arch.feature_channels));
                steps.push(ops::pool_head::classifier(
                    arch.feature_channels,
                    arch.classes,
                ));
                steps.push(ops::pool_head::softmax());
                steps
            })
            .collect();
        let steps = std::iter::once(Step::Preprocess)
            .chain((0..arch.layers.len()).map(Step::Layer))
            .chain([Step::Pool, Step::Classifier, Step::Softmax])
            .collect();
        Plan {
            steps,
            io,
            dispatches,
            activation_len,
        }
    }

    /// The name of every step, in dispatch order (see [`Step::name`]).
    pub fn step_names(&self, arch: &Architecture) -> Vec<String> {
        self.steps.iter().map(|s| s.name(arch)).collect()
    }

    /// Index of the classifier step.
    pub fn classifier_step(&self) -> usize {
        self.io.len() - 2
    }
}

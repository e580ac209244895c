//! The network's layer table: MobileNetV2 built from its block table and width
//! multiplier, and the tensor names and buffer offsets derived from it.
//!
//! Everything downstream (file validation, GPU plan, CPU reference) walks
//! [`Architecture::layers`], so the shape of the network is decided here once.

/// One row of an inverted-residual block table (the paper's `t, c, n, s`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockSpec {
    /// Expansion factor `t` (1 means no expand convolution).
    pub expansion: u32,
    /// Output channels `c` before the width multiplier.
    pub channels: u32,
    /// Number of repeats `n`.
    pub repeats: u32,
    /// Stride `s` of the first repeat.
    pub stride: u32,
    /// Depthwise kernel size (3 for MobileNetV2).
    pub kernel: u32,
}

/// MobileNetV2's block table.
pub const MOBILENET_V2_BLOCKS: [BlockSpec; 7] = [
    BlockSpec {
        expansion: 1,
        channels: 16,
        repeats: 1,
        stride: 1,
        kernel: 3,
    },
    BlockSpec {
        expansion: 6,
        channels: 24,
        repeats: 2,
        stride: 2,
        kernel: 3,
    },
    BlockSpec {
        expansion: 6,
        channels: 32,
        repeats: 3,
        stride: 2,
        kernel: 3,
    },
    BlockSpec {
        expansion: 6,
        channels: 64,
        repeats: 4,
        stride: 2,
        kernel: 3,
    },
    BlockSpec {
        expansion: 6,
        channels: 96,
        repeats: 3,
        stride: 1,
        kernel: 3,
    },
    BlockSpec {
        expansion: 6,
        channels: 160,
        repeats: 3,
        stride: 2,
        kernel: 3,
    },
    BlockSpec {
        expansion: 6,
        channels: 320,
        repeats: 1,
        stride: 1,
        kernel: 3,
    },
];

/// Stem output channels before the width multiplier.
pub const STEM_CHANNELS: u32 = 32;
/// Feature channels of the last 1x1 convolution for width <= 1.0.
pub const HEAD_CHANNELS: u32 = 1280;
/// Width multipliers the runtime is tested with.
pub const SUPPORTED_WIDTHS: [f32; 4] = [1.0, 0.75, 0.5, 0.35];

/// Rounds `value` to a multiple of `divisor` the way MobileNet implementations do:
/// nearest multiple, at least `divisor`, and never more than 10% below `value`.
pub fn make_divisible(value: f32, divisor: u32) -> u32 {
    let d = divisor as f32;
    let rounded = (((value + d / 2.0) / d).floor() * d).max(d);
    if rounded < 0.9 * value {
        (rounded + d) as u32
    } else {
        rounded as u32
    }
}

/// What a convolution layer is in the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LayerKind {
    /// 3x3 stride-2 convolution on the RGB input.
    Stem,
    /// 1x1 expansion of a block.
    Expand,
    /// kxk depthwise convolution of a block.
    Depthwise,
    /// 1x1 linear projection of a block (optionally with a residual add).
    Project,
    /// Final 1x1 convolution to the feature channels.
    Head,
}

/// One convolution + BatchNorm (+ activation) layer.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvLayer {
    /// What the layer is.
    pub kind: LayerKind,
    /// Block index for block layers, `None` for stem and head.
    pub block: Option<usize>,
    /// Input channels.
    pub in_channels: u32,
    /// Output channels.
    pub out_channels: u32,
    /// Square kernel size.
    pub kernel: u32,
    /// Stride (same in both axes).
    pub stride: u32,
    /// Whether ReLU6 follows the BatchNorm.
    pub relu6: bool,
    /// Whether the block input is added to the output (project layers only).
    pub residual: bool,
}

impl ConvLayer {
    /// Tensor-name prefix, e.g. `stem`, `blocks.3.expand`, `head`.
    pub fn prefix(&self) -> String {
        match (self.kind, self.block) {
            (LayerKind::Stem, _) => "stem".to_string(),
            (LayerKind::Head, _) => "head".to_string(),
            (kind, Some(b)) => {
                let role = match kind {
                    LayerKind::Expand => "expand",
                    LayerKind::Depthwise => "depthwise",
                    _ => "project",
                };
                format!("blocks.{b}.{role}")
            }
            (_, None) => "unnamed".to_string(),
        }
    }

    /// Name of the convolution weight tensor.
    pub fn weight_name(&self) -> String {
        format!("{}.conv.weight", self.prefix())
    }

    /// Shape of the convolution weight in the PatchRT format.
    ///
    /// Stem: `[k, k, in, out]`; depthwise: `[k, k, channels]`; 1x1: `[in, out]`.
    /// These are the layouts the kernels read, so no transpose happens at load.
    pub fn weight_shape(&self) -> Vec<usize> {
        let (k, i, o) = (
            self.kernel as usize,
            self.in_channels as usize,
            self.out_channels as usize,
        );
        match self.kind {
            LayerKind::Stem => vec![k, k, i, o],
            LayerKind::Depthwise => vec![k, k, o],
            LayerKind::Expand | LayerKind::Project | LayerKind::Head => vec![i, o],
        }
    }

    /// Number of weight elements.
    pub fn weight_len(&self) -> usize {
        self.weight_shape().iter().product()
    }

    /// Name of a BatchNorm tensor of this layer (`gamma`, `beta`, `mean`, `var`,
    /// or the folded `scale`, `bias`).
    pub fn bn_name(&self, field: &str) -> String {
        format!("{}.bn.{field}", self.prefix())
    }
}

/// A complete network: layers in execution order plus the classifier shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Architecture {
    /// Width multiplier the channel counts were derived from.
    pub width: f32,
    /// Convolution layers in execution order (each followed by its BatchNorm).
    pub layers: Vec<ConvLayer>,
    /// Channels entering global average pooling (input of the classifier).
    pub feature_channels: u32,
    /// Number of classes of the backbone's own classifier.
    pub classes: u32,
    /// Offsets of every tensor in the engine's flat buffers.
    pub layout: WeightLayout,
}

/// Element offsets of every layer's tensors in the engine's flat buffers.
///
/// Computed once per architecture; a patch is then one flat scale/bias vector
/// (and optionally one flat depthwise vector) laid out by these offsets.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WeightLayout {
    /// Per layer: offset into the dense conv-weight buffer (stem, expand,
    /// project, head), or into the depthwise buffer for depthwise layers.
    pub weight_offset: Vec<usize>,
    /// Per layer: offset of its scale vector in the scale/bias buffer; its bias
    /// follows immediately after `out_channels` values.
    pub scale_bias_offset: Vec<usize>,
    /// Length of the dense conv-weight buffer.
    pub dense_len: usize,
    /// Length of the depthwise buffer.
    pub depthwise_len: usize,
    /// Length of the scale/bias buffer (2 x total BN channels).
    pub scale_bias_len: usize,
}

impl Architecture {
    /// Builds MobileNetV2 (or any network with the same block structure) from a
    /// block table, width multiplier and class count.
    pub fn mobilenet_v2(width: f32, classes: u32, blocks: &[BlockSpec]) -> Architecture {
        let mut layers = Vec::new();
        let stem_out = make_divisible(STEM_CHANNELS as f32 * width, 8);
        layers.push(ConvLayer {
            kind: LayerKind::Stem,
            block: None,
            in_channels: 3,
            out_channels: stem_out,
            kernel: 3,
            stride: 2,
            relu6: true,
            residual: false,
        });
        let mut channels = stem_out;
        let mut block = 0;
        for spec in blocks {
            let out = make_divisible(spec.channels as f32 * width, 8);
            for repeat in 0..spec.repeats {
                let stride = if repeat == 0 { spec.stride } else { 1 };
                let hidden = channels * spec.expansion;
                if spec.expansion != 1 {
                    layers.push(ConvLayer {
                        kind: LayerKind::Expand,
                        block: Some(block),
                        in_channels: channels,
                        out_channels: hidden,
                        kernel: 1,
                        stride: 1,
                        relu6: true,
                        residual: false,
                    });
                }
                layers.push(ConvLayer {
                    kind: LayerKind::Depthwise,
                    block: Some(block),
                    in_channels: hidden,
                    out_channels: hidden,
                    kernel: spec.kernel,
                    stride,
                    relu6: true,
                    residual: false,
                });
                layers.push(ConvLayer {
                    kind: LayerKind::Project,
                    block: Some(block),
                    in_channels: hidden,
                    out_channels: out,
                    kernel: 1,
                    stride: 1,
                    relu6: false,
                    residual: stride == 1 && channels == out,
                });
                channels = out;
                block += 1;
            }
        }
        let feature_channels = if width > 1.0 {
            make_divisible(HEAD_CHANNELS as f32 * width, 8)
        } else {
            HEAD_CHANNELS
        };
        layers.push(ConvLayer {
            kind: LayerKind::Head,
            block: None,
            in_channels: channels,
            out_channels: feature_channels,
            kernel: 1,
            stride: 1,
            relu6: true,
            residual: false,
        });
        let layout = WeightLayout::of(&layers);
        Architecture {
            width,
            layers,
            feature_channels,
            classes,
            layout,
        }
    }

    /// Total number of BatchNorm channels (the size of one scale or bias vector).
    pub fn bn_channels(&self) -> usize {
        self.layers.iter().map(|l| l.out_channels as usize).sum()
    }

    /// Number of parameters: conv weights, BatchNorm (gamma, beta) and classifier.
    pub fn parameter_count(&self) -> usize {
        let conv: usize = self.layers.iter().map(ConvLayer::weight_len).sum();
        conv + 2 * self.bn_channels() + self.classifier_len(self.classes) + self.classes as usize
    }

    /// Elements of a classifier weight with `classes` outputs.
    pub fn classifier_len(&self, classes: u32) -> usize {
        classes as usize * self.feature_channels as usize
    }

    /// Number of parameters in a scale/bias patch (one scale and bias per BN channel).
    pub fn scale_bias_params(&self) -> usize {
        2 * self.bn_channels()
    }

    /// Multiply-adds of one inference at `side x side` (convolutions and the
    /// classifier), the cost measure the paper's tables use.
    pub fn multiply_adds(&self, side: u32, padding: crate::model::Padding) -> u64 {
        let (mut h, mut w) = (side, side);
        let mut total = 0u64;
        for layer in &self.layers {
            let (_, oh) = padding.begin_and_output(h, layer.kernel, layer.stride);
            let (_, ow) = padding.begin_and_output(w, layer.kernel, layer.stride);
            let per_pixel = match layer.kind {
                LayerKind::Depthwise => (layer.kernel * layer.kernel * layer.out_channels) as u64,
                _ => layer.weight_len() as u64,
            };
            total += per_pixel * (oh * ow) as u64;
            (h, w) = (oh, ow);
        }
        total + self.classifier_len(self.classes) as u64
    }

    /// Number of depthwise kernel parameters (the paper's DW patch).
    pub fn depthwise_params(&self) -> usize {
        self.layout.depthwise_len
    }
}

impl WeightLayout {
    fn of(layers: &[ConvLayer]) -> WeightLayout {
        let mut layout = WeightLayout::default();
        for layer in layers {
            let len = layer.weight_len();
            if layer.kind == LayerKind::Depthwise {
                layout.weight_offset.push(layout.depthwise_len);
                layout.depthwise_len += len;
            } else {
                layout.weight_offset.push(layout.dense_len);
                layout.dense_len += len;
            }
            layout.scale_bias_offset.push(layout.scale_bias_len);
            layout.scale_bias_len += 2 * layer.out_channels as usize;
        }
        layout
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobilenet_v2_has_52_bn_layers_and_3_5m_parameters() {
        let arch = Architecture::mobilenet_v2(1.0, 1000, &MOBILENET_V2_BLOCKS);
        assert_eq!(arch.layers.len(), 52);
        assert_eq!(arch.layers.iter().filter(|l| l.residual).count(), 10);
        // torchvision's mobilenet_v2 has 3,504,872 parameters; BN running stats
        // are not parameters, and neither are they here.
        assert_eq!(arch.parameter_count(), 3_504_872);
        // The paper quotes ~34K-36K scale/bias values for MobileNetV2 1.0.
        assert_eq!(arch.scale_bias_params(), 34_112);
        // About 300M multiply-adds at 224 (the published figure), 56M at 96.
        let macs = arch.multiply_adds(224, crate::model::Padding::Symmetric);
        assert!((295_000_000..=305_000_000).contains(&macs), "{macs}");
        let macs96 = arch.multiply_adds(96, crate::model::Padding::Symmetric);
        assert!((54_000_000..=58_000_000).contains(&macs96), "{macs96}");
    }

    #[test]
    fn narrow_widths_round_channels_to_multiples_of_8() {
        for width in SUPPORTED_WIDTHS {
            let arch = Architecture::mobilenet_v2(width, 1000, &MOBILENET_V2_BLOCKS);
            for l in &arch.layers[1..] {
                assert_eq!(l.out_channels % 8, 0, "{width} {}", l.prefix());
            }
            assert_eq!(arch.feature_channels, 1280);
        }
        let a = Architecture::mobilenet_v2(0.35, 1000, &MOBILENET_V2_BLOCKS);
        assert_eq!(a.layers[0].out_channels, 16);
    }
}

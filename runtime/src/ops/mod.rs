//! Kernel families: parameter records, dispatch sizes and standalone runs.
//!
//! | family | formula | layout | entry points |
//! |---|---|---|---|
//! | `preprocess` | bilinear resize, `(x - mean) * scale` | RGBA8 u32 -> HWC3 | `preprocess` |
//! | `stem_conv` | `relu6(bn(conv_kxk(x)))` | W `[k,k,ci,co]` | `stem_conv`, `stem_conv_vec4_k3s2` |
//! | `pointwise` | `bn(x·W) [relu6] [+ skip]` | W `[ci,co]` | `pointwise`, `pointwise_vec4`, `pointwise_vec4_channel_major` |
//! | `depthwise` | `relu6(bn(dwconv_kxk(x)))` | W `[k,k,c]` | `depthwise`, `depthwise_vec4_k{3,5}s{1,2}` |
//! | `pool_head` | mean over HW; `W·f + b`; softmax | W `[classes,f]` | `global_avg_pool`, `classifier`, `classifier_vec4`, `softmax` |
//!
//! A family's `_vec4` entry point computes the same function with four-channel
//! loads and stores; its `dispatch` picks it whenever the channel counts and
//! the weight and scale offsets are multiples of 4 (every MobileNetV2 layer
//! past the stem), and the scalar entry point otherwise.
//!
//! One pass may serve several patches over one frame (K patches in one pass):
//! the convolution and pooling kernels take the patch index from x (the vec4
//! entry points, patches after one another, so small layers of a batch fill
//! SIMD lanes one patch leaves idle) or z (the scalar ones), and the vec4
//! stem loops over the patches itself (their input is the same frame); see
//! [`BatchAxis`] and [`BatchParams`]. Weights are read by every patch's
//! invocations of one dispatch, so a GPU fetches each once per pass.
//!
//! Every dispatch reads one [`LayerParams`] record. The engine writes all
//! records of all resolutions into one uniform buffer once and selects a record
//! with a dynamic offset, so no per-inference parameter upload is needed except
//! the preprocess record (the image size changes per frame).

pub mod depthwise;
pub mod pointwise;
pub mod pool_head;
pub mod preprocess;
pub mod standalone;
pub mod stem_conv;

use crate::shaders::{self, ShaderFile};

/// Bytes between parameter records (the largest `min_uniform_buffer_offset_alignment`).
pub const PARAMS_STRIDE: u64 = 256;

/// The per-dispatch parameter record; `LayerParams` in `shaders/common.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct LayerParams {
    /// Input height.
    pub in_h: u32,
    /// Input width.
    pub in_w: u32,
    /// Input channels (features for the classifier).
    pub in_c: u32,
    /// Padding to 16 bytes.
    pub pad0: u32,
    /// Output height.
    pub out_h: u32,
    /// Output width.
    pub out_w: u32,
    /// Output channels.
    pub out_c: u32,
    /// Padding to 16 bytes.
    pub pad1: u32,
    /// Kernel side.
    pub kernel: u32,
    /// Stride.
    pub stride: u32,
    /// Padding rows before the input.
    pub pad_top: u32,
    /// Padding columns before the input.
    pub pad_left: u32,
    /// Element offset of the layer's weights in its weight buffer.
    pub weight_offset: u32,
    /// Element offset of the layer's scales in the scale/bias buffer.
    pub scale_offset: u32,
    /// 1 when ReLU6 follows.
    pub relu6: u32,
    /// 1 when the residual input is added.
    pub residual: u32,
    /// Input mean per channel (preprocess only).
    pub norm_mean: [f32; 4],
    /// Input scale per channel (preprocess only).
    pub norm_scale: [f32; 4],
}

/// The batch record: how many patches a pass serves and where each patch's
/// data starts; `BatchParams` in `shaders/common.wgsl` (group 2, binding 9).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct BatchParams {
    /// Patches in the pass (1 for a single-patch inference).
    pub patches: u32,
    /// Elements between consecutive patches' scale/bias (a multiple of 4).
    pub scale_bias_stride: u32,
    /// Elements between consecutive patches' depthwise kernels (a multiple
    /// of 4), or 0 when every patch uses the same kernels.
    pub dw_stride: u32,
    /// Padding to 16 bytes.
    pub pad: u32,
}

impl BatchParams {
    /// The record of a single-patch inference.
    pub const SINGLE: BatchParams = BatchParams {
        patches: 1,
        scale_bias_stride: 0,
        dw_stride: 0,
        pad: 0,
    };
}

/// Elements between consecutive patches' pooled features: `c` rounded up to
/// 64, so each patch's features start at a 256-byte offset and can be bound
/// alone (`feature_stride` in `shaders/pool_head.wgsl`).
pub fn feature_stride(c: u32) -> u32 {
    c.div_ceil(64) * 64
}

/// How a dispatch covers the patches of a pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchAxis {
    /// Patches follow one another along x: each needs `per_patch`
    /// invocations, grouped `workgroup` to a workgroup.
    X {
        /// Invocations along x for one patch.
        per_patch: u32,
        /// Workgroup size along x.
        workgroup: u32,
    },
    /// One layer of workgroups along z per patch.
    Z,
    /// Each invocation loops over the patches itself: the vec4 stem, whose
    /// input (the frame) every patch shares, computes its convolution once
    /// and applies each patch's BN to it.
    Inside,
    /// Not batched: preprocessing runs once per frame, and the engine runs
    /// the classifier and softmax once per patch on that patch's slices.
    Once,
}

/// A compute entry point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// `preprocess.wgsl::preprocess`.
    Preprocess,
    /// `stem_conv.wgsl::stem_conv`.
    StemConv,
    /// `stem_conv.wgsl::stem_conv_vec4_k3s2` (RGB input, 3x3 stride 2, out
    /// channels and offsets multiples of 4).
    StemConvVec4K3S2,
    /// `pointwise.wgsl::pointwise`.
    Pointwise,
    /// `pointwise.wgsl::pointwise_vec4` (channels and offsets multiples of 4).
    PointwiseVec4,
    /// `pointwise.wgsl::pointwise_vec4_channel_major` (the same, for layers
    /// of few pixels).
    PointwiseVec4ChannelMajor,
    /// `depthwise.wgsl::depthwise`.
    Depthwise,
    /// `depthwise.wgsl::depthwise_vec4_k3s1` (channels and offsets multiples of 4).
    DepthwiseVec4K3S1,
    /// `depthwise.wgsl::depthwise_vec4_k3s2`.
    DepthwiseVec4K3S2,
    /// `depthwise.wgsl::depthwise_vec4_k5s1`.
    DepthwiseVec4K5S1,
    /// `depthwise.wgsl::depthwise_vec4_k5s2`.
    DepthwiseVec4K5S2,
    /// `pool_head.wgsl::global_avg_pool`.
    GlobalAvgPool,
    /// `pool_head.wgsl::classifier`.
    Classifier,
    /// `pool_head.wgsl::classifier_vec4` (features a multiple of 4).
    ClassifierVec4,
    /// `pool_head.wgsl::softmax`.
    Softmax,
}

impl Kernel {
    /// Every entry point.
    pub const ALL: [Kernel; 15] = [
        Kernel::Preprocess,
        Kernel::StemConv,
        Kernel::StemConvVec4K3S2,
        Kernel::Pointwise,
        Kernel::PointwiseVec4,
        Kernel::PointwiseVec4ChannelMajor,
        Kernel::Depthwise,
        Kernel::DepthwiseVec4K3S1,
        Kernel::DepthwiseVec4K3S2,
        Kernel::DepthwiseVec4K5S1,
        Kernel::DepthwiseVec4K5S2,
        Kernel::GlobalAvgPool,
        Kernel::Classifier,
        Kernel::ClassifierVec4,
        Kernel::Softmax,
    ];

    /// The family file that holds the entry point.
    pub fn family(self) -> ShaderFile {
        match self {
            Kernel::Preprocess => shaders::PREPROCESS,
            Kernel::StemConv | Kernel::StemConvVec4K3S2 => shaders::STEM_CONV,
            Kernel::Pointwise | Kernel::PointwiseVec4 | Kernel::PointwiseVec4ChannelMajor => {
                shaders::POINTWISE
            }
            Kernel::Depthwise
            | Kernel::DepthwiseVec4K3S1
            | Kernel::DepthwiseVec4K3S2
            | Kernel::DepthwiseVec4K5S1
            | Kernel::DepthwiseVec4K5S2 => shaders::DEPTHWISE,
            Kernel::GlobalAvgPool
            | Kernel::Classifier
            | Kernel::ClassifierVec4
            | Kernel::Softmax => shaders::POOL_HEAD,
        }
    }

    /// WGSL entry-point name.
    pub fn entry_point(self) -> &'static str {
        match self {
            Kernel::Preprocess => "preprocess",
            Kernel::StemConv => "stem_conv",
            Kernel::StemConvVec4K3S2 => "stem_conv_vec4_k3s2",
            Kernel::Pointwise => "pointwise",
            Kernel::PointwiseVec4 => "pointwise_vec4",
            Kernel::PointwiseVec4ChannelMajor => "pointwise_vec4_channel_major",
            Kernel::Depthwise => "depthwise",
            Kernel::DepthwiseVec4K3S1 => "depthwise_vec4_k3s1",
            Kernel::DepthwiseVec4K3S2 => "depthwise_vec4_k3s2",
            Kernel::DepthwiseVec4K5S1 => "depthwise_vec4_k5s1",
            Kernel::DepthwiseVec4K5S2 => "depthwise_vec4_k5s2",
            Kernel::GlobalAvgPool => "global_avg_pool",
            Kernel::Classifier => "classifier",
            Kernel::ClassifierVec4 => "classifier_vec4",
            Kernel::Softmax => "softmax",
        }
    }
}

/// One dispatch: which kernel, its parameter record and its workgroup counts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dispatch {
    /// Entry point.
    pub kernel: Kernel,
    /// Parameter record.
    pub params: LayerParams,
    /// Workgroup counts for one patch.
    pub workgroups: [u32; 3],
    /// How the workgroup counts grow with the patches of a pass.
    pub batch: BatchAxis,
}

impl Dispatch {
    /// The dispatch of a pass over `patches` patches (1 or more): the same
    /// function, its workgroup counts grown along [`Dispatch::batch`], and
    /// the entry point re-chosen where the batch changes which is faster
    /// (see [`pointwise::for_patches`]).
    pub fn for_patches(&self, patches: u32) -> Dispatch {
        match self.kernel {
            Kernel::PointwiseVec4 | Kernel::PointwiseVec4ChannelMajor => {
                pointwise::for_patches(self, patches)
            }
            _ => Dispatch {
                workgroups: self.workgroups_for(patches),
                ..*self
            },
        }
    }

    /// Workgroup counts for a pass over `patches` patches with this entry point.
    fn workgroups_for(&self, patches: u32) -> [u32; 3] {
        let [x, y, z] = self.workgroups;
        match self.batch {
            BatchAxis::X {
                per_patch,
                workgroup,
            } => [groups(per_patch * patches, workgroup), y, z],
            BatchAxis::Z => [x, y, z * patches],
            BatchAxis::Inside | BatchAxis::Once => self.workgroups,
        }
    }
}

/// Workgroups of `size` needed to cover `n` invocations.
pub(crate) fn groups(n: u32, size: u32) -> u32 {
    n.div_ceil(size).max(1)
}

/// Spatial geometry of a convolution: `(pad_top, pad_left, out_h, out_w)`.
pub(crate) fn conv_geometry(
    padding: crate::model::Padding,
    h: u32,
    w: u32,
    k: u32,
    s: u32,
) -> (u32, u32, u32, u32) {
    let (pt, oh) = padding.begin_and_output(h, k, s);
    let (pl, ow) = padding.begin_and_output(w, k, s);
    (pt, pl, oh, ow)
}

//! `shaders/stem_conv.wgsl`: dense kxk convolution with fused BN and ReLU6.

use super::{BatchAxis, Dispatch, Kernel, LayerParams, conv_geometry, groups};
use crate::model::Padding;

/// Output pixels along a row computed by one invocation (`TILE` in the shader).
pub const TILE: u32 = 4;

/// Shape of a dense convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StemConvShape {
    /// Input height.
    pub h: u32,
    /// Input width.
    pub w: u32,
    /// Input channels.
    pub cin: u32,
    /// Output channels.
    pub cout: u32,
    /// Kernel side.
    pub kernel: u32,
    /// Stride.
    pub stride: u32,
    /// Padding convention.
    pub padding: Padding,
}

/// Output pixels along a row per invocation of `stem_conv_vec4_k3s2` (`TILE_V`).
pub const VEC4_TILE: u32 = 8;
/// Output channels per invocation of `stem_conv_vec4_k3s2`.
pub const VEC4_CHANNELS: u32 = 8;
/// Invocations per workgroup of `stem_conv_vec4_k3s2` (all along x).
pub const VEC4_WORKGROUP: u32 = 64;

/// Whether `stem_conv_vec4_k3s2` serves `shape` at these offsets: it is
/// written out for MobileNetV2's stem (RGB input, 3x3 kernel, stride 2) and
/// loads weights and stores outputs four channels at a time.
pub fn vec4_eligible(shape: StemConvShape, weight_offset: u32, scale_offset: u32) -> bool {
    shape.cin == 3
        && shape.kernel == 3
        && shape.stride == 2
        && shape.cout.is_multiple_of(4)
        && weight_offset.is_multiple_of(4)
        && scale_offset.is_multiple_of(4)
}

/// The dispatch for `shape` with weights at `weight_offset` and scales at
/// `scale_offset`: `stem_conv_vec4_k3s2` where [`vec4_eligible`], else the
/// general `stem_conv`.
pub fn dispatch(shape: StemConvShape, weight_offset: u32, scale_offset: u32) -> Dispatch {
    let (pt, pl, oh, ow) =
        conv_geometry(shape.padding, shape.h, shape.w, shape.kernel, shape.stride);
    let vec4 = vec4_eligible(shape, weight_offset, scale_offset);
    let tiles = oh * ow.div_ceil(VEC4_TILE);
    let (workgroups, batch) = if vec4 {
        (
            [
                groups(tiles, VEC4_WORKGROUP),
                shape.cout.div_ceil(VEC4_CHANNELS),
                1,
            ],
            BatchAxis::Inside,
        )
    } else {
        (
            [
                groups(shape.cout.div_ceil(4), 8),
                groups(oh * ow.div_ceil(TILE), 8),
                1,
            ],
            BatchAxis::Z,
        )
    };
    Dispatch {
        kernel: if vec4 {
            Kernel::StemConvVec4K3S2
        } else {
            Kernel::StemConv
        },
        params: LayerParams {
            in_h: shape.h,
            in_w: shape.w,
            in_c: shape.cin,
            out_h: oh,
            out_w: ow,
            out_c: shape.cout,
            kernel: shape.kernel,
            stride: shape.stride,
            pad_top: pt,
            pad_left: pl,
            weight_offset,
            scale_offset,
            relu6: 1,
            ..LayerParams::default()
        },
        workgroups,
        batch,
    }
}

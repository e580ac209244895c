//! `shaders/depthwise.wgsl`: kxk depthwise convolution with fused BN and ReLU6.

use super::{Dispatch, Kernel, LayerParams, conv_geometry, groups};
use crate::model::Padding;

/// Output pixels along a row computed by one invocation (`TILE` in the shader).
pub const TILE: u32 = 4;

/// Shape of a depthwise convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DepthwiseShape {
    /// Input height.
    pub h: u32,
    /// Input width.
    pub w: u32,
    /// Channels.
    pub c: u32,
    /// Kernel side (3 or 5).
    pub kernel: u32,
    /// Stride (1 or 2).
    pub stride: u32,
    /// Padding convention.
    pub padding: Padding,
}

/// The dispatch for `shape` with kernels at `weight_offset` of the depthwise buffer.
pub fn dispatch(shape: DepthwiseShape, weight_offset: u32, scale_offset: u32) -> Dispatch {
    let (pt, pl, oh, ow) =
        conv_geometry(shape.padding, shape.h, shape.w, shape.kernel, shape.stride);
    Dispatch {
        kernel: Kernel::Depthwise,
        params: LayerParams {
            in_h: shape.h,
            in_w: shape.w,
            in_c: shape.c,
            out_h: oh,
            out_w: ow,
            out_c: shape.c,
            kernel: shape.kernel,
            stride: shape.stride,
            pad_top: pt,
            pad_left: pl,
            weight_offset,
            scale_offset,
            relu6: 1,
            ..LayerParams::default()
        },
        workgroups: [
            groups(shape.c.div_ceil(4), 8),
            groups(oh * ow.div_ceil(TILE), 8),
            1,
        ],
    }
}

//! `shaders/stem_conv.wgsl`: dense kxk convolution with fused BN and ReLU6.

use super::{Dispatch, Kernel, LayerParams, conv_geometry, groups};
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

/// The dispatch for `shape` with weights at `weight_offset` and scales at `scale_offset`.
pub fn dispatch(shape: StemConvShape, weight_offset: u32, scale_offset: u32) -> Dispatch {
    let (pt, pl, oh, ow) =
        conv_geometry(shape.padding, shape.h, shape.w, shape.kernel, shape.stride);
    Dispatch {
        kernel: Kernel::StemConv,
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
        workgroups: [
            groups(shape.cout.div_ceil(4), 8),
            groups(oh * ow.div_ceil(TILE), 8),
            1,
        ],
    }
}

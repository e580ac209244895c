//! `shaders/depthwise.wgsl`: kxk depthwise convolution with fused BN and ReLU6.

use super::{BatchAxis, Dispatch, Kernel, LayerParams, conv_geometry, groups};
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

/// Output pixels along a row per invocation of the vec4 entry points (`TILE4`).
pub const VEC4_TILE: u32 = 4;
/// Invocations per workgroup of the vec4 entry points (all along x).
pub const VEC4_WORKGROUP: u32 = 64;

/// The vec4 entry point that serves `shape` at these offsets, if any: four
/// channels per load needs channels and offsets in multiples of 4, and the
/// kernel side and stride are fixed per entry point so its loops unroll.
pub fn vec4_kernel(shape: DepthwiseShape, weight_offset: u32, scale_offset: u32) -> Option<Kernel> {
    if !shape.c.is_multiple_of(4)
        || !weight_offset.is_multiple_of(4)
        || !scale_offset.is_multiple_of(4)
    {
        return None;
    }
    match (shape.kernel, shape.stride) {
        (3, 1) => Some(Kernel::DepthwiseVec4K3S1),
        (3, 2) => Some(Kernel::DepthwiseVec4K3S2),
        (5, 1) => Some(Kernel::DepthwiseVec4K5S1),
        (5, 2) => Some(Kernel::DepthwiseVec4K5S2),
        _ => None,
    }
}

/// The dispatch for `shape` with kernels at `weight_offset` of the depthwise
/// buffer: the [`vec4_kernel`] where there is one, else the scalar `depthwise`.
pub fn dispatch(shape: DepthwiseShape, weight_offset: u32, scale_offset: u32) -> Dispatch {
    let (pt, pl, oh, ow) =
        conv_geometry(shape.padding, shape.h, shape.w, shape.kernel, shape.stride);
    let vec4 = vec4_kernel(shape, weight_offset, scale_offset);
    let tiles = oh * ow.div_ceil(VEC4_TILE);
    let (workgroups, batch) = match vec4 {
        Some(_) => (
            [groups(tiles, VEC4_WORKGROUP), shape.c.div_ceil(4), 1],
            BatchAxis::X {
                per_patch: tiles,
                workgroup: VEC4_WORKGROUP,
            },
        ),
        None => (
            [
                groups(shape.c.div_ceil(4), 8),
                groups(oh * ow.div_ceil(TILE), 8),
                1,
            ],
            BatchAxis::Z,
        ),
    };
    Dispatch {
        kernel: vec4.unwrap_or(Kernel::Depthwise),
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
        workgroups,
        batch,
    }
}

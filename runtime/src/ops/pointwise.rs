//! `shaders/pointwise.wgsl`: 1x1 convolution with fused BN, optional ReLU6 and residual.

use super::{BatchAxis, Dispatch, Kernel, LayerParams, groups};

/// Shape and epilogue of a 1x1 convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PointwiseShape {
    /// Height (same in and out).
    pub h: u32,
    /// Width (same in and out).
    pub w: u32,
    /// Input channels.
    pub cin: u32,
    /// Output channels.
    pub cout: u32,
    /// Whether ReLU6 follows the BN.
    pub relu6: bool,
    /// Whether the residual input is added after the BN.
    pub residual: bool,
}

/// Pixels per invocation of `pointwise_vec4`.
pub const VEC4_PIXELS: u32 = 8;
/// Output channels per invocation of `pointwise_vec4`.
pub const VEC4_CHANNELS: u32 = 8;
/// Invocations per workgroup of `pointwise_vec4` (all along x).
pub const VEC4_WORKGROUP: u32 = 64;

/// Whether `pointwise_vec4` serves `shape` at these offsets: every vec4 it
/// loads or stores must hold four channels of one pixel or one weight row.
pub fn vec4_eligible(shape: PointwiseShape, weight_offset: u32, scale_offset: u32) -> bool {
    shape.cin.is_multiple_of(4)
        && shape.cout.is_multiple_of(4)
        && weight_offset.is_multiple_of(4)
        && scale_offset.is_multiple_of(4)
}

/// The dispatch for `shape`: `pointwise_vec4` where [`vec4_eligible`], else
/// the scalar `pointwise`.
pub fn dispatch(shape: PointwiseShape, weight_offset: u32, scale_offset: u32) -> Dispatch {
    let vec4 = vec4_eligible(shape, weight_offset, scale_offset);
    let pixels = shape.h * shape.w;
    let tiles = pixels.div_ceil(VEC4_PIXELS);
    let (workgroups, batch) = if vec4 {
        (
            [
                groups(tiles, VEC4_WORKGROUP),
                shape.cout.div_ceil(VEC4_CHANNELS),
                1,
            ],
            BatchAxis::X {
                per_patch: tiles,
                workgroup: VEC4_WORKGROUP,
            },
        )
    } else {
        (
            [
                groups(shape.cout.div_ceil(8), 8),
                groups(pixels.div_ceil(4), 8),
                1,
            ],
            BatchAxis::Z,
        )
    };
    Dispatch {
        kernel: if vec4 {
            Kernel::PointwiseVec4
        } else {
            Kernel::Pointwise
        },
        params: LayerParams {
            in_h: shape.h,
            in_w: shape.w,
            in_c: shape.cin,
            out_h: shape.h,
            out_w: shape.w,
            out_c: shape.cout,
            kernel: 1,
            stride: 1,
            weight_offset,
            scale_offset,
            relu6: u32::from(shape.relu6),
            residual: u32::from(shape.residual),
            ..LayerParams::default()
        },
        workgroups,
        batch,
    }
}

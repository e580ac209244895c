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

/// Below this many 8-pixel tiles in a pass (at most 56 pixels for one patch),
/// vec4-eligible shapes go to `pointwise_vec4_channel_major`. llvmpipe runs
/// 8 invocations in SIMD lanes; with pixel tiles along x a 3x3 layer (2
/// tiles) leaves 6 of 8 lanes idle in every one of its `cout / 8`
/// workgroups, while channel groups along x fill them all. A pass over
/// several patches fills the lanes with their tiles, and there 64-wide
/// workgroups measured faster (fewer workgroups to schedule).
pub const CHANNEL_MAJOR_BELOW_TILES: u32 = 8;
/// Invocations per workgroup of `pointwise_vec4_channel_major`.
pub const CHANNEL_MAJOR_WORKGROUP: u32 = 8;

/// Whether `pointwise_vec4` serves `shape` at these offsets: every vec4 it
/// loads or stores must hold four channels of one pixel or one weight row.
pub fn vec4_eligible(shape: PointwiseShape, weight_offset: u32, scale_offset: u32) -> bool {
    shape.cin.is_multiple_of(4)
        && shape.cout.is_multiple_of(4)
        && weight_offset.is_multiple_of(4)
        && scale_offset.is_multiple_of(4)
}

/// The vec4 entry point, workgroup counts and batch axis for a pass over
/// `patches` patches of `tiles` 8-pixel tiles and `channel_groups` groups of
/// 8 output channels each: `pointwise_vec4_channel_major` while the pass has
/// fewer than [`CHANNEL_MAJOR_BELOW_TILES`] tiles, else `pointwise_vec4`.
fn vec4_layout(tiles: u32, channel_groups: u32, patches: u32) -> (Kernel, [u32; 3], BatchAxis) {
    if tiles * patches < CHANNEL_MAJOR_BELOW_TILES {
        let per_patch = tiles * channel_groups;
        (
            Kernel::PointwiseVec4ChannelMajor,
            [groups(per_patch * patches, CHANNEL_MAJOR_WORKGROUP), 1, 1],
            BatchAxis::X {
                per_patch,
                workgroup: CHANNEL_MAJOR_WORKGROUP,
            },
        )
    } else {
        (
            Kernel::PointwiseVec4,
            [groups(tiles * patches, VEC4_WORKGROUP), channel_groups, 1],
            BatchAxis::X {
                per_patch: tiles,
                workgroup: VEC4_WORKGROUP,
            },
        )
    }
}

/// The dispatch for `shape`: where [`vec4_eligible`], the entry point
/// `vec4_layout` picks for one patch; else the scalar `pointwise`.
pub fn dispatch(shape: PointwiseShape, weight_offset: u32, scale_offset: u32) -> Dispatch {
    let pixels = shape.h * shape.w;
    let (kernel, workgroups, batch) = if vec4_eligible(shape, weight_offset, scale_offset) {
        vec4_layout(
            pixels.div_ceil(VEC4_PIXELS),
            shape.cout.div_ceil(VEC4_CHANNELS),
            1,
        )
    } else {
        (
            Kernel::Pointwise,
            [
                groups(shape.cout.div_ceil(8), 8),
                groups(pixels.div_ceil(4), 8),
                1,
            ],
            BatchAxis::Z,
        )
    };
    Dispatch {
        kernel,
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

/// A vec4 pointwise dispatch `d` for a pass over `patches` patches, its
/// entry point picked again (as `dispatch` picks it) from the pass's tiles.
pub fn for_patches(d: &Dispatch, patches: u32) -> Dispatch {
    let (kernel, workgroups, batch) = vec4_layout(
        (d.params.out_h * d.params.out_w).div_ceil(VEC4_PIXELS),
        d.params.out_c.div_ceil(VEC4_CHANNELS),
        patches,
    );
    Dispatch {
        kernel,
        workgroups,
        batch,
        ..*d
    }
}

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

/// The dispatch for `shape`: where [`vec4_eligible`], `pointwise_vec4`, or
/// `pointwise_vec4_channel_major` below [`CHANNEL_MAJOR_BELOW_TILES`]; else
/// the scalar `pointwise`.
pub fn dispatch(shape: PointwiseShape, weight_offset: u32, scale_offset: u32) -> Dispatch {
    let vec4 = vec4_eligible(shape, weight_offset, scale_offset);
    let pixels = shape.h * shape.w;
    let tiles = pixels.div_ceil(VEC4_PIXELS);
    let channel_major = vec4 && tiles < CHANNEL_MAJOR_BELOW_TILES;
    let channel_groups = shape.cout.div_ceil(VEC4_CHANNELS);
    let (workgroups, batch) = if channel_major {
        (
            [
                groups(tiles * channel_groups, CHANNEL_MAJOR_WORKGROUP),
                1,
                1,
            ],
            BatchAxis::X {
                per_patch: tiles * channel_groups,
                workgroup: CHANNEL_MAJOR_WORKGROUP,
            },
        )
    } else if vec4 {
        (
            [groups(tiles, VEC4_WORKGROUP), channel_groups, 1],
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
        kernel: if channel_major {
            Kernel::PointwiseVec4ChannelMajor
        } else if vec4 {
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

/// The `pointwise_vec4_channel_major` dispatch `d` for a pass over
/// `patches` patches: still channel-major while the pass has fewer than
/// [`CHANNEL_MAJOR_BELOW_TILES`] pixel tiles, else `pointwise_vec4` with the
/// patches' tiles along x.
pub fn for_patches(d: &Dispatch, patches: u32) -> Dispatch {
    let tiles = (d.params.out_h * d.params.out_w).div_ceil(VEC4_PIXELS);
    let channel_groups = d.params.out_c.div_ceil(VEC4_CHANNELS);
    if tiles * patches < CHANNEL_MAJOR_BELOW_TILES {
        Dispatch {
            workgroups: [
                groups(tiles * channel_groups * patches, CHANNEL_MAJOR_WORKGROUP),
                1,
                1,
            ],
            ..*d
        }
    } else {
        Dispatch {
            kernel: Kernel::PointwiseVec4,
            workgroups: [groups(tiles * patches, VEC4_WORKGROUP), channel_groups, 1],
            batch: BatchAxis::X {
                per_patch: tiles,
                workgroup: VEC4_WORKGROUP,
            },
            ..*d
        }
    }
}

//! `shaders/pointwise.wgsl`: 1x1 convolution with fused BN, optional ReLU6 and residual.

use super::{Dispatch, Kernel, LayerParams, groups};

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

/// The dispatch for `shape`.
pub fn dispatch(shape: PointwiseShape, weight_offset: u32, scale_offset: u32) -> Dispatch {
    Dispatch {
        kernel: Kernel::Pointwise,
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
        workgroups: [
            groups(shape.cout.div_ceil(4), 8),
            groups((shape.h * shape.w).div_ceil(4), 8),
            1,
        ],
    }
}

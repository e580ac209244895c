//! `shaders/preprocess.wgsl`: image resize and normalisation.

use super::{BatchAxis, Dispatch, Kernel, LayerParams, groups};
use crate::model::Normalization;

/// The dispatch resizing an `image_w x image_h` image to `side x side`.
pub fn dispatch(image_w: u32, image_h: u32, side: u32, norm: &Normalization) -> Dispatch {
    let m = norm.mean;
    let s = norm.scale;
    Dispatch {
        kernel: Kernel::Preprocess,
        params: LayerParams {
            in_h: image_h,
            in_w: image_w,
            in_c: 4,
            out_h: side,
            out_w: side,
            out_c: 3,
            norm_mean: [m[0], m[1], m[2], 0.0],
            norm_scale: [s[0], s[1], s[2], 0.0],
            ..LayerParams::default()
        },
        workgroups: [groups(side, 8), groups(side, 8), 1],
        batch: BatchAxis::Once,
    }
}

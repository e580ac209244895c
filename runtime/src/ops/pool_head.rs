//! `shaders/pool_head.wgsl`: global average pool, classifier, softmax.

use super::{BatchAxis, Dispatch, Kernel, LayerParams, groups};

/// Mean over an `h x w x c` tensor's spatial positions; patch b's features
/// land at `b * `[`feature_stride`](super::feature_stride)`(c)`.
pub fn pool(h: u32, w: u32, c: u32) -> Dispatch {
    Dispatch {
        kernel: Kernel::GlobalAvgPool,
        params: LayerParams {
            in_h: h,
            in_w: w,
            in_c: c,
            out_h: 1,
            out_w: 1,
            out_c: c,
            ..LayerParams::default()
        },
        workgroups: [groups(c, 64), 1, 1],
        batch: BatchAxis::Z,
    }
}

/// `features`-long vector to `classes` logits (class count comes from the bias binding).
pub fn classifier(features: u32, classes: u32) -> Dispatch {
    Dispatch {
        kernel: Kernel::Classifier,
        params: LayerParams {
            in_h: 1,
            in_w: 1,
            in_c: features,
            out_h: 1,
            out_w: 1,
            out_c: classes,
            ..LayerParams::default()
        },
        workgroups: [groups(classes, 64), 1, 1],
        batch: BatchAxis::Once,
    }
}

/// Softmax over all classes in one workgroup.
pub fn softmax() -> Dispatch {
    Dispatch {
        kernel: Kernel::Softmax,
        params: LayerParams::default(),
        workgroups: [1, 1, 1],
        batch: BatchAxis::Once,
    }
}

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

/// Classes per invocation of `classifier_vec4`.
pub const VEC4_CLASSES: u32 = 4;

/// `features`-long vector to `classes` logits (class count comes from the
/// bias binding): `classifier_vec4` when `features` is a multiple of 4 (every
/// weight row then starts on a vec4), else `classifier`.
pub fn classifier(features: u32, classes: u32) -> Dispatch {
    let kernel = if features.is_multiple_of(4) {
        Kernel::ClassifierVec4
    } else {
        Kernel::Classifier
    };
    Dispatch {
        kernel,
        params: LayerParams {
            in_h: 1,
            in_w: 1,
            in_c: features,
            out_h: 1,
            out_w: 1,
            out_c: classes,
            ..LayerParams::default()
        },
        workgroups: classifier_workgroups(kernel, classes),
        batch: BatchAxis::Once,
    }
}

/// Workgroup counts of classifier entry point `kernel` for `classes`
/// classes (a patch's classifier decides them at run time).
pub fn classifier_workgroups(kernel: Kernel, classes: u32) -> [u32; 3] {
    let per_invocation = if kernel == Kernel::ClassifierVec4 {
        VEC4_CLASSES
    } else {
        1
    };
    [groups(classes.div_ceil(per_invocation), 64), 1, 1]
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

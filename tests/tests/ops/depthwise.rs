//! `depthwise.wgsl` against `reference::depthwise` + folded BN + ReLU6.

use std::sync::Arc;

use patchrt::gpu::transfer::f32_bytes;
use patchrt::model::{LayerKind, Padding};
use patchrt::ops::Kernel;
use patchrt::ops::depthwise::{DepthwiseShape, dispatch, vec4_kernel};
use patchrt::ops::standalone::KernelInputs;
use patchrt::reference::depthwise::depthwise;
use patchrt::{GpuContext, WeightPrecision};

use super::{
    BATCH, FoldedBn, Offsets, Rng, SEED, TAIL, activations, assert_patch_slices, batch_of,
    check_output, distinct, embed, f16_or_skip, gpu, mobilenet_v2_layers, run, stack, weights,
};

fn shape(h: u32, w: u32, c: u32, kernel: u32, stride: u32, padding: Padding) -> DepthwiseShape {
    DepthwiseShape {
        h,
        w,
        c,
        kernel,
        stride,
        padding,
    }
}

/// `(h, w, c, kernel, stride)` of `s` as sizes.
fn sizes(s: DepthwiseShape) -> (usize, usize, usize, usize, usize) {
    (
        s.h as usize,
        s.w as usize,
        s.c as usize,
        s.kernel as usize,
        s.stride as usize,
    )
}

/// Runs one case on the GPU and compares it with the reference; returns the
/// entry point that served it.
fn check(
    ctx: &Arc<GpuContext>,
    s: DepthwiseShape,
    precision: WeightPrecision,
    offsets: Offsets,
    name: &str,
) -> Kernel {
    let (h, w, c, k, stride) = sizes(s);
    let mut rng = Rng::new(SEED, name);
    let x = activations(&mut rng, h, w, c);
    let kernels = weights(&mut rng, k * k * c, k * k);
    let bn = FoldedBn::random(&mut rng, c);
    let d = dispatch(s, offsets.weight(), offsets.scale());
    let output_len = (d.params.out_h * d.params.out_w * s.c) as usize;
    let dw = embed(&kernels, offsets.weight() as usize, TAIL);
    let scale_bias = bn.buffer_at(offsets.scale());
    let inputs = KernelInputs {
        input: f32_bytes(&x.data),
        depthwise: &dw,
        scale_bias: &scale_bias,
        output_len,
        ..KernelInputs::default()
    };
    let got = run(ctx, precision, d, &inputs, name);
    let reference = |kernels: &[f32]| {
        let mut y = depthwise(&x, kernels, k, stride, s.padding);
        bn.apply(&mut y, true);
        y.data
    };
    check_output(&got, precision, &kernels, reference, name);
    d.kernel
}

/// Defines one `#[test]` per named case, run at odd offsets (the scalar entry
/// point) and at aligned ones (a `depthwise_vec4_*` where the channels allow).
macro_rules! cases {
    ($($name:ident: $shape:expr, $precision:ident;)*) => {$(
        #[test]
        fn $name() {
            let Some(ctx) = gpu() else { return };
            if WeightPrecision::$precision == WeightPrecision::F16 && !f16_or_skip(&ctx, stringify!($name)) {
                return;
            }
            for offsets in Offsets::BOTH {
                let name = format!("{} ({offsets:?} offsets)", stringify!($name));
                let kernel = check(&ctx, $shape, WeightPrecision::$precision, offsets, &name);
                let vec4 = vec4_kernel($shape, offsets.weight(), offsets.scale());
                assert_eq!(Some(kernel), vec4.or(Some(Kernel::Depthwise)), "{name}");
            }
        }
    )*};
}

use Padding::{SameUpper, Symmetric};

cases! {
    depthwise_c13_7x7_s1: shape(7, 7, 13, 3, 1, Symmetric), F32;
    depthwise_c24_15x9_s1: shape(15, 9, 24, 3, 1, Symmetric), F32;
    depthwise_c16_odd_hw_15x9_s2_symmetric: shape(15, 9, 16, 3, 2, Symmetric), F32;
    depthwise_c16_odd_hw_15x9_s2_same_upper: shape(15, 9, 16, 3, 2, SameUpper), F32;
    depthwise_c24_even_hw_14x14_s2_symmetric: shape(14, 14, 24, 3, 2, Symmetric), F32;
    depthwise_c24_even_hw_14x14_s2_same_upper: shape(14, 14, 24, 3, 2, SameUpper), F32;
    depthwise_c3_1x1_s1: shape(1, 1, 3, 3, 1, Symmetric), F32;
    depthwise_c1_1x1_s2_same_upper: shape(1, 1, 1, 3, 2, SameUpper), F32;
    depthwise_c5_2x2_s2_symmetric: shape(2, 2, 5, 3, 2, Symmetric), F32;
    depthwise_c5_2x2_s2_same_upper: shape(2, 2, 5, 3, 2, SameUpper), F32;
    depthwise_c1_3x3_s1: shape(3, 3, 1, 3, 1, Symmetric), F32;
    depthwise_c13_3x3_s2_same_upper: shape(3, 3, 13, 3, 2, SameUpper), F32;
    depthwise_k5_c13_15x9_s1: shape(15, 9, 13, 5, 1, Symmetric), F32;
    depthwise_k5_c24_15x9_s2_symmetric: shape(15, 9, 24, 5, 2, Symmetric), F32;
    depthwise_k5_c24_15x9_s2_same_upper: shape(15, 9, 24, 5, 2, SameUpper), F32;
    depthwise_k5_c16_14x14_s2_same_upper: shape(14, 14, 16, 5, 2, SameUpper), F32;
    depthwise_k5_c3_2x2_s1: shape(2, 2, 3, 5, 1, Symmetric), F32;
    depthwise_multi_workgroup_112x112x32_s1: shape(112, 112, 32, 3, 1, Symmetric), F32;
    depthwise_s2_odd_hw_multi_workgroup_113x111x13: shape(113, 111, 13, 3, 2, SameUpper), F32;
    depthwise_c4_1x1_s1: shape(1, 1, 4, 3, 1, Symmetric), F32;
    depthwise_c8_2x2_s2_same_upper: shape(2, 2, 8, 3, 2, SameUpper), F32;
    depthwise_k5_c8_3x7_s1: shape(3, 7, 8, 5, 1, Symmetric), F32;
    depthwise_k5_c12_9x15_s2_same_upper: shape(9, 15, 12, 5, 2, SameUpper), F32;
    depthwise_multi_workgroup_113x111x12_s2: shape(113, 111, 12, 3, 2, Symmetric), F32;
    depthwise_multi_workgroup_57x57x20_s1: shape(57, 57, 20, 3, 1, SameUpper), F32;
    depthwise_f16_c13_15x9_s2: shape(15, 9, 13, 3, 2, Symmetric), F16;
    depthwise_f16_k5_c16_15x9_s2: shape(15, 9, 16, 5, 2, Symmetric), F16;
    depthwise_f16_k5_c24_14x14_s1: shape(14, 14, 24, 5, 1, SameUpper), F16;
    depthwise_f16_mobilenet_v2_28x28x192_s2: shape(28, 28, 192, 3, 2, Symmetric), F16;
}

/// Every distinct depthwise shape of MobileNetV2 (all four widths) at
/// `resolution`, at aligned offsets as in the engine, so each is served by a
/// `depthwise_vec4_*` entry point.
fn mobilenet_v2_sweep(resolution: u32, padding: Padding) {
    let Some(ctx) = gpu() else { return };
    let layers = mobilenet_v2_layers(resolution, padding);
    let shapes = distinct(&layers, &[LayerKind::Depthwise], |l| {
        (l.side, l.layer.out_channels, l.layer.kernel, l.layer.stride)
    });
    assert!(
        !shapes.is_empty(),
        "no MobileNetV2 layers of this family at {resolution}"
    );
    for (side, c, k, stride) in shapes {
        let name = format!(
            "depthwise_mobilenet_v2_{resolution}_{padding:?}_{side}x{side}x{c}_k{k}_s{stride}"
        );
        let kernel = check(
            &ctx,
            shape(side, side, c, k, stride, padding),
            WeightPrecision::F32,
            Offsets::Aligned,
            &name,
        );
        assert_ne!(kernel, Kernel::Depthwise, "{name}");
    }
}

#[test]
fn depthwise_mobilenet_v2_96_symmetric() {
    mobilenet_v2_sweep(96, Symmetric);
}

#[test]
fn depthwise_mobilenet_v2_96_same_upper() {
    mobilenet_v2_sweep(96, SameUpper);
}

#[test]
fn depthwise_mobilenet_v2_224_symmetric() {
    mobilenet_v2_sweep(224, Symmetric);
}

#[test]
fn depthwise_mobilenet_v2_224_same_upper() {
    mobilenet_v2_sweep(224, SameUpper);
}

/// [`BATCH`] patches in one dispatch, each with its own input and folded BN,
/// and with its own kernels (`own_kernels`, a patch that carries depthwise
/// kernels) or the shared ones (stride 0); each patch's output slice against
/// the reference. Returns the entry point that served it.
fn check_batch(
    ctx: &Arc<GpuContext>,
    s: DepthwiseShape,
    offsets: Offsets,
    own_kernels: bool,
    name: &str,
) -> Kernel {
    let (h, w, c, k, stride) = sizes(s);
    let mut rng = Rng::new(SEED, name);
    let sets = if own_kernels { BATCH } else { 1 };
    let kernels: Vec<_> = (0..sets)
        .map(|_| weights(&mut rng, k * k * c, k * k))
        .collect();
    let xs: Vec<_> = (0..BATCH).map(|_| activations(&mut rng, h, w, c)).collect();
    let bns: Vec<_> = (0..BATCH).map(|_| FoldedBn::random(&mut rng, c)).collect();
    let d = dispatch(s, offsets.weight(), offsets.scale());
    let embedded: Vec<_> = kernels
        .iter()
        .map(|kk| embed(kk, offsets.weight() as usize, TAIL))
        .collect();
    let (dw, dw_stride) = stack(&embedded);
    let blocks: Vec<_> = bns.iter().map(|b| b.buffer_at(offsets.scale())).collect();
    let (scale_bias, scale_bias_stride) = stack(&blocks);
    let input: Vec<f32> = xs.iter().flat_map(|x| x.data.iter().copied()).collect();
    let n = (d.params.out_h * d.params.out_w * s.c) as usize;
    let inputs = KernelInputs {
        input: f32_bytes(&input),
        depthwise: &dw,
        scale_bias: &scale_bias,
        output_len: BATCH * n,
        batch: batch_of(scale_bias_stride, if own_kernels { dw_stride } else { 0 }),
        ..KernelInputs::default()
    };
    let got = run(ctx, WeightPrecision::F32, d, &inputs, name);
    let expected = |b: usize| {
        let kernel = &kernels[if own_kernels { b } else { 0 }];
        let mut y = depthwise(&xs[b], kernel, k, stride, s.padding);
        bns[b].apply(&mut y, true);
        y.data
    };
    assert_patch_slices(&got, n, expected, name);
    d.kernel
}

/// One `#[test]` per named batched case, with shared and with per-patch
/// kernels, at odd offsets (scalar entry point, patches along z) and aligned
/// ones (a `depthwise_vec4_*` where the channels allow, patches along x).
macro_rules! batch_cases {
    ($($name:ident: $shape:expr;)*) => {$(
        #[test]
        fn $name() {
            let Some(ctx) = gpu() else { return };
            for own_kernels in [false, true] {
                for offsets in Offsets::BOTH {
                    let name = format!(
                        "{} ({offsets:?} offsets, own kernels {own_kernels})",
                        stringify!($name)
                    );
                    let kernel = check_batch(&ctx, $shape, offsets, own_kernels, &name);
                    let vec4 = vec4_kernel($shape, offsets.weight(), offsets.scale());
                    assert_eq!(Some(kernel), vec4.or(Some(Kernel::Depthwise)), "{name}");
                }
            }
        }
    )*};
}

batch_cases! {
    depthwise_batch_c8_1x1_s1: shape(1, 1, 8, 3, 1, Symmetric);
    depthwise_batch_c24_3x3_s1: shape(3, 3, 24, 3, 1, Symmetric);
    depthwise_batch_c16_6x6_s2_same_upper: shape(6, 6, 16, 3, 2, SameUpper);
    depthwise_batch_c13_7x7_s1: shape(7, 7, 13, 3, 1, Symmetric);
    depthwise_batch_k5_c24_15x9_s2_symmetric: shape(15, 9, 24, 5, 2, Symmetric);
    depthwise_batch_k5_c16_14x14_s1: shape(14, 14, 16, 5, 1, Symmetric);
    depthwise_batch_multi_workgroup_56x56x24_s1: shape(56, 56, 24, 3, 1, Symmetric);
}

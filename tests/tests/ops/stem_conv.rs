//! `stem_conv.wgsl` against `reference::stem_conv::conv2d` + folded BN + ReLU6.

use std::sync::Arc;

use patchrt::gpu::transfer::f32_bytes;
use patchrt::model::{LayerKind, Padding};
use patchrt::ops::Kernel;
use patchrt::ops::standalone::KernelInputs;
use patchrt::ops::stem_conv::{StemConvShape, dispatch, vec4_eligible};
use patchrt::reference::stem_conv::conv2d;
use patchrt::{GpuContext, WeightPrecision};

use super::{
    BATCH, FoldedBn, Offsets, Rng, SEED, TAIL, activations, assert_patch_slices, batch_of,
    check_output, distinct, embed, f16_or_skip, gpu, mobilenet_v2_layers, run, stack, weights,
};

#[allow(clippy::too_many_arguments)]
fn shape(
    h: u32,
    w: u32,
    cin: u32,
    cout: u32,
    kernel: u32,
    stride: u32,
    padding: Padding,
) -> StemConvShape {
    StemConvShape {
        h,
        w,
        cin,
        cout,
        kernel,
        stride,
        padding,
    }
}

/// Runs one case on the GPU and compares it with the reference; returns the
/// entry point that served it.
fn check(
    ctx: &Arc<GpuContext>,
    s: StemConvShape,
    precision: WeightPrecision,
    offsets: Offsets,
    name: &str,
) -> Kernel {
    let (h, w, cin, cout) = (s.h as usize, s.w as usize, s.cin as usize, s.cout as usize);
    let (k, stride) = (s.kernel as usize, s.stride as usize);
    let mut rng = Rng::new(SEED, name);
    let x = activations(&mut rng, h, w, cin);
    let kernel = weights(&mut rng, k * k * cin * cout, k * k * cin);
    let bn = FoldedBn::random(&mut rng, cout);
    let d = dispatch(s, offsets.weight(), offsets.scale());
    let output_len = (d.params.out_h * d.params.out_w * s.cout) as usize;
    let dense = embed(&kernel, offsets.weight() as usize, TAIL);
    let scale_bias = bn.buffer_at(offsets.scale());
    let inputs = KernelInputs {
        input: f32_bytes(&x.data),
        weights: &dense,
        scale_bias: &scale_bias,
        output_len,
        ..KernelInputs::default()
    };
    let got = run(ctx, precision, d, &inputs, name);
    let reference = |kernel: &[f32]| {
        let mut y = conv2d(&x, kernel, k, cout, stride, s.padding);
        bn.apply(&mut y, true);
        y.data
    };
    check_output(&got, precision, &kernel, reference, name);
    d.kernel
}

/// Defines one `#[test]` per named case, run at odd offsets (the general entry
/// point) and at aligned ones (`stem_conv_vec4_k3s2` where the shape allows).
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
                let vec4 = vec4_eligible($shape, offsets.weight(), offsets.scale());
                assert_eq!(kernel == Kernel::StemConvVec4K3S2, vec4, "{name}: served by {kernel:?}");
            }
        }
    )*};
}

use Padding::{SameUpper, Symmetric};

cases! {
    stem_cin3_cout13_7x7_s1: shape(7, 7, 3, 13, 3, 1, Symmetric), F32;
    stem_cin3_cout24_odd_hw_15x9_s2_symmetric: shape(15, 9, 3, 24, 3, 2, Symmetric), F32;
    stem_cin3_cout24_odd_hw_15x9_s2_same_upper: shape(15, 9, 3, 24, 3, 2, SameUpper), F32;
    stem_cin3_cout16_even_hw_14x14_s2_symmetric: shape(14, 14, 3, 16, 3, 2, Symmetric), F32;
    stem_cin3_cout16_even_hw_14x14_s2_same_upper: shape(14, 14, 3, 16, 3, 2, SameUpper), F32;
    stem_cin3_cout1_1x1_s1: shape(1, 1, 3, 1, 3, 1, Symmetric), F32;
    stem_cin3_cout5_1x1_s2_same_upper: shape(1, 1, 3, 5, 3, 2, SameUpper), F32;
    stem_cin5_cout3_2x2_s2_symmetric: shape(2, 2, 5, 3, 3, 2, Symmetric), F32;
    stem_cin5_cout3_2x2_s2_same_upper: shape(2, 2, 5, 3, 3, 2, SameUpper), F32;
    stem_cin1_cout13_3x3_s2_same_upper: shape(3, 3, 1, 13, 3, 2, SameUpper), F32;
    stem_cin13_cout24_3x3_s1: shape(3, 3, 13, 24, 3, 1, Symmetric), F32;
    stem_k5_cin3_cout13_15x9_s2_same_upper: shape(15, 9, 3, 13, 5, 2, SameUpper), F32;
    stem_k1_cin16_cout5_7x7_s1: shape(7, 7, 16, 5, 1, 1, Symmetric), F32;
    stem_multi_workgroup_112x112x32_s1: shape(112, 112, 3, 32, 3, 1, Symmetric), F32;
    stem_s2_odd_hw_multi_workgroup_225x223_cout13: shape(225, 223, 3, 13, 3, 2, SameUpper), F32;
    stem_cin3_cout4_1x1_s2_symmetric: shape(1, 1, 3, 4, 3, 2, Symmetric), F32;
    stem_cin3_cout12_odd_hw_17x35_s2_symmetric: shape(17, 35, 3, 12, 3, 2, Symmetric), F32;
    stem_cin3_cout20_odd_hw_35x17_s2_same_upper: shape(35, 17, 3, 20, 3, 2, SameUpper), F32;
    stem_f16_cin3_cout13_15x9_s2: shape(15, 9, 3, 13, 3, 2, SameUpper), F16;
    stem_f16_cin3_cout24_15x9_s2: shape(15, 9, 3, 24, 3, 2, Symmetric), F16;
    stem_f16_mobilenet_v2_96_cout32_s2: shape(96, 96, 3, 32, 3, 2, Symmetric), F16;
}

/// Every distinct stem shape of MobileNetV2 (all four widths) at
/// `resolution`: the stem reads the full-size image, so at 224 this is the
/// family's 112x112-output case. Aligned offsets as in the engine, so each is
/// served by `stem_conv_vec4_k3s2`.
fn mobilenet_v2_sweep(resolution: u32, padding: Padding) {
    let Some(ctx) = gpu() else { return };
    let layers = mobilenet_v2_layers(resolution, padding);
    let shapes = distinct(&layers, &[LayerKind::Stem], |l| {
        (
            l.side,
            l.layer.in_channels,
            l.layer.out_channels,
            l.layer.kernel,
            l.layer.stride,
        )
    });
    assert!(
        !shapes.is_empty(),
        "no MobileNetV2 layers of this family at {resolution}"
    );
    for (side, cin, cout, k, stride) in shapes {
        let name = format!(
            "stem_mobilenet_v2_{resolution}_{padding:?}_{side}x{side}x{cin}_to_{cout}_k{k}_s{stride}"
        );
        let kernel = check(
            &ctx,
            shape(side, side, cin, cout, k, stride, padding),
            WeightPrecision::F32,
            Offsets::Aligned,
            &name,
        );
        assert_eq!(kernel, Kernel::StemConvVec4K3S2, "{name}");
    }
}

#[test]
fn stem_mobilenet_v2_96_symmetric() {
    mobilenet_v2_sweep(96, Symmetric);
}

#[test]
fn stem_mobilenet_v2_96_same_upper() {
    mobilenet_v2_sweep(96, SameUpper);
}

#[test]
fn stem_mobilenet_v2_224_symmetric() {
    mobilenet_v2_sweep(224, Symmetric);
}

#[test]
fn stem_mobilenet_v2_224_same_upper() {
    mobilenet_v2_sweep(224, SameUpper);
}

/// [`BATCH`] patches in one dispatch over one shared input (the preprocessed
/// frame), each patch with its own folded BN; each patch's output slice
/// against the reference. Returns the entry point that served it.
fn check_batch(ctx: &Arc<GpuContext>, s: StemConvShape, offsets: Offsets, name: &str) -> Kernel {
    let (h, w, cin, cout) = (s.h as usize, s.w as usize, s.cin as usize, s.cout as usize);
    let (k, stride) = (s.kernel as usize, s.stride as usize);
    let mut rng = Rng::new(SEED, name);
    let x = activations(&mut rng, h, w, cin);
    let kernel = weights(&mut rng, k * k * cin * cout, k * k * cin);
    let bns: Vec<_> = (0..BATCH)
        .map(|_| FoldedBn::random(&mut rng, cout))
        .collect();
    let d = dispatch(s, offsets.weight(), offsets.scale());
    let n = (d.params.out_h * d.params.out_w * s.cout) as usize;
    let dense = embed(&kernel, offsets.weight() as usize, TAIL);
    let blocks: Vec<_> = bns.iter().map(|b| b.buffer_at(offsets.scale())).collect();
    let (scale_bias, scale_bias_stride) = stack(&blocks);
    let inputs = KernelInputs {
        input: f32_bytes(&x.data),
        weights: &dense,
        scale_bias: &scale_bias,
        output_len: BATCH * n,
        batch: batch_of(scale_bias_stride, 0),
        ..KernelInputs::default()
    };
    let got = run(ctx, WeightPrecision::F32, d, &inputs, name);
    let expected = |b: usize| {
        let mut y = conv2d(&x, &kernel, k, cout, stride, s.padding);
        bns[b].apply(&mut y, true);
        y.data
    };
    assert_patch_slices(&got, n, expected, name);
    d.kernel
}

/// One `#[test]` per named batched case, at odd offsets (the general entry
/// point, patches along z) and aligned ones (`stem_conv_vec4_k3s2` where the
/// shape allows, patches along x).
macro_rules! batch_cases {
    ($($name:ident: $shape:expr;)*) => {$(
        #[test]
        fn $name() {
            let Some(ctx) = gpu() else { return };
            for offsets in Offsets::BOTH {
                let name = format!("{} ({offsets:?} offsets)", stringify!($name));
                let kernel = check_batch(&ctx, $shape, offsets, &name);
                let vec4 = vec4_eligible($shape, offsets.weight(), offsets.scale());
                assert_eq!(kernel == Kernel::StemConvVec4K3S2, vec4, "{name}: served by {kernel:?}");
            }
        }
    )*};
}

batch_cases! {
    stem_batch_cin3_cout32_96x96_s2: shape(96, 96, 3, 32, 3, 2, Padding::SameUpper);
    stem_batch_cin3_cout24_15x9_s2: shape(15, 9, 3, 24, 3, 2, Padding::Symmetric);
    stem_batch_cin3_cout8_2x2_s2: shape(2, 2, 3, 8, 3, 2, Padding::Symmetric);
    stem_batch_cin5_cout13_7x7_s1: shape(7, 7, 5, 13, 3, 1, Padding::Symmetric);
}

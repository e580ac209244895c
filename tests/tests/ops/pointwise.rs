//! `pointwise.wgsl` against `reference::pointwise` + folded BN + optional
//! ReLU6 + optional `residual_add`.

use std::sync::Arc;

use patchrt::gpu::transfer::f32_bytes;
use patchrt::model::{LayerKind, Padding};
use patchrt::ops::Kernel;
use patchrt::ops::pointwise::{PointwiseShape, dispatch, vec4_eligible};
use patchrt::ops::standalone::KernelInputs;
use patchrt::reference::pointwise::{pointwise, residual_add};
use patchrt::{GpuContext, WeightPrecision};

use super::{
    BATCH, FoldedBn, Offsets, Rng, SEED, TAIL, activations, assert_patch_slices, batch_of,
    check_output, distinct, embed, f16_or_skip, gpu, mobilenet_v2_layers, run, stack, weights,
};

fn shape(h: u32, w: u32, cin: u32, cout: u32, relu6: bool, residual: bool) -> PointwiseShape {
    PointwiseShape {
        h,
        w,
        cin,
        cout,
        relu6,
        residual,
    }
}

/// Runs one case on the GPU and compares it with the reference; returns the
/// entry point that served it.
fn check(
    ctx: &Arc<GpuContext>,
    s: PointwiseShape,
    precision: WeightPrecision,
    offsets: Offsets,
    name: &str,
) -> Kernel {
    let (h, w, cin, cout) = (s.h as usize, s.w as usize, s.cin as usize, s.cout as usize);
    let mut rng = Rng::new(SEED, name);
    let x = activations(&mut rng, h, w, cin);
    let skip = activations(&mut rng, h, w, cout);
    let kernel = weights(&mut rng, cin * cout, cin);
    let bn = FoldedBn::random(&mut rng, cout);
    let d = dispatch(s, offsets.weight(), offsets.scale());
    let dense = embed(&kernel, offsets.weight() as usize, TAIL);
    let scale_bias = bn.buffer_at(offsets.scale());
    let residual: &[f32] = if s.residual { &skip.data } else { &[] };
    let inputs = KernelInputs {
        input: f32_bytes(&x.data),
        residual,
        weights: &dense,
        scale_bias: &scale_bias,
        output_len: h * w * cout,
        ..KernelInputs::default()
    };
    let got = run(ctx, precision, d, &inputs, name);
    let reference = |kernel: &[f32]| {
        let mut y = pointwise(&x, kernel, cout);
        bn.apply(&mut y, s.relu6);
        if s.residual {
            residual_add(&mut y, &skip);
        }
        y.data
    };
    check_output(&got, precision, &kernel, reference, name);
    d.kernel
}

/// The entry point that must serve `s` at `offsets` in a pass over
/// `patches` patches: the scalar one unless the channels and offsets allow
/// vec4, then the channel-major one while the pass has fewer than 8 tiles of
/// 8 pixels (at most 56 pixels for one patch), else `pointwise_vec4`.
fn expected_kernel(s: PointwiseShape, offsets: Offsets) -> Kernel {
    expected_kernel_for(s, offsets, 1)
}

fn expected_kernel_for(s: PointwiseShape, offsets: Offsets, patches: u32) -> Kernel {
    if !vec4_eligible(s, offsets.weight(), offsets.scale()) {
        Kernel::Pointwise
    } else if (s.h * s.w).div_ceil(8) * patches < 8 {
        Kernel::PointwiseVec4ChannelMajor
    } else {
        Kernel::PointwiseVec4
    }
}

/// Defines one `#[test]` per named case, run at odd offsets (the scalar entry
/// point) and at aligned ones (a vec4 entry point where the channels allow).
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
                assert_eq!(kernel, expected_kernel($shape, offsets), "{name}");
            }
        }
    )*};
}

cases! {
    pointwise_cin13_cout24_7x7_relu6: shape(7, 7, 13, 24, true, false), F32;
    pointwise_cin24_cout13_15x9_linear: shape(15, 9, 24, 13, false, false), F32;
    pointwise_cin16_cout16_15x9_residual: shape(15, 9, 16, 16, false, true), F32;
    pointwise_cin24_cout13_7x7_relu6_residual: shape(7, 7, 24, 13, true, true), F32;
    pointwise_cin3_cout5_1x1_relu6: shape(1, 1, 3, 5, true, false), F32;
    pointwise_cin1_cout1_1x1_linear: shape(1, 1, 1, 1, false, false), F32;
    pointwise_cin5_cout3_2x2_residual: shape(2, 2, 5, 3, false, true), F32;
    pointwise_cin13_cout1_3x3_relu6: shape(3, 3, 13, 1, true, false), F32;
    pointwise_cin1_cout13_3x3_linear_residual: shape(3, 3, 1, 13, false, true), F32;
    pointwise_cin960_cout1280_7x7_relu6: shape(7, 7, 960, 1280, true, false), F32;
    pointwise_cin1280_cout1280_3x3_linear: shape(3, 3, 1280, 1280, false, false), F32;
    pointwise_cin1280_cout13_5x3_residual: shape(5, 3, 1280, 13, false, true), F32;
    pointwise_multi_workgroup_112x112_cin32_cout16: shape(112, 112, 32, 16, false, false), F32;
    pointwise_multi_workgroup_113x111_cin13_cout13_residual: shape(113, 111, 13, 13, false, true), F32;
    pointwise_cin8_cout12_15x9_relu6_residual: shape(15, 9, 8, 12, true, true), F32;
    pointwise_cin4_cout4_1x1_linear: shape(1, 1, 4, 4, false, false), F32;
    pointwise_cin12_cout20_5x3_linear: shape(5, 3, 12, 20, false, false), F32;
    pointwise_cin8_cout12_8x7_56_pixels_relu6: shape(8, 7, 8, 12, true, false), F32;
    pointwise_cin8_cout12_10x6_60_pixels_residual: shape(10, 6, 8, 12, false, true), F32;
    pointwise_multi_workgroup_113x111_cin16_cout36_relu6: shape(113, 111, 16, 36, true, false), F32;
    pointwise_f16_cin13_cout24_15x9_relu6: shape(15, 9, 13, 24, true, false), F16;
    pointwise_f16_cin8_cout12_15x9_residual: shape(15, 9, 8, 12, false, true), F16;
    pointwise_f16_cin24_cout24_7x7_residual: shape(7, 7, 24, 24, false, true), F16;
    pointwise_f16_cin320_cout1280_3x3_relu6: shape(3, 3, 320, 1280, true, false), F16;
}

/// Every distinct 1x1 shape of MobileNetV2 (expand, project, head; all four
/// widths) at `resolution`, at aligned offsets as in the engine, so each is
/// served by a vec4 entry point.
fn mobilenet_v2_sweep(resolution: u32) {
    let Some(ctx) = gpu() else { return };
    // 1x1 layers keep the spatial size, so the padding convention is irrelevant.
    let layers = mobilenet_v2_layers(resolution, Padding::Symmetric);
    let kinds = [LayerKind::Expand, LayerKind::Project, LayerKind::Head];
    let shapes = distinct(&layers, &kinds, |l| {
        (
            l.side,
            l.layer.in_channels,
            l.layer.out_channels,
            l.layer.relu6,
            l.layer.residual,
        )
    });
    assert!(
        !shapes.is_empty(),
        "no MobileNetV2 layers of this family at {resolution}"
    );
    for (side, cin, cout, relu6, residual) in shapes {
        let epilogue = match (relu6, residual) {
            (true, _) => "relu6",
            (false, true) => "residual",
            (false, false) => "linear",
        };
        let name =
            format!("pointwise_mobilenet_v2_{resolution}_{side}x{side}_{cin}_to_{cout}_{epilogue}");
        let kernel = check(
            &ctx,
            shape(side, side, cin, cout, relu6, residual),
            WeightPrecision::F32,
            Offsets::Aligned,
            &name,
        );
        assert_eq!(
            kernel,
            expected_kernel(
                shape(side, side, cin, cout, relu6, residual),
                Offsets::Aligned
            ),
            "{name}"
        );
    }
}

#[test]
fn pointwise_mobilenet_v2_96() {
    mobilenet_v2_sweep(96);
}

#[test]
fn pointwise_mobilenet_v2_224() {
    mobilenet_v2_sweep(224);
}

/// [`BATCH`] patches in one dispatch: one weight matrix, each patch its own
/// input, residual and folded BN; each patch's output slice against the
/// reference. Returns the entry point that served it.
fn check_batch(ctx: &Arc<GpuContext>, s: PointwiseShape, offsets: Offsets, name: &str) -> Kernel {
    let (h, w, cin, cout) = (s.h as usize, s.w as usize, s.cin as usize, s.cout as usize);
    let mut rng = Rng::new(SEED, name);
    let kernel = weights(&mut rng, cin * cout, cin);
    let xs: Vec<_> = (0..BATCH)
        .map(|_| activations(&mut rng, h, w, cin))
        .collect();
    let skips: Vec<_> = (0..BATCH)
        .map(|_| activations(&mut rng, h, w, cout))
        .collect();
    let bns: Vec<_> = (0..BATCH)
        .map(|_| FoldedBn::random(&mut rng, cout))
        .collect();
    let d = dispatch(s, offsets.weight(), offsets.scale());
    let dense = embed(&kernel, offsets.weight() as usize, TAIL);
    let blocks: Vec<_> = bns.iter().map(|b| b.buffer_at(offsets.scale())).collect();
    let (scale_bias, scale_bias_stride) = stack(&blocks);
    let input: Vec<f32> = xs.iter().flat_map(|x| x.data.iter().copied()).collect();
    let residual: Vec<f32> = if s.residual {
        skips.iter().flat_map(|x| x.data.iter().copied()).collect()
    } else {
        Vec::new()
    };
    let n = h * w * cout;
    let inputs = KernelInputs {
        input: f32_bytes(&input),
        residual: &residual,
        weights: &dense,
        scale_bias: &scale_bias,
        output_len: BATCH * n,
        batch: batch_of(scale_bias_stride, 0),
        ..KernelInputs::default()
    };
    let got = run(ctx, WeightPrecision::F32, d, &inputs, name);
    let expected = |b: usize| {
        let mut y = pointwise(&xs[b], &kernel, cout);
        bns[b].apply(&mut y, s.relu6);
        if s.residual {
            residual_add(&mut y, &skips[b]);
        }
        y.data
    };
    assert_patch_slices(&got, n, expected, name);
    d.for_patches(BATCH as u32).kernel
}

/// One `#[test]` per named batched case, at odd offsets (the scalar entry
/// point, patches along z) and aligned ones (a vec4 entry point where the
/// channels allow, patches along x).
macro_rules! batch_cases {
    ($($name:ident: $shape:expr;)*) => {$(
        #[test]
        fn $name() {
            let Some(ctx) = gpu() else { return };
            for offsets in Offsets::BOTH {
                let name = format!("{} ({offsets:?} offsets)", stringify!($name));
                let kernel = check_batch(&ctx, $shape, offsets, &name);
                let expected = expected_kernel_for($shape, offsets, BATCH as u32);
                assert_eq!(kernel, expected, "{name}");
            }
        }
    )*};
}

batch_cases! {
    pointwise_batch_1x1_cin4_cout4_linear: shape(1, 1, 4, 4, false, false);
    pointwise_batch_3x3_cin16_cout24_relu6: shape(3, 3, 16, 24, true, false);
    pointwise_batch_3x3_cin320_cout1280_relu6: shape(3, 3, 320, 1280, true, false);
    pointwise_batch_7x7_cin13_cout24_relu6_residual: shape(7, 7, 24, 13, true, true);
    pointwise_batch_5x5_cin24_cout40_residual: shape(5, 5, 24, 40, false, true);
    pointwise_batch_7x7_cin32_cout24_relu6_residual: shape(7, 7, 32, 24, true, true);
    pointwise_batch_15x9_cin24_cout36_residual: shape(15, 9, 24, 36, false, true);
    pointwise_batch_multi_workgroup_113x111_cin16_cout36_relu6: shape(113, 111, 16, 36, true, false);
}

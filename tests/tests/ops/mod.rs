//! Each GPU kernel family against the CPU reference, one file per family.
//!
//! Every case runs one dispatch through `patchrt::ops::standalone` on seeded
//! random data and compares it with `patchrt::reference` composed the same way
//! (convolution, folded BatchNorm, ReLU6, residual). Weights and scales sit at
//! nonzero offsets behind NaN junk, with NaN junk after them too, so a kernel
//! that reads the wrong element or lets a tail lane leak shows NaN (or, where
//! ReLU6 clamps the NaN, a wrong value).
//!
//! Case tables cover every (shape, stride, channels) that MobileNetV2 uses at
//! widths 1.0, 0.75, 0.5, 0.35 at resolutions 224 and 96 (stem and depthwise
//! under both padding conventions), plus shapes chosen to break kernels:
//! channel counts that are not multiples of 4, odd and tiny spatial sizes,
//! stride 2 on odd and even sizes, 5x5 depthwise kernels, and grids larger
//! than one workgroup in x and y. With f16 weight storage, a few cases per
//! family compare against the f32 reference and against the reference run
//! on f16-rounded weights.

mod depthwise;
mod pointwise;
mod pool_head;
mod preprocess;
mod stem_conv;

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

use patchrt::model::arch::MOBILENET_V2_BLOCKS;
use patchrt::model::{Architecture, ConvLayer, LayerKind, Padding};
use patchrt::ops::standalone::{self, KernelInputs};
use patchrt::ops::{BatchParams, Dispatch};
use patchrt::reference::Tensor;
use patchrt::{AdapterPreference, GpuContext, WeightPrecision};
use patchrt_tests::{Tolerance, assert_close};

/// Environment variable that turns a missing adapter into a printed skip.
const SKIP_GPU_ENV: &str = "PATCHRT_SKIP_GPU";

/// The shared GPU context, created once per test binary.
///
/// Returns `None` (after printing a loud line) only when no adapter exists and
/// `PATCHRT_SKIP_GPU=1`; otherwise a missing adapter panics with the runtime's
/// message, which names the package to install.
pub(crate) fn gpu() -> Option<Arc<GpuContext>> {
    static CTX: OnceLock<Result<Arc<GpuContext>, String>> = OnceLock::new();
    let ctx =
        CTX.get_or_init(|| GpuContext::new(&AdapterPreference::Auto).map_err(|e| e.to_string()));
    match ctx {
        Ok(ctx) => Some(ctx.clone()),
        Err(message) if std::env::var(SKIP_GPU_ENV).is_ok_and(|v| v == "1") => {
            eprintln!("SKIPPED: no GPU adapter ({SKIP_GPU_ENV}=1): {message}");
            None
        }
        Err(message) => panic!("{message}\n(set {SKIP_GPU_ENV}=1 to skip GPU tests instead)"),
    }
}

/// Whether `ctx` can store weights in f16; prints a loud skip line when not.
pub(crate) fn f16_or_skip(ctx: &GpuContext, what: &str) -> bool {
    if !ctx.has_f16() {
        eprintln!(
            "SKIPPED: {what}: adapter {} has no shader-f16",
            ctx.report.name
        );
    }
    ctx.has_f16()
}

/// Runs one dispatch, panicking with the case name on a runtime error.
pub(crate) fn run(
    ctx: &Arc<GpuContext>,
    precision: WeightPrecision,
    dispatch: Dispatch,
    inputs: &KernelInputs<'_>,
    what: &str,
) -> Vec<f32> {
    standalone::run(ctx, precision, dispatch, inputs)
        .unwrap_or_else(|e| panic!("{what}: GPU run failed: {e}"))
}

/// SplitMix64: a tiny deterministic generator, seeded per case.
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator whose stream depends on `seed` and on the case name.
    pub(crate) fn new(seed: u64, name: &str) -> Rng {
        let mut h = seed ^ 0x243f_6a88_85a3_08d3;
        for b in name.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        Rng(h)
    }

    /// Next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[-1, 1]`.
    pub(crate) fn unit(&mut self) -> f32 {
        // 24 random bits map exactly onto f32.
        let u = (self.next_u64() >> 40) as f32 / (1u32 << 24) as f32;
        2.0 * u - 1.0
    }

    /// `n` values uniform in `[-amplitude, amplitude]`.
    pub(crate) fn vec(&mut self, n: usize, amplitude: f32) -> Vec<f32> {
        (0..n).map(|_| self.unit() * amplitude).collect()
    }

    /// `n` random bytes.
    pub(crate) fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| (self.next_u64() >> 56) as u8).collect()
    }
}

/// Fixed seed of every case (the case name is mixed in).
pub(crate) const SEED: u64 = 0x5eed_5eed_0f0f_4272;

/// `data` placed at element `offset` of a buffer whose other elements are NaN
/// (`offset` before, `tail` after).
pub(crate) fn embed(data: &[f32], offset: usize, tail: usize) -> Vec<f32> {
    let mut v = vec![f32::NAN; offset];
    v.extend_from_slice(data);
    v.extend(std::iter::repeat_n(f32::NAN, tail));
    v
}

/// Weight and scale/bias offsets used by every conv case: odd, nonzero, and
/// different from each other.
pub(crate) const WEIGHT_OFFSET: u32 = 37;
/// See [`WEIGHT_OFFSET`].
pub(crate) const SCALE_OFFSET: u32 = 11;
/// NaN elements after each embedded slice.
pub(crate) const TAIL: usize = 9;

/// Where a case places its weights and its scale/bias, which decides the
/// entry point a family's `dispatch` picks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Offsets {
    /// [`WEIGHT_OFFSET`] and [`SCALE_OFFSET`]: odd, so only the scalar entry
    /// points serve them.
    Odd,
    /// Nonzero multiples of 4, as the engine's weight layout gives: the `_vec4`
    /// entry points serve every shape whose channel counts allow them.
    Aligned,
}

impl Offsets {
    /// Both placements, in the order cases run them.
    pub(crate) const BOTH: [Offsets; 2] = [Offsets::Odd, Offsets::Aligned];

    /// Element offset of the weights.
    pub(crate) fn weight(self) -> u32 {
        match self {
            Offsets::Odd => WEIGHT_OFFSET,
            Offsets::Aligned => 40,
        }
    }

    /// Element offset of the scales (the biases follow them).
    pub(crate) fn scale(self) -> u32 {
        match self {
            Offsets::Odd => SCALE_OFFSET,
            Offsets::Aligned => 12,
        }
    }
}

/// Random folded BatchNorm for `c` channels: scales in `[-4, 4]` and biases in
/// `[-2, 2]`, so that ReLU6 clamps at both ends on unit-sized activations.
pub(crate) struct FoldedBn {
    /// Per-channel scale.
    pub scale: Vec<f32>,
    /// Per-channel bias.
    pub bias: Vec<f32>,
}

impl FoldedBn {
    pub(crate) fn random(rng: &mut Rng, c: usize) -> FoldedBn {
        FoldedBn {
            scale: rng.vec(c, 4.0),
            bias: rng.vec(c, 2.0),
        }
    }

    /// The scale/bias buffer the kernels read: junk, scales at element
    /// `offset`, biases, junk.
    pub(crate) fn buffer_at(&self, offset: u32) -> Vec<f32> {
        let mut sb = self.scale.clone();
        sb.extend_from_slice(&self.bias);
        embed(&sb, offset as usize, TAIL)
    }

    /// Applies the reference epilogue: folded BatchNorm, then ReLU6 if `relu6`.
    pub(crate) fn apply(&self, y: &mut Tensor, relu6: bool) {
        let norm = patchrt::model::LayerNorm::Folded {
            scale: self.scale.clone(),
            bias: self.bias.clone(),
        };
        patchrt::reference::batch_norm::batch_norm(y, &norm, 0.0);
        if relu6 {
            patchrt::reference::batch_norm::relu6(y);
        }
    }
}

/// Per-patch blocks laid side by side as a pass over several patches reads
/// them: each block padded with NaN to a multiple of 4 elements (the stride,
/// returned with the buffer), so vec4 kernels stay aligned and a kernel that
/// reads past its patch's block sees NaN.
pub(crate) fn stack(blocks: &[Vec<f32>]) -> (Vec<f32>, u32) {
    let stride = blocks
        .iter()
        .map(Vec::len)
        .max()
        .unwrap_or(0)
        .next_multiple_of(4);
    let mut out = Vec::with_capacity(stride * blocks.len());
    for b in blocks {
        out.extend_from_slice(b);
        out.extend(std::iter::repeat_n(f32::NAN, stride - b.len()));
    }
    (out, stride as u32)
}

/// The batch record of a [`BATCH`]-patch case.
pub(crate) fn batch_of(scale_bias_stride: u32, dw_stride: u32) -> Option<BatchParams> {
    Some(BatchParams {
        patches: BATCH as u32,
        scale_bias_stride,
        dw_stride,
        pad: 0,
    })
}

/// Compares each patch's slice of a batched output (patch b's from element
/// `b * stride`) with `expected(b)`, for the [`BATCH`] patches.
pub(crate) fn assert_patch_slices(
    got: &[f32],
    stride: usize,
    expected: impl Fn(usize) -> Vec<f32>,
    name: &str,
) {
    for b in 0..BATCH {
        let want = expected(b);
        let at = b * stride;
        assert_close(
            &got[at..at + want.len()],
            &want,
            Tolerance::KernelF32,
            &format!("{name}, patch {b} of {BATCH}"),
        );
    }
}

/// Patches per pass in the batched cases: 3, so patches share SIMD lanes and
/// workgroups on small layers and none is first and last at once.
pub(crate) const BATCH: usize = 3;

/// Random conv weights scaled so that outputs stay around unit size:
/// uniform in `[-a, a]` with `a = sqrt(3 / fan_in)`.
pub(crate) fn weights(rng: &mut Rng, n: usize, fan_in: usize) -> Vec<f32> {
    rng.vec(n, (3.0 / fan_in.max(1) as f32).sqrt())
}

/// A random HWC activation tensor with values in `[-1, 1]`.
pub(crate) fn activations(rng: &mut Rng, h: usize, w: usize, c: usize) -> Tensor {
    Tensor {
        h,
        w,
        c,
        data: rng.vec(h * w * c, 1.0),
    }
}

/// Decodes one IEEE half (as produced by `f16_bytes`) to f32.
fn f16_to_f32(bits: u16) -> f32 {
    let sign = if bits & 0x8000 != 0 { -1.0f32 } else { 1.0 };
    let exp = i32::from((bits >> 10) & 0x1f);
    let mant = f32::from(bits & 0x3ff);
    match exp {
        0 => sign * mant * 2f32.powi(-24),
        0x1f if mant == 0.0 => sign * f32::INFINITY,
        0x1f => f32::NAN,
        _ => sign * (1.0 + mant / 1024.0) * 2f32.powi(exp - 15),
    }
}

/// `values` rounded through f16 storage exactly as the runtime uploads them.
pub(crate) fn round_f16(values: &[f32]) -> Vec<f32> {
    patchrt::gpu::transfer::f16_bytes(values)
        .chunks_exact(2)
        .map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]])))
        .collect()
}

#[test]
fn f16_decoder_round_trips_representable_values() {
    let exact = [
        0.0f32,
        -0.0,
        1.0,
        -2.5,
        0.099975586,
        65504.0,
        6.1035156e-5,
        5.9604645e-8,
        -3.0517578e-5,
    ];
    assert_eq!(round_f16(&exact), exact);
    let rounded = round_f16(&[0.1, 1.0 / 3.0]);
    assert_eq!(rounded, [0.099975586, 0.33325195]);
}

/// One MobileNetV2 layer at a concrete input size.
#[derive(Debug, Clone)]
pub(crate) struct SizedLayer {
    /// The layer.
    pub layer: ConvLayer,
    /// Input height (= width: inputs are square).
    pub side: u32,
}

/// Every layer of MobileNetV2 at widths 1.0, 0.75, 0.5 and 0.35 for a square
/// input of `resolution`, with its input side, walking the spatial size with
/// `padding`. The sweeps run every distinct shape at 224 and 96, 112x112
/// layers included: on llvmpipe with two cores all of them take seconds.
pub(crate) fn mobilenet_v2_layers(resolution: u32, padding: Padding) -> Vec<SizedLayer> {
    let mut out = Vec::new();
    for width in patchrt::model::arch::SUPPORTED_WIDTHS {
        let arch = Architecture::mobilenet_v2(width, 1000, &MOBILENET_V2_BLOCKS);
        let mut side = resolution;
        for layer in arch.layers {
            let next = padding.begin_and_output(side, layer.kernel, layer.stride).1;
            out.push(SizedLayer { layer, side });
            side = next;
        }
    }
    out
}

/// The distinct values of `f` over the layers of `kind` (in a stable order).
pub(crate) fn distinct<T: Ord>(
    layers: &[SizedLayer],
    kinds: &[LayerKind],
    f: impl Fn(&SizedLayer) -> T,
) -> Vec<T> {
    let set: BTreeSet<T> = layers
        .iter()
        .filter(|l| kinds.contains(&l.layer.kind))
        .map(f)
        .collect();
    set.into_iter().collect()
}

#[test]
fn mobilenet_v2_layer_walk_reaches_7x7_at_224_and_3x3_at_96() {
    for padding in [Padding::Symmetric, Padding::SameUpper] {
        for (resolution, last) in [(224, 7), (96, 3)] {
            let layers = mobilenet_v2_layers(resolution, padding);
            assert_eq!(layers.len(), 4 * 52, "{padding:?}");
            let heads = distinct(&layers, &[LayerKind::Head], |l| l.side);
            assert_eq!(heads, [last], "{padding:?} {resolution}: head input side");
            let stems = distinct(&layers, &[LayerKind::Stem], |l| l.side);
            assert_eq!(
                stems,
                [resolution],
                "{padding:?} {resolution}: stem input side"
            );
        }
    }
}

/// Compares a kernel's output with the reference computed from `weights`.
///
/// With f32 storage the bound is [`Tolerance::KernelF32`]. With f16 storage
/// the output must stay within [`Tolerance::KernelF16`] of the f32 reference
/// and within [`Tolerance::KernelF32`] of the reference run on the weights
/// rounded through f16 (the kernels widen to f32 and compute in f32).
pub(crate) fn check_output(
    got: &[f32],
    precision: WeightPrecision,
    weights: &[f32],
    reference: impl Fn(&[f32]) -> Vec<f32>,
    what: &str,
) {
    match precision {
        WeightPrecision::F32 => assert_close(got, &reference(weights), Tolerance::KernelF32, what),
        WeightPrecision::F16 => {
            assert_close(got, &reference(weights), Tolerance::KernelF16, what);
            let rounded = round_f16(weights);
            assert_close(
                got,
                &reference(&rounded),
                Tolerance::KernelF32,
                &format!("{what} (f16-rounded reference)"),
            );
        }
    }
}

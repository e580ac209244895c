//! Shared helpers for PatchRT's integration tests: named tolerances, a
//! comparison that explains its failures, the GPU-or-fail helper, and cached
//! synthetic models.

pub mod http_server;

use std::sync::{Arc, OnceLock};

use patchrt::model::Backbone;
use patchrt::model::synthetic::{self, SyntheticSpec};
use patchrt::{AdapterPreference, GpuContext, Patch, Resolution};

/// Named tolerances; tests never carry bare epsilons.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Tolerance {
    /// Bitwise equality.
    Exact,
    /// One GPU kernel against its CPU reference in f32 (summation order differs).
    KernelF32,
    /// Whole-network probabilities in f32 (the bound: 1e-4 absolute).
    ModelF32,
    /// Whole-network probabilities with f16 weight storage (1e-2 absolute).
    F16,
    /// One kernel with f16-stored weights against the f32 reference.
    KernelF16,
    /// Real weights against an independent framework (the bound: 1e-3 absolute).
    Conformance,
    /// Whole-network log-probabilities in f32 (logit error, any class).
    LogProbF32,
    /// Whole-network log-probabilities with f16 weight storage.
    LogProbF16,
}

impl Tolerance {
    /// `(atol, rtol)`: `|a - b| <= atol + rtol * |b|` passes.
    pub fn bounds(self) -> (f32, f32) {
        match self {
            Tolerance::Exact => (0.0, 0.0),
            Tolerance::KernelF32 => (1e-5, 1e-4),
            Tolerance::ModelF32 => (1e-4, 0.0),
            Tolerance::F16 => (1e-2, 0.0),
            Tolerance::KernelF16 => (2e-2, 1e-2),
            Tolerance::Conformance => (1e-3, 0.0),
            Tolerance::LogProbF32 => (1e-3, 0.0),
            Tolerance::LogProbF16 => (2.5e-1, 0.0),
        }
    }
}

/// Largest absolute difference between two equally long slices.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Asserts `actual` matches `expected` within `tol`; on failure names the first
/// bad index, both values and the maximum error.
#[track_caller]
pub fn assert_close(actual: &[f32], expected: &[f32], tol: Tolerance, what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}: lengths differ");
    let (atol, rtol) = tol.bounds();
    let ok = |a: f32, e: f32| {
        if a.is_nan() || e.is_nan() {
            a.is_nan() && e.is_nan()
        } else {
            a == e || (a - e).abs() <= atol + rtol * e.abs()
        }
    };
    let bad = actual.iter().zip(expected).position(|(a, e)| !ok(*a, *e));
    if let Some(i) = bad {
        panic!(
            "{what}: index {i}: got {} expected {} (max abs err {:e}, tolerance {tol:?})",
            actual[i],
            expected[i],
            max_abs_diff(actual, expected)
        );
    }
}

/// Synthetic MobileNetV2 1.0 (the embedded default), built once per test binary.
pub fn default_backbone_bytes() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| synthetic::backbone_bytes(&SyntheticSpec::default()))
}

/// A small synthetic backbone (width 0.35, 10 classes, calibrated at 96) for
/// tests that need many engines or files quickly.
pub fn small_backbone_bytes() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        synthetic::backbone_bytes(&SyntheticSpec {
            width: 0.35,
            classes: 10,
            calibration_side: 96,
            ..SyntheticSpec::default()
        })
    })
}

/// Parses a backbone that tests know to be valid.
pub fn parse_backbone(bytes: &[u8]) -> Backbone {
    match Backbone::from_bytes(bytes) {
        Ok(b) => b,
        Err(e) => panic!("test backbone does not parse: {e}"),
    }
}

/// The shared GPU context for GPU tests, or `None` (with a loud note) when
/// `PATCHRT_SKIP_GPU=1` and no adapter exists. Without that opt-in a missing
/// adapter fails the test with the command that installs one.
pub fn gpu() -> Option<Arc<GpuContext>> {
    static CTX: OnceLock<Result<Arc<GpuContext>, String>> = OnceLock::new();
    match CTX.get_or_init(|| GpuContext::new(&AdapterPreference::Auto).map_err(|e| e.to_string())) {
        Ok(ctx) => Some(ctx.clone()),
        Err(e) if std::env::var("PATCHRT_SKIP_GPU").as_deref() == Ok("1") => {
            eprintln!("SKIPPED (PATCHRT_SKIP_GPU=1): no GPU adapter: {e}");
            None
        }
        Err(e) => panic!("GPU tests need a Vulkan adapter: {e}"),
    }
}

/// Synthetic task patches (3 tasks x 5 resolutions) for the default backbone.
pub fn default_patches() -> &'static [Patch] {
    static PATCHES: OnceLock<Vec<Patch>> = OnceLock::new();
    PATCHES.get_or_init(|| {
        synthetic::task_patches(
            &parse_backbone(default_backbone_bytes()),
            &Resolution::STANDARD,
            7,
        )
    })
}

/// Synthetic task patches (3 tasks x 5 resolutions) for the small backbone.
pub fn small_patches() -> &'static [Patch] {
    static PATCHES: OnceLock<Vec<Patch>> = OnceLock::new();
    PATCHES.get_or_init(|| {
        synthetic::task_patches(
            &parse_backbone(small_backbone_bytes()),
            &Resolution::STANDARD,
            7,
        )
    })
}

/// The synthetic test frame (640x480 RGBA).
pub fn frame() -> &'static [u8] {
    static PIXELS: OnceLock<Vec<u8>> = OnceLock::new();
    PIXELS.get_or_init(|| synthetic::test_image(640, 480, 11))
}

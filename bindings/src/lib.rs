/*!
UniFFI bindings of PatchRT for Kotlin and Swift.

A thin layer over [`patchrt`]: an [`Engine`] object, plain records for
options and results, [`PatchrtError`] carrying the runtime's typed errors, and
a few free functions. Proc-macros only (no UDL); generate the foreign code in
library mode with `scripts/bindings.sh` (which runs the workspace's own
`uniffi-bindgen`, `bindings/bindgen`).

No panic crosses the boundary: every exported body runs under one guard that
turns a panic into [`PatchrtError::Internal`].
*/
#![deny(missing_docs)]

#[cfg(target_os = "android")]
mod android;
mod engine;
mod error;
mod records;
mod updater;

use patchrt::Resolution;
use patchrt::model::synthetic::{self, SyntheticSpec};
use patchrt::model::{Backbone, StoreAs};
use patchrt::policy;

pub use engine::Engine;
pub use error::{BundleRefusal, FileKind, PatchrtError, Result};
pub use records::{
    BenchSnapshot, CascadeStage, ClassificationResult, DemoModel, DeviceState, EngineOptions,
    MemoryUsage, PatchInfo, PipelineCacheState, Prediction, ResolutionLatency, ThermalState,
};

pub use updater::{BundleUpdater, BundledPatch, DemoBundle, InstalledBundle, demo_bundle};

use error::guard;

/// Builds a small synthetic MobileNetV2 for tests and samples.
///
/// The weights are synthetic (seeded random, BatchNorm statistics measured on
/// a synthetic image): outputs mean nothing, but every kernel and patch swap
/// runs as with a real model. `width` is the width multiplier (0.35 is small
/// and fast), `classes` the backbone classifier's classes. The patches are
/// the tasks `objects`, `scenes` and `flowers` at 224, 192, 160, 128 and 96
/// (ids `<task>@<resolution>`). Building takes a moment (BatchNorm
/// calibration runs on the CPU at every resolution).
#[uniffi::export]
pub fn demo_model(width: f32, classes: u32) -> Result<DemoModel> {
    guard(|| {
        if !(width.is_finite() && width > 0.0 && width <= 2.0) || classes == 0 {
            return Err(PatchrtError::InvalidArgument {
                name: "demo_model".into(),
                detail: format!("width {width} must be in (0, 2] and classes {classes} positive"),
            });
        }
        let backbone = synthetic::backbone_bytes(&SyntheticSpec {
            width,
            classes,
            calibration_side: 96,
            ..SyntheticSpec::default()
        });
        let parsed = Backbone::from_bytes(&backbone)?;
        let patches = synthetic::task_patches(&parsed, &Resolution::STANDARD, 7)
            .iter()
            .map(|p| p.to_bytes(&parsed, StoreAs::F32))
            .collect();
        Ok(DemoModel { backbone, patches })
    })
}

/// A deterministic synthetic RGBA8 image (`width * height * 4` bytes) for
/// tests and samples.
#[uniffi::export]
pub fn demo_image(width: u32, height: u32, seed: u64) -> Result<Vec<u8>> {
    guard(|| {
        if width == 0 || height == 0 || width > 8192 || height > 8192 {
            return Err(PatchrtError::InvalidArgument {
                name: "demo_image".into(),
                detail: format!("{width}x{height} is not within 1..=8192 per side"),
            });
        }
        Ok(synthetic::test_image(width, height, seed))
    })
}

/// Maps Android's `PowerManager.getCurrentThermalStatus()` code (0..=6) onto
/// the four thermal levels.
#[uniffi::export]
pub fn thermal_from_android(status: i32) -> Result<ThermalState> {
    guard(|| Ok(policy::ThermalState::from_android(status)?.into()))
}

/// Maps the raw value of iOS's `ProcessInfo.thermalState` (0..=3).
#[uniffi::export]
pub fn thermal_from_ios(raw: i64) -> Result<ThermalState> {
    guard(|| Ok(policy::ThermalState::from_ios(raw)?.into()))
}

uniffi::setup_scaffolding!();

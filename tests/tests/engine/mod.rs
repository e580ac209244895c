//! The whole network on the GPU: conformance with the CPU reference, patch
//! swaps, resolution switches, residency, bad input, per-dispatch profiling
//! and the persisted pipeline cache.

mod bad_input;
mod batch;
mod cascade;
mod network;
mod pipeline_cache;
mod profile;
mod residency;
mod swap;

use std::sync::Arc;

use patchrt::model::synthetic::{self, SyntheticSpec};
use patchrt::model::{Backbone, StoreAs};
use patchrt::{Engine, EngineOptions, GpuContext, Patch, Resolution, RgbaImage, WeightPrecision};
use patchrt_tests::{frame, gpu, parse_backbone};

/// An engine over `backbone_bytes` on the shared context, or `None` when GPU
/// tests are skipped.
pub fn engine(
    backbone_bytes: &[u8],
    precision: WeightPrecision,
) -> Option<(Arc<GpuContext>, Engine)> {
    let ctx = gpu()?;
    let options = EngineOptions {
        precision,
        ..EngineOptions::default()
    };
    match Engine::with_context(ctx.clone(), parse_backbone(backbone_bytes), options) {
        Ok(e) => Some((ctx, e)),
        Err(e) => panic!("engine creation failed: {e}"),
    }
}

/// Loads patches into an engine, panicking on failure.
pub fn load(engine: &Engine, patches: &[Patch]) {
    for p in patches {
        if let Err(e) = engine.load_patch(&p.to_bytes(engine.backbone(), StoreAs::F32)) {
            panic!("loading {}: {e}", p.id);
        }
    }
}

/// The 640x480 test frame.
pub fn image() -> RgbaImage<'static> {
    match RgbaImage::new(640, 480, frame()) {
        Ok(i) => i,
        Err(e) => panic!("{e}"),
    }
}

/// Probabilities of one classification, panicking on error.
pub fn probs(engine: &Engine, image: &RgbaImage<'_>, res: u32) -> Vec<f32> {
    match engine.classify(image, Resolution(res)) {
        Ok(c) => c.probabilities,
        Err(e) => panic!("classify at {res}: {e}"),
    }
}

/// A synthetic backbone of another width/padding, as bytes.
pub fn variant(width: f32, padding: patchrt::model::Padding) -> Vec<u8> {
    synthetic::backbone_bytes(&SyntheticSpec {
        width,
        classes: 50,
        padding,
        calibration_side: 128,
        ..SyntheticSpec::default()
    })
}

/// A parsed backbone.
pub fn backbone(bytes: &[u8]) -> Backbone {
    parse_backbone(bytes)
}

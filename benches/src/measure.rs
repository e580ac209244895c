//! The measurements: latency per resolution, patch swaps, full reload.

use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use patchrt::model::synthetic;
use patchrt::{Backbone, Engine, EngineOptions, Patch, Resolution, RgbaImage, reference};

use crate::stats::Percentiles;

/// Width and height of the benchmark frame (a camera-like 4:3 frame, resized on the GPU).
pub const FRAME: (u32, u32) = (640, 480);

/// The benchmark frame's RGBA bytes.
pub fn frame_pixels() -> Vec<u8> {
    synthetic::test_image(FRAME.0, FRAME.1, 11)
}

/// One resolution's results.
pub struct ResolutionResult {
    /// Side length.
    pub size: u32,
    /// Patch used.
    pub patch_id: String,
    /// Wall-clock latency of `classify` (upload, one submit, readback), ms.
    pub latency_ms: Percentiles,
    /// GPU time of the compute pass, ms.
    pub gpu_ms: Option<Percentiles>,
    /// Largest |GPU - CPU reference| over all class probabilities.
    pub max_abs_err_vs_cpu: Option<f32>,
    /// Most probable class and its probability.
    pub top1: (String, f32),
}

/// How many inferences to run and whether to check against the CPU.
#[derive(Debug, Clone, Copy)]
pub struct Sampling {
    /// Untimed inferences first.
    pub warmup: usize,
    /// Timed inferences.
    pub iters: usize,
    /// Compare the last result with the CPU reference.
    pub cpu_check: bool,
}

/// Times `classify` at one resolution with the patch the first task uses there.
pub fn resolution(
    engine: &Engine,
    patches: &[Patch],
    image: &RgbaImage<'_>,
    res: Resolution,
    task: &str,
    sampling: Sampling,
) -> Result<ResolutionResult> {
    let Sampling {
        warmup,
        iters,
        cpu_check,
    } = sampling;
    let patch_id = engine
        .patch_for_task(task, res)
        .unwrap_or_else(|_| engine.active_patch());
    engine.activate(&patch_id)?;
    for _ in 0..warmup {
        engine.classify(image, res)?;
    }
    let mut wall = Vec::with_capacity(iters);
    let mut gpu = Vec::with_capacity(iters);
    let mut last = None;
    for _ in 0..iters {
        let t = Instant::now();
        let c = engine.classify(image, res)?;
        wall.push(t.elapsed().as_secs_f64() * 1e3);
        gpu.extend(c.gpu_ms);
        last = Some(c);
    }
    let last = last.context("--iters must be at least 1")?;
    let max_abs_err_vs_cpu = cpu_check.then(|| {
        let patch = patches
            .iter()
            .find(|p| p.id == patch_id)
            .cloned()
            .unwrap_or_else(|| Patch::default_of(engine.backbone()));
        let cpu = reference::forward(engine.backbone(), &patch, image, res.side());
        last.probabilities
            .iter()
            .zip(&cpu)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max)
    });
    let top = last
        .top_k(1)
        .into_iter()
        .next()
        .map(|p| (p.label, p.probability))
        .unwrap_or_default();
    Ok(ResolutionResult {
        size: res.side(),
        patch_id,
        latency_ms: Percentiles::of(&wall).context("no samples")?,
        gpu_ms: Percentiles::of(&gpu),
        max_abs_err_vs_cpu,
        top1: top,
    })
}

/// Swap timings.
pub struct SwapResult {
    /// Activating a resident patch, µs.
    pub hot_us: Percentiles,
    /// Loading a patch from bytes and activating it, µs.
    pub cold_us: Percentiles,
    /// Loading a whole separate backbone and running its first inference, ms.
    pub full_reload_ms: Percentiles,
}

/// Measures hot swaps between two resident patches, cold swaps of `cold_patch`
/// (unloaded again after each sample), and full reloads of the backbone.
pub fn swaps(
    engine: &Engine,
    backbone_bytes: &[u8],
    cold_patch: &[u8],
    image: &RgbaImage<'_>,
    iters: usize,
    reloads: usize,
) -> Result<SwapResult> {
    let ids: Vec<String> = engine.patches().into_iter().map(|p| p.id).collect();
    let a = ids.first().context("no resident patch")?.clone();
    let b = ids.get(1).unwrap_or(&a).clone();
    let mut hot = Vec::with_capacity(iters);
    for i in 0..iters {
        let id = if i % 2 == 0 { &a } else { &b };
        let t = Instant::now();
        engine.activate(id)?;
        hot.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let cold_id = Patch::from_bytes(cold_patch, engine.backbone())?.id;
    let restore = engine.active_patch();
    let mut cold = Vec::with_capacity(iters);
    for _ in 0..iters.min(100) {
        if engine.patches().iter().any(|p| p.id == cold_id) {
            engine.activate(&a)?;
            engine.unload_patch(&cold_id)?;
        }
        let t = Instant::now();
        engine.load_patch(cold_patch)?;
        engine.activate(&cold_id)?;
        cold.push(t.elapsed().as_secs_f64() * 1e6);
    }
    engine.activate(&restore)?;
    let mut reload = Vec::with_capacity(reloads);
    for _ in 0..reloads {
        let t = Instant::now();
        let bb = Backbone::from_bytes(backbone_bytes)?;
        let fresh = Engine::with_context(
            engine.context().clone(),
            bb,
            EngineOptions {
                resolutions: engine.options().resolutions.clone(),
                precision: engine.options().precision,
                ..EngineOptions::default()
            },
        )?;
        fresh.classify(image, engine.options().resolutions[0])?;
        reload.push(t.elapsed().as_secs_f64() * 1e3);
        drop(fresh);
        thread::sleep(Duration::from_millis(10));
    }
    Ok(SwapResult {
        hot_us: Percentiles::of(&hot).context("no hot samples")?,
        cold_us: Percentiles::of(&cold).context("no cold samples")?,
        full_reload_ms: Percentiles::of(&reload).context("no reload samples")?,
    })
}

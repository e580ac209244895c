//! Start-up split into its phases: device, pipelines, engine, first inference.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use patchrt::gpu::PipelineCacheReport;
use patchrt::{Backbone, ContextOptions, Engine, EngineOptions, GpuContext};
use serde_json::{Value, json};

/// Phase times of one start-up, ms.
#[derive(Debug, Clone)]
pub struct Startup {
    /// Instance, adapter, device and pipeline cache file.
    pub context_ms: f64,
    /// Shader modules and compute pipelines (drivers that compile at the
    /// first dispatch, like llvmpipe, move most compile time to the first inference).
    pub pipelines_ms: f64,
    /// Backbone upload, plan, buffers and bind groups (pipelines already made).
    pub engine_ms: f64,
    /// What happened to the pipeline cache.
    pub cache: PipelineCacheReport,
}

impl Startup {
    /// Everything before the engine could run, ms.
    pub fn init_ms(&self) -> f64 {
        self.context_ms + self.pipelines_ms + self.engine_ms
    }

    /// The phases as JSON.
    pub fn json(&self) -> Value {
        json!({
            "context_ms": self.context_ms,
            "pipelines_ms": self.pipelines_ms,
            "engine_ms": self.engine_ms,
            "pipeline_cache": cache_json(&self.cache),
        })
    }
}

/// The pipeline cache report as JSON.
pub fn cache_json(c: &PipelineCacheReport) -> Value {
    json!({
        "path": c.path.as_ref().map(|p| p.display().to_string()),
        "state": state_text(c),
        "saved_bytes": c.saved_bytes,
        "save_error": c.save_error,
    })
}

/// One line describing the pipeline cache.
pub fn state_text(c: &PipelineCacheReport) -> String {
    use patchrt::gpu::PipelineCacheState as S;
    match &c.state {
        S::Off => "off".to_string(),
        S::Unsupported => "unsupported by the adapter (no-op)".to_string(),
        S::Created => "created (no file yet)".to_string(),
        S::Loaded { bytes } => format!("loaded {bytes} bytes"),
        S::Rejected { reason } => format!("rejected: {reason}"),
    }
}

/// Creates the context, pipelines and engine, timing each phase.
pub fn open_engine(
    backbone: Backbone,
    options: EngineOptions,
    pipeline_cache: Option<PathBuf>,
) -> Result<(Engine, Startup)> {
    let t = Instant::now();
    let ctx: Arc<GpuContext> = GpuContext::open(&ContextOptions {
        adapter: options.adapter.clone(),
        pipeline_cache,
    })
    .context("opening the GPU context")?;
    let context_ms = ms(t);
    let t = Instant::now();
    ctx.pipelines(options.precision)
        .context("creating the pipelines")?;
    let pipelines_ms = ms(t);
    let t = Instant::now();
    let engine =
        Engine::with_context(ctx.clone(), backbone, options).context("creating the engine")?;
    let engine_ms = ms(t);
    Ok((
        engine,
        Startup {
            context_ms,
            pipelines_ms,
            engine_ms,
            cache: ctx.pipeline_cache(),
        },
    ))
}

/// Milliseconds since `t`.
pub fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

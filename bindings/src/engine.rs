//! The exported engine: the runtime's [`patchrt::Engine`] plus the resource
//! policy state the app feeds (device readings, measured latencies, cascade).
//!
//! Concurrency: [`Engine`] is `Send + Sync` and shared by foreign code through
//! an `Arc`, so any thread may call any method. What is serialised:
//! - inferences (`classify*`): the runtime runs one at a time under its engine
//!   lock, because they share the activation and readback buffers (a GPU runs
//!   one network at a time anyway); concurrent callers wait their turn, and
//!   that wait is part of their `latency_ms`;
//! - activation, unloading and listing take the same lock briefly; parsing,
//!   validating and uploading a patch happen outside it, so loads overlap
//!   inferences;
//! - the policy state (device reading, latency tracker, override, cascade)
//!   sits behind one mutex of its own, held only to plan and to record a
//!   sample, never during an inference, so `report_device_state` never waits
//!   for the GPU.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use patchrt::policy::{self, LatencyTracker, Policy};
use patchrt::{Backbone, CascadeStep, Classification, Resolution, RgbaImage};

use crate::error::{PatchrtError, Result, guard};
use crate::records::{
    BenchSnapshot, CascadeStage, ClassificationResult, DeviceState, EngineOptions, MemoryUsage,
    PatchInfo, PipelineCacheState, Prediction, ResolutionLatency,
};

/// What the policy reads and remembers between requests.
struct Control {
    device: policy::DeviceState,
    policy: Policy,
    tracker: LatencyTracker,
    /// Resolutions that have run once: the first run of each is not recorded
    /// (it can include one-time setup and says nothing about the next).
    warmed: BTreeSet<Resolution>,
    cascade: Vec<CascadeStep>,
}

/// A backbone resident on the GPU with its patches, and the resource policy.
///
/// Kotlin: `Engine(options, backbone)` / `Engine.fromPath(options, path)`;
/// Swift: `Engine(options:backbone:)` / `Engine.fromPath(options:path:)`.
/// Every method throws `PatchrtException` (Kotlin) / `PatchrtError` (Swift).
#[derive(uniffi::Object)]
pub struct Engine {
    inner: Arc<patchrt::Engine>,
    control: Mutex<Control>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl Engine {
    fn build(options: &EngineOptions, backbone: Backbone) -> Result<Arc<Self>> {
        let runtime = options.to_runtime();
        let inner = Arc::new(match &options.pipeline_cache_path {
            None => patchrt::Engine::new(backbone, runtime)?,
            Some(path) => {
                let ctx = patchrt::GpuContext::open(&patchrt::ContextOptions {
                    adapter: runtime.adapter.clone(),
                    pipeline_cache: Some(path.into()),
                })?;
                patchrt::Engine::with_context(ctx, backbone, runtime)?
            }
        });
        Ok(Arc::new(Engine {
            inner,
            control: Mutex::new(Control {
                device: policy::DeviceState::default(),
                policy: Policy::default(),
                tracker: LatencyTracker::default(),
                warmed: BTreeSet::new(),
                cascade: Vec::new(),
            }),
        }))
    }

    /// The runtime engine, shared with a [`crate::BundleUpdater`].
    pub(crate) fn runtime(&self) -> Arc<patchrt::Engine> {
        self.inner.clone()
    }

    fn control(&self) -> MutexGuard<'_, Control> {
        // Control is only ever replaced field by field with valid values, so a
        // panic elsewhere while it was held leaves nothing half-written.
        self.control.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs one classification, timing it and recording the sample.
    fn timed(
        &self,
        run: impl FnOnce() -> patchrt::Result<(Classification, Vec<Resolution>)>,
    ) -> Result<(Classification, Vec<Resolution>, f64)> {
        let started = Instant::now();
        let (c, stages) = run()?;
        let ms = started.elapsed().as_secs_f64() * 1e3;
        // A cascade of several stages says nothing about one resolution.
        if stages.len() == 1 {
            let mut control = self.control();
            if !control.warmed.insert(c.resolution) {
                // Finite and non-negative by construction; nothing to report.
                let _ = control.tracker.record(c.resolution, ms);
            }
        }
        Ok((c, stages, ms))
    }

    fn served(&self) -> Vec<u32> {
        self.inner
            .options()
            .resolutions
            .iter()
            .map(|r| r.side())
            .collect()
    }
}

/// Runs a pass over several patches at `r` and makes each result, all with
/// the pass's wall time.
fn one_pass(
    r: Resolution,
    top_k: u32,
    run: impl FnOnce(Resolution) -> patchrt::Result<Vec<Classification>>,
) -> Result<Vec<ClassificationResult>> {
    let started = Instant::now();
    let all = run(r)?;
    let ms = started.elapsed().as_secs_f64() * 1e3;
    Ok(all
        .iter()
        .map(|c| result(c, &[r], ms, top_k, None))
        .collect())
}

fn result(
    c: &Classification,
    stages: &[Resolution],
    latency_ms: f64,
    top_k: u32,
    reason: Option<String>,
) -> ClassificationResult {
    let k = if top_k == 0 {
        c.probabilities.len()
    } else {
        top_k as usize
    };
    ClassificationResult {
        predictions: c
            .top_k(k)
            .into_iter()
            .map(|p| Prediction {
                label: p.label,
                score: p.probability,
                class_index: p.class as u32,
            })
            .collect(),
        resolution: c.resolution.side(),
        patch_id: c.patch_id.clone(),
        stages_run: stages.iter().map(|r| r.side()).collect(),
        latency_ms,
        gpu_ms: c.gpu_ms,
        reason,
    }
}

fn no_patch_at_all(task: &str) -> PatchrtError {
    PatchrtError::NoPatchForTask {
        task: task.to_string(),
        resolution: None,
        detail: format!("task {task:?} has no patch loaded at any resolution"),
    }
}

#[uniffi::export]
impl Engine {
    /// Creates an engine from backbone file bytes: picks the adapter, creates
    /// the device and uploads the backbone.
    #[uniffi::constructor]
    pub fn new(options: EngineOptions, backbone: Vec<u8>) -> Result<Arc<Self>> {
        guard(|| Engine::build(&options, Backbone::from_bytes(&backbone)?))
    }

    /// Creates an engine from a backbone file on disk.
    #[uniffi::constructor]
    pub fn from_path(options: EngineOptions, path: String) -> Result<Arc<Self>> {
        guard(|| Engine::build(&options, Backbone::from_path(&path)?))
    }

    /// Parses, validates and uploads a patch file; it becomes activatable.
    /// On error nothing changes.
    pub fn load_patch(&self, bytes: Vec<u8>) -> Result<PatchInfo> {
        guard(|| Ok(self.inner.load_patch(&bytes)?.into()))
    }

    /// Loads a patch file from disk (see [`Engine::load_patch`]).
    pub fn load_patch_file(&self, path: String) -> Result<PatchInfo> {
        guard(|| {
            let bytes = std::fs::read(&path).map_err(|e| PatchrtError::Io {
                detail: format!("cannot read {path}: {e}"),
                path: path.clone(),
            })?;
            Ok(self.inner.load_patch(&bytes)?.into())
        })
    }

    /// Resident patches, sorted by id.
    pub fn patches(&self) -> Result<Vec<PatchInfo>> {
        guard(|| Ok(self.inner.patches().into_iter().map(Into::into).collect()))
    }

    /// Makes a resident patch the one `classify` uses. Moves no data.
    pub fn activate(&self, id: String) -> Result<()> {
        guard(|| Ok(self.inner.activate(&id)?))
    }

    /// Removes a resident patch (not the default nor the active one).
    pub fn unload_patch(&self, id: String) -> Result<()> {
        guard(|| Ok(self.inner.unload_patch(&id)?))
    }

    /// Id of the active patch.
    pub fn active_patch(&self) -> Result<String> {
        guard(|| Ok(self.inner.active_patch()))
    }

    /// Resolutions the engine serves, largest first.
    pub fn resolutions(&self) -> Result<Vec<u32>> {
        guard(|| Ok(self.served()))
    }

    /// Resolutions at which `task` has a patch, largest first.
    pub fn resolutions_for_task(&self, task: String) -> Result<Vec<u32>> {
        guard(|| {
            Ok(self
                .inner
                .resolutions_for_task(&task)
                .into_iter()
                .map(|r| r.side())
                .collect())
        })
    }

    /// Classifies an RGBA8 image (row-major, no row padding, any size) at
    /// `resolution` with the active patch; returns the `top_k` classes (0: all).
    pub fn classify(
        &self,
        rgba: Vec<u8>,
        width: u32,
        height: u32,
        resolution: u32,
        top_k: u32,
    ) -> Result<ClassificationResult> {
        guard(|| {
            let image = RgbaImage::new(width, height, &rgba)?;
            let r = Resolution(resolution);
            let (c, stages, ms) = self.timed(|| Ok((self.inner.classify(&image, r)?, vec![r])))?;
            Ok(result(&c, &stages, ms, top_k, None))
        })
    }

    /// Classifies for `task` at `resolution` with the task's patch for that
    /// resolution (else its resolution-independent one). The active patch is
    /// unchanged.
    pub fn classify_task(
        &self,
        rgba: Vec<u8>,
        width: u32,
        height: u32,
        task: String,
        resolution: u32,
        top_k: u32,
    ) -> Result<ClassificationResult> {
        guard(|| {
            let image = RgbaImage::new(width, height, &rgba)?;
            let r = Resolution(resolution);
            let (c, stages, ms) =
                self.timed(|| Ok((self.inner.classify_task(&image, &task, r)?, vec![r])))?;
            Ok(result(&c, &stages, ms, top_k, None))
        })
    }

    /// Classifies one frame under each of the resident patches `patch_ids`
    /// (K tasks) in one GPU pass: one upload, one submit, one readback, each
    /// backbone weight fetched once for all K. Results come in the order of
    /// `patch_ids`, each equal to `classify` with that patch active; their
    /// `latency_ms` and `gpu_ms` are the whole pass's. The active patch is
    /// unchanged. At most `EngineOptions.max_patches_per_pass` ids.
    pub fn classify_patches(
        &self,
        rgba: Vec<u8>,
        width: u32,
        height: u32,
        patch_ids: Vec<String>,
        resolution: u32,
        top_k: u32,
    ) -> Result<Vec<ClassificationResult>> {
        guard(|| {
            let image = RgbaImage::new(width, height, &rgba)?;
            let ids: Vec<&str> = patch_ids.iter().map(String::as_str).collect();
            one_pass(Resolution(resolution), top_k, |r| {
                self.inner.classify_patches(&image, &ids, r)
            })
        })
    }

    /// `classify_patches` with each task's patch, chosen as `classify_task`
    /// chooses it.
    pub fn classify_tasks(
        &self,
        rgba: Vec<u8>,
        width: u32,
        height: u32,
        tasks: Vec<String>,
        resolution: u32,
        top_k: u32,
    ) -> Result<Vec<ClassificationResult>> {
        guard(|| {
            let image = RgbaImage::new(width, height, &rgba)?;
            let tasks: Vec<&str> = tasks.iter().map(String::as_str).collect();
            one_pass(Resolution(resolution), top_k, |r| {
                self.inner.classify_tasks(&image, &tasks, r)
            })
        })
    }

    /// Reports the device's state for the policy; `classify_auto` plans with
    /// the latest report (a full battery and nominal heat before any).
    pub fn report_device_state(&self, state: DeviceState) -> Result<()> {
        guard(|| {
            let reading = policy::DeviceState::from(&state);
            reading.validate()?;
            self.control().device = reading;
            Ok(())
        })
    }

    /// Pins the policy to a resolution (`None` clears the override). An
    /// override wins over every rule and turns the cascade off.
    pub fn set_resolution_override(&self, resolution: Option<u32>) -> Result<()> {
        guard(|| {
            self.control()
                .policy
                .set_override(resolution.map(Resolution));
            Ok(())
        })
    }

    /// Loads a cascade file (`patchrt.cascade` JSON) for `classify_cascade`
    /// and the policy; returns its stages.
    pub fn load_cascade_json(&self, json: String) -> Result<Vec<CascadeStage>> {
        guard(|| {
            let cascade = patchrt::cascade::Cascade::from_json(&json)?;
            let steps: Vec<CascadeStep> = cascade
                .stages()
                .iter()
                .map(|s| CascadeStep {
                    resolution: Resolution(s.resolution),
                    threshold: s.threshold,
                })
                .collect();
            let resolutions: Vec<Resolution> = steps.iter().map(|s| s.resolution).collect();
            let mut control = self.control();
            control.policy.set_cascade(&resolutions);
            control.cascade = steps;
            Ok(stages_of(&control.cascade))
        })
    }

    /// The loaded cascade's stages (empty when none is loaded).
    pub fn cascade(&self) -> Result<Vec<CascadeStage>> {
        guard(|| Ok(stages_of(&self.control().cascade)))
    }

    /// Runs the loaded cascade for `task`: cheap resolution first, escalating
    /// while the top probability is under the stage's threshold.
    pub fn classify_cascade(
        &self,
        rgba: Vec<u8>,
        width: u32,
        height: u32,
        task: String,
        top_k: u32,
    ) -> Result<ClassificationResult> {
        guard(|| {
            let image = RgbaImage::new(width, height, &rgba)?;
            let steps = self.control().cascade.clone();
            if steps.is_empty() {
                return Err(PatchrtError::InvalidArgument {
                    name: "cascade".into(),
                    detail: "no cascade is loaded; call load_cascade_json first".into(),
                });
            }
            let (c, stages, ms) = self.timed(|| {
                let o = self.inner.classify_cascade(&image, &task, &steps, None)?;
                Ok((o.result, o.stages_run))
            })?;
            Ok(result(&c, &stages, ms, top_k, None))
        })
    }

    /// Classifies for `task` under the resource policy: plans over the
    /// resolutions with a patch of the task from the last device report and the
    /// measured latencies, runs the plan (the cascade when the plan says so and
    /// one is loaded), records the latency, and returns the plan's reason.
    pub fn classify_auto(
        &self,
        rgba: Vec<u8>,
        width: u32,
        height: u32,
        task: String,
        top_k: u32,
    ) -> Result<ClassificationResult> {
        guard(|| {
            let image = RgbaImage::new(width, height, &rgba)?;
            let available = self.inner.resolutions_for_task(&task);
            if available.is_empty() {
                return Err(no_patch_at_all(&task));
            }
            let (plan, mut steps) = {
                let mut guard = self.control();
                let control = &mut *guard;
                let plan = control
                    .policy
                    .plan(&control.device, &control.tracker, &available)?;
                (plan, control.cascade.clone())
            };
            let cascade = plan.run_cascade && !steps.is_empty();
            if let (true, Some(cap)) = (cascade, plan.cascade_cap)
                && let Some(stop) = steps.iter().position(|s| s.resolution == cap)
            {
                steps.truncate(stop + 1);
            }
            let (c, stages, ms) = self.timed(|| {
                if cascade {
                    let o = self
                        .inner
                        .classify_cascade(&image, &task, &steps, plan.cascade_cap)?;
                    Ok((o.result, o.stages_run))
                } else {
                    let c = self.inner.classify_task(&image, &task, plan.resolution)?;
                    Ok((c, vec![plan.resolution]))
                }
            })?;
            Ok(result(&c, &stages, ms, top_k, Some(plan.reason)))
        })
    }

    /// What became of `EngineOptions.pipeline_cache_path` at start-up.
    pub fn pipeline_cache_state(&self) -> Result<PipelineCacheState> {
        guard(|| Ok(self.inner.context().pipeline_cache().state.into()))
    }

    /// Name of the GPU adapter in use.
    pub fn adapter_name(&self) -> Result<String> {
        guard(|| Ok(self.inner.adapter().name.clone()))
    }

    /// Measured latencies per served resolution and GPU memory in use.
    pub fn benchmark_snapshot(&self) -> Result<BenchSnapshot> {
        guard(|| {
            let memory = self.inner.memory();
            let control = self.control();
            let latencies = self
                .inner
                .options()
                .resolutions
                .iter()
                .map(|&r| ResolutionLatency {
                    resolution: r.side(),
                    samples: control.tracker.samples(r) as u32,
                    ewma_ms: control.tracker.ewma(r),
                    p90_ms: control.tracker.p90(r),
                })
                .collect();
            Ok(BenchSnapshot {
                adapter: self.inner.adapter().name.clone(),
                latencies,
                memory: MemoryUsage {
                    backbone_bytes: memory.backbone_bytes,
                    patch_bytes: memory.patch_bytes,
                    activation_bytes: memory.activation_bytes,
                },
            })
        })
    }
}

fn stages_of(steps: &[CascadeStep]) -> Vec<CascadeStage> {
    steps
        .iter()
        .map(|s| CascadeStage {
            resolution: s.resolution.side(),
            threshold: s.threshold,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn engine_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<super::Engine>();
    }
}

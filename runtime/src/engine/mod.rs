//! The engine: one resident backbone, resident patches, one-submit inference.
//!
//! Concurrency: [`Engine`] is `Send + Sync`. Parsing, validating, folding and
//! uploading a patch happen outside the engine lock, so loads proceed while
//! inferences run. Inferences are serialised by one mutex: they share the
//! activation buffers and the readback buffer, and a GPU runs one network at a
//! time anyway. Activation, unloading and listing take the same mutex briefly.

mod frame;
pub mod plan;
mod resident;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use crate::error::{Error, Result};
use crate::gpu::pipelines::Pipelines;
use crate::gpu::{AdapterPreference, AdapterReport, GpuContext, transfer};
use crate::image::{Resolution, RgbaImage};
use crate::model::Backbone;
use crate::ops;
use crate::patch::{DEFAULT_PATCH_ID, Patch, PatchInfo, PatchRegistry};
use crate::shaders::WeightPrecision;
use frame::{FrameResources, record_offset};
use plan::Plan;
use resident::{ResidentBackbone, ResidentPatch};

/// Default byte budget for resident patches (the default patch not counted).
pub const DEFAULT_PATCH_BUDGET: u64 = 64 << 20;

/// How to build an engine.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Adapter choice (`PATCHRT_ADAPTER` overrides `Auto`).
    pub adapter: AdapterPreference,
    /// Weight storage precision; compute is f32 either way.
    pub precision: WeightPrecision,
    /// Resolutions served; activation buffers are sized for the largest.
    pub resolutions: Vec<Resolution>,
    /// GPU bytes resident patches may use before least-recently-used eviction.
    pub patch_budget_bytes: u64,
    /// Measure GPU time with timestamp queries when the adapter has them.
    pub gpu_timestamps: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            adapter: AdapterPreference::Auto,
            precision: WeightPrecision::F32,
            resolutions: Resolution::STANDARD.to_vec(),
            patch_budget_bytes: DEFAULT_PATCH_BUDGET,
            gpu_timestamps: true,
        }
    }
}

/// Result of one inference.
#[derive(Debug, Clone)]
pub struct Classification {
    /// Softmax probability of every class.
    pub probabilities: Vec<f32>,
    /// Class names (empty when the model has none).
    pub labels: Arc<Vec<String>>,
    /// Patch that produced it.
    pub patch_id: String,
    /// Resolution it ran at.
    pub resolution: Resolution,
    /// GPU execution time of the compute pass, when timestamps are available.
    pub gpu_ms: Option<f64>,
}

/// One ranked class.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// Class index.
    pub class: usize,
    /// Class name, or `class_<index>` when the model has no labels.
    pub label: String,
    /// Probability.
    pub probability: f32,
}

impl Classification {
    /// The `k` most probable classes, most probable first (ties by index).
    pub fn top_k(&self, k: usize) -> Vec<Prediction> {
        let mut order: Vec<usize> = (0..self.probabilities.len()).collect();
        order.sort_by(|&a, &b| {
            self.probabilities[b]
                .total_cmp(&self.probabilities[a])
                .then(a.cmp(&b))
        });
        order
            .into_iter()
            .take(k)
            .map(|class| Prediction {
                class,
                label: self
                    .labels
                    .get(class)
                    .cloned()
                    .unwrap_or_else(|| format!("class_{class}")),
                probability: self.probabilities[class],
            })
            .collect()
    }
}

/// One stage of a confidence cascade as the engine runs it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CascadeStep {
    /// Resolution the stage classifies at.
    pub resolution: Resolution,
    /// Minimum top probability for the stage to answer; `None`: always answers.
    pub threshold: Option<f32>,
}

/// What a cascade run did.
#[derive(Debug, Clone)]
pub struct CascadeOutcome {
    /// The answering stage's classification.
    pub result: Classification,
    /// Resolutions run, in order (the last one answered).
    pub stages_run: Vec<Resolution>,
}

/// GPU memory held by an engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryReport {
    /// Shared backbone weights.
    pub backbone_bytes: u64,
    /// All resident patches, the default patch included.
    pub patch_bytes: u64,
    /// Activations and frame buffers.
    pub activation_bytes: u64,
}

struct State {
    patches: PatchRegistry<ResidentPatch>,
    active: String,
    frame: FrameResources,
}

/// A backbone resident on a GPU with its patches; see the module docs.
pub struct Engine {
    ctx: Arc<GpuContext>,
    backbone: Arc<Backbone>,
    options: EngineOptions,
    pipelines: Arc<Pipelines>,
    shared: ResidentBackbone,
    plan: Plan,
    state: Mutex<State>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("adapter", &self.ctx.report.name)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Chooses an adapter, creates a device and uploads `backbone`.
    ///
    /// # Errors
    /// [`Error::NoAdapter`], [`Error::DeviceRequest`] and everything
    /// [`Engine::with_context`] returns.
    pub fn new(backbone: Backbone, options: EngineOptions) -> Result<Engine> {
        let ctx = GpuContext::new(&options.adapter)?;
        Engine::with_context(ctx, backbone, options)
    }

    /// Uploads `backbone` on an existing context (pipelines are shared).
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for no resolution or one too small;
    /// [`Error::F16Unsupported`]; [`Error::ShaderInvalid`]; [`Error::Gpu`].
    pub fn with_context(
        ctx: Arc<GpuContext>,
        backbone: Backbone,
        options: EngineOptions,
    ) -> Result<Engine> {
        let mut resolutions = options.resolutions.clone();
        resolutions.sort_by(|a, b| b.cmp(a));
        resolutions.dedup();
        if resolutions.is_empty() {
            return Err(Error::InvalidOption {
                option: "resolutions",
                reason: "at least one resolution is needed".into(),
            });
        }
        if let Some(r) = resolutions
            .iter()
            .find(|r| !(32..=1024).contains(&r.side()))
        {
            return Err(Error::InvalidOption {
                option: "resolutions",
                reason: format!("{r} is outside 32..=1024"),
            });
        }
        let options = EngineOptions {
            resolutions,
            ..options
        };
        let pipelines = ctx.pipelines(options.precision)?;
        let plan = Plan::new(&backbone, &options.resolutions);
        let max_binding = ctx.limits.max_storage_buffer_binding_size as usize;
        if plan.activation_len * 4 > max_binding {
            return Err(Error::InvalidOption {
                option: "resolutions",
                reason: format!(
                    "activations of {} bytes exceed the adapter's binding limit",
                    plan.activation_len * 4
                ),
            });
        }
        let shared = ResidentBackbone::upload(&ctx, &backbone, options.precision);
        let timestamps = options.gpu_timestamps && ctx.has_timestamps();
        let frame = FrameResources::new(&ctx, &plan, backbone.config.classes, timestamps);
        let default = Patch::default_of(&backbone);
        let (resident, info) =
            ResidentPatch::upload(&ctx, &backbone, &shared, &default, options.precision)?;
        let mut patches = PatchRegistry::new(options.patch_budget_bytes);
        patches.insert(info, resident, true, DEFAULT_PATCH_ID)?;
        ctx.check_errors("engine setup")?;
        log::info!(
            "patchrt: backbone {} ({} bytes on GPU, {:?} weights) on {}",
            backbone.identity,
            shared.bytes(),
            options.precision,
            ctx.report.name
        );
        Ok(Engine {
            ctx,
            backbone: Arc::new(backbone),
            options,
            pipelines,
            shared,
            plan,
            state: Mutex::new(State {
                patches,
                active: DEFAULT_PATCH_ID.to_string(),
                frame,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave State half-written in a
        // way later calls depend on (every field is replaced whole), so a
        // poisoned lock is recovered rather than propagated.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The GPU context (share it with [`Engine::with_context`]).
    pub fn context(&self) -> &Arc<GpuContext> {
        &self.ctx
    }

    /// The adapter in use.
    pub fn adapter(&self) -> &AdapterReport {
        &self.ctx.report
    }

    /// The backbone.
    pub fn backbone(&self) -> &Backbone {
        &self.backbone
    }

    /// The options in effect (resolutions sorted, largest first).
    pub fn options(&self) -> &EngineOptions {
        &self.options
    }

    /// Whether inference results carry GPU timestamps.
    pub fn has_gpu_timestamps(&self) -> bool {
        self.lock().frame.timestamps.is_some()
    }

    /// Parses, validates and uploads a patch file; it becomes activatable.
    ///
    /// # Errors
    /// Everything [`Patch::from_bytes`] returns; [`Error::DuplicatePatch`];
    /// [`Error::PatchBudgetExceeded`]. On error nothing changes.
    pub fn load_patch(&self, bytes: &[u8]) -> Result<PatchInfo> {
        let patch = Patch::from_bytes(bytes, &self.backbone)?;
        self.load_parsed_patch(&patch)
    }

    /// Uploads an already parsed patch.
    ///
    /// # Errors
    /// [`Error::PatchBackboneMismatch`], [`Error::DuplicatePatch`],
    /// [`Error::PatchBudgetExceeded`], [`Error::NonFinite`].
    pub fn load_parsed_patch(&self, patch: &Patch) -> Result<PatchInfo> {
        if patch.backbone != self.backbone.identity {
            return Err(Error::PatchBackboneMismatch {
                patch_id: patch.id.clone(),
                patch_backbone: patch.backbone.hex(),
                loaded_backbone: self.backbone.identity.hex(),
            });
        }
        if self.lock().patches.contains(&patch.id) {
            return Err(Error::DuplicatePatch {
                id: patch.id.clone(),
            });
        }
        let (resident, info) = ResidentPatch::upload(
            &self.ctx,
            &self.backbone,
            &self.shared,
            patch,
            self.options.precision,
        )?;
        self.ctx.check_errors("patch upload")?;
        let mut state = self.lock();
        let keep = state.active.clone();
        let evicted = state.patches.insert(info.clone(), resident, false, &keep)?;
        let frame_needs = info.classes;
        state.frame.grow_classes(&self.ctx, &self.plan, frame_needs);
        for id in evicted {
            log::info!(
                "patchrt: evicted patch {id} (least recently used) to fit {}",
                info.id
            );
        }
        Ok(info)
    }

    /// Removes a resident patch.
    ///
    /// # Errors
    /// [`Error::UnknownPatch`]; [`Error::PatchPinned`] for the default or the active patch.
    pub fn unload_patch(&self, id: &str) -> Result<()> {
        let mut state = self.lock();
        if state.active == id {
            return Err(Error::PatchPinned {
                id: id.to_string(),
                reason: "it is the active patch",
            });
        }
        state.patches.remove(id).map(|_| ())
    }

    /// Makes a resident patch the one [`Engine::classify`] uses. Moves no data.
    ///
    /// # Errors
    /// [`Error::UnknownPatch`].
    pub fn activate(&self, id: &str) -> Result<()> {
        let mut state = self.lock();
        state.patches.touch(id)?;
        if state.active != id {
            state.active.clear();
            state.active.push_str(id);
        }
        Ok(())
    }

    /// Id of the active patch.
    pub fn active_patch(&self) -> String {
        self.lock().active.clone()
    }

    /// Resident patches, sorted by id.
    pub fn patches(&self) -> Vec<PatchInfo> {
        self.lock().patches.list()
    }

    /// The patch serving `task` at `resolution` (its patch for that resolution,
    /// else its resolution-independent one).
    ///
    /// # Errors
    /// [`Error::NoPatchForTask`].
    pub fn patch_for_task(&self, task: &str, resolution: Resolution) -> Result<String> {
        self.lock()
            .patches
            .find_for_task(task, resolution.side())
            .map(str::to_string)
            .ok_or_else(|| Error::NoPatchForTask {
                task: task.to_string(),
                resolution: resolution.side(),
            })
    }

    /// GPU memory in use.
    pub fn memory(&self) -> MemoryReport {
        let state = self.lock();
        MemoryReport {
            backbone_bytes: self.shared.bytes(),
            patch_bytes: state.patches.total_bytes(),
            activation_bytes: state.frame.activation_bytes(),
        }
    }

    fn resolution_index(&self, resolution: Resolution) -> Result<usize> {
        self.options
            .resolutions
            .iter()
            .position(|r| *r == resolution)
            .ok_or_else(|| Error::UnknownResolution {
                requested: resolution.side(),
                supported: self.options.resolutions.iter().map(|r| r.side()).collect(),
            })
    }

    /// Classifies `image` at `resolution` with the active patch.
    ///
    /// # Errors
    /// [`Error::UnknownResolution`], [`Error::InvalidImage`], [`Error::Gpu`].
    pub fn classify(
        &self,
        image: &RgbaImage<'_>,
        resolution: Resolution,
    ) -> Result<Classification> {
        let r = self.resolution_index(resolution)?;
        let mut state = self.lock();
        let id = state.active.clone();
        self.run(&mut state, &id, image, r, true)
    }

    /// Classifies `image` for `task` at `resolution`, with the task's patch for
    /// that resolution, else its resolution-independent patch. The active patch
    /// is unchanged.
    ///
    /// # Errors
    /// [`Error::NoPatchForTask`] and everything [`Engine::classify`] returns.
    pub fn classify_task(
        &self,
        image: &RgbaImage<'_>,
        task: &str,
        resolution: Resolution,
    ) -> Result<Classification> {
        let r = self.resolution_index(resolution)?;
        let mut state = self.lock();
        let id = state
            .patches
            .find_for_task(task, resolution.side())
            .map(str::to_string)
            .ok_or_else(|| Error::NoPatchForTask {
                task: task.to_string(),
                resolution: resolution.side(),
            })?;
        self.run(&mut state, &id, image, r, true)
    }

    /// Resolutions at which `task` can run: those with a patch of the task, or
    /// every served resolution when the task has a resolution-independent patch.
    pub fn resolutions_for_task(&self, task: &str) -> Vec<Resolution> {
        let state = self.lock();
        self.options
            .resolutions
            .iter()
            .copied()
            .filter(|r| state.patches.find_for_task(task, r.side()).is_some())
            .collect()
    }

    /// Runs a confidence cascade for `task`: stage k classifies at its
    /// resolution (with the task's patch for it, swapped in O(1)) and answers
    /// when the top probability reaches its threshold; otherwise the next stage
    /// runs on the same uploaded frame. The last stage always answers.
    ///
    /// `cap` drops stages above that resolution (a hard latency budget); if
    /// every stage is above it, the first stage runs alone.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for no stages; [`Error::UnknownResolution`] and
    /// [`Error::NoPatchForTask`] for a stage the engine cannot run (checked
    /// before any GPU work); everything [`Engine::classify`] returns.
    pub fn classify_cascade(
        &self,
        image: &RgbaImage<'_>,
        task: &str,
        stages: &[CascadeStep],
        cap: Option<Resolution>,
    ) -> Result<CascadeOutcome> {
        let fits = |s: &&CascadeStep| cap.is_none_or(|c| s.resolution <= c);
        let mut plan: Vec<&CascadeStep> = stages.iter().filter(fits).collect();
        if plan.is_empty() {
            plan.extend(stages.first());
        }
        if plan.is_empty() {
            return Err(Error::InvalidOption {
                option: "cascade",
                reason: "a cascade needs at least one stage".into(),
            });
        }
        let mut state = self.lock();
        let mut resolved = Vec::with_capacity(plan.len());
        for step in &plan {
            let r = self.resolution_index(step.resolution)?;
            let id = state
                .patches
                .find_for_task(task, step.resolution.side())
                .map(str::to_string)
                .ok_or_else(|| Error::NoPatchForTask {
                    task: task.to_string(),
                    resolution: step.resolution.side(),
                })?;
            resolved.push((r, id, step.threshold));
        }
        let mut stages_run = Vec::with_capacity(resolved.len());
        let last = resolved.len() - 1;
        for (k, (r, id, threshold)) in resolved.iter().enumerate() {
            let result = self.run(&mut state, id, image, *r, k == 0)?;
            stages_run.push(result.resolution);
            let top = result.probabilities.iter().copied().fold(0.0f32, f32::max);
            if k == last || threshold.is_none_or(|t| top >= t) {
                return Ok(CascadeOutcome { result, stages_run });
            }
        }
        // The loop returns at the last stage at the latest.
        Err(Error::InvalidOption {
            option: "cascade",
            reason: "no stage answered".into(),
        })
    }

    /// One inference: one command buffer, one submit, one readback.
    ///
    /// With `upload` false the frame already on the GPU is reused (cascade
    /// stages after the first re-run only preprocessing at their resolution).
    fn run(
        &self,
        state: &mut State,
        id: &str,
        image: &RgbaImage<'_>,
        r: usize,
        upload: bool,
    ) -> Result<Classification> {
        let started = Instant::now();
        let pixels = image.data();
        let max_binding = self.ctx.limits.max_storage_buffer_binding_size as usize;
        if pixels.len() > max_binding {
            return Err(Error::InvalidImage {
                width: image.width(),
                height: image.height(),
                reason: format!(
                    "{} bytes exceed the adapter's binding limit of {max_binding}",
                    pixels.len()
                ),
            });
        }
        let State { patches, frame, .. } = state;
        let patch = patches.touch(id)?;
        frame.grow_image(&self.ctx, &self.plan, pixels.len() as u64);
        let steps = self.plan.io.len();
        let resolution = self.options.resolutions[r];
        let pre = ops::preprocess::dispatch(
            image.width(),
            image.height(),
            resolution.side(),
            &self.backbone.config.normalization,
        );
        frame.write_frame(&self.ctx, steps, r, upload.then_some(pixels), &pre.params);

        let mut encoder = self
            .ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("inference"),
            });
        {
            let timestamp_writes =
                frame
                    .timestamps
                    .as_ref()
                    .map(|(set, _)| wgpu::ComputePassTimestampWrites {
                        query_set: set,
                        beginning_of_pass_write_index: Some(0),
                        end_of_pass_write_index: Some(1),
                    });
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("inference"),
                timestamp_writes,
            });
            pass.set_bind_group(1, &self.shared.weights_group, &[]);
            pass.set_bind_group(2, &patch.group, &[]);
            let classifier_step = self.plan.classifier_step();
            for (s, d) in self.plan.dispatches[r].iter().enumerate() {
                pass.set_pipeline(self.pipelines.get(d.kernel));
                pass.set_bind_group(0, &frame.io_groups[s], &[record_offset(steps, r, s) as u32]);
                let [x, y, z] = match s {
                    0 => pre.workgroups,
                    s if s == classifier_step => [ops::groups(patch.classes, 64), 1, 1],
                    _ => d.workgroups,
                };
                pass.dispatch_workgroups(x, y, z);
            }
        }
        let prob_bytes = patch.classes as u64 * 4;
        encoder.copy_buffer_to_buffer(&frame.probabilities, 0, &frame.staging, 0, prob_bytes);
        let ts_offset = frame.timestamp_offset();
        if let Some((set, resolve)) = &frame.timestamps {
            encoder.resolve_query_set(set, 0..2, resolve, 0);
            encoder.copy_buffer_to_buffer(resolve, 0, &frame.staging, ts_offset, 16);
        }
        self.ctx.queue.submit([encoder.finish()]);
        let read_len = if frame.timestamps.is_some() {
            ts_offset + 16
        } else {
            prob_bytes
        };
        let bytes = transfer::read_back(&self.ctx, &frame.staging, read_len)?;
        let probabilities: Vec<f32> = bytemuck::pod_collect_to_vec(&bytes[..prob_bytes as usize]);
        let gpu_ms = frame.timestamps.as_ref().map(|_| {
            let ts: Vec<u64> =
                bytemuck::pod_collect_to_vec(&bytes[ts_offset as usize..ts_offset as usize + 16]);
            ts[1].saturating_sub(ts[0]) as f64 * self.ctx.queue.get_timestamp_period() as f64 / 1e6
        });
        log::debug!("patchrt: {id} at {resolution} in {:?}", started.elapsed());
        Ok(Classification {
            probabilities,
            labels: patch.labels.clone(),
            patch_id: id.to_string(),
            resolution,
            gpu_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn engine_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<super::Engine>();
    }
}

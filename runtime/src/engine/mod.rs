//! The engine: one resident backbone, resident patches, one-submit inference.
//!
//! Concurrency: [`Engine`] is `Send + Sync`. Parsing, validating, folding and
//! uploading a patch happen outside the engine lock, so loads proceed while
//! inferences run. Inferences are serialised by one mutex: they share the
//! activation buffers and the readback buffer, and a GPU runs one network at a
//! time anyway. Activation, unloading and listing take the same mutex briefly.

mod batch;
mod cascade;
mod frame;
mod infer;
mod options;
pub mod plan;
mod profile;
mod resident;
mod results;

use std::sync::{Arc, Mutex, MutexGuard};

use crate::error::{Error, Result};
use crate::gpu::pipelines::Pipelines;
use crate::gpu::{AdapterReport, GpuContext};
use crate::image::{Resolution, RgbaImage};
use crate::model::Backbone;
use crate::patch::{DEFAULT_PATCH_ID, Patch, PatchInfo, PatchRegistry};
use frame::FrameResources;
use plan::Plan;
use resident::{ResidentBackbone, ResidentPatch};

pub use options::{DEFAULT_MAX_PATCHES_PER_PASS, DEFAULT_PATCH_BUDGET, EngineOptions};
pub use profile::{LayerProfile, LayerTiming, ProfileOptions, TimestampMethod};
pub use results::{CascadeOutcome, CascadeStep, Classification, MemoryReport, Prediction};

struct State {
    patches: PatchRegistry<ResidentPatch>,
    active: String,
    frame: FrameResources,
    batch: Option<batch::BatchResources>,
}

/// A backbone resident on a GPU with its patches; see the module docs.
pub struct Engine {
    ctx: Arc<GpuContext>,
    backbone: Arc<Backbone>,
    options: EngineOptions,
    pipelines: Arc<Pipelines>,
    shared: ResidentBackbone,
    plan: Plan,
    max_patches_per_pass: u32,
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
        let max_patches_per_pass = max_patches_per_pass(&ctx, &plan, &options)?;
        let shared = ResidentBackbone::upload(&ctx, &backbone, options.precision);
        let timestamps = options.gpu_timestamps && ctx.has_timestamps();
        let frame = FrameResources::new(&ctx, &plan, &backbone.arch, timestamps);
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
            max_patches_per_pass,
            state: Mutex::new(State {
                patches,
                active: DEFAULT_PATCH_ID.to_string(),
                frame,
                batch: None,
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

    /// Every dispatch of one inference at every served resolution; the
    /// resolution index is the position in [`EngineOptions::resolutions`].
    pub fn plan(&self) -> &Plan {
        &self.plan
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
        task_patch(&self.lock(), task, resolution)
    }

    /// GPU memory in use.
    pub fn memory(&self) -> MemoryReport {
        let state = self.lock();
        MemoryReport {
            backbone_bytes: self.shared.bytes(),
            patch_bytes: state.patches.total_bytes(),
            activation_bytes: state.frame.activation_bytes()
                + state.batch.as_ref().map_or(0, batch::BatchResources::bytes),
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

    /// The most patches [`Engine::classify_patches`] serves in one pass
    /// ([`EngineOptions::max_patches_per_pass`], lowered by the adapter's limits).
    pub fn max_patches_per_pass(&self) -> u32 {
        self.max_patches_per_pass
    }

    /// Classifies `image` at `resolution` under each of the resident patches
    /// `patch_ids` in one pass (K patches, K tasks): one upload, one submit,
    /// one readback, and one dispatch per layer for all K, so each backbone
    /// weight is fetched once, not K times. Results come in the order of
    /// `patch_ids` and equal what [`Engine::classify`] gives under each patch;
    /// each carries the whole pass's GPU time. The active patch is unchanged.
    /// The first pass over more patches than any before grows the activation
    /// buffers to that many times their size ([`Engine::memory`]).
    ///
    /// # Errors
    /// [`Error::BatchSize`] for no id or more than
    /// [`Engine::max_patches_per_pass`]; [`Error::UnknownPatch`] and everything
    /// [`Engine::classify`] returns.
    pub fn classify_patches(
        &self,
        image: &RgbaImage<'_>,
        patch_ids: &[&str],
        resolution: Resolution,
    ) -> Result<Vec<Classification>> {
        self.check_batch_size(patch_ids.len())?;
        let r = self.resolution_index(resolution)?;
        let ids: Vec<String> = patch_ids.iter().map(|id| id.to_string()).collect();
        let mut state = self.lock();
        self.run_batch(&mut state, &ids, image, r)
    }

    /// [`Engine::classify_patches`] with each task's patch, chosen as
    /// [`Engine::classify_task`] chooses it.
    ///
    /// # Errors
    /// [`Error::NoPatchForTask`] and everything [`Engine::classify_patches`] returns.
    pub fn classify_tasks(
        &self,
        image: &RgbaImage<'_>,
        tasks: &[&str],
        resolution: Resolution,
    ) -> Result<Vec<Classification>> {
        self.check_batch_size(tasks.len())?;
        let r = self.resolution_index(resolution)?;
        let mut state = self.lock();
        let ids = tasks
            .iter()
            .map(|task| task_patch(&state, task, resolution))
            .collect::<Result<Vec<_>>>()?;
        self.run_batch(&mut state, &ids, image, r)
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
        let id = task_patch(&state, task, resolution)?;
        self.run(&mut state, &id, image, r, true)
    }
}

/// The most patches one pass serves: the option, lowered where `patches`
/// times the activation buffers would pass the adapter's binding limit or a
/// dispatch would need more workgroups than it allows.
///
/// # Errors
/// [`Error::InvalidOption`] when one patch's activations already pass the
/// binding limit (too large a resolution), or when the option is 0.
fn max_patches_per_pass(ctx: &GpuContext, plan: &Plan, options: &EngineOptions) -> Result<u32> {
    let max_binding = ctx.limits.max_storage_buffer_binding_size;
    let per_patch = plan.activation_len as u64 * 4;
    let by_memory = max_binding / per_patch;
    if by_memory == 0 {
        return Err(Error::InvalidOption {
            option: "resolutions",
            reason: format!("activations of {per_patch} bytes exceed the adapter's binding limit"),
        });
    }
    if options.max_patches_per_pass == 0 {
        return Err(Error::InvalidOption {
            option: "max_patches_per_pass",
            reason: "at least one patch per pass is needed".into(),
        });
    }
    let by_memory = by_memory.min(u64::from(u32::MAX)) as u32;
    let max_groups = ctx.limits.max_compute_workgroups_per_dimension;
    let fits = |k: u32| {
        plan.dispatches
            .iter()
            .flatten()
            .all(|d| d.for_patches(k).workgroups.iter().all(|&n| n <= max_groups))
    };
    let mut k = options.max_patches_per_pass.min(by_memory);
    while k > 1 && !fits(k) {
        k -= 1;
    }
    Ok(k)
}

/// The id of the patch serving `task` at `resolution`.
fn task_patch(state: &State, task: &str, resolution: Resolution) -> Result<String> {
    state
        .patches
        .find_for_task(task, resolution.side())
        .map(str::to_string)
        .ok_or_else(|| Error::NoPatchForTask {
            task: task.to_string(),
            resolution: resolution.side(),
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn engine_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<super::Engine>();
    }
}

//! Plain data crossing the boundary: options, patch descriptions, results,
//! device readings and benchmark snapshots. Records are copied by value.

use patchrt::policy;

/// How to build an [`Engine`](crate::Engine). Every field has a default in
/// Kotlin and Swift, so `EngineOptions()` is a valid value.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct EngineOptions {
    /// Adapter filter: the first adapter whose name or backend contains this
    /// text (case insensitive); `"cpu"` or `"software"` picks a software
    /// adapter. `None`: the `PATCHRT_ADAPTER` environment variable, else the
    /// best adapter.
    #[uniffi(default = None)]
    pub adapter: Option<String>,
    /// Store weights as f16 (needs `shader-f16`); compute is f32 either way.
    #[uniffi(default = false)]
    pub f16_weights: bool,
    /// GPU bytes resident patches may use before least-recently-used eviction.
    #[uniffi(default = 67108864)]
    pub patch_budget_bytes: u64,
    /// Square input sides the engine serves; empty: 224, 192, 160, 128, 96.
    #[uniffi(default = [])]
    pub resolutions: Vec<u32>,
    /// Measure GPU time with timestamp queries when the adapter has them.
    #[uniffi(default = true)]
    pub gpu_timestamps: bool,
    /// Most patches `classifyPatches` / `classifyTasks` serve in one pass;
    /// activation memory grows to this many times its single-patch size the
    /// first time a pass needs it.
    #[uniffi(default = 8)]
    pub max_patches_per_pass: u32,
    /// File in app-private storage that keeps the GPU driver's compiled
    /// pipelines between process starts, so the first inference after a
    /// start skips shader compilation where the driver supports it (read at
    /// start, rewritten when stale or damaged). `None`: no cache.
    #[uniffi(default = None)]
    pub pipeline_cache_path: Option<String>,
}

/// What became of the pipeline cache file when the engine started.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum PipelineCacheState {
    /// No `pipeline_cache_path` was given.
    Off,
    /// The GPU driver has no pipeline cache support; nothing is read or written.
    Unsupported,
    /// The file did not exist yet; it was created.
    Created,
    /// The file was loaded.
    Loaded {
        /// Bytes of driver data.
        bytes: u64,
    },
    /// The file could not be used (damaged, or from another device or
    /// driver); the cache started empty and the file is rewritten.
    Rejected {
        /// Why.
        reason: String,
    },
}

impl From<patchrt::gpu::PipelineCacheState> for PipelineCacheState {
    fn from(s: patchrt::gpu::PipelineCacheState) -> Self {
        use patchrt::gpu::PipelineCacheState as S;
        match s {
            S::Off => PipelineCacheState::Off,
            S::Unsupported => PipelineCacheState::Unsupported,
            S::Created => PipelineCacheState::Created,
            S::Loaded { bytes } => PipelineCacheState::Loaded {
                bytes: bytes as u64,
            },
            S::Rejected { reason } => PipelineCacheState::Rejected { reason },
        }
    }
}

impl EngineOptions {
    pub(crate) fn to_runtime(&self) -> patchrt::EngineOptions {
        let defaults = patchrt::EngineOptions::default();
        patchrt::EngineOptions {
            adapter: match &self.adapter {
                Some(name) => patchrt::AdapterPreference::Named(name.clone()),
                None => patchrt::AdapterPreference::Auto,
            },
            precision: if self.f16_weights {
                patchrt::WeightPrecision::F16
            } else {
                patchrt::WeightPrecision::F32
            },
            resolutions: if self.resolutions.is_empty() {
                defaults.resolutions
            } else {
                self.resolutions
                    .iter()
                    .map(|&r| patchrt::Resolution(r))
                    .collect()
            },
            patch_budget_bytes: self.patch_budget_bytes,
            gpu_timestamps: self.gpu_timestamps,
            max_patches_per_pass: self.max_patches_per_pass,
        }
    }
}

/// A resident patch.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PatchInfo {
    /// Patch id (`"default"` for the backbone's own).
    pub id: String,
    /// The task it serves.
    pub task: String,
    /// Resolution it was made for; `None`: any.
    pub resolution: Option<u32>,
    /// Classes of its output.
    pub classes: u32,
    /// Whether it replaces depthwise kernels.
    pub has_depthwise: bool,
    /// Whether it carries its own classifier.
    pub has_classifier: bool,
    /// GPU bytes it owns (the shared backbone not counted).
    pub gpu_bytes: u64,
    /// Parameters it carries.
    pub parameters: u64,
}

impl From<patchrt::patch::PatchInfo> for PatchInfo {
    fn from(p: patchrt::patch::PatchInfo) -> Self {
        PatchInfo {
            id: p.id,
            task: p.task,
            resolution: p.resolution,
            classes: p.classes,
            has_depthwise: p.kind.depthwise,
            has_classifier: p.kind.classifier,
            gpu_bytes: p.gpu_bytes,
            parameters: p.parameters as u64,
        }
    }
}

/// One ranked class.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Prediction {
    /// Class name (`class_<index>` when the model has no labels).
    pub label: String,
    /// Softmax probability.
    pub score: f32,
    /// Class index.
    pub class_index: u32,
}

/// What one classification returned.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ClassificationResult {
    /// The `top_k` most probable classes, most probable first (ties by index).
    pub predictions: Vec<Prediction>,
    /// Resolution of the answering run.
    pub resolution: u32,
    /// Patch that produced the answer.
    pub patch_id: String,
    /// Resolutions run, in order (one entry unless a cascade ran; the last answered).
    pub stages_run: Vec<u32>,
    /// Wall-clock time of the call inside the engine, in milliseconds
    /// (waiting for another thread's inference included).
    pub latency_ms: f64,
    /// GPU time of the answering run's compute pass, when the adapter has timestamps.
    pub gpu_ms: Option<f64>,
    /// Why the policy chose this (from `classify_auto`; `None` otherwise).
    pub reason: Option<String>,
}

/// The device's thermal state, in iOS's four levels; map Android's with
/// [`thermal_from_android`](crate::thermal_from_android).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ThermalState {
    /// Within normal limits.
    Nominal,
    /// Slightly elevated.
    Fair,
    /// High; the OS reduces performance.
    Serious,
    /// The OS is doing everything it can to cool down.
    Critical,
}

impl From<ThermalState> for policy::ThermalState {
    fn from(t: ThermalState) -> Self {
        match t {
            ThermalState::Nominal => policy::ThermalState::Nominal,
            ThermalState::Fair => policy::ThermalState::Fair,
            ThermalState::Serious => policy::ThermalState::Serious,
            ThermalState::Critical => policy::ThermalState::Critical,
        }
    }
}

impl From<policy::ThermalState> for ThermalState {
    fn from(t: policy::ThermalState) -> Self {
        match t {
            policy::ThermalState::Nominal => ThermalState::Nominal,
            policy::ThermalState::Fair => ThermalState::Fair,
            policy::ThermalState::Serious => ThermalState::Serious,
            policy::ThermalState::Critical => ThermalState::Critical,
        }
    }
}

/// One reading of the device for the resource policy. The defaults describe
/// a full battery, not charging, no power-save mode and no budgets; `thermal`
/// has no default.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct DeviceState {
    /// Remaining battery as a fraction in `[0, 1]`.
    #[uniffi(default = 1.0)]
    pub battery: f64,
    /// Whether external power is connected.
    #[uniffi(default = false)]
    pub charging: bool,
    /// Whether the OS power-save mode is on (battery saver, Low Power Mode).
    #[uniffi(default = false)]
    pub power_save: bool,
    /// The OS thermal state (no default: report it).
    pub thermal: ThermalState,
    /// Hard per-request latency budget in milliseconds (checked against the measured p90).
    #[uniffi(default = None)]
    pub latency_budget_ms: Option<f64>,
    /// Energy budget per inference in millijoules (checked against an estimate).
    #[uniffi(default = None)]
    pub energy_budget_mj: Option<f64>,
}

impl From<&DeviceState> for policy::DeviceState {
    fn from(s: &DeviceState) -> Self {
        policy::DeviceState {
            battery: s.battery,
            charging: s.charging,
            power_save: s.power_save,
            thermal: s.thermal.into(),
            latency_budget_ms: s.latency_budget_ms,
            energy_budget_mj: s.energy_budget_mj,
        }
    }
}

/// One stage of the loaded cascade.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CascadeStage {
    /// Resolution the stage runs at.
    pub resolution: u32,
    /// Minimum top probability to answer; `None`: always answers (the last stage).
    pub threshold: Option<f32>,
}

/// Measured latency of one resolution.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ResolutionLatency {
    /// The resolution.
    pub resolution: u32,
    /// Samples kept (at most the tracker's window of 64).
    pub samples: u32,
    /// Exponentially weighted moving average, in milliseconds.
    pub ewma_ms: Option<f64>,
    /// 90th percentile of the kept samples, in milliseconds.
    pub p90_ms: Option<f64>,
}

/// GPU memory held by the engine, in bytes.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct MemoryUsage {
    /// Shared backbone weights.
    pub backbone_bytes: u64,
    /// All resident patches, the default patch included.
    pub patch_bytes: u64,
    /// Activations and frame buffers.
    pub activation_bytes: u64,
}

/// What the engine has measured so far.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct BenchSnapshot {
    /// Adapter name.
    pub adapter: String,
    /// Every served resolution, largest first, measured or not.
    pub latencies: Vec<ResolutionLatency>,
    /// GPU memory in use.
    pub memory: MemoryUsage,
}

/// A synthetic model: a backbone file and its task patch files.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct DemoModel {
    /// The backbone file.
    pub backbone: Vec<u8>,
    /// Patch files: tasks `objects`, `scenes` and `flowers` (17 classes), one
    /// per task and standard resolution, ids `<task>@<resolution>`.
    pub patches: Vec<Vec<u8>>,
}

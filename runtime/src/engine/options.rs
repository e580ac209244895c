//! How an engine is configured.

use crate::gpu::AdapterPreference;
use crate::image::Resolution;
use crate::shaders::WeightPrecision;

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

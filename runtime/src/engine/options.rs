//! How an engine is configured.

use crate::gpu::AdapterPreference;
use crate::image::Resolution;
use crate::shaders::WeightPrecision;

/// Default byte budget for resident patches (the default patch not counted).
pub const DEFAULT_PATCH_BUDGET: u64 = 64 << 20;

/// Default for [`EngineOptions::max_patches_per_pass`].
pub const DEFAULT_MAX_PATCHES_PER_PASS: u32 = 8;

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
    /// Most patches one pass may serve ([`crate::Engine::classify_patches`]).
    /// Activation buffers grow to this many times their single-patch size
    /// the first time a pass needs it (never before), so it bounds memory;
    /// the adapter's binding limit may lower it further
    /// ([`crate::Engine::max_patches_per_pass`]).
    pub max_patches_per_pass: u32,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            adapter: AdapterPreference::Auto,
            precision: WeightPrecision::F32,
            resolutions: Resolution::STANDARD.to_vec(),
            patch_budget_bytes: DEFAULT_PATCH_BUDGET,
            gpu_timestamps: true,
            max_patches_per_pass: DEFAULT_MAX_PATCHES_PER_PASS,
        }
    }
}

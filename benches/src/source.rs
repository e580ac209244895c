//! Where the benchmarked model comes from: files, or the embedded synthetic model.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use patchrt::model::StoreAs;
use patchrt::model::synthetic::{self, SyntheticSpec};
use patchrt::patch::PatchInfo;
use patchrt::{AdapterPreference, Backbone, Engine, EngineOptions, Resolution, WeightPrecision};

/// A backbone and patch files, as bytes.
pub struct ModelSource {
    /// Backbone file bytes.
    pub backbone_bytes: Vec<u8>,
    /// Parsed backbone.
    pub backbone: Backbone,
    /// Patch file bytes.
    pub patches: Vec<Vec<u8>>,
    /// Whether the weights are the embedded synthetic ones.
    pub synthetic: bool,
}

impl ModelSource {
    /// Reads the given files.
    pub fn from_files(backbone: &str, patches: &[String]) -> Result<ModelSource> {
        let backbone_bytes =
            std::fs::read(backbone).with_context(|| format!("reading {backbone}"))?;
        let parsed =
            Backbone::from_bytes(&backbone_bytes).with_context(|| format!("loading {backbone}"))?;
        let patches = patches
            .iter()
            .map(|p| std::fs::read(p).with_context(|| format!("reading {p}")))
            .collect::<Result<Vec<_>>>()?;
        Ok(ModelSource {
            backbone_bytes,
            backbone: parsed,
            patches,
            synthetic: false,
        })
    }

    /// Builds the embedded default: synthetic MobileNetV2 1.0 with 1000
    /// classes and 3 tasks x `resolutions` synthetic patches.
    pub fn synthetic(resolutions: &[Resolution]) -> Result<ModelSource> {
        let started = Instant::now();
        let backbone_bytes = synthetic::backbone_bytes(&SyntheticSpec::default());
        let backbone = parse_synthetic(&backbone_bytes)?;
        let patches = synthetic::task_patches(&backbone, resolutions, 7)
            .iter()
            .map(|p| p.to_bytes(&backbone, StoreAs::F32))
            .collect();
        eprintln!(
            "note: SYNTHETIC WEIGHTS (seeded random MobileNetV2 1.0, BN statistics measured on a synthetic image); \
             outputs are not meaningful predictions. Built in {:.1} s.",
            started.elapsed().as_secs_f64()
        );
        Ok(ModelSource {
            backbone_bytes,
            backbone,
            patches,
            synthetic: true,
        })
    }
}

fn parse_synthetic(bytes: &[u8]) -> Result<Backbone> {
    Backbone::from_bytes(bytes).context("synthetic backbone does not parse")
}

/// The embedded synthetic MobileNetV2 1.0 backbone alone (no patches).
pub fn synthetic_backbone() -> Result<Backbone> {
    eprintln!(
        "note: SYNTHETIC WEIGHTS (seeded random MobileNetV2 1.0); timings are those of the real network's shapes"
    );
    parse_synthetic(&synthetic::backbone_bytes(&SyntheticSpec::default()))
}

/// Engine options from the shared `--adapter` and `--f16` flags.
pub fn engine_options(adapter: &Option<String>, f16: bool) -> EngineOptions {
    EngineOptions {
        adapter: adapter
            .clone()
            .map_or(AdapterPreference::Auto, AdapterPreference::Named),
        precision: if f16 {
            WeightPrecision::F16
        } else {
            WeightPrecision::F32
        },
        ..EngineOptions::default()
    }
}

/// Reads a patch file and loads it into `engine`.
pub fn load_patch_file(engine: &Engine, path: &Path) -> Result<PatchInfo> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    engine
        .load_patch(&bytes)
        .with_context(|| format!("loading {}", path.display()))
}

//! File formats: the backbone and patch files of `docs/formats.md`, parsed,
//! written back, and fed every kind of bad input the formats name. CPU only.

use std::sync::OnceLock;

use patchrt::model::synthetic;
use patchrt::{Backbone, Patch, Resolution};
use patchrt_tests::{parse_backbone, small_backbone_bytes};

// Round trips, identity, container and metadata errors of backbone files.
mod backbone;
// Hand-written safetensors files for the cases the runtime's writers cannot produce.
mod craft;
// Round trips and validation of patch files against their backbone.
mod patch;

/// The small synthetic backbone (width 0.35, 10 classes), parsed once.
fn small() -> &'static Backbone {
    static BACKBONE: OnceLock<Backbone> = OnceLock::new();
    BACKBONE.get_or_init(|| parse_backbone(small_backbone_bytes()))
}

/// The small backbone's synthetic task patches at 96: `objects@96` (scale/bias),
/// `scenes@96` (+ depthwise) and `flowers@96` (+ 17-class classifier).
fn small_patches() -> &'static [Patch] {
    static PATCHES: OnceLock<Vec<Patch>> = OnceLock::new();
    PATCHES.get_or_init(|| synthetic::task_patches(small(), &[Resolution(96)], 1))
}

/// The synthetic patch of `task` (`objects`, `scenes` or `flowers`).
fn small_patch(task: &str) -> Patch {
    match small_patches().iter().find(|p| p.task == task) {
        Some(p) => p.clone(),
        None => panic!("no synthetic patch for task {task}"),
    }
}

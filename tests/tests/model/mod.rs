//! File formats: the backbone and patch files of `docs/formats.md`, parsed,
//! written back, and fed every kind of bad input the formats name. CPU only.

use std::sync::OnceLock;

use patchrt::model::StoreAs;
use patchrt::model::synthetic;
use patchrt::{Backbone, Error, FileKind, Patch, Resolution};
use patchrt_tests::{parse_backbone, small_backbone_bytes};

use craft::Parts;

// Backbone files that load: round trips, identity, widths, block tables.
mod backbone;
// Backbone files that must be rejected, one typed error per kind of bad input.
mod backbone_invalid;
// Hand-written safetensors files for the cases the runtime's writers cannot produce.
mod craft;
// Patch files that load: round trips, the default patch, folded form.
mod patch;
// Patch files that must be rejected by the backbone they are loaded for.
mod patch_invalid;

/// f16 keeps 11 significant bits: rounding moves a normal value by at most
/// 2^-11 of itself, and a subnormal by at most half the subnormal spacing 2^-24.
const HALF_RELATIVE: f32 = 1.0 / 2048.0;
/// See [`HALF_RELATIVE`].
const HALF_SUBNORMAL: f32 = 1.0 / 33_554_432.0;

/// The small synthetic backbone (width 0.35, 10 classes), parsed once.
fn small() -> &'static Backbone {
    static BACKBONE: OnceLock<Backbone> = OnceLock::new();
    BACKBONE.get_or_init(|| parse_backbone(small_backbone_bytes()))
}

/// The small backbone's file, taken apart for editing.
fn backbone_parts() -> Parts {
    Parts::decode(FileKind::Backbone, small_backbone_bytes())
}

/// The error a backbone file is rejected with; panics if it parses.
fn reject_backbone(bytes: &[u8]) -> Error {
    match Backbone::from_bytes(bytes) {
        Ok(_) => panic!("backbone file unexpectedly parsed"),
        Err(e) => e,
    }
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

/// A patch written for the small backbone in f32.
fn patch_bytes(p: &Patch) -> Vec<u8> {
    p.to_bytes(small(), StoreAs::F32)
}

/// The file of the synthetic patch of `task`, taken apart for editing.
fn patch_parts(task: &str) -> Parts {
    Parts::decode(FileKind::Patch, &patch_bytes(&small_patch(task)))
}

/// Loads a patch file on the small backbone; panics if it is rejected.
fn load_patch(bytes: &[u8]) -> Patch {
    match Patch::from_bytes(bytes, small()) {
        Ok(p) => p,
        Err(e) => panic!("patch file does not load: {e}"),
    }
}

/// The error the small backbone rejects a patch file with; panics if it loads.
fn reject_patch(bytes: &[u8]) -> Error {
    match Patch::from_bytes(bytes, small()) {
        Ok(p) => panic!("patch file unexpectedly loaded as {:?}", p.id),
        Err(e) => e,
    }
}

/// A patch's folded scale/bias vector in the small backbone's layout.
fn patch_scale_bias(p: &Patch) -> Vec<f32> {
    match p.scale_bias(small()) {
        Ok(v) => v,
        Err(e) => panic!("patch {} does not fold: {e}", p.id),
    }
}

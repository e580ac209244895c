//! Over-the-air bundles: format, signatures, every refused bundle, install,
//! rollback, and crashes or a full disk at every step of an install.

mod attacks;
mod crash;
mod format;
mod install;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use patchrt::model::StoreAs;
use patchrt::ota::{BundleBuilder, BundleFile, BundleSigner, Manifest, TrustedKeys};
use patchrt::{Backbone, Engine, Patch, Resolution, RgbaImage, WeightPrecision};
use patchrt_tests::{frame, parse_backbone, small_backbone_bytes, small_patches};

/// Fixed creation time so bundles are byte-reproducible.
pub const CREATED: &str = "2026-11-22T08:00:00Z";

/// The small synthetic backbone every OTA test uses.
pub fn backbone() -> &'static Backbone {
    static B: OnceLock<Backbone> = OnceLock::new();
    B.get_or_init(|| parse_backbone(small_backbone_bytes()))
}

/// Deterministic signing key number `n`.
pub fn signer(n: u8) -> BundleSigner {
    BundleSigner::from_seed([n; 32])
}

/// Keys pinning signer `n` only.
pub fn pinned(n: u8) -> TrustedKeys {
    TrustedKeys::new(vec![signer(n).public()])
}

/// A small patch by id (`objects@96`, `scenes@96` with depthwise,
/// `flowers@96` with a 17-class classifier...).
pub fn patch(id: &str) -> &'static Patch {
    small_patches()
        .iter()
        .find(|p| p.id == id)
        .unwrap_or_else(|| panic!("no synthetic patch {id}"))
}

/// File bytes of a patch.
pub fn patch_file(p: &Patch) -> Vec<u8> {
    p.to_bytes(backbone(), StoreAs::F32)
}

/// A same-id variant of a patch with other BN values (a "retrained" release).
pub fn retrained(id: &str) -> Patch {
    let mut p = patch(id).clone();
    let other = small_patches()
        .iter()
        .find(|q| q.task == p.task && q.id != p.id)
        .unwrap_or_else(|| panic!("no sibling of {id}"));
    p.norms = other.norms.clone();
    p
}

/// A signed bundle `name` at `version` holding `patches`.
pub fn bundle_of(
    name: &str,
    version: u64,
    patches: &[&Patch],
    signers: &[&BundleSigner],
) -> Vec<u8> {
    let mut b = BundleBuilder::new(name, version, backbone()).created(CREATED);
    for p in patches {
        let file = format!("{}.safetensors", p.id.replace('@', "-"));
        if let Err(e) = b.add_patch(&file, patch_file(p), backbone()) {
            panic!("packing {}: {e}", p.id);
        }
    }
    match b.build(signers) {
        Ok(bytes) => bytes,
        Err(e) => panic!("building bundle: {e}"),
    }
}

/// The standard test bundle: `objects@96` and `flowers@96`, signed by key 1.
pub fn bundle(version: u64) -> Vec<u8> {
    bundle_of(
        "acme-vision",
        version,
        &[patch("objects@96"), patch("flowers@96")],
        &[&signer(1)],
    )
}

/// A bundle from hand-made parts, signed over `manifest`'s JSON: for
/// manifests the builder would refuse to write.
pub fn craft(manifest: &Manifest, files: &[(&str, &[u8])], signers: &[&BundleSigner]) -> Vec<u8> {
    let json = manifest.to_json();
    craft_raw(&json, files, signers)
}

/// As [`craft`] with the exact manifest bytes.
pub fn craft_raw(manifest: &[u8], files: &[(&str, &[u8])], signers: &[&BundleSigner]) -> Vec<u8> {
    BundleFile {
        manifest,
        signatures: signers.iter().map(|s| s.sign(manifest)).collect(),
        files: files.to_vec(),
    }
    .to_bytes()
}

/// The manifest and files of [`bundle`]`(version)`, to edit.
pub fn parts(version: u64) -> (Manifest, Vec<(String, Vec<u8>)>) {
    let bytes = bundle(version);
    let file = match BundleFile::parse(&bytes, &Default::default()) {
        Ok(f) => f,
        Err(e) => panic!("{e}"),
    };
    let manifest = match Manifest::parse(file.manifest) {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    };
    let files = file
        .files
        .iter()
        .map(|(n, b)| (n.to_string(), b.to_vec()))
        .collect();
    (manifest, files)
}

/// Borrowed view of owned files.
pub fn view(files: &[(String, Vec<u8>)]) -> Vec<(&str, &[u8])> {
    files
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect()
}

/// A fresh empty directory under the system temp dir.
pub fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("patchrt-ota-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        panic!("creating {}: {e}", dir.display());
    }
    dir
}

/// A fresh engine on the small backbone, or `None` when GPU tests are skipped.
pub fn engine() -> Option<Arc<Engine>> {
    crate::engine::engine(small_backbone_bytes(), WeightPrecision::F32).map(|(_, e)| Arc::new(e))
}

/// Activates engine patch `id` and classifies the test frame at 96.
pub fn classify(engine: &Engine, id: &str) -> Vec<f32> {
    if let Err(e) = engine.activate(id) {
        panic!("activating {id}: {e}");
    }
    classify_active(engine)
}

/// Probabilities of the test frame at 96 under the active patch.
pub fn classify_active(engine: &Engine) -> Vec<f32> {
    let image = match RgbaImage::new(640, 480, frame()) {
        Ok(i) => i,
        Err(e) => panic!("{e}"),
    };
    match engine.classify(&image, Resolution(96)) {
        Ok(c) => c.probabilities,
        Err(e) => panic!("classifying with {}: {e}", engine.active_patch()),
    }
}

/// Probabilities of the test frame at 96 under `patch`, loaded directly into
/// a fresh engine: what a bundle's copy must reproduce bit for bit.
pub fn direct(patch: &Patch) -> Vec<f32> {
    let Some(e) = engine() else {
        return Vec::new();
    };
    if let Err(err) = e.load_patch(&patch_file(patch)) {
        panic!("{err}");
    }
    classify(&e, &patch.id)
}

//! The checks behind PatchRT's fuzz targets, one public function per target.
//!
//! Every function takes arbitrary bytes and must return without panicking,
//! whatever the parser decides. Where a parser accepts the input, the
//! function also checks a property a caller relies on (re-encoding is
//! lossless), so that the fuzzer finds wrong acceptances, not only crashes.
//!
//! The fixed backbone is the committed seed `seeds/backbone_file/tiny-backbone.safetensors`
//! (written by `cargo run -p patchrt-tests --example fuzz_seeds`), the one the
//! patch and bundle seeds were made for. `tests/tests/fuzz_regressions.rs`
//! replays the seeds and regressions through the same calls on stable.

use std::sync::OnceLock;

use patchrt::model::StoreAs;
use patchrt::ota::container::decode_signatures;
use patchrt::ota::verify::verify_parts;
use patchrt::ota::{BundleFile, BundleLimits, BundleSigner, Manifest, TrustedKeys, verify_bundle};
use patchrt::{Backbone, Patch};

/// The fixed backbone's file.
pub const BACKBONE_BYTES: &[u8] =
    include_bytes!("../seeds/backbone_file/tiny-backbone.safetensors");
/// Seed of the signing key the seed bundles carry, and that the targets trust.
pub const SIGNER_SEED: [u8; 32] = [7; 32];

/// The fixed backbone, parsed once.
pub fn backbone() -> &'static Backbone {
    static BACKBONE: OnceLock<Backbone> = OnceLock::new();
    BACKBONE.get_or_init(|| {
        Backbone::from_bytes(BACKBONE_BYTES)
            .unwrap_or_else(|e| panic!("the committed fuzz backbone does not parse: {e}"))
    })
}

/// The trusted signer (its public key is the one pinned key).
pub fn signer() -> &'static BundleSigner {
    static SIGNER: OnceLock<BundleSigner> = OnceLock::new();
    SIGNER.get_or_init(|| BundleSigner::from_seed(SIGNER_SEED))
}

/// The pinned keys: the signer's public key.
pub fn keys() -> &'static TrustedKeys {
    static KEYS: OnceLock<TrustedKeys> = OnceLock::new();
    KEYS.get_or_init(|| TrustedKeys::new(vec![signer().public()]))
}

/// `Manifest::parse`; an accepted manifest must survive `to_json` (the bytes
/// the packer signs) unchanged.
pub fn bundle_manifest(data: &[u8]) {
    if let Ok(manifest) = Manifest::parse(data) {
        let again = Manifest::parse(&manifest.to_json())
            .unwrap_or_else(|e| panic!("re-serialised manifest refused: {e}"));
        assert_eq!(again, manifest, "manifest changed through to_json");
    }
}

/// `BundleFile::parse` and `decode_signatures`; for a parsed container,
/// `to_bytes` must give the input back, and both `verify_bundle` (as received,
/// so almost always a signature error) and `verify_parts` with the manifest
/// re-signed by the trusted key (so the manifest, file-list, size, hash and
/// patch checks run on fuzzed data) must return without panicking.
pub fn bundle_container(data: &[u8]) {
    let _ = decode_signatures(data);
    let limits = BundleLimits::default();
    let Ok(file) = BundleFile::parse(data, &limits) else {
        return;
    };
    assert!(
        file.to_bytes() == data,
        "a parsed container does not re-encode to the same bytes"
    );
    let _ = verify_bundle(data, keys(), backbone(), &limits);
    let signature = signer().sign(file.manifest);
    let _ = verify_parts(
        file.manifest,
        &[signature],
        &file.files,
        keys(),
        backbone(),
        &limits,
    );
}

/// `Patch::from_bytes` against the fixed backbone; an accepted patch must
/// survive `to_bytes` (f32) and parse back equal.
pub fn patch_file(data: &[u8]) {
    let backbone = backbone();
    let Ok(patch) = Patch::from_bytes(data, backbone) else {
        return;
    };
    let again = Patch::from_bytes(&patch.to_bytes(backbone, StoreAs::F32), backbone)
        .unwrap_or_else(|e| panic!("re-serialised patch refused: {e}"));
    assert_eq!(again.id, patch.id);
    assert_eq!(again.task, patch.task);
    assert_eq!(again.resolution, patch.resolution);
    assert_eq!(again.kind, patch.kind);
    assert_eq!(again.bn_epsilon.to_bits(), patch.bn_epsilon.to_bits());
    assert!(again.norms == patch.norms, "norms changed through to_bytes");
    assert!(
        again.depthwise == patch.depthwise,
        "depthwise changed through to_bytes"
    );
    assert!(
        again.classifier == patch.classifier,
        "classifier changed through to_bytes"
    );
    assert!(
        patch.scale_bias(backbone).is_ok(),
        "accepted patch does not fold"
    );
}

/// `Backbone::from_bytes`; an accepted backbone must survive `to_bytes` (f32)
/// with the same configuration and layer table.
pub fn backbone_file(data: &[u8]) {
    let Ok(backbone) = Backbone::from_bytes(data) else {
        return;
    };
    let again = Backbone::from_bytes(&backbone.to_bytes(StoreAs::F32))
        .unwrap_or_else(|e| panic!("re-serialised backbone refused: {e}"));
    assert_eq!(again.config, backbone.config);
    assert_eq!(again.arch, backbone.arch);
    assert!(
        again.norms == backbone.norms,
        "norms changed through to_bytes"
    );
    assert!(
        again.classifier == backbone.classifier,
        "classifier changed through to_bytes"
    );
}

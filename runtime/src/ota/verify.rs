//! Everything that can be checked about a bundle before it touches the disk.
//!
//! Order matters: the signature is checked over the raw manifest bytes before
//! the JSON is even parsed, and file sizes before any hashing, so that an
//! unsigned or oversized bundle costs almost nothing to refuse.

use sha2::{Digest, Sha256};

use super::container::{BundleFile, BundleLimits};
use super::error::{OtaError, OtaResult};
use super::keys::{BundleSignature, KeyId, TrustedKeys, hex};
use super::manifest::{BundlePatch, Manifest, PatchResolution, RuntimeVersion, check_file_name};
use crate::model::Backbone;
use crate::patch::Patch;

/// A patch file that passed every check.
#[derive(Debug, Clone)]
pub struct VerifiedPatch {
    /// Its manifest entry.
    pub entry: BundlePatch,
    /// The file bytes.
    pub bytes: Vec<u8>,
    /// The parsed patch (fits the backbone).
    pub patch: Patch,
}

/// A bundle whose signature, files and patches all check out against one
/// backbone. Version ordering is the store's job.
#[derive(Debug, Clone)]
pub struct VerifiedBundle {
    /// The manifest.
    pub manifest: Manifest,
    /// The exact signed bytes.
    pub manifest_bytes: Vec<u8>,
    /// All signatures as received (kept so the installed copy re-verifies).
    pub signatures: Vec<BundleSignature>,
    /// The pinned key that verified.
    pub key_id: KeyId,
    /// Patches in manifest order.
    pub patches: Vec<VerifiedPatch>,
}

/// Verifies a single-file bundle.
///
/// # Errors
/// Every [`OtaError`] of the container, signature, manifest, file and patch checks.
pub fn verify_bundle(
    bytes: &[u8],
    keys: &TrustedKeys,
    backbone: &Backbone,
    limits: &BundleLimits,
) -> OtaResult<VerifiedBundle> {
    let file = BundleFile::parse(bytes, limits)?;
    verify_parts(
        file.manifest,
        &file.signatures,
        &file.files,
        keys,
        backbone,
        limits,
    )
}

/// Verifies a bundle given as its parts (the installed directory form).
///
/// # Errors
/// As [`verify_bundle`], minus the container errors.
pub fn verify_parts(
    manifest_bytes: &[u8],
    signatures: &[BundleSignature],
    files: &[(&str, &[u8])],
    keys: &TrustedKeys,
    backbone: &Backbone,
    limits: &BundleLimits,
) -> OtaResult<VerifiedBundle> {
    if manifest_bytes.len() as u64 > limits.max_manifest_bytes {
        return Err(OtaError::TooLarge {
            what: "manifest".into(),
            limit: limits.max_manifest_bytes,
            got: manifest_bytes.len() as u64,
        });
    }
    let key_id = keys.verify(manifest_bytes, signatures)?;
    let manifest = Manifest::parse(manifest_bytes)?;

    let running = RuntimeVersion::current();
    // validate() already checked that it parses.
    let required = RuntimeVersion::parse(&manifest.min_runtime_version).unwrap_or(running);
    if required > running {
        return Err(OtaError::RuntimeTooOld {
            required: required.to_string(),
            running: running.to_string(),
        });
    }
    let loaded = backbone.identity.hex();
    if manifest.backbone_sha256 != loaded {
        return Err(OtaError::BackboneMismatch {
            bundle: manifest.backbone_sha256.clone(),
            loaded,
        });
    }
    if manifest.total_size() > limits.max_total_bytes {
        return Err(OtaError::TooLarge {
            what: "bundle files".into(),
            limit: limits.max_total_bytes,
            got: manifest.total_size(),
        });
    }

    for (name, _) in files {
        check_file_name(name)?;
        if manifest.patch_by_file(name).is_none() {
            return Err(OtaError::FileList {
                file: name.to_string(),
                detail: "is not listed in the manifest".into(),
            });
        }
    }
    let mut patches = Vec::with_capacity(manifest.patches.len());
    for entry in &manifest.patches {
        let mut found = files.iter().filter(|(n, _)| *n == entry.file);
        let bytes = match (found.next(), found.next()) {
            (Some((_, b)), None) => *b,
            (None, _) => {
                return Err(OtaError::FileList {
                    file: entry.file.clone(),
                    detail: "is listed in the manifest but missing".into(),
                });
            }
            (Some(_), Some(_)) => {
                return Err(OtaError::FileList {
                    file: entry.file.clone(),
                    detail: "appears more than once".into(),
                });
            }
        };
        patches.push(verify_patch(entry, bytes, backbone, limits)?);
    }
    Ok(VerifiedBundle {
        manifest,
        manifest_bytes: manifest_bytes.to_vec(),
        signatures: signatures.to_vec(),
        key_id,
        patches,
    })
}

fn verify_patch(
    entry: &BundlePatch,
    bytes: &[u8],
    backbone: &Backbone,
    limits: &BundleLimits,
) -> OtaResult<VerifiedPatch> {
    if entry.size > limits.max_file_bytes {
        return Err(OtaError::TooLarge {
            what: format!("bundle file {}", entry.file),
            limit: limits.max_file_bytes,
            got: entry.size,
        });
    }
    if bytes.len() as u64 != entry.size {
        return Err(OtaError::FileSize {
            file: entry.file.clone(),
            expected: entry.size,
            got: bytes.len() as u64,
        });
    }
    let got = sha256_hex(bytes);
    if got != entry.sha256 {
        return Err(OtaError::FileHash {
            file: entry.file.clone(),
            expected: entry.sha256.clone(),
            got,
        });
    }
    let patch = Patch::from_bytes(bytes, backbone).map_err(|source| OtaError::Patch {
        file: entry.file.clone(),
        source,
    })?;
    let mismatch = |field, manifest: String, file_value: String| OtaError::PatchMismatch {
        file: entry.file.clone(),
        field,
        manifest,
        file_value,
    };
    if patch.id != entry.id {
        return Err(mismatch("id", entry.id.clone(), patch.id.clone()));
    }
    if patch.task != entry.task {
        return Err(mismatch("task", entry.task.clone(), patch.task.clone()));
    }
    if patch.resolution != entry.resolution.side() {
        let show = |r: Option<u32>| r.map_or("any".to_string(), |s| s.to_string());
        return Err(mismatch(
            "resolution",
            show(entry.resolution.side()),
            show(patch.resolution),
        ));
    }
    Ok(VerifiedPatch {
        entry: entry.clone(),
        bytes: bytes.to_vec(),
        patch,
    })
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// The manifest entry a patch file should have, for the packer.
pub fn entry_for(patch: &Patch, file: &str, bytes: &[u8]) -> BundlePatch {
    BundlePatch {
        id: patch.id.clone(),
        task: patch.task.clone(),
        resolution: PatchResolution::from_side(patch.resolution),
        file: file.to_string(),
        size: bytes.len() as u64,
        sha256: sha256_hex(bytes),
    }
}

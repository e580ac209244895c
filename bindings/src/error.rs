//! The error every exported call can throw, and the panic guard.
//!
//! [`PatchrtError`] carries the runtime's typed errors across the boundary:
//! each variant keeps the structured fields an app can act on (the patch id,
//! the supported resolutions, the task) plus `detail`, the runtime's full
//! message. The field is not called `message` because Kotlin exceptions
//! already have a `message` property (UniFFI builds it from the fields).

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

use patchrt::policy::PolicyError;

/// Which kind of file a format error was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum FileKind {
    /// A backbone file.
    Backbone,
    /// A patch file.
    Patch,
}

impl From<patchrt::FileKind> for FileKind {
    fn from(kind: patchrt::FileKind) -> Self {
        match kind {
            patchrt::FileKind::Backbone => FileKind::Backbone,
            patchrt::FileKind::Patch => FileKind::Patch,
        }
    }
}

/// Why an over-the-air bundle was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum BundleRefusal {
    /// Not a well-formed bundle or manifest (truncated download, bad JSON,
    /// unsafe file name).
    Malformed,
    /// No signature by a pinned key, a signature that does not verify, or an
    /// unusable pinned key.
    Signature,
    /// A file's size or SHA-256 differs from the signed manifest, or the
    /// files do not match its list.
    Integrity,
    /// Made for another backbone, or a patch does not fit this one.
    WrongBackbone,
    /// A patch file in the bundle is unusable (bad tensors, NaN).
    InvalidPatch,
    /// Not newer than what is installed (replay or downgrade), or another
    /// bundle name.
    NotNewer,
    /// Needs a newer runtime.
    RuntimeTooOld,
    /// Over the size limits.
    TooLarge,
    /// `rollback` with no previous bundle kept.
    NoPrevious,
    /// The engine refused a patch (memory budget).
    Engine,
    /// Storage failed (full disk, permissions, a corrupt store).
    Storage,
}

impl From<patchrt::ota::OtaError> for PatchrtError {
    fn from(e: patchrt::ota::OtaError) -> Self {
        use patchrt::ota::OtaError as E;
        let detail = e.to_string();
        let reason = match &e {
            E::Container { .. } | E::Manifest { .. } | E::UnsafeFileName { .. } => {
                BundleRefusal::Malformed
            }
            E::InvalidKey { .. } | E::UnknownKey { .. } | E::BadSignature { .. } => {
                BundleRefusal::Signature
            }
            E::FileSize { .. }
            | E::FileHash { .. }
            | E::FileList { .. }
            | E::PatchMismatch { .. } => BundleRefusal::Integrity,
            E::BackboneMismatch { .. }
            | E::Patch {
                source: patchrt::Error::PatchBackboneMismatch { .. },
                ..
            } => BundleRefusal::WrongBackbone,
            E::Patch { .. } => BundleRefusal::InvalidPatch,
            E::NotNewer { .. } | E::WrongBundleName { .. } => BundleRefusal::NotNewer,
            E::RuntimeTooOld { .. } => BundleRefusal::RuntimeTooOld,
            E::TooLarge { .. } => BundleRefusal::TooLarge,
            E::NoPrevious => BundleRefusal::NoPrevious,
            E::Engine { .. } => BundleRefusal::Engine,
            E::Io { .. } | E::StoreCorrupt { .. } => BundleRefusal::Storage,
            // Downloads happen in the app's own HTTP stack on mobile; any
            // other (future) variant is a malformed input as far as the app
            // can act on it.
            _ => BundleRefusal::Malformed,
        };
        PatchrtError::Bundle { reason, detail }
    }
}

/// Everything an exported PatchRT call can fail with.
///
/// In Kotlin this is `PatchrtException` with one subclass per variant
/// (`PatchrtException.InvalidFile`, ...); in Swift an `enum PatchrtError: Error`.
#[derive(Debug, Clone, PartialEq, thiserror::Error, uniffi::Error)]
pub enum PatchrtError {
    /// No GPU adapter matched the preference, or none exists.
    #[error("{detail}")]
    NoAdapter {
        /// The adapter filter asked for, if any.
        requested: Option<String>,
        /// Names of the adapters that exist.
        available: Vec<String>,
        /// The runtime's message (with the install hint).
        detail: String,
    },
    /// The adapter cannot provide what the engine needs (device creation
    /// failed, or f16 weights were asked for without `shader-f16`).
    #[error("{detail}")]
    Device {
        /// Adapter name.
        adapter: String,
        /// The runtime's message.
        detail: String,
    },
    /// A GPU operation or shader failed.
    #[error("{detail}")]
    Gpu {
        /// What was being done.
        operation: String,
        /// The runtime's message.
        detail: String,
    },
    /// A backbone or patch file is unreadable or does not fit the architecture
    /// (malformed, missing or unknown tensors and metadata, wrong shapes or
    /// dtypes, non-finite values).
    #[error("{detail}")]
    InvalidFile {
        /// Which kind of file.
        file: FileKind,
        /// The runtime's message.
        detail: String,
    },
    /// A patch was made for another backbone than the loaded one.
    #[error("{detail}")]
    PatchMismatch {
        /// The patch id.
        patch_id: String,
        /// Backbone identity the patch declares (SHA-256, hex).
        patch_backbone: String,
        /// Identity of the loaded backbone.
        loaded_backbone: String,
        /// The runtime's message.
        detail: String,
    },
    /// No resident patch has this id.
    #[error("{detail}")]
    UnknownPatch {
        /// The id asked for.
        id: String,
        /// The runtime's message.
        detail: String,
    },
    /// A patch with this id is already resident.
    #[error("{detail}")]
    DuplicatePatch {
        /// The id.
        id: String,
        /// The runtime's message.
        detail: String,
    },
    /// The patch cannot be unloaded (it is the default or the active patch).
    #[error("{detail}")]
    PatchPinned {
        /// The id.
        id: String,
        /// The runtime's message.
        detail: String,
    },
    /// No resident patch serves the task at the resolution.
    #[error("{detail}")]
    NoPatchForTask {
        /// The task.
        task: String,
        /// The resolution asked for; `None` when the task has no patch at any
        /// resolution (from `classify_auto` and `classify_cascade`).
        resolution: Option<u32>,
        /// The runtime's message.
        detail: String,
    },
    /// The resolution is not one the engine serves.
    #[error("{detail}")]
    UnknownResolution {
        /// The side length asked for.
        requested: u32,
        /// The side lengths the engine serves, largest first.
        supported: Vec<u32>,
        /// The runtime's message.
        detail: String,
    },
    /// The image cannot be used (zero or oversized side, wrong buffer length).
    #[error("{detail}")]
    InvalidImage {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// The runtime's message.
        detail: String,
    },
    /// A patch does not fit the patch byte budget.
    #[error("{detail}")]
    PatchBudgetExceeded {
        /// The patch id.
        id: String,
        /// GPU bytes it needs.
        needed: u64,
        /// The configured budget.
        budget: u64,
        /// The runtime's message.
        detail: String,
    },
    /// An option or argument is out of range (engine options, an empty cascade).
    #[error("{detail}")]
    InvalidArgument {
        /// Which option or argument.
        name: String,
        /// The runtime's message.
        detail: String,
    },
    /// Reading a file failed.
    #[error("{detail}")]
    Io {
        /// The path.
        path: String,
        /// The runtime's message.
        detail: String,
    },
    /// A cascade file is invalid.
    #[error("{detail}")]
    InvalidCascade {
        /// The runtime's message.
        detail: String,
    },
    /// A device reading (battery, budgets, thermal code) is out of range.
    #[error("{detail}")]
    InvalidDeviceState {
        /// The runtime's message.
        detail: String,
    },
    /// An over-the-air bundle was refused or could not be installed; the
    /// installed bundle, the resident patches and the active patch are
    /// unchanged.
    #[error("{detail}")]
    Bundle {
        /// Why, as a category an app can branch on.
        reason: BundleRefusal,
        /// The runtime's message (file names, hashes, versions).
        detail: String,
    },
    /// A bug: a panic inside PatchRT, caught at the boundary, or a runtime
    /// error this version of the bindings does not know.
    #[error("{detail}")]
    Internal {
        /// The panic message.
        detail: String,
    },
}

/// Result alias of the bindings.
pub type Result<T, E = PatchrtError> = std::result::Result<T, E>;

impl From<patchrt::Error> for PatchrtError {
    fn from(e: patchrt::Error) -> Self {
        use patchrt::Error as E;
        let detail = e.to_string();
        match e {
            E::NoAdapter {
                requested,
                available,
            } => PatchrtError::NoAdapter {
                requested,
                available,
                detail,
            },
            E::DeviceRequest { adapter, .. } | E::F16Unsupported { adapter } => {
                PatchrtError::Device { adapter, detail }
            }
            E::ShaderInvalid { shader, .. } => PatchrtError::Gpu {
                operation: format!("shader {shader}"),
                detail,
            },
            E::Gpu { operation, .. } => PatchrtError::Gpu {
                operation: operation.to_string(),
                detail,
            },
            E::Malformed { file, .. }
            | E::MissingMetadata { file, .. }
            | E::InvalidMetadata { file, .. }
            | E::MissingTensor { file, .. }
            | E::UnknownTensor { file, .. }
            | E::TensorShape { file, .. }
            | E::TensorDtype { file, .. }
            | E::NonFinite { file, .. } => PatchrtError::InvalidFile {
                file: file.into(),
                detail,
            },
            E::PatchBackboneMismatch {
                patch_id,
                patch_backbone,
                loaded_backbone,
            } => PatchrtError::PatchMismatch {
                patch_id,
                patch_backbone,
                loaded_backbone,
                detail,
            },
            E::UnknownPatch { id } => PatchrtError::UnknownPatch { id, detail },
            E::DuplicatePatch { id } => PatchrtError::DuplicatePatch { id, detail },
            E::PatchPinned { id, .. } => PatchrtError::PatchPinned { id, detail },
            E::NoPatchForTask { task, resolution } => PatchrtError::NoPatchForTask {
                task,
                resolution: Some(resolution),
                detail,
            },
            E::UnknownResolution {
                requested,
                supported,
            } => PatchrtError::UnknownResolution {
                requested,
                supported,
                detail,
            },
            E::InvalidImage { width, height, .. } => PatchrtError::InvalidImage {
                width,
                height,
                detail,
            },
            E::PatchBudgetExceeded { id, needed, budget } => PatchrtError::PatchBudgetExceeded {
                id,
                needed,
                budget,
                detail,
            },
            E::BatchSize { .. } => PatchrtError::InvalidArgument {
                name: "patch_ids".into(),
                detail,
            },
            E::InvalidOption { option, .. } => PatchrtError::InvalidArgument {
                name: option.to_string(),
                detail,
            },
            E::Io { path, .. } => PatchrtError::Io { path, detail },
            // `patchrt::Error` is non-exhaustive: a variant added later
            // arrives here until the bindings learn it.
            _ => PatchrtError::Internal { detail },
        }
    }
}

impl From<PolicyError> for PatchrtError {
    fn from(e: PolicyError) -> Self {
        PatchrtError::InvalidDeviceState {
            detail: e.to_string(),
        }
    }
}

impl From<patchrt::cascade::CascadeError> for PatchrtError {
    fn from(e: patchrt::cascade::CascadeError) -> Self {
        PatchrtError::InvalidCascade {
            detail: e.to_string(),
        }
    }
}

/// Runs an exported body, turning a panic into [`PatchrtError::Internal`] so
/// that no unwind ever reaches foreign code. Every exported function and
/// method goes through this.
pub(crate) fn guard<T>(body: impl FnOnce() -> Result<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(result) => result,
        Err(payload) => Err(PatchrtError::Internal {
            detail: format!("panic in PatchRT: {}", panic_text(payload.as_ref())),
        }),
    }
}

fn panic_text(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "(non-string panic payload)"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_internal() {
        let r: Result<()> = guard(|| panic!("boom"));
        match r {
            Err(PatchrtError::Internal { detail }) => assert!(detail.contains("boom"), "{detail}"),
            other => panic!("expected Internal, got {other:?}"),
        }
    }

    #[test]
    fn typed_fields_survive_the_mapping() {
        let e = PatchrtError::from(patchrt::Error::UnknownResolution {
            requested: 100,
            supported: vec![224, 96],
        });
        match e {
            PatchrtError::UnknownResolution {
                requested,
                supported,
                detail,
            } => {
                assert_eq!((requested, supported), (100, vec![224, 96]));
                assert!(detail.contains("100"), "{detail}");
            }
            other => panic!("expected UnknownResolution, got {other:?}"),
        }
    }
}

//! Errors of the over-the-air bundle path.
//!
//! Every refusal names what was checked and what was found, so a log line is
//! enough to tell an attack (bad signature, replay) from an accident
//! (truncated download, full disk).

use std::path::PathBuf;

/// Why a bundle was refused or could not be installed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OtaError {
    /// The bundle container is not well formed (bad magic, truncated, bad lengths).
    #[error("bundle container is malformed: {detail}")]
    Container {
        /// What the parser found.
        detail: String,
    },
    /// The manifest is not valid JSON or a field breaks the format.
    #[error("bundle manifest is invalid: {field}: {detail}")]
    Manifest {
        /// Field (or `json` for a syntax error).
        field: String,
        /// What is wrong with it.
        detail: String,
    },
    /// A public key could not be used (not 32 bytes, not a curve point, bad hex).
    #[error("invalid Ed25519 key: {detail}")]
    InvalidKey {
        /// What is wrong with it.
        detail: String,
    },
    /// None of the bundle's signatures comes from a pinned key.
    #[error("bundle is signed only by keys the app does not trust: [{}]", key_ids.join(", "))]
    UnknownKey {
        /// Key ids found in the bundle.
        key_ids: Vec<String>,
    },
    /// A signature by a pinned key does not verify over the manifest bytes.
    #[error("bundle signature by key {key_id} does not verify")]
    BadSignature {
        /// Key id of the failing signature.
        key_id: String,
    },
    /// A file's size differs from its manifest entry.
    #[error("bundle file {file}: size {got} bytes, manifest says {expected}")]
    FileSize {
        /// File name.
        file: String,
        /// Size in the manifest.
        expected: u64,
        /// Size found.
        got: u64,
    },
    /// A file's SHA-256 differs from its manifest entry.
    #[error("bundle file {file}: SHA-256 {got}, manifest says {expected}")]
    FileHash {
        /// File name.
        file: String,
        /// Hash in the manifest.
        expected: String,
        /// Hash of the bytes found.
        got: String,
    },
    /// The container and the manifest list different files.
    #[error("bundle file {file}: {detail}")]
    FileList {
        /// File name.
        file: String,
        /// What does not match.
        detail: String,
    },
    /// A file name could escape the bundle directory or is not portable.
    #[error("bundle file name {name:?} is not allowed: {reason}")]
    UnsafeFileName {
        /// The name as found.
        name: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// Something exceeds a configured limit.
    #[error("{what} is {got} bytes, over the limit of {limit}")]
    TooLarge {
        /// What was measured.
        what: String,
        /// The limit.
        limit: u64,
        /// The size found (or announced).
        got: u64,
    },
    /// The bundle was made for another backbone.
    #[error("bundle is for backbone {bundle}, the loaded backbone is {loaded}")]
    BackboneMismatch {
        /// Identity in the manifest.
        bundle: String,
        /// Identity of the engine's backbone.
        loaded: String,
    },
    /// A manifest entry disagrees with its patch file's own metadata.
    #[error("bundle patch {file}: manifest says {field} = {manifest}, the file says {file_value}")]
    PatchMismatch {
        /// File name.
        file: String,
        /// Field that differs (id, task, resolution).
        field: &'static str,
        /// Value in the manifest.
        manifest: String,
        /// Value in the patch file.
        file_value: String,
    },
    /// A patch file failed to parse or does not fit the backbone.
    #[error("bundle patch {file} is unusable: {source}")]
    Patch {
        /// File name.
        file: String,
        /// The runtime's error.
        #[source]
        source: crate::Error,
    },
    /// The bundle is not newer than what is installed (replay or downgrade).
    #[error("bundle {name} version {offered} is not newer than version {floor} already installed")]
    NotNewer {
        /// Bundle name.
        name: String,
        /// Version offered.
        offered: u64,
        /// Highest version installed so far.
        floor: u64,
    },
    /// The bundle belongs to another bundle name than this store.
    #[error("bundle is named {offered:?}, this store holds {installed:?}")]
    WrongBundleName {
        /// Name in the offered manifest.
        offered: String,
        /// Name of the installed bundle.
        installed: String,
    },
    /// The bundle needs a newer runtime.
    #[error("bundle needs runtime {required} or newer, this is {running}")]
    RuntimeTooOld {
        /// Minimum runtime version from the manifest.
        required: String,
        /// This runtime's version.
        running: String,
    },
    /// `rollback` was called with no previous bundle kept.
    #[error("no previous bundle to roll back to")]
    NoPrevious,
    /// The store's state file is unreadable (tampered with outside the runtime).
    #[error("bundle store state {path} is corrupt: {detail}")]
    StoreCorrupt {
        /// Path of the state file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The engine refused a patch (budget, duplicate id).
    #[error("engine refused bundle patch {id}: {source}")]
    Engine {
        /// Patch id as loaded into the engine.
        id: String,
        /// The engine's error.
        #[source]
        source: crate::Error,
    },
    /// A file-system operation failed (disk full, permissions, crash).
    #[error("{operation} {path}: {source}")]
    Io {
        /// What was being done.
        operation: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A download failed.
    #[error(transparent)]
    Download(#[from] super::download::DownloadError),
}

/// Result of the OTA path.
pub type OtaResult<T> = std::result::Result<T, OtaError>;

impl OtaError {
    pub(crate) fn manifest(field: impl Into<String>, detail: impl Into<String>) -> OtaError {
        OtaError::Manifest {
            field: field.into(),
            detail: detail.into(),
        }
    }

    pub(crate) fn container(detail: impl Into<String>) -> OtaError {
        OtaError::Container {
            detail: detail.into(),
        }
    }

    pub(crate) fn io(
        operation: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> OtaError {
        OtaError::Io {
            operation,
            path: path.into(),
            source,
        }
    }
}

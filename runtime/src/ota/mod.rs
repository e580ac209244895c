//! Over-the-air patch bundles: signed, tied to one backbone, installed
//! atomically, with rollback.
//!
//! The data path: bytes (from the app's HTTP stack, a file, or [`download`])
//! -> [`BundleFile`] (container) -> [`verify_bundle`] (signature, manifest,
//! sizes, hashes, patches against the backbone) -> [`BundleStore`] (staging,
//! fsync, atomic switch of the state file) -> [`Updater`] (patches resident in
//! the engine). Formats are in `docs/formats.md`.

pub mod container;
pub mod disk;
pub mod download;
pub mod error;
pub mod keys;
pub mod manifest;
pub mod pack;
pub mod store;
pub mod updater;
pub mod verify;

pub use container::{BundleFile, BundleLimits};
pub use error::{OtaError, OtaResult};
pub use keys::{BundleSigner, KeyId, PublicKey, TrustedKeys};
pub use manifest::{BundlePatch, Manifest, PatchResolution};
pub use pack::BundleBuilder;
pub use store::{BundleStore, InstalledBundle};
pub use updater::{Updater, UpdaterOptions};
pub use verify::{VerifiedBundle, verify_bundle};

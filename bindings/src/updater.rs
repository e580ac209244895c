//! Over-the-air bundles for apps: the app downloads with its own HTTP stack
//! and hands the bytes (or a file) to a [`BundleUpdater`], which verifies,
//! installs atomically and makes the patches activatable on its [`Engine`].

use std::sync::Arc;

use patchrt::ota::{self, PublicKey, TrustedKeys, UpdaterOptions};

use crate::engine::Engine;
use crate::error::{PatchrtError, Result, guard};

/// A patch of the installed bundle.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct BundledPatch {
    /// Id in the bundle and the patch file.
    pub id: String,
    /// Id to `activate` on the engine: `<id>@v<version>`.
    pub engine_id: String,
    /// Task it serves.
    pub task: String,
    /// Resolution, or none for any.
    pub resolution: Option<u32>,
    /// File size in bytes.
    pub size: u64,
    /// SHA-256 of the file, hex.
    pub sha256: String,
}

/// The installed bundle.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct InstalledBundle {
    /// Bundle name.
    pub name: String,
    /// Version.
    pub version: u64,
    /// Creation time (UTC, `YYYY-MM-DDTHH:MM:SSZ`).
    pub created: String,
    /// Id of the pinned key that verified it.
    pub key_id: String,
    /// Its patches.
    pub patches: Vec<BundledPatch>,
}

/// Installs signed patch bundles into one engine, from one directory.
///
/// Kotlin: `BundleUpdater(engine, directory, pinnedKeys, allowDowngrade)`;
/// Swift: `BundleUpdater(engine:directory:pinnedKeys:allowDowngrade:)`.
/// `pinnedKeys` are raw 32-byte Ed25519 public keys (several for rotation).
#[derive(uniffi::Object)]
pub struct BundleUpdater {
    inner: ota::Updater,
}

impl std::fmt::Debug for BundleUpdater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BundleUpdater").finish_non_exhaustive()
    }
}

#[uniffi::export]
impl BundleUpdater {
    /// Opens (or creates) the bundle directory and loads the installed
    /// bundle, re-verified, into `engine`.
    #[uniffi::constructor]
    pub fn new(
        engine: Arc<Engine>,
        directory: String,
        pinned_keys: Vec<Vec<u8>>,
        allow_downgrade: bool,
    ) -> Result<Arc<Self>> {
        guard(|| {
            let keys = pinned_keys
                .iter()
                .map(|k| PublicKey::from_bytes(k))
                .collect::<Result<Vec<_>, _>>()?;
            if keys.is_empty() {
                return Err(PatchrtError::InvalidArgument {
                    name: "pinned_keys".into(),
                    detail: "at least one public key must be pinned".into(),
                });
            }
            let inner = ota::Updater::open(
                engine.runtime(),
                directory,
                TrustedKeys::new(keys),
                UpdaterOptions {
                    allow_downgrade,
                    ..UpdaterOptions::default()
                },
            )?;
            Ok(Arc::new(BundleUpdater { inner }))
        })
    }

    /// Verifies and installs a bundle received as bytes. On error nothing
    /// changes.
    pub fn install(&self, bundle: Vec<u8>) -> Result<InstalledBundle> {
        guard(|| {
            self.inner.install(&bundle)?;
            self.current()
        })
    }

    /// Verifies and installs a bundle file (e.g. where the app's downloader
    /// saved it).
    pub fn install_file(&self, path: String) -> Result<InstalledBundle> {
        guard(|| {
            self.inner.install_file(&path)?;
            self.current()
        })
    }

    /// Restores the previous bundle.
    pub fn rollback(&self) -> Result<InstalledBundle> {
        guard(|| {
            self.inner.rollback()?;
            self.current()
        })
    }

    /// The installed bundle, if any.
    pub fn installed(&self) -> Option<InstalledBundle> {
        self.current().ok()
    }

    /// Version of the installed bundle (0 when none).
    pub fn installed_version(&self) -> u64 {
        self.inner.installed_version()
    }

    /// Version `rollback` would restore, if one is kept.
    pub fn previous_version(&self) -> Option<u64> {
        self.inner.previous_version()
    }

    /// Engine id of the installed bundle's patch `id`, to `activate`.
    pub fn engine_id(&self, id: String) -> Option<String> {
        self.inner.engine_id(&id)
    }

    /// Unloads patches of replaced bundles that are no longer active.
    pub fn collect_retired(&self) -> Vec<String> {
        self.inner.collect_retired()
    }

    /// Why start-up fell back from the installed bundle, if it did.
    pub fn recovered_from(&self) -> Option<String> {
        self.inner.recovered_from().map(str::to_string)
    }
}

impl BundleUpdater {
    fn current(&self) -> Result<InstalledBundle> {
        let Some(b) = self.inner.installed() else {
            return Err(PatchrtError::from(ota::OtaError::NoPrevious));
        };
        let ids = self.inner.patches();
        Ok(InstalledBundle {
            name: b.name,
            version: b.version,
            created: b.created,
            key_id: b.key_id,
            patches: b
                .patches
                .into_iter()
                .map(|p| BundledPatch {
                    engine_id: ids
                        .iter()
                        .find(|i| i.id == p.id)
                        .map(|i| i.engine_id.clone())
                        .unwrap_or_default(),
                    resolution: p.resolution.side(),
                    id: p.id,
                    task: p.task,
                    size: p.size,
                    sha256: p.sha256,
                })
                .collect(),
        })
    }
}

/// A signed demo bundle and the public key that verifies it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DemoBundle {
    /// The bundle bytes.
    pub bundle: Vec<u8>,
    /// The 32-byte Ed25519 public key to pin.
    pub public_key: Vec<u8>,
}

/// Packs patch files into a bundle signed with a key derived from
/// `key_seed` (32 bytes): for samples and tests. Real bundles are made by
/// release tooling (`patchbench bundle pack`) with a key kept off devices.
#[uniffi::export]
pub fn demo_bundle(
    backbone: Vec<u8>,
    patches: Vec<Vec<u8>>,
    name: String,
    version: u64,
    key_seed: Vec<u8>,
) -> Result<DemoBundle> {
    guard(|| {
        let seed: [u8; 32] =
            key_seed
                .as_slice()
                .try_into()
                .map_err(|_| PatchrtError::InvalidArgument {
                    name: "key_seed".into(),
                    detail: format!("{} bytes, expected 32", key_seed.len()),
                })?;
        let backbone = patchrt::Backbone::from_bytes(&backbone)?;
        let signer = ota::BundleSigner::from_seed(seed);
        let mut builder = ota::BundleBuilder::new(&name, version, &backbone);
        for bytes in patches {
            let patch = patchrt::Patch::from_bytes(&bytes, &backbone)?;
            let file = format!("{}.safetensors", patch.id.replace('@', "-"));
            builder.add_patch(&file, bytes, &backbone)?;
        }
        Ok(DemoBundle {
            bundle: builder.build(&[&signer])?,
            public_key: signer.public().to_bytes().to_vec(),
        })
    })
}

//! Bundles into the engine: install, rollback, and loading at start-up.
//!
//! Bundle patches live in the engine under versioned ids, `<id>@v<version>`,
//! so that a new bundle's patches can be resident beside the old ones. The
//! new patches are uploaded before the disk switch and the old ones are
//! unloaded after it, except the active one, which stays active and correct
//! until the app activates another patch ("retired" until then).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use super::container::BundleLimits;
use super::disk::{Disk, OsDisk};
use super::error::{OtaError, OtaResult};
use super::keys::TrustedKeys;
use super::store::{BundleStore, InstalledBundle};
use super::verify::{VerifiedBundle, VerifiedPatch, verify_bundle};
use crate::engine::Engine;

/// Installation policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UpdaterOptions {
    /// Accept a bundle whose version is not above every version installed
    /// so far (off by default: that is how a replayed old bundle looks).
    pub allow_downgrade: bool,
    /// Size limits.
    pub limits: BundleLimits,
}

/// A bundle patch as resident in the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundlePatchId {
    /// Id in the bundle (and in the patch file).
    pub id: String,
    /// Id in the engine, `<id>@v<version>`.
    pub engine_id: String,
}

#[derive(Debug, Default)]
struct Loaded {
    bundle: Option<InstalledBundle>,
    ids: Vec<BundlePatchId>,
    /// Engine ids of replaced bundles still resident because they were active.
    retired: Vec<String>,
}

impl Loaded {
    /// Engine ids of the installed bundle's patches.
    fn engine_ids(&self) -> Vec<String> {
        self.ids.iter().map(|p| p.engine_id.clone()).collect()
    }
}

struct Inner {
    store: BundleStore,
    loaded: Loaded,
}

/// Installs signed bundles into one engine and one store directory.
pub struct Updater {
    engine: Arc<Engine>,
    keys: TrustedKeys,
    options: UpdaterOptions,
    inner: Mutex<Inner>,
    recovered: Option<String>,
}

impl std::fmt::Debug for Updater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Updater")
            .field("keys", &self.keys)
            .field("options", &self.options)
            .finish()
    }
}

impl Updater {
    /// Opens the store at `root` on the real file system and loads its
    /// current bundle into `engine`.
    ///
    /// # Errors
    /// As [`Updater::open_with_disk`].
    pub fn open(
        engine: Arc<Engine>,
        root: impl Into<PathBuf>,
        keys: TrustedKeys,
        options: UpdaterOptions,
    ) -> OtaResult<Updater> {
        Updater::open_with_disk(engine, root, Arc::new(OsDisk), keys, options)
    }

    /// As [`Updater::open`] with an explicit [`Disk`] (tests inject faults).
    ///
    /// The current bundle is re-verified from disk. If it no longer verifies
    /// (files changed after install, a key unpinned) and the previous one
    /// does, the store rolls back to it; [`Updater::recovered_from`] then
    /// says why. If neither verifies the engine keeps only what it had.
    ///
    /// # Errors
    /// [`OtaError::Io`]; [`OtaError::StoreCorrupt`]; the engine's refusal of
    /// a patch ([`OtaError::Engine`]).
    pub fn open_with_disk(
        engine: Arc<Engine>,
        root: impl Into<PathBuf>,
        disk: Arc<dyn Disk>,
        keys: TrustedKeys,
        options: UpdaterOptions,
    ) -> OtaResult<Updater> {
        let mut store = BundleStore::open(root, disk)?;
        let backbone = engine.backbone();
        let mut recovered = None;
        let bundle = match store.load_current(&keys, backbone, &options.limits) {
            Ok(b) => b,
            Err(e) => {
                log::warn!("patchrt: installed bundle does not verify: {e}");
                recovered = Some(e.to_string());
                match store.load_previous(&keys, backbone, &options.limits) {
                    Ok(Some(previous)) => {
                        store.rollback()?;
                        Some(previous)
                    }
                    _ => None,
                }
            }
        };
        let mut loaded = Loaded::default();
        if let Some(bundle) = &bundle {
            loaded.ids = load_into(&engine, &bundle.patches, bundle.manifest.version, &[])?;
            loaded.bundle = Some(InstalledBundle::of(bundle));
        }
        Ok(Updater {
            engine,
            keys,
            options,
            inner: Mutex::new(Inner { store, loaded }),
            recovered,
        })
    }

    /// Verifies and installs a bundle given as bytes.
    ///
    /// On any error nothing changes: the installed bundle, the resident
    /// patches and the active patch are as before.
    ///
    /// # Errors
    /// Every verification error, [`OtaError::NotNewer`],
    /// [`OtaError::WrongBundleName`], [`OtaError::Engine`], [`OtaError::Io`].
    pub fn install(&self, bytes: &[u8]) -> OtaResult<InstalledBundle> {
        let bundle = verify_bundle(
            bytes,
            &self.keys,
            self.engine.backbone(),
            &self.options.limits,
        )?;
        self.install_verified(&bundle)
    }

    /// Verifies and installs a bundle file.
    ///
    /// # Errors
    /// As [`Updater::install`]; [`OtaError::TooLarge`] before reading a file
    /// larger than the limits allow.
    pub fn install_file(&self, path: impl AsRef<Path>) -> OtaResult<InstalledBundle> {
        let path = path.as_ref();
        let len = std::fs::metadata(path)
            .map_err(|e| OtaError::io("stat", path, e))?
            .len();
        let limit = self.options.limits.max_container_bytes();
        if len > limit {
            return Err(OtaError::TooLarge {
                what: format!("bundle file {}", path.display()),
                limit,
                got: len,
            });
        }
        let bytes = std::fs::read(path).map_err(|e| OtaError::io("read", path, e))?;
        self.install(&bytes)
    }

    fn install_verified(&self, bundle: &VerifiedBundle) -> OtaResult<InstalledBundle> {
        let mut inner = self.lock();
        inner
            .store
            .check_admissible(&bundle.manifest, self.options.allow_downgrade)?;
        let taken = inner.loaded.engine_ids();
        let ids = load_into(
            &self.engine,
            &bundle.patches,
            bundle.manifest.version,
            &taken,
        )?;
        if let Err(e) = inner.store.commit(bundle) {
            unload(&self.engine, ids.iter().map(|p| p.engine_id.as_str()));
            return Err(e);
        }
        let installed = InstalledBundle::of(bundle);
        let old = std::mem::replace(
            &mut inner.loaded,
            Loaded {
                bundle: Some(installed.clone()),
                ids,
                retired: Vec::new(),
            },
        );
        self.retire(&mut inner.loaded, old);
        log::info!(
            "patchrt: installed bundle {} v{} ({} patches)",
            installed.name,
            installed.version,
            installed.patches.len()
        );
        Ok(installed)
    }

    /// Restores the previous bundle; the current one is deleted.
    ///
    /// # Errors
    /// [`OtaError::NoPrevious`]; verification errors when the previous
    /// bundle no longer verifies; [`OtaError::Engine`]; [`OtaError::Io`].
    /// On error nothing changes.
    pub fn rollback(&self) -> OtaResult<InstalledBundle> {
        let mut inner = self.lock();
        let Some(previous) =
            inner
                .store
                .load_previous(&self.keys, self.engine.backbone(), &self.options.limits)?
        else {
            return Err(OtaError::NoPrevious);
        };
        // A retired patch of the previous bundle is still resident: reuse it.
        let version = previous.manifest.version;
        let resident: Vec<String> = self.engine.patches().into_iter().map(|p| p.id).collect();
        let (reused, to_load): (Vec<&VerifiedPatch>, Vec<&VerifiedPatch>) =
            previous.patches.iter().partition(|p| {
                let id = engine_id(&p.entry.id, version);
                inner.loaded.retired.contains(&id) && resident.contains(&id)
            });
        let taken = inner.loaded.engine_ids();
        let mut ids = load_into(&self.engine, to_load, version, &taken)?;
        if let Err(e) = inner.store.rollback() {
            unload(&self.engine, ids.iter().map(|p| p.engine_id.as_str()));
            return Err(e);
        }
        for p in reused {
            let id = engine_id(&p.entry.id, version);
            inner.loaded.retired.retain(|r| *r != id);
            ids.push(BundlePatchId {
                id: p.entry.id.clone(),
                engine_id: id,
            });
        }
        let installed = InstalledBundle::of(&previous);
        let retired = std::mem::take(&mut inner.loaded.retired);
        let old = std::mem::replace(
            &mut inner.loaded,
            Loaded {
                bundle: Some(installed.clone()),
                ids,
                retired,
            },
        );
        self.retire(&mut inner.loaded, old);
        log::info!(
            "patchrt: rolled back to bundle {} v{}",
            installed.name,
            installed.version
        );
        Ok(installed)
    }

    /// The installed bundle, if any.
    pub fn installed(&self) -> Option<InstalledBundle> {
        self.lock().loaded.bundle.clone()
    }

    /// Version of the installed bundle (0 when none).
    pub fn installed_version(&self) -> u64 {
        self.installed().map_or(0, |b| b.version)
    }

    /// Version `rollback` would restore, if one is kept.
    pub fn previous_version(&self) -> Option<u64> {
        self.lock()
            .store
            .state()
            .previous
            .as_ref()
            .map(|s| s.version)
    }

    /// The installed bundle's patches with their engine ids.
    pub fn patches(&self) -> Vec<BundlePatchId> {
        self.lock().loaded.ids.clone()
    }

    /// Engine id of the installed bundle's patch `id`.
    pub fn engine_id(&self, id: &str) -> Option<String> {
        self.lock()
            .loaded
            .ids
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.engine_id.clone())
    }

    /// Why start-up fell back to the previous bundle or to none, if it did.
    pub fn recovered_from(&self) -> Option<&str> {
        self.recovered.as_deref()
    }

    /// Unloads retired patches that are no longer active; returns their ids.
    pub fn collect_retired(&self) -> Vec<String> {
        let mut inner = self.lock();
        let active = self.engine.active_patch();
        let (keep, drop): (Vec<_>, Vec<_>) = std::mem::take(&mut inner.loaded.retired)
            .into_iter()
            .partition(|id| *id == active);
        inner.loaded.retired = keep;
        unload(&self.engine, drop.iter().map(String::as_str));
        drop
    }

    /// Unloads `old`'s patches, keeping the active one resident as retired.
    fn retire(&self, loaded: &mut Loaded, old: Loaded) {
        let active = self.engine.active_patch();
        let current: Vec<&str> = loaded.ids.iter().map(|p| p.engine_id.as_str()).collect();
        let mut stale: Vec<String> = old.ids.into_iter().map(|p| p.engine_id).collect();
        stale.extend(old.retired);
        for id in stale {
            if current.contains(&id.as_str()) || loaded.retired.contains(&id) {
                continue;
            }
            if id == active {
                loaded.retired.push(id);
            } else {
                unload(&self.engine, std::iter::once(id.as_str()));
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The state is consistent between statements: a panic elsewhere while
        // holding the lock cannot leave it half-updated.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Engine id of a bundle patch.
pub fn engine_id(id: &str, version: u64) -> String {
    format!("{id}@v{version}")
}

/// Uploads `patches` of bundle `version` under their engine ids; all or nothing.
fn load_into<'a>(
    engine: &Engine,
    patches: impl IntoIterator<Item = &'a VerifiedPatch>,
    version: u64,
    taken: &[String],
) -> OtaResult<Vec<BundlePatchId>> {
    let resident: Vec<String> = engine.patches().into_iter().map(|p| p.id).collect();
    let mut ids = Vec::new();
    for p in patches {
        let mut id = engine_id(&p.entry.id, version);
        // Re-installing a version (allow_downgrade) while its patches are
        // still resident: give the new copies distinct ids.
        let mut n = 2;
        while resident.contains(&id) || taken.contains(&id) {
            id = format!("{}#{n}", engine_id(&p.entry.id, version));
            n += 1;
        }
        let mut patch = p.patch.clone();
        patch.id = id.clone();
        if let Err(source) = engine.load_parsed_patch(&patch) {
            unload(
                engine,
                ids.iter().map(|p: &BundlePatchId| p.engine_id.as_str()),
            );
            return Err(OtaError::Engine { id, source });
        }
        ids.push(BundlePatchId {
            id: p.entry.id.clone(),
            engine_id: id,
        });
    }
    Ok(ids)
}

fn unload<'a>(engine: &Engine, ids: impl Iterator<Item = &'a str>) {
    for id in ids {
        // Already evicted by the LRU budget is fine: it is gone either way.
        if let Err(e) = engine.unload_patch(id) {
            log::debug!("patchrt: unloading {id}: {e}");
        }
    }
}

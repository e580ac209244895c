//! The installed bundles on disk, switched atomically.
//!
//! ```text
//! root/
//!   state.json                 which bundle is current, which is kept for rollback
//!   bundles/b000003-v7/        manifest.json, manifest.sig, patch files
//!   bundles/b000002-v6/        the previous bundle
//!   staging/                   a bundle being written (removed on open)
//! ```
//!
//! An install writes and fsyncs a complete directory under `staging/`, renames
//! it into `bundles/`, then replaces `state.json` by writing `state.json.tmp`,
//! fsyncing it and renaming it over. The rename of the state file is the
//! commit point: a crash before it leaves the old state file (and an orphan
//! directory, removed at the next open); a crash after it leaves the new one.
//! The installed set is therefore always wholly the old bundle or wholly the
//! new one.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::container::{BundleLimits, decode_signatures, encode_signatures};
use super::disk::Disk;
use super::error::{OtaError, OtaResult};
use super::keys::TrustedKeys;
use super::manifest::{BundlePatch, Manifest};
use super::verify::{VerifiedBundle, verify_parts};
use crate::model::Backbone;

const STATE_FILE: &str = "state.json";
const STATE_TMP: &str = "state.json.tmp";
const STATE_FORMAT: &str = "patchrt.bundle-store";
const MANIFEST_FILE: &str = "manifest.json";
const SIGNATURE_FILE: &str = "manifest.sig";

/// One installed bundle directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slot {
    /// Directory name under `bundles/`.
    pub dir: String,
    /// Bundle version.
    pub version: u64,
}

/// Contents of `state.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreState {
    /// Always `patchrt.bundle-store`.
    pub format: String,
    /// Bundle name this store holds (set by the first install).
    pub name: Option<String>,
    /// The installed bundle.
    pub current: Option<Slot>,
    /// The bundle `rollback` restores.
    pub previous: Option<Slot>,
    /// Highest version ever installed: the replay floor.
    pub highest_version: u64,
    /// Sequence number of the next install's directory.
    pub next_sequence: u64,
}

/// What an installed bundle holds (for apps and the bindings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledBundle {
    /// Bundle name.
    pub name: String,
    /// Version.
    pub version: u64,
    /// Creation time from the manifest.
    pub created: String,
    /// Id of the pinned key that verified it.
    pub key_id: String,
    /// Its patches.
    pub patches: Vec<BundlePatch>,
}

impl InstalledBundle {
    /// Summary of a verified bundle.
    pub fn of(bundle: &VerifiedBundle) -> InstalledBundle {
        let m: &Manifest = &bundle.manifest;
        InstalledBundle {
            name: m.name.clone(),
            version: m.version,
            created: m.created.clone(),
            key_id: bundle.key_id.to_string(),
            patches: m.patches.clone(),
        }
    }
}

/// The bundle directory of one app (one bundle name).
pub struct BundleStore {
    root: PathBuf,
    disk: Arc<dyn Disk>,
    state: StoreState,
}

impl std::fmt::Debug for BundleStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BundleStore")
            .field("root", &self.root)
            .field("state", &self.state)
            .finish()
    }
}

impl BundleStore {
    /// Opens (creating if needed) the store at `root` and finishes what a
    /// crash may have interrupted: removes staging directories, a stray
    /// temporary state file and bundle directories no state refers to.
    ///
    /// # Errors
    /// [`OtaError::Io`]; [`OtaError::StoreCorrupt`] when `state.json` is
    /// unreadable.
    pub fn open(root: impl Into<PathBuf>, disk: Arc<dyn Disk>) -> OtaResult<BundleStore> {
        let root = root.into();
        for dir in [root.clone(), root.join("bundles"), root.join("staging")] {
            disk.create_dir_all(&dir)
                .map_err(|e| OtaError::io("create directory", &dir, e))?;
        }
        let state_path = root.join(STATE_FILE);
        let state = if disk.exists(&state_path) {
            let bytes = disk
                .read(&state_path)
                .map_err(|e| OtaError::io("read", &state_path, e))?;
            parse_state(&bytes).map_err(|detail| OtaError::StoreCorrupt {
                path: state_path.clone(),
                detail,
            })?
        } else {
            StoreState {
                format: STATE_FORMAT.into(),
                next_sequence: 1,
                ..StoreState::default()
            }
        };
        let store = BundleStore { root, disk, state };
        store.collect_garbage();
        Ok(store)
    }

    /// The store's state as last committed.
    pub fn state(&self) -> &StoreState {
        &self.state
    }

    /// Root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Refuses a bundle of another name, or one not newer than every version
    /// installed so far unless `allow_downgrade`.
    ///
    /// # Errors
    /// [`OtaError::WrongBundleName`]; [`OtaError::NotNewer`].
    pub fn check_admissible(&self, manifest: &Manifest, allow_downgrade: bool) -> OtaResult<()> {
        if let Some(name) = &self.state.name
            && *name != manifest.name
        {
            return Err(OtaError::WrongBundleName {
                offered: manifest.name.clone(),
                installed: name.clone(),
            });
        }
        if manifest.version <= self.state.highest_version && !allow_downgrade {
            return Err(OtaError::NotNewer {
                name: manifest.name.clone(),
                offered: manifest.version,
                floor: self.state.highest_version,
            });
        }
        Ok(())
    }

    /// Reads and re-verifies the current bundle (signature, hashes, patches),
    /// so that files changed on disk after install are never used.
    ///
    /// # Errors
    /// Every verification error; [`OtaError::Io`].
    pub fn load_current(
        &self,
        keys: &TrustedKeys,
        backbone: &Backbone,
        limits: &BundleLimits,
    ) -> OtaResult<Option<VerifiedBundle>> {
        self.load(self.state.current.as_ref(), keys, backbone, limits)
    }

    /// As [`BundleStore::load_current`] for the bundle kept for rollback.
    ///
    /// # Errors
    /// As [`BundleStore::load_current`].
    pub fn load_previous(
        &self,
        keys: &TrustedKeys,
        backbone: &Backbone,
        limits: &BundleLimits,
    ) -> OtaResult<Option<VerifiedBundle>> {
        self.load(self.state.previous.as_ref(), keys, backbone, limits)
    }

    fn load(
        &self,
        slot: Option<&Slot>,
        keys: &TrustedKeys,
        backbone: &Backbone,
        limits: &BundleLimits,
    ) -> OtaResult<Option<VerifiedBundle>> {
        slot.map(|s| self.load_slot(s, keys, backbone, limits))
            .transpose()
    }

    fn load_slot(
        &self,
        slot: &Slot,
        keys: &TrustedKeys,
        backbone: &Backbone,
        limits: &BundleLimits,
    ) -> OtaResult<VerifiedBundle> {
        let dir = self.root.join("bundles").join(&slot.dir);
        let read = |name: &str| {
            let path = dir.join(name);
            self.disk
                .read(&path)
                .map_err(|e| OtaError::io("read", path, e))
        };
        let manifest_bytes = read(MANIFEST_FILE)?;
        let signatures = decode_signatures(&read(SIGNATURE_FILE)?)?;
        // The manifest must be verified before its file names are trusted to
        // build paths; verify_parts re-checks everything with the files.
        keys.verify(&manifest_bytes, &signatures)?;
        let manifest = Manifest::parse(&manifest_bytes)?;
        let mut contents = Vec::with_capacity(manifest.patches.len());
        for p in &manifest.patches {
            contents.push((p.file.as_str(), read(&p.file)?));
        }
        let files: Vec<(&str, &[u8])> = contents.iter().map(|(n, b)| (*n, b.as_slice())).collect();
        let bundle = verify_parts(&manifest_bytes, &signatures, &files, keys, backbone, limits)?;
        if bundle.manifest.version != slot.version {
            return Err(OtaError::StoreCorrupt {
                path: dir,
                detail: format!(
                    "holds version {}, the state says {}",
                    bundle.manifest.version, slot.version
                ),
            });
        }
        Ok(bundle)
    }

    /// Installs a verified bundle: stage, fsync, rename into place, switch the
    /// state file. The old current bundle becomes the previous one.
    ///
    /// # Errors
    /// [`OtaError::Io`] (a full disk, a crash); the state is then unchanged.
    pub fn commit(&mut self, bundle: &VerifiedBundle) -> OtaResult<()> {
        let dir_name = format!(
            "b{:06}-v{}",
            self.state.next_sequence, bundle.manifest.version
        );
        let result = self.stage_and_switch(bundle, &dir_name);
        if result.is_err() && self.state.current.as_ref().map(|s| &s.dir) != Some(&dir_name) {
            // Best effort; the next open removes whatever is left.
            self.collect_garbage();
        }
        result
    }

    fn stage_and_switch(&mut self, bundle: &VerifiedBundle, dir_name: &str) -> OtaResult<()> {
        let m = &bundle.manifest;
        let staging = self.root.join("staging").join(dir_name);
        let disk = &*self.disk;
        if disk.exists(&staging) {
            disk.remove_dir_all(&staging)
                .map_err(|e| OtaError::io("remove", &staging, e))?;
        }
        disk.create_dir_all(&staging)
            .map_err(|e| OtaError::io("create directory", &staging, e))?;
        let write = |name: &str, bytes: &[u8]| {
            let path = staging.join(name);
            disk.write_synced(&path, bytes)
                .map_err(|e| OtaError::io("write", path, e))
        };
        for p in &bundle.patches {
            write(&p.entry.file, &p.bytes)?;
        }
        write(SIGNATURE_FILE, &encode_signatures(&bundle.signatures))?;
        write(MANIFEST_FILE, &bundle.manifest_bytes)?;
        self.sync(&staging)?;
        let installed = self.root.join("bundles").join(dir_name);
        disk.rename(&staging, &installed)
            .map_err(|e| OtaError::io("rename", &staging, e))?;
        self.sync(&self.root.join("bundles"))?;

        let next = StoreState {
            format: STATE_FORMAT.into(),
            name: Some(m.name.clone()),
            current: Some(Slot {
                dir: dir_name.to_string(),
                version: m.version,
            }),
            previous: self.state.current.clone(),
            highest_version: self.state.highest_version.max(m.version),
            next_sequence: self.state.next_sequence + 1,
        };
        self.write_state(next)?;
        self.collect_garbage();
        Ok(())
    }

    /// Makes the previous bundle current again and deletes the one rolled
    /// back from. The replay floor stays: the bad version cannot come back.
    ///
    /// # Errors
    /// [`OtaError::NoPrevious`]; [`OtaError::Io`].
    pub fn rollback(&mut self) -> OtaResult<()> {
        let Some(previous) = self.state.previous.clone() else {
            return Err(OtaError::NoPrevious);
        };
        let next = StoreState {
            current: Some(previous),
            previous: None,
            ..self.state.clone()
        };
        self.write_state(next)?;
        self.collect_garbage();
        Ok(())
    }

    /// Replaces `state.json` atomically; `self.state` changes only once the
    /// rename has happened (the commit point).
    fn write_state(&mut self, next: StoreState) -> OtaResult<()> {
        let tmp = self.root.join(STATE_TMP);
        let path = self.root.join(STATE_FILE);
        // Serialising plain strings and integers cannot fail.
        let bytes = serde_json::to_vec_pretty(&next).unwrap_or_default();
        self.disk
            .write_synced(&tmp, &bytes)
            .map_err(|e| OtaError::io("write", &tmp, e))?;
        self.disk
            .rename(&tmp, &path)
            .map_err(|e| OtaError::io("rename", &tmp, e))?;
        self.state = next;
        // The rename is the commit: a restart now sees the new state unless
        // power fails before the directory entry reaches the disk, which
        // would leave the old state, also whole. Reporting failure here would
        // make the caller undo an install that has happened.
        if let Err(e) = self.sync(&self.root) {
            log::warn!("patchrt: bundle state switched, but {e}");
        }
        Ok(())
    }

    fn sync(&self, dir: &Path) -> OtaResult<()> {
        self.disk
            .sync_dir(dir)
            .map_err(|e| OtaError::io("fsync directory", dir, e))
    }

    /// Best effort: what is not removed now is removed at the next open.
    fn collect_garbage(&self) {
        let disk = &*self.disk;
        let tmp = self.root.join(STATE_TMP);
        if disk.exists(&tmp) {
            let _ = disk.remove_file(&tmp);
        }
        let staging = self.root.join("staging");
        for name in disk.list_dir(&staging).unwrap_or_default() {
            let _ = disk.remove_dir_all(&staging.join(name));
        }
        let keep: Vec<&str> = [&self.state.current, &self.state.previous]
            .into_iter()
            .flatten()
            .map(|s| s.dir.as_str())
            .collect();
        let bundles = self.root.join("bundles");
        for name in disk.list_dir(&bundles).unwrap_or_default() {
            if !keep.contains(&name.as_str()) {
                log::info!("patchrt: removing unreferenced bundle directory {name}");
                let _ = disk.remove_dir_all(&bundles.join(name));
            }
        }
    }
}

fn parse_state(bytes: &[u8]) -> Result<StoreState, String> {
    let state: StoreState = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    if state.format != STATE_FORMAT {
        return Err(format!(
            "format {:?}, expected {STATE_FORMAT:?}",
            state.format
        ));
    }
    for slot in [&state.current, &state.previous].into_iter().flatten() {
        // A state file edited to point outside bundles/ must not be followed.
        super::manifest::check_file_name(&slot.dir).map_err(|e| e.to_string())?;
    }
    Ok(state)
}

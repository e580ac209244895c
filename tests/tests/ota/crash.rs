//! Crashes and a full disk at every step of an install or a rollback.
//!
//! [`FaultyDisk`] performs real file-system operations until its budget of
//! mutations or bytes runs out; the operation that hits the budget fails
//! half-done (a torn write) and every later one fails too, as if the process
//! had died there. The store is then reopened on the real file system, as a
//! restarted app would, and must hold wholly the old bundle or wholly the new
//! one, with an engine that classifies exactly as the bundle's patches do.

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use patchrt::ota::disk::{Disk, OsDisk};
use patchrt::ota::{OtaError, Updater, UpdaterOptions};

use super::{
    bundle, bundle_of, classify, direct, engine, patch, pinned, retrained, signer, tempdir,
};

/// A file system that dies after `ops` mutations or `bytes` written.
struct FaultyDisk {
    ops_left: AtomicUsize,
    bytes_left: AtomicU64,
    full_is_fatal: bool,
    dead: AtomicBool,
    mutations: AtomicUsize,
}

impl FaultyDisk {
    fn crash_after(ops: usize) -> FaultyDisk {
        FaultyDisk {
            ops_left: AtomicUsize::new(ops),
            bytes_left: AtomicU64::new(u64::MAX),
            full_is_fatal: true,
            dead: AtomicBool::new(false),
            mutations: AtomicUsize::new(0),
        }
    }

    fn full_after(bytes: u64) -> FaultyDisk {
        FaultyDisk {
            ops_left: AtomicUsize::new(usize::MAX),
            bytes_left: AtomicU64::new(bytes),
            full_is_fatal: false,
            dead: AtomicBool::new(false),
            mutations: AtomicUsize::new(0),
        }
    }

    /// Whether this mutation may run; the one that exhausts the budget kills the process.
    fn step(&self) -> io::Result<()> {
        if self.dead.load(Ordering::SeqCst) {
            return Err(io::Error::other("simulated crash: process is dead"));
        }
        self.mutations.fetch_add(1, Ordering::SeqCst);
        if self.ops_left.load(Ordering::SeqCst) == 0 {
            self.dead.store(true, Ordering::SeqCst);
            return Err(io::Error::other("simulated crash"));
        }
        self.ops_left.fetch_sub(1, Ordering::SeqCst);
        Ok(())
    }
}

impl Disk for FaultyDisk {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        OsDisk.read(path)
    }

    fn write_synced(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        if let Err(e) = self.step() {
            if !self.dead.load(Ordering::SeqCst) || self.mutations.load(Ordering::SeqCst) > 0 {
                // The crash tears the write: half the bytes reach the file.
                let _ = std::fs::write(path, &bytes[..bytes.len() / 2]);
            }
            return Err(e);
        }
        let left = self.bytes_left.load(Ordering::SeqCst);
        if bytes.len() as u64 > left {
            let _ = std::fs::write(path, &bytes[..left as usize]);
            self.bytes_left.store(0, Ordering::SeqCst);
            if self.full_is_fatal {
                self.dead.store(true, Ordering::SeqCst);
            }
            return Err(io::Error::new(
                io::ErrorKind::StorageFull,
                "simulated full disk",
            ));
        }
        self.bytes_left
            .fetch_sub(bytes.len() as u64, Ordering::SeqCst);
        OsDisk.write_synced(path, bytes)
    }

    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        self.step()?;
        OsDisk.create_dir_all(path)
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        self.step()?;
        OsDisk.sync_dir(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.step()?;
        OsDisk.rename(from, to)
    }

    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        self.step()?;
        OsDisk.remove_dir_all(path)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.step()?;
        OsDisk.remove_file(path)
    }

    fn list_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        OsDisk.list_dir(path)
    }

    fn exists(&self, path: &Path) -> bool {
        OsDisk.exists(path)
    }
}

/// A store at `root` with v1 installed (through the real file system).
fn with_v1(root: &Path) {
    let Some(engine) = engine() else { return };
    let u = Updater::open(engine, root, pinned(1), UpdaterOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    u.install(&bundle(1)).unwrap_or_else(|e| panic!("{e}"));
}

/// Reopens `root` as a restarted app would and checks that it holds exactly
/// one whole bundle, v1 or `new_version`, whose patches classify as loaded
/// directly. Returns the version found.
fn restart_and_check(root: &Path, new_version: u64, new: &patchrt::Patch) -> u64 {
    let Some(engine) = engine() else { return 0 };
    let u = Updater::open(engine.clone(), root, pinned(1), UpdaterOptions::default())
        .unwrap_or_else(|e| panic!("reopening after a crash: {e}"));
    assert!(u.recovered_from().is_none(), "{:?}", u.recovered_from());
    let version = u.installed_version();
    let expected: Vec<&patchrt::Patch> = if version == 1 {
        vec![patch("objects@96"), patch("flowers@96")]
    } else {
        assert_eq!(version, new_version);
        vec![new]
    };
    let ids: Vec<String> = u.patches().into_iter().map(|p| p.id).collect();
    assert_eq!(
        ids,
        expected.iter().map(|p| p.id.clone()).collect::<Vec<_>>()
    );
    for p in expected {
        let id = u.engine_id(&p.id).unwrap_or_default();
        assert_eq!(classify(&engine, &id), direct(p), "v{version} {}", p.id);
    }
    // Recovery left no staging debris and no unreferenced bundle directory.
    let count = |d: &str| {
        std::fs::read_dir(root.join(d))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    assert_eq!(count("staging"), 0);
    let referenced = 1 + usize::from(u.previous_version().is_some());
    assert_eq!(count("bundles"), referenced);
    assert!(!root.join("state.json.tmp").exists());
    version
}

#[test]
fn a_crash_at_every_step_of_an_install_leaves_old_or_new() {
    if engine().is_none() {
        return;
    }
    let v2 = retrained("objects@96");
    let bytes = bundle_of("acme-vision", 2, &[&v2], &[&signer(1)]);
    // How many mutations a clean install makes.
    let clean = {
        let root = tempdir("crash-count");
        with_v1(&root);
        let disk = Arc::new(FaultyDisk::crash_after(usize::MAX));
        let Some(engine) = engine() else { return };
        let u = Updater::open_with_disk(
            engine,
            &root,
            disk.clone(),
            pinned(1),
            UpdaterOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let opened = disk.mutations.load(Ordering::SeqCst);
        u.install(&bytes).unwrap_or_else(|e| panic!("{e}"));
        let _ = std::fs::remove_dir_all(&root);
        disk.mutations.load(Ordering::SeqCst) - opened
    };
    assert!(
        clean >= 8,
        "an install should take several steps, took {clean}"
    );
    let mut seen_new = false;
    for crash_at in 0..=clean {
        let root = tempdir(&format!("crash-{crash_at}"));
        with_v1(&root);
        let Some(engine) = engine() else { return };
        let disk = Arc::new(FaultyDisk::crash_after(usize::MAX));
        let u = Updater::open_with_disk(
            engine,
            &root,
            disk.clone(),
            pinned(1),
            UpdaterOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        disk.ops_left.store(crash_at, Ordering::SeqCst);
        let result = u.install(&bytes);
        if crash_at < clean {
            assert!(
                disk.dead.load(Ordering::SeqCst),
                "no crash at step {crash_at}"
            );
        }
        drop(u);
        let version = restart_and_check(&root, 2, &v2);
        // Once the commit point is passed every later crash keeps the new bundle.
        if seen_new {
            assert_eq!(version, 2, "crash at step {crash_at} went back to v1");
        }
        seen_new |= version == 2;
        if version == 1 {
            assert!(
                result.is_err(),
                "crash at step {crash_at}: Ok but v1 on disk"
            );
        }
        let _ = std::fs::remove_dir_all(&root);
    }
    assert!(seen_new, "no crash point kept the new bundle");
}

#[test]
fn a_crash_at_every_step_of_a_rollback_leaves_one_whole_bundle() {
    if engine().is_none() {
        return;
    }
    let v2 = retrained("objects@96");
    let bytes = bundle_of("acme-vision", 2, &[&v2], &[&signer(1)]);
    for crash_at in 0..6 {
        let root = tempdir(&format!("rollback-crash-{crash_at}"));
        with_v1(&root);
        {
            let Some(engine) = engine() else { return };
            let u = Updater::open(engine, &root, pinned(1), UpdaterOptions::default())
                .unwrap_or_else(|e| panic!("{e}"));
            u.install(&bytes).unwrap_or_else(|e| panic!("{e}"));
        }
        let Some(engine) = engine() else { return };
        let disk = Arc::new(FaultyDisk::crash_after(usize::MAX));
        let u = Updater::open_with_disk(
            engine,
            &root,
            disk.clone(),
            pinned(1),
            UpdaterOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        disk.ops_left.store(crash_at, Ordering::SeqCst);
        let result = u.rollback();
        drop(u);
        let version = restart_and_check(&root, 2, &v2);
        if result.is_ok() {
            assert_eq!(version, 1);
        }
        let _ = std::fs::remove_dir_all(&root);
    }
}

#[test]
fn a_full_disk_during_staging_changes_nothing() {
    let Some(engine) = engine() else { return };
    let v2 = retrained("objects@96");
    let bytes = bundle_of("acme-vision", 2, &[&v2], &[&signer(1)]);
    for budget in [0u64, 1000, 100_000] {
        let root = tempdir(&format!("full-{budget}"));
        with_v1(&root);
        let disk = Arc::new(FaultyDisk::full_after(u64::MAX));
        let u = Updater::open_with_disk(
            engine.clone(),
            &root,
            disk.clone(),
            pinned(1),
            UpdaterOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let resident_before: Vec<String> = engine.patches().into_iter().map(|p| p.id).collect();
        let id = u.engine_id("objects@96").unwrap_or_default();
        let before = classify(&engine, &id);
        disk.bytes_left.store(budget, Ordering::SeqCst);
        match u.install(&bytes) {
            Err(OtaError::Io { source, .. }) => {
                assert_eq!(source.kind(), std::io::ErrorKind::StorageFull)
            }
            other => panic!("budget {budget}: expected a full-disk error, got {other:?}"),
        }
        // Same bundle, same resident patches, same outputs, staging cleaned.
        assert_eq!(u.installed_version(), 1);
        let resident: Vec<String> = engine.patches().into_iter().map(|p| p.id).collect();
        assert_eq!(resident, resident_before);
        assert_eq!(classify(&engine, &id), before);
        let staged = std::fs::read_dir(root.join("staging"))
            .map(|d| d.count())
            .unwrap_or(0);
        assert_eq!(staged, 0);
        // Space comes back: the same bundle installs.
        disk.bytes_left.store(u64::MAX, Ordering::SeqCst);
        u.install(&bytes).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(u.installed_version(), 2);
        drop(u);
        for p in engine.patches() {
            if p.id != "default" && p.id != engine.active_patch() {
                let _ = engine.unload_patch(&p.id);
            }
        }
        let _ = std::fs::remove_dir_all(&root);
    }
}

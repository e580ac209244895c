//! Install, update, rollback and restart on a real engine.

use patchrt::ota::{OtaError, Updater, UpdaterOptions};

use super::{
    bundle, bundle_of, classify, classify_active, direct, engine, patch, pinned, retrained, signer,
    tempdir,
};

fn open(engine: &std::sync::Arc<patchrt::Engine>, root: &std::path::Path) -> Updater {
    Updater::open(engine.clone(), root, pinned(1), UpdaterOptions::default())
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn installed_patches_classify_like_directly_loaded_ones() {
    let Some(engine) = engine() else { return };
    let root = tempdir("install");
    let updater = open(&engine, &root);
    assert_eq!(updater.installed_version(), 0);
    assert!(updater.installed().is_none());
    let installed = updater
        .install(&bundle(1))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(installed.version, 1);
    assert_eq!(installed.key_id, signer(1).public().id().to_string());
    assert_eq!(
        updater.engine_id("objects@96").as_deref(),
        Some("objects@96@v1")
    );
    for id in ["objects@96", "flowers@96"] {
        let engine_id = updater.engine_id(id).unwrap_or_default();
        assert_eq!(classify(&engine, &engine_id), direct(patch(id)), "{id}");
    }
    // Task lookup finds the bundle's patch.
    assert_eq!(
        engine
            .patch_for_task("flowers", patchrt::Resolution(96))
            .ok()
            .as_deref(),
        Some("flowers@96@v1")
    );
    // A restart (new engine, same directory) loads the same bundle.
    let Some(engine2) = super::engine() else {
        return;
    };
    let again = open(&engine2, &root);
    assert_eq!(again.installed(), Some(installed));
    assert!(again.recovered_from().is_none());
    let id = again.engine_id("flowers@96").unwrap_or_default();
    assert_eq!(classify(&engine2, &id), direct(patch("flowers@96")));
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn the_active_patch_survives_an_update_until_the_app_switches() {
    let Some(engine) = engine() else { return };
    let root = tempdir("update");
    let updater = open(&engine, &root);
    updater
        .install(&bundle(1))
        .unwrap_or_else(|e| panic!("{e}"));
    let before = classify(&engine, "objects@96@v1");

    let v2 = retrained("objects@96");
    updater
        .install(&bundle_of("acme-vision", 2, &[&v2], &[&signer(1)]))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(updater.installed_version(), 2);
    assert_eq!(updater.previous_version(), Some(1));
    // Still active, still resident, still the same outputs.
    assert_eq!(engine.active_patch(), "objects@96@v1");
    assert_eq!(classify_active(&engine), before);
    // v1's other patch is gone; v2's is there and differs.
    let resident: Vec<String> = engine.patches().into_iter().map(|p| p.id).collect();
    assert!(
        !resident.contains(&"flowers@96@v1".to_string()),
        "{resident:?}"
    );
    let new_id = updater.engine_id("objects@96").unwrap_or_default();
    assert_eq!(new_id, "objects@96@v2");
    let after = classify(&engine, &new_id);
    assert_ne!(after, before);
    assert_eq!(after, direct(&v2));
    // Now that the app switched, the retired patch can go.
    assert_eq!(updater.collect_retired(), vec!["objects@96@v1".to_string()]);
    assert!(!engine.patches().iter().any(|p| p.id == "objects@96@v1"));
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn rollback_restores_the_previous_bundle_and_keeps_the_replay_floor() {
    let Some(engine) = engine() else { return };
    let root = tempdir("rollback");
    let updater = open(&engine, &root);
    assert!(matches!(updater.rollback(), Err(OtaError::NoPrevious)));
    updater
        .install(&bundle(1))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(updater.rollback(), Err(OtaError::NoPrevious)));
    let v2 = retrained("objects@96");
    updater
        .install(&bundle_of("acme-vision", 2, &[&v2], &[&signer(1)]))
        .unwrap_or_else(|e| panic!("{e}"));
    // The app uses v2, then rolls back while it is active.
    classify(&engine, "objects@96@v2");
    let restored = updater.rollback().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(restored.version, 1);
    assert_eq!(updater.installed_version(), 1);
    assert_eq!(updater.previous_version(), None);
    assert_eq!(engine.active_patch(), "objects@96@v2");
    for id in ["objects@96", "flowers@96"] {
        let engine_id = updater.engine_id(id).unwrap_or_default();
        assert_eq!(engine_id, format!("{id}@v1"));
        assert_eq!(classify(&engine, &engine_id), direct(patch(id)), "{id}");
    }
    assert_eq!(updater.collect_retired(), vec!["objects@96@v2".to_string()]);
    // The rolled-back version cannot be replayed; a new release installs.
    assert!(matches!(
        updater.install(&bundle_of("acme-vision", 2, &[&v2], &[&signer(1)])),
        Err(OtaError::NotNewer {
            offered: 2,
            floor: 2,
            ..
        })
    ));
    updater
        .install(&bundle(3))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(updater.previous_version(), Some(1));
    // Only the two referenced bundle directories remain on disk.
    let dirs = std::fs::read_dir(root.join("bundles"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(dirs, 2);
    // And a restart sees v3 with v1 kept.
    let Some(engine2) = super::engine() else {
        return;
    };
    let again = open(&engine2, &root);
    assert_eq!(again.installed_version(), 3);
    assert_eq!(again.previous_version(), Some(1));
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn downgrade_needs_explicit_permission() {
    let Some(engine) = engine() else { return };
    let root = tempdir("downgrade");
    let updater = open(&engine, &root);
    updater
        .install(&bundle(5))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        updater.install(&bundle(4)),
        Err(OtaError::NotNewer {
            offered: 4,
            floor: 5,
            ..
        })
    ));
    drop(updater);
    let allowing = Updater::open(
        engine.clone(),
        &root,
        pinned(1),
        UpdaterOptions {
            allow_downgrade: true,
            ..UpdaterOptions::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // Reopening on the same engine keeps v5's patches resident under new ids.
    assert_eq!(allowing.installed_version(), 5);
    allowing
        .install(&bundle(4))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(allowing.installed_version(), 4);
    let id = allowing.engine_id("flowers@96").unwrap_or_default();
    assert_eq!(classify(&engine, &id), direct(patch("flowers@96")));
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn files_changed_on_disk_after_install_are_never_used() {
    let Some(engine) = engine() else { return };
    let root = tempdir("on-disk-tamper");
    let updater = open(&engine, &root);
    updater
        .install(&bundle(1))
        .unwrap_or_else(|e| panic!("{e}"));
    let v2 = retrained("objects@96");
    updater
        .install(&bundle_of("acme-vision", 2, &[&v2], &[&signer(1)]))
        .unwrap_or_else(|e| panic!("{e}"));
    drop(updater);
    // Flip one byte of v2's patch file in place.
    let current = std::fs::read_dir(root.join("bundles"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with("-v2"))
        .unwrap_or_else(|| panic!("no v2 directory"));
    let file = current.join("objects-96.safetensors");
    let mut bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{e}"));
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    std::fs::write(&file, bytes).unwrap_or_else(|e| panic!("{e}"));

    let Some(engine2) = super::engine() else {
        return;
    };
    let again = open(&engine2, &root);
    assert!(
        again
            .recovered_from()
            .is_some_and(|r| r.contains("SHA-256")),
        "{:?}",
        again.recovered_from()
    );
    assert_eq!(again.installed_version(), 1);
    let id = again.engine_id("objects@96").unwrap_or_default();
    assert_eq!(classify(&engine2, &id), direct(patch("objects@96")));
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn bundles_fetched_over_loopback_http_install_and_corrupt_ones_do_not() {
    use patchrt::ota::download::{DownloadOptions, download};
    use patchrt_tests::http_server::{Mode, serve};
    use std::time::Duration;

    let Some(engine) = engine() else { return };
    let root = tempdir("http");
    let updater = open(&engine, &root);
    let options = DownloadOptions {
        idle_timeout: Duration::from_secs(5),
        ..DownloadOptions::default()
    };
    let partial = root.join("download.part");

    // A download cut twice resumes and installs.
    let v1 = bundle(1);
    let server = serve(
        v1.clone(),
        Mode::Truncated {
            after: v1.len() / 3,
            connections: 2,
        },
    );
    let bytes = download(&server.url(), &partial, &options).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        server.ranges().iter().flatten().count() >= 2,
        "{:?}",
        server.ranges()
    );
    updater.install(&bytes).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(updater.installed_version(), 1);

    // Corrupt in a patch file, in the manifest, in the signature: refused,
    // each with the error of what was hit; v1 stays.
    let v2 = bundle(2);
    let manifest_at = 12 + 40;
    let signature_at = v2
        .windows(2)
        .position(|w| w == b"\n}")
        .map_or(0, |p| p + 2 + 1 + 8 + 3);
    for (at, what) in [
        (v2.len() - 500, "patch"),
        (manifest_at, "manifest"),
        (signature_at, "signature"),
    ] {
        let server = serve(v2.clone(), Mode::Corrupt { at });
        let bytes = download(&server.url(), &partial, &options).unwrap_or_else(|e| panic!("{e}"));
        match updater.install(&bytes) {
            Err(OtaError::FileHash { .. }) if what == "patch" => {}
            Err(OtaError::BadSignature { .. }) if what != "patch" => {}
            other => panic!("corrupt {what} byte: {other:?}"),
        }
        assert_eq!(updater.installed_version(), 1);
    }
    let _ = std::fs::remove_dir_all(&root);
}

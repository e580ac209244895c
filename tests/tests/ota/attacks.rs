//! Every bundle an attacker or a broken network could deliver, each refused
//! with its own typed error; on an engine with a bundle installed, nothing
//! changes: installed version, resident and active patches, outputs, files.

use patchrt::Error;
use patchrt::model::{BackboneId, LayerNorm};
use patchrt::ota::manifest::RuntimeVersion;
use patchrt::ota::{BundleLimits, OtaError, Updater, UpdaterOptions, verify_bundle};

use super::{
    backbone, bundle, bundle_of, classify_active, craft, craft_raw, engine, parts, patch,
    patch_file, pinned, signer, tempdir, view,
};

type Check = fn(&OtaError) -> bool;

/// (name, bundle bytes, the error it must produce).
fn attacks() -> Vec<(&'static str, Vec<u8>, Check)> {
    let good = bundle(2);
    let (manifest, files) = parts(2);
    let json = manifest.to_json();
    let k1 = signer(1);
    let mut out: Vec<(&'static str, Vec<u8>, Check)> = Vec::new();

    let mut bad_sig = good.clone();
    // The signature follows magic, length, manifest and the count byte.
    let sig_at = 8 + 4 + json.len() + 1 + 8;
    bad_sig[sig_at + 5] ^= 0x01;
    out.push(("bad signature", bad_sig, |e| {
        matches!(e, OtaError::BadSignature { .. })
    }));

    out.push((
        "signed by an unknown key",
        bundle_of("acme-vision", 2, &[patch("objects@96")], &[&signer(9)]),
        |e| matches!(e, OtaError::UnknownKey { .. }),
    ));

    let mut tampered = good.clone();
    let text = String::from_utf8_lossy(&json).into_owned();
    let edited = text.replacen("\"version\": 2", "\"version\": 9", 1);
    assert_ne!(edited, text);
    tampered.splice(12..12 + json.len(), edited.bytes());
    out.push(("tampered manifest (version 2 -> 9)", tampered, |e| {
        matches!(e, OtaError::BadSignature { .. })
    }));

    let mut flipped = files.clone();
    let mid = flipped[0].1.len() / 2;
    flipped[0].1[mid] ^= 0x40;
    out.push((
        "tampered patch file",
        craft_raw(&json, &view(&flipped), &[&k1]),
        |e| matches!(e, OtaError::FileHash { .. }),
    ));

    let mut truncated = files.clone();
    let len = truncated[1].1.len();
    truncated[1].1.truncate(len - 100);
    out.push((
        "truncated patch file",
        craft_raw(&json, &view(&truncated), &[&k1]),
        |e| matches!(e, OtaError::FileSize { .. }),
    ));

    let mut wrong_hash = manifest.clone();
    wrong_hash.patches[0].sha256 = "0".repeat(64);
    out.push((
        "manifest hash does not match the file",
        craft(&wrong_hash, &view(&files), &[&k1]),
        |e| matches!(e, OtaError::FileHash { .. }),
    ));

    let mut foreign = patch("objects@96").clone();
    foreign.backbone = BackboneId([0x5a; 32]);
    let foreign_bytes = patch_file(&foreign);
    let mut m = manifest.clone();
    m.patches[0].size = foreign_bytes.len() as u64;
    m.patches[0].sha256 = patchrt::ota::verify::sha256_hex(&foreign_bytes);
    let mut f = files.clone();
    f[0].1 = foreign_bytes;
    out.push((
        "patch file made for another backbone",
        craft(&m, &view(&f), &[&k1]),
        |e| {
            matches!(
                e,
                OtaError::Patch {
                    source: Error::PatchBackboneMismatch { .. },
                    ..
                }
            )
        },
    ));

    let mut other = manifest.clone();
    other.backbone_sha256 = "ab".repeat(32);
    out.push((
        "bundle for another backbone",
        craft(&other, &view(&files), &[&k1]),
        |e| matches!(e, OtaError::BackboneMismatch { .. }),
    ));

    let mut nan = patch("objects@96").clone();
    if let Some(LayerNorm::Batch { gamma, .. } | LayerNorm::Folded { scale: gamma, .. }) =
        nan.norms.get_mut(3)
    {
        gamma[0] = f32::NAN;
    }
    let nan_bytes = patch_file(&nan);
    let mut m = manifest.clone();
    m.patches[0].size = nan_bytes.len() as u64;
    m.patches[0].sha256 = patchrt::ota::verify::sha256_hex(&nan_bytes);
    let mut f = files.clone();
    f[0].1 = nan_bytes;
    out.push(("patch with NaN", craft(&m, &view(&f), &[&k1]), |e| {
        matches!(
            e,
            OtaError::Patch {
                source: Error::NonFinite { .. },
                ..
            }
        )
    }));

    let mut huge = manifest.clone();
    huge.patches[0].size = 40 << 20;
    out.push((
        "manifest announces an oversized file",
        craft(&huge, &view(&files), &[&k1]),
        |e| matches!(e, OtaError::TooLarge { .. }),
    ));

    out.push((
        "signed but malformed JSON",
        craft_raw(b"{\"format\": \"patchrt.bundle\",", &view(&files), &[&k1]),
        |e| matches!(e, OtaError::Manifest { field, .. } if field == "json"),
    ));

    let mut traversal = manifest.clone();
    traversal.patches[0].file = "../../evil.safetensors".into();
    let mut f = files.clone();
    f[0].0 = "../../evil.safetensors".into();
    out.push((
        "path traversal in a file name",
        craft(&traversal, &view(&f), &[&k1]),
        |e| matches!(e, OtaError::UnsafeFileName { .. }),
    ));

    out.push((
        "file listed but missing",
        craft_raw(&json, &view(&files[..1]), &[&k1]),
        |e| matches!(e, OtaError::FileList { .. }),
    ));

    let mut extra = files.clone();
    extra.push(("extra.bin".into(), vec![1, 2, 3]));
    out.push((
        "file not in the manifest",
        craft_raw(&json, &view(&extra), &[&k1]),
        |e| matches!(e, OtaError::FileList { .. }),
    ));

    let mut twice = files.clone();
    twice.push(files[0].clone());
    out.push((
        "file twice in the container",
        craft_raw(&json, &view(&twice), &[&k1]),
        |e| matches!(e, OtaError::FileList { .. }),
    ));

    let mut renamed = manifest.clone();
    renamed.patches[0].id = "objects@128".into();
    out.push((
        "manifest id differs from the patch file's",
        craft(&renamed, &view(&files), &[&k1]),
        |e| matches!(e, OtaError::PatchMismatch { field: "id", .. }),
    ));

    let mut future = manifest.clone();
    let now = RuntimeVersion::current();
    future.min_runtime_version = format!("{}.0.0", now.0 + 1);
    out.push((
        "needs a newer runtime",
        craft(&future, &view(&files), &[&k1]),
        |e| matches!(e, OtaError::RuntimeTooOld { .. }),
    ));

    out.push(
        ("download cut short", good[..good.len() / 3].to_vec(), |e| {
            matches!(e, OtaError::Container { .. })
        }),
    );
    out.push(("empty bytes", Vec::new(), |e| {
        matches!(e, OtaError::Container { .. })
    }));
    out.push((
        "not a bundle (a patch file)",
        patch_file(patch("objects@96")),
        |e| matches!(e, OtaError::Container { .. }),
    ));
    out
}

#[test]
fn each_attack_is_refused_with_its_error() {
    for (name, bytes, check) in attacks() {
        match verify_bundle(&bytes, &pinned(1), backbone(), &BundleLimits::default()) {
            Err(e) => assert!(check(&e), "{name}: wrong error: {e}"),
            Ok(_) => panic!("{name}: accepted"),
        }
    }
    assert!(verify_bundle(&bundle(2), &pinned(1), backbone(), &BundleLimits::default()).is_ok());
}

/// Everything observable about an installed state.
#[derive(Debug, PartialEq)]
struct Snapshot {
    version: u64,
    active: String,
    resident: Vec<String>,
    probabilities: Vec<f32>,
    files: Vec<String>,
}

fn snapshot(updater: &Updater, engine: &patchrt::Engine, root: &std::path::Path) -> Snapshot {
    let mut files = Vec::new();
    for sub in ["bundles", "staging"] {
        for e in std::fs::read_dir(root.join(sub))
            .into_iter()
            .flatten()
            .flatten()
        {
            files.push(format!("{sub}/{}", e.file_name().to_string_lossy()));
        }
    }
    files.sort();
    Snapshot {
        version: updater.installed_version(),
        active: engine.active_patch(),
        resident: engine.patches().into_iter().map(|p| p.id).collect(),
        probabilities: classify_active(engine),
        files,
    }
}

#[test]
fn refused_bundles_change_nothing_on_a_running_engine() {
    let Some(engine) = engine() else { return };
    let root = tempdir("attacks");
    let updater = Updater::open(engine.clone(), &root, pinned(1), UpdaterOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    updater
        .install(&bundle(2))
        .unwrap_or_else(|e| panic!("{e}"));
    let id = updater.engine_id("flowers@96").unwrap_or_default();
    engine.activate(&id).unwrap_or_else(|e| panic!("{e}"));
    let before = snapshot(&updater, &engine, &root);
    assert_eq!(before.version, 2);

    let mut all = attacks();
    all.push(("replay of an older version", bundle(1), |e| {
        matches!(
            e,
            OtaError::NotNewer {
                offered: 1,
                floor: 2,
                ..
            }
        )
    }));
    all.push(("replay of the same version", bundle(2), |e| {
        matches!(e, OtaError::NotNewer { offered: 2, .. })
    }));
    all.push((
        "another bundle name",
        bundle_of("other-app", 5, &[patch("objects@96")], &[&signer(1)]),
        |e| matches!(e, OtaError::WrongBundleName { .. }),
    ));
    for (name, bytes, check) in all {
        match updater.install(&bytes) {
            Err(e) => assert!(check(&e), "{name}: wrong error: {e}"),
            Ok(_) => panic!("{name}: installed"),
        }
        assert_eq!(
            snapshot(&updater, &engine, &root),
            before,
            "{name} changed state"
        );
    }

    // A file over the limit is refused from its size, before it is read.
    let small = Updater::open(
        engine.clone(),
        tempdir("attacks-small"),
        pinned(1),
        UpdaterOptions {
            limits: BundleLimits {
                max_total_bytes: 1 << 10,
                max_manifest_bytes: 1 << 10,
                max_file_bytes: 1 << 10,
            },
            ..UpdaterOptions::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let path = root.join("big.bundle");
    std::fs::write(&path, bundle(3)).unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        small.install_file(&path),
        Err(OtaError::TooLarge { .. })
    ));
    assert_eq!(snapshot(&updater, &engine, &root), before);
    let _ = std::fs::remove_dir_all(&root);
}

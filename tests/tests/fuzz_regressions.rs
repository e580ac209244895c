//! The fuzz corpus on stable: every seed in `runtime/fuzz/seeds/<target>/`
//! and every minimised crash in `runtime/fuzz/regressions/<target>/` goes
//! through the same calls as the cargo-fuzz target of that name
//! (`runtime/fuzz/src/lib.rs`), and systematic corruptions of the seeds must
//! be refused with an error, never a panic. CPU only.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use patchrt::model::StoreAs;
use patchrt::ota::container::decode_signatures;
use patchrt::ota::verify::verify_parts;
use patchrt::ota::{BundleFile, BundleLimits, BundleSigner, Manifest, TrustedKeys, verify_bundle};
use patchrt::{Backbone, Error, FileKind, Patch};

/// The fuzz targets, by directory name.
const TARGETS: [&str; 4] = [
    "bundle_manifest",
    "bundle_container",
    "patch_file",
    "backbone_file",
];
/// Seeds are committed: each must stay small.
const MAX_SEED_BYTES: usize = 1 << 20;

fn fuzz_dir() -> PathBuf {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR"));
    tests.parent().unwrap_or(tests).join("runtime/fuzz")
}

/// Files of `runtime/fuzz/<kind>/<target>/`, sorted by name. A missing
/// directory is an empty list (a target may have no regressions); a
/// directory that names no target fails, so that nothing is left unreplayed.
fn corpus(kind: &str) -> Vec<(String, PathBuf, Vec<u8>)> {
    let root = fuzz_dir().join(kind);
    let Ok(dirs) = std::fs::read_dir(&root) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for dir in dirs {
        let dir = dir.expect("readable directory entry").path();
        let target = dir
            .file_name()
            .and_then(|n| n.to_str())
            .expect("UTF-8 directory name")
            .to_string();
        assert!(
            TARGETS.contains(&target.as_str()),
            "{} names no fuzz target (one of {TARGETS:?})",
            dir.display()
        );
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("readable directory entry").path())
            .collect();
        files.sort();
        for path in files {
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            out.push((target.clone(), path, bytes));
        }
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

fn seed(target: &str, name: &str) -> Vec<u8> {
    let path = fuzz_dir().join("seeds").join(target).join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The fuzz targets' fixed backbone: the committed backbone seed.
fn backbone() -> &'static Backbone {
    static BACKBONE: OnceLock<Backbone> = OnceLock::new();
    BACKBONE.get_or_init(|| {
        Backbone::from_bytes(&seed("backbone_file", "tiny-backbone.safetensors"))
            .unwrap_or_else(|e| panic!("the fuzz backbone does not parse: {e}"))
    })
}

/// The key the seed bundles are signed with (`SIGNER_SEED` of the fuzz crate).
fn signer() -> BundleSigner {
    BundleSigner::from_seed([7; 32])
}

fn keys() -> TrustedKeys {
    TrustedKeys::new(vec![signer().public()])
}

/// One input through the checks of fuzz target `target`. Panics where the
/// target would report a crash; otherwise returns the parser's verdict
/// (for `bundle_container`, that of `verify_bundle` on the bytes as received).
fn replay(target: &str, data: &[u8]) -> Result<(), String> {
    match target {
        "bundle_manifest" => {
            let manifest = Manifest::parse(data).map_err(|e| e.to_string())?;
            let again = Manifest::parse(&manifest.to_json())
                .unwrap_or_else(|e| panic!("re-serialised manifest refused: {e}"));
            assert_eq!(again, manifest, "manifest changed through to_json");
            Ok(())
        }
        "bundle_container" => {
            let _ = decode_signatures(data);
            let limits = BundleLimits::default();
            let file = BundleFile::parse(data, &limits).map_err(|e| e.to_string())?;
            assert!(
                file.to_bytes() == data,
                "a parsed container does not re-encode to the same bytes"
            );
            let verdict = verify_bundle(data, &keys(), backbone(), &limits)
                .map(|_| ())
                .map_err(|e| e.to_string());
            let signature = signer().sign(file.manifest);
            let _ = verify_parts(
                file.manifest,
                &[signature],
                &file.files,
                &keys(),
                backbone(),
                &limits,
            );
            verdict
        }
        "patch_file" => {
            let b = backbone();
            let patch = Patch::from_bytes(data, b).map_err(|e| e.to_string())?;
            let again = Patch::from_bytes(&patch.to_bytes(b, StoreAs::F32), b)
                .unwrap_or_else(|e| panic!("re-serialised patch refused: {e}"));
            assert_eq!(
                (&again.id, &again.task, again.resolution, again.kind),
                (&patch.id, &patch.task, patch.resolution, patch.kind)
            );
            assert_eq!(again.bn_epsilon.to_bits(), patch.bn_epsilon.to_bits());
            assert!(again.norms == patch.norms, "norms changed through to_bytes");
            assert!(again.depthwise == patch.depthwise, "depthwise changed");
            assert!(again.classifier == patch.classifier, "classifier changed");
            assert!(patch.scale_bias(b).is_ok(), "accepted patch does not fold");
            Ok(())
        }
        "backbone_file" => {
            let b = Backbone::from_bytes(data).map_err(|e| e.to_string())?;
            let again = Backbone::from_bytes(&b.to_bytes(StoreAs::F32))
                .unwrap_or_else(|e| panic!("re-serialised backbone refused: {e}"));
            assert_eq!(again.config, b.config);
            assert_eq!(again.arch, b.arch);
            assert!(again.norms == b.norms, "norms changed through to_bytes");
            assert!(again.classifier == b.classifier, "classifier changed");
            Ok(())
        }
        other => panic!("no fuzz target {other:?}"),
    }
}

#[test]
fn every_seed_is_small_and_valid() {
    let seeds = corpus("seeds");
    for target in TARGETS {
        assert!(
            seeds.iter().any(|(t, ..)| t == target),
            "no seed for fuzz target {target}; run `cargo run -p patchrt-tests --example fuzz_seeds`"
        );
    }
    for (target, path, bytes) in &seeds {
        assert!(
            bytes.len() < MAX_SEED_BYTES,
            "{}: {} bytes",
            path.display(),
            bytes.len()
        );
        if let Err(e) = replay(target, bytes) {
            panic!("seed {} is refused: {e}", path.display());
        }
    }
}

#[test]
fn every_regression_replays_without_panicking() {
    let regressions = corpus("regressions");
    for (target, path, bytes) in &regressions {
        // Named first, so that a panic below says which input caused it.
        eprintln!("{target}: replaying {}", path.display());
        // A crash input is malformed or hostile: it must now be refused.
        let verdict = replay(target, bytes);
        assert!(
            verdict.is_err(),
            "regression {} is accepted by {target}",
            path.display()
        );
        eprintln!("{target}: refused: {:?}", verdict);
    }
    eprintln!("{} regression inputs replayed", regressions.len());
}

#[test]
fn every_truncation_of_a_manifest_is_refused() {
    let json = seed("bundle_manifest", "manifest.json");
    assert!(Manifest::parse(&json).is_ok());
    for len in 0..json.len() {
        // Only trailing whitespace may go: the JSON text itself must be whole.
        if json[len..].iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        assert!(
            replay("bundle_manifest", &json[..len]).is_err(),
            "manifest cut to {len} of {} bytes is accepted",
            json.len()
        );
    }
}

#[test]
fn single_byte_changes_to_a_signed_bundle_are_refused() {
    let bundle = seed("bundle_container", "signed.bundle");
    let limits = BundleLimits::default();
    assert!(verify_bundle(&bundle, &keys(), backbone(), &limits).is_ok());
    // Offsets of the file contents; everything else is container structure,
    // manifest or signatures.
    let file = BundleFile::parse(&bundle, &limits).expect("the seed bundle parses");
    let start = |s: &[u8]| s.as_ptr() as usize - bundle.as_ptr() as usize;
    let manifest_end = start(file.manifest) + file.manifest.len();
    let contents: Vec<(usize, usize)> = file
        .files
        .iter()
        .map(|(_, b)| (start(b), start(b) + b.len()))
        .collect();
    let in_contents = |i: usize| contents.iter().any(|&(a, b)| (a..b).contains(&i));
    // Every structure, manifest and signature byte; every 97th content byte
    // (each content flip costs a signature check and two hashes).
    let positions: Vec<usize> = (0..bundle.len())
        .filter(|&i| !in_contents(i) || i % 97 == 0)
        .collect();
    assert!(positions.len() > 1000);
    for i in positions {
        let mut bad = bundle.clone();
        bad[i] ^= 0xff;
        // The fixed header (magic, manifest length) and the signature count
        // cannot change without breaking the container itself.
        if i < 12 || i == manifest_end {
            assert!(
                BundleFile::parse(&bad, &limits).is_err(),
                "container with byte {i} flipped parses"
            );
        }
        assert!(
            replay("bundle_container", &bad).is_err(),
            "bundle with byte {i} of {} flipped verifies",
            bundle.len()
        );
    }
}

#[test]
fn every_truncation_of_a_patch_and_a_backbone_is_refused() {
    for (target, name) in [
        ("patch_file", "scenes-64.safetensors"),
        ("backbone_file", "tiny-backbone.safetensors"),
    ] {
        let bytes = seed(target, name);
        assert!(replay(target, &bytes).is_ok(), "{name} is refused");
        for len in 0..bytes.len() {
            assert!(
                replay(target, &bytes[..len]).is_err(),
                "{name} cut to {len} of {} bytes is accepted",
                bytes.len()
            );
        }
    }
}

/// `regressions/backbone_file/huge-block-table.safetensors`: 272 bytes of
/// metadata and no tensors whose `blocks` table (width 2, one row of 16
/// repeats expanding 8x to 4096 channels) describes a 60 GB network.
/// `Backbone::from_bytes` used to allocate the weight buffers from that table
/// before reading a tensor, which aborted the process (out of memory). It
/// must be refused by the first tensor the file lacks.
#[test]
fn a_block_table_larger_than_the_file_is_refused_without_allocating_it() {
    let path = fuzz_dir().join("regressions/backbone_file/huge-block-table.safetensors");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(bytes.len() < 512);
    let err = Backbone::from_bytes(&bytes).expect_err("a backbone without tensors loads");
    assert!(
        matches!(
            &err,
            Error::MissingTensor {
                file: FileKind::Backbone,
                name,
            } if name == "stem.conv.weight"
        ),
        "{err:?}"
    );
}

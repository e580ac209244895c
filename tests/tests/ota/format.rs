//! Manifest, container and key handling without a GPU.

use patchrt::ota::manifest::check_file_name;
use patchrt::ota::pack::add_signature;
use patchrt::ota::{BundleFile, BundleLimits, Manifest, OtaError, PublicKey, TrustedKeys};

use super::{bundle, bundle_of, parts, patch, pinned, signer};

fn parse_ok(bytes: &[u8]) -> BundleFile<'_> {
    match BundleFile::parse(bytes, &BundleLimits::default()) {
        Ok(f) => f,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn builder_output_round_trips() {
    let bytes = bundle(3);
    let file = parse_ok(&bytes);
    let manifest = Manifest::parse(file.manifest).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(manifest.version, 3);
    assert_eq!(manifest.name, "acme-vision");
    assert_eq!(manifest.created, super::CREATED);
    assert_eq!(manifest.backbone_sha256, super::backbone().identity.hex());
    assert_eq!(manifest.patches.len(), 2);
    assert_eq!(manifest.patches[1].id, "flowers@96");
    assert_eq!(manifest.patches[1].resolution.side(), Some(96));
    assert_eq!(file.files.len(), 2);
    assert_eq!(file.files[0].1.len() as u64, manifest.patches[0].size);
    // Re-serialising the parsed container gives the same bytes.
    assert!(file.to_bytes() == bytes, "container does not round-trip");
}

/// One valid manifest as JSON value, to break one field at a time.
fn manifest_json() -> serde_json::Value {
    let (m, _) = parts(1);
    serde_json::from_slice(&m.to_json()).unwrap_or_else(|e| panic!("{e}"))
}

fn expect_manifest_error(json: &[u8], field_fragment: &str) {
    match Manifest::parse(json) {
        Err(OtaError::Manifest { field, detail }) => assert!(
            field.contains(field_fragment) || detail.contains(field_fragment),
            "expected an error about {field_fragment}, got {field}: {detail}"
        ),
        Err(OtaError::UnsafeFileName { name, .. }) if field_fragment == "file" => {
            assert!(!name.is_empty() || json.windows(9).any(|w| w == b"\"file\": \""))
        }
        other => panic!("expected a manifest error about {field_fragment}, got {other:?}"),
    }
}

#[test]
fn manifest_fields_are_checked_one_by_one() {
    let set = |path: &[&str], value: serde_json::Value| {
        let mut j = manifest_json();
        let mut at = &mut j;
        for (i, key) in path.iter().enumerate() {
            if i + 1 == path.len() {
                at[*key] = value.clone();
            } else if let Ok(n) = key.parse::<usize>() {
                at = &mut at[n];
            } else {
                at = &mut at[*key];
            }
        }
        serde_json::to_vec(&j).unwrap_or_default()
    };
    use serde_json::json;
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (set(&["format"], json!("zip")), "format"),
        (set(&["format_version"], json!(2)), "format_version"),
        (set(&["name"], json!("")), "name"),
        (set(&["name"], json!("a/b")), "name"),
        (set(&["version"], json!(0)), "version"),
        (set(&["version"], json!(-1)), "json"),
        (set(&["version"], json!("7")), "json"),
        (set(&["created"], json!("yesterday")), "created"),
        (set(&["created"], json!("2026-13-01T00:00:00Z")), "created"),
        (set(&["created"], json!("2026-02-29T00:00:00Z")), "created"),
        (set(&["created"], json!("2026-04-31T00:00:00Z")), "created"),
        (set(&["created"], json!("2026-11-22T10:00:60Z")), "created"),
        (set(&["created"], json!("2026-11-22 10:00:00Z")), "created"),
        (
            set(&["min_runtime_version"], json!("1.0")),
            "min_runtime_version",
        ),
        (
            set(&["min_runtime_version"], json!("1.0.x")),
            "min_runtime_version",
        ),
        (set(&["backbone_sha256"], json!("abc")), "backbone_sha256"),
        (
            set(&["backbone_sha256"], json!("A".repeat(64))),
            "backbone_sha256",
        ),
        (set(&["patches"], json!([])), "patches"),
        (set(&["patches", "0", "sha256"], json!("00")), "sha256"),
        (set(&["patches", "0", "resolution"], json!(0)), "resolution"),
        (set(&["patches", "0", "resolution"], json!("all")), "json"),
        (set(&["patches", "0", "id"], json!("x y")), "id"),
        (set(&["patches", "1", "id"], json!("objects@96")), "repeats"),
        (set(&["patches", "0", "size"], json!(-5)), "json"),
        (set(&["extra"], json!(1)), "unknown field"),
        (set(&["patches", "0", "extra"], json!(1)), "unknown field"),
        (b"{".to_vec(), "json"),
        (b"".to_vec(), "json"),
        (b"null".to_vec(), "json"),
        (b"[]".to_vec(), "json"),
    ];
    for (json, field) in cases {
        expect_manifest_error(&json, field);
    }
    // Case-insensitive file systems: two names differing only in case collide.
    let mut j = manifest_json();
    let first = j["patches"][0]["file"]
        .as_str()
        .unwrap_or_default()
        .to_uppercase();
    j["patches"][1]["file"] = serde_json::Value::String(first);
    expect_manifest_error(&serde_json::to_vec(&j).unwrap_or_default(), "repeats");
    // Duplicate keys are refused, so no two parsers can read different values.
    let text = String::from_utf8(serde_json::to_vec(&manifest_json()).unwrap_or_default())
        .unwrap_or_default();
    let dup = text.replacen('{', "{\"version\":99,", 1);
    assert_ne!(dup, text);
    expect_manifest_error(dup.as_bytes(), "duplicate");
    // Trailing data after the object.
    expect_manifest_error(format!("{text} {{}}").as_bytes(), "json");
}

#[test]
fn file_names_that_could_escape_are_refused() {
    for name in [
        "../evil",
        "..",
        "a/../../b",
        "/etc/passwd",
        "a\\b",
        "C:\\x",
        ".hidden",
        "",
        "manifest.json",
        "MANIFEST.SIG",
        "na\u{0}me",
        "naïve",
        &"x".repeat(101),
    ] {
        assert!(
            matches!(check_file_name(name), Err(OtaError::UnsafeFileName { .. })),
            "{name:?} accepted"
        );
    }
    for name in ["objects-96.safetensors", "a_b.c-d", "X1"] {
        assert!(check_file_name(name).is_ok(), "{name:?} refused");
    }
}

#[test]
fn every_truncation_of_a_bundle_is_a_container_error() {
    let bytes = bundle(1);
    // Every cut through the header, manifest and signatures, then a stride
    // through the file contents.
    let header = 8 + 4 + parse_ok(&bytes).manifest.len() + 1 + 72 + 2 + 64;
    let cuts = (0..header.min(bytes.len())).chain((header..bytes.len()).step_by(997));
    for cut in cuts {
        match BundleFile::parse(&bytes[..cut], &BundleLimits::default()) {
            Err(OtaError::Container { .. }) => {}
            other => panic!("cut at {cut}: expected a container error, got {other:?}"),
        }
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(matches!(
        BundleFile::parse(&longer, &BundleLimits::default()),
        Err(OtaError::Container { .. })
    ));
    let mut magic = bytes.clone();
    magic[0] ^= 1;
    assert!(matches!(
        BundleFile::parse(&magic, &BundleLimits::default()),
        Err(OtaError::Container { .. })
    ));
}

#[test]
fn announced_sizes_over_the_limits_are_refused_before_reading() {
    let bytes = bundle(1);
    let limits = BundleLimits {
        max_manifest_bytes: 100,
        ..BundleLimits::default()
    };
    assert!(matches!(
        BundleFile::parse(&bytes, &limits),
        Err(OtaError::TooLarge { what, .. }) if what == "manifest"
    ));
    let limits = BundleLimits {
        max_file_bytes: 1000,
        ..BundleLimits::default()
    };
    assert!(matches!(
        BundleFile::parse(&bytes, &limits),
        Err(OtaError::TooLarge { what, .. }) if what.starts_with("bundle file")
    ));
    // A header announcing a 2^60-byte file is refused without allocating.
    let file = parse_ok(&bytes);
    let mut forged = bytes.clone();
    let size_at = 8 + 4 + file.manifest.len() + 1 + 72 + 2 + 2 + file.files[0].0.len();
    forged[size_at..size_at + 8].copy_from_slice(&(1u64 << 60).to_le_bytes());
    assert!(matches!(
        BundleFile::parse(&forged, &BundleLimits::default()),
        Err(OtaError::TooLarge { got, .. }) if got == 1 << 60
    ));
}

#[test]
fn keys_must_be_valid_points() {
    assert!(matches!(
        PublicKey::from_hex("00"),
        Err(OtaError::InvalidKey { .. })
    ));
    assert!(matches!(
        PublicKey::from_hex(&"zz".repeat(32)),
        Err(OtaError::InvalidKey { .. })
    ));
    assert!(matches!(
        PublicKey::from_hex(&format!("+{}", "0".repeat(63))),
        Err(OtaError::InvalidKey { .. })
    ));
    // The identity point has small order: any signature "verifies" against it
    // with lax checks, so it must never be pinned.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert!(matches!(
        PublicKey::from_bytes(&identity),
        Err(OtaError::InvalidKey { .. })
    ));
    let key = signer(1).public();
    let again = PublicKey::from_hex(&key.to_hex()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again, key);
    assert_eq!(again.id(), key.id());
}

#[test]
fn signatures_bind_the_exact_manifest_bytes() {
    let bytes = bundle(1);
    let file = parse_ok(&bytes);
    let keys = pinned(1);
    assert_eq!(
        keys.verify(file.manifest, &file.signatures).ok(),
        Some(signer(1).public().id())
    );
    // Any single bit flipped anywhere in the manifest breaks the signature.
    for i in (0..file.manifest.len()).step_by(7) {
        let mut m = file.manifest.to_vec();
        m[i] ^= 0x20;
        assert!(
            matches!(
                keys.verify(&m, &file.signatures),
                Err(OtaError::BadSignature { .. })
            ),
            "flip at {i} verified"
        );
    }
    // A flipped signature bit.
    let mut sigs = file.signatures.clone();
    sigs[0].signature[10] ^= 1;
    assert!(matches!(
        keys.verify(file.manifest, &sigs),
        Err(OtaError::BadSignature { .. })
    ));
    // A key the app does not pin.
    assert!(matches!(
        pinned(2).verify(file.manifest, &file.signatures),
        Err(OtaError::UnknownKey { key_ids }) if key_ids == vec![signer(1).public().id().to_string()]
    ));
    // No keys pinned at all trusts nothing.
    assert!(matches!(
        TrustedKeys::default().verify(file.manifest, &file.signatures),
        Err(OtaError::UnknownKey { .. })
    ));
    // A signature copied under another pinned key's id fails as bad, not unknown.
    let mut relabelled = file.signatures.clone();
    relabelled[0].key_id = signer(2).public().id();
    assert!(matches!(
        pinned(2).verify(file.manifest, &relabelled),
        Err(OtaError::BadSignature { .. })
    ));
}

#[test]
fn key_rotation_signs_with_both_keys() {
    let old_and_new = bundle_of(
        "acme-vision",
        1,
        &[patch("objects@96")],
        &[&signer(1), &signer(2)],
    );
    let file = parse_ok(&old_and_new);
    for keys in [
        pinned(1),
        pinned(2),
        TrustedKeys::new(vec![signer(1).public(), signer(2).public()]),
    ] {
        assert!(keys.verify(file.manifest, &file.signatures).is_ok());
    }
    // Adding a signature to an existing bundle keeps the manifest bytes.
    let single = bundle(1);
    let added = add_signature(&single, &signer(3), &BundleLimits::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let file = parse_ok(&added);
    assert_eq!(file.manifest, parse_ok(&single).manifest);
    assert_eq!(file.signatures.len(), 2);
    assert!(pinned(3).verify(file.manifest, &file.signatures).is_ok());
    assert!(pinned(1).verify(file.manifest, &file.signatures).is_ok());
}

//! Bad input gets a typed error and leaves the engine exactly as it was.

use patchrt::model::StoreAs;
use patchrt::{Error, Resolution, RgbaImage, WeightPrecision};
use patchrt_tests::{Tolerance, assert_close, small_backbone_bytes, small_patches};

use super::{engine, image, load, probs, variant};

#[test]
fn rejected_patches_leave_the_active_patch_and_its_outputs_unchanged() {
    let Some((_, e)) = engine(small_backbone_bytes(), WeightPrecision::F32) else {
        return;
    };
    load(&e, &small_patches()[..3]);
    e.activate("objects@160")
        .unwrap_or_else(|err| panic!("{err}"));
    let img = image();
    let before = probs(&e, &img, 160);
    let listed = e.patches();

    let good = small_patches()[5].to_bytes(e.backbone(), StoreAs::F32);
    let mut nan = small_patches()[6].clone();
    if let patchrt::model::LayerNorm::Batch { gamma, .. } = &mut nan.norms[3] {
        gamma[2] = f32::NAN;
    }
    let mut inf = small_patches()[7].clone();
    if let patchrt::model::LayerNorm::Batch { beta, .. } = &mut inf.norms[10] {
        beta[0] = f32::INFINITY;
    }
    let other_backbone = {
        let other = super::backbone(&variant(0.35, patchrt::model::Padding::SameUpper));
        let mut p = small_patches()[8].clone();
        p.backbone = other.identity;
        p.to_bytes(e.backbone(), StoreAs::F32)
    };
    let wrong_shape = reshape(
        &small_patches()[9].to_bytes(e.backbone(), StoreAs::F32),
        "stem.bn.gamma",
        "[2,8]",
    );
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated", good[..good.len() / 2].to_vec()),
        (
            "bad header",
            b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all".to_vec(),
        ),
        ("empty", Vec::new()),
        ("NaN gamma", nan.to_bytes(e.backbone(), StoreAs::F32)),
        ("Inf beta", inf.to_bytes(e.backbone(), StoreAs::F32)),
        ("other backbone", other_backbone),
        ("wrong shape", wrong_shape),
        (
            "duplicate id",
            small_patches()[0].to_bytes(e.backbone(), StoreAs::F32),
        ),
    ];
    for (what, bytes) in cases {
        let err = match e.load_patch(&bytes) {
            Ok(info) => panic!("{what}: accepted as {}", info.id),
            Err(err) => err,
        };
        let expected = match what {
            "truncated" | "bad header" | "empty" => matches!(err, Error::Malformed { .. }),
            "NaN gamma" | "Inf beta" => matches!(err, Error::NonFinite { .. }),
            "other backbone" => matches!(err, Error::PatchBackboneMismatch { .. }),
            "wrong shape" => {
                matches!(&err, Error::TensorShape { name, expected, got, .. } if name == "stem.bn.gamma" && expected == &[16] && got == &[2, 8])
            }
            _ => matches!(err, Error::DuplicatePatch { .. }),
        };
        assert!(expected, "{what}: unexpected error {err}");
        assert_eq!(e.active_patch(), "objects@160", "{what}");
        assert_eq!(e.patches(), listed, "{what}: resident patches changed");
        assert_close(&probs(&e, &img, 160), &before, Tolerance::Exact, what);
    }
    // The good file still loads afterwards.
    assert!(e.load_patch(&good).is_ok());
}

#[test]
fn bad_requests_get_typed_errors_and_change_nothing() {
    let Some((_, e)) = engine(small_backbone_bytes(), WeightPrecision::F32) else {
        return;
    };
    load(&e, &small_patches()[..1]);
    e.activate("objects@224")
        .unwrap_or_else(|err| panic!("{err}"));
    let img = image();
    let before = probs(&e, &img, 224);

    assert!(matches!(
        RgbaImage::new(0, 10, &[]),
        Err(Error::InvalidImage { width: 0, .. })
    ));
    assert!(matches!(
        RgbaImage::new(10, 0, &[]),
        Err(Error::InvalidImage { height: 0, .. })
    ));
    assert!(matches!(
        RgbaImage::new(9000, 1, &vec![0; 36_000]),
        Err(Error::InvalidImage { width: 9000, .. })
    ));
    assert!(matches!(
        RgbaImage::new(2, 2, &[0; 15]),
        Err(Error::InvalidImage { .. })
    ));
    match e.classify(&img, Resolution(200)) {
        Err(Error::UnknownResolution {
            requested: 200,
            supported,
        }) => assert_eq!(supported, vec![224, 192, 160, 128, 96]),
        other => panic!("unknown resolution: {other:?}"),
    }
    assert!(matches!(
        e.activate("nope"),
        Err(Error::UnknownPatch { .. })
    ));
    assert!(matches!(
        e.unload_patch("objects@224"),
        Err(Error::PatchPinned { .. })
    ));
    assert!(matches!(
        e.unload_patch("default"),
        Err(Error::PatchPinned { .. })
    ));
    assert!(matches!(
        e.unload_patch("nope"),
        Err(Error::UnknownPatch { .. })
    ));
    assert!(matches!(
        e.classify_task(&img, "unknown-task", Resolution(224)),
        Err(Error::NoPatchForTask {
            resolution: 224,
            ..
        })
    ));
    assert_eq!(e.active_patch(), "objects@224");
    assert_close(
        &probs(&e, &img, 224),
        &before,
        Tolerance::Exact,
        "after bad requests",
    );
}

/// Rewrites the declared shape of tensor `name` in a safetensors header
/// (keeping its element count, so the file stays well-formed otherwise).
fn reshape(bytes: &[u8], name: &str, shape: &str) -> Vec<u8> {
    let mut len8 = [0u8; 8];
    len8.copy_from_slice(&bytes[..8]);
    let n = u64::from_le_bytes(len8) as usize;
    let header = String::from_utf8_lossy(&bytes[8..8 + n]).to_string();
    let key = format!("\"{name}\":{{\"dtype\":\"F32\",\"shape\":[");
    let start = header
        .find(&key)
        .unwrap_or_else(|| panic!("{name} not in header"))
        + key.len()
        - 1;
    let end = start + header[start..].find(']').unwrap_or(0) + 1;
    let mut new = format!("{}{}{}", &header[..start], shape, &header[end..]);
    while new.len() % 8 != 0 {
        new.push(' ');
    }
    let mut out = (new.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(new.as_bytes());
    out.extend_from_slice(&bytes[8 + n..]);
    out
}

//! Backbone files that must be rejected, one test per kind of bad input,
//! each checking the typed error and the data it carries.

use patchrt::model::{LayerKind, LayerNorm, StoreAs};
use patchrt::{Backbone, Error, FileKind};
use patchrt_tests::small_backbone_bytes;

use super::craft::{Part, Parts};
use super::{backbone_parts, reject_backbone, small};

#[test]
fn truncated_file_is_malformed() {
    let bytes = small_backbone_bytes();
    let header = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    let cuts = [
        0,
        1,
        7,
        8,
        9,
        8 + header / 2,
        8 + header - 1,
        8 + header,
        8 + header + 1,
        bytes.len() / 2,
        bytes.len() - 4,
        bytes.len() - 1,
    ];
    for cut in cuts {
        let err = reject_backbone(&bytes[..cut]);
        assert!(
            matches!(&err, Error::Malformed { file: FileKind::Backbone, detail } if !detail.is_empty()),
            "cut at {cut}: {err:?}"
        );
    }
}

#[test]
fn garbage_header_is_malformed() {
    let with_header = |header: &str, data: &[u8]| {
        let mut out = (header.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    };
    let mut huge_length = u64::MAX.to_le_bytes().to_vec();
    huge_length.extend_from_slice(b"{}");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("not json", with_header("this is not json", &[])),
        ("json array", with_header("[1, 2, 3]", &[])),
        ("length past the end", {
            let mut b = with_header("{}", &[]);
            b[0] = 200;
            b
        }),
        ("huge length", huge_length),
        (
            "offsets past the data",
            with_header(
                r#"{"t":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#,
                &[0; 8],
            ),
        ),
        (
            "size disagrees with shape",
            with_header(
                r#"{"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#,
                &[0; 8],
            ),
        ),
        (
            "numeric metadata value",
            with_header(r#"{"__metadata__":{"width":0.35}}"#, &[]),
        ),
        (
            "invalid utf-8",
            with_header("{\"\u{fffd}\":1}", &[])
                .into_iter()
                .map(|b| if b == 0xef { 0xff } else { b })
                .collect(),
        ),
    ];
    for (what, bytes) in cases {
        let err = reject_backbone(&bytes);
        assert!(
            matches!(
                &err,
                Error::Malformed {
                    file: FileKind::Backbone,
                    ..
                }
            ),
            "{what}: {err:?}"
        );
    }
}

#[test]
fn missing_required_metadata_key_is_named() {
    let required = [
        "format",
        "format_version",
        "arch",
        "width",
        "classes",
        "bn_epsilon",
        "padding",
        "input_mean",
        "input_scale",
        "native_resolution",
    ];
    for key in required {
        let mut parts = backbone_parts();
        parts.remove_meta(key);
        let err = reject_backbone(&parts.encode());
        assert!(
            matches!(&err, Error::MissingMetadata { file: FileKind::Backbone, key: k } if *k == key),
            "without {key}: {err:?}"
        );
    }
}

#[test]
fn invalid_metadata_value_names_key_and_value() {
    let cases = [
        ("format", "patchrt.patch"),
        ("format_version", "2"),
        ("arch", "resnet50"),
        ("width", "0"),
        ("width", "2.5"),
        ("width", "wide"),
        ("classes", "0"),
        ("classes", "ten"),
        ("bn_epsilon", "0"),
        ("bn_epsilon", "-1e-5"),
        ("padding", "valid"),
        ("padding", "SAME"),
        ("input_mean", "[1, 2]"),
        ("input_mean", "1, 2, 3"),
        ("input_scale", "[1, 2, \"x\"]"),
        ("native_resolution", "4"),
        ("native_resolution", "224px"),
        ("labels", "[\"only one\"]"),
        ("labels", "not a list"),
        ("blocks", "[]"),
        ("blocks", "[[6, 24, 2, 3, 3]]"),
        ("blocks", "[[6, 24, 2, 2, 4]]"),
    ];
    for (key, value) in cases {
        let mut parts = backbone_parts();
        parts.set_meta(key, value);
        let err = reject_backbone(&parts.encode());
        assert!(
            matches!(&err, Error::InvalidMetadata { file: FileKind::Backbone, key: k, value: v, .. } if *k == key && v == value),
            "{key} = {value}: {err:?}"
        );
    }
}

#[test]
fn missing_tensor_is_named() {
    let cases: [(&[&str], &str); 5] = [
        (
            &["blocks.3.depthwise.conv.weight"],
            "blocks.3.depthwise.conv.weight",
        ),
        (&["stem.conv.weight"], "stem.conv.weight"),
        (&["blocks.2.expand.bn.var"], "blocks.2.expand.bn.var"),
        (
            &[
                "head.bn.gamma",
                "head.bn.beta",
                "head.bn.mean",
                "head.bn.var",
            ],
            "head.bn.gamma",
        ),
        (&["classifier.bias"], "classifier.bias"),
    ];
    for (removed, reported) in cases {
        let mut parts = backbone_parts();
        for name in removed {
            parts.remove_tensor(name);
        }
        let err = reject_backbone(&parts.encode());
        assert!(
            matches!(&err, Error::MissingTensor { file: FileKind::Backbone, name } if name == reported),
            "without {removed:?}: {err:?}"
        );
    }
}

#[test]
fn wrong_shape_reports_expected_and_found() {
    let mut parts = backbone_parts();
    // Same element count, dimensions in the wrong order (a PyTorch [out, in, k, k] export).
    parts.tensor("stem.conv.weight").shape = vec![16, 3, 3, 3];
    let err = reject_backbone(&parts.encode());
    assert!(
        matches!(&err, Error::TensorShape { file: FileKind::Backbone, name, expected, got }
            if name == "stem.conv.weight" && *expected == [3, 3, 3, 16] && *got == [16, 3, 3, 3]),
        "{err:?}"
    );

    let mut parts = backbone_parts();
    parts.tensor("blocks.1.expand.conv.weight").shape = vec![48, 8];
    let err = reject_backbone(&parts.encode());
    assert!(
        matches!(&err, Error::TensorShape { name, expected, got, .. }
            if name == "blocks.1.expand.conv.weight" && *expected == [8, 48] && *got == [48, 8]),
        "{err:?}"
    );

    let mut parts = backbone_parts();
    let gamma = parts.tensor("head.bn.gamma");
    gamma.shape = vec![1279];
    gamma.data.truncate(1279 * 4);
    let err = reject_backbone(&parts.encode());
    assert!(
        matches!(&err, Error::TensorShape { name, expected, got, .. }
            if name == "head.bn.gamma" && *expected == [1280] && *got == [1279]),
        "{err:?}"
    );
}

#[test]
fn integer_or_bfloat_tensor_is_a_dtype_error() {
    // I32 has F32's element size, so only the dtype is wrong.
    let mut parts = backbone_parts();
    parts.tensor("head.conv.weight").dtype = "I32".into();
    let err = reject_backbone(&parts.encode());
    assert!(
        matches!(&err, Error::TensorDtype { file: FileKind::Backbone, name, dtype } if name == "head.conv.weight" && dtype == "I32"),
        "{err:?}"
    );
    // BF16 has F16's element size.
    let mut parts = Parts::decode(FileKind::Backbone, &small().to_bytes(StoreAs::F16));
    parts.tensor("blocks.4.depthwise.bn.mean").dtype = "BF16".into();
    let err = reject_backbone(&parts.encode());
    assert!(
        matches!(&err, Error::TensorDtype { name, dtype, .. } if name == "blocks.4.depthwise.bn.mean" && dtype == "BF16"),
        "{err:?}"
    );
}

#[test]
fn nan_or_infinity_in_a_tensor_is_located() {
    let cases = [
        ("blocks.1.expand.conv.weight", 5, f32::NAN),
        ("classifier.weight", 0, f32::INFINITY),
        ("stem.bn.gamma", 3, f32::NEG_INFINITY),
        ("blocks.7.depthwise.conv.weight", 100, f32::NAN),
    ];
    for (tensor, index, value) in cases {
        let mut parts = backbone_parts();
        parts.tensor(tensor).set_f32(index, value);
        let err = reject_backbone(&parts.encode());
        assert!(
            matches!(&err, Error::NonFinite { file: FileKind::Backbone, name, index: i } if name == tensor && *i == index),
            "{value} in {tensor}[{index}]: {err:?}"
        );
    }
}

#[test]
fn f16_overflow_is_non_finite() {
    let mut b = small().clone();
    let head = b.arch.layers.len() - 1;
    assert_eq!(b.arch.layers[head].kind, LayerKind::Head);
    b.dense[b.arch.layout.weight_offset[head] + 2] = 1.0e6; // over f16's 65504: stored as infinity
    let err = reject_backbone(&b.to_bytes(StoreAs::F16));
    assert!(
        matches!(&err, Error::NonFinite { name, index: 2, .. } if name == "head.conv.weight"),
        "{err:?}"
    );
}

#[test]
fn negative_backbone_variance_is_non_finite() {
    let mut b = small().clone();
    let eps = b.config.bn_epsilon;
    let layer = 9;
    let LayerNorm::Batch { var, .. } = &mut b.norms[layer] else {
        panic!("synthetic norms are unfolded")
    };
    var[1] = -1.0;
    assert!(var[1] + eps < 0.0);
    let name = b.arch.layers[layer].bn_name("var");
    let err = reject_backbone(&b.to_bytes(StoreAs::F32));
    assert!(
        matches!(&err, Error::NonFinite { file: FileKind::Backbone, name: n, index: 1 } if *n == name),
        "{err:?}"
    );
}

#[test]
fn unknown_tensor_is_named() {
    let mut parts = backbone_parts();
    parts.push(Part::f32("blocks.0.squeeze.weight", &[4], &[0.0; 4]));
    let err = reject_backbone(&parts.encode());
    assert!(
        matches!(&err, Error::UnknownTensor { file: FileKind::Backbone, name } if name == "blocks.0.squeeze.weight"),
        "{err:?}"
    );
    // Both BN forms at once: the folded pair is never read, so it is unknown.
    let mut parts = backbone_parts();
    parts
        .push(Part::f32("stem.bn.scale", &[16], &[1.0; 16]))
        .push(Part::f32("stem.bn.bias", &[16], &[0.0; 16]));
    let err = reject_backbone(&parts.encode());
    assert!(
        matches!(&err, Error::UnknownTensor { name, .. } if name == "stem.bn.bias"),
        "{err:?}"
    );
}

#[test]
fn missing_file_is_an_io_error() {
    let path = std::env::temp_dir().join("patchrt-tests-no-such-backbone.safetensors");
    let err = match Backbone::from_path(&path) {
        Ok(_) => panic!("a missing file parsed"),
        Err(e) => e,
    };
    assert!(
        matches!(&err, Error::Io { path: p, .. } if *p == path.display().to_string()),
        "{err:?}"
    );
}

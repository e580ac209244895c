//! Backbone files: round trips, identity, and one test per kind of bad input.

use patchrt::model::arch::{Architecture, MOBILENET_V2_BLOCKS, SUPPORTED_WIDTHS, make_divisible};
use patchrt::model::synthetic::{self, SyntheticSpec};
use patchrt::model::{LayerKind, LayerNorm, StoreAs};
use patchrt::{Backbone, Error, FileKind};
use patchrt_tests::{Tolerance, assert_close, parse_backbone, small_backbone_bytes};

use super::craft::{Part, Parts};
use super::small;

/// f16 keeps 11 significant bits: rounding moves a normal value by at most
/// 2^-11 of itself, and a subnormal by at most half the subnormal spacing 2^-24.
const HALF_RELATIVE: f32 = 1.0 / 2048.0;
const HALF_SUBNORMAL: f32 = 1.0 / 33_554_432.0;

/// The error a backbone file is rejected with; panics if it parses.
fn rejected(bytes: &[u8]) -> Error {
    match Backbone::from_bytes(bytes) {
        Ok(_) => panic!("backbone file unexpectedly parsed"),
        Err(e) => e,
    }
}

fn small_parts() -> Parts {
    Parts::decode(FileKind::Backbone, small_backbone_bytes())
}

/// Every tensor value of a backbone, in a fixed order.
fn all_values(b: &Backbone) -> Vec<f32> {
    let mut v = b.dense.clone();
    v.extend(&b.depthwise);
    for n in &b.norms {
        match n {
            LayerNorm::Batch { gamma, beta, mean, var } => {
                v.extend(gamma.iter().chain(beta).chain(mean).chain(var));
            }
            LayerNorm::Folded { scale, bias } => v.extend(scale.iter().chain(bias)),
        }
    }
    v.extend(b.classifier.weight.iter().chain(&b.classifier.bias));
    v
}

#[test]
fn backbone_round_trip_keeps_identity_config_and_tensors() {
    let a = small();
    let b = parse_backbone(&a.to_bytes(StoreAs::F32));
    assert_eq!(b.identity, a.identity);
    assert_eq!(b.config, a.config);
    assert_eq!(b.arch, a.arch);
    assert_eq!(b.norms, a.norms);
    assert_eq!(b.classifier, a.classifier);
    assert_close(&all_values(&b), &all_values(a), Tolerance::Exact, "round-tripped tensors");
}

#[test]
fn backbone_f16_storage_round_trips_within_half_precision() {
    let a = small();
    let b = parse_backbone(&a.to_bytes(StoreAs::F16));
    // The dtype and the bytes are hashed, so f16 storage is a different backbone.
    assert_ne!(b.identity, a.identity);
    assert_eq!(b.config, a.config);
    let (got, want) = (all_values(&b), all_values(a));
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!((g - w).abs() <= w.abs() * HALF_RELATIVE + HALF_SUBNORMAL, "value {i}: f16 gave {g}, f32 was {w}");
    }
    // Writing the parsed f16 backbone as f16 again is lossless.
    assert_eq!(parse_backbone(&b.to_bytes(StoreAs::F16)).identity, b.identity);
}

#[test]
fn backbone_in_folded_form_parses_to_the_same_fold() {
    let a = small();
    let mut folded = a.clone();
    folded.norms = a
        .norms
        .iter()
        .map(|n| {
            let (scale, bias) = n.fold(a.config.bn_epsilon);
            LayerNorm::Folded { scale, bias }
        })
        .collect();
    let b = parse_backbone(&folded.to_bytes(StoreAs::F32));
    assert!(b.norms.iter().all(|n| matches!(n, LayerNorm::Folded { .. })));
    for (i, (x, y)) in b.norms.iter().zip(&a.norms).enumerate() {
        let (xs, xb) = x.fold(b.config.bn_epsilon);
        let (ys, yb) = y.fold(a.config.bn_epsilon);
        assert_close(&xs, &ys, Tolerance::Exact, &format!("layer {i} scale"));
        assert_close(&xb, &yb, Tolerance::Exact, &format!("layer {i} bias"));
    }
}

#[test]
fn hand_written_container_has_the_same_identity() {
    // Different header order, metadata order and padding; same tensors.
    let mut parts = small_parts();
    parts.tensors.reverse();
    parts.meta.reverse();
    let b = parse_backbone(&parts.encode());
    assert_eq!(b.identity, small().identity);
}

#[test]
fn identity_changes_when_one_weight_byte_changes() {
    let mut parts = small_parts();
    // The lowest mantissa bit: the value stays finite and nearly the same.
    parts.tensor("blocks.5.project.conv.weight").data[0] ^= 1;
    let b = parse_backbone(&parts.encode());
    assert_ne!(b.identity, small().identity);
    assert_ne!(b.identity.hex(), small().identity.hex());
}

#[test]
fn identity_ignores_metadata() {
    let mut parts = small_parts();
    parts
        .set_meta("task", "elsewhere")
        .set_meta("native_resolution", "160")
        .set_meta("bn_epsilon", "1e-3")
        .remove_meta("labels");
    let b = parse_backbone(&parts.encode());
    assert_eq!(b.identity, small().identity);
    assert_eq!(b.config.task, "elsewhere");
    assert_eq!(b.config.native_resolution, 160);
    assert!(b.config.labels.is_empty());
}

#[test]
fn identity_hex_is_64_lowercase_digits() {
    let hex = small().identity.hex();
    assert_eq!(hex.len(), 64);
    assert!(hex.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')), "{hex}");
    assert_eq!(small().identity.to_string(), hex);
}

#[test]
fn truncated_file_is_malformed() {
    let bytes = small_backbone_bytes();
    let header = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    let cuts = [0, 1, 7, 8, 9, 8 + header / 2, 8 + header - 1, 8 + header, 8 + header + 1, bytes.len() / 2, bytes.len() - 4, bytes.len() - 1];
    for cut in cuts {
        let err = rejected(&bytes[..cut]);
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
        ("offsets past the data", with_header(r#"{"t":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, &[0; 8])),
        ("size disagrees with shape", with_header(r#"{"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, &[0; 8])),
        ("numeric metadata value", with_header(r#"{"__metadata__":{"width":0.35}}"#, &[])),
        ("invalid utf-8", with_header("{\"\u{fffd}\":1}", &[]).into_iter().map(|b| if b == 0xef { 0xff } else { b }).collect()),
    ];
    for (what, bytes) in cases {
        let err = rejected(&bytes);
        assert!(matches!(&err, Error::Malformed { file: FileKind::Backbone, .. }), "{what}: {err:?}");
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
        let mut parts = small_parts();
        parts.remove_meta(key);
        let err = rejected(&parts.encode());
        assert!(
            matches!(&err, Error::MissingMetadata { file: FileKind::Backbone, key: k } if *k == key),
            "without {key}: {err:?}"
        );
    }
}

#[test]
fn optional_metadata_keys_have_defaults() {
    let mut parts = small_parts();
    parts.remove_meta("task").remove_meta("labels");
    assert_eq!(parts.get_meta("blocks"), None);
    let b = parse_backbone(&parts.encode());
    assert_eq!(b.config.task, "default");
    assert!(b.config.labels.is_empty());
    assert_eq!(b.config.blocks, MOBILENET_V2_BLOCKS.to_vec());
    // Spelling the default table out changes nothing.
    let mut parts = small_parts();
    parts.set_meta("blocks", "[[1,16,1,1,3],[6,24,2,2,3],[6,32,3,2,3],[6,64,4,2,3],[6,96,3,1,3],[6,160,3,2,3],[6,320,1,1,3]]");
    let c = parse_backbone(&parts.encode());
    assert_eq!(c.arch, small().arch);
    assert_eq!(c.identity, small().identity);
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
        let mut parts = small_parts();
        parts.set_meta(key, value);
        let err = rejected(&parts.encode());
        assert!(
            matches!(&err, Error::InvalidMetadata { file: FileKind::Backbone, key: k, value: v, .. } if *k == key && v == value),
            "{key} = {value}: {err:?}"
        );
    }
}

#[test]
fn missing_tensor_is_named() {
    let cases: [(&[&str], &str); 5] = [
        (&["blocks.3.depthwise.conv.weight"], "blocks.3.depthwise.conv.weight"),
        (&["stem.conv.weight"], "stem.conv.weight"),
        (&["blocks.2.expand.bn.var"], "blocks.2.expand.bn.var"),
        (&["head.bn.gamma", "head.bn.beta", "head.bn.mean", "head.bn.var"], "head.bn.gamma"),
        (&["classifier.bias"], "classifier.bias"),
    ];
    for (removed, reported) in cases {
        let mut parts = small_parts();
        for name in removed {
            parts.remove_tensor(name);
        }
        let err = rejected(&parts.encode());
        assert!(
            matches!(&err, Error::MissingTensor { file: FileKind::Backbone, name } if name == reported),
            "without {removed:?}: {err:?}"
        );
    }
}

#[test]
fn wrong_shape_reports_expected_and_found() {
    let mut parts = small_parts();
    // Same element count, dimensions in the wrong order (a PyTorch [out, in, k, k] export).
    parts.tensor("stem.conv.weight").shape = vec![16, 3, 3, 3];
    let err = rejected(&parts.encode());
    assert!(
        matches!(&err, Error::TensorShape { file: FileKind::Backbone, name, expected, got }
            if name == "stem.conv.weight" && *expected == [3, 3, 3, 16] && *got == [16, 3, 3, 3]),
        "{err:?}"
    );

    let mut parts = small_parts();
    parts.tensor("blocks.1.expand.conv.weight").shape = vec![48, 8];
    let err = rejected(&parts.encode());
    assert!(
        matches!(&err, Error::TensorShape { name, expected, got, .. }
            if name == "blocks.1.expand.conv.weight" && *expected == [8, 48] && *got == [48, 8]),
        "{err:?}"
    );

    let mut parts = small_parts();
    let gamma = parts.tensor("head.bn.gamma");
    gamma.shape = vec![1279];
    gamma.data.truncate(1279 * 4);
    let err = rejected(&parts.encode());
    assert!(
        matches!(&err, Error::TensorShape { name, expected, got, .. }
            if name == "head.bn.gamma" && *expected == [1280] && *got == [1279]),
        "{err:?}"
    );
}

#[test]
fn integer_or_bfloat_tensor_is_a_dtype_error() {
    // I32 has F32's element size, so only the dtype is wrong.
    let mut parts = small_parts();
    parts.tensor("head.conv.weight").dtype = "I32".into();
    let err = rejected(&parts.encode());
    assert!(
        matches!(&err, Error::TensorDtype { file: FileKind::Backbone, name, dtype } if name == "head.conv.weight" && dtype == "I32"),
        "{err:?}"
    );
    // BF16 has F16's element size.
    let mut parts = Parts::decode(FileKind::Backbone, &small().to_bytes(StoreAs::F16));
    parts.tensor("blocks.4.depthwise.bn.mean").dtype = "BF16".into();
    let err = rejected(&parts.encode());
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
        let mut parts = small_parts();
        parts.tensor(tensor).set_f32(index, value);
        let err = rejected(&parts.encode());
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
    let err = rejected(&b.to_bytes(StoreAs::F16));
    assert!(matches!(&err, Error::NonFinite { name, index: 2, .. } if name == "head.conv.weight"), "{err:?}");
}

#[test]
fn negative_backbone_variance_is_non_finite() {
    let mut b = small().clone();
    let eps = b.config.bn_epsilon;
    let layer = 9;
    let LayerNorm::Batch { var, .. } = &mut b.norms[layer] else { panic!("synthetic norms are unfolded") };
    var[1] = -1.0;
    assert!(var[1] + eps < 0.0);
    let name = b.arch.layers[layer].bn_name("var");
    let err = rejected(&b.to_bytes(StoreAs::F32));
    assert!(matches!(&err, Error::NonFinite { file: FileKind::Backbone, name: n, index: 1 } if *n == name), "{err:?}");
}

#[test]
fn unknown_tensor_is_named() {
    let mut parts = small_parts();
    parts.push(Part::f32("blocks.0.squeeze.weight", &[4], &[0.0; 4]));
    let err = rejected(&parts.encode());
    assert!(
        matches!(&err, Error::UnknownTensor { file: FileKind::Backbone, name } if name == "blocks.0.squeeze.weight"),
        "{err:?}"
    );
    // Both BN forms at once: the folded pair is never read, so it is unknown.
    let mut parts = small_parts();
    parts.push(Part::f32("stem.bn.scale", &[16], &[1.0; 16])).push(Part::f32("stem.bn.bias", &[16], &[0.0; 16]));
    let err = rejected(&parts.encode());
    assert!(matches!(&err, Error::UnknownTensor { name, .. } if name == "stem.bn.bias"), "{err:?}");
}

#[test]
fn missing_file_is_an_io_error() {
    let path = std::env::temp_dir().join("patchrt-tests-no-such-backbone.safetensors");
    let err = match Backbone::from_path(&path) {
        Ok(_) => panic!("a missing file parsed"),
        Err(e) => e,
    };
    assert!(matches!(&err, Error::Io { path: p, .. } if *p == path.display().to_string()), "{err:?}");
}

#[test]
fn every_width_multiplier_builds_a_parsing_backbone() {
    for width in SUPPORTED_WIDTHS {
        let spec = SyntheticSpec { width, classes: 10, calibration_side: 32, ..Default::default() };
        let b = parse_backbone(&synthetic::backbone_bytes(&spec));
        let expected = Architecture::mobilenet_v2(width, 10, &MOBILENET_V2_BLOCKS);
        assert_eq!(b.arch, expected, "width {width}");
        assert_eq!(b.arch.layers.len(), 52, "width {width}");
        assert_eq!(b.arch.layers[0].out_channels, make_divisible(32.0 * width, 8), "width {width}");
        assert_eq!(b.arch.feature_channels, 1280, "width {width}");
        assert_eq!(b.classifier.classes(), 10);
        assert_eq!(b.config.width, width);
    }
}

#[test]
fn make_divisible_matches_mobilenet_channel_counts() {
    // (value, rounded) pairs from MobileNetV2's width multipliers.
    let cases = [(32.0 * 0.35, 16), (16.0 * 0.35, 8), (24.0 * 0.35, 8), (32.0 * 0.75, 24), (96.0 * 0.35, 32), (160.0 * 0.35, 56), (320.0 * 0.35, 112), (24.0 * 0.5, 16), (64.0 * 0.75, 48)];
    for (value, rounded) in cases {
        assert_eq!(make_divisible(value, 8), rounded, "make_divisible({value}, 8)");
    }
}

/// A hand-made backbone with a shortened block table (the `blocks` key), the
/// last block with 5x5 depthwise kernels.
fn custom_blocks_backbone() -> Parts {
    let blocks = [[1, 16, 1, 1, 3], [6, 24, 2, 2, 3], [6, 32, 1, 2, 5]];
    let blocks_json = "[[1,16,1,1,3],[6,24,2,2,3],[6,32,1,2,5]]";
    let specs: Vec<_> = blocks
        .iter()
        .map(|r| patchrt::model::BlockSpec { expansion: r[0], channels: r[1], repeats: r[2], stride: r[3], kernel: r[4] })
        .collect();
    let arch = Architecture::mobilenet_v2(0.5, 10, &specs);
    let mut parts = small_parts();
    parts.tensors.clear();
    parts.set_meta("width", "0.5").set_meta("blocks", blocks_json);
    for layer in &arch.layers {
        let n = layer.weight_len();
        parts.push(Part::f32(&layer.weight_name(), &layer.weight_shape(), &vec![0.01; n]));
        let c = layer.out_channels as usize;
        for (field, v) in [("gamma", 1.0), ("beta", 0.0), ("mean", 0.0), ("var", 1.0)] {
            parts.push(Part::f32(&layer.bn_name(field), &[c], &vec![v; c]));
        }
    }
    parts.push(Part::f32("classifier.weight", &[10, 1280], &[0.001; 12_800]));
    parts.push(Part::f32("classifier.bias", &[10], &[0.0; 10]));
    parts
}

#[test]
fn custom_block_table_sets_the_architecture() {
    let parts = custom_blocks_backbone();
    let b = parse_backbone(&parts.encode());
    assert_eq!(b.config.blocks.len(), 3);
    // stem + (dw, project) + 2 x (expand, dw, project) + (expand, dw, project) + head
    assert_eq!(b.arch.layers.len(), 1 + 2 + 6 + 3 + 1);
    let last_dw = b.arch.layers.iter().rfind(|l| l.kind == LayerKind::Depthwise).expect("a depthwise layer");
    assert_eq!(last_dw.kernel, 5);
    assert_eq!(last_dw.weight_shape(), vec![5, 5, last_dw.in_channels as usize]);
}

#[test]
#[ignore = "Backbone::to_bytes does not write the `blocks` key, so a custom block table is lost on save"]
fn custom_block_table_survives_to_bytes() {
    let parts = custom_blocks_backbone();
    let b = parse_backbone(&parts.encode());
    let again = parse_backbone(&b.to_bytes(StoreAs::F32));
    assert_eq!(again.arch, b.arch);
    assert_eq!(again.identity, b.identity);
}

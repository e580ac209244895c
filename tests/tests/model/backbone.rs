//! Backbone files that load: round trips, the identity hash, optional
//! metadata, every width multiplier and custom block tables.

use patchrt::Backbone;
use patchrt::model::arch::{Architecture, MOBILENET_V2_BLOCKS, SUPPORTED_WIDTHS, make_divisible};
use patchrt::model::synthetic::{self, SyntheticSpec};
use patchrt::model::{LayerKind, LayerNorm, StoreAs};
use patchrt_tests::{Tolerance, assert_close, parse_backbone};

use super::craft::{Part, Parts};
use super::{HALF_RELATIVE, HALF_SUBNORMAL, backbone_parts, small};

/// Every tensor value of a backbone, in a fixed order.
fn all_values(b: &Backbone) -> Vec<f32> {
    let mut v = b.dense.clone();
    v.extend(&b.depthwise);
    for n in &b.norms {
        match n {
            LayerNorm::Batch {
                gamma,
                beta,
                mean,
                var,
            } => {
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
    assert_close(
        &all_values(&b),
        &all_values(a),
        Tolerance::Exact,
        "round-tripped tensors",
    );
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
        assert!(
            (g - w).abs() <= w.abs() * HALF_RELATIVE + HALF_SUBNORMAL,
            "value {i}: f16 gave {g}, f32 was {w}"
        );
    }
    // Writing the parsed f16 backbone as f16 again is lossless.
    assert_eq!(
        parse_backbone(&b.to_bytes(StoreAs::F16)).identity,
        b.identity
    );
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
    assert!(
        b.norms
            .iter()
            .all(|n| matches!(n, LayerNorm::Folded { .. }))
    );
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
    let mut parts = backbone_parts();
    parts.tensors.reverse();
    parts.meta.reverse();
    let b = parse_backbone(&parts.encode());
    assert_eq!(b.identity, small().identity);
}

#[test]
fn identity_changes_when_one_weight_byte_changes() {
    let mut parts = backbone_parts();
    // The lowest mantissa bit: the value stays finite and nearly the same.
    parts.tensor("blocks.5.project.conv.weight").data[0] ^= 1;
    let b = parse_backbone(&parts.encode());
    assert_ne!(b.identity, small().identity);
    assert_ne!(b.identity.hex(), small().identity.hex());
}

#[test]
fn identity_ignores_metadata() {
    let mut parts = backbone_parts();
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
    assert!(
        hex.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')),
        "{hex}"
    );
    assert_eq!(small().identity.to_string(), hex);
}

#[test]
fn optional_metadata_keys_have_defaults() {
    let mut parts = backbone_parts();
    parts.remove_meta("task").remove_meta("labels");
    assert_eq!(parts.get_meta("blocks"), None);
    let b = parse_backbone(&parts.encode());
    assert_eq!(b.config.task, "default");
    assert!(b.config.labels.is_empty());
    assert_eq!(b.config.blocks, MOBILENET_V2_BLOCKS.to_vec());
    // Spelling the default table out changes nothing.
    let mut parts = backbone_parts();
    parts.set_meta("blocks", "[[1,16,1,1,3],[6,24,2,2,3],[6,32,3,2,3],[6,64,4,2,3],[6,96,3,1,3],[6,160,3,2,3],[6,320,1,1,3]]");
    let c = parse_backbone(&parts.encode());
    assert_eq!(c.arch, small().arch);
    assert_eq!(c.identity, small().identity);
}

#[test]
fn every_width_multiplier_builds_a_parsing_backbone() {
    for width in SUPPORTED_WIDTHS {
        let spec = SyntheticSpec {
            width,
            classes: 10,
            calibration_side: 32,
            ..Default::default()
        };
        let b = parse_backbone(&synthetic::backbone_bytes(&spec));
        let expected = Architecture::mobilenet_v2(width, 10, &MOBILENET_V2_BLOCKS);
        assert_eq!(b.arch, expected, "width {width}");
        assert_eq!(b.arch.layers.len(), 52, "width {width}");
        assert_eq!(
            b.arch.layers[0].out_channels,
            make_divisible(32.0 * width, 8),
            "width {width}"
        );
        assert_eq!(b.arch.feature_channels, 1280, "width {width}");
        assert_eq!(b.classifier.classes(), 10);
        assert_eq!(b.config.width, width);
    }
}

#[test]
fn make_divisible_matches_mobilenet_channel_counts() {
    // (value, rounded) pairs from MobileNetV2's width multipliers.
    let cases = [
        (32.0 * 0.35, 16),
        (16.0 * 0.35, 8),
        (24.0 * 0.35, 8),
        (32.0 * 0.75, 24),
        (96.0 * 0.35, 32),
        (160.0 * 0.35, 56),
        (320.0 * 0.35, 112),
        (24.0 * 0.5, 16),
        (64.0 * 0.75, 48),
    ];
    for (value, rounded) in cases {
        assert_eq!(
            make_divisible(value, 8),
            rounded,
            "make_divisible({value}, 8)"
        );
    }
}

/// A hand-made backbone with a shortened block table (the `blocks` key), the
/// last block with 5x5 depthwise kernels.
fn custom_blocks_backbone() -> Parts {
    let blocks = [[1, 16, 1, 1, 3], [6, 24, 2, 2, 3], [6, 32, 1, 2, 5]];
    let blocks_json = "[[1,16,1,1,3],[6,24,2,2,3],[6,32,1,2,5]]";
    let specs: Vec<_> = blocks
        .iter()
        .map(|r| patchrt::model::BlockSpec {
            expansion: r[0],
            channels: r[1],
            repeats: r[2],
            stride: r[3],
            kernel: r[4],
        })
        .collect();
    let arch = Architecture::mobilenet_v2(0.5, 10, &specs);
    let mut parts = backbone_parts();
    parts.tensors.clear();
    parts
        .set_meta("width", "0.5")
        .set_meta("blocks", blocks_json);
    for layer in &arch.layers {
        let n = layer.weight_len();
        parts.push(Part::f32(
            &layer.weight_name(),
            &layer.weight_shape(),
            &vec![0.01; n],
        ));
        let c = layer.out_channels as usize;
        for (field, v) in [("gamma", 1.0), ("beta", 0.0), ("mean", 0.0), ("var", 1.0)] {
            parts.push(Part::f32(&layer.bn_name(field), &[c], &vec![v; c]));
        }
    }
    parts.push(Part::f32(
        "classifier.weight",
        &[10, 1280],
        &[0.001; 12_800],
    ));
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
    let last_dw = b
        .arch
        .layers
        .iter()
        .rfind(|l| l.kind == LayerKind::Depthwise)
        .expect("a depthwise layer");
    assert_eq!(last_dw.kernel, 5);
    assert_eq!(
        last_dw.weight_shape(),
        vec![5, 5, last_dw.in_channels as usize]
    );
}

#[test]
fn custom_block_table_survives_to_bytes() {
    let parts = custom_blocks_backbone();
    let b = parse_backbone(&parts.encode());
    let again = parse_backbone(&b.to_bytes(StoreAs::F32));
    assert_eq!(again.arch, b.arch);
    assert_eq!(again.identity, b.identity);
}

//! Patch files that must be rejected by the backbone they are loaded for.

use patchrt::model::{LayerKind, LayerNorm};
use patchrt::{Error, FileKind};
use patchrt_tests::small_backbone_bytes;

use super::craft::Part;
use super::{load_patch, patch_bytes, patch_parts, reject_patch, small, small_patch};

#[test]
fn backbone_file_is_not_a_patch() {
    let err = reject_patch(small_backbone_bytes());
    assert!(
        matches!(&err, Error::InvalidMetadata { file: FileKind::Patch, key: "format", value, .. } if value == "patchrt.backbone"),
        "{err:?}"
    );
    let err = reject_patch(&small_backbone_bytes()[..100]);
    assert!(
        matches!(
            &err,
            Error::Malformed {
                file: FileKind::Patch,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn nan_or_infinity_in_patch_batch_norm_is_located() {
    let mut p = small_patch("objects");
    let name = small().arch.layers[4].bn_name("gamma");
    let LayerNorm::Batch { gamma, .. } = &mut p.norms[4] else {
        panic!("synthetic norms are unfolded")
    };
    gamma[2] = f32::NAN;
    let err = reject_patch(&patch_bytes(&p));
    assert!(
        matches!(&err, Error::NonFinite { file: FileKind::Patch, name: n, index: 2 } if *n == name),
        "{err:?}"
    );

    let mut parts = patch_parts("scenes");
    parts.tensor("head.bn.beta").set_f32(0, f32::INFINITY);
    let err = reject_patch(&parts.encode());
    assert!(
        matches!(&err, Error::NonFinite { name, index: 0, .. } if name == "head.bn.beta"),
        "{err:?}"
    );

    let mut parts = patch_parts("scenes");
    parts
        .tensor("blocks.6.depthwise.conv.weight")
        .set_f32(17, f32::NEG_INFINITY);
    let err = reject_patch(&parts.encode());
    assert!(
        matches!(&err, Error::NonFinite { name, index: 17, .. } if name == "blocks.6.depthwise.conv.weight"),
        "{err:?}"
    );
}

#[test]
fn variance_below_minus_epsilon_is_non_finite() {
    let eps = small().config.bn_epsilon;
    // -1 makes var + eps negative (the fold takes a NaN root); -eps makes it
    // zero (the scale becomes infinite). Both are caught at load.
    for (layer, channel, value) in [(7, 3, -1.0), (20, 0, -eps)] {
        let mut p = small_patch("objects");
        let name = small().arch.layers[layer].bn_name("var");
        let LayerNorm::Batch { var, .. } = &mut p.norms[layer] else {
            panic!("synthetic norms are unfolded")
        };
        var[channel] = value;
        let err = reject_patch(&patch_bytes(&p));
        assert!(
            matches!(&err, Error::NonFinite { file: FileKind::Patch, name: n, index } if *n == name && *index == channel),
            "var {value} at {name}[{channel}]: {err:?}"
        );
    }
}

#[test]
fn kind_must_match_the_tensors_present() {
    let cases = [
        ("objects", "scale_bias+depthwise"),
        ("objects", "scale_bias+classifier"),
        ("scenes", "scale_bias"),
        ("flowers", "scale_bias+depthwise+classifier"),
        ("flowers", "classifier+scale_bias"),
        ("objects", "bias"),
    ];
    for (task, kind) in cases {
        let mut parts = patch_parts(task);
        parts.set_meta("kind", kind);
        let err = reject_patch(&parts.encode());
        assert!(
            matches!(&err, Error::InvalidMetadata { file: FileKind::Patch, key: "kind", value, .. } if value == kind),
            "{task} declared {kind}: {err:?}"
        );
    }
}

#[test]
fn classifier_labels_must_match_the_class_count() {
    let mut p = small_patch("flowers");
    p.classifier
        .as_mut()
        .expect("flowers has a classifier")
        .labels
        .pop();
    let err = reject_patch(&patch_bytes(&p));
    assert!(
        matches!(&err, Error::InvalidMetadata { key: "labels", .. }),
        "{err:?}"
    );

    let mut parts = patch_parts("flowers");
    parts.set_meta("labels", "daisy, tulip");
    let err = reject_patch(&parts.encode());
    assert!(
        matches!(&err, Error::InvalidMetadata { key: "labels", value, .. } if value == "daisy, tulip"),
        "{err:?}"
    );

    // Labels are optional.
    let mut parts = patch_parts("flowers");
    parts.remove_meta("labels");
    let q = load_patch(&parts.encode());
    assert!(q.classifier.expect("classifier").labels.is_empty());
}

#[test]
fn patch_id_is_checked() {
    let too_long = "x".repeat(129);
    for id in ["default", "", too_long.as_str()] {
        let mut parts = patch_parts("objects");
        parts.set_meta("patch_id", id);
        let err = reject_patch(&parts.encode());
        assert!(
            matches!(&err, Error::InvalidMetadata { key: "patch_id", value, .. } if value == id),
            "id {id:?}: {err:?}"
        );
    }
    let mut parts = patch_parts("objects");
    parts.set_meta("patch_id", &"x".repeat(128));
    assert_eq!(load_patch(&parts.encode()).id.len(), 128);
}

#[test]
fn resolution_is_any_or_an_integer() {
    for bad in ["abc", "4", "-96", "96.0", "", "5000"] {
        let mut parts = patch_parts("objects");
        parts.set_meta("resolution", bad);
        let err = reject_patch(&parts.encode());
        assert!(
            matches!(&err, Error::InvalidMetadata { key: "resolution", value, .. } if value == bad),
            "resolution {bad:?}: {err:?}"
        );
    }
    for (good, parsed) in [("any", None), ("160", Some(160)), ("8", Some(8))] {
        let mut parts = patch_parts("objects");
        parts.set_meta("resolution", good);
        assert_eq!(
            load_patch(&parts.encode()).resolution,
            parsed,
            "resolution {good:?}"
        );
    }
}

#[test]
fn missing_required_patch_metadata_is_named() {
    for key in [
        "format",
        "format_version",
        "patch_id",
        "backbone_sha256",
        "task",
        "resolution",
        "kind",
    ] {
        let mut parts = patch_parts("flowers");
        parts.remove_meta(key);
        let err = reject_patch(&parts.encode());
        assert!(
            matches!(&err, Error::MissingMetadata { file: FileKind::Patch, key: k } if *k == key),
            "without {key}: {err:?}"
        );
    }
}

#[test]
fn depthwise_tensors_are_checked() {
    let b = small();
    let (i, layer) = b
        .arch
        .layers
        .iter()
        .enumerate()
        .find(|(_, l)| l.kind == LayerKind::Depthwise && l.block == Some(2))
        .expect("block 2 has a depthwise layer");
    let c = layer.in_channels as usize;
    // The next depthwise layer (three layers on) starts right after it in the flat buffer.
    assert_eq!(
        b.arch.layout.weight_offset[i] + layer.weight_len(),
        b.arch.layout.weight_offset[i + 3]
    );

    // Channels first instead of last: same element count, wrong layout.
    let mut parts = patch_parts("scenes");
    parts.tensor("blocks.2.depthwise.conv.weight").shape = vec![c, 3, 3];
    let err = reject_patch(&parts.encode());
    assert!(
        matches!(&err, Error::TensorShape { file: FileKind::Patch, name, expected, got }
            if name == "blocks.2.depthwise.conv.weight" && *expected == [3, 3, c] && *got == [c, 3, 3]),
        "{err:?}"
    );

    // A depthwise patch replaces every depthwise layer or none.
    let mut parts = patch_parts("scenes");
    parts.remove_tensor("blocks.5.depthwise.conv.weight");
    let err = reject_patch(&parts.encode());
    assert!(
        matches!(&err, Error::MissingTensor { name, .. } if name == "blocks.5.depthwise.conv.weight"),
        "{err:?}"
    );
}

#[test]
fn classifier_tensors_are_checked() {
    let mut parts = patch_parts("flowers");
    parts.remove_tensor("classifier.bias");
    let err = reject_patch(&parts.encode());
    assert!(
        matches!(&err, Error::MissingTensor { name, .. } if name == "classifier.bias"),
        "{err:?}"
    );

    let mut parts = patch_parts("flowers");
    parts.remove_tensor("classifier.weight");
    let err = reject_patch(&parts.encode());
    assert!(
        matches!(&err, Error::MissingTensor { name, .. } if name == "classifier.weight"),
        "{err:?}"
    );

    // Classes come from the bias; the weight must be [classes, 1280].
    let mut parts = patch_parts("flowers");
    parts.tensor("classifier.weight").shape = vec![1280, 17];
    let err = reject_patch(&parts.encode());
    assert!(
        matches!(&err, Error::TensorShape { name, expected, got, .. }
            if name == "classifier.weight" && *expected == [17, 1280] && *got == [1280, 17]),
        "{err:?}"
    );
}

#[test]
fn patch_tensor_errors_are_typed() {
    // A layer without any BN tensors.
    let mut parts = patch_parts("objects");
    for field in ["gamma", "beta", "mean", "var"] {
        parts.remove_tensor(&format!("blocks.9.project.bn.{field}"));
    }
    let err = reject_patch(&parts.encode());
    assert!(
        matches!(&err, Error::MissingTensor { name, .. } if name == "blocks.9.project.bn.gamma"),
        "{err:?}"
    );

    // A backbone-only tensor has no place in a patch.
    let mut parts = patch_parts("objects");
    parts.push(Part::f32("stem.conv.weight", &[3, 3, 3, 16], &[0.0; 432]));
    let err = reject_patch(&parts.encode());
    assert!(
        matches!(&err, Error::UnknownTensor { file: FileKind::Patch, name } if name == "stem.conv.weight"),
        "{err:?}"
    );

    let mut parts = patch_parts("objects");
    parts.tensor("stem.bn.mean").dtype = "I32".into();
    let err = reject_patch(&parts.encode());
    assert!(
        matches!(&err, Error::TensorDtype { name, dtype, .. } if name == "stem.bn.mean" && dtype == "I32"),
        "{err:?}"
    );

    let mut parts = patch_parts("objects");
    parts.tensor("head.bn.var").shape = vec![2, 640];
    let err = reject_patch(&parts.encode());
    assert!(
        matches!(&err, Error::TensorShape { name, expected, got, .. }
            if name == "head.bn.var" && *expected == [1280] && *got == [2, 640]),
        "{err:?}"
    );
}

#[test]
fn labels_without_a_classifier_are_rejected() {
    let mut parts = patch_parts("objects");
    parts.set_meta("labels", "[\"a\", \"b\"]");
    let err = reject_patch(&parts.encode());
    assert!(
        matches!(
            &err,
            Error::InvalidMetadata {
                file: FileKind::Patch,
                key: "labels",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn upper_case_backbone_identity_is_accepted() {
    let mut parts = patch_parts("objects");
    let upper = parts
        .get_meta("backbone_sha256")
        .map(str::to_uppercase)
        .unwrap_or_default();
    parts.set_meta("backbone_sha256", &upper);
    let patch = load_patch(&parts.encode());
    assert_eq!(patch.backbone, small().identity);
}

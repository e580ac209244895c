//! Patch files: round trips of the synthetic task patches, the default patch,
//! and validation against the backbone a patch is loaded for.

use std::sync::OnceLock;

use patchrt::model::synthetic::{self, SyntheticSpec};
use patchrt::model::{LayerKind, LayerNorm, StoreAs};
use patchrt::patch::{DEFAULT_PATCH_ID, PatchKind};
use patchrt::{Backbone, Error, FileKind, Patch};
use patchrt_tests::{Tolerance, assert_close, parse_backbone, small_backbone_bytes};

use super::craft::{Part, Parts};
use super::{small, small_patch, small_patches};

/// The error a patch file is rejected with by the small backbone; panics if it loads.
fn rejected(bytes: &[u8]) -> Error {
    match Patch::from_bytes(bytes, small()) {
        Ok(p) => panic!("patch file unexpectedly loaded as {:?}", p.id),
        Err(e) => e,
    }
}

fn loaded(bytes: &[u8]) -> Patch {
    match Patch::from_bytes(bytes, small()) {
        Ok(p) => p,
        Err(e) => panic!("patch file does not load: {e}"),
    }
}

fn bytes_of(p: &Patch) -> Vec<u8> {
    p.to_bytes(small(), StoreAs::F32)
}

fn parts_of(task: &str) -> Parts {
    Parts::decode(FileKind::Patch, &bytes_of(&small_patch(task)))
}

fn scale_bias(p: &Patch) -> Vec<f32> {
    match p.scale_bias(small()) {
        Ok(v) => v,
        Err(e) => panic!("patch {} does not fold: {e}", p.id),
    }
}

/// A second synthetic backbone with other weights (and a wider network).
fn other_backbone() -> &'static Backbone {
    static OTHER: OnceLock<Backbone> = OnceLock::new();
    OTHER.get_or_init(|| {
        let spec = SyntheticSpec { width: 0.5, classes: 10, calibration_side: 32, seed: 7, ..Default::default() };
        parse_backbone(&synthetic::backbone_bytes(&spec))
    })
}

#[test]
fn synthetic_patches_round_trip() {
    let kinds: Vec<String> = small_patches().iter().map(|p| p.kind.to_string()).collect();
    assert_eq!(kinds, ["scale_bias", "scale_bias+depthwise", "scale_bias+classifier"]);
    for p in small_patches() {
        let q = loaded(&bytes_of(p));
        assert_eq!(q.id, p.id);
        assert_eq!(q.task, p.task);
        assert_eq!(q.resolution, Some(96));
        assert_eq!(q.kind, p.kind);
        assert_eq!(q.backbone, small().identity);
        assert_eq!(q.bn_epsilon, p.bn_epsilon);
        assert_eq!(q.norms, p.norms);
        assert_eq!(q.depthwise, p.depthwise);
        assert_eq!(q.classifier, p.classifier);
        assert_close(&scale_bias(&q), &scale_bias(p), Tolerance::Exact, &p.id);
    }
}

#[test]
fn f16_patch_round_trips_within_half_precision() {
    let p = small_patch("scenes");
    let q = loaded(&p.to_bytes(small(), StoreAs::F16));
    assert_eq!(q.kind, p.kind);
    let flat = |p: &Patch| -> Vec<f32> {
        let mut v: Vec<f32> = p.depthwise.clone().unwrap_or_default();
        for n in &p.norms {
            if let LayerNorm::Batch { gamma, beta, mean, var } = n {
                v.extend(gamma.iter().chain(beta).chain(mean).chain(var));
            }
        }
        v
    };
    let (got, want) = (flat(&q), flat(&p));
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        // f16 keeps 11 significant bits; subnormals are spaced 2^-24 apart.
        assert!((g - w).abs() <= w.abs() / 2048.0 + 1.0 / 33_554_432.0, "value {i}: {g} vs {w}");
    }
}

#[test]
fn depthwise_and_classifier_together_round_trip() {
    let mut p = small_patch("flowers");
    p.id = "both".into();
    p.resolution = None;
    p.depthwise = small_patch("scenes").depthwise;
    p.kind = PatchKind { depthwise: true, classifier: true };
    let bytes = bytes_of(&p);
    let parts = Parts::decode(FileKind::Patch, &bytes);
    assert_eq!(parts.get_meta("kind"), Some("scale_bias+depthwise+classifier"));
    assert_eq!(parts.get_meta("resolution"), Some("any"));
    let q = loaded(&bytes);
    assert_eq!(q.kind, p.kind);
    assert_eq!(q.resolution, None);
    assert_eq!(q.depthwise, p.depthwise);
    assert_eq!(q.classifier, p.classifier);
    let b = small();
    let extra = b.arch.depthwise_params() + 17 * b.arch.feature_channels as usize + 17;
    assert_eq!(q.parameter_count(b), b.arch.scale_bias_params() + extra);
}

#[test]
fn default_patch_is_the_backbones_own_batch_norm() {
    let b = small();
    let d = Patch::default_of(b);
    assert_eq!(d.id, DEFAULT_PATCH_ID);
    assert_eq!(d.id, "default");
    assert_eq!(d.task, b.config.task);
    assert_eq!(d.resolution, None);
    assert_eq!(d.kind, PatchKind { depthwise: false, classifier: false });
    assert_eq!(d.backbone, b.identity);
    assert!(d.depthwise.is_none() && d.classifier.is_none());
    // Layer i's scale sits at scale_bias_offset[i], its bias right after.
    let flat = scale_bias(&d);
    assert_eq!(flat.len(), b.arch.layout.scale_bias_len);
    assert_eq!(flat.len(), b.arch.scale_bias_params());
    for (i, layer) in b.arch.layers.iter().enumerate() {
        let (scale, bias) = b.norms[i].fold(b.config.bn_epsilon);
        let (off, c) = (b.arch.layout.scale_bias_offset[i], layer.out_channels as usize);
        assert_close(&flat[off..off + c], &scale, Tolerance::Exact, &format!("{} scale", layer.prefix()));
        assert_close(&flat[off + c..off + 2 * c], &bias, Tolerance::Exact, &format!("{} bias", layer.prefix()));
    }
    // "default" is reserved: the backbone's parameters never load as a patch file.
    let err = rejected(&bytes_of(&d));
    assert!(matches!(&err, Error::InvalidMetadata { key: "patch_id", value, .. } if value == "default"), "{err:?}");
}

#[test]
fn patch_for_another_backbone_is_rejected() {
    let p = small_patch("objects");
    let err = match Patch::from_bytes(&bytes_of(&p), other_backbone()) {
        Ok(_) => panic!("a patch loaded on a backbone it was not made for"),
        Err(e) => e,
    };
    // Reported before any tensor is checked, although the shapes differ too.
    assert!(
        matches!(&err, Error::PatchBackboneMismatch { patch_id, patch_backbone, loaded_backbone }
            if patch_id == "objects@96"
                && *patch_backbone == small().identity.hex()
                && *loaded_backbone == other_backbone().identity.hex()),
        "{err:?}"
    );
}

#[test]
fn backbone_file_is_not_a_patch() {
    let err = rejected(small_backbone_bytes());
    assert!(
        matches!(&err, Error::InvalidMetadata { file: FileKind::Patch, key: "format", value, .. } if value == "patchrt.backbone"),
        "{err:?}"
    );
    let err = rejected(&small_backbone_bytes()[..100]);
    assert!(matches!(&err, Error::Malformed { file: FileKind::Patch, .. }), "{err:?}");
}

#[test]
fn nan_or_infinity_in_patch_batch_norm_is_located() {
    let mut p = small_patch("objects");
    let name = small().arch.layers[4].bn_name("gamma");
    let LayerNorm::Batch { gamma, .. } = &mut p.norms[4] else { panic!("synthetic norms are unfolded") };
    gamma[2] = f32::NAN;
    let err = rejected(&bytes_of(&p));
    assert!(matches!(&err, Error::NonFinite { file: FileKind::Patch, name: n, index: 2 } if *n == name), "{err:?}");

    let mut parts = parts_of("scenes");
    parts.tensor("head.bn.beta").set_f32(0, f32::INFINITY);
    let err = rejected(&parts.encode());
    assert!(matches!(&err, Error::NonFinite { name, index: 0, .. } if name == "head.bn.beta"), "{err:?}");

    let mut parts = parts_of("scenes");
    parts.tensor("blocks.6.depthwise.conv.weight").set_f32(17, f32::NEG_INFINITY);
    let err = rejected(&parts.encode());
    assert!(matches!(&err, Error::NonFinite { name, index: 17, .. } if name == "blocks.6.depthwise.conv.weight"), "{err:?}");
}

#[test]
fn variance_below_minus_epsilon_is_non_finite() {
    let eps = small().config.bn_epsilon;
    // -1 makes var + eps negative (the fold takes a NaN root); -eps makes it
    // zero (the scale becomes infinite). Both are caught at load.
    for (layer, channel, value) in [(7, 3, -1.0), (20, 0, -eps)] {
        let mut p = small_patch("objects");
        let name = small().arch.layers[layer].bn_name("var");
        let LayerNorm::Batch { var, .. } = &mut p.norms[layer] else { panic!("synthetic norms are unfolded") };
        var[channel] = value;
        let err = rejected(&bytes_of(&p));
        assert!(
            matches!(&err, Error::NonFinite { file: FileKind::Patch, name: n, index } if *n == name && *index == channel),
            "var {value} at {name}[{channel}]: {err:?}"
        );
    }
}

#[test]
fn folded_patch_matches_its_unfolded_form() {
    for original in small_patches() {
        let mut p = original.clone();
        p.norms = p
            .norms
            .iter()
            .map(|n| {
                let (scale, bias) = n.fold(p.bn_epsilon);
                LayerNorm::Folded { scale, bias }
            })
            .collect();
        let bytes = bytes_of(&p);
        let parts = Parts::decode(FileKind::Patch, &bytes);
        assert!(parts.tensors.iter().any(|t| t.name == "stem.bn.scale"));
        assert!(!parts.tensors.iter().any(|t| t.name.ends_with(".bn.gamma")));
        let q = loaded(&bytes);
        assert!(q.norms.iter().all(|n| matches!(n, LayerNorm::Folded { .. })));
        assert_close(&scale_bias(&q), &scale_bias(original), Tolerance::Exact, &original.id);
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
        let mut parts = parts_of(task);
        parts.set_meta("kind", kind);
        let err = rejected(&parts.encode());
        assert!(
            matches!(&err, Error::InvalidMetadata { file: FileKind::Patch, key: "kind", value, .. } if value == kind),
            "{task} declared {kind}: {err:?}"
        );
    }
}

#[test]
fn classifier_labels_must_match_the_class_count() {
    let mut p = small_patch("flowers");
    p.classifier.as_mut().expect("flowers has a classifier").labels.pop();
    let err = rejected(&bytes_of(&p));
    assert!(matches!(&err, Error::InvalidMetadata { key: "labels", .. }), "{err:?}");

    let mut parts = parts_of("flowers");
    parts.set_meta("labels", "daisy, tulip");
    let err = rejected(&parts.encode());
    assert!(matches!(&err, Error::InvalidMetadata { key: "labels", value, .. } if value == "daisy, tulip"), "{err:?}");

    // Labels are optional.
    let mut parts = parts_of("flowers");
    parts.remove_meta("labels");
    let q = loaded(&parts.encode());
    assert!(q.classifier.expect("classifier").labels.is_empty());
}

#[test]
fn patch_id_is_checked() {
    let too_long = "x".repeat(129);
    for id in ["default", "", too_long.as_str()] {
        let mut parts = parts_of("objects");
        parts.set_meta("patch_id", id);
        let err = rejected(&parts.encode());
        assert!(
            matches!(&err, Error::InvalidMetadata { key: "patch_id", value, .. } if value == id),
            "id {id:?}: {err:?}"
        );
    }
    let mut parts = parts_of("objects");
    parts.set_meta("patch_id", &"x".repeat(128));
    assert_eq!(loaded(&parts.encode()).id.len(), 128);
}

#[test]
fn resolution_is_any_or_an_integer() {
    for bad in ["abc", "4", "-96", "96.0", "", "5000"] {
        let mut parts = parts_of("objects");
        parts.set_meta("resolution", bad);
        let err = rejected(&parts.encode());
        assert!(
            matches!(&err, Error::InvalidMetadata { key: "resolution", value, .. } if value == bad),
            "resolution {bad:?}: {err:?}"
        );
    }
    for (good, parsed) in [("any", None), ("160", Some(160)), ("8", Some(8))] {
        let mut parts = parts_of("objects");
        parts.set_meta("resolution", good);
        assert_eq!(loaded(&parts.encode()).resolution, parsed, "resolution {good:?}");
    }
}

#[test]
fn bn_epsilon_defaults_to_the_backbones() {
    let mut parts = parts_of("objects");
    parts.remove_meta("bn_epsilon");
    assert_eq!(loaded(&parts.encode()).bn_epsilon, small().config.bn_epsilon);

    let mut parts = parts_of("objects");
    parts.set_meta("bn_epsilon", "1e-3");
    let q = loaded(&parts.encode());
    assert_eq!(q.bn_epsilon, 1e-3);
    let (s, _) = q.norms[0].fold(1e-3);
    assert_close(&scale_bias(&q)[..s.len()], &s, Tolerance::Exact, "stem scale with eps 1e-3");

    for bad in ["0", "-1e-5", "tiny"] {
        let mut parts = parts_of("objects");
        parts.set_meta("bn_epsilon", bad);
        let err = rejected(&parts.encode());
        assert!(matches!(&err, Error::InvalidMetadata { key: "bn_epsilon", .. }), "{bad}: {err:?}");
    }
}

#[test]
fn missing_required_patch_metadata_is_named() {
    for key in ["format", "format_version", "patch_id", "backbone_sha256", "task", "resolution", "kind"] {
        let mut parts = parts_of("flowers");
        parts.remove_meta(key);
        let err = rejected(&parts.encode());
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
    assert_eq!(b.arch.layout.weight_offset[i] + layer.weight_len(), b.arch.layout.weight_offset[i + 3]);

    // Channels first instead of last: same element count, wrong layout.
    let mut parts = parts_of("scenes");
    parts.tensor("blocks.2.depthwise.conv.weight").shape = vec![c, 3, 3];
    let err = rejected(&parts.encode());
    assert!(
        matches!(&err, Error::TensorShape { file: FileKind::Patch, name, expected, got }
            if name == "blocks.2.depthwise.conv.weight" && *expected == [3, 3, c] && *got == [c, 3, 3]),
        "{err:?}"
    );

    // A depthwise patch replaces every depthwise layer or none.
    let mut parts = parts_of("scenes");
    parts.remove_tensor("blocks.5.depthwise.conv.weight");
    let err = rejected(&parts.encode());
    assert!(
        matches!(&err, Error::MissingTensor { name, .. } if name == "blocks.5.depthwise.conv.weight"),
        "{err:?}"
    );
}

#[test]
fn classifier_tensors_are_checked() {
    let mut parts = parts_of("flowers");
    parts.remove_tensor("classifier.bias");
    let err = rejected(&parts.encode());
    assert!(matches!(&err, Error::MissingTensor { name, .. } if name == "classifier.bias"), "{err:?}");

    let mut parts = parts_of("flowers");
    parts.remove_tensor("classifier.weight");
    let err = rejected(&parts.encode());
    assert!(matches!(&err, Error::MissingTensor { name, .. } if name == "classifier.weight"), "{err:?}");

    // Classes come from the bias; the weight must be [classes, 1280].
    let mut parts = parts_of("flowers");
    parts.tensor("classifier.weight").shape = vec![1280, 17];
    let err = rejected(&parts.encode());
    assert!(
        matches!(&err, Error::TensorShape { name, expected, got, .. }
            if name == "classifier.weight" && *expected == [17, 1280] && *got == [1280, 17]),
        "{err:?}"
    );
}

#[test]
fn patch_tensor_errors_are_typed() {
    // A layer without any BN tensors.
    let mut parts = parts_of("objects");
    for field in ["gamma", "beta", "mean", "var"] {
        parts.remove_tensor(&format!("blocks.9.project.bn.{field}"));
    }
    let err = rejected(&parts.encode());
    assert!(matches!(&err, Error::MissingTensor { name, .. } if name == "blocks.9.project.bn.gamma"), "{err:?}");

    // A backbone-only tensor has no place in a patch.
    let mut parts = parts_of("objects");
    parts.push(Part::f32("stem.conv.weight", &[3, 3, 3, 16], &[0.0; 432]));
    let err = rejected(&parts.encode());
    assert!(
        matches!(&err, Error::UnknownTensor { file: FileKind::Patch, name } if name == "stem.conv.weight"),
        "{err:?}"
    );

    let mut parts = parts_of("objects");
    parts.tensor("stem.bn.mean").dtype = "I32".into();
    let err = rejected(&parts.encode());
    assert!(matches!(&err, Error::TensorDtype { name, dtype, .. } if name == "stem.bn.mean" && dtype == "I32"), "{err:?}");

    let mut parts = parts_of("objects");
    parts.tensor("head.bn.var").shape = vec![2, 640];
    let err = rejected(&parts.encode());
    assert!(
        matches!(&err, Error::TensorShape { name, expected, got, .. }
            if name == "head.bn.var" && *expected == [1280] && *got == [2, 640]),
        "{err:?}"
    );
}

//! Patch files that load: round trips of the synthetic task patches, the
//! default patch, the folded form and the epsilon a patch folds with.

use std::sync::OnceLock;

use patchrt::model::synthetic::{self, SyntheticSpec};
use patchrt::model::{LayerNorm, StoreAs};
use patchrt::patch::{DEFAULT_PATCH_ID, PatchKind};
use patchrt::{Backbone, Error, FileKind, Patch};
use patchrt_tests::{Tolerance, assert_close, parse_backbone};

use super::craft::Parts;
use super::{
    HALF_RELATIVE, HALF_SUBNORMAL, load_patch, patch_bytes, patch_parts, patch_scale_bias,
    reject_patch, small, small_patch, small_patches,
};

/// A second synthetic backbone with other weights (and a wider network).
fn other_backbone() -> &'static Backbone {
    static OTHER: OnceLock<Backbone> = OnceLock::new();
    OTHER.get_or_init(|| {
        let spec = SyntheticSpec {
            width: 0.5,
            classes: 10,
            calibration_side: 32,
            seed: 7,
            ..Default::default()
        };
        parse_backbone(&synthetic::backbone_bytes(&spec))
    })
}

#[test]
fn synthetic_patches_round_trip() {
    let kinds: Vec<String> = small_patches().iter().map(|p| p.kind.to_string()).collect();
    assert_eq!(
        kinds,
        [
            "scale_bias",
            "scale_bias+depthwise",
            "scale_bias+classifier"
        ]
    );
    for p in small_patches() {
        let q = load_patch(&patch_bytes(p));
        assert_eq!(q.id, p.id);
        assert_eq!(q.task, p.task);
        assert_eq!(q.resolution, Some(96));
        assert_eq!(q.kind, p.kind);
        assert_eq!(q.backbone, small().identity);
        assert_eq!(q.bn_epsilon, p.bn_epsilon);
        assert_eq!(q.norms, p.norms);
        assert_eq!(q.depthwise, p.depthwise);
        assert_eq!(q.classifier, p.classifier);
        assert_close(
            &patch_scale_bias(&q),
            &patch_scale_bias(p),
            Tolerance::Exact,
            &p.id,
        );
    }
}

#[test]
fn f16_patch_round_trips_within_half_precision() {
    let p = small_patch("scenes");
    let q = load_patch(&p.to_bytes(small(), StoreAs::F16));
    assert_eq!(q.kind, p.kind);
    let flat = |p: &Patch| -> Vec<f32> {
        let mut v: Vec<f32> = p.depthwise.clone().unwrap_or_default();
        for n in &p.norms {
            if let LayerNorm::Batch {
                gamma,
                beta,
                mean,
                var,
            } = n
            {
                v.extend(gamma.iter().chain(beta).chain(mean).chain(var));
            }
        }
        v
    };
    let (got, want) = (flat(&q), flat(&p));
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!(
            (g - w).abs() <= w.abs() * HALF_RELATIVE + HALF_SUBNORMAL,
            "value {i}: {g} vs {w}"
        );
    }
}

#[test]
fn depthwise_and_classifier_together_round_trip() {
    let mut p = small_patch("flowers");
    p.id = "both".into();
    p.resolution = None;
    p.depthwise = small_patch("scenes").depthwise;
    p.kind = PatchKind {
        depthwise: true,
        classifier: true,
    };
    let bytes = patch_bytes(&p);
    let parts = Parts::decode(FileKind::Patch, &bytes);
    assert_eq!(
        parts.get_meta("kind"),
        Some("scale_bias+depthwise+classifier")
    );
    assert_eq!(parts.get_meta("resolution"), Some("any"));
    let q = load_patch(&bytes);
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
    assert_eq!(
        d.kind,
        PatchKind {
            depthwise: false,
            classifier: false
        }
    );
    assert_eq!(d.backbone, b.identity);
    assert!(d.depthwise.is_none() && d.classifier.is_none());
    // Layer i's scale sits at scale_bias_offset[i], its bias right after.
    let flat = patch_scale_bias(&d);
    assert_eq!(flat.len(), b.arch.layout.scale_bias_len);
    assert_eq!(flat.len(), b.arch.scale_bias_params());
    for (i, layer) in b.arch.layers.iter().enumerate() {
        let (scale, bias) = b.norms[i].fold(b.config.bn_epsilon);
        let (off, c) = (
            b.arch.layout.scale_bias_offset[i],
            layer.out_channels as usize,
        );
        assert_close(
            &flat[off..off + c],
            &scale,
            Tolerance::Exact,
            &format!("{} scale", layer.prefix()),
        );
        assert_close(
            &flat[off + c..off + 2 * c],
            &bias,
            Tolerance::Exact,
            &format!("{} bias", layer.prefix()),
        );
    }
    // "default" is reserved: the backbone's parameters never load as a patch file.
    let err = reject_patch(&patch_bytes(&d));
    assert!(
        matches!(&err, Error::InvalidMetadata { key: "patch_id", value, .. } if value == "default"),
        "{err:?}"
    );
}

#[test]
fn patch_for_another_backbone_is_rejected() {
    let p = small_patch("objects");
    let err = match Patch::from_bytes(&patch_bytes(&p), other_backbone()) {
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
        let bytes = patch_bytes(&p);
        let parts = Parts::decode(FileKind::Patch, &bytes);
        assert!(parts.tensors.iter().any(|t| t.name == "stem.bn.scale"));
        assert!(!parts.tensors.iter().any(|t| t.name.ends_with(".bn.gamma")));
        let q = load_patch(&bytes);
        assert!(
            q.norms
                .iter()
                .all(|n| matches!(n, LayerNorm::Folded { .. }))
        );
        assert_close(
            &patch_scale_bias(&q),
            &patch_scale_bias(original),
            Tolerance::Exact,
            &original.id,
        );
    }
}

#[test]
fn bn_epsilon_defaults_to_the_backbones() {
    let mut parts = patch_parts("objects");
    parts.remove_meta("bn_epsilon");
    assert_eq!(
        load_patch(&parts.encode()).bn_epsilon,
        small().config.bn_epsilon
    );

    let mut parts = patch_parts("objects");
    parts.set_meta("bn_epsilon", "1e-3");
    let q = load_patch(&parts.encode());
    assert_eq!(q.bn_epsilon, 1e-3);
    let (s, _) = q.norms[0].fold(1e-3);
    assert_close(
        &patch_scale_bias(&q)[..s.len()],
        &s,
        Tolerance::Exact,
        "stem scale with eps 1e-3",
    );

    for bad in ["0", "-1e-5", "tiny"] {
        let mut parts = patch_parts("objects");
        parts.set_meta("bn_epsilon", bad);
        let err = reject_patch(&parts.encode());
        assert!(
            matches!(
                &err,
                Error::InvalidMetadata {
                    key: "bn_epsilon",
                    ..
                }
            ),
            "{bad}: {err:?}"
        );
    }
}

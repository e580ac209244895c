//! The patch file: per-task BatchNorm, optional depthwise kernels and classifier.

use std::fmt;

use crate::error::{Error, FileKind, Result};
use crate::model::config::{FORMAT_VERSION, PATCH_FORMAT, parse_labels};
use crate::model::norm::{self, LayerNorm};
use crate::model::tensors::{StoreAs, TensorFile, TensorWriter};
use crate::model::{Backbone, BackboneId, Classifier, LayerKind};

/// Id of the patch made from the backbone's own parameters.
pub const DEFAULT_PATCH_ID: &str = "default";

/// What a patch carries beyond per-layer scale and bias.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PatchKind {
    /// Replacement depthwise kernels for every block (the paper's DW patch).
    pub depthwise: bool,
    /// A classifier of its own (any number of classes).
    pub classifier: bool,
}

impl fmt::Display for PatchKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("scale_bias")?;
        if self.depthwise {
            f.write_str("+depthwise")?;
        }
        if self.classifier {
            f.write_str("+classifier")?;
        }
        Ok(())
    }
}

/// A validated patch, on the host.
#[derive(Debug, Clone)]
pub struct Patch {
    /// Unique id.
    pub id: String,
    /// Task the patch serves.
    pub task: String,
    /// Resolution it was made for; `None` means any.
    pub resolution: Option<u32>,
    /// What it carries.
    pub kind: PatchKind,
    /// Backbone it was made for.
    pub backbone: BackboneId,
    /// BatchNorm epsilon used to fold `Batch` norms.
    pub bn_epsilon: f32,
    /// BN parameters of every layer.
    pub norms: Vec<LayerNorm>,
    /// Replacement depthwise kernels, flat in the backbone's depthwise layout.
    pub depthwise: Option<Vec<f32>>,
    /// Own classifier.
    pub classifier: Option<Classifier>,
}

impl Patch {
    /// The backbone's own parameters as a patch (id [`DEFAULT_PATCH_ID`]).
    pub fn default_of(backbone: &Backbone) -> Patch {
        Patch {
            id: DEFAULT_PATCH_ID.to_string(),
            task: backbone.config.task.clone(),
            resolution: None,
            kind: PatchKind {
                depthwise: false,
                classifier: false,
            },
            backbone: backbone.identity,
            bn_epsilon: backbone.config.bn_epsilon,
            norms: backbone.norms.clone(),
            depthwise: None,
            classifier: None,
        }
    }

    /// Parses a patch file and checks it against `backbone`.
    ///
    /// # Errors
    /// [`Error::Malformed`], metadata errors, [`Error::PatchBackboneMismatch`],
    /// tensor errors (missing, shape, dtype, non-finite), [`Error::UnknownTensor`].
    pub fn from_bytes(bytes: &[u8], backbone: &Backbone) -> Result<Patch> {
        let kind_f = FileKind::Patch;
        let mut file = TensorFile::parse(kind_f, bytes)?;
        let invalid =
            |key: &'static str, value: &str, expected: &'static str| Error::InvalidMetadata {
                file: kind_f,
                key,
                value: value.to_string(),
                expected,
            };
        let format = file.require_meta("format")?;
        if format != PATCH_FORMAT {
            return Err(invalid("format", format, "patchrt.patch"));
        }
        let version = file.require_meta("format_version")?;
        if version != FORMAT_VERSION {
            return Err(invalid("format_version", version, "1"));
        }
        let id = file.require_meta("patch_id")?.to_string();
        if id.is_empty() || id.len() > 128 || id == DEFAULT_PATCH_ID {
            return Err(invalid(
                "patch_id",
                &id,
                "1..=128 bytes of UTF-8, not \"default\"",
            ));
        }
        let declared = file.require_meta("backbone_sha256")?;
        if !declared.eq_ignore_ascii_case(&backbone.identity.hex()) {
            return Err(Error::PatchBackboneMismatch {
                patch_id: id,
                patch_backbone: declared.to_string(),
                loaded_backbone: backbone.identity.hex(),
            });
        }
        let task = file.require_meta("task")?.to_string();
        let res_s = file.require_meta("resolution")?;
        let resolution = match res_s {
            "any" => None,
            s => Some(
                s.parse::<u32>()
                    .ok()
                    .filter(|r| (8..=4096).contains(r))
                    .ok_or_else(|| invalid("resolution", s, "\"any\" or an integer in 8..=4096"))?,
            ),
        };
        let bn_epsilon = match file.meta("bn_epsilon") {
            None => backbone.config.bn_epsilon,
            Some(s) => s
                .parse()
                .ok()
                .filter(|e: &f32| e.is_finite() && *e > 0.0)
                .ok_or_else(|| invalid("bn_epsilon", s, "a positive float"))?,
        };
        let arch = &backbone.arch;
        let norms = norm::read_all(&mut file, arch)?;
        norm::fold_all(&norms, bn_epsilon, arch, kind_f)?;

        let has_dw = arch
            .layers
            .iter()
            .any(|l| l.kind == LayerKind::Depthwise && file.has(&l.weight_name()));
        let depthwise = if has_dw {
            let mut flat = vec![0.0; arch.layout.depthwise_len];
            for (layer, &off) in arch.layers.iter().zip(&arch.layout.weight_offset) {
                if layer.kind == LayerKind::Depthwise {
                    let w = file.f32(&layer.weight_name(), &layer.weight_shape())?;
                    flat[off..off + w.len()].copy_from_slice(&w);
                }
            }
            Some(flat)
        } else {
            None
        };

        let classifier = match file.shape("classifier.bias") {
            None => {
                if file.has("classifier.weight") {
                    return Err(Error::MissingTensor {
                        file: kind_f,
                        name: "classifier.bias".into(),
                    });
                }
                None
            }
            Some(shape) => {
                let classes = match shape.as_slice() {
                    [c] if (1..=1_000_000).contains(c) => *c,
                    _ => {
                        return Err(Error::TensorShape {
                            file: kind_f,
                            name: "classifier.bias".into(),
                            expected: vec![0],
                            got: shape,
                        });
                    }
                };
                let f = arch.feature_channels as usize;
                Some(Classifier {
                    weight: file.f32("classifier.weight", &[classes, f])?,
                    bias: file.f32("classifier.bias", &[classes])?,
                    labels: parse_labels(&file, classes as u32)?,
                })
            }
        };
        if classifier.is_none() && file.meta("labels").is_some() {
            return Err(invalid(
                "labels",
                "(present)",
                "labels only in a patch that carries a classifier",
            ));
        }
        let kind = PatchKind {
            depthwise: depthwise.is_some(),
            classifier: classifier.is_some(),
        };
        let kind_s = file.require_meta("kind")?;
        if kind_s != kind.to_string() {
            return Err(invalid(
                "kind",
                kind_s,
                "the kind matching the tensors present (e.g. scale_bias+classifier)",
            ));
        }
        file.reject_unread()?;
        Ok(Patch {
            id,
            task,
            resolution,
            kind,
            backbone: backbone.identity,
            bn_epsilon,
            norms,
            depthwise,
            classifier,
        })
    }

    /// Folded scale/bias of every layer, flat, in the backbone's layout.
    ///
    /// # Errors
    /// [`Error::NonFinite`] if the fold overflows.
    pub fn scale_bias(&self, backbone: &Backbone) -> Result<Vec<f32>> {
        norm::fold_all(
            &self.norms,
            self.bn_epsilon,
            &backbone.arch,
            FileKind::Patch,
        )
    }

    /// The same patch with every BatchNorm folded to scale and bias: what
    /// the engine computes with, and with f16 storage the smallest file
    /// (half the values of the four BN tensors, half the bytes each).
    pub fn folded(&self) -> Patch {
        Patch {
            norms: self
                .norms
                .iter()
                .map(|n| {
                    let (scale, bias) = n.fold(self.bn_epsilon);
                    LayerNorm::Folded { scale, bias }
                })
                .collect(),
            ..self.clone()
        }
    }

    /// Serialises the patch in the PatchRT format.
    pub fn to_bytes(&self, backbone: &Backbone, dtype: StoreAs) -> Vec<u8> {
        let mut w = TensorWriter::default();
        w.meta("format", PATCH_FORMAT)
            .meta("format_version", FORMAT_VERSION)
            .meta("patch_id", self.id.clone())
            .meta("task", self.task.clone())
            .meta(
                "resolution",
                self.resolution.map_or("any".to_string(), |r| r.to_string()),
            )
            .meta("kind", self.kind.to_string())
            .meta("backbone_sha256", self.backbone.hex())
            .meta("bn_epsilon", format!("{:e}", self.bn_epsilon));
        let arch = &backbone.arch;
        for (i, layer) in arch.layers.iter().enumerate() {
            self.norms[i].write(&mut w, layer, dtype);
            if let (Some(dw), LayerKind::Depthwise) = (&self.depthwise, layer.kind) {
                let off = arch.layout.weight_offset[i];
                w.tensor(
                    &layer.weight_name(),
                    &layer.weight_shape(),
                    &dw[off..off + layer.weight_len()],
                    dtype,
                );
            }
        }
        if let Some(c) = &self.classifier {
            let n = c.classes() as usize;
            w.tensor(
                "classifier.weight",
                &[n, arch.feature_channels as usize],
                &c.weight,
                dtype,
            );
            w.tensor("classifier.bias", &[n], &c.bias, dtype);
            if !c.labels.is_empty() {
                w.meta(
                    "labels",
                    serde_json::Value::from(c.labels.clone()).to_string(),
                );
            }
        }
        w.to_bytes()
    }

    /// Number of parameters the patch carries.
    pub fn parameter_count(&self, backbone: &Backbone) -> usize {
        backbone.arch.scale_bias_params()
            + self.depthwise.as_ref().map_or(0, Vec::len)
            + self
                .classifier
                .as_ref()
                .map_or(0, |c| c.weight.len() + c.bias.len())
    }
}

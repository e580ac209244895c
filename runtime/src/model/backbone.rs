//! The backbone file: shared weights, default BatchNorm and classifier.

use std::path::Path;

use crate::error::{Error, FileKind, Result};
use crate::model::arch::Architecture;
use crate::model::config::{BACKBONE_FORMAT, BackboneConfig, FORMAT_VERSION};
use crate::model::identity::BackboneId;
use crate::model::norm::{self, LayerNorm};
use crate::model::tensors::{StoreAs, TensorFile, TensorWriter};

/// A classifier: `logits = weight · features + bias`.
#[derive(Debug, Clone, PartialEq)]
pub struct Classifier {
    /// Row-major `[classes, features]`.
    pub weight: Vec<f32>,
    /// `[classes]`.
    pub bias: Vec<f32>,
    /// One name per class, or empty.
    pub labels: Vec<String>,
}

impl Classifier {
    /// Number of classes.
    pub fn classes(&self) -> u32 {
        self.bias.len() as u32
    }
}

/// A loaded backbone: everything patches share, on the host, in f32.
#[derive(Debug, Clone)]
pub struct Backbone {
    /// Metadata.
    pub config: BackboneConfig,
    /// Layer table derived from the metadata.
    pub arch: Architecture,
    /// SHA-256 identity of the tensors.
    pub identity: BackboneId,
    /// Per-layer conv weights (empty slices for depthwise layers), see
    /// [`crate::model::WeightLayout::weight_offset`].
    pub dense: Vec<f32>,
    /// All depthwise kernels, flat.
    pub depthwise: Vec<f32>,
    /// The backbone's own classifier.
    pub classifier: Classifier,
    /// The backbone's own BatchNorm parameters (its default patch).
    pub norms: Vec<LayerNorm>,
}

impl Backbone {
    /// Parses and validates a backbone file.
    ///
    /// # Errors
    /// [`Error::Malformed`], metadata errors, tensor errors, [`Error::UnknownTensor`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Backbone> {
        let mut file = TensorFile::parse(FileKind::Backbone, bytes)?;
        let config = BackboneConfig::from_file(&file)?;
        let arch = config.architecture();
        let identity = BackboneId::of(&file);
        // The buffers grow by the tensors actually read (the layout places
        // each buffer's layers in order, at most alignment padding apart),
        // never to the sizes the metadata's block table announces: a few bytes
        // of `blocks` can describe a network of hundreds of gigabytes, which
        // the file then lacks.
        let mut dense = Vec::new();
        let mut depthwise = Vec::new();
        for (layer, &off) in arch.layers.iter().zip(&arch.layout.weight_offset) {
            let w = file.f32(&layer.weight_name(), &layer.weight_shape())?;
            let dst = if layer.kind == crate::model::LayerKind::Depthwise {
                &mut depthwise
            } else {
                &mut dense
            };
            dst.resize(off, 0.0);
            dst.extend_from_slice(&w);
        }
        dense.resize(arch.layout.dense_len, 0.0);
        depthwise.resize(arch.layout.depthwise_len, 0.0);
        let norms = norm::read_all(&mut file, &arch)?;
        // Folding now surfaces a bad variance at load time, not at first inference.
        norm::fold_all(&norms, config.bn_epsilon, &arch, FileKind::Backbone)?;
        let f = arch.feature_channels as usize;
        let c = config.classes as usize;
        let classifier = Classifier {
            weight: file.f32("classifier.weight", &[c, f])?,
            bias: file.f32("classifier.bias", &[c])?,
            labels: config.labels.clone(),
        };
        file.reject_unread()?;
        Ok(Backbone {
            config,
            arch,
            identity,
            dense,
            depthwise,
            classifier,
            norms,
        })
    }

    /// Reads and parses a backbone file from disk.
    ///
    /// # Errors
    /// [`Error::Io`] and everything [`Backbone::from_bytes`] returns.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Backbone> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })?;
        Backbone::from_bytes(&bytes)
    }

    /// A layer's conv weight slice.
    pub fn layer_weight(&self, index: usize) -> &[f32] {
        let layer = &self.arch.layers[index];
        let off = self.arch.layout.weight_offset[index];
        let src = if layer.kind == crate::model::LayerKind::Depthwise {
            &self.depthwise
        } else {
            &self.dense
        };
        &src[off..off + layer.weight_len()]
    }

    /// Serialises a backbone in the PatchRT format.
    pub fn to_bytes(&self, dtype: StoreAs) -> Vec<u8> {
        let mut w = TensorWriter::default();
        let cfg = &self.config;
        w.meta("format", BACKBONE_FORMAT)
            .meta("format_version", FORMAT_VERSION)
            .meta("arch", cfg.arch.clone())
            .meta("width", cfg.width.to_string())
            .meta("classes", cfg.classes.to_string())
            .meta("bn_epsilon", format!("{:e}", cfg.bn_epsilon))
            .meta("padding", cfg.padding.as_str())
            .meta("input_mean", format!("{:?}", cfg.normalization.mean))
            .meta("input_scale", format!("{:?}", cfg.normalization.scale))
            .meta("native_resolution", cfg.native_resolution.to_string())
            .meta("task", cfg.task.clone());
        if cfg.blocks != crate::model::arch::MOBILENET_V2_BLOCKS {
            let rows: Vec<[u32; 5]> = cfg
                .blocks
                .iter()
                .map(|b| [b.expansion, b.channels, b.repeats, b.stride, b.kernel])
                .collect();
            w.meta("blocks", serde_json::json!(rows).to_string());
        }
        if !cfg.labels.is_empty() {
            w.meta(
                "labels",
                serde_json::Value::from(cfg.labels.clone()).to_string(),
            );
        }
        for (i, layer) in self.arch.layers.iter().enumerate() {
            w.tensor(
                &layer.weight_name(),
                &layer.weight_shape(),
                self.layer_weight(i),
                dtype,
            );
            self.norms[i].write(&mut w, layer, dtype);
        }
        let (c, f) = (cfg.classes as usize, self.arch.feature_channels as usize);
        w.tensor("classifier.weight", &[c, f], &self.classifier.weight, dtype);
        w.tensor("classifier.bias", &[c], &self.classifier.bias, dtype);
        w.to_bytes()
    }
}

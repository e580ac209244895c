//! Backbone metadata: what the network is and how its input is prepared.

use crate::error::{Error, FileKind, Result};
use crate::model::arch::{Architecture, BlockSpec, MOBILENET_V2_BLOCKS};
use crate::model::tensors::TensorFile;

/// Value of the `format` metadata key of a backbone file.
pub const BACKBONE_FORMAT: &str = "patchrt.backbone";
/// Value of the `format` metadata key of a patch file.
pub const PATCH_FORMAT: &str = "patchrt.patch";
/// Format version written and accepted.
pub const FORMAT_VERSION: &str = "1";

/// How convolutions pad their input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    /// `k / 2` on every side (PyTorch).
    Symmetric,
    /// TensorFlow/Keras `SAME`: total padding `max((ceil(n/s)-1)*s + k - n, 0)`,
    /// the smaller half before, the larger after (0 top/left, 1 bottom/right for
    /// a 3x3 stride-2 conv on an even size).
    SameUpper,
}

impl Padding {
    /// Metadata spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Padding::Symmetric => "symmetric",
            Padding::SameUpper => "same_upper",
        }
    }

    /// Padding before the first input element along one axis (top or left)
    /// for input size `n`, kernel `k`, stride `s`; and the output size.
    pub fn begin_and_output(self, n: u32, k: u32, s: u32) -> (u32, u32) {
        let out = n.div_ceil(s);
        match self {
            Padding::Symmetric => (k / 2, (n + 2 * (k / 2) - k) / s + 1),
            Padding::SameUpper => {
                let total = ((out - 1) * s + k).saturating_sub(n);
                (total / 2, out)
            }
        }
    }
}

/// Per-channel input normalisation applied to 0..255 pixel values:
/// `x' = (x - mean[c]) * scale[c]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Normalization {
    /// Per-channel mean on the 0..255 scale (R, G, B).
    pub mean: [f32; 3],
    /// Per-channel multiplier after subtracting the mean.
    pub scale: [f32; 3],
}

impl Normalization {
    /// ImageNet mean/std as torchvision uses them.
    pub const IMAGENET: Normalization = Normalization {
        mean: [123.675, 116.28, 103.53],
        scale: [1.0 / 58.395, 1.0 / 57.12, 1.0 / 57.375],
    };
}

/// Everything the backbone's metadata says about the network.
#[derive(Debug, Clone, PartialEq)]
pub struct BackboneConfig {
    /// Architecture family (`mobilenet_v2`).
    pub arch: String,
    /// Width multiplier.
    pub width: f32,
    /// Classes of the backbone's own classifier.
    pub classes: u32,
    /// BatchNorm epsilon of the source framework.
    pub bn_epsilon: f32,
    /// Padding convention of the source framework.
    pub padding: Padding,
    /// Input normalisation.
    pub normalization: Normalization,
    /// Resolution the backbone was trained at.
    pub native_resolution: u32,
    /// Task served by the backbone's own BN parameters and classifier.
    pub task: String,
    /// Class names of the backbone's classifier (may be empty).
    pub labels: Vec<String>,
    /// Inverted-residual block table.
    pub blocks: Vec<BlockSpec>,
}

impl BackboneConfig {
    /// Reads and validates the metadata of a backbone file.
    ///
    /// # Errors
    /// [`Error::MissingMetadata`] or [`Error::InvalidMetadata`].
    pub fn from_file(file: &TensorFile<'_>) -> Result<BackboneConfig> {
        let kind = FileKind::Backbone;
        let invalid =
            |key: &'static str, value: &str, expected: &'static str| Error::InvalidMetadata {
                file: kind,
                key,
                value: value.to_string(),
                expected,
            };
        let format = file.require_meta("format")?;
        if format != BACKBONE_FORMAT {
            return Err(invalid("format", format, "patchrt.backbone"));
        }
        let version = file.require_meta("format_version")?;
        if version != FORMAT_VERSION {
            return Err(invalid("format_version", version, "1"));
        }
        let arch = file.require_meta("arch")?;
        if arch != "mobilenet_v2" {
            return Err(invalid("arch", arch, "mobilenet_v2"));
        }
        let width_s = file.require_meta("width")?;
        let width: f32 = width_s
            .parse()
            .ok()
            .filter(|w: &f32| w.is_finite() && *w > 0.0 && *w <= 2.0)
            .ok_or_else(|| invalid("width", width_s, "a width multiplier in (0, 2]"))?;
        let classes_s = file.require_meta("classes")?;
        let classes: u32 = classes_s
            .parse()
            .ok()
            .filter(|c| (1..=1_000_000).contains(c))
            .ok_or_else(|| invalid("classes", classes_s, "an integer in 1..=1000000"))?;
        let eps_s = file.require_meta("bn_epsilon")?;
        let bn_epsilon: f32 = eps_s
            .parse()
            .ok()
            .filter(|e: &f32| e.is_finite() && *e > 0.0)
            .ok_or_else(|| invalid("bn_epsilon", eps_s, "a positive float"))?;
        let pad_s = file.require_meta("padding")?;
        let padding = match pad_s {
            "symmetric" => Padding::Symmetric,
            "same_upper" => Padding::SameUpper,
            _ => return Err(invalid("padding", pad_s, "symmetric or same_upper")),
        };
        let mean = parse_triplet(file, "input_mean")?;
        let scale = parse_triplet(file, "input_scale")?;
        let res_s = file.require_meta("native_resolution")?;
        let native_resolution: u32 = res_s
            .parse()
            .ok()
            .filter(|r| (8..=4096).contains(r))
            .ok_or_else(|| invalid("native_resolution", res_s, "an integer in 8..=4096"))?;
        let task = file.meta("task").unwrap_or("default").to_string();
        let labels = parse_labels(file, classes)?;
        let blocks = match file.meta("blocks") {
            None => MOBILENET_V2_BLOCKS.to_vec(),
            Some(s) => parse_blocks(s)
                .ok_or_else(|| invalid("blocks", s, "a JSON list of [t, c, n, s, k] rows"))?,
        };
        Ok(BackboneConfig {
            arch: arch.to_string(),
            width,
            classes,
            bn_epsilon,
            padding,
            normalization: Normalization { mean, scale },
            native_resolution,
            task,
            labels,
            blocks,
        })
    }

    /// The layer table this configuration describes.
    pub fn architecture(&self) -> Architecture {
        Architecture::mobilenet_v2(self.width, self.classes, &self.blocks)
    }
}

fn parse_triplet(file: &TensorFile<'_>, key: &'static str) -> Result<[f32; 3]> {
    let s = file.require_meta(key)?;
    let parsed: Option<Vec<f32>> = serde_json::from_str(s).ok();
    match parsed.as_deref() {
        Some([a, b, c]) if [a, b, c].iter().all(|v| v.is_finite()) => Ok([*a, *b, *c]),
        _ => Err(Error::InvalidMetadata {
            file: file.kind(),
            key,
            value: s.to_string(),
            expected: "a JSON list of three finite numbers",
        }),
    }
}

/// Reads the optional `labels` key: a JSON list of exactly `classes` strings.
pub(crate) fn parse_labels(file: &TensorFile<'_>, classes: u32) -> Result<Vec<String>> {
    let Some(s) = file.meta("labels") else {
        return Ok(Vec::new());
    };
    match serde_json::from_str::<Vec<String>>(s) {
        Ok(labels) if labels.len() == classes as usize => Ok(labels),
        _ => Err(Error::InvalidMetadata {
            file: file.kind(),
            key: "labels",
            value: s.chars().take(80).collect(),
            expected: "a JSON list of one string per class",
        }),
    }
}

fn parse_blocks(s: &str) -> Option<Vec<BlockSpec>> {
    let rows: Vec<[u32; 5]> = serde_json::from_str(s).ok()?;
    let ok = |r: &[u32; 5]| {
        (1..=8).contains(&r[0])
            && (1..=4096).contains(&r[1])
            && (1..=16).contains(&r[2])
            && (1..=2).contains(&r[3])
            && matches!(r[4], 3 | 5)
    };
    if rows.is_empty() || !rows.iter().all(ok) {
        return None;
    }
    Some(
        rows.into_iter()
            .map(|r| BlockSpec {
                expansion: r[0],
                channels: r[1],
                repeats: r[2],
                stride: r[3],
                kernel: r[4],
            })
            .collect(),
    )
}

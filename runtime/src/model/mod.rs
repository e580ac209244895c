//! File formats: the backbone (shared weights) and what it describes.
//!
//! `docs/formats.md` is the normative description of the files read here.

pub mod arch;
pub mod backbone;
pub mod config;
pub mod identity;
pub mod norm;
pub mod synthetic;
pub mod tensors;

pub use arch::{Architecture, BlockSpec, ConvLayer, LayerKind, WeightLayout};
pub use backbone::{Backbone, Classifier};
pub use config::{BackboneConfig, Normalization, Padding};
pub use identity::BackboneId;
pub use norm::LayerNorm;
pub use tensors::StoreAs;

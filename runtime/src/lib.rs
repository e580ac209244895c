/*!
PatchRT: one shared MobileNetV2 backbone on the GPU, many tiny model patches.

A *model patch* is the per-channel scale and bias of every BatchNorm layer
(about 1% of the parameters), optionally with replacement depthwise kernels
and a classifier of its own. The [`Engine`] uploads one [`Backbone`] once and
keeps every loaded [`Patch`] resident on the GPU, each with its bind group
built at load time. Activating a patch therefore moves no data: the next
inference simply binds a different group. This is what makes task and
resolution switches cost microseconds rather than a model reload.

Data path, by module:
- [`model`]: backbone file format, layer table, synthetic default model;
- [`patch`]: patch file format and folding of BatchNorm into scale/bias;
- [`gpu`]: adapter and device, buffers, transfers;
- [`ops`]: one module per kernel family, each beside its WGSL in `shaders/`;
- [`engine`]: the resident model, patch registry and one-submit inference;
- [`policy`]: the resource policy choosing resolution and cascade from battery, heat and budgets;
- [`reference`]: the plain CPU implementation every kernel is tested against;
- [`cascade`]: greedy confidence cascades over resolutions (build, replay, file);
- [`ota`]: signed over-the-air patch bundles, atomic install and rollback.
*/
#![deny(missing_docs)]

pub mod cascade;
pub mod engine;
pub mod error;
pub mod gpu;
pub mod image;
pub mod model;
pub mod ops;
pub mod ota;
pub mod patch;
pub mod policy;
pub mod reference;
pub mod shaders;

pub use engine::{
    CascadeOutcome, CascadeStep, Classification, Engine, EngineOptions, LayerProfile, LayerTiming,
    MemoryReport, Prediction, ProfileOptions, TimestampMethod,
};
pub use error::{Error, FileKind, Result};
pub use gpu::{AdapterPreference, AdapterReport, ContextOptions, GpuContext};
pub use image::{Resolution, RgbaImage};
pub use model::{Backbone, BackboneId};
pub use patch::Patch;
pub use shaders::WeightPrecision;

//! The GPU side: adapter and device, bind-group layouts, pipelines, transfers.

pub mod adapter;
pub mod context;
pub mod layouts;
pub mod pipeline_cache;
pub mod pipelines;
pub mod transfer;

pub use adapter::{AdapterPreference, AdapterReport};
pub use context::{ContextOptions, GpuContext};
pub use pipeline_cache::{PipelineCacheReport, PipelineCacheState};

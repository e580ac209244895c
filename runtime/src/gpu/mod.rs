//! The GPU side: adapter and device, bind-group layouts, pipelines, transfers.

pub mod adapter;
pub mod context;
pub mod layouts;
pub mod pipelines;
pub mod transfer;

pub use adapter::{AdapterPreference, AdapterReport};
pub use context::GpuContext;

//! Model patches: the file format, folding, and residency bookkeeping.

pub mod file;
pub mod registry;

pub use file::{Patch, PatchKind, DEFAULT_PATCH_ID};
pub use registry::{PatchInfo, PatchRegistry};

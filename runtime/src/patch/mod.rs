//! Model patches: the file format, folding, and residency bookkeeping.

pub mod file;
pub mod registry;

pub use file::{DEFAULT_PATCH_ID, Patch, PatchKind};
pub use registry::{PatchInfo, PatchRegistry};

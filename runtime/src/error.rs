//! The runtime's one error type.
//!
//! Every fallible public function returns [`Result`]. Variants carry the data a
//! caller (or a log reader) needs to act: the tensor, the expected and actual
//! shape, the patch id. Nothing here is stringly typed except free-form detail
//! from a lower layer (wgpu, safetensors) that has no structure to keep.

use std::fmt;

/// Which kind of file a format error was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A backbone file (`patchrt.backbone`).
    Backbone,
    /// A patch file (`patchrt.patch`).
    Patch,
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileKind::Backbone => "backbone",
            FileKind::Patch => "patch",
        })
    }
}

/// Everything that can go wrong in PatchRT.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No GPU adapter matched (or none exists at all).
    #[error(
        "no GPU adapter{}; available: [{}]. On Debian install Mesa's software Vulkan driver: apt-get install -y mesa-vulkan-drivers libvulkan1",
        requested.as_ref().map(|r| format!(" matching {r:?}")).unwrap_or_default(),
        available.join(", ")
    )]
    NoAdapter {
        /// The adapter name filter that was asked for, if any.
        requested: Option<String>,
        /// Names of the adapters that do exist.
        available: Vec<String>,
    },
    /// The adapter refused to create a device with the features or limits needed.
    #[error("could not create a GPU device on {adapter}: {message}")]
    DeviceRequest {
        /// Adapter name.
        adapter: String,
        /// The driver's message.
        message: String,
    },
    /// f16 weight storage was required but the adapter lacks `shader-f16`.
    #[error("f16 weight storage requested but adapter {adapter} has no shader-f16 support")]
    F16Unsupported {
        /// Adapter name.
        adapter: String,
    },
    /// A WGSL module failed to compile or validate.
    #[error("shader {shader} is invalid: {message}")]
    ShaderInvalid {
        /// Shader family name.
        shader: &'static str,
        /// Validation message.
        message: String,
    },
    /// GPU timing was asked for but the device cannot write the timestamps needed.
    #[error(
        "adapter {adapter} has no {needed} support, so GPU time cannot be measured per dispatch"
    )]
    TimestampsUnsupported {
        /// Adapter name.
        adapter: String,
        /// The wgpu feature that is missing (`timestamp-query` or
        /// `timestamp-query-inside-passes`).
        needed: &'static str,
    },
    /// A GPU operation failed at run time (validation error, lost device, failed map).
    #[error("GPU operation {operation} failed: {message}")]
    Gpu {
        /// What was being done.
        operation: &'static str,
        /// The driver's or wgpu's message.
        message: String,
    },
    /// The file is not a readable safetensors file (truncated, bad header, bad offsets).
    #[error("{file} file is malformed: {detail}")]
    Malformed {
        /// Which kind of file.
        file: FileKind,
        /// What the parser reported.
        detail: String,
    },
    /// A required metadata key is absent.
    #[error("{file} file has no metadata key {key:?}")]
    MissingMetadata {
        /// Which kind of file.
        file: FileKind,
        /// The missing key.
        key: &'static str,
    },
    /// A metadata value could not be used.
    #[error("{file} metadata {key:?} = {value:?} is invalid: expected {expected}")]
    InvalidMetadata {
        /// Which kind of file.
        file: FileKind,
        /// The key.
        key: &'static str,
        /// The value found.
        value: String,
        /// What would have been accepted.
        expected: &'static str,
    },
    /// A tensor the format requires is absent.
    #[error("{file} file is missing tensor {name}")]
    MissingTensor {
        /// Which kind of file.
        file: FileKind,
        /// Tensor name.
        name: String,
    },
    /// A tensor name the format does not know.
    #[error("{file} file has unknown tensor {name}")]
    UnknownTensor {
        /// Which kind of file.
        file: FileKind,
        /// Tensor name.
        name: String,
    },
    /// A tensor has the wrong shape for this architecture.
    #[error("{file} tensor {name} has shape {got:?}, expected {expected:?}")]
    TensorShape {
        /// Which kind of file.
        file: FileKind,
        /// Tensor name.
        name: String,
        /// Shape the architecture requires.
        expected: Vec<usize>,
        /// Shape found in the file.
        got: Vec<usize>,
    },
    /// A tensor is stored in a dtype other than F32 or F16.
    #[error("{file} tensor {name} has dtype {dtype}, expected F32 or F16")]
    TensorDtype {
        /// Which kind of file.
        file: FileKind,
        /// Tensor name.
        name: String,
        /// The dtype found.
        dtype: String,
    },
    /// A tensor holds NaN or infinity (or a BN variance that makes the fold infinite).
    #[error("{file} tensor {name} has a non-finite value at index {index}")]
    NonFinite {
        /// Which kind of file.
        file: FileKind,
        /// Tensor name.
        name: String,
        /// First offending element.
        index: usize,
    },
    /// A patch names a different backbone than the one loaded.
    #[error(
        "patch {patch_id:?} was made for backbone {patch_backbone}, but the loaded backbone is {loaded_backbone}"
    )]
    PatchBackboneMismatch {
        /// Patch id.
        patch_id: String,
        /// Backbone SHA-256 the patch declares.
        patch_backbone: String,
        /// SHA-256 identity of the backbone the engine holds.
        loaded_backbone: String,
    },
    /// No resident patch has this id.
    #[error("no resident patch with id {id:?}")]
    UnknownPatch {
        /// Requested id.
        id: String,
    },
    /// A patch with this id is already resident.
    #[error("a patch with id {id:?} is already resident; unload it first")]
    DuplicatePatch {
        /// The id.
        id: String,
    },
    /// The patch cannot be unloaded or evicted (it is the backbone's default or active).
    #[error("patch {id:?} cannot be unloaded: {reason}")]
    PatchPinned {
        /// The id.
        id: String,
        /// Why.
        reason: &'static str,
    },
    /// No resident patch serves this task at this resolution.
    #[error(
        "task {task:?} has no patch for resolution {resolution} nor a resolution-independent one"
    )]
    NoPatchForTask {
        /// Task name.
        task: String,
        /// Requested resolution.
        resolution: u32,
    },
    /// The resolution is not one the engine was configured for.
    #[error("resolution {requested} is not served; this engine serves {supported:?}")]
    UnknownResolution {
        /// Requested side length.
        requested: u32,
        /// Side lengths the engine serves.
        supported: Vec<u32>,
    },
    /// The input image cannot be used.
    #[error("image {width}x{height} rejected: {reason}")]
    InvalidImage {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// Why.
        reason: String,
    },
    /// A patch does not fit the patch byte budget even after evicting every unpinned patch.
    #[error(
        "patch {id:?} needs {needed} bytes of GPU memory, over the patch budget of {budget} bytes"
    )]
    PatchBudgetExceeded {
        /// Patch id.
        id: String,
        /// Bytes the patch needs on the GPU.
        needed: u64,
        /// Configured budget.
        budget: u64,
    },
    /// A pass over several patches was asked for none, or for more than the
    /// engine serves in one pass.
    #[error("a pass serves 1 to {max} patches; {requested} were asked for")]
    BatchSize {
        /// Patches asked for.
        requested: usize,
        /// The most one pass serves ([`crate::Engine::max_patches_per_pass`]).
        max: usize,
    },
    /// An engine option is out of range.
    #[error("invalid option {option}: {reason}")]
    InvalidOption {
        /// Option name.
        option: &'static str,
        /// Why.
        reason: String,
    },
    /// Reading a file from disk failed.
    #[error("cannot read {path}: {source}")]
    Io {
        /// Path being read.
        path: String,
        /// Underlying error.
        source: std::io::Error,
    },
}

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

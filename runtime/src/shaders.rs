//! The WGSL sources, compiled into the binary.
//!
//! A kernel module is three plain WGSL files concatenated: a weight-precision
//! prelude (`weights_f32` or `weights_f16`, which must come first because of
//! `enable f16;`), `common` (parameter record and epilogue), then the family
//! file. No text is substituted; each family file is ordinary WGSL that relies
//! on the declarations of the two files before it.

/// One WGSL file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShaderFile {
    /// File stem under `shaders/`.
    pub name: &'static str,
    /// Source text.
    pub source: &'static str,
}

macro_rules! shader {
    ($name:literal) => {
        ShaderFile {
            name: $name,
            source: include_str!(concat!("../../shaders/", $name, ".wgsl")),
        }
    };
}

/// f32 weight prelude.
pub const WEIGHTS_F32: ShaderFile = shader!("weights_f32");
/// f16 weight prelude.
pub const WEIGHTS_F16: ShaderFile = shader!("weights_f16");
/// Parameter record and epilogue shared by all kernels.
pub const COMMON: ShaderFile = shader!("common");
/// Input resize and normalisation.
pub const PREPROCESS: ShaderFile = shader!("preprocess");
/// Dense stem convolution.
pub const STEM_CONV: ShaderFile = shader!("stem_conv");
/// 1x1 convolution with optional residual.
pub const POINTWISE: ShaderFile = shader!("pointwise");
/// Depthwise convolution.
pub const DEPTHWISE: ShaderFile = shader!("depthwise");
/// Pooling, classifier and softmax.
pub const POOL_HEAD: ShaderFile = shader!("pool_head");

/// Every file in `shaders/`; a test checks this against the directory.
pub const ALL: [ShaderFile; 8] = [
    WEIGHTS_F32,
    WEIGHTS_F16,
    COMMON,
    PREPROCESS,
    STEM_CONV,
    POINTWISE,
    DEPTHWISE,
    POOL_HEAD,
];

/// Kernel family files (those with entry points).
pub const FAMILIES: [ShaderFile; 5] = [PREPROCESS, STEM_CONV, POINTWISE, DEPTHWISE, POOL_HEAD];

/// Storage precision of weights on the GPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WeightPrecision {
    /// 32-bit floats.
    F32,
    /// Half floats, widened to f32 on load (needs `shader-f16`).
    F16,
}

/// The complete module source of a family at a weight precision.
pub fn module_source(family: ShaderFile, precision: WeightPrecision) -> String {
    let prelude = match precision {
        WeightPrecision::F32 => WEIGHTS_F32,
        WeightPrecision::F16 => WEIGHTS_F16,
    };
    [prelude.source, COMMON.source, family.source].join("\n")
}

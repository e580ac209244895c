// Weight storage prelude, f16 variant (needs the adapter's shader-f16). Weights
// are stored as f16 and widened on load: arithmetic stays f32 everywhere.
// Bindings (and the vec4 views) as in `weights_f32.wgsl`.
enable f16;

@group(1) @binding(2) var<storage, read> weights: array<f16>;
@group(2) @binding(6) var<storage, read> dw_weights: array<f16>;
@group(2) @binding(7) var<storage, read> cls_weights: array<f16>;
@group(1) @binding(2) var<storage, read> weights4: array<vec4<f16>>;
@group(2) @binding(6) var<storage, read> dw_weights4: array<vec4<f16>>;
@group(2) @binding(7) var<storage, read> cls_weights4: array<vec4<f16>>;

fn load_weight(i: u32) -> f32 {
    return f32(weights[i]);
}

fn load_dw(i: u32) -> f32 {
    return f32(dw_weights[i]);
}

fn load_cls(i: u32) -> f32 {
    return f32(cls_weights[i]);
}

// Dense weights 4i .. 4i+3 (one 8-byte load).
fn load_weight4(i: u32) -> vec4<f32> {
    return vec4<f32>(weights4[i]);
}

// Depthwise weights 4i .. 4i+3.
fn load_dw4(i: u32) -> vec4<f32> {
    return vec4<f32>(dw_weights4[i]);
}

// Classifier weights 4i .. 4i+3.
fn load_cls4(i: u32) -> vec4<f32> {
    return vec4<f32>(cls_weights4[i]);
}

// Weight storage prelude, f32 variant. Prepended to every kernel module when
// the engine stores weights in f32; `weights_f16.wgsl` is its twin.
// Bindings: group 1 binding 2 = backbone dense conv weights;
//           group 2 binding 6 = depthwise kernels (patch's or backbone's);
//           group 2 binding 7 = classifier weights (patch's or backbone's).
// `weights4` and `dw_weights4` view the same bindings as vec4s; an entry
// point uses one view or the other, never both (WGSL allows two variables on
// one binding when no entry point uses both). One vec4 load costs llvmpipe
// about what one scalar load costs, so the vec4 kernels load 4x less often.

@group(1) @binding(2) var<storage, read> weights: array<f32>;
@group(2) @binding(6) var<storage, read> dw_weights: array<f32>;
@group(2) @binding(7) var<storage, read> cls_weights: array<f32>;
@group(1) @binding(2) var<storage, read> weights4: array<vec4<f32>>;
@group(2) @binding(6) var<storage, read> dw_weights4: array<vec4<f32>>;
@group(2) @binding(7) var<storage, read> cls_weights4: array<vec4<f32>>;

fn load_weight(i: u32) -> f32 {
    return weights[i];
}

fn load_dw(i: u32) -> f32 {
    return dw_weights[i];
}

fn load_cls(i: u32) -> f32 {
    return cls_weights[i];
}

// Dense weights 4i .. 4i+3.
fn load_weight4(i: u32) -> vec4<f32> {
    return weights4[i];
}

// Depthwise weights 4i .. 4i+3.
fn load_dw4(i: u32) -> vec4<f32> {
    return dw_weights4[i];
}

// Classifier weights 4i .. 4i+3.
fn load_cls4(i: u32) -> vec4<f32> {
    return cls_weights4[i];
}

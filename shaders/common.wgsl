// Shared by every kernel: the per-layer parameter record (selected with a
// dynamic uniform offset), the batch record, the patches' folded scale/bias,
// and the conv epilogue.
// Host twins: `LayerParams` and `BatchParams` in runtime/src/ops/mod.rs.

struct LayerParams {
    in_h: u32,
    in_w: u32,
    in_c: u32,
    pad0: u32,
    out_h: u32,
    out_w: u32,
    out_c: u32,
    pad1: u32,
    kernel: u32,
    stride: u32,
    pad_top: u32,
    pad_left: u32,
    weight_offset: u32,
    scale_offset: u32,
    relu6: u32,
    residual: u32,
    norm_mean: vec4<f32>,
    norm_scale: vec4<f32>,
}

// One pass may serve several patches over one frame (batch index = patch).
// Patch b's activations follow patch b-1's, densely packed per layer; its
// scale/bias sit scale_bias_stride elements after patch b-1's and its
// depthwise kernels dw_stride elements after (0: all patches share them). A
// single-patch inference binds {1, 0, 0}, so b is always 0 there.
struct BatchParams {
    patches: u32,
    scale_bias_stride: u32,
    dw_stride: u32,
    pad: u32,
}

@group(0) @binding(0) var<uniform> params: LayerParams;
@group(2) @binding(9) var<uniform> batch: BatchParams;
// Every kernel writes its result at binding 4.
@group(0) @binding(4) var<storage, read_write> output: array<f32>;
// Folded BatchNorm of the active patch: layer i's scales at scale_offset,
// its biases right after (out_c values each).
@group(2) @binding(3) var<storage, read> scale_bias: array<f32>;
// vec4 views of the output and scale/bias bindings, for the vec4 entry points
// (which need channel counts and offsets that are multiples of 4).
@group(0) @binding(4) var<storage, read_write> output4: array<vec4<f32>>;
@group(2) @binding(3) var<storage, read> scale_bias4: array<vec4<f32>>;

// Elements of one patch's input and output tensors of this layer.
fn input_len() -> u32 {
    return params.in_h * params.in_w * params.in_c;
}

fn output_len() -> u32 {
    return params.out_h * params.out_w * params.out_c;
}

// Where patch b's scales of this layer start in the scale/bias binding.
fn scale_start(b: u32) -> u32 {
    return b * batch.scale_bias_stride + params.scale_offset;
}

// BatchNorm (folded) of patch b and optional ReLU6 for output channel `co`.
fn epilogue(acc: f32, b: u32, co: u32) -> f32 {
    let s = scale_start(b);
    let v = acc * scale_bias[s + co] + scale_bias[s + params.out_c + co];
    if params.relu6 != 0u {
        return clamp(v, 0.0, 6.0);
    }
    return v;
}

// Patch b's folded BatchNorm scales of output channels 4*c4 .. 4*c4+3.
fn scale4(b: u32, c4: u32) -> vec4<f32> {
    return scale_bias4[scale_start(b) / 4u + c4];
}

// Patch b's folded BatchNorm biases of output channels 4*c4 .. 4*c4+3.
fn shift4(b: u32, c4: u32) -> vec4<f32> {
    return scale_bias4[(scale_start(b) + params.out_c) / 4u + c4];
}

// The epilogue on four channels whose scale and bias the caller loaded once.
fn epilogue4(acc: vec4<f32>, scale: vec4<f32>, shift: vec4<f32>) -> vec4<f32> {
    let v = acc * scale + shift;
    if params.relu6 != 0u {
        return clamp(v, vec4<f32>(0.0), vec4<f32>(6.0));
    }
    return v;
}

// Writes patch b's 4-pixel x 4-channel register tile whose first pixel is
// output (oy, ox0) and first channel c0, through the epilogue, skipping
// pixels and channels past the edges.
fn store_row_tile(tile: array<vec4<f32>, 4>, b: u32, oy: u32, ox0: u32, c0: u32) {
    var t = tile;
    for (var j = 0u; j < 4u; j++) {
        let ox = ox0 + j;
        if ox >= params.out_w {
            break;
        }
        let o = b * output_len() + (oy * params.out_w + ox) * params.out_c;
        for (var l = 0u; l < 4u; l++) {
            if c0 + l < params.out_c {
                output[o + c0 + l] = epilogue(t[j][l], b, c0 + l);
            }
        }
    }
}

// depthwise: kxk depthwise convolution (k = 3 or 5, stride 1 or 2), weights
// [k, k, c], fused folded BatchNorm and ReLU6.
// Bindings: 0 params, 1 input (HWC f32), 6 depthwise weights, 3 scale/bias, 4 output.
// Workgroup 8x8: x = group of 4 channels, y = output pixel.
// Reference: runtime/src/reference/depthwise.rs

@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(4) var<storage, read_write> output: array<f32>;

@compute @workgroup_size(8, 8, 1)
fn depthwise(@builtin(global_invocation_id) gid: vec3<u32>) {
    let c0 = gid.x * 4u;
    let pixel = gid.y;
    let c = params.out_c;
    if c0 >= c || pixel >= params.out_h * params.out_w {
        return;
    }
    let oy = pixel / params.out_w;
    let ox = pixel % params.out_w;
    let k = params.kernel;
    // Lanes past the last channel read channel c-1 and are never written.
    let lanes = min(vec4<u32>(c0, c0 + 1u, c0 + 2u, c0 + 3u), vec4<u32>(c - 1u));
    var acc = vec4<f32>(0.0);
    for (var ky = 0u; ky < k; ky++) {
        // Unsigned wrap-around makes rows above the image fail the bound check.
        let iy = oy * params.stride + ky - params.pad_top;
        if iy >= params.in_h {
            continue;
        }
        for (var kx = 0u; kx < k; kx++) {
            let ix = ox * params.stride + kx - params.pad_left;
            if ix >= params.in_w {
                continue;
            }
            let base = (iy * params.in_w + ix) * c;
            let w = params.weight_offset + (ky * k + kx) * c;
            let x = vec4<f32>(input[base + lanes.x], input[base + lanes.y], input[base + lanes.z], input[base + lanes.w]);
            let wv = vec4<f32>(load_dw(w + lanes.x), load_dw(w + lanes.y), load_dw(w + lanes.z), load_dw(w + lanes.w));
            acc += x * wv;
        }
    }
    let o = pixel * c;
    for (var l = 0u; l < 4u; l++) {
        if c0 + l < c {
            output[o + c0 + l] = epilogue(acc[l], c0 + l);
        }
    }
}

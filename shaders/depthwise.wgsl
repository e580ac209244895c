// depthwise: kxk depthwise convolution (k = 3 or 5, stride 1 or 2), weights
// [k, k, c], fused folded BatchNorm and ReLU6.
// Bindings: 0 params, 1 input (HWC f32), 6 depthwise weights, 3 scale/bias, 4 output.
// Workgroup 8x8: x = group of 4 channels, y = group of 4 output pixels along
// a row. Each invocation keeps a 4-pixel x 4-channel tile so every weight
// load serves four pixels (work per invocation is what counts on CPU-like GPUs).
// Reference: runtime/src/reference/depthwise.rs

@group(0) @binding(1) var<storage, read> input: array<f32>;

const TILE: u32 = 4u;

// Input channels of a 4-channel lane group at input pixel (iy, ix), or zero
// when (iy, ix) falls in the padding. Unsigned wrap-around makes coordinates
// above or left of the image fail the bound check.
fn load4(iy: u32, ix: u32, lanes: vec4<u32>) -> vec4<f32> {
    if iy >= params.in_h || ix >= params.in_w {
        return vec4<f32>(0.0);
    }
    let base = (iy * params.in_w + ix) * params.in_c;
    return vec4<f32>(input[base + lanes.x], input[base + lanes.y], input[base + lanes.z], input[base + lanes.w]);
}

@compute @workgroup_size(8, 8, 1)
fn depthwise(@builtin(global_invocation_id) gid: vec3<u32>) {
    let c0 = gid.x * 4u;
    let c = params.out_c;
    let tiles_per_row = (params.out_w + TILE - 1u) / TILE;
    let oy = gid.y / tiles_per_row;
    let ox0 = (gid.y % tiles_per_row) * TILE;
    if c0 >= c || oy >= params.out_h {
        return;
    }
    let k = params.kernel;
    let s = params.stride;
    // Lanes past the last channel read channel c-1 and are never written.
    let lanes = min(vec4<u32>(c0, c0 + 1u, c0 + 2u, c0 + 3u), vec4<u32>(c - 1u));
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    for (var ky = 0u; ky < k; ky++) {
        let iy = oy * s + ky - params.pad_top;
        for (var kx = 0u; kx < k; kx++) {
            let w = params.weight_offset + (ky * k + kx) * c;
            let wv = vec4<f32>(load_dw(w + lanes.x), load_dw(w + lanes.y), load_dw(w + lanes.z), load_dw(w + lanes.w));
            let ix = ox0 * s + kx - params.pad_left;
            acc0 += wv * load4(iy, ix, lanes);
            acc1 += wv * load4(iy, ix + s, lanes);
            acc2 += wv * load4(iy, ix + 2u * s, lanes);
            acc3 += wv * load4(iy, ix + 3u * s, lanes);
        }
    }
    store_row_tile(array<vec4<f32>, 4>(acc0, acc1, acc2, acc3), oy, ox0, c0);
}

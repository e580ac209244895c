// stem_conv: dense kxk convolution (the 3x3 stride-2 stem), weights
// [k, k, in_c, out_c], fused folded BatchNorm and ReLU6.
// Bindings: 0 params, 1 input (HWC f32), 2 weights, 3 scale/bias, 4 output.
// Workgroup 8x8: x = group of 4 output channels, y = group of 4 output pixels
// along a row; each invocation keeps a 4-pixel x 4-channel register tile so
// every weight load serves four pixels.
// Reference: runtime/src/reference/stem_conv.rs

@group(0) @binding(1) var<storage, read> input: array<f32>;

const TILE: u32 = 4u;

// Input value at (iy, ix, ci), zero in the padding. Unsigned wrap-around makes
// coordinates above or left of the image fail the bound check.
fn tap(iy: u32, ix: u32, ci: u32) -> f32 {
    if iy >= params.in_h || ix >= params.in_w {
        return 0.0;
    }
    return input[(iy * params.in_w + ix) * params.in_c + ci];
}

@compute @workgroup_size(8, 8, 1)
fn stem_conv(@builtin(global_invocation_id) gid: vec3<u32>) {
    let co0 = gid.x * 4u;
    let cout = params.out_c;
    let tiles_per_row = (params.out_w + TILE - 1u) / TILE;
    let oy = gid.y / tiles_per_row;
    let ox0 = (gid.y % tiles_per_row) * TILE;
    if co0 >= cout || oy >= params.out_h {
        return;
    }
    let k = params.kernel;
    let s = params.stride;
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    for (var ky = 0u; ky < k; ky++) {
        let iy = oy * s + ky - params.pad_top;
        for (var kx = 0u; kx < k; kx++) {
            let ix = ox0 * s + kx - params.pad_left;
            for (var ci = 0u; ci < params.in_c; ci++) {
                // Channels past the end read the next weights and are never written.
                let w = params.weight_offset + ((ky * k + kx) * params.in_c + ci) * cout + co0;
                let wv = vec4<f32>(load_weight(w), load_weight(w + 1u), load_weight(w + 2u), load_weight(w + 3u));
                acc0 += wv * tap(iy, ix, ci);
                acc1 += wv * tap(iy, ix + s, ci);
                acc2 += wv * tap(iy, ix + 2u * s, ci);
                acc3 += wv * tap(iy, ix + 3u * s, ci);
            }
        }
    }
    store_row_tile(array<vec4<f32>, 4>(acc0, acc1, acc2, acc3), oy, ox0, co0);
}

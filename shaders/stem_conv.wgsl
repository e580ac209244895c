// stem_conv: dense kxk convolution (the 3x3 stride-2 stem), weights
// [k, k, in_c, out_c], fused folded BatchNorm and ReLU6.
// Bindings: 0 params, 1 input (HWC f32), 2 weights, 3 scale/bias, 4 output.
// Every patch of a batch reads the same input (the preprocessed frame).
// `stem_conv` (any shape): workgroup 8x8, x = group of 4 output channels,
// y = group of 4 output pixels along a row, z = patch; each invocation keeps a 4-pixel x
// 4-channel register tile so every weight load serves four pixels.
// `stem_conv_vec4_k3s2` (MobileNetV2's stem: RGB, 3x3, stride 2, out_c and
// offsets multiples of 4): workgroup 64x1, an 8-pixel x 8-channel tile; the
// convolution is computed once and only the epilogue runs per patch.
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
    store_row_tile(array<vec4<f32>, 4>(acc0, acc1, acc2, acc3), gid.z, oy, ox0, co0);
}

// Output pixels along a row per invocation of `stem_conv_vec4_k3s2`.
const TILE_V: u32 = 8u;

// Input value at (iy, ix, ci) of a 3-channel image, zero in the padding; the
// load always happens (at a clamped index) so the code stays branch-free.
fn tap3(iy: u32, ix: u32, ci: u32) -> f32 {
    let inside = iy < params.in_h && ix < params.in_w;
    let i = (min(iy, params.in_h - 1u) * params.in_w + min(ix, params.in_w - 1u)) * 3u + ci;
    return select(0.0, input[i], inside);
}

// The stem for 3 input channels, a 3x3 kernel at stride 2 (MobileNetV2's),
// out_c, weight_offset and scale_offset multiples of 4: 8 output pixels along
// a row x 8 output channels per invocation, each input row of the tile
// loaded once (17 columns) and each weight vec4 serving 8 pixels. Written
// out (no local arrays, no tap loops): llvmpipe keeps dynamically indexed
// local arrays in memory lane by lane. x = pixel tile (rows after rows), y =
// group of 8 channels, so the invocations llvmpipe runs together share
// their weights.
@compute @workgroup_size(64, 1, 1)
fn stem_conv_vec4_k3s2(@builtin(global_invocation_id) gid: vec3<u32>) {
    let cout4 = params.out_c / 4u;
    let c40 = gid.y * 2u;
    let tiles_per_row = (params.out_w + TILE_V - 1u) / TILE_V;
    let oy = gid.x / tiles_per_row;
    let ox0 = (gid.x % tiles_per_row) * TILE_V;
    if c40 >= cout4 || oy >= params.out_h {
        return;
    }
    let ix0 = ox0 * 2u - params.pad_left;
    var a0_0 = vec4<f32>(0.0);
    var a0_1 = vec4<f32>(0.0);
    var a1_0 = vec4<f32>(0.0);
    var a1_1 = vec4<f32>(0.0);
    var a2_0 = vec4<f32>(0.0);
    var a2_1 = vec4<f32>(0.0);
    var a3_0 = vec4<f32>(0.0);
    var a3_1 = vec4<f32>(0.0);
    var a4_0 = vec4<f32>(0.0);
    var a4_1 = vec4<f32>(0.0);
    var a5_0 = vec4<f32>(0.0);
    var a5_1 = vec4<f32>(0.0);
    var a6_0 = vec4<f32>(0.0);
    var a6_1 = vec4<f32>(0.0);
    var a7_0 = vec4<f32>(0.0);
    var a7_1 = vec4<f32>(0.0);
    for (var ky = 0u; ky < 3u; ky++) {
        let iy = oy * 2u + ky - params.pad_top;
        let w = params.weight_offset / 4u + ky * 9u * cout4 + c40;
        let v0_0 = tap3(iy, ix0, 0u);
        let v0_1 = tap3(iy, ix0, 1u);
        let v0_2 = tap3(iy, ix0, 2u);
        let v1_0 = tap3(iy, ix0 + 1u, 0u);
        let v1_1 = tap3(iy, ix0 + 1u, 1u);
        let v1_2 = tap3(iy, ix0 + 1u, 2u);
        let v2_0 = tap3(iy, ix0 + 2u, 0u);
        let v2_1 = tap3(iy, ix0 + 2u, 1u);
        let v2_2 = tap3(iy, ix0 + 2u, 2u);
        let v3_0 = tap3(iy, ix0 + 3u, 0u);
        let v3_1 = tap3(iy, ix0 + 3u, 1u);
        let v3_2 = tap3(iy, ix0 + 3u, 2u);
        let v4_0 = tap3(iy, ix0 + 4u, 0u);
        let v4_1 = tap3(iy, ix0 + 4u, 1u);
        let v4_2 = tap3(iy, ix0 + 4u, 2u);
        let v5_0 = tap3(iy, ix0 + 5u, 0u);
        let v5_1 = tap3(iy, ix0 + 5u, 1u);
        let v5_2 = tap3(iy, ix0 + 5u, 2u);
        let v6_0 = tap3(iy, ix0 + 6u, 0u);
        let v6_1 = tap3(iy, ix0 + 6u, 1u);
        let v6_2 = tap3(iy, ix0 + 6u, 2u);
        let v7_0 = tap3(iy, ix0 + 7u, 0u);
        let v7_1 = tap3(iy, ix0 + 7u, 1u);
        let v7_2 = tap3(iy, ix0 + 7u, 2u);
        let v8_0 = tap3(iy, ix0 + 8u, 0u);
        let v8_1 = tap3(iy, ix0 + 8u, 1u);
        let v8_2 = tap3(iy, ix0 + 8u, 2u);
        let v9_0 = tap3(iy, ix0 + 9u, 0u);
        let v9_1 = tap3(iy, ix0 + 9u, 1u);
        let v9_2 = tap3(iy, ix0 + 9u, 2u);
        let v10_0 = tap3(iy, ix0 + 10u, 0u);
        let v10_1 = tap3(iy, ix0 + 10u, 1u);
        let v10_2 = tap3(iy, ix0 + 10u, 2u);
        let v11_0 = tap3(iy, ix0 + 11u, 0u);
        let v11_1 = tap3(iy, ix0 + 11u, 1u);
        let v11_2 = tap3(iy, ix0 + 11u, 2u);
        let v12_0 = tap3(iy, ix0 + 12u, 0u);
        let v12_1 = tap3(iy, ix0 + 12u, 1u);
        let v12_2 = tap3(iy, ix0 + 12u, 2u);
        let v13_0 = tap3(iy, ix0 + 13u, 0u);
        let v13_1 = tap3(iy, ix0 + 13u, 1u);
        let v13_2 = tap3(iy, ix0 + 13u, 2u);
        let v14_0 = tap3(iy, ix0 + 14u, 0u);
        let v14_1 = tap3(iy, ix0 + 14u, 1u);
        let v14_2 = tap3(iy, ix0 + 14u, 2u);
        let v15_0 = tap3(iy, ix0 + 15u, 0u);
        let v15_1 = tap3(iy, ix0 + 15u, 1u);
        let v15_2 = tap3(iy, ix0 + 15u, 2u);
        let v16_0 = tap3(iy, ix0 + 16u, 0u);
        let v16_1 = tap3(iy, ix0 + 16u, 1u);
        let v16_2 = tap3(iy, ix0 + 16u, 2u);
        let w0_0_0 = load_weight4(w);
        let w0_0_1 = load_weight4(w + 1u);
        let w0_1_0 = load_weight4(w + 1u * cout4);
        let w0_1_1 = load_weight4(w + 1u * cout4 + 1u);
        let w0_2_0 = load_weight4(w + 2u * cout4);
        let w0_2_1 = load_weight4(w + 2u * cout4 + 1u);
        let w1_0_0 = load_weight4(w + 3u * cout4);
        let w1_0_1 = load_weight4(w + 3u * cout4 + 1u);
        let w1_1_0 = load_weight4(w + 4u * cout4);
        let w1_1_1 = load_weight4(w + 4u * cout4 + 1u);
        let w1_2_0 = load_weight4(w + 5u * cout4);
        let w1_2_1 = load_weight4(w + 5u * cout4 + 1u);
        let w2_0_0 = load_weight4(w + 6u * cout4);
        let w2_0_1 = load_weight4(w + 6u * cout4 + 1u);
        let w2_1_0 = load_weight4(w + 7u * cout4);
        let w2_1_1 = load_weight4(w + 7u * cout4 + 1u);
        let w2_2_0 = load_weight4(w + 8u * cout4);
        let w2_2_1 = load_weight4(w + 8u * cout4 + 1u);
        a0_0 += v0_0 * w0_0_0 + v0_1 * w0_1_0 + v0_2 * w0_2_0 + v1_0 * w1_0_0 + v1_1 * w1_1_0 + v1_2 * w1_2_0 + v2_0 * w2_0_0 + v2_1 * w2_1_0 + v2_2 * w2_2_0;
        a0_1 += v0_0 * w0_0_1 + v0_1 * w0_1_1 + v0_2 * w0_2_1 + v1_0 * w1_0_1 + v1_1 * w1_1_1 + v1_2 * w1_2_1 + v2_0 * w2_0_1 + v2_1 * w2_1_1 + v2_2 * w2_2_1;
        a1_0 += v2_0 * w0_0_0 + v2_1 * w0_1_0 + v2_2 * w0_2_0 + v3_0 * w1_0_0 + v3_1 * w1_1_0 + v3_2 * w1_2_0 + v4_0 * w2_0_0 + v4_1 * w2_1_0 + v4_2 * w2_2_0;
        a1_1 += v2_0 * w0_0_1 + v2_1 * w0_1_1 + v2_2 * w0_2_1 + v3_0 * w1_0_1 + v3_1 * w1_1_1 + v3_2 * w1_2_1 + v4_0 * w2_0_1 + v4_1 * w2_1_1 + v4_2 * w2_2_1;
        a2_0 += v4_0 * w0_0_0 + v4_1 * w0_1_0 + v4_2 * w0_2_0 + v5_0 * w1_0_0 + v5_1 * w1_1_0 + v5_2 * w1_2_0 + v6_0 * w2_0_0 + v6_1 * w2_1_0 + v6_2 * w2_2_0;
        a2_1 += v4_0 * w0_0_1 + v4_1 * w0_1_1 + v4_2 * w0_2_1 + v5_0 * w1_0_1 + v5_1 * w1_1_1 + v5_2 * w1_2_1 + v6_0 * w2_0_1 + v6_1 * w2_1_1 + v6_2 * w2_2_1;
        a3_0 += v6_0 * w0_0_0 + v6_1 * w0_1_0 + v6_2 * w0_2_0 + v7_0 * w1_0_0 + v7_1 * w1_1_0 + v7_2 * w1_2_0 + v8_0 * w2_0_0 + v8_1 * w2_1_0 + v8_2 * w2_2_0;
        a3_1 += v6_0 * w0_0_1 + v6_1 * w0_1_1 + v6_2 * w0_2_1 + v7_0 * w1_0_1 + v7_1 * w1_1_1 + v7_2 * w1_2_1 + v8_0 * w2_0_1 + v8_1 * w2_1_1 + v8_2 * w2_2_1;
        a4_0 += v8_0 * w0_0_0 + v8_1 * w0_1_0 + v8_2 * w0_2_0 + v9_0 * w1_0_0 + v9_1 * w1_1_0 + v9_2 * w1_2_0 + v10_0 * w2_0_0 + v10_1 * w2_1_0 + v10_2 * w2_2_0;
        a4_1 += v8_0 * w0_0_1 + v8_1 * w0_1_1 + v8_2 * w0_2_1 + v9_0 * w1_0_1 + v9_1 * w1_1_1 + v9_2 * w1_2_1 + v10_0 * w2_0_1 + v10_1 * w2_1_1 + v10_2 * w2_2_1;
        a5_0 += v10_0 * w0_0_0 + v10_1 * w0_1_0 + v10_2 * w0_2_0 + v11_0 * w1_0_0 + v11_1 * w1_1_0 + v11_2 * w1_2_0 + v12_0 * w2_0_0 + v12_1 * w2_1_0 + v12_2 * w2_2_0;
        a5_1 += v10_0 * w0_0_1 + v10_1 * w0_1_1 + v10_2 * w0_2_1 + v11_0 * w1_0_1 + v11_1 * w1_1_1 + v11_2 * w1_2_1 + v12_0 * w2_0_1 + v12_1 * w2_1_1 + v12_2 * w2_2_1;
        a6_0 += v12_0 * w0_0_0 + v12_1 * w0_1_0 + v12_2 * w0_2_0 + v13_0 * w1_0_0 + v13_1 * w1_1_0 + v13_2 * w1_2_0 + v14_0 * w2_0_0 + v14_1 * w2_1_0 + v14_2 * w2_2_0;
        a6_1 += v12_0 * w0_0_1 + v12_1 * w0_1_1 + v12_2 * w0_2_1 + v13_0 * w1_0_1 + v13_1 * w1_1_1 + v13_2 * w1_2_1 + v14_0 * w2_0_1 + v14_1 * w2_1_1 + v14_2 * w2_2_1;
        a7_0 += v14_0 * w0_0_0 + v14_1 * w0_1_0 + v14_2 * w0_2_0 + v15_0 * w1_0_0 + v15_1 * w1_1_0 + v15_2 * w1_2_0 + v16_0 * w2_0_0 + v16_1 * w2_1_0 + v16_2 * w2_2_0;
        a7_1 += v14_0 * w0_0_1 + v14_1 * w0_1_1 + v14_2 * w0_2_1 + v15_0 * w1_0_1 + v15_1 * w1_1_1 + v15_2 * w1_2_1 + v16_0 * w2_0_1 + v16_1 * w2_1_1 + v16_2 * w2_2_1;
    }
    // Every patch's BN over the same convolution (the input is shared).
    for (var b = 0u; b < batch.patches; b++) {
        let ob = b * (output_len() / 4u);
        let s0 = scale4(b, c40);
        let h0 = shift4(b, c40);
        output4[ob + (oy * params.out_w + ox0) * cout4 + c40] = epilogue4(a0_0, s0, h0);
        if ox0 + 1u < params.out_w {
            output4[ob + (oy * params.out_w + ox0 + 1u) * cout4 + c40] = epilogue4(a1_0, s0, h0);
        }
        if ox0 + 2u < params.out_w {
            output4[ob + (oy * params.out_w + ox0 + 2u) * cout4 + c40] = epilogue4(a2_0, s0, h0);
        }
        if ox0 + 3u < params.out_w {
            output4[ob + (oy * params.out_w + ox0 + 3u) * cout4 + c40] = epilogue4(a3_0, s0, h0);
        }
        if ox0 + 4u < params.out_w {
            output4[ob + (oy * params.out_w + ox0 + 4u) * cout4 + c40] = epilogue4(a4_0, s0, h0);
        }
        if ox0 + 5u < params.out_w {
            output4[ob + (oy * params.out_w + ox0 + 5u) * cout4 + c40] = epilogue4(a5_0, s0, h0);
        }
        if ox0 + 6u < params.out_w {
            output4[ob + (oy * params.out_w + ox0 + 6u) * cout4 + c40] = epilogue4(a6_0, s0, h0);
        }
        if ox0 + 7u < params.out_w {
            output4[ob + (oy * params.out_w + ox0 + 7u) * cout4 + c40] = epilogue4(a7_0, s0, h0);
        }
        if c40 + 1u < cout4 {
            let s1 = scale4(b, c40 + 1u);
            let h1 = shift4(b, c40 + 1u);
            output4[ob + (oy * params.out_w + ox0) * cout4 + c40 + 1u] = epilogue4(a0_1, s1, h1);
            if ox0 + 1u < params.out_w {
                output4[ob + (oy * params.out_w + ox0 + 1u) * cout4 + c40 + 1u] = epilogue4(a1_1, s1, h1);
            }
            if ox0 + 2u < params.out_w {
                output4[ob + (oy * params.out_w + ox0 + 2u) * cout4 + c40 + 1u] = epilogue4(a2_1, s1, h1);
            }
            if ox0 + 3u < params.out_w {
                output4[ob + (oy * params.out_w + ox0 + 3u) * cout4 + c40 + 1u] = epilogue4(a3_1, s1, h1);
            }
            if ox0 + 4u < params.out_w {
                output4[ob + (oy * params.out_w + ox0 + 4u) * cout4 + c40 + 1u] = epilogue4(a4_1, s1, h1);
            }
            if ox0 + 5u < params.out_w {
                output4[ob + (oy * params.out_w + ox0 + 5u) * cout4 + c40 + 1u] = epilogue4(a5_1, s1, h1);
            }
            if ox0 + 6u < params.out_w {
                output4[ob + (oy * params.out_w + ox0 + 6u) * cout4 + c40 + 1u] = epilogue4(a6_1, s1, h1);
            }
            if ox0 + 7u < params.out_w {
                output4[ob + (oy * params.out_w + ox0 + 7u) * cout4 + c40 + 1u] = epilogue4(a7_1, s1, h1);
            }
        }
    }
}

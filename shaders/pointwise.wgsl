// pointwise: 1x1 convolution, weights [in_c, out_c], fused folded BatchNorm,
// optional ReLU6 and optional residual add (inverted-residual shortcut).
// Bindings: 0 params, 1 input (HWC f32), 2 weights, 3 scale/bias, 4 output,
//           5 residual (HWC f32, read only when params.residual != 0).
// `pointwise` (any shape): workgroup 8x8, x = group of 8 output channels,
// y = group of 4 pixels, z = patch; each invocation keeps a 4x8 register tile, which is
// what makes 1x1 convs fast on CPU-like GPUs (engine-notes: work per
// invocation matters most). `pointwise_vec4` (channels and offsets multiples
// of 4, i.e. every MobileNetV2 1x1 layer): workgroup 64x1, an 8x8 tile,
// x = pixel tile of each patch in turn; `pointwise_vec4_channel_major`, the
// same tiles with channel groups along x, serves layers of few pixels.
// Reference: runtime/src/reference/pointwise.rs

@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(5) var<storage, read> residual: array<f32>;
// vec4 views for `pointwise_vec4`.
@group(0) @binding(1) var<storage, read> input4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> residual4: array<vec4<f32>>;

@compute @workgroup_size(8, 8, 1)
fn pointwise(@builtin(global_invocation_id) gid: vec3<u32>) {
    let co0 = gid.x * 8u;
    let p0 = gid.y * 4u;
    let b = gid.z;
    let pixels = params.out_h * params.out_w;
    let cin = params.in_c;
    let cout = params.out_c;
    if co0 >= cout || p0 >= pixels {
        return;
    }
    // Pixels past the end re-read the last pixel and are never written.
    let last = pixels - 1u;
    let ib = b * input_len();
    let b0 = ib + min(p0, last) * cin;
    let b1 = ib + min(p0 + 1u, last) * cin;
    let b2 = ib + min(p0 + 2u, last) * cin;
    let b3 = ib + min(p0 + 3u, last) * cin;
    // Channels past the end read the next layer's weights (or are clamped by
    // bounds checks) and are never written.
    var lo0 = vec4<f32>(0.0);
    var lo1 = vec4<f32>(0.0);
    var lo2 = vec4<f32>(0.0);
    var lo3 = vec4<f32>(0.0);
    var hi0 = vec4<f32>(0.0);
    var hi1 = vec4<f32>(0.0);
    var hi2 = vec4<f32>(0.0);
    var hi3 = vec4<f32>(0.0);
    var w = params.weight_offset + co0;
    for (var ci = 0u; ci < cin; ci++) {
        let wl = vec4<f32>(load_weight(w), load_weight(w + 1u), load_weight(w + 2u), load_weight(w + 3u));
        let wh = vec4<f32>(load_weight(w + 4u), load_weight(w + 5u), load_weight(w + 6u), load_weight(w + 7u));
        let x0 = input[b0 + ci];
        let x1 = input[b1 + ci];
        let x2 = input[b2 + ci];
        let x3 = input[b3 + ci];
        lo0 += x0 * wl;
        hi0 += x0 * wh;
        lo1 += x1 * wl;
        hi1 += x1 * wh;
        lo2 += x2 * wl;
        hi2 += x2 * wh;
        lo3 += x3 * wl;
        hi3 += x3 * wh;
        w += cout;
    }
    let ob = b * output_len();
    var lo = array<vec4<f32>, 4>(lo0, lo1, lo2, lo3);
    var hi = array<vec4<f32>, 4>(hi0, hi1, hi2, hi3);
    for (var j = 0u; j < 4u; j++) {
        let p = p0 + j;
        if p >= pixels {
            break;
        }
        for (var l = 0u; l < 8u; l++) {
            let co = co0 + l;
            if co < cout {
                var v = epilogue(select(hi[j][l & 3u], lo[j][l & 3u], l < 4u), b, co);
                if params.residual != 0u {
                    v += residual[ob + p * cout + co];
                }
                output[ob + p * cout + co] = v;
            }
        }
    }
}

// Adds the residual (when on) to four channels of pixel `p` of the output
// whose first vec4 is `base` and stores them.
fn store4(v: vec4<f32>, base: u32, p: u32, c4: u32) {
    let o = base + p * (params.out_c / 4u) + c4;
    if params.residual != 0u {
        output4[o] = v + residual4[o];
    } else {
        output4[o] = v;
    }
}

// The same convolution for in_c, out_c, weight_offset and scale_offset all
// multiples of 4: every load and store moves four channels (llvmpipe spends
// about as long on one vec4 load as on one scalar load, lane by lane), and an
// 8-pixel x 8-channel tile makes each loaded vec4 serve 8 pixels or 8
// channels (measured against 4x8, 4x16, 8x4, 12x8 and 16x8 tiles: 8x8 was
// best overall; 16x8 was ~13% faster on 112x112 and 56x56 layers but ~35%
// slower on 7x7 ones). Workgroup 64x1: x = group of 8
// pixels, y = group of 8 output channels, so the invocations llvmpipe runs
// together (consecutive x) share their channels. Written out (no local arrays): llvmpipe keeps dynamically indexed
// local arrays in memory, lane by lane. When out_c is 4 mod 8 the last
// group's second vec4 column reads the next row's weights and is never
// written.
@compute @workgroup_size(64, 1, 1)
fn pointwise_vec4(@builtin(global_invocation_id) gid: vec3<u32>) {
    let tiles = (params.out_h * params.out_w + 7u) / 8u;
    let b = gid.x / tiles;
    if b < batch.patches && gid.y * 2u < params.out_c / 4u {
        pointwise_vec4_tile(b, (gid.x - b * tiles) * 8u, gid.y * 2u);
    }
}

// The same tiles ordered channel group first, 8 invocations (one llvmpipe
// SIMD batch) per workgroup, for layers of few pixels: with pixel tiles
// along x a 3x3 layer (2 tiles) leaves 6 of 8 lanes idle in each of its
// cout / 8 workgroups, and 64-wide channel-major workgroups would leave a
// narrow layer one workgroup for all cores.
@compute @workgroup_size(8, 1, 1)
fn pointwise_vec4_channel_major(@builtin(global_invocation_id) gid: vec3<u32>) {
    let tiles = (params.out_h * params.out_w + 7u) / 8u;
    let groups = (params.out_c / 4u + 1u) / 2u;
    let tile = gid.x / groups;
    let b = tile / tiles;
    if b < batch.patches {
        pointwise_vec4_tile(b, (tile - b * tiles) * 8u, (gid.x - tile * groups) * 2u);
    }
}

// One invocation's tile: patch b, output pixels p0 .. p0+7, output channel
// vec4s c40 and c40+1.
fn pointwise_vec4_tile(b: u32, p0: u32, c40: u32) {
    let pixels = params.out_h * params.out_w;
    let cin4 = params.in_c / 4u;
    let cout4 = params.out_c / 4u;
    let last = pixels - 1u;
    let ib = b * pixels * cin4;
    let b0 = ib + min(p0, last) * cin4;
    let b1 = ib + min(p0 + 1u, last) * cin4;
    let b2 = ib + min(p0 + 2u, last) * cin4;
    let b3 = ib + min(p0 + 3u, last) * cin4;
    let b4 = ib + min(p0 + 4u, last) * cin4;
    let b5 = ib + min(p0 + 5u, last) * cin4;
    let b6 = ib + min(p0 + 6u, last) * cin4;
    let b7 = ib + min(p0 + 7u, last) * cin4;
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
    var w = params.weight_offset / 4u + c40;
    for (var c4 = 0u; c4 < cin4; c4++) {
        let x0 = input4[b0 + c4];
        let x1 = input4[b1 + c4];
        let x2 = input4[b2 + c4];
        let x3 = input4[b3 + c4];
        let x4 = input4[b4 + c4];
        let x5 = input4[b5 + c4];
        let x6 = input4[b6 + c4];
        let x7 = input4[b7 + c4];
        let w0_0 = load_weight4(w);
        let w0_1 = load_weight4(w + 1u);
        let w1_0 = load_weight4(w + cout4);
        let w1_1 = load_weight4(w + cout4 + 1u);
        let w2_0 = load_weight4(w + 2u * cout4);
        let w2_1 = load_weight4(w + 2u * cout4 + 1u);
        let w3_0 = load_weight4(w + 3u * cout4);
        let w3_1 = load_weight4(w + 3u * cout4 + 1u);
        a0_0 += x0.x * w0_0 + x0.y * w1_0 + x0.z * w2_0 + x0.w * w3_0;
        a0_1 += x0.x * w0_1 + x0.y * w1_1 + x0.z * w2_1 + x0.w * w3_1;
        a1_0 += x1.x * w0_0 + x1.y * w1_0 + x1.z * w2_0 + x1.w * w3_0;
        a1_1 += x1.x * w0_1 + x1.y * w1_1 + x1.z * w2_1 + x1.w * w3_1;
        a2_0 += x2.x * w0_0 + x2.y * w1_0 + x2.z * w2_0 + x2.w * w3_0;
        a2_1 += x2.x * w0_1 + x2.y * w1_1 + x2.z * w2_1 + x2.w * w3_1;
        a3_0 += x3.x * w0_0 + x3.y * w1_0 + x3.z * w2_0 + x3.w * w3_0;
        a3_1 += x3.x * w0_1 + x3.y * w1_1 + x3.z * w2_1 + x3.w * w3_1;
        a4_0 += x4.x * w0_0 + x4.y * w1_0 + x4.z * w2_0 + x4.w * w3_0;
        a4_1 += x4.x * w0_1 + x4.y * w1_1 + x4.z * w2_1 + x4.w * w3_1;
        a5_0 += x5.x * w0_0 + x5.y * w1_0 + x5.z * w2_0 + x5.w * w3_0;
        a5_1 += x5.x * w0_1 + x5.y * w1_1 + x5.z * w2_1 + x5.w * w3_1;
        a6_0 += x6.x * w0_0 + x6.y * w1_0 + x6.z * w2_0 + x6.w * w3_0;
        a6_1 += x6.x * w0_1 + x6.y * w1_1 + x6.z * w2_1 + x6.w * w3_1;
        a7_0 += x7.x * w0_0 + x7.y * w1_0 + x7.z * w2_0 + x7.w * w3_0;
        a7_1 += x7.x * w0_1 + x7.y * w1_1 + x7.z * w2_1 + x7.w * w3_1;
        w += 4u * cout4;
    }
    let ob = b * pixels * cout4;
    let s0 = scale4(b, c40);
    let h0 = shift4(b, c40);
    store4(epilogue4(a0_0, s0, h0), ob, p0, c40);
    if p0 + 1u < pixels {
        store4(epilogue4(a1_0, s0, h0), ob, p0 + 1u, c40);
    }
    if p0 + 2u < pixels {
        store4(epilogue4(a2_0, s0, h0), ob, p0 + 2u, c40);
    }
    if p0 + 3u < pixels {
        store4(epilogue4(a3_0, s0, h0), ob, p0 + 3u, c40);
    }
    if p0 + 4u < pixels {
        store4(epilogue4(a4_0, s0, h0), ob, p0 + 4u, c40);
    }
    if p0 + 5u < pixels {
        store4(epilogue4(a5_0, s0, h0), ob, p0 + 5u, c40);
    }
    if p0 + 6u < pixels {
        store4(epilogue4(a6_0, s0, h0), ob, p0 + 6u, c40);
    }
    if p0 + 7u < pixels {
        store4(epilogue4(a7_0, s0, h0), ob, p0 + 7u, c40);
    }
    if c40 + 1u < cout4 {
        let s1 = scale4(b, c40 + 1u);
        let h1 = shift4(b, c40 + 1u);
        store4(epilogue4(a0_1, s1, h1), ob, p0, c40 + 1u);
        if p0 + 1u < pixels {
            store4(epilogue4(a1_1, s1, h1), ob, p0 + 1u, c40 + 1u);
        }
        if p0 + 2u < pixels {
            store4(epilogue4(a2_1, s1, h1), ob, p0 + 2u, c40 + 1u);
        }
        if p0 + 3u < pixels {
            store4(epilogue4(a3_1, s1, h1), ob, p0 + 3u, c40 + 1u);
        }
        if p0 + 4u < pixels {
            store4(epilogue4(a4_1, s1, h1), ob, p0 + 4u, c40 + 1u);
        }
        if p0 + 5u < pixels {
            store4(epilogue4(a5_1, s1, h1), ob, p0 + 5u, c40 + 1u);
        }
        if p0 + 6u < pixels {
            store4(epilogue4(a6_1, s1, h1), ob, p0 + 6u, c40 + 1u);
        }
        if p0 + 7u < pixels {
            store4(epilogue4(a7_1, s1, h1), ob, p0 + 7u, c40 + 1u);
        }
    }
}

// pointwise: 1x1 convolution, weights [in_c, out_c], fused folded BatchNorm,
// optional ReLU6 and optional residual add (inverted-residual shortcut).
// Bindings: 0 params, 1 input (HWC f32), 2 weights, 3 scale/bias, 4 output,
//           5 residual (HWC f32, read only when params.residual != 0).
// Workgroup 8x8: x = group of 8 output channels, y = group of 4 pixels; each
// invocation keeps a 4x8 register tile, which is what makes 1x1 convs fast on
// CPU-like GPUs (see engine-notes: work per invocation matters most).
// Reference: runtime/src/reference/pointwise.rs

@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(5) var<storage, read> residual: array<f32>;

@compute @workgroup_size(8, 8, 1)
fn pointwise(@builtin(global_invocation_id) gid: vec3<u32>) {
    let co0 = gid.x * 8u;
    let p0 = gid.y * 4u;
    let pixels = params.out_h * params.out_w;
    let cin = params.in_c;
    let cout = params.out_c;
    if co0 >= cout || p0 >= pixels {
        return;
    }
    // Pixels past the end re-read the last pixel and are never written.
    let last = pixels - 1u;
    let b0 = min(p0, last) * cin;
    let b1 = min(p0 + 1u, last) * cin;
    let b2 = min(p0 + 2u, last) * cin;
    let b3 = min(p0 + 3u, last) * cin;
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
                var v = epilogue(select(hi[j][l & 3u], lo[j][l & 3u], l < 4u), co);
                if params.residual != 0u {
                    v += residual[p * cout + co];
                }
                output[p * cout + co] = v;
            }
        }
    }
}

// pointwise: 1x1 convolution, weights [in_c, out_c], fused folded BatchNorm,
// optional ReLU6 and optional residual add (inverted-residual shortcut).
// Bindings: 0 params, 1 input (HWC f32), 2 weights, 3 scale/bias, 4 output,
//           5 residual (HWC f32, read only when params.residual != 0).
// Workgroup 8x8: x = group of 4 output channels, y = group of 4 pixels; each
// invocation keeps a 4x4 register tile, which is what makes 1x1 convs fast on
// CPU-like GPUs (see engine-notes: work per invocation matters most).
// Reference: runtime/src/reference/pointwise.rs

@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(4) var<storage, read_write> output: array<f32>;
@group(0) @binding(5) var<storage, read> residual: array<f32>;

@compute @workgroup_size(8, 8, 1)
fn pointwise(@builtin(global_invocation_id) gid: vec3<u32>) {
    let co0 = gid.x * 4u;
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
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    var w = params.weight_offset + co0;
    for (var ci = 0u; ci < cin; ci++) {
        let wv = vec4<f32>(load_weight(w), load_weight(w + 1u), load_weight(w + 2u), load_weight(w + 3u));
        acc0 += input[b0 + ci] * wv;
        acc1 += input[b1 + ci] * wv;
        acc2 += input[b2 + ci] * wv;
        acc3 += input[b3 + ci] * wv;
        w += cout;
    }
    var tile = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
    for (var j = 0u; j < 4u; j++) {
        let p = p0 + j;
        if p >= pixels {
            break;
        }
        for (var l = 0u; l < 4u; l++) {
            let co = co0 + l;
            if co < cout {
                var v = epilogue(tile[j][l], co);
                if params.residual != 0u {
                    v += residual[p * cout + co];
                }
                output[p * cout + co] = v;
            }
        }
    }
}

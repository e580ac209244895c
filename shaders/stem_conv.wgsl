// stem_conv: dense kxk convolution (the 3x3 stride-2 stem), weights
// [k, k, in_c, out_c], fused folded BatchNorm and ReLU6.
// Bindings: 0 params, 1 input (HWC f32), 2 weights, 3 scale/bias, 4 output.
// Workgroup 8x8: x = group of 4 output channels, y = output pixel.
// Reference: runtime/src/reference/stem_conv.rs

@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(4) var<storage, read_write> output: array<f32>;

@compute @workgroup_size(8, 8, 1)
fn stem_conv(@builtin(global_invocation_id) gid: vec3<u32>) {
    let co0 = gid.x * 4u;
    let pixel = gid.y;
    let cout = params.out_c;
    if co0 >= cout || pixel >= params.out_h * params.out_w {
        return;
    }
    let oy = pixel / params.out_w;
    let ox = pixel % params.out_w;
    let k = params.kernel;
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
            let base = (iy * params.in_w + ix) * params.in_c;
            for (var ci = 0u; ci < params.in_c; ci++) {
                let v = input[base + ci];
                let w = params.weight_offset + ((ky * k + kx) * params.in_c + ci) * cout + co0;
                acc += v * vec4<f32>(load_weight(w), load_weight(w + 1u), load_weight(w + 2u), load_weight(w + 3u));
            }
        }
    }
    let o = pixel * cout;
    for (var l = 0u; l < 4u; l++) {
        if co0 + l < cout {
            output[o + co0 + l] = epilogue(acc[l], co0 + l);
        }
    }
}

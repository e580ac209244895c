// preprocess: RGBA8 image of any size -> bilinear resize to out_h x out_w
// (pixel centres, edge clamp, no antialiasing) -> (x - mean) * scale, HWC f32.
// Bindings: 0 params, 1 image (packed RGBA8, one u32 per pixel), 4 output.
// Workgroup 8x8, one invocation per output pixel.
// Reference: runtime/src/reference/preprocess.rs

@group(0) @binding(1) var<storage, read> image: array<u32>;

fn texel(x: u32, y: u32) -> vec3<f32> {
    let p = image[y * params.in_w + x];
    return vec3<f32>(f32(p & 0xffu), f32((p >> 8u) & 0xffu), f32((p >> 16u) & 0xffu));
}

// Source sample position along one axis: index pair and blend weight.
// The position (d + 0.5) * n_in / n_out - 0.5 is the rational
// ((2d + 1) * n_in - n_out) / (2 * n_out); computing it in integers keeps the
// index exact and the weight within one rounding (f32 would lose ~3e-5 of a
// pixel at coordinates in the hundreds). No overflow: n_in <= 8192, n_out <= 1024.
fn axis(d: u32, n_in: u32, n_out: u32) -> vec3<f32> {
    let num = (2u * d + 1u) * n_in;
    let den = 2u * n_out;
    let clamped = max(num, n_out) - n_out;
    let i0 = min(clamped / den, n_in - 1u);
    let i1 = min(i0 + 1u, n_in - 1u);
    let frac = f32(clamped - i0 * den) / f32(den);
    return vec3<f32>(f32(i0), f32(i1), frac);
}

@compute @workgroup_size(8, 8, 1)
fn preprocess(@builtin(global_invocation_id) gid: vec3<u32>) {
    let x = gid.x;
    let y = gid.y;
    if x >= params.out_w || y >= params.out_h {
        return;
    }
    let ax = axis(x, params.in_w, params.out_w);
    let ay = axis(y, params.in_h, params.out_h);
    let x0 = u32(ax.x);
    let x1 = u32(ax.y);
    let y0 = u32(ay.x);
    let y1 = u32(ay.y);
    let top = mix(texel(x0, y0), texel(x1, y0), ax.z);
    let bottom = mix(texel(x0, y1), texel(x1, y1), ax.z);
    let v = (mix(top, bottom, ay.z) - params.norm_mean.xyz) * params.norm_scale.xyz;
    let o = (y * params.out_w + x) * 3u;
    output[o] = v.x;
    output[o + 1u] = v.y;
    output[o + 2u] = v.z;
}

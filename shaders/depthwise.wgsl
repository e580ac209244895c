// depthwise: kxk depthwise convolution (k = 3 or 5, stride 1 or 2), weights
// [k, k, c], fused folded BatchNorm and ReLU6.
// Bindings: 0 params, 1 input (HWC f32), 6 depthwise weights, 3 scale/bias, 4 output.
// Workgroup 8x8: x = group of 4 channels, y = group of 4 output pixels along
// a row, z = patch. Each invocation keeps a 4-pixel x 4-channel tile so every weight
// load serves four pixels (work per invocation is what counts on CPU-like GPUs).
// The `depthwise_vec4_k{3,5}s{1,2}` entry points compute the same function on
// four channels per load when channels and offsets are multiples of 4
// (workgroup 64x1, 4 pixels x 4 channels, x = pixel tile of each patch in
// turn, so small layers of a batch fill SIMD lanes). An 8-pixel tile measured 10-20%
// faster at stride 1 but 20% slower at stride 2, so both strides keep 4.
// Reference: runtime/src/reference/depthwise.rs

@group(0) @binding(1) var<storage, read> input: array<f32>;
// vec4 view for the `depthwise_vec4_*` entry points.
@group(0) @binding(1) var<storage, read> input4: array<vec4<f32>>;

const TILE: u32 = 4u;

// Input channels of a 4-channel lane group at input pixel (iy, ix) of the
// input starting at `ib`, or zero when (iy, ix) falls in the padding.
// Unsigned wrap-around makes coordinates above or left of the image fail the
// bound check.
fn load4(ib: u32, iy: u32, ix: u32, lanes: vec4<u32>) -> vec4<f32> {
    if iy >= params.in_h || ix >= params.in_w {
        return vec4<f32>(0.0);
    }
    let base = ib + (iy * params.in_w + ix) * params.in_c;
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
    let b = gid.z;
    let ib = b * input_len();
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
            let w = b * batch.dw_stride + params.weight_offset + (ky * k + kx) * c;
            let wv = vec4<f32>(load_dw(w + lanes.x), load_dw(w + lanes.y), load_dw(w + lanes.z), load_dw(w + lanes.w));
            let ix = ox0 * s + kx - params.pad_left;
            acc0 += wv * load4(ib, iy, ix, lanes);
            acc1 += wv * load4(ib, iy, ix + s, lanes);
            acc2 += wv * load4(ib, iy, ix + 2u * s, lanes);
            acc3 += wv * load4(ib, iy, ix + 3u * s, lanes);
        }
    }
    store_row_tile(array<vec4<f32>, 4>(acc0, acc1, acc2, acc3), b, oy, ox0, c0);
}

// Output pixels along a row per invocation of the vec4 entry points.
const TILE4: u32 = 4u;

// Four channels (group c4 of c4n) at input pixel (iy, ix) of the input
// whose pixel (0, 0) channel group c4 is vec4 `c4`, zero in the padding. The
// load always happens (at a clamped index) and a select zeroes it: llvmpipe
// runs a masked load as slowly as an unmasked one, and the select keeps the
// code branch-free.
fn tap4(iy: u32, ix: u32, c4: u32, c4n: u32) -> vec4<f32> {
    let inside = iy < params.in_h && ix < params.in_w;
    let i = (min(iy, params.in_h - 1u) * params.in_w + min(ix, params.in_w - 1u)) * c4n + c4;
    return select(vec4<f32>(0.0), input4[i], inside);
}

// One input row's contribution to a tile of four output pixels.
struct Row4 {
    p0: vec4<f32>,
    p1: vec4<f32>,
    p2: vec4<f32>,
    p3: vec4<f32>,
}

// Kernel row ky of a 3-wide kernel at stride 1: six input columns from ix0.
// Written out (no local arrays) because llvmpipe keeps a dynamically indexed
// local array in memory, lane by lane.
fn row_k3s1(iy: u32, ix0: u32, c4: u32, c4n: u32, w: u32) -> Row4 {
    let w0 = load_dw4(w);
    let w1 = load_dw4(w + c4n);
    let w2 = load_dw4(w + 2u * c4n);
    let r0 = tap4(iy, ix0, c4, c4n);
    let r1 = tap4(iy, ix0 + 1u, c4, c4n);
    let r2 = tap4(iy, ix0 + 2u, c4, c4n);
    let r3 = tap4(iy, ix0 + 3u, c4, c4n);
    let r4 = tap4(iy, ix0 + 4u, c4, c4n);
    let r5 = tap4(iy, ix0 + 5u, c4, c4n);
    return Row4(
        w0 * r0 + w1 * r1 + w2 * r2,
        w0 * r1 + w1 * r2 + w2 * r3,
        w0 * r2 + w1 * r3 + w2 * r4,
        w0 * r3 + w1 * r4 + w2 * r5,
    );
}

// Kernel row of a 3-wide kernel at stride 2: nine input columns.
fn row_k3s2(iy: u32, ix0: u32, c4: u32, c4n: u32, w: u32) -> Row4 {
    let w0 = load_dw4(w);
    let w1 = load_dw4(w + c4n);
    let w2 = load_dw4(w + 2u * c4n);
    let r0 = tap4(iy, ix0, c4, c4n);
    let r1 = tap4(iy, ix0 + 1u, c4, c4n);
    let r2 = tap4(iy, ix0 + 2u, c4, c4n);
    let r3 = tap4(iy, ix0 + 3u, c4, c4n);
    let r4 = tap4(iy, ix0 + 4u, c4, c4n);
    let r5 = tap4(iy, ix0 + 5u, c4, c4n);
    let r6 = tap4(iy, ix0 + 6u, c4, c4n);
    let r7 = tap4(iy, ix0 + 7u, c4, c4n);
    let r8 = tap4(iy, ix0 + 8u, c4, c4n);
    return Row4(
        w0 * r0 + w1 * r1 + w2 * r2,
        w0 * r2 + w1 * r3 + w2 * r4,
        w0 * r4 + w1 * r5 + w2 * r6,
        w0 * r6 + w1 * r7 + w2 * r8,
    );
}

// Kernel row of a 5-wide kernel at stride 1: eight input columns.
fn row_k5s1(iy: u32, ix0: u32, c4: u32, c4n: u32, w: u32) -> Row4 {
    let w0 = load_dw4(w);
    let w1 = load_dw4(w + c4n);
    let w2 = load_dw4(w + 2u * c4n);
    let w3 = load_dw4(w + 3u * c4n);
    let w4 = load_dw4(w + 4u * c4n);
    let r0 = tap4(iy, ix0, c4, c4n);
    let r1 = tap4(iy, ix0 + 1u, c4, c4n);
    let r2 = tap4(iy, ix0 + 2u, c4, c4n);
    let r3 = tap4(iy, ix0 + 3u, c4, c4n);
    let r4 = tap4(iy, ix0 + 4u, c4, c4n);
    let r5 = tap4(iy, ix0 + 5u, c4, c4n);
    let r6 = tap4(iy, ix0 + 6u, c4, c4n);
    let r7 = tap4(iy, ix0 + 7u, c4, c4n);
    return Row4(
        w0 * r0 + w1 * r1 + w2 * r2 + w3 * r3 + w4 * r4,
        w0 * r1 + w1 * r2 + w2 * r3 + w3 * r4 + w4 * r5,
        w0 * r2 + w1 * r3 + w2 * r4 + w3 * r5 + w4 * r6,
        w0 * r3 + w1 * r4 + w2 * r5 + w3 * r6 + w4 * r7,
    );
}

// Kernel row of a 5-wide kernel at stride 2: eleven input columns.
fn row_k5s2(iy: u32, ix0: u32, c4: u32, c4n: u32, w: u32) -> Row4 {
    let w0 = load_dw4(w);
    let w1 = load_dw4(w + c4n);
    let w2 = load_dw4(w + 2u * c4n);
    let w3 = load_dw4(w + 3u * c4n);
    let w4 = load_dw4(w + 4u * c4n);
    let r0 = tap4(iy, ix0, c4, c4n);
    let r1 = tap4(iy, ix0 + 1u, c4, c4n);
    let r2 = tap4(iy, ix0 + 2u, c4, c4n);
    let r3 = tap4(iy, ix0 + 3u, c4, c4n);
    let r4 = tap4(iy, ix0 + 4u, c4, c4n);
    let r5 = tap4(iy, ix0 + 5u, c4, c4n);
    let r6 = tap4(iy, ix0 + 6u, c4, c4n);
    let r7 = tap4(iy, ix0 + 7u, c4, c4n);
    let r8 = tap4(iy, ix0 + 8u, c4, c4n);
    let r9 = tap4(iy, ix0 + 9u, c4, c4n);
    let r10 = tap4(iy, ix0 + 10u, c4, c4n);
    return Row4(
        w0 * r0 + w1 * r1 + w2 * r2 + w3 * r3 + w4 * r4,
        w0 * r2 + w1 * r3 + w2 * r4 + w3 * r5 + w4 * r6,
        w0 * r4 + w1 * r5 + w2 * r6 + w3 * r7 + w4 * r8,
        w0 * r6 + w1 * r7 + w2 * r8 + w3 * r9 + w4 * r10,
    );
}

// Where a vec4 invocation works: patch, output row, first output column,
// channel group; `valid` is false for invocations past the edges.
struct Site4 {
    b: u32,
    oy: u32,
    ox0: u32,
    c4: u32,
    c4n: u32,
    valid: bool,
}

// x = tile of TILE4 output pixels along a row (rows after rows, patches
// after patches), y = group of 4 channels, so the invocations llvmpipe runs
// together share their channels and so their weights.
fn site4(gid: vec3<u32>) -> Site4 {
    let c4n = params.out_c / 4u;
    let tiles_per_row = (params.out_w + TILE4 - 1u) / TILE4;
    let tiles = tiles_per_row * params.out_h;
    let b = gid.x / tiles;
    let t = gid.x - b * tiles;
    let oy = t / tiles_per_row;
    return Site4(b, oy, (t - oy * tiles_per_row) * TILE4, gid.y, c4n, gid.y < c4n && b < batch.patches);
}

// The first vec4 of channel group at.c4 in the site's patch's input, and the
// site's patch's first depthwise-kernel vec4 of that group.
fn input_c4(at: Site4) -> u32 {
    return at.b * (input_len() / 4u) + at.c4;
}

fn weights_c4(at: Site4) -> u32 {
    return (at.b * batch.dw_stride + params.weight_offset) / 4u + at.c4;
}

// Adds one row's contribution to the running tile.
fn add4(a: Row4, b: Row4) -> Row4 {
    return Row4(a.p0 + b.p0, a.p1 + b.p1, a.p2 + b.p2, a.p3 + b.p3);
}

// Epilogue and store of a finished tile, skipping pixels past the row end.
fn store4(t: Row4, at: Site4) {
    let scale = scale4(at.b, at.c4);
    let shift = shift4(at.b, at.c4);
    let o = at.b * (output_len() / 4u) + (at.oy * params.out_w + at.ox0) * at.c4n + at.c4;
    output4[o] = epilogue4(t.p0, scale, shift);
    if at.ox0 + 1u < params.out_w {
        output4[o + at.c4n] = epilogue4(t.p1, scale, shift);
    }
    if at.ox0 + 2u < params.out_w {
        output4[o + 2u * at.c4n] = epilogue4(t.p2, scale, shift);
    }
    if at.ox0 + 3u < params.out_w {
        output4[o + 3u * at.c4n] = epilogue4(t.p3, scale, shift);
    }
}

// The vec4 entry points: the same convolution for channels, weight_offset and
// scale_offset all multiples of 4, one entry point per kernel side and stride
// so each input vec4 of a row is loaded once and reused by every tap and
// output pixel that needs it.

@compute @workgroup_size(64, 1, 1)
fn depthwise_vec4_k3s1(@builtin(global_invocation_id) gid: vec3<u32>) {
    let at = site4(gid);
    if !at.valid {
        return;
    }
    let ix0 = at.ox0 - params.pad_left;
    let w = weights_c4(at);
    var t = Row4();
    for (var ky = 0u; ky < 3u; ky++) {
        t = add4(t, row_k3s1(at.oy + ky - params.pad_top, ix0, input_c4(at), at.c4n, w + 3u * ky * at.c4n));
    }
    store4(t, at);
}

@compute @workgroup_size(64, 1, 1)
fn depthwise_vec4_k3s2(@builtin(global_invocation_id) gid: vec3<u32>) {
    let at = site4(gid);
    if !at.valid {
        return;
    }
    let ix0 = at.ox0 * 2u - params.pad_left;
    let w = weights_c4(at);
    var t = Row4();
    for (var ky = 0u; ky < 3u; ky++) {
        t = add4(t, row_k3s2(at.oy * 2u + ky - params.pad_top, ix0, input_c4(at), at.c4n, w + 3u * ky * at.c4n));
    }
    store4(t, at);
}

@compute @workgroup_size(64, 1, 1)
fn depthwise_vec4_k5s1(@builtin(global_invocation_id) gid: vec3<u32>) {
    let at = site4(gid);
    if !at.valid {
        return;
    }
    let ix0 = at.ox0 - params.pad_left;
    let w = weights_c4(at);
    var t = Row4();
    for (var ky = 0u; ky < 5u; ky++) {
        t = add4(t, row_k5s1(at.oy + ky - params.pad_top, ix0, input_c4(at), at.c4n, w + 5u * ky * at.c4n));
    }
    store4(t, at);
}

@compute @workgroup_size(64, 1, 1)
fn depthwise_vec4_k5s2(@builtin(global_invocation_id) gid: vec3<u32>) {
    let at = site4(gid);
    if !at.valid {
        return;
    }
    let ix0 = at.ox0 * 2u - params.pad_left;
    let w = weights_c4(at);
    var t = Row4();
    for (var ky = 0u; ky < 5u; ky++) {
        t = add4(t, row_k5s2(at.oy * 2u + ky - params.pad_top, ix0, input_c4(at), at.c4n, w + 5u * ky * at.c4n));
    }
    store4(t, at);
}

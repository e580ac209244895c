// pool_head: global average pool, classifier and softmax (three entry points).
// Bindings: 0 params, 1 input, 4 output, 7 classifier weights [classes, in_c],
//           8 classifier bias [classes] (its length is the class count).
// global_avg_pool: workgroup 64, one invocation per channel, z = patch; patch
// b's features start at b * feature_stride (a multiple of 64 elements, so
// each patch's features can be bound on their own at a 256-byte offset).
// classifier: workgroup 64, one invocation per class. classifier_vec4 (in_c
// a multiple of 4): four classes per invocation, each feature vec4 loaded
// once for the four weight rows (5 loads per 16 multiply-adds instead of 32).
// A pass over several patches runs both once per patch, on that patch's
// slices of the features, logits and probabilities.
// softmax: one workgroup of 256 invocations reducing over all classes.
// Reference: runtime/src/reference/pool_head.rs

@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(1) var<storage, read> input4: array<vec4<f32>>;
@group(2) @binding(8) var<storage, read> cls_bias: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn global_avg_pool(@builtin(global_invocation_id) gid: vec3<u32>) {
    let ch = gid.x;
    let c = params.in_c;
    if ch >= c {
        return;
    }
    let b = gid.z;
    let n = params.in_h * params.in_w;
    let ib = b * input_len();
    var sum = 0.0;
    for (var p = 0u; p < n; p++) {
        sum += input[ib + p * c + ch];
    }
    output[b * feature_stride(c) + ch] = sum / f32(n);
}

// Elements between consecutive patches' pooled features.
fn feature_stride(c: u32) -> u32 {
    return (c + 63u) / 64u * 64u;
}

@compute @workgroup_size(64, 1, 1)
fn classifier(@builtin(global_invocation_id) gid: vec3<u32>) {
    let k = gid.x;
    if k >= arrayLength(&cls_bias) {
        return;
    }
    let f = params.in_c;
    let row = k * f;
    var sum = 0.0;
    for (var i = 0u; i < f; i++) {
        sum += load_cls(row + i) * input[i];
    }
    output[k] = sum + cls_bias[k];
}

@compute @workgroup_size(64, 1, 1)
fn classifier_vec4(@builtin(global_invocation_id) gid: vec3<u32>) {
    let classes = arrayLength(&cls_bias);
    let k0 = gid.x * 4u;
    if k0 >= classes {
        return;
    }
    let f4 = params.in_c / 4u;
    // Classes past the last re-read the last row and are never written.
    let last = classes - 1u;
    let r0 = k0 * f4;
    let r1 = min(k0 + 1u, last) * f4;
    let r2 = min(k0 + 2u, last) * f4;
    let r3 = min(k0 + 3u, last) * f4;
    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0);
    for (var i = 0u; i < f4; i++) {
        let x = input4[i];
        a0 += x * load_cls4(r0 + i);
        a1 += x * load_cls4(r1 + i);
        a2 += x * load_cls4(r2 + i);
        a3 += x * load_cls4(r3 + i);
    }
    let ones = vec4<f32>(1.0);
    output[k0] = dot(a0, ones) + cls_bias[k0];
    if k0 + 1u < classes {
        output[k0 + 1u] = dot(a1, ones) + cls_bias[k0 + 1u];
    }
    if k0 + 2u < classes {
        output[k0 + 2u] = dot(a2, ones) + cls_bias[k0 + 2u];
    }
    if k0 + 3u < classes {
        output[k0 + 3u] = dot(a3, ones) + cls_bias[k0 + 3u];
    }
}

var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(256, 1, 1)
fn softmax(@builtin(local_invocation_index) lid: u32) {
    let n = arrayLength(&cls_bias);
    var m = -3.4028235e38;
    for (var i = lid; i < n; i += 256u) {
        m = max(m, input[i]);
    }
    partial[lid] = m;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s >>= 1u) {
        if lid < s {
            partial[lid] = max(partial[lid], partial[lid + s]);
        }
        workgroupBarrier();
    }
    let max_logit = partial[0];
    workgroupBarrier();
    var sum = 0.0;
    for (var i = lid; i < n; i += 256u) {
        sum += exp(input[i] - max_logit);
    }
    partial[lid] = sum;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s >>= 1u) {
        if lid < s {
            partial[lid] += partial[lid + s];
        }
        workgroupBarrier();
    }
    let total = partial[0];
    for (var i = lid; i < n; i += 256u) {
        output[i] = exp(input[i] - max_logit) / total;
    }
}

//! K patches in one pass: each result is bitwise the single-patch inference
//! under that patch, whatever the mix of patch kinds (scale/bias only, own
//! depthwise kernels, own classifier with another class count), the order,
//! repeats and K; bad requests change nothing.

use patchrt::{Classification, Engine, Error, Resolution, WeightPrecision};
use patchrt_tests::{
    Tolerance, assert_close, default_backbone_bytes, default_patches, small_backbone_bytes,
    small_patches,
};

use super::{engine, image, load};

/// The single-patch inference under `id`, through `classify_patches` with
/// one id (the batched kernels at K = 1) and through `classify` with `id`
/// active (the path every other test covers); both must agree bitwise.
fn single(e: &Engine, id: &str, res: u32) -> Classification {
    let img = image();
    let before = e.active_patch();
    e.activate(id).unwrap_or_else(|err| panic!("{err}"));
    let plain = e
        .classify(&img, Resolution(res))
        .unwrap_or_else(|err| panic!("classify under {id}: {err}"));
    e.activate(&before).unwrap_or_else(|err| panic!("{err}"));
    let one = e
        .classify_patches(&img, &[id], Resolution(res))
        .unwrap_or_else(|err| panic!("one-patch pass under {id}: {err}"));
    assert_eq!(one.len(), 1);
    assert_close(
        &one[0].probabilities,
        &plain.probabilities,
        Tolerance::Exact,
        &format!("{id} at {res}: one-patch pass vs classify"),
    );
    plain
}

/// Runs `ids` in one pass and compares every result with its single-patch
/// inference.
fn check_pass(e: &Engine, ids: &[&str], res: u32) {
    let img = image();
    let got = e
        .classify_patches(&img, ids, Resolution(res))
        .unwrap_or_else(|err| panic!("pass over {ids:?} at {res}: {err}"));
    assert_eq!(got.len(), ids.len());
    for (c, id) in got.iter().zip(ids) {
        let expected = single(e, id, res);
        assert_eq!(c.patch_id, *id);
        assert_eq!(c.resolution, Resolution(res));
        assert_eq!(c.labels, expected.labels, "{id}");
        assert_close(
            &c.probabilities,
            &expected.probabilities,
            Tolerance::Exact,
            &format!("{id} in a pass over {ids:?} at {res}"),
        );
    }
}

#[test]
fn each_patch_of_a_pass_equals_its_single_inference() {
    let Some((_, e)) = engine(small_backbone_bytes(), WeightPrecision::F32) else {
        return;
    };
    load(&e, small_patches());
    // objects: scale/bias only; scenes: own depthwise kernels; flowers: own
    // 17-class classifier; default: the backbone's.
    for res in [224, 96] {
        let objects = format!("objects@{res}");
        let scenes = format!("scenes@{res}");
        let flowers = format!("flowers@{res}");
        check_pass(&e, &[&objects, &flowers], res);
        check_pass(&e, &[&objects, &scenes, &flowers, "default"], res);
        check_pass(&e, &[&flowers, "default", &objects], res);
        check_pass(&e, &[&scenes, &scenes, &objects], res);
    }
    // A pass without depthwise patches after one with them re-binds the
    // backbone's kernels.
    check_pass(&e, &["objects@160", "flowers@160"], 160);
}

#[test]
fn four_tasks_of_the_default_model_in_one_pass() {
    let Some((_, e)) = engine(default_backbone_bytes(), WeightPrecision::F32) else {
        return;
    };
    load(&e, default_patches());
    check_pass(
        &e,
        &["objects@160", "scenes@160", "flowers@160", "default"],
        160,
    );
    let img = image();
    let by_task = e
        .classify_tasks(&img, &["flowers", "objects"], Resolution(96))
        .unwrap_or_else(|err| panic!("{err}"));
    let ids: Vec<&str> = by_task.iter().map(|c| c.patch_id.as_str()).collect();
    assert_eq!(ids, ["flowers@96", "objects@96"]);
    assert_eq!(by_task[0].probabilities.len(), 17);
}

#[test]
fn f16_weights_pass_equals_single_inferences() {
    let Some((ctx, e)) = engine(small_backbone_bytes(), WeightPrecision::F16) else {
        return;
    };
    if !ctx.has_f16() {
        eprintln!("SKIPPED: f16 batch pass: adapter has no shader-f16");
        return;
    }
    load(&e, small_patches());
    check_pass(&e, &["scenes@128", "objects@128", "flowers@128"], 128);
}

#[test]
fn bad_pass_requests_change_nothing() {
    let Some((_, e)) = engine(small_backbone_bytes(), WeightPrecision::F32) else {
        return;
    };
    load(&e, small_patches());
    e.activate("objects@160")
        .unwrap_or_else(|err| panic!("{err}"));
    let img = image();
    let before = e
        .classify(&img, Resolution(160))
        .unwrap_or_else(|err| panic!("{err}"));
    let max = e.max_patches_per_pass() as usize;
    assert_eq!(max, patchrt::engine::DEFAULT_MAX_PATCHES_PER_PASS as usize);

    let none: [&str; 0] = [];
    match e.classify_patches(&img, &none, Resolution(160)) {
        Err(Error::BatchSize {
            requested: 0,
            max: m,
        }) => assert_eq!(m, max),
        other => panic!("empty pass: {other:?}"),
    }
    let too_many = vec!["default"; max + 1];
    match e.classify_patches(&img, &too_many, Resolution(160)) {
        Err(Error::BatchSize { requested, .. }) => assert_eq!(requested, max + 1),
        other => panic!("oversized pass: {other:?}"),
    }
    match e.classify_patches(&img, &["objects@160", "nope"], Resolution(160)) {
        Err(Error::UnknownPatch { id }) => assert_eq!(id, "nope"),
        other => panic!("unknown patch: {other:?}"),
    }
    match e.classify_tasks(&img, &["objects", "no-such-task"], Resolution(160)) {
        Err(Error::NoPatchForTask { task, resolution }) => {
            assert_eq!((task.as_str(), resolution), ("no-such-task", 160));
        }
        other => panic!("unknown task: {other:?}"),
    }
    match e.classify_patches(&img, &["objects@160"], Resolution(100)) {
        Err(Error::UnknownResolution { requested: 100, .. }) => {}
        other => panic!("unknown resolution: {other:?}"),
    }
    // A full-size pass, then the single inference is unchanged bitwise.
    let full = vec!["flowers@160"; max];
    let got = e
        .classify_patches(&img, &full, Resolution(160))
        .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(got.len(), max);
    assert_eq!(e.active_patch(), "objects@160");
    let after = e
        .classify(&img, Resolution(160))
        .unwrap_or_else(|err| panic!("{err}"));
    assert_close(
        &after.probabilities,
        &before.probabilities,
        Tolerance::Exact,
        "active patch after bad and full passes",
    );
}

#[test]
fn activations_grow_only_when_a_pass_needs_them() {
    let Some((_, e)) = engine(small_backbone_bytes(), WeightPrecision::F32) else {
        return;
    };
    load(&e, small_patches());
    let img = image();
    // The first frame grows the image buffer; measure after it.
    e.classify(&img, Resolution(96))
        .unwrap_or_else(|err| panic!("{err}"));
    let single = e.memory().activation_bytes;
    e.classify_patches(&img, &["objects@96"], Resolution(96))
        .unwrap_or_else(|err| panic!("{err}"));
    let one = e.memory().activation_bytes;
    e.classify_patches(
        &img,
        &["objects@96", "scenes@96", "flowers@96"],
        Resolution(96),
    )
    .unwrap_or_else(|err| panic!("{err}"));
    let three = e.memory().activation_bytes;
    assert!(
        one < single + single / 10,
        "a one-patch pass must not grow activations: {single} -> {one}"
    );
    assert!(
        three > 2 * single,
        "a three-patch pass holds three activation sets: {single} -> {three}"
    );
    e.classify_patches(&img, &["objects@96", "scenes@96"], Resolution(96))
        .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(e.memory().activation_bytes, three, "no regrowth for fewer");
}

#[test]
fn zero_max_patches_per_pass_is_refused() {
    let Some(ctx) = patchrt_tests::gpu() else {
        return;
    };
    let options = patchrt::EngineOptions {
        max_patches_per_pass: 0,
        ..patchrt::EngineOptions::default()
    };
    match Engine::with_context(ctx, super::backbone(small_backbone_bytes()), options) {
        Err(Error::InvalidOption {
            option: "max_patches_per_pass",
            ..
        }) => {}
        other => panic!("max_patches_per_pass 0: {:?}", other.map(|_| ())),
    }
}

#[test]
fn the_adapters_binding_limit_lowers_patches_per_pass() {
    let Some(ctx) = patchrt_tests::gpu() else {
        return;
    };
    // At 1024 one patch's activations are about 100 MB (MobileNetV2 1.0).
    let options = patchrt::EngineOptions {
        resolutions: vec![Resolution(1024)],
        ..patchrt::EngineOptions::default()
    };
    let e = Engine::with_context(
        ctx.clone(),
        super::backbone(default_backbone_bytes()),
        options,
    )
    .unwrap_or_else(|err| panic!("engine at 1024: {err}"));
    let per_patch = e.plan().activation_len as u64 * 4;
    let fits = ctx.limits.max_storage_buffer_binding_size / per_patch;
    let expected = fits.clamp(1, u64::from(patchrt::engine::DEFAULT_MAX_PATCHES_PER_PASS)) as u32;
    assert_eq!(
        e.max_patches_per_pass(),
        expected,
        "{per_patch} bytes per patch"
    );
    if expected == patchrt::engine::DEFAULT_MAX_PATCHES_PER_PASS {
        eprintln!("NOTE: this adapter's binding limit does not lower the pass size at 1024");
        return;
    }
    let ids = vec!["default"; expected as usize + 1];
    match e.classify_patches(&image(), &ids, Resolution(1024)) {
        Err(Error::BatchSize { requested, max }) => {
            assert_eq!((requested, max), (ids.len(), expected as usize));
        }
        other => panic!(
            "a pass over the binding limit: {:?}",
            other.map(|r| r.len())
        ),
    }
}

//! Task lookup, byte budget with LRU eviction, memory accounting.

use patchrt::model::StoreAs;
use patchrt::{Engine, EngineOptions, Error, Patch, Resolution, WeightPrecision};
use patchrt_tests::{
    Tolerance, assert_close, gpu, parse_backbone, small_backbone_bytes, small_patches,
};

use super::{engine, image, load};

#[test]
fn task_lookup_prefers_the_resolution_patch_then_the_any_patch() {
    let Some((_, e)) = engine(small_backbone_bytes(), WeightPrecision::F32) else {
        return;
    };
    let mut any = small_patches()[0].clone();
    any.id = "objects-any".into();
    any.resolution = None;
    load(&e, &[small_patches()[2].clone(), any]);
    let find = |r: u32| {
        e.patch_for_task("objects", Resolution(r))
            .unwrap_or_else(|err| panic!("{err}"))
    };
    assert_eq!(find(160), "objects@160");
    assert_eq!(find(96), "objects-any");
    let img = image();
    let via_task = e
        .classify_task(&img, "objects", Resolution(96))
        .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(via_task.patch_id, "objects-any");
    assert_eq!(
        e.active_patch(),
        "default",
        "classify_task must not change the active patch"
    );
    e.activate("objects-any")
        .unwrap_or_else(|err| panic!("{err}"));
    let via_active = e
        .classify(&img, Resolution(96))
        .unwrap_or_else(|err| panic!("{err}"));
    assert_close(
        &via_active.probabilities,
        &via_task.probabilities,
        Tolerance::Exact,
        "task vs active",
    );
}

#[test]
fn budget_evicts_least_recently_used_and_never_the_active_patch() {
    let Some(ctx) = gpu() else { return };
    let backbone = parse_backbone(small_backbone_bytes());
    let sb_patches: Vec<&Patch> = small_patches()
        .iter()
        .filter(|p| p.task == "objects")
        .collect();
    let one = {
        let Ok(probe) =
            Engine::with_context(ctx.clone(), backbone.clone(), EngineOptions::default())
        else {
            panic!("engine")
        };
        match probe.load_parsed_patch(sb_patches[0]) {
            Ok(info) => info.gpu_bytes,
            Err(e) => panic!("{e}"),
        }
    };
    let options = EngineOptions {
        patch_budget_bytes: one * 2 + one / 2,
        ..EngineOptions::default()
    };
    let e = Engine::with_context(ctx.clone(), backbone.clone(), options)
        .unwrap_or_else(|err| panic!("{err}"));
    let bytes = |p: &Patch| p.to_bytes(&backbone, StoreAs::F32);
    for p in &sb_patches[..2] {
        assert!(e.load_patch(&bytes(p)).is_ok());
    }
    e.activate(&sb_patches[0].id)
        .unwrap_or_else(|err| panic!("{err}"));
    // Loading a third evicts the least recently used that is not active: [1].
    assert!(e.load_patch(&bytes(sb_patches[2])).is_ok());
    let ids: Vec<String> = e.patches().into_iter().map(|p| p.id).collect();
    assert!(
        ids.contains(&sb_patches[0].id) && ids.contains(&sb_patches[2].id),
        "{ids:?}"
    );
    assert!(!ids.contains(&sb_patches[1].id), "{ids:?}");
    assert!(ids.contains(&"default".to_string()));

    let tiny = Engine::with_context(
        ctx,
        backbone.clone(),
        EngineOptions {
            patch_budget_bytes: one / 2,
            ..EngineOptions::default()
        },
    )
    .unwrap_or_else(|err| panic!("{err}"));
    match tiny.load_patch(&bytes(sb_patches[0])) {
        Err(Error::PatchBudgetExceeded { needed, budget, .. }) => assert!(needed > budget),
        other => panic!("expected PatchBudgetExceeded, got {other:?}"),
    }
    assert_eq!(tiny.patches().len(), 1);
}

#[test]
fn memory_report_counts_backbone_once_and_patches_separately() {
    let Some((_, e)) = engine(small_backbone_bytes(), WeightPrecision::F32) else {
        return;
    };
    let arch = &e.backbone().arch;
    let weights = arch.layout.dense_len
        + arch.layout.depthwise_len
        + arch.classifier_len(arch.classes)
        + arch.classes as usize;
    let before = e.memory();
    assert_eq!(before.backbone_bytes as usize, weights * 4);
    load(&e, &small_patches()[..4]);
    let after = e.memory();
    assert_eq!(
        after.backbone_bytes, before.backbone_bytes,
        "patches must not copy backbone weights"
    );
    let sb = (arch.scale_bias_params() * 4) as u64;
    assert_eq!(after.patch_bytes - before.patch_bytes, 4 * sb);
    assert!(after.activation_bytes > 0);
}

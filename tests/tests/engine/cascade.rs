//! The cascade executor: escalation, frame reuse, the policy's cap, bad stages.

use patchrt::{CascadeStep, Error, Resolution, WeightPrecision};
use patchrt_tests::{Tolerance, assert_close, small_backbone_bytes, small_patches};

use super::{engine, image, load};

fn step(res: u32, threshold: Option<f32>) -> CascadeStep {
    CascadeStep {
        resolution: Resolution(res),
        threshold,
    }
}

#[test]
fn stages_escalate_until_one_is_confident_and_reuse_the_frame_exactly() {
    let Some((_, e)) = engine(small_backbone_bytes(), WeightPrecision::F32) else {
        return;
    };
    load(&e, small_patches());
    let img = image();
    let direct = |res: u32| match e.classify_task(&img, "objects", Resolution(res)) {
        Ok(c) => c.probabilities,
        Err(err) => panic!("{err}"),
    };
    // Threshold 0 answers at once.
    let first = e.classify_cascade(
        &img,
        "objects",
        &[step(96, Some(0.0)), step(224, None)],
        None,
    );
    let first = first.unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(first.stages_run, vec![Resolution(96)]);
    assert_close(
        &first.result.probabilities,
        &direct(96),
        Tolerance::Exact,
        "stage 1 answer",
    );
    assert_eq!(
        first.result.patch_id, "objects@96",
        "each stage uses the task's patch for its resolution"
    );

    // A threshold above 1 can never be met: every stage runs, the last answers,
    // and stages after the first (which reuse the uploaded frame) give exactly
    // what a fresh classification gives.
    let stages = [step(96, Some(1.5)), step(160, Some(1.5)), step(224, None)];
    let all = e
        .classify_cascade(&img, "objects", &stages, None)
        .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(
        all.stages_run,
        vec![Resolution(96), Resolution(160), Resolution(224)]
    );
    assert_eq!(all.result.patch_id, "objects@224");
    assert_close(
        &all.result.probabilities,
        &direct(224),
        Tolerance::Exact,
        "last stage answer",
    );
}

#[test]
fn a_cap_drops_the_stages_above_it() {
    let Some((_, e)) = engine(small_backbone_bytes(), WeightPrecision::F32) else {
        return;
    };
    load(&e, small_patches());
    let img = image();
    let stages = [step(96, Some(1.5)), step(160, Some(1.5)), step(224, None)];
    let capped = e.classify_cascade(&img, "objects", &stages, Some(Resolution(160)));
    let capped = capped.unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(
        capped.stages_run,
        vec![Resolution(96), Resolution(160)],
        "160 answers when 224 is over the cap"
    );
    let tiny_cap = e.classify_cascade(&img, "objects", &stages, Some(Resolution(64)));
    assert_eq!(
        tiny_cap.map(|o| o.stages_run).ok(),
        Some(vec![Resolution(96)])
    );
}

#[test]
fn bad_cascades_fail_before_any_gpu_work() {
    let Some((_, e)) = engine(small_backbone_bytes(), WeightPrecision::F32) else {
        return;
    };
    load(&e, &small_patches()[..5]);
    let img = image();
    assert!(matches!(
        e.classify_cascade(&img, "objects", &[], None),
        Err(Error::InvalidOption { .. })
    ));
    assert!(matches!(
        e.classify_cascade(
            &img,
            "objects",
            &[step(96, Some(0.5)), step(200, None)],
            None
        ),
        Err(Error::UnknownResolution { requested: 200, .. })
    ));
    assert!(matches!(
        e.classify_cascade(&img, "scenes", &[step(96, None)], None),
        Err(Error::NoPatchForTask { resolution: 96, .. })
    ));
    assert_eq!(e.resolutions_for_task("objects").len(), 5);
    assert!(e.resolutions_for_task("scenes").is_empty());
}

//! Patch swaps and resolution switches are data changes: outputs are bitwise
//! those of a fresh engine in the target state.

use std::sync::Arc;
use std::thread;

use patchrt::{Resolution, WeightPrecision};
use patchrt_tests::{Tolerance, assert_close, small_backbone_bytes, small_patches};

use super::{engine, image, load, probs};

#[test]
fn swap_a_b_a_gives_the_outputs_of_a_fresh_engine_with_a() {
    let Some((_, e)) = engine(small_backbone_bytes(), WeightPrecision::F32) else {
        return;
    };
    load(&e, small_patches());
    let img = image();
    let activate = |id: &str| e.activate(id).unwrap_or_else(|err| panic!("{err}"));
    activate("objects@160");
    let a1 = probs(&e, &img, 160);
    activate("scenes@160");
    let b = probs(&e, &img, 160);
    activate("flowers@160");
    let c = probs(&e, &img, 160);
    activate("objects@160");
    let a2 = probs(&e, &img, 160);
    assert_ne!(
        a1, b,
        "patches A and B must differ for the test to mean anything"
    );
    assert_ne!(c.len(), a1.len());
    assert_close(&a2, &a1, Tolerance::Exact, "A after A->B->C->A");

    let Some((_, fresh)) = engine(small_backbone_bytes(), WeightPrecision::F32) else {
        return;
    };
    load(&fresh, &small_patches()[..5]);
    fresh
        .activate("objects@160")
        .unwrap_or_else(|err| panic!("{err}"));
    assert_close(
        &probs(&fresh, &img, 160),
        &a1,
        Tolerance::Exact,
        "fresh engine with A",
    );
}

#[test]
fn resolution_switches_give_the_outputs_of_a_fresh_engine() {
    let Some((_, e)) = engine(small_backbone_bytes(), WeightPrecision::F32) else {
        return;
    };
    let img = image();
    let mut seen = Vec::new();
    for res in [224, 96, 160, 128, 192, 96] {
        seen.push((res, probs(&e, &img, res)));
    }
    for (res, p) in &seen {
        let Some((_, fresh)) = engine(small_backbone_bytes(), WeightPrecision::F32) else {
            return;
        };
        assert_close(
            &probs(&fresh, &img, *res),
            p,
            Tolerance::Exact,
            &format!("fresh engine at {res}"),
        );
    }
    assert_close(
        &seen[5].1,
        &seen[1].1,
        Tolerance::Exact,
        "96 before and after other resolutions",
    );
}

#[test]
fn concurrent_callers_get_consistent_results() {
    let Some((_, e)) = engine(small_backbone_bytes(), WeightPrecision::F32) else {
        return;
    };
    load(&e, small_patches());
    let img = image();
    let ids = ["objects@96", "scenes@96", "flowers@96"];
    let expected: Vec<Vec<f32>> = ids
        .iter()
        .map(
            |id| match e.classify_task(&img, id.split('@').next().unwrap_or(""), Resolution(96)) {
                Ok(c) => c.probabilities,
                Err(err) => panic!("{err}"),
            },
        )
        .collect();
    let e = Arc::new(e);
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let e = e.clone();
            let expected = expected.clone();
            thread::spawn(move || {
                let img = image();
                for i in 0..6 {
                    let k = (t + i) % 3;
                    let task = ["objects", "scenes", "flowers"][k];
                    // Another thread's activate must not change a task-addressed result.
                    let _ = e.activate(ids[(k + 1) % 3]);
                    let c = e
                        .classify_task(&img, task, Resolution(96))
                        .unwrap_or_else(|err| panic!("{err}"));
                    assert_eq!(
                        c.probabilities, expected[k],
                        "thread {t} iteration {i} task {task}"
                    );
                }
            })
        })
        .collect();
    for h in handles {
        assert!(h.join().is_ok(), "a caller thread panicked");
    }
}

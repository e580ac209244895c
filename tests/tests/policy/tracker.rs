//! The latency tracker: EWMA, p90 by nearest rank, bounded window.

use patchrt::Resolution;
use patchrt::policy::{DEFAULT_ALPHA, DEFAULT_WINDOW, LatencyTracker};

const R: Resolution = Resolution(160);

fn tracker(window: usize, alpha: f64) -> LatencyTracker {
    match LatencyTracker::new(window, alpha) {
        Ok(t) => t,
        Err(e) => panic!("{e}"),
    }
}

fn record_all(tracker: &mut LatencyTracker, samples: &[f64]) {
    for &ms in samples {
        if let Err(e) = tracker.record(R, ms) {
            panic!("{e}");
        }
    }
}

#[test]
fn p90_is_the_nearest_rank() {
    // (samples, p90): rank ceil(0.9 n) of the sorted samples.
    let cases: &[(&[f64], f64)] = &[
        (&[7.0], 7.0),
        (&[3.0, 1.0], 3.0),
        (&[5.0, 1.0, 4.0, 2.0, 3.0], 5.0),
        (&[10.0, 9.0, 8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0], 9.0),
        (
            &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0],
            10.0,
        ),
    ];
    for (samples, want) in cases {
        let mut t = LatencyTracker::default();
        record_all(&mut t, samples);
        assert_eq!(t.p90(R), Some(*want), "{samples:?}");
    }
    // 20 samples 1..=20: rank 18.
    let mut t = LatencyTracker::default();
    record_all(&mut t, &(1..=20).map(f64::from).collect::<Vec<_>>());
    assert_eq!(t.p90(R), Some(18.0));
    assert_eq!(t.p90(Resolution(224)), None);
}

#[test]
fn window_keeps_only_the_newest_samples() {
    let mut t = tracker(4, 0.5);
    record_all(&mut t, &[100.0, 100.0, 100.0, 100.0, 1.0, 2.0, 3.0]);
    assert_eq!(t.samples(R), 4);
    // Kept: 100, 1, 2, 3.
    assert_eq!(t.p90(R), Some(100.0));
    record_all(&mut t, &[4.0]);
    assert_eq!(t.p90(R), Some(4.0));

    let mut t = LatencyTracker::default();
    record_all(&mut t, &vec![1.0; 3 * DEFAULT_WINDOW]);
    assert_eq!(t.samples(R), DEFAULT_WINDOW);
}

#[test]
fn ewma_starts_at_the_first_sample_and_weights_by_alpha() {
    let mut t = tracker(8, 0.25);
    assert_eq!(t.ewma(R), None);
    record_all(&mut t, &[8.0]);
    assert_eq!(t.ewma(R), Some(8.0));
    record_all(&mut t, &[16.0]);
    assert_eq!(t.ewma(R), Some(10.0));
    record_all(&mut t, &[2.0]);
    assert_eq!(t.ewma(R), Some(8.0));
    let d = LatencyTracker::default();
    assert_eq!((d.window(), d.alpha()), (DEFAULT_WINDOW, DEFAULT_ALPHA));
}

#[test]
fn resolutions_are_tracked_apart_and_can_be_forgotten() {
    let mut t = LatencyTracker::default();
    record_all(&mut t, &[5.0]);
    if let Err(e) = t.record(Resolution(224), 20.0) {
        panic!("{e}");
    }
    assert_eq!(t.measured().collect::<Vec<_>>(), [R, Resolution(224)]);
    assert_eq!((t.p90(R), t.p90(Resolution(224))), (Some(5.0), Some(20.0)));
    t.forget(Resolution(224));
    assert_eq!(t.samples(Resolution(224)), 0);
    assert_eq!(t.ewma(Resolution(224)), None);
    assert_eq!(t.samples(R), 1);
}

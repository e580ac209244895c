//! Latency and energy budgets: the highest resolution whose estimate fits.

use patchrt::Resolution;
use patchrt::policy::{DeviceState, LatencyTracker, Policy, PolicyConfig};

use super::{Row, STANDARD, battery, charging, check, plan_with, within_ms};

/// p90 per resolution on an imaginary phone.
const PHONE: &[(u32, f64)] = &[(224, 14.0), (192, 11.0), (160, 8.0), (128, 6.0), (96, 4.5)];

#[test]
fn highest_resolution_whose_p90_meets_the_latency_budget() {
    check(&[
        Row::new("generous budget", within_ms(charging(), 20.0), 224)
            .latencies(PHONE)
            .reason(&["latency budget 20 ms: 224 fits (p90 14 ms)"]),
        Row::new("exactly at the p90", within_ms(charging(), 14.0), 224).latencies(PHONE),
        Row::new("12 ms", within_ms(charging(), 12.0), 192)
            .latencies(PHONE)
            .reason(&[
                "latency budget 12 ms: 224 rejected (p90 14 ms > 12 ms), 192 fits (p90 11 ms)",
                "run 192",
            ]),
        Row::new("9 ms", within_ms(charging(), 9.0), 160).latencies(PHONE),
        Row::new("5 ms", within_ms(charging(), 5.0), 96).latencies(PHONE),
        Row::new("4 ms cannot be met", within_ms(charging(), 4.0), 96)
            .latencies(PHONE)
            .reason(&[
                "latency budget 4 ms cannot be met (96: p90 4.5 ms > 4 ms), using the lowest, 96",
            ]),
        Row::new(
            "only fitting rung not loaded",
            within_ms(charging(), 7.0),
            128,
        )
        .latencies(PHONE)
        .available(&[224, 192, 128]),
        Row::new(
            "none fits among the loaded",
            within_ms(charging(), 7.0),
            192,
        )
        .latencies(PHONE)
        .available(&[224, 192])
        .reason(&["cannot be met (192: p90 11 ms > 7 ms), using the lowest, 192"]),
    ]);
}

#[test]
fn budgets_never_lift_the_battery_or_heat_cap() {
    check(&[
        Row::new(
            "battery 24% caps at 160",
            within_ms(battery(0.24), 50.0),
            160,
        )
        .latencies(PHONE)
        .reason(&["stepped down 2 levels to 160", "160 fits (p90 8 ms)"]),
        Row::new(
            "battery cap, then the budget",
            within_ms(battery(0.4), 10.0),
            160,
        )
        .latencies(PHONE)
        .reason(&["192 rejected (p90 11 ms > 10 ms), 160 fits"]),
    ]);
}

#[test]
fn unmeasured_resolutions_are_assumed_to_fit_and_the_reason_says_so() {
    check(&[
        Row::new("nothing measured", within_ms(charging(), 5.0), 224)
            .reason(&["224 fits (latency not measured yet, assumed to fit)"]),
        Row::new(
            "a lower resolution is already too slow",
            within_ms(charging(), 10.0),
            160,
        )
        .latencies(&[(192, 12.0), (160, 9.0)])
        .reason(&[
            "224 rejected (not measured, but 192 already has p90 12 ms)",
            "192 rejected (p90 12 ms > 10 ms)",
            "160 fits (p90 9 ms)",
        ]),
        Row::new("a lower resolution fits", within_ms(charging(), 10.0), 224)
            .latencies(&[(192, 9.0)])
            .reason(&["224 fits (latency not measured yet"]),
    ]);

    // Fewer samples than `min_samples` count as unmeasured.
    let mut tracker = LatencyTracker::default();
    for _ in 1..PolicyConfig::default().min_samples {
        record(&mut tracker, 224, 30.0);
    }
    let plan = plan_with(
        &mut Policy::default(),
        &within_ms(charging(), 10.0),
        &tracker,
        STANDARD,
    );
    assert_eq!(plan.resolution, Resolution(224), "{}", plan.reason);
    assert!(plan.reason.contains("not measured yet"), "{}", plan.reason);
    record(&mut tracker, 224, 30.0);
    let plan = plan_with(
        &mut Policy::default(),
        &within_ms(charging(), 10.0),
        &tracker,
        STANDARD,
    );
    assert_eq!(plan.resolution, Resolution(192), "{}", plan.reason);
}

/// The default power draw is 2000 mW, so a mean of 10 ms is 20 mJ.
#[test]
fn energy_budget_caps_like_latency() {
    let energy = |mj: f64| DeviceState {
        energy_budget_mj: Some(mj),
        ..charging()
    };
    check(&[
        Row::new("28 mJ covers 224", energy(28.0), 224)
            .latencies(PHONE)
            .reason(&["energy budget 28 mJ: 224 fits (~28 mJ)"]),
        Row::new("20 mJ", energy(20.0), 160)
            .latencies(PHONE)
            .reason(&[
                "224 rejected (~28 mJ > 20 mJ)",
                "192 rejected (~22 mJ > 20 mJ)",
                "160 fits (~16 mJ)",
            ]),
        Row::new("5 mJ cannot be met", energy(5.0), 96)
            .latencies(PHONE)
            .reason(&["energy budget 5 mJ cannot be met (96: ~9 mJ > 5 mJ)"]),
        Row::new(
            "both budgets: the tighter wins",
            DeviceState {
                latency_budget_ms: Some(12.0),
                ..energy(13.0)
            },
            128,
        )
        .latencies(PHONE)
        .reason(&[
            "latency budget 12 ms, energy budget 13 mJ:",
            "192 rejected (~22 mJ > 13 mJ)",
            "128 fits (p90 6 ms, ~12 mJ)",
        ]),
    ]);
}

fn record(tracker: &mut LatencyTracker, side: u32, ms: f64) {
    if let Err(e) = tracker.record(Resolution(side), ms) {
        panic!("{e}");
    }
}

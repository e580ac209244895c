//! Readings hovering at a boundary: the plan changes once, not at every crossing.

use patchrt::Resolution;
use patchrt::policy::{DeviceState, LatencyTracker, Plan, Policy, PolicyConfig};

use super::{STANDARD, battery, charging, measured, plan_with, res, within_ms};

/// Plans for a sequence of `(state, tracker)` on one policy.
fn run(policy: &mut Policy, steps: &[(DeviceState, LatencyTracker)]) -> Vec<Plan> {
    steps
        .iter()
        .map(|(state, tracker)| plan_with(policy, state, tracker, STANDARD))
        .collect()
}

/// How many times the decision (resolution, cascade, cap) changes along `plans`.
fn changes(plans: &[Plan]) -> usize {
    let key = |p: &Plan| (p.resolution, p.run_cascade, p.cascade_cap);
    plans
        .windows(2)
        .filter(|w| key(&w[0]) != key(&w[1]))
        .count()
}

fn sides(plans: &[Plan]) -> Vec<u32> {
    plans.iter().map(|p| p.resolution.side()).collect()
}

fn policy_with(config: PolicyConfig) -> Policy {
    match Policy::new(config) {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    }
}

/// Battery readings wandering around the 30% threshold.
const HOVER_30: &[f64] = &[
    0.31, 0.30, 0.29, 0.30, 0.31, 0.32, 0.295, 0.31, 0.325, 0.29, 0.32,
];

#[test]
fn battery_hovering_at_a_threshold_changes_the_plan_once() {
    let none = measured(&[]);
    let steps: Vec<_> = HOVER_30
        .iter()
        .map(|&b| (battery(b), none.clone()))
        .collect();
    let mut policy = Policy::default();
    let plans = run(&mut policy, &steps);
    assert_eq!(
        sides(&plans),
        [192, 192, 160, 160, 160, 160, 160, 160, 160, 160, 160]
    );
    assert_eq!(changes(&plans), 1);
    assert!(
        plans[4]
            .reason
            .contains("battery 31% (held below 30% until above 33%), not charging: stepped down 2 levels to 160"),
        "{}",
        plans[4].reason
    );

    // Clearly above threshold + hysteresis: back up one level.
    let up = plan_with(&mut policy, &battery(0.34), &none, STANDARD);
    assert_eq!(up.resolution, Resolution(192), "{}", up.reason);
    // Charging lifts the battery rules at once.
    let plugged = plan_with(
        &mut policy,
        &DeviceState {
            battery: 0.2,
            ..charging()
        },
        &none,
        STANDARD,
    );
    assert_eq!(plugged.resolution, Resolution(224), "{}", plugged.reason);
}

#[test]
fn without_battery_hysteresis_the_same_readings_flap() {
    let none = measured(&[]);
    let steps: Vec<_> = HOVER_30
        .iter()
        .map(|&b| (battery(b), none.clone()))
        .collect();
    let mut policy = policy_with(PolicyConfig {
        battery_hysteresis: 0.0,
        ..PolicyConfig::default()
    });
    let plans = run(&mut policy, &steps);
    assert!(changes(&plans) >= 4, "{:?}", sides(&plans));
}

/// Trackers where 192's p90 is `ms`, with 224 far too slow and 160 fast.
fn hovering_192(values: &[f64]) -> Vec<(DeviceState, LatencyTracker)> {
    values
        .iter()
        .map(|&ms| {
            (
                within_ms(charging(), 10.0),
                measured(&[(224, 30.0), (192, ms), (160, 5.0)]),
            )
        })
        .collect()
}

#[test]
fn latency_hovering_at_the_budget_changes_the_plan_once() {
    let mut policy = Policy::default();
    let plans = run(
        &mut policy,
        &hovering_192(&[9.8, 10.2, 9.9, 10.1, 9.7, 10.05, 9.5]),
    );
    assert_eq!(sides(&plans), [192, 160, 160, 160, 160, 160, 160]);
    assert_eq!(changes(&plans), 1);
    assert!(
        plans[2]
            .reason
            .contains("192 rejected (p90 9.9 ms > 9 ms, the 10% margin needed to step up)"),
        "{}",
        plans[2].reason
    );
    // Within the margin: back up.
    let back = run(&mut policy, &hovering_192(&[8.9]));
    assert_eq!(back[0].resolution, Resolution(192), "{}", back[0].reason);
}

#[test]
fn without_latency_hysteresis_the_same_readings_flap() {
    let mut policy = policy_with(PolicyConfig {
        latency_hysteresis: 0.0,
        ..PolicyConfig::default()
    });
    let plans = run(
        &mut policy,
        &hovering_192(&[9.8, 10.2, 9.9, 10.1, 9.7, 10.05, 9.5]),
    );
    assert_eq!(changes(&plans), 6, "{:?}", sides(&plans));
}

#[test]
fn cascade_length_hovering_at_the_budget_changes_once() {
    let steps: Vec<_> = [10.8, 11.2, 10.9, 11.1, 10.5, 8.5]
        .iter()
        .map(|&ms| {
            (
                within_ms(charging(), 20.0),
                measured(&[(96, 3.0), (160, 6.0), (224, ms)]),
            )
        })
        .collect();
    let mut policy = Policy::default();
    policy.set_cascade(&res(&[96, 160, 224]));
    let plans = run(&mut policy, &steps);
    let caps: Vec<_> = plans.iter().map(|p| p.cascade_cap).collect();
    let c160 = Some(Resolution(160));
    // 19.8, 20.2, 19.9, 20.1, 19.5 ms through 224: cut once, and extended
    // again only at 17.5 ms (within 90% of 20).
    assert_eq!(caps, [None, c160, c160, c160, c160, None]);
    assert!(plans.iter().all(|p| p.run_cascade));
    assert!(plans.iter().all(|p| p.resolution == Resolution(224)));
}

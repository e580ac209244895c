//! When the plan runs the cascade, and where it caps it.

use patchrt::policy::{Policy, PolicyConfig, ThermalState};

use super::{Row, STANDARD, battery, charging, check, hot, measured, plan_with, res, within_ms};

/// Stage resolutions of a typical Streeter cascade.
const STAGES: &[u32] = &[96, 160, 224];

/// p90 per resolution.
const TIMES: &[(u32, f64)] = &[(224, 12.0), (192, 9.0), (160, 6.0), (128, 4.0), (96, 3.0)];

#[test]
fn cascade_runs_on_battery_or_under_a_budget_and_is_capped() {
    check(&[
        Row::new("charging, no budget", charging(), 224)
            .latencies(TIMES)
            .cascade(STAGES, false, None)
            .reason(&["cascade off (charging, no budget)", "run 224"]),
        Row::new("on battery", battery(0.9), 224)
            .latencies(TIMES)
            .cascade(STAGES, true, None)
            .reason(&["run cascade 96 -> 160 -> 224"]),
        Row::new(
            "charging with a budget it fits",
            within_ms(charging(), 25.0),
            224,
        )
        .latencies(TIMES)
        .cascade(STAGES, true, None),
        Row::new("battery cap cuts the cascade", battery(0.24), 160)
            .latencies(TIMES)
            .cascade(STAGES, true, Some(160))
            .reason(&["run cascade 96 -> 160, capped at 160 (224 is above the plan's 160)"]),
        Row::new(
            "sum of p90s over the budget",
            within_ms(charging(), 20.0),
            224,
        )
        .latencies(TIMES)
        .cascade(STAGES, true, Some(160))
        .reason(&["capped at 160 (p90 through 224 adds up to 21 ms > 20 ms)"]),
        Row::new("too tight for two stages", within_ms(charging(), 8.0), 160)
            .latencies(TIMES)
            .cascade(STAGES, false, None)
            .reason(&[
                "cascade off (only 1 usable stage: p90 through 160 adds up to 9 ms > 8 ms)",
                "run 160",
            ]),
        Row::new("a stage without a patch", battery(0.9), 224)
            .latencies(TIMES)
            .available(&[224, 192, 96])
            .cascade(STAGES, false, None)
            .reason(&["cascade off (only 1 usable stage: 160 has no patch loaded)"]),
        Row::new(
            "heat forces the lowest",
            hot(battery(0.9), ThermalState::Critical),
            96,
        )
        .latencies(TIMES)
        .cascade(STAGES, false, None)
        .reason(&["160 is above the plan's 96", "run 96"]),
        Row::new(
            "a repeated resolution caps at its first stage",
            battery(0.24),
            160,
        )
        .latencies(TIMES)
        .cascade(&[96, 160, 160, 224], true, Some(160))
        .reason(&["run cascade 96 -> 160, capped at 160"]),
        Row::new(
            "a repeated resolution is counted once",
            within_ms(charging(), 20.0),
            192,
        )
        .latencies(TIMES)
        .available(&[192, 160, 128, 96])
        .cascade(&[96, 160, 96, 192], true, None)
        .reason(&["run cascade 96 -> 160 -> 96 -> 192"]),
        Row::new("a one-stage cascade", battery(0.9), 224)
            .cascade(&[224], false, None)
            .reason(&["cascade off (it has 1 stage, 2 needed)"]),
        Row::new(
            "unmeasured stages count as free",
            within_ms(charging(), 5.0),
            224,
        )
        .cascade(STAGES, true, None),
    ]);
}

#[test]
fn no_cascade_configured_means_no_cascade_and_no_mention() {
    let plan = plan_with(
        &mut Policy::default(),
        &battery(0.9),
        &measured(TIMES),
        STANDARD,
    );
    assert!(!plan.run_cascade);
    assert_eq!(plan.cascade_cap, None);
    assert!(!plan.reason.contains("cascade"), "{}", plan.reason);
}

#[test]
fn cascade_enable_rule_is_configuration() {
    let config = PolicyConfig {
        cascade_on_battery: false,
        ..PolicyConfig::default()
    };
    let mut policy = match Policy::new(config) {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    };
    policy.set_cascade(&res(STAGES));
    let plan = plan_with(&mut policy, &battery(0.9), &measured(TIMES), STANDARD);
    assert!(!plan.run_cascade, "{}", plan.reason);
    assert!(
        plan.reason.contains("cascade off (on battery, no budget)"),
        "{}",
        plan.reason
    );
    let plan = plan_with(
        &mut policy,
        &within_ms(battery(0.9), 30.0),
        &measured(TIMES),
        STANDARD,
    );
    assert!(plan.run_cascade, "{}", plan.reason);
}

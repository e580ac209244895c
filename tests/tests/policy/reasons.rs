//! The example reasons quoted in `docs/policy.md`, verbatim.

use patchrt::Resolution;
use patchrt::policy::{DeviceState, Policy, ThermalState};

use super::{STANDARD, battery, charging, hot, measured, plan_with, res, within_ms};

/// The documentation's phone: p90 (and mean) per resolution.
const PHONE: &[(u32, f64)] = &[(224, 14.0), (192, 11.0), (160, 8.0), (128, 6.0), (96, 4.5)];

/// The reason of a fresh policy's plan, after planning `before` first.
fn reason(state: DeviceState, before: Option<DeviceState>, cascade: bool) -> String {
    let tracker = measured(PHONE);
    let mut policy = Policy::default();
    if cascade {
        policy.set_cascade(&res(&[96, 160, 224]));
    }
    if let Some(before) = before {
        plan_with(&mut policy, &before, &tracker, STANDARD);
    }
    plan_with(&mut policy, &state, &tracker, STANDARD).reason
}

#[test]
fn documented_reasons_are_what_the_policy_says() {
    let cases = [
        (
            reason(charging(), None, false),
            "charging, thermal nominal: full resolution 224; run 224",
        ),
        (
            reason(battery(0.8), None, true),
            "battery 80%, not charging, thermal nominal: full resolution 224; run cascade 96 -> 160 -> 224",
        ),
        (
            reason(battery(0.24), None, false),
            "battery 24% (< 30%), not charging: stepped down 2 levels to 160; run 160",
        ),
        (
            reason(battery(0.31), Some(battery(0.29)), true),
            "battery 31% (held below 30% until above 33%), not charging: stepped down 2 levels to 160; run cascade 96 -> 160, capped at 160 (224 is above the plan's 160)",
        ),
        (
            reason(hot(battery(0.9), ThermalState::Serious), None, false),
            "thermal serious: stepped down 2 levels to 160; run 160",
        ),
        (
            reason(
                DeviceState {
                    power_save: true,
                    ..hot(battery(0.4), ThermalState::Critical)
                },
                None,
                true,
            ),
            "battery 40% (< 50%), not charging: stepped down 1 level to 192; thermal critical: lowest resolution 96; power-save mode: at most 160; cascade off (only 1 usable stage: 160 is above the plan's 96); run 96",
        ),
        (
            reason(within_ms(charging(), 12.0), None, false),
            "charging, thermal nominal: no step down; latency budget 12 ms: 224 rejected (p90 14 ms > 12 ms), 192 fits (p90 11 ms); run 192",
        ),
        (
            reason(within_ms(charging(), 4.0), None, false),
            "charging, thermal nominal: no step down; latency budget 4 ms cannot be met (96: p90 4.5 ms > 4 ms), using the lowest, 96; run 96",
        ),
        (
            reason(
                DeviceState {
                    energy_budget_mj: Some(20.0),
                    ..charging()
                },
                None,
                false,
            ),
            "charging, thermal nominal: no step down; energy budget 20 mJ: 224 rejected (~28 mJ > 20 mJ), 192 rejected (~22 mJ > 20 mJ), 160 fits (~16 mJ); run 160",
        ),
    ];
    for (got, want) in cases {
        assert_eq!(got, want);
    }

    let mut policy = Policy::default();
    policy.set_cascade(&res(&[96, 160, 224]));
    policy.set_override(Some(Resolution(192)));
    let plan = plan_with(
        &mut policy,
        &battery(0.1),
        &measured(PHONE),
        &[224, 160, 96],
    );
    assert_eq!(
        plan.reason,
        "manual override 192 has no patch loaded: using 160; cascade off (manual override)"
    );
}

//! The manual override wins over every rule except availability.

use patchrt::Resolution;
use patchrt::policy::{DeviceState, Policy, ThermalState};

use super::{STANDARD, battery, charging, hot, measured, plan_with, res, within_ms};

/// One override row: the override, the state, what is loaded, the plan.
struct Case {
    name: &'static str,
    manual: u32,
    state: DeviceState,
    available: &'static [u32],
    resolution: u32,
    reason: &'static str,
}

#[test]
fn override_wins_over_everything_but_availability() {
    let slow = measured(&[
        (224, 40.0),
        (192, 30.0),
        (160, 20.0),
        (128, 10.0),
        (96, 5.0),
    ]);
    let cases = [
        Case {
            name: "up against an empty battery",
            manual: 224,
            state: battery(0.05),
            available: STANDARD,
            resolution: 224,
            reason: "manual override: 224",
        },
        Case {
            name: "up against critical heat",
            manual: 192,
            state: hot(battery(0.9), ThermalState::Critical),
            available: STANDARD,
            resolution: 192,
            reason: "manual override: 192",
        },
        Case {
            name: "over a latency budget",
            manual: 224,
            state: within_ms(charging(), 6.0),
            available: STANDARD,
            resolution: 224,
            reason: "manual override: 224",
        },
        Case {
            name: "down while charging and cool",
            manual: 96,
            state: charging(),
            available: STANDARD,
            resolution: 96,
            reason: "manual override: 96",
        },
        Case {
            name: "not loaded: the next lower",
            manual: 192,
            state: charging(),
            available: &[224, 160, 96],
            resolution: 160,
            reason: "manual override 192 has no patch loaded: using 160",
        },
        Case {
            name: "below everything loaded: the lowest",
            manual: 64,
            state: charging(),
            available: &[224, 160],
            resolution: 160,
            reason: "manual override 64 has no patch loaded: using 160",
        },
    ];
    for case in cases {
        let mut policy = Policy::default();
        policy.set_cascade(&res(&[96, 160, 224]));
        policy.set_override(Some(Resolution(case.manual)));
        assert_eq!(policy.manual_override(), Some(Resolution(case.manual)));
        let plan = plan_with(&mut policy, &case.state, &slow, case.available);
        assert_eq!(
            plan.resolution,
            Resolution(case.resolution),
            "{}: {}",
            case.name,
            plan.reason
        );
        assert!(!plan.run_cascade, "{}: {}", case.name, plan.reason);
        assert!(
            plan.reason.contains(case.reason),
            "{}: {}",
            case.name,
            plan.reason
        );
        assert!(
            plan.reason.contains("cascade off (manual override)"),
            "{}",
            plan.reason
        );
    }
}

#[test]
fn clearing_the_override_returns_to_the_rules() {
    let none = measured(&[]);
    let mut policy = Policy::default();
    policy.set_override(Some(Resolution(224)));
    let pinned = plan_with(&mut policy, &battery(0.2), &none, STANDARD);
    assert_eq!(pinned.resolution, Resolution(224));
    policy.set_override(None);
    let auto = plan_with(&mut policy, &battery(0.2), &none, STANDARD);
    assert_eq!(auto.resolution, Resolution(160), "{}", auto.reason);
    // The battery rule entered while pinned still holds with its hysteresis.
    let held = plan_with(&mut policy, &battery(0.31), &none, STANDARD);
    assert_eq!(held.resolution, Resolution(160), "{}", held.reason);
}

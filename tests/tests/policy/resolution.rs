//! Battery, heat, power-save and availability: which resolution a fresh policy plans.

use patchrt::Resolution;
use patchrt::policy::{BatteryRule, DeviceState, Policy, PolicyConfig, StepDown, ThermalState};

use super::{Row, STANDARD, battery, charging, check, hot, measured, plan_with, res};

use ThermalState::{Critical, Fair, Nominal, Serious};

#[test]
fn full_resolution_when_charging_and_cool() {
    check(&[
        Row::new("charging, full battery", charging(), 224)
            .reason(&["charging, thermal nominal: full resolution 224", "run 224"]),
        Row::new(
            "charging lifts the battery rules",
            DeviceState {
                battery: 0.05,
                ..charging()
            },
            224,
        )
        .reason(&["full resolution 224"]),
        Row::new("on battery above every threshold", battery(0.8), 224)
            .reason(&["battery 80%, not charging, thermal nominal: full resolution 224"]),
        Row::new("exactly at the first threshold", battery(0.5), 224),
        Row::new("ladder without 224", charging(), 192).available(&[96, 192, 128]),
    ]);
}

#[test]
fn steps_down_as_battery_falls() {
    check(&[
        Row::new("49%: one level", battery(0.49), 192)
            .reason(&["battery 49% (< 50%), not charging: stepped down 1 level to 192"]),
        Row::new("30%: still one level", battery(0.30), 192),
        Row::new("24%: two levels", battery(0.24), 160)
            .reason(&["battery 24% (< 30%), not charging: stepped down 2 levels to 160"]),
        Row::new("15%: still two levels", battery(0.15), 160),
        Row::new("14%: lowest", battery(0.14), 96)
            .reason(&["battery 14% (< 15%), not charging: lowest resolution 96"]),
        Row::new("empty", battery(0.0), 96),
        Row::new("two levels clamped on a short ladder", battery(0.2), 96)
            .available(&[224, 96])
            .reason(&["stepped down 1 level to 96"]),
        Row::new("one resolution: nothing lower", battery(0.2), 128)
            .available(&[128])
            .reason(&["no lower resolution than 128 loaded"]),
    ]);
}

#[test]
fn steps_down_as_heat_rises() {
    check(&[
        Row::new("nominal", hot(battery(0.9), Nominal), 224),
        Row::new("fair", hot(battery(0.9), Fair), 192)
            .reason(&["thermal fair: stepped down 1 level to 192"]),
        Row::new("serious", hot(battery(0.9), Serious), 160)
            .reason(&["thermal serious: stepped down 2 levels to 160"]),
        Row::new("critical", hot(battery(0.9), Critical), 96)
            .reason(&["thermal critical: lowest resolution 96"]),
        Row::new("charging does not cool", hot(charging(), Serious), 160),
    ]);
}

#[test]
fn most_severe_cap_wins() {
    let power_save = |state: DeviceState| DeviceState {
        power_save: true,
        ..state
    };
    check(&[
        Row::new(
            "battery one level, serious two",
            hot(battery(0.4), Serious),
            160,
        )
        .reason(&["battery 40%", "thermal serious"]),
        Row::new("battery two levels, fair one", hot(battery(0.2), Fair), 160),
        Row::new("battery lowest, fair", hot(battery(0.1), Fair), 96),
        Row::new(
            "power-save on a full battery",
            power_save(battery(0.9)),
            160,
        )
        .reason(&["power-save mode: at most 160", "run 160"]),
        Row::new("power-save while charging", power_save(charging()), 160),
        Row::new(
            "power-save and critical",
            hot(power_save(charging()), Critical),
            96,
        ),
        Row::new("power-save, no 160 loaded", power_save(charging()), 128)
            .available(&[224, 192, 128])
            .reason(&["at most 160, so 128"]),
        Row::new(
            "power-save, nothing at or below 160",
            power_save(charging()),
            192,
        )
        .available(&[224, 192])
        .reason(&["none loaded, using the lowest, 192"]),
    ]);
}

#[test]
fn thresholds_come_from_the_configuration() {
    let config = PolicyConfig {
        battery_rules: vec![BatteryRule {
            below: 0.8,
            step: StepDown::Levels(3),
        }],
        thermal_fair: StepDown::Levels(0),
        power_save_max: None,
        ..PolicyConfig::default()
    };
    let mut policy = match Policy::new(config) {
        Ok(p) => p,
        Err(e) => panic!("valid configuration rejected: {e}"),
    };
    let none = measured(&[]);
    let state = DeviceState {
        power_save: true,
        ..hot(battery(0.7), Fair)
    };
    let plan = plan_with(&mut policy, &state, &none, STANDARD);
    assert_eq!(plan.resolution, Resolution(128), "{}", plan.reason);
    assert!(plan.reason.contains("(< 80%)"), "{}", plan.reason);
    assert!(!plan.reason.contains("thermal"), "{}", plan.reason);
    assert!(!plan.reason.contains("power-save"), "{}", plan.reason);
}

/// Every combination of battery, charging, power-save, heat, budget, override
/// and ladder: the plan names an available resolution and, if it runs the
/// cascade, caps it at an available one.
#[test]
fn never_a_resolution_without_a_patch() {
    let ladders: [&[u32]; 5] = [
        &[224],
        &[96],
        &[160, 224],
        &[128, 224, 96, 224],
        &[192, 160, 128, 96],
    ];
    let latencies = measured(&[(224, 20.0), (192, 14.0), (128, 6.0), (96, 4.0)]);
    let mut checked = 0;
    for available in ladders {
        for battery_level in [1.0, 0.45, 0.25, 0.1] {
            for plugged in [false, true] {
                for power_save in [false, true] {
                    for thermal in [Nominal, Fair, Serious, Critical] {
                        for budget in [None, Some(5.0), Some(15.0)] {
                            for manual in [None, Some(192), Some(100)] {
                                let state = DeviceState {
                                    battery: battery_level,
                                    charging: plugged,
                                    power_save,
                                    thermal,
                                    latency_budget_ms: budget,
                                    energy_budget_mj: None,
                                };
                                let mut policy = Policy::default();
                                policy.set_cascade(&res(&[96, 160, 192, 224]));
                                policy.set_override(manual.map(Resolution));
                                let plan = plan_with(&mut policy, &state, &latencies, available);
                                let ok = |r: Resolution| available.contains(&r.side());
                                assert!(
                                    ok(plan.resolution),
                                    "{state:?} on {available:?}: {plan:?}"
                                );
                                if let Some(cap) = plan.cascade_cap {
                                    assert!(ok(cap), "{state:?} on {available:?}: {plan:?}");
                                }
                                checked += 1;
                            }
                        }
                    }
                }
            }
        }
    }
    assert_eq!(checked, 5 * 4 * 2 * 2 * 4 * 3 * 3);
}

#[test]
fn platform_thermal_codes_map_onto_four_levels() {
    let android = [
        (0, Nominal),
        (1, Fair),
        (2, Fair),
        (3, Serious),
        (4, Critical),
        (5, Critical),
        (6, Critical),
    ];
    for (code, want) in android {
        assert_eq!(ThermalState::from_android(code), Ok(want), "Android {code}");
    }
    for (code, want) in [(0, Nominal), (1, Fair), (2, Serious), (3, Critical)] {
        assert_eq!(ThermalState::from_ios(code), Ok(want), "iOS {code}");
    }
}

//! Bad readings, samples and configuration give typed errors and change nothing.

use patchrt::Resolution;
use patchrt::policy::{
    BatteryRule, DeviceState, LatencyTracker, Platform, Policy, PolicyConfig, PolicyError,
    StepDown, ThermalState,
};

use super::{STANDARD, battery, charging, measured, plan_with, res};

fn plan_error(state: &DeviceState, available: &[u32]) -> PolicyError {
    match Policy::default().plan(state, &LatencyTracker::default(), &res(available)) {
        Ok(plan) => panic!("{state:?} on {available:?} planned {plan:?}"),
        Err(e) => e,
    }
}

#[test]
fn battery_outside_zero_to_one_is_rejected() {
    for value in [1.5, -0.1, f64::NAN, f64::INFINITY] {
        let err = plan_error(&battery(value), STANDARD);
        assert!(
            matches!(err, PolicyError::BatteryOutOfRange { value: v } if v.to_bits() == value.to_bits()),
            "{err:?}"
        );
    }
    for value in [0.0, 1.0] {
        assert!(battery(value).validate().is_ok());
    }
}

#[test]
fn budgets_must_be_positive_and_finite() {
    for value in [0.0, -5.0, f64::NAN, f64::INFINITY] {
        let err = plan_error(
            &DeviceState {
                latency_budget_ms: Some(value),
                ..charging()
            },
            STANDARD,
        );
        assert!(
            matches!(err, PolicyError::InvalidLatencyBudget { .. }),
            "{err:?}"
        );
        let err = plan_error(
            &DeviceState {
                energy_budget_mj: Some(value),
                ..charging()
            },
            STANDARD,
        );
        assert!(
            matches!(err, PolicyError::InvalidEnergyBudget { .. }),
            "{err:?}"
        );
    }
}

#[test]
fn empty_available_set_is_rejected() {
    assert_eq!(plan_error(&charging(), &[]), PolicyError::NoResolutions);
}

#[test]
fn bad_latency_samples_are_rejected_and_not_recorded() {
    let mut t = LatencyTracker::default();
    for value in [f64::NAN, -1.0, f64::INFINITY, f64::NEG_INFINITY] {
        let err = match t.record(Resolution(192), value) {
            Ok(()) => panic!("sample {value} accepted"),
            Err(e) => e,
        };
        assert!(
            matches!(err, PolicyError::InvalidLatencySample { resolution: Resolution(192), value: v } if v.to_bits() == value.to_bits()),
            "{err:?}"
        );
    }
    assert_eq!(t.samples(Resolution(192)), 0);
    assert!(t.record(Resolution(192), 0.0).is_ok());
}

#[test]
fn a_rejected_plan_leaves_the_policy_unchanged() {
    let none = measured(&[]);
    let mut policy = Policy::default();
    let first = plan_with(&mut policy, &battery(0.2), &none, STANDARD);
    let before = policy.clone();
    assert!(policy.plan(&battery(0.9), &none, &[]).is_err());
    assert!(policy.plan(&battery(2.0), &none, &res(STANDARD)).is_err());
    assert_eq!(policy, before);
    assert_eq!(policy.previous(), Some(first.resolution));
}

#[test]
fn invalid_configuration_names_the_field() {
    let rule = |below, step| BatteryRule { below, step };
    let cases: Vec<(PolicyConfig, &str)> = vec![
        (
            PolicyConfig {
                battery_rules: vec![rule(1.2, StepDown::Levels(1))],
                ..PolicyConfig::default()
            },
            "battery_rules",
        ),
        (
            PolicyConfig {
                battery_rules: vec![
                    rule(0.3, StepDown::Levels(1)),
                    rule(0.5, StepDown::Levels(2)),
                ],
                ..PolicyConfig::default()
            },
            "battery_rules",
        ),
        (
            PolicyConfig {
                battery_rules: vec![rule(0.5, StepDown::Lowest), rule(0.3, StepDown::Levels(2))],
                ..PolicyConfig::default()
            },
            "battery_rules",
        ),
        (
            PolicyConfig {
                thermal_serious: StepDown::Lowest,
                thermal_critical: StepDown::Levels(2),
                ..PolicyConfig::default()
            },
            "thermal_fair/serious/critical",
        ),
        (
            PolicyConfig {
                battery_hysteresis: f64::NAN,
                ..PolicyConfig::default()
            },
            "battery_hysteresis",
        ),
        (
            PolicyConfig {
                latency_hysteresis: 1.0,
                ..PolicyConfig::default()
            },
            "latency_hysteresis",
        ),
        (
            PolicyConfig {
                energy_hysteresis: -0.1,
                ..PolicyConfig::default()
            },
            "energy_hysteresis",
        ),
        (
            PolicyConfig {
                min_samples: 0,
                ..PolicyConfig::default()
            },
            "min_samples",
        ),
        (
            PolicyConfig {
                inference_power_mw: 0.0,
                ..PolicyConfig::default()
            },
            "inference_power_mw",
        ),
        (
            PolicyConfig {
                cascade_min_stages: 1,
                ..PolicyConfig::default()
            },
            "cascade_min_stages",
        ),
    ];
    for (config, field) in cases {
        match Policy::new(config) {
            Ok(_) => panic!("configuration with a bad {field} accepted"),
            Err(PolicyError::InvalidConfig { field: f, .. }) => assert_eq!(f, field),
            Err(e) => panic!("{field}: unexpected {e:?}"),
        }
    }
    assert!(PolicyConfig::default().validate().is_ok());
}

#[test]
fn bad_tracker_parameters_and_thermal_codes_are_rejected() {
    for (window, alpha, field) in [
        (0, 0.2, "window"),
        (8, 0.0, "alpha"),
        (8, 1.5, "alpha"),
        (8, f64::NAN, "alpha"),
    ] {
        match LatencyTracker::new(window, alpha) {
            Err(PolicyError::InvalidConfig { field: f, .. }) => assert_eq!(f, field),
            other => panic!("({window}, {alpha}): {other:?}"),
        }
    }
    for code in [-1, 7] {
        assert_eq!(
            ThermalState::from_android(code),
            Err(PolicyError::UnknownThermalStatus {
                platform: Platform::Android,
                value: i64::from(code)
            })
        );
    }
    assert_eq!(
        ThermalState::from_ios(4),
        Err(PolicyError::UnknownThermalStatus {
            platform: Platform::Ios,
            value: 4
        })
    );
}

//! The policy's thresholds: every number the rules use, with its default.

use super::device::ThermalState;
use super::error::PolicyError;
use crate::image::Resolution;

/// How far one rule moves down the resolution ladder (the available
/// resolutions, largest first).
///
/// Severity orders `Levels(0) < Levels(1) < ... < Lowest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StepDown {
    /// Move this many positions down the ladder, clamped at its lowest rung.
    Levels(usize),
    /// Go straight to the lowest available resolution.
    Lowest,
}

/// "Below this battery fraction, step down this far."
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatteryRule {
    /// The rule applies while the battery fraction is strictly below this.
    pub below: f64,
    /// How far it steps down.
    pub step: StepDown,
}

/// Every threshold of the resolution policy.
///
/// Defaults ([`PolicyConfig::default`]):
///
/// | field | default | meaning |
/// |---|---|---|
/// | `battery_rules` | `< 0.50`: 1 level, `< 0.30`: 2 levels, `< 0.15`: lowest | battery steps while not charging |
/// | `ignore_battery_when_charging` | `true` | charging lifts every battery rule |
/// | `battery_hysteresis` | `0.03` | a rule entered below `b` is left only above `b + 0.03` |
/// | `thermal_fair` | 1 level | step for [`ThermalState::Fair`] |
/// | `thermal_serious` | 2 levels | step for [`ThermalState::Serious`] |
/// | `thermal_critical` | lowest | step for [`ThermalState::Critical`] |
/// | `power_save_max` | `Some(160)` | in power-save mode, at most this resolution |
/// | `latency_hysteresis` | `0.10` | moving up needs p90 `<= budget * (1 - 0.10)` |
/// | `energy_hysteresis` | `0.10` | moving up needs energy `<= budget * (1 - 0.10)` |
/// | `min_samples` | `3` | samples before a resolution counts as measured |
/// | `inference_power_mw` | `2000.0` | assumed power draw while inferring, for energy estimates |
/// | `cascade_on_battery` | `true` | run the cascade when not charging |
/// | `cascade_under_budget` | `true` | run the cascade when a latency or energy budget is set |
/// | `cascade_min_stages` | `2` | fewer usable stages than this: no cascade |
///
/// Battery, thermal and power-save rules are caps: the plan takes the most
/// severe of them, not their sum.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyConfig {
    /// Battery rules, highest threshold first, each at least as severe as the
    /// one before.
    pub battery_rules: Vec<BatteryRule>,
    /// Whether connected power lifts every battery rule.
    pub ignore_battery_when_charging: bool,
    /// Battery fraction above a rule's threshold needed to leave the rule.
    pub battery_hysteresis: f64,
    /// Step for [`ThermalState::Fair`].
    pub thermal_fair: StepDown,
    /// Step for [`ThermalState::Serious`].
    pub thermal_serious: StepDown,
    /// Step for [`ThermalState::Critical`].
    pub thermal_critical: StepDown,
    /// In OS power-save mode, the largest resolution allowed (the largest
    /// available one not above it, or the lowest if all are above); `None`
    /// ignores power-save mode.
    pub power_save_max: Option<Resolution>,
    /// Fraction of the latency budget kept free when moving to a resolution
    /// above the previous plan's.
    pub latency_hysteresis: f64,
    /// Fraction of the energy budget kept free when moving to a resolution
    /// above the previous plan's.
    pub energy_hysteresis: f64,
    /// Samples of a resolution needed before its latency counts as measured.
    pub min_samples: usize,
    /// Assumed average power draw during an inference, in milliwatts; energy
    /// per inference is estimated as `ewma_ms * inference_power_mw / 1000` mJ.
    /// Set it from a measurement on the target device for real energy budgets.
    pub inference_power_mw: f64,
    /// Run the cascade when not charging.
    pub cascade_on_battery: bool,
    /// Run the cascade when a latency or energy budget is set.
    pub cascade_under_budget: bool,
    /// Fewest usable cascade stages worth running as a cascade.
    pub cascade_min_stages: usize,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            battery_rules: vec![
                BatteryRule {
                    below: 0.50,
                    step: StepDown::Levels(1),
                },
                BatteryRule {
                    below: 0.30,
                    step: StepDown::Levels(2),
                },
                BatteryRule {
                    below: 0.15,
                    step: StepDown::Lowest,
                },
            ],
            ignore_battery_when_charging: true,
            battery_hysteresis: 0.03,
            thermal_fair: StepDown::Levels(1),
            thermal_serious: StepDown::Levels(2),
            thermal_critical: StepDown::Lowest,
            power_save_max: Some(Resolution(160)),
            latency_hysteresis: 0.10,
            energy_hysteresis: 0.10,
            min_samples: 3,
            inference_power_mw: 2000.0,
            cascade_on_battery: true,
            cascade_under_budget: true,
            cascade_min_stages: 2,
        }
    }
}

impl PolicyConfig {
    /// The step for a thermal state; `None` for [`ThermalState::Nominal`].
    pub fn thermal_step(&self, thermal: ThermalState) -> Option<StepDown> {
        match thermal {
            ThermalState::Nominal => None,
            ThermalState::Fair => Some(self.thermal_fair),
            ThermalState::Serious => Some(self.thermal_serious),
            ThermalState::Critical => Some(self.thermal_critical),
        }
    }

    /// Checks every field.
    ///
    /// # Errors
    /// [`PolicyError::InvalidConfig`] naming the first bad field: a battery
    /// threshold outside `(0, 1]`, thresholds not strictly decreasing, a rule
    /// less severe than the one above it, thermal steps that do not grow with
    /// heat, a hysteresis outside `[0, 1)`, `min_samples` of 0, a power draw
    /// that is not positive and finite, or `cascade_min_stages` below 2.
    pub fn validate(&self) -> Result<(), PolicyError> {
        let bad =
            |field: &'static str, reason: String| Err(PolicyError::InvalidConfig { field, reason });
        for (i, rule) in self.battery_rules.iter().enumerate() {
            if !(rule.below > 0.0 && rule.below <= 1.0) {
                return bad(
                    "battery_rules",
                    format!("threshold {} of rule {i} is outside (0, 1]", rule.below),
                );
            }
            if let Some(prev) = i.checked_sub(1).map(|p| &self.battery_rules[p]) {
                if rule.below >= prev.below {
                    return bad(
                        "battery_rules",
                        format!(
                            "thresholds must decrease: rule {i} ({}) follows {}",
                            rule.below, prev.below
                        ),
                    );
                }
                if rule.step < prev.step {
                    return bad(
                        "battery_rules",
                        format!(
                            "rule {i} ({:?}) is milder than the rule above it",
                            rule.step
                        ),
                    );
                }
            }
        }
        if !(self.thermal_fair <= self.thermal_serious
            && self.thermal_serious <= self.thermal_critical)
        {
            return bad(
                "thermal_fair/serious/critical",
                "steps must not shrink as heat rises".into(),
            );
        }
        for (field, value) in [
            ("battery_hysteresis", self.battery_hysteresis),
            ("latency_hysteresis", self.latency_hysteresis),
            ("energy_hysteresis", self.energy_hysteresis),
        ] {
            if !(0.0..1.0).contains(&value) {
                return bad(field, format!("{value} is outside [0, 1)"));
            }
        }
        if self.min_samples == 0 {
            return bad("min_samples", "must be at least 1".into());
        }
        if !(self.inference_power_mw.is_finite() && self.inference_power_mw > 0.0) {
            return bad(
                "inference_power_mw",
                format!(
                    "{} is not a positive finite number",
                    self.inference_power_mw
                ),
            );
        }
        if self.cascade_min_stages < 2 {
            return bad(
                "cascade_min_stages",
                format!(
                    "{}: a cascade of one stage is a plain run",
                    self.cascade_min_stages
                ),
            );
        }
        Ok(())
    }
}

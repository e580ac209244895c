//! The stateful policy: from a device reading and measured latencies to a plan.

use std::fmt;

use super::budget;
use super::config::{PolicyConfig, StepDown};
use super::device::DeviceState;
use super::error::PolicyError;
use super::ladder::{Ladder, levels, percent};
use super::stages::{self, CascadeInputs};
use super::tracker::LatencyTracker;
use crate::image::Resolution;

/// What to run for the next request.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The resolution (and so the patch) to run; always one of the available
    /// resolutions. With `run_cascade` it is the single-resolution choice and
    /// the highest stage the cascade may reach.
    pub resolution: Resolution,
    /// Whether to run the configured cascade instead of one resolution.
    pub run_cascade: bool,
    /// With `run_cascade`: stop at the first stage with this resolution and
    /// answer there whatever the confidence. `None` runs the whole cascade.
    pub cascade_cap: Option<Resolution>,
    /// Why, in words, for logs and UI.
    pub reason: String,
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

/// The resource policy (patent claim 11): picks the resolution, and so the
/// patch, from battery, heat, power-save mode and latency or energy budgets,
/// and decides whether to run the cascade.
///
/// It keeps a little state so plans do not flap: which battery rule is in
/// force, and the previous plan's resolution and usable cascade stages. Two
/// policies with the same configuration fed the same calls give the same plans.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Policy {
    config: PolicyConfig,
    manual: Option<Resolution>,
    cascade: Vec<Resolution>,
    /// Battery rules in force (a prefix of `config.battery_rules`).
    battery_level: usize,
    previous: Option<Resolution>,
    previous_stages: Option<usize>,
}

impl Policy {
    /// A policy with `config`, no override, no cascade and no history.
    ///
    /// # Errors
    /// [`PolicyError::InvalidConfig`] from [`PolicyConfig::validate`].
    pub fn new(config: PolicyConfig) -> Result<Self, PolicyError> {
        config.validate()?;
        Ok(Policy {
            config,
            ..Policy::default()
        })
    }

    /// The thresholds in use.
    pub fn config(&self) -> &PolicyConfig {
        &self.config
    }

    /// Pins the resolution (`None` clears it). An override wins over every
    /// rule except availability: if it has no patch loaded the plan takes the
    /// largest available resolution below it (or the lowest). It also turns
    /// the cascade off.
    pub fn set_override(&mut self, resolution: Option<Resolution>) {
        self.manual = resolution;
    }

    /// The current override.
    pub fn manual_override(&self) -> Option<Resolution> {
        self.manual
    }

    /// Sets the cascade's stage resolutions in execution order (empty: no
    /// cascade). A cascade needs `cascade_min_stages` usable stages to run.
    pub fn set_cascade(&mut self, stages: &[Resolution]) {
        self.cascade = stages.to_vec();
        self.previous_stages = None;
    }

    /// The cascade's stage resolutions.
    pub fn cascade(&self) -> &[Resolution] {
        &self.cascade
    }

    /// The previous plan's resolution.
    pub fn previous(&self) -> Option<Resolution> {
        self.previous
    }

    /// Forgets the history (battery rules in force, previous plan), keeping
    /// the configuration, override and cascade.
    pub fn reset(&mut self) {
        self.battery_level = 0;
        self.previous = None;
        self.previous_stages = None;
    }

    /// Plans the next request. `available` are the resolutions with a patch
    /// loaded for the task; the plan never names another.
    ///
    /// Rules, in order: an override wins (clamped to `available`); otherwise
    /// battery, thermal and power-save rules each cap the resolution and the
    /// most severe cap is the ceiling; under a latency or energy budget the
    /// plan takes the highest resolution at or below the ceiling whose
    /// estimate fits, or the lowest if none does; then the cascade is enabled
    /// and capped. See `docs/policy.md`.
    ///
    /// # Errors
    /// [`PolicyError::BatteryOutOfRange`], [`PolicyError::InvalidLatencyBudget`]
    /// or [`PolicyError::InvalidEnergyBudget`] for a bad reading and
    /// [`PolicyError::NoResolutions`] for an empty `available`; the policy's
    /// state is then unchanged.
    pub fn plan(
        &mut self,
        state: &DeviceState,
        tracker: &LatencyTracker,
        available: &[Resolution],
    ) -> Result<Plan, PolicyError> {
        state.validate()?;
        let ladder = Ladder::new(available)?;
        let battery_level = self.battery_level(state);
        let (plan, stages) = match self.manual {
            Some(manual) => (self.manual_plan(manual, &ladder), None),
            None => self.automatic_plan(state, tracker, &ladder, battery_level),
        };
        self.battery_level = battery_level;
        self.previous = Some(plan.resolution);
        self.previous_stages = stages;
        Ok(plan)
    }

    /// Battery rules in force after this reading: a rule is entered when the
    /// battery drops below its threshold and left only when it rises above
    /// threshold + hysteresis.
    fn battery_level(&self, state: &DeviceState) -> usize {
        let rules = &self.config.battery_rules;
        if state.charging && self.config.ignore_battery_when_charging {
            return 0;
        }
        let entered = rules.iter().filter(|r| state.battery < r.below).count();
        let mut level = self.battery_level.max(entered).min(rules.len());
        while level > entered
            && state.battery > rules[level - 1].below + self.config.battery_hysteresis
        {
            level -= 1;
        }
        level
    }

    fn manual_plan(&self, manual: Resolution, ladder: &Ladder) -> Plan {
        let resolution = ladder.at(ladder.at_or_below(manual));
        let mut reason = if resolution == manual {
            format!("manual override: {manual}")
        } else {
            format!("manual override {manual} has no patch loaded: using {resolution}")
        };
        if !self.cascade.is_empty() {
            reason.push_str("; cascade off (manual override)");
        }
        Plan {
            resolution,
            run_cascade: false,
            cascade_cap: None,
            reason,
        }
    }

    fn automatic_plan(
        &self,
        state: &DeviceState,
        tracker: &LatencyTracker,
        ladder: &Ladder,
        battery_level: usize,
    ) -> (Plan, Option<usize>) {
        let config = &self.config;
        let mut clauses = Vec::new();
        let mut ceiling = 0;

        if let Some(rule) = battery_level
            .checked_sub(1)
            .and_then(|i| config.battery_rules.get(i))
            && rule.step != StepDown::Levels(0)
        {
            let index = ladder.step(rule.step);
            let held = if state.battery < rule.below {
                format!("< {}", percent(rule.below))
            } else {
                format!(
                    "held below {} until above {}",
                    percent(rule.below),
                    percent(rule.below + config.battery_hysteresis)
                )
            };
            let power = if state.charging {
                "charging"
            } else {
                "not charging"
            };
            clauses.push(format!(
                "battery {} ({held}), {power}: {}",
                percent(state.battery),
                step_words(rule.step, index, ladder)
            ));
            ceiling = ceiling.max(index);
        }

        if let Some(step) = config.thermal_step(state.thermal)
            && step != StepDown::Levels(0)
        {
            let index = ladder.step(step);
            clauses.push(format!(
                "thermal {}: {}",
                state.thermal,
                step_words(step, index, ladder)
            ));
            ceiling = ceiling.max(index);
        }

        if state.power_save
            && let Some(max) = config.power_save_max
        {
            let index = ladder.at_or_below(max);
            let got = ladder.at(index);
            clauses.push(if got == max {
                format!("power-save mode: at most {max}")
            } else if got < max {
                format!("power-save mode: at most {max}, so {got}")
            } else {
                format!("power-save mode: at most {max}, none loaded, using the lowest, {got}")
            });
            ceiling = ceiling.max(index);
        }

        if clauses.is_empty() {
            let power = if state.charging {
                "charging".to_string()
            } else {
                format!("battery {}, not charging", percent(state.battery))
            };
            // Under a budget the next clause says where the plan ends up.
            clauses.push(if state.has_budget() {
                format!("{power}, thermal {}: no step down", state.thermal)
            } else {
                format!(
                    "{power}, thermal {}: full resolution {}",
                    state.thermal,
                    ladder.at(0)
                )
            });
        }

        let chosen = budget::choose(ladder, ceiling, state, tracker, config, self.previous);
        clauses.extend(chosen.clause);
        let resolution = ladder.at(chosen.index);

        let cascade = stages::decide(&CascadeInputs {
            stages: &self.cascade,
            ladder,
            ceiling: resolution,
            state,
            tracker,
            config,
            previous_usable: self.previous_stages,
        });
        clauses.extend(cascade.clause);
        if !cascade.run {
            clauses.push(format!("run {resolution}"));
        }
        let plan = Plan {
            resolution,
            run_cascade: cascade.run,
            cascade_cap: cascade.cap,
            reason: clauses.join("; "),
        };
        (plan, cascade.usable)
    }
}

/// "stepped down 2 levels to 160", "lowest resolution 96".
fn step_words(step: StepDown, index: usize, ladder: &Ladder) -> String {
    let r = ladder.at(index);
    match step {
        _ if index == 0 => format!("no lower resolution than {r} loaded"),
        StepDown::Lowest => format!("lowest resolution {r}"),
        StepDown::Levels(_) => format!("stepped down {} to {r}", levels(index)),
    }
}

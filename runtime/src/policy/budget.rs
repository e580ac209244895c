//! Latency and energy budgets: the highest rung at or below the ceiling whose
//! estimate fits.

use super::config::PolicyConfig;
use super::device::DeviceState;
use super::ladder::{Ladder, num};
use super::tracker::LatencyTracker;
use crate::image::Resolution;

/// The measured p90 latency of `r` in ms, once it has `min_samples` samples.
pub(super) fn measured_p90(
    tracker: &LatencyTracker,
    config: &PolicyConfig,
    r: Resolution,
) -> Option<f64> {
    (tracker.samples(r) >= config.min_samples)
        .then(|| tracker.p90(r))
        .flatten()
}

/// The estimated energy of one inference at `r` in mJ: the mean (EWMA)
/// latency times the configured power draw, once `r` has `min_samples` samples.
pub(super) fn estimated_energy(
    tracker: &LatencyTracker,
    config: &PolicyConfig,
    r: Resolution,
) -> Option<f64> {
    (tracker.samples(r) >= config.min_samples)
        .then(|| tracker.ewma(r))
        .flatten()
        .map(|ms| ms * config.inference_power_mw / 1000.0)
}

/// The rung chosen under the budgets and the words explaining it.
pub(super) struct BudgetChoice {
    /// Index into the ladder.
    pub(super) index: usize,
    /// `None` when no budget is set.
    pub(super) clause: Option<String>,
}

/// Which budget.
#[derive(Clone, Copy)]
enum Kind {
    Latency,
    Energy,
}

/// One budget with what is needed to check a rung against it.
struct Budget<'a> {
    kind: Kind,
    limit: f64,
    margin: f64,
    tracker: &'a LatencyTracker,
    config: &'a PolicyConfig,
}

impl Budget<'_> {
    fn estimate(&self, r: Resolution) -> Option<f64> {
        match self.kind {
            Kind::Latency => measured_p90(self.tracker, self.config, r),
            Kind::Energy => estimated_energy(self.tracker, self.config, r),
        }
    }

    fn unit(&self) -> &'static str {
        match self.kind {
            Kind::Latency => "ms",
            Kind::Energy => "mJ",
        }
    }

    fn describe(&self, value: f64) -> String {
        match self.kind {
            Kind::Latency => format!("p90 {} ms", num(value)),
            Kind::Energy => format!("~{} mJ", num(value)),
        }
    }

    fn name(&self) -> &'static str {
        match self.kind {
            Kind::Latency => "latency",
            Kind::Energy => "energy",
        }
    }

    fn title(&self) -> String {
        format!("{} budget {} {}", self.name(), num(self.limit), self.unit())
    }

    /// `Ok(detail)` if rung `index` fits, `Err(detail)` if not. Moving above
    /// the previous plan's resolution needs the hysteresis margin. A rung with
    /// no measurement fits unless a lower rung is measured and already over
    /// the budget (latency and energy grow with resolution).
    fn check(&self, ladder: &Ladder, index: usize, stepping_up: bool) -> Result<String, String> {
        let r = ladder.at(index);
        let limit = if stepping_up {
            self.limit * (1.0 - self.margin)
        } else {
            self.limit
        };
        let unit = self.unit();
        match self.estimate(r) {
            Some(v) if v <= limit => Ok(self.describe(v)),
            Some(v) if v <= self.limit => Err(format!(
                "{} > {} {unit}, the {}% margin needed to step up",
                self.describe(v),
                num(limit),
                num(self.margin * 100.0)
            )),
            Some(v) => Err(format!("{} > {} {unit}", self.describe(v), num(self.limit))),
            None => {
                let lower_over = (index + 1..=ladder.lowest()).find_map(|j| {
                    let lower = ladder.at(j);
                    self.estimate(lower)
                        .filter(|&v| v > self.limit)
                        .map(|v| (lower, v))
                });
                match lower_over {
                    Some((lower, v)) => Err(format!(
                        "not measured, but {lower} already has {}",
                        self.describe(v)
                    )),
                    None => Ok(format!("{} not measured yet, assumed to fit", self.name())),
                }
            }
        }
    }
}

/// Walks down from `ceiling` to the first rung that fits every budget set;
/// if none does, the lowest rung.
pub(super) fn choose(
    ladder: &Ladder,
    ceiling: usize,
    state: &DeviceState,
    tracker: &LatencyTracker,
    config: &PolicyConfig,
    previous: Option<Resolution>,
) -> BudgetChoice {
    let mut budgets = Vec::new();
    if let Some(limit) = state.latency_budget_ms {
        budgets.push(Budget {
            kind: Kind::Latency,
            limit,
            margin: config.latency_hysteresis,
            tracker,
            config,
        });
    }
    if let Some(limit) = state.energy_budget_mj {
        budgets.push(Budget {
            kind: Kind::Energy,
            limit,
            margin: config.energy_hysteresis,
            tracker,
            config,
        });
    }
    if budgets.is_empty() {
        return BudgetChoice {
            index: ceiling,
            clause: None,
        };
    }
    let title = budgets
        .iter()
        .map(Budget::title)
        .collect::<Vec<_>>()
        .join(", ");
    let mut rejected = Vec::new();
    let mut index = ceiling.min(ladder.lowest());
    loop {
        let r = ladder.at(index);
        let stepping_up = previous.is_some_and(|p| r > p);
        let checks: Vec<_> = budgets
            .iter()
            .map(|b| b.check(ladder, index, stepping_up))
            .collect();
        let failures: Vec<&String> = checks.iter().filter_map(|c| c.as_ref().err()).collect();
        if failures.is_empty() {
            let details: Vec<&String> = checks.iter().filter_map(|c| c.as_ref().ok()).collect();
            rejected.push(format!("{r} fits ({})", join(&details)));
            return BudgetChoice {
                index,
                clause: Some(format!("{title}: {}", rejected.join(", "))),
            };
        }
        if index >= ladder.lowest() {
            return BudgetChoice {
                index,
                clause: Some(format!(
                    "{title} cannot be met ({r}: {}), using the lowest, {r}",
                    join(&failures)
                )),
            };
        }
        rejected.push(format!("{r} rejected ({})", join(&failures)));
        index += 1;
    }
}

fn join(parts: &[&String]) -> String {
    parts
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

//! Whether to run the cascade and where to cut it.

use super::budget::measured_p90;
use super::config::PolicyConfig;
use super::device::DeviceState;
use super::ladder::{Ladder, num};
use super::tracker::LatencyTracker;
use crate::image::Resolution;

/// The cascade decision and the words explaining it.
pub(super) struct CascadeChoice {
    /// Whether to run the cascade.
    pub(super) run: bool,
    /// The stage to stop at, when the cascade is cut short.
    pub(super) cap: Option<Resolution>,
    /// Stages usable this time, kept for hysteresis; `None` when the cascade
    /// was not considered.
    pub(super) usable: Option<usize>,
    /// `None` when no cascade is configured.
    pub(super) clause: Option<String>,
}

impl CascadeChoice {
    fn off(clause: Option<String>, usable: Option<usize>) -> CascadeChoice {
        CascadeChoice {
            run: false,
            cap: None,
            usable,
            clause,
        }
    }
}

/// Everything the decision reads.
pub(super) struct CascadeInputs<'a> {
    /// Stage resolutions in execution order.
    pub(super) stages: &'a [Resolution],
    /// Available resolutions.
    pub(super) ladder: &'a Ladder,
    /// The plan's resolution: no stage above it runs.
    pub(super) ceiling: Resolution,
    /// The device reading.
    pub(super) state: &'a DeviceState,
    /// Measured latencies.
    pub(super) tracker: &'a LatencyTracker,
    /// Thresholds.
    pub(super) config: &'a PolicyConfig,
    /// Usable stages of the previous plan, for hysteresis.
    pub(super) previous_usable: Option<usize>,
}

/// Decides the cascade: it runs when the enable rule holds and at least
/// `cascade_min_stages` stages are usable. Stages are used in order up to,
/// not including, the first one that has no patch loaded, lies above the
/// plan's resolution, or (under a latency budget) makes the sum of the
/// measured p90s of the distinct resolutions so far exceed the budget. A stage
/// beyond the previous plan's usable ones needs the latency hysteresis margin.
pub(super) fn decide(inputs: &CascadeInputs<'_>) -> CascadeChoice {
    let CascadeInputs {
        stages,
        ladder,
        ceiling,
        state,
        tracker,
        config,
        previous_usable,
    } = *inputs;
    if stages.is_empty() {
        return CascadeChoice::off(None, None);
    }
    if stages.len() < config.cascade_min_stages {
        return CascadeChoice::off(
            Some(format!(
                "cascade off (it has {} stage, {} needed)",
                stages.len(),
                config.cascade_min_stages
            )),
            None,
        );
    }
    let wanted = (!state.charging && config.cascade_on_battery)
        || (state.has_budget() && config.cascade_under_budget);
    if !wanted {
        let power = if state.charging {
            "charging"
        } else {
            "on battery"
        };
        let budget = if state.has_budget() {
            "budget set"
        } else {
            "no budget"
        };
        return CascadeChoice::off(Some(format!("cascade off ({power}, {budget})")), None);
    }

    let mut usable = 0;
    let mut cut = None;
    let mut total_ms = 0.0;
    let mut counted: Vec<Resolution> = Vec::new();
    for (k, &r) in stages.iter().enumerate() {
        if !ladder.contains(r) {
            cut = Some(format!("{r} has no patch loaded"));
            break;
        }
        if r > ceiling {
            cut = Some(format!("{r} is above the plan's {ceiling}"));
            break;
        }
        if let Some(budget) = state.latency_budget_ms {
            // A repeated resolution costs nothing more: its output is reused.
            if !counted.contains(&r) {
                counted.push(r);
                total_ms += measured_p90(tracker, config, r).unwrap_or(0.0);
            }
            let extending = previous_usable.is_some_and(|p| k >= p);
            let limit = if extending {
                budget * (1.0 - config.latency_hysteresis)
            } else {
                budget
            };
            if total_ms > limit {
                cut = Some(format!(
                    "p90 through {r} adds up to {} ms > {} ms",
                    num(total_ms),
                    num(limit)
                ));
                break;
            }
        }
        usable = k + 1;
    }
    // The cap names a resolution, and the executor stops at the first stage
    // with it: cut at that first occurrence so the cap is unambiguous.
    if usable < stages.len()
        && let Some(last) = usable.checked_sub(1).map(|i| stages[i])
        && let Some(first) = stages.iter().position(|&s| s == last)
    {
        usable = first + 1;
    }
    let why = cut.unwrap_or_default();
    if usable < config.cascade_min_stages {
        return CascadeChoice::off(
            Some(match usable {
                0 => format!("cascade off (no usable stage: {why})"),
                1 => format!("cascade off (only 1 usable stage: {why})"),
                n => format!("cascade off (only {n} usable stages: {why})"),
            }),
            Some(usable),
        );
    }
    let path = stages[..usable]
        .iter()
        .map(|r| r.to_string())
        .collect::<Vec<_>>()
        .join(" -> ");
    let (cap, clause) = if usable < stages.len() {
        let cap = stages[usable - 1];
        (
            Some(cap),
            format!("run cascade {path}, capped at {cap} ({why})"),
        )
    } else {
        (None, format!("run cascade {path}"))
    };
    CascadeChoice {
        run: true,
        cap,
        usable: Some(usable),
        clause: Some(clause),
    }
}

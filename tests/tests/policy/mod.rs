//! The resource policy (`docs/policy.md`): table-driven rows of device state,
//! measured latencies and available resolutions against the plan they must
//! give, hysteresis sequences, the override, determinism and bad input. CPU only.

use patchrt::Resolution;
use patchrt::policy::{DeviceState, LatencyTracker, Plan, Policy, PolicyConfig, ThermalState};

// Bad readings, samples and configuration: typed errors, no state change.
mod bad_input;
// Latency and energy budgets: the highest resolution that fits, unmeasured ones.
mod budget;
// When the cascade runs and where it is capped.
mod cascade;
// Same inputs, same plans.
mod determinism;
// Readings hovering at a boundary change the plan once.
mod hysteresis;
// The manual override.
mod manual;
// The reason strings quoted in docs/policy.md, verbatim.
mod reasons;
// Battery, heat, power-save and availability.
mod resolution;
// The latency tracker: EWMA, p90 by nearest rank, bounded window.
mod tracker;

/// The five standard resolutions, as the engine would list them.
const STANDARD: &[u32] = &[224, 192, 160, 128, 96];

/// Resolutions from side lengths.
fn res(sides: &[u32]) -> Vec<Resolution> {
    sides.iter().map(|&s| Resolution(s)).collect()
}

/// A cool device on battery at `battery`.
fn battery(battery: f64) -> DeviceState {
    DeviceState {
        battery,
        ..DeviceState::default()
    }
}

/// A cool device on external power with a full battery.
fn charging() -> DeviceState {
    DeviceState {
        charging: true,
        ..DeviceState::default()
    }
}

/// `state` at thermal level `thermal`.
fn hot(state: DeviceState, thermal: ThermalState) -> DeviceState {
    DeviceState { thermal, ..state }
}

/// `state` with a latency budget in ms.
fn within_ms(state: DeviceState, budget: f64) -> DeviceState {
    DeviceState {
        latency_budget_ms: Some(budget),
        ..state
    }
}

/// A tracker holding, for each `(side, ms)`, as many samples of `ms` as the
/// default policy needs to count the resolution as measured, so its p90 and
/// EWMA are both `ms`.
fn measured(latencies: &[(u32, f64)]) -> LatencyTracker {
    let mut tracker = LatencyTracker::default();
    for &(side, ms) in latencies {
        for _ in 0..PolicyConfig::default().min_samples {
            if let Err(e) = tracker.record(Resolution(side), ms) {
                panic!("sample {ms} ms at {side} rejected: {e}");
            }
        }
    }
    tracker
}

/// One plan; panics with the error if the policy rejects the input.
fn plan_with(
    policy: &mut Policy,
    state: &DeviceState,
    tracker: &LatencyTracker,
    available: &[u32],
) -> Plan {
    match policy.plan(state, tracker, &res(available)) {
        Ok(plan) => plan,
        Err(e) => panic!("plan failed for {state:?} on {available:?}: {e}"),
    }
}

/// One row of a behaviour table: the inputs of a fresh default policy and what
/// its first plan must be.
struct Row {
    /// What the row checks, printed on failure.
    name: &'static str,
    state: DeviceState,
    /// `(side, p90 ms)` pairs, see [`measured`].
    latencies: &'static [(u32, f64)],
    available: &'static [u32],
    /// Cascade stage resolutions (empty: none configured).
    cascade: &'static [u32],
    resolution: u32,
    run_cascade: bool,
    cascade_cap: Option<u32>,
    /// Substrings the reason must contain.
    reason: &'static [&'static str],
}

impl Row {
    /// A row with no latencies, the standard resolutions, no cascade, and a
    /// plan of `resolution` without cascade.
    fn new(name: &'static str, state: DeviceState, resolution: u32) -> Row {
        Row {
            name,
            state,
            latencies: &[],
            available: STANDARD,
            cascade: &[],
            resolution,
            run_cascade: false,
            cascade_cap: None,
            reason: &[],
        }
    }

    fn latencies(self, latencies: &'static [(u32, f64)]) -> Row {
        Row { latencies, ..self }
    }

    fn available(self, available: &'static [u32]) -> Row {
        Row { available, ..self }
    }

    fn cascade(self, cascade: &'static [u32], run: bool, cap: Option<u32>) -> Row {
        Row {
            cascade,
            run_cascade: run,
            cascade_cap: cap,
            ..self
        }
    }

    fn reason(self, reason: &'static [&'static str]) -> Row {
        Row { reason, ..self }
    }
}

/// Runs every row on a fresh default policy and reports all failing rows.
fn check(rows: &[Row]) {
    let mut failures = Vec::new();
    for row in rows {
        let mut policy = Policy::default();
        policy.set_cascade(&res(row.cascade));
        let plan = plan_with(
            &mut policy,
            &row.state,
            &measured(row.latencies),
            row.available,
        );
        let mut wrong = Vec::new();
        if plan.resolution != Resolution(row.resolution) {
            wrong.push(format!(
                "resolution {} (want {})",
                plan.resolution, row.resolution
            ));
        }
        if plan.run_cascade != row.run_cascade {
            wrong.push(format!(
                "run_cascade {} (want {})",
                plan.run_cascade, row.run_cascade
            ));
        }
        if plan.cascade_cap != row.cascade_cap.map(Resolution) {
            wrong.push(format!(
                "cascade_cap {:?} (want {:?})",
                plan.cascade_cap, row.cascade_cap
            ));
        }
        for part in row.reason {
            if !plan.reason.contains(part) {
                wrong.push(format!("reason lacks {part:?}"));
            }
        }
        if !row.available.contains(&plan.resolution.side()) {
            wrong.push("resolution not available".into());
        }
        if !wrong.is_empty() {
            failures.push(format!(
                "{}: {}\n    reason: {}",
                row.name,
                wrong.join(", "),
                plan.reason
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

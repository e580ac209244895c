/*!
The resource policy (patent claim 11): which resolution, and so which patch,
to run for the next request, and whether to run the cascade.

The app reports a [`DeviceState`] (battery, charging, power-save mode,
[`ThermalState`], optional latency and energy budgets); the engine records
what it measured in a [`LatencyTracker`] (per resolution, an EWMA and a p90
over the last samples). [`Policy::plan`] turns both, plus the resolutions that
have a patch loaded, into a [`Plan`] with the reason in words.

Rules, each a field of [`PolicyConfig`] with a documented default:
- battery, thermal and power-save rules each cap the resolution by stepping
  down the ladder of available resolutions (largest first); the most severe
  cap wins;
- under a latency budget the plan takes the highest resolution, at or below
  that cap, whose measured p90 fits (under an energy budget, whose estimated
  energy fits); if none fits, the lowest, saying so;
- a resolution with too few samples is assumed to fit, and the reason says
  so, unless a lower resolution is already measured over the budget: running
  it is how it gets measured;
- hysteresis: a battery rule is left only above its threshold plus a margin,
  and moving up to a resolution above the previous plan's needs a margin
  under the budget, so a reading hovering at a boundary changes the plan once;
- a manual override wins over everything except availability.

Nothing here reads a clock or the GPU: the same calls give the same plans.
The rules, defaults and example reasons are in `docs/policy.md`.
*/

mod budget;
mod config;
mod device;
mod error;
mod ladder;
mod planner;
mod stages;
mod tracker;

pub use config::{BatteryRule, PolicyConfig, StepDown};
pub use device::{DeviceState, ThermalState};
pub use error::{Platform, PolicyError};
pub use planner::{Plan, Policy};
pub use tracker::{DEFAULT_ALPHA, DEFAULT_WINDOW, LatencyTracker};

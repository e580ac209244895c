//! The policy's error type: invalid readings, samples and configuration.

use crate::image::Resolution;

/// Which platform a raw thermal status came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// Android's `PowerManager.getCurrentThermalStatus()` (`THERMAL_STATUS_*`).
    Android,
    /// iOS's `ProcessInfo.thermalState` raw value.
    Ios,
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Platform::Android => "Android",
            Platform::Ios => "iOS",
        })
    }
}

/// Everything the resource policy rejects.
///
/// A rejected call changes no state: a [`Policy`](super::Policy) that returns an
/// error plans exactly as if the call had not happened, and a
/// [`LatencyTracker`](super::LatencyTracker) keeps its samples.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The reported battery fraction is NaN or outside `[0, 1]`.
    #[error("battery fraction {value} is outside [0, 1]")]
    BatteryOutOfRange {
        /// The value reported.
        value: f64,
    },
    /// The per-request latency budget is NaN, infinite, zero or negative.
    #[error("latency budget {value} ms is not a positive finite number")]
    InvalidLatencyBudget {
        /// The value reported, in milliseconds.
        value: f64,
    },
    /// The per-inference energy budget is NaN, infinite, zero or negative.
    #[error("energy budget {value} mJ is not a positive finite number")]
    InvalidEnergyBudget {
        /// The value reported, in millijoules.
        value: f64,
    },
    /// A latency sample is NaN, infinite or negative.
    #[error("latency sample {value} ms at {resolution} is not a finite non-negative number")]
    InvalidLatencySample {
        /// The resolution the sample was recorded for.
        resolution: Resolution,
        /// The sample, in milliseconds.
        value: f64,
    },
    /// The set of available resolutions is empty: no patch is loaded for the task.
    #[error("no resolution is available: no patch is loaded for the task")]
    NoResolutions,
    /// A platform thermal status code that has no meaning.
    #[error("unknown {platform} thermal status {value}")]
    UnknownThermalStatus {
        /// Where the code came from.
        platform: Platform,
        /// The raw code.
        value: i64,
    },
    /// A configuration value (policy or tracker) is out of its range.
    #[error("invalid policy configuration: {field}: {reason}")]
    InvalidConfig {
        /// The field, as named in [`PolicyConfig`](super::PolicyConfig) or the tracker.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

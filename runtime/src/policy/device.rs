//! What the app reports about the device: battery, power-save, heat and budgets.

use std::fmt;

use super::error::{Platform, PolicyError};

/// The device's thermal state, in the four levels iOS defines
/// (`ProcessInfo.ThermalState`); Android's seven `PowerManager` levels map onto
/// them with [`ThermalState::from_android`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum ThermalState {
    /// Within normal limits.
    #[default]
    Nominal,
    /// Slightly elevated; the OS may start light throttling.
    Fair,
    /// High; the OS reduces performance.
    Serious,
    /// The OS is doing everything it can to cool down.
    Critical,
}

impl ThermalState {
    /// Maps Android's `PowerManager.getCurrentThermalStatus()` (and the NDK's
    /// `AThermal_getCurrentThermalStatus`) onto the four levels:
    ///
    /// | Android | code | here |
    /// |---|---|---|
    /// | `THERMAL_STATUS_NONE` | 0 | `Nominal` |
    /// | `THERMAL_STATUS_LIGHT` | 1 | `Fair` |
    /// | `THERMAL_STATUS_MODERATE` | 2 | `Fair` |
    /// | `THERMAL_STATUS_SEVERE` | 3 | `Serious` |
    /// | `THERMAL_STATUS_CRITICAL`, `_EMERGENCY`, `_SHUTDOWN` | 4, 5, 6 | `Critical` |
    ///
    /// Android says "UX is not (largely) impacted" for light and moderate
    /// throttling, which is what iOS calls fair.
    ///
    /// # Errors
    /// [`PolicyError::UnknownThermalStatus`] for any other code (including the
    /// NDK's `ATHERMAL_STATUS_ERROR`, -1).
    pub fn from_android(status: i32) -> Result<Self, PolicyError> {
        match status {
            0 => Ok(ThermalState::Nominal),
            1 | 2 => Ok(ThermalState::Fair),
            3 => Ok(ThermalState::Serious),
            4..=6 => Ok(ThermalState::Critical),
            _ => Err(PolicyError::UnknownThermalStatus {
                platform: Platform::Android,
                value: i64::from(status),
            }),
        }
    }

    /// Maps the raw value of iOS's `ProcessInfo.thermalState` (0 nominal,
    /// 1 fair, 2 serious, 3 critical).
    ///
    /// # Errors
    /// [`PolicyError::UnknownThermalStatus`] for any other value.
    pub fn from_ios(raw: i64) -> Result<Self, PolicyError> {
        match raw {
            0 => Ok(ThermalState::Nominal),
            1 => Ok(ThermalState::Fair),
            2 => Ok(ThermalState::Serious),
            3 => Ok(ThermalState::Critical),
            _ => Err(PolicyError::UnknownThermalStatus {
                platform: Platform::Ios,
                value: raw,
            }),
        }
    }
}

impl fmt::Display for ThermalState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ThermalState::Nominal => "nominal",
            ThermalState::Fair => "fair",
            ThermalState::Serious => "serious",
            ThermalState::Critical => "critical",
        })
    }
}

/// One reading of the device, as the app reports it before a request.
///
/// The default is a full battery, not charging, no power-save mode, a nominal
/// thermal state and no budgets. A device with no battery (a desktop) should
/// report `battery: 1.0, charging: true`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DeviceState {
    /// Remaining battery as a fraction in `[0, 1]` (Android's
    /// `BATTERY_PROPERTY_CAPACITY / 100`, iOS's `UIDevice.batteryLevel`).
    pub battery: f64,
    /// Whether external power is connected.
    pub charging: bool,
    /// Whether the OS power-save mode is on (Android battery saver, iOS Low
    /// Power Mode).
    pub power_save: bool,
    /// The OS thermal state.
    pub thermal: ThermalState,
    /// Hard per-request latency budget in milliseconds, checked against the
    /// measured p90 latency of each resolution.
    pub latency_budget_ms: Option<f64>,
    /// Energy budget per inference in millijoules (mJ), checked against an
    /// estimate: the measured mean (EWMA) latency of a resolution times
    /// [`PolicyConfig::inference_power_mw`](super::PolicyConfig::inference_power_mw).
    /// 1 mW for 1 ms is 1 µJ, so 2000 mW for 10 ms is 20 mJ.
    pub energy_budget_mj: Option<f64>,
}

impl Default for DeviceState {
    fn default() -> Self {
        DeviceState {
            battery: 1.0,
            charging: false,
            power_save: false,
            thermal: ThermalState::Nominal,
            latency_budget_ms: None,
            energy_budget_mj: None,
        }
    }
}

impl DeviceState {
    /// Checks every reading.
    ///
    /// # Errors
    /// [`PolicyError::BatteryOutOfRange`] for a battery that is NaN or outside
    /// `[0, 1]`; [`PolicyError::InvalidLatencyBudget`] and
    /// [`PolicyError::InvalidEnergyBudget`] for a budget that is not a positive
    /// finite number.
    pub fn validate(&self) -> Result<(), PolicyError> {
        if !(0.0..=1.0).contains(&self.battery) {
            return Err(PolicyError::BatteryOutOfRange {
                value: self.battery,
            });
        }
        if let Some(value) = self.latency_budget_ms
            && !is_positive_finite(value)
        {
            return Err(PolicyError::InvalidLatencyBudget { value });
        }
        if let Some(value) = self.energy_budget_mj
            && !is_positive_finite(value)
        {
            return Err(PolicyError::InvalidEnergyBudget { value });
        }
        Ok(())
    }

    /// Whether a latency or an energy budget is set.
    pub fn has_budget(&self) -> bool {
        self.latency_budget_ms.is_some() || self.energy_budget_mj.is_some()
    }
}

fn is_positive_finite(x: f64) -> bool {
    x.is_finite() && x > 0.0
}

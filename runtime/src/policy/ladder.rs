//! The resolution ladder (available resolutions, largest first) and the number
//! formats the plan's reason uses.

use super::config::StepDown;
use super::error::PolicyError;
use crate::image::Resolution;

/// The resolutions that have a patch loaded, largest first, without repeats.
/// Never empty; every index the policy computes is clamped into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Ladder(Vec<Resolution>);

impl Ladder {
    /// Sorts and deduplicates `available`.
    pub(super) fn new(available: &[Resolution]) -> Result<Ladder, PolicyError> {
        let mut rungs = available.to_vec();
        rungs.sort_unstable_by(|a, b| b.cmp(a));
        rungs.dedup();
        if rungs.is_empty() {
            return Err(PolicyError::NoResolutions);
        }
        Ok(Ladder(rungs))
    }

    /// The rung at `index`, clamped to the lowest.
    pub(super) fn at(&self, index: usize) -> Resolution {
        self.0[index.min(self.lowest())]
    }

    /// Index of the lowest rung.
    pub(super) fn lowest(&self) -> usize {
        self.0.len() - 1
    }

    /// Index reached by a step down from the top.
    pub(super) fn step(&self, step: StepDown) -> usize {
        match step {
            StepDown::Levels(n) => n.min(self.lowest()),
            StepDown::Lowest => self.lowest(),
        }
    }

    /// Index of the largest rung not above `max`, or of the lowest if all are.
    pub(super) fn at_or_below(&self, max: Resolution) -> usize {
        self.0
            .iter()
            .position(|&r| r <= max)
            .unwrap_or(self.lowest())
    }

    /// Whether `r` has a patch loaded.
    pub(super) fn contains(&self, r: Resolution) -> bool {
        self.0.contains(&r)
    }
}

/// A number with at most one decimal, without a trailing `.0`: `12`, `9.5`.
pub(super) fn num(x: f64) -> String {
    let s = format!("{x:.1}");
    match s.strip_suffix(".0") {
        Some(whole) => whole.to_string(),
        None => s,
    }
}

/// A fraction as a percentage: `0.24` is `24%`.
pub(super) fn percent(fraction: f64) -> String {
    format!("{}%", num(fraction * 100.0))
}

/// `1 level`, `2 levels`.
pub(super) fn levels(n: usize) -> String {
    if n == 1 {
        "1 level".into()
    } else {
        format!("{n} levels")
    }
}

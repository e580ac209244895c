//! What the engine measured: latency per resolution, as an EWMA and a p90.

use std::collections::BTreeMap;

use super::error::PolicyError;
use crate::image::Resolution;

/// Samples kept per resolution by [`LatencyTracker::default`].
pub const DEFAULT_WINDOW: usize = 64;

/// EWMA smoothing factor of [`LatencyTracker::default`]: the weight of the
/// newest sample, so about the last `2 / alpha - 1` = 9 samples dominate.
pub const DEFAULT_ALPHA: f64 = 0.2;

/// Running latency estimates per resolution.
///
/// For each resolution it keeps the last `window` samples in a ring buffer (the
/// p90 is computed from them by nearest rank) and an exponentially weighted
/// moving average over all samples (`ewma = alpha * x + (1 - alpha) * ewma`,
/// starting at the first sample). Record warm runs only: a first run that
/// compiles pipelines can be a hundred times slower and says nothing about the
/// next one.
///
/// Measurements of a resolution go stale while the policy does not choose it;
/// [`LatencyTracker::forget`] drops them so the policy will try it again (see
/// the policy's rule for unmeasured resolutions).
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyTracker {
    window: usize,
    alpha: f64,
    series: BTreeMap<Resolution, Series>,
}

/// Samples of one resolution.
#[derive(Debug, Clone, PartialEq)]
struct Series {
    /// Ring buffer of at most `window` samples.
    ring: Vec<f64>,
    /// Where the next sample goes once the ring is full.
    next: usize,
    /// Moving average of every sample so far.
    ewma: f64,
}

impl Default for LatencyTracker {
    fn default() -> Self {
        LatencyTracker {
            window: DEFAULT_WINDOW,
            alpha: DEFAULT_ALPHA,
            series: BTreeMap::new(),
        }
    }
}

impl LatencyTracker {
    /// A tracker keeping `window` samples per resolution with EWMA factor `alpha`.
    ///
    /// # Errors
    /// [`PolicyError::InvalidConfig`] for a zero window or an `alpha` outside
    /// `(0, 1]`.
    pub fn new(window: usize, alpha: f64) -> Result<Self, PolicyError> {
        if window == 0 {
            return Err(PolicyError::InvalidConfig {
                field: "window",
                reason: "must keep at least one sample".into(),
            });
        }
        if !(alpha > 0.0 && alpha <= 1.0) {
            return Err(PolicyError::InvalidConfig {
                field: "alpha",
                reason: format!("{alpha} is outside (0, 1]"),
            });
        }
        Ok(LatencyTracker {
            window,
            alpha,
            series: BTreeMap::new(),
        })
    }

    /// Samples kept per resolution.
    pub fn window(&self) -> usize {
        self.window
    }

    /// EWMA smoothing factor.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// Records one measured latency of `resolution`, in milliseconds.
    ///
    /// # Errors
    /// [`PolicyError::InvalidLatencySample`] for NaN, infinite or negative
    /// samples; nothing is recorded then.
    pub fn record(&mut self, resolution: Resolution, ms: f64) -> Result<(), PolicyError> {
        if !(ms.is_finite() && ms >= 0.0) {
            return Err(PolicyError::InvalidLatencySample {
                resolution,
                value: ms,
            });
        }
        let window = self.window;
        let alpha = self.alpha;
        match self.series.get_mut(&resolution) {
            None => {
                let mut ring = Vec::with_capacity(window);
                ring.push(ms);
                self.series.insert(
                    resolution,
                    Series {
                        ring,
                        next: 0,
                        ewma: ms,
                    },
                );
            }
            Some(s) => {
                if s.ring.len() < window {
                    s.ring.push(ms);
                } else {
                    s.ring[s.next] = ms;
                    s.next = (s.next + 1) % window;
                }
                // Same as `alpha * ms + (1 - alpha) * ewma`, but a constant
                // input leaves the average exactly unchanged.
                s.ewma += alpha * (ms - s.ewma);
            }
        }
        Ok(())
    }

    /// Number of samples of `resolution` currently kept (at most the window).
    pub fn samples(&self, resolution: Resolution) -> usize {
        self.series.get(&resolution).map_or(0, |s| s.ring.len())
    }

    /// The 90th percentile of the kept samples by nearest rank: the
    /// `ceil(0.9 n)`-th smallest of `n` samples. `None` before any sample.
    pub fn p90(&self, resolution: Resolution) -> Option<f64> {
        let s = self.series.get(&resolution)?;
        let mut sorted = s.ring.clone();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        // ceil(0.9 n) in integers, so no rounding can move the rank.
        let rank = (9 * n).div_ceil(10);
        sorted.get(rank.checked_sub(1)?).copied()
    }

    /// The moving average of every sample of `resolution`. `None` before any sample.
    pub fn ewma(&self, resolution: Resolution) -> Option<f64> {
        self.series.get(&resolution).map(|s| s.ewma)
    }

    /// The resolutions with at least one sample, smallest first.
    pub fn measured(&self) -> impl Iterator<Item = Resolution> + '_ {
        self.series.keys().copied()
    }

    /// Drops every sample of `resolution`, so it counts as unmeasured again.
    pub fn forget(&mut self, resolution: Resolution) {
        self.series.remove(&resolution);
    }
}

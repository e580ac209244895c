//! Percentiles of timing samples.

use serde_json::{Value, json};

/// p50, p90 and p99 of a set of samples (nearest rank).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
}

impl Percentiles {
    /// Computes percentiles; `None` for no samples.
    pub fn of(samples: &[f64]) -> Option<Percentiles> {
        if samples.is_empty() {
            return None;
        }
        let mut s = samples.to_vec();
        s.sort_by(f64::total_cmp);
        let rank = |p: f64| s[((p * s.len() as f64).ceil() as usize).clamp(1, s.len()) - 1];
        Some(Percentiles {
            p50: rank(0.5),
            p90: rank(0.9),
            p99: rank(0.99),
        })
    }

    /// `{"p50", "p90", "p99"}`.
    pub fn json(&self) -> Value {
        json!({"p50": self.p50, "p90": self.p90, "p99": self.p99})
    }
}

/// JSON of optional percentiles (`null` when absent).
pub fn json_opt(p: Option<Percentiles>) -> Value {
    p.map_or(Value::Null, |p| p.json())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        let p = Percentiles::of(&v).map(|p| (p.p50, p.p90, p.p99));
        assert_eq!(p, Some((50.0, 90.0, 99.0)));
        assert_eq!(Percentiles::of(&[]), None);
        assert_eq!(Percentiles::of(&[3.0]).map(|p| p.p99), Some(3.0));
    }
}

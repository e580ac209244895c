//! Exact fractions: reported metrics and the accuracy tolerance α.
//!
//! All cascade arithmetic is in integers. Ratios are compared by
//! cross-multiplication in 128 bits, so no rounding can change a decision.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use super::error::{CascadeError, Result};

/// An exact non-negative fraction `numerator / denominator`, kept as given
/// (not reduced): `1784/10` stays `1784/10`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fraction {
    /// Numerator.
    pub numerator: u64,
    /// Denominator; 0 only for metrics over zero examples.
    pub denominator: u64,
}

impl Fraction {
    /// `numerator / denominator`.
    pub const fn new(numerator: u64, denominator: u64) -> Fraction {
        Fraction {
            numerator,
            denominator,
        }
    }

    /// The value as `f64`, for display only; NaN when the denominator is 0.
    pub fn to_f64(self) -> f64 {
        if self.denominator == 0 {
            return f64::NAN;
        }
        self.numerator as f64 / self.denominator as f64
    }

    /// Exact comparison of the two values; `None` if either denominator is 0.
    pub fn cmp_value(self, other: Fraction) -> Option<Ordering> {
        if self.denominator == 0 || other.denominator == 0 {
            return None;
        }
        let a = u128::from(self.numerator) * u128::from(other.denominator);
        let b = u128::from(other.numerator) * u128::from(self.denominator);
        Some(a.cmp(&b))
    }
}

impl fmt::Display for Fraction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.numerator, self.denominator)
    }
}

/// The accuracy tolerance α = N/D ∈ [0, 1]: the cascade may lose at most α of
/// accuracy against the reference model. α = 0 means no loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Alpha {
    numerator: u64,
    denominator: u64,
}

impl Alpha {
    /// α = 0/1: no accuracy loss allowed.
    pub const ZERO: Alpha = Alpha {
        numerator: 0,
        denominator: 1,
    };

    /// α = `numerator / denominator`, kept unreduced.
    ///
    /// # Errors
    /// [`CascadeError::InvalidAlpha`] if the denominator is 0 or α > 1.
    pub fn new(numerator: u64, denominator: u64) -> Result<Alpha> {
        let value = || format!("{numerator}/{denominator}");
        if denominator == 0 {
            return Err(CascadeError::InvalidAlpha {
                value: value(),
                reason: "the denominator is 0",
            });
        }
        if numerator > denominator {
            return Err(CascadeError::InvalidAlpha {
                value: value(),
                reason: "alpha must lie in [0, 1]",
            });
        }
        Ok(Alpha {
            numerator,
            denominator,
        })
    }

    /// N.
    pub fn numerator(self) -> u64 {
        self.numerator
    }

    /// D.
    pub fn denominator(self) -> u64 {
        self.denominator
    }

    /// α as an exact [`Fraction`].
    pub fn fraction(self) -> Fraction {
        Fraction::new(self.numerator, self.denominator)
    }

    /// The per-stage accuracy rule on a set of `answered` examples: is
    /// `(model_correct − reference_correct)·D ≥ −N·answered`?
    pub fn allows(self, model_correct: usize, reference_correct: usize, answered: usize) -> bool {
        let lhs =
            (model_correct as i128 - reference_correct as i128) * i128::from(self.denominator);
        let rhs = -(i128::from(self.numerator) * answered as i128);
        lhs >= rhs
    }

    /// The global deficit budget `⌊α·n⌋` (at most `n`).
    pub fn budget(self, n: usize) -> usize {
        let b = u128::from(self.numerator) * n as u128 / u128::from(self.denominator);
        usize::try_from(b).unwrap_or(usize::MAX)
    }
}

impl Default for Alpha {
    fn default() -> Alpha {
        Alpha::ZERO
    }
}

impl fmt::Display for Alpha {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.numerator, self.denominator)
    }
}

impl FromStr for Alpha {
    type Err = CascadeError;

    /// Parses `N/D` (`1/10`) or a decimal (`0.1`, `0`, `1`); a decimal is
    /// read exactly (`0.05` is 5/100).
    fn from_str(s: &str) -> Result<Alpha> {
        let bad = |reason| CascadeError::InvalidAlpha {
            value: s.to_string(),
            reason,
        };
        let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        let t = s.trim();
        if let Some((n, d)) = t.split_once('/') {
            let (n, d) = (n.trim(), d.trim());
            if !digits(n) || !digits(d) {
                return Err(bad("expected N/D with unsigned integers N and D"));
            }
            let n = n.parse().map_err(|_| bad("numerator out of range"))?;
            let d = d.parse().map_err(|_| bad("denominator out of range"))?;
            return Alpha::new(n, d).map_err(|_| {
                bad(if d == 0 {
                    "the denominator is 0"
                } else {
                    "alpha must lie in [0, 1]"
                })
            });
        }
        let (int, frac) = t.split_once('.').unwrap_or((t, ""));
        if !digits(int) || !(frac.is_empty() || digits(frac)) {
            return Err(bad("expected N/D or a decimal such as 0.05"));
        }
        if frac.len() > 18 {
            return Err(bad("at most 18 decimal places"));
        }
        let numerator: u64 = format!("{int}{frac}")
            .parse()
            .map_err(|_| bad("alpha must lie in [0, 1]"))?;
        let denominator = 10u64.pow(frac.len() as u32);
        Alpha::new(numerator, denominator).map_err(|_| bad("alpha must lie in [0, 1]"))
    }
}

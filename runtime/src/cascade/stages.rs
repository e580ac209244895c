//! The cascade itself: an ordered list of stages and the decision rule the
//! executor applies after each one.

use std::fmt;

use super::builder::Rule;
use super::error::{CascadeError, Result};
use super::fraction::{Alpha, Fraction};

/// One stage: run the model at `resolution`, answer if its confidence is at
/// least `threshold`, else go on to the next stage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stage {
    /// The model, by input side length.
    pub resolution: u32,
    /// Minimum confidence to answer; `None` (the last stage only) means always
    /// answer (the spec's `t = −∞`).
    pub threshold: Option<f32>,
    /// The model's cost `c_j`. A stage whose resolution already ran in an
    /// earlier stage costs nothing more (see [`Cascade::stage_costs`]).
    pub cost: u64,
}

impl Stage {
    /// Whether this stage answers at `confidence` (NaN never passes a threshold).
    pub fn answers(&self, confidence: f32) -> bool {
        match self.threshold {
            None => true,
            Some(t) => confidence >= t,
        }
    }
}

/// What the executor does after running a stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Output this stage's prediction.
    Answer,
    /// Run the next stage.
    Escalate,
}

/// What the cascade scored on the table it was built from (written into the
/// cascade file's `validation` object).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationSummary {
    /// Number of validation examples n.
    pub examples: usize,
    /// Examples the cascade got right.
    pub correct: usize,
    /// `Σ_i C_i(S)`, cost with reuse.
    pub total_cost: u64,
    /// Examples each stage answered; they sum to n.
    pub answered_per_stage: Vec<usize>,
    /// Examples the reference model gets right.
    pub reference_correct: usize,
    /// The reference model's cost `c_r`.
    pub reference_cost: u64,
}

impl ValidationSummary {
    /// Accuracy as `correct / n`.
    pub fn accuracy(&self) -> Fraction {
        Fraction::new(self.correct as u64, self.examples as u64)
    }

    /// Average cost `C̄ = total / n`, exact.
    pub fn average_cost(&self) -> Fraction {
        Fraction::new(self.total_cost, self.examples as u64)
    }

    /// The reference's accuracy as `correct / n`.
    pub fn reference_accuracy(&self) -> Fraction {
        Fraction::new(self.reference_correct as u64, self.examples as u64)
    }
}

/// A confidence cascade over resolutions: `[(j_1, t_1), …, (j_K, always)]`.
///
/// Build one with [`super::CascadeBuilder`], or read one with
/// [`Cascade::from_json`]. At run time call [`Cascade::decide`] after each
/// stage; [`Cascade::replay`] evaluates the same rule on a table.
#[derive(Debug, Clone, PartialEq)]
pub struct Cascade {
    pub(crate) reference: u32,
    pub(crate) alpha: Alpha,
    pub(crate) rule: Rule,
    pub(crate) cost_unit: String,
    pub(crate) stages: Vec<Stage>,
    pub(crate) validation: Option<ValidationSummary>,
}

impl Cascade {
    /// A cascade from its parts (no validation summary).
    ///
    /// # Errors
    /// [`CascadeError::InvalidCascade`] if there are no stages, a stage other
    /// than the last has no threshold or a non-finite one, or the last has a
    /// threshold, or one resolution appears with two costs;
    /// [`CascadeError::InvalidCost`] for a zero cost.
    pub fn new(
        reference: u32,
        alpha: Alpha,
        rule: Rule,
        cost_unit: impl Into<String>,
        stages: Vec<Stage>,
    ) -> Result<Cascade> {
        let invalid = |reason: String| Err(CascadeError::InvalidCascade { reason });
        let Some(last) = stages.len().checked_sub(1) else {
            return invalid("a cascade has at least one stage".to_string());
        };
        for (k, s) in stages.iter().enumerate() {
            match s.threshold {
                None if k != last => {
                    return invalid(format!(
                        "stage {k} (resolution {}) always answers but is not the last stage",
                        s.resolution
                    ));
                }
                Some(_) if k == last => {
                    return invalid(format!(
                        "the last stage (resolution {}) must always answer (threshold null)",
                        s.resolution
                    ));
                }
                Some(t) if !t.is_finite() => {
                    return invalid(format!("stage {k} has a non-finite threshold {t}"));
                }
                _ => {}
            }
            if s.cost == 0 {
                return Err(CascadeError::InvalidCost {
                    resolution: s.resolution,
                    cost: "0".to_string(),
                });
            }
            if let Some(p) = stages[..k]
                .iter()
                .find(|p| p.resolution == s.resolution && p.cost != s.cost)
            {
                return invalid(format!(
                    "resolution {} has cost {} in one stage and {} in another",
                    s.resolution, p.cost, s.cost
                ));
            }
        }
        Ok(Cascade {
            reference,
            alpha,
            rule,
            cost_unit: cost_unit.into(),
            stages,
            validation: None,
        })
    }

    /// Attaches the metrics measured on the validation table.
    ///
    /// # Errors
    /// [`CascadeError::InvalidCascade`] if the per-stage counts do not match
    /// the stages or do not sum to the number of examples, or if
    /// `correct` or `reference_correct` exceed it.
    pub fn with_validation(mut self, summary: ValidationSummary) -> Result<Cascade> {
        let n = summary.examples;
        let reason = if summary.answered_per_stage.len() != self.stages.len() {
            Some(format!(
                "{} per-stage counts for {} stages",
                summary.answered_per_stage.len(),
                self.stages.len()
            ))
        } else if summary.answered_per_stage.iter().sum::<usize>() != n {
            Some(format!("per-stage counts do not sum to {n} examples"))
        } else if summary.correct > n || summary.reference_correct > n {
            Some(format!("more correct answers than the {n} examples"))
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(CascadeError::InvalidCascade { reason });
        }
        self.validation = Some(summary);
        Ok(self)
    }

    /// The stages, in execution order; the last always answers.
    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    /// The reference resolution the accuracy target was taken from.
    pub fn reference(&self) -> u32 {
        self.reference
    }

    /// The accuracy tolerance it was built with.
    pub fn alpha(&self) -> Alpha {
        self.alpha
    }

    /// The accuracy rule it was built with.
    pub fn rule(&self) -> Rule {
        self.rule
    }

    /// The unit of the stage costs.
    pub fn cost_unit(&self) -> &str {
        &self.cost_unit
    }

    /// Metrics on the validation table, if known.
    pub fn validation(&self) -> Option<&ValidationSummary> {
        self.validation.as_ref()
    }

    /// The decision after stage `stage_index` produced `confidence`.
    ///
    /// `Answer` if the stage's threshold is met, and always at the last stage
    /// (and for an index past the end: there is nothing to escalate to).
    /// A NaN confidence escalates, except at the last stage.
    pub fn decide(&self, stage_index: usize, confidence: f32) -> Decision {
        match self.stages.get(stage_index) {
            Some(stage) if !stage.answers(confidence) => Decision::Escalate,
            _ => Decision::Answer,
        }
    }

    /// The added cost `κ_k` of each stage: its model's cost the first time a
    /// resolution runs, 0 when an earlier stage already ran it.
    pub fn stage_costs(&self) -> Vec<u64> {
        self.stages
            .iter()
            .enumerate()
            .map(|(k, s)| {
                if self.stages[..k]
                    .iter()
                    .any(|p| p.resolution == s.resolution)
                {
                    0
                } else {
                    s.cost
                }
            })
            .collect()
    }
}

impl fmt::Display for Cascade {
    /// `[(96, ≥0.91), (160, ≥0.45), (224, always)]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (k, s) in self.stages.iter().enumerate() {
            if k > 0 {
                f.write_str(", ")?;
            }
            match s.threshold {
                Some(t) => write!(f, "({}, ≥{t})", s.resolution)?,
                None => write!(f, "({}, always)", s.resolution)?,
            }
        }
        f.write_str("]")
    }
}

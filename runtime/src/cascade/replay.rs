//! Evaluation of a cascade on a validation table, with the executor's own
//! decision rule ([`Cascade::decide`]) and cost with reuse.

use super::error::{CascadeError, MismatchSite, Result};
use super::fraction::Fraction;
use super::stages::{Cascade, Decision};
use super::table::ValidationTable;

/// What a cascade does on each example of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayResult {
    /// Number of examples n.
    pub examples: usize,
    /// Examples answered correctly.
    pub correct: usize,
    /// `Σ_i C_i(S)`.
    pub total_cost: u64,
    /// Examples each stage answered.
    pub answered_per_stage: Vec<usize>,
    /// Of those, how many were right.
    pub correct_per_stage: Vec<usize>,
    /// Per example: the index of the stage that answered it.
    pub stop_stage: Vec<usize>,
    /// Per example: the cost paid, `C_i(S) = Σ_{k ≤ stop_i} κ_k`.
    pub cost_per_example: Vec<u64>,
}

impl ReplayResult {
    /// Accuracy as `correct / n` (`0/0` for an empty table).
    pub fn accuracy(&self) -> Fraction {
        Fraction::new(self.correct as u64, self.examples as u64)
    }

    /// Average cost `C̄ = total_cost / n`, exact (`0/0` for an empty table).
    pub fn average_cost(&self) -> Fraction {
        Fraction::new(self.total_cost, self.examples as u64)
    }
}

impl Cascade {
    /// Runs the cascade on every example of `table`: stage by stage, with
    /// [`Cascade::decide`], paying each resolution once.
    ///
    /// # Errors
    /// [`CascadeError::ResolutionMismatch`] (site [`MismatchSite::Cascade`])
    /// if a stage's resolution is not in the table; [`CascadeError::CostOverflow`].
    pub fn replay(&self, table: &ValidationTable) -> Result<ReplayResult> {
        let models = self
            .stages
            .iter()
            .map(|s| table.model_index(s.resolution))
            .collect::<Option<Vec<usize>>>()
            .ok_or_else(|| CascadeError::ResolutionMismatch {
                site: MismatchSite::Cascade,
                expected: self.stages.iter().map(|s| s.resolution).collect(),
                found: table.resolutions().to_vec(),
            })?;
        // cumulative[k]: what an example answered at stage k has paid.
        let mut cumulative = Vec::with_capacity(models.len());
        let mut paid = 0u64;
        for kappa in self.stage_costs() {
            paid = paid.checked_add(kappa).ok_or(CascadeError::CostOverflow)?;
            cumulative.push(paid);
        }
        let k_count = self.stages.len();
        let mut result = ReplayResult {
            examples: table.len(),
            correct: 0,
            total_cost: 0,
            answered_per_stage: vec![0; k_count],
            correct_per_stage: vec![0; k_count],
            stop_stage: Vec::with_capacity(table.len()),
            cost_per_example: Vec::with_capacity(table.len()),
        };
        for example in table.examples() {
            let mut stop = k_count - 1;
            for (k, &j) in models.iter().enumerate() {
                if self.decide(k, example.results[j].confidence) == Decision::Answer {
                    stop = k;
                    break;
                }
            }
            let right = example.results[models[stop]].correct;
            result.answered_per_stage[stop] += 1;
            result.correct_per_stage[stop] += usize::from(right);
            result.correct += usize::from(right);
            result.stop_stage.push(stop);
            result.cost_per_example.push(cumulative[stop]);
            result.total_cost = result
                .total_cost
                .checked_add(cumulative[stop])
                .ok_or(CascadeError::CostOverflow)?;
        }
        Ok(result)
    }
}

//! The greedy cascade builder (spec §2): the per-stage rule, the
//! global-budget and static variants, and the single-model safeguard.

use std::fmt;
use std::str::FromStr;

use super::candidates::{self, Candidate, Feasibility, Problem, State};
use super::costs::Costs;
use super::error::{CascadeError, Result};
use super::fraction::Alpha;
use super::stages::{Cascade, Stage, ValidationSummary};
use super::table::ValidationTable;

/// How the builder enforces `Acc(S) ≥ Acc(r) − α`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Rule {
    /// Each stage must be about as accurate as the reference on the examples
    /// it answers: `Σ_{H_k} z_{i,j_k} ≥ Σ_{H_k} z_{i,r} − α|H_k|`. Guarantees
    /// the accuracy target on the validation set. The default.
    #[default]
    PerStage,
    /// All stages share one deficit budget `⌊αn⌋` (gains of one stage offset
    /// losses of a later one). Guarantees the accuracy target; looser than
    /// [`Rule::PerStage`] when α > 0.
    GlobalBudget,
    /// Each `(j, t)` is checked once, on everything it answers in the full
    /// validation set. This is exactly the min-sum-set-cover greedy (within 4×
    /// of the best static cascade), but the cascade's accuracy is **not**
    /// guaranteed (spec §3); meant for tests and comparisons.
    Static,
}

impl Rule {
    /// The name used in cascade files: `per_stage`, `global_budget`, `static`.
    pub fn name(self) -> &'static str {
        match self {
            Rule::PerStage => "per_stage",
            Rule::GlobalBudget => "global_budget",
            Rule::Static => "static",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Rule {
    type Err = CascadeError;

    fn from_str(s: &str) -> Result<Rule> {
        [Rule::PerStage, Rule::GlobalBudget, Rule::Static]
            .into_iter()
            .find(|r| r.name() == s)
            .ok_or_else(|| CascadeError::UnknownRule {
                name: s.to_string(),
            })
    }
}

/// Configuration of the greedy; [`CascadeBuilder::build`] does the work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CascadeBuilder {
    reference: u32,
    alpha: Alpha,
    rule: Rule,
    safeguard: bool,
}

/// A built cascade together with what the greedy alone produced.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildOutcome {
    /// The result: the greedy's cascade, or a single-model one if the
    /// safeguard found a strictly cheaper one. Carries its validation summary.
    pub cascade: Cascade,
    /// The greedy's own stages (last threshold "always").
    pub greedy_stages: Vec<Stage>,
    /// The greedy's own metrics on the validation table.
    pub greedy_summary: ValidationSummary,
    /// Whether the safeguard replaced the greedy's cascade.
    pub safeguard_applied: bool,
}

/// A cascade as model indices, with the builder's own bookkeeping.
struct Run {
    stages: Vec<(usize, Option<f32>)>,
    answered: Vec<usize>,
    correct: usize,
    total_cost: u64,
}

impl CascadeBuilder {
    /// A builder with reference resolution `reference`, α = 0, the per-stage
    /// rule and the safeguard on.
    pub fn new(reference: u32) -> CascadeBuilder {
        CascadeBuilder {
            reference,
            alpha: Alpha::ZERO,
            rule: Rule::PerStage,
            safeguard: true,
        }
    }

    /// Sets the accuracy tolerance α.
    pub fn alpha(mut self, alpha: Alpha) -> CascadeBuilder {
        self.alpha = alpha;
        self
    }

    /// Sets the accuracy rule.
    pub fn rule(mut self, rule: Rule) -> CascadeBuilder {
        self.rule = rule;
        self
    }

    /// Turns the safeguard on or off (default on): also consider every allowed
    /// single-model cascade `[(j, always)]` and return it if it is strictly
    /// cheaper than the greedy's (ties keep the greedy's; among single models
    /// the cheapest, then the smaller model index, wins).
    pub fn safeguard(mut self, on: bool) -> CascadeBuilder {
        self.safeguard = on;
        self
    }

    /// Builds the cascade on `table` with `costs`.
    ///
    /// # Errors
    /// See [`Self::build_detailed`].
    pub fn build(&self, table: &ValidationTable, costs: &Costs) -> Result<Cascade> {
        Ok(self.build_detailed(table, costs)?.cascade)
    }

    /// Builds the cascade and reports what the greedy alone produced.
    ///
    /// With zero examples the result is `[(r, always)]`.
    ///
    /// # Errors
    /// [`CascadeError::UnknownReference`] if the reference is not a table
    /// resolution, [`CascadeError::ResolutionMismatch`] if a table resolution
    /// has no cost, [`CascadeError::CostOverflow`] if a total exceeds `u64`.
    pub fn build_detailed(&self, table: &ValidationTable, costs: &Costs) -> Result<BuildOutcome> {
        let reference =
            table
                .model_index(self.reference)
                .ok_or_else(|| CascadeError::UnknownReference {
                    reference: self.reference,
                    available: table.resolutions().to_vec(),
                })?;
        let problem = Problem::new(table, costs.for_table(table)?, reference);
        let greedy = self.greedy(&problem)?;
        let single = match self.safeguard {
            true => self.best_single(&problem)?,
            false => None,
        };
        let reference_correct = problem.correct[reference].iter().filter(|&&z| z).count();
        let to_stages = |run: &Run| -> Vec<Stage> {
            run.stages
                .iter()
                .map(|&(j, threshold)| Stage {
                    resolution: table.resolutions()[j],
                    threshold,
                    cost: problem.costs[j],
                })
                .collect()
        };
        let summary = |run: &Run| ValidationSummary {
            examples: problem.n,
            correct: run.correct,
            total_cost: run.total_cost,
            answered_per_stage: run.answered.clone(),
            reference_correct,
            reference_cost: problem.costs[reference],
        };
        let (chosen, safeguard_applied) = match &single {
            Some(s) if s.total_cost < greedy.total_cost => (s, true),
            _ => (&greedy, false),
        };
        let cascade = Cascade::new(
            self.reference,
            self.alpha,
            self.rule,
            costs.unit(),
            to_stages(chosen),
        )?
        .with_validation(summary(chosen))?;
        Ok(BuildOutcome {
            cascade,
            greedy_stages: to_stages(&greedy),
            greedy_summary: summary(&greedy),
            safeguard_applied,
        })
    }

    /// Spec §2, steps 3–5.
    fn greedy(&self, p: &Problem) -> Result<Run> {
        let mut state = State {
            unanswered: vec![true; p.n],
            remaining: p.n,
            ran: vec![false; p.models()],
        };
        let groups = match self.rule {
            Rule::Static => candidates::static_groups(p, self.alpha),
            _ => Vec::new(),
        };
        let budget = i64::try_from(self.alpha.budget(p.n)).unwrap_or(i64::MAX);
        let mut deficit: i64 = 0;
        let mut run = Run {
            stages: Vec::new(),
            answered: Vec::new(),
            correct: 0,
            total_cost: 0,
        };
        while state.remaining > 0 {
            let feasibility = match self.rule {
                Rule::PerStage => Feasibility::PerStage(self.alpha),
                Rule::GlobalBudget => Feasibility::Budget {
                    slack: budget - deficit,
                },
                Rule::Static => Feasibility::Static(&groups),
            };
            let c: Candidate = candidates::best(p, &state, &feasibility);
            let paid = (state.remaining as u64)
                .checked_mul(c.kappa)
                .ok_or(CascadeError::CostOverflow)?;
            run.total_cost = run
                .total_cost
                .checked_add(paid)
                .ok_or(CascadeError::CostOverflow)?;
            let mut answered = 0;
            for (i, open) in state.unanswered.iter_mut().enumerate() {
                if *open && p.scores[c.model][i] >= c.threshold {
                    *open = false;
                    answered += 1;
                }
            }
            if answered == 0 {
                // Unreachable: every candidate answers at least one example.
                return Err(CascadeError::InvalidCascade {
                    reason: "internal error: a greedy step answered nothing".to_string(),
                });
            }
            state.remaining -= answered;
            state.ran[c.model] = true;
            deficit += c.reference_correct as i64 - c.correct as i64;
            run.correct += c.correct;
            run.answered.push(answered);
            run.stages.push((c.model, Some(c.threshold)));
        }
        match run.stages.last_mut() {
            // Step 5: the last stage answers everything that reaches it.
            Some(last) => last.1 = None,
            // n = 0 (step 1): the reference alone.
            None => {
                run.stages.push((p.reference, None));
                run.answered.push(0);
            }
        }
        Ok(run)
    }

    /// The cheapest allowed single-model cascade (none if n = 0).
    fn best_single(&self, p: &Problem) -> Result<Option<Run>> {
        if p.n == 0 {
            return Ok(None);
        }
        let count = |j: usize| p.correct[j].iter().filter(|&&z| z).count();
        let reference_correct = count(p.reference);
        let mut best: Option<Run> = None;
        for j in 0..p.models() {
            let correct = count(j);
            // Every rule reduces to the same check on the full set.
            if !self.alpha.allows(correct, reference_correct, p.n) {
                continue;
            }
            let total_cost = (p.n as u64)
                .checked_mul(p.costs[j])
                .ok_or(CascadeError::CostOverflow)?;
            if best.as_ref().is_none_or(|b| total_cost < b.total_cost) {
                best = Some(Run {
                    stages: vec![(j, None)],
                    answered: vec![p.n],
                    correct,
                    total_cost,
                });
            }
        }
        Ok(best)
    }
}

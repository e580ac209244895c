//! Candidate enumeration by brute force (spec §2, steps 4.1–4.4), written
//! independently of the runtime: every distinct score is tried as a
//! threshold and every count is recomputed from scratch.

use std::cmp::Ordering;

use patchrt::cascade::{Alpha, Rule, Stage};

use super::{Instance, column};

/// A candidate stage and what it answers among the unanswered examples.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Model index (position in the table's resolution list).
    pub model: usize,
    /// Its resolution.
    pub resolution: u32,
    /// Threshold.
    pub threshold: f32,
    /// Examples answered (sorted indices).
    pub answered: Vec<usize>,
    /// Added cost: 0 if the model already ran.
    pub kappa: u64,
    /// Right answers of the model on `answered`.
    pub model_correct: usize,
    /// Right answers of the reference on `answered`.
    pub reference_correct: usize,
}

/// The greedy's state between steps.
#[derive(Debug, Clone)]
pub struct Step {
    /// Example i is unanswered.
    pub open: Vec<bool>,
    /// Model j already ran.
    pub ran: Vec<bool>,
    /// Deficit used so far (global-budget rule).
    pub deficit: i64,
}

impl Step {
    /// The state before the first step.
    pub fn start(inst: &Instance) -> Step {
        Step {
            open: vec![true; inst.table.len()],
            ran: vec![false; inst.table.resolutions().len()],
            deficit: 0,
        }
    }

    /// Applies a chosen candidate.
    pub fn apply(&mut self, c: &Candidate) {
        for &i in &c.answered {
            self.open[i] = false;
        }
        self.ran[c.model] = true;
        self.deficit += c.reference_correct as i64 - c.model_correct as i64;
    }
}

fn per_stage_ok(alpha: Alpha, model: usize, reference: usize, answered: usize) -> bool {
    let lhs = (model as i128 - reference as i128) * alpha.denominator() as i128;
    lhs + alpha.numerator() as i128 * answered as i128 >= 0
}

/// Every allowed candidate in state `step`.
pub fn candidates(inst: &Instance, rule: Rule, alpha: Alpha, step: &Step) -> Vec<Candidate> {
    let n = inst.table.len();
    let reference = column(&inst.table, inst.reference);
    let budget = (alpha.numerator() as u128 * n as u128 / alpha.denominator() as u128) as i64;
    let mut out = Vec::new();
    for (j, &resolution) in inst.table.resolutions().iter().enumerate() {
        let col = column(&inst.table, resolution);
        let mut thresholds: Vec<f32> = (0..n)
            .filter(|&i| rule == Rule::Static || step.open[i])
            .map(|i| col[i].0)
            .collect();
        thresholds.sort_by(f32::total_cmp);
        thresholds.dedup();
        for t in thresholds {
            let answered: Vec<usize> = (0..n).filter(|&i| step.open[i] && col[i].0 >= t).collect();
            if answered.is_empty() {
                continue;
            }
            let model_correct = answered.iter().filter(|&&i| col[i].1).count();
            let reference_correct = answered.iter().filter(|&&i| reference[i].1).count();
            let allowed = match rule {
                Rule::PerStage => {
                    per_stage_ok(alpha, model_correct, reference_correct, answered.len())
                }
                Rule::GlobalBudget => {
                    step.deficit + reference_correct as i64 - model_correct as i64 <= budget
                }
                Rule::Static => {
                    let full: Vec<usize> = (0..n).filter(|&i| col[i].0 >= t).collect();
                    let zj = full.iter().filter(|&&i| col[i].1).count();
                    let zr = full.iter().filter(|&&i| reference[i].1).count();
                    per_stage_ok(alpha, zj, zr, full.len())
                }
            };
            if allowed {
                out.push(Candidate {
                    model: j,
                    resolution,
                    threshold: t,
                    answered,
                    kappa: if step.ran[j] {
                        0
                    } else {
                        inst.costs.get(resolution).unwrap()
                    },
                    model_correct,
                    reference_correct,
                });
            }
        }
    }
    out
}

/// The order of spec §2 step 4.4, best first. `b1/κ1` against `b2/κ2` by
/// cross-multiplication, which also puts `κ = 0` (ratio +∞, b ≥ 1) first.
pub fn order(a: &Candidate, b: &Candidate) -> Ordering {
    let (ba, bb) = (a.answered.len() as u128, b.answered.len() as u128);
    (bb * a.kappa as u128)
        .cmp(&(ba * b.kappa as u128))
        .then(bb.cmp(&ba))
        .then(a.kappa.cmp(&b.kappa))
        .then(a.model.cmp(&b.model))
        .then(b.threshold.total_cmp(&a.threshold))
}

/// The best allowed candidate.
pub fn best(inst: &Instance, rule: Rule, alpha: Alpha, step: &Step) -> Candidate {
    let mut all = candidates(inst, rule, alpha, step);
    all.sort_by(order);
    all.into_iter().next().expect("no allowed candidate")
}

/// Re-runs the greedy step by step with brute-force candidates and checks
/// that each of `stages` is the best one (spec §4 property 5).
pub fn check_greedy(inst: &Instance, rule: Rule, alpha: Alpha, stages: &[Stage]) {
    let mut step = Step::start(inst);
    for (k, stage) in stages.iter().enumerate() {
        let want = best(inst, rule, alpha, &step);
        let col = column(&inst.table, stage.resolution);
        let got: Vec<usize> = (0..inst.table.len())
            .filter(|&i| step.open[i] && stage.threshold.is_none_or(|t| col[i].0 >= t))
            .collect();
        assert_eq!(stage.resolution, want.resolution, "step {k}: {stages:?}");
        assert_eq!(got, want.answered, "step {k}: {stages:?}");
        if k + 1 < stages.len() {
            assert_eq!(
                stage.threshold.map(f32::to_bits),
                Some(want.threshold.to_bits()),
                "step {k}"
            );
        }
        step.apply(&want);
    }
    assert!(step.open.iter().all(|&o| !o), "examples left unanswered");
}

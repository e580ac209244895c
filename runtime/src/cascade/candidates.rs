//! One greedy step's candidate stages (spec §2, steps 4.1–4.4): enumeration
//! at tie-group boundaries with running sums, the accuracy checks, and the
//! total order that picks the best.

use std::cmp::Ordering;

use super::fraction::Alpha;
use super::table::ValidationTable;

/// The table in column form, with each model's examples sorted by confidence.
pub(crate) struct Problem {
    /// Examples n.
    pub n: usize,
    /// `scores[j][i]`: confidence of model j on example i.
    pub scores: Vec<Vec<f32>>,
    /// `correct[j][i]`: whether model j is right on example i.
    pub correct: Vec<Vec<bool>>,
    /// `c_j`.
    pub costs: Vec<u64>,
    /// Model index of the reference r.
    pub reference: usize,
    /// `order[j]`: example indices by decreasing `scores[j]` (index breaks ties;
    /// only the boundaries between groups of equal scores are ever used).
    pub order: Vec<Vec<usize>>,
}

impl Problem {
    /// Columns and sort orders of `table`; `costs` in model order.
    pub(crate) fn new(table: &ValidationTable, costs: Vec<u64>, reference: usize) -> Problem {
        let m = table.resolutions().len();
        let examples = table.examples();
        let scores: Vec<Vec<f32>> = (0..m)
            .map(|j| examples.iter().map(|e| e.results[j].confidence).collect())
            .collect();
        let correct = (0..m)
            .map(|j| examples.iter().map(|e| e.results[j].correct).collect())
            .collect();
        let order = scores
            .iter()
            .map(|s: &Vec<f32>| {
                let mut o: Vec<usize> = (0..table.len()).collect();
                o.sort_by(|&a, &b| s[b].total_cmp(&s[a]).then(a.cmp(&b)));
                o
            })
            .collect();
        Problem {
            n: table.len(),
            scores,
            correct,
            costs,
            reference,
            order,
        }
    }

    /// Number of models m.
    pub(crate) fn models(&self) -> usize {
        self.costs.len()
    }
}

/// A candidate stage `(j, t)` with what it would answer among the unanswered.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Candidate {
    /// Model index j.
    pub model: usize,
    /// Threshold t: the lowest score it answers.
    pub threshold: f32,
    /// `b`: unanswered examples it answers.
    pub answered: usize,
    /// `κ(j)`: 0 if j already ran, else `c_j`.
    pub kappa: u64,
    /// `Zj`: of those, how many j gets right.
    pub correct: usize,
    /// `Zr`: of those, how many the reference gets right.
    pub reference_correct: usize,
}

/// Spec §2 step 4.4: is `a` strictly better than `b`? Larger `ρ = b/κ`
/// (cross-multiplied in 128 bits, `κ = 0` is `+∞`), then larger `b`, then
/// smaller `κ`, then smaller model index; last, for static mode only (where
/// several thresholds of one model can answer the same unanswered set),
/// the higher threshold.
pub(crate) fn better(a: &Candidate, b: &Candidate) -> bool {
    let rho = match (a.kappa, b.kappa) {
        (0, 0) => Ordering::Equal,
        (0, _) => Ordering::Greater,
        (_, 0) => Ordering::Less,
        (ka, kb) => {
            (a.answered as u128 * u128::from(kb)).cmp(&(b.answered as u128 * u128::from(ka)))
        }
    };
    rho.then(a.answered.cmp(&b.answered))
        .then(b.kappa.cmp(&a.kappa))
        .then(b.model.cmp(&a.model))
        .then(a.threshold.total_cmp(&b.threshold))
        == Ordering::Greater
}

/// One tie group of a model over the full validation set (static mode).
pub(crate) struct Group {
    /// The group's score, the threshold that answers it and everything above.
    threshold: f32,
    /// Position in the model's order just past the group.
    end: usize,
    /// Whether `(j, threshold)` passes the accuracy check on the full set.
    allowed: bool,
}

/// Static mode: every model's thresholds and their one-off accuracy check.
pub(crate) fn static_groups(p: &Problem, alpha: Alpha) -> Vec<Vec<Group>> {
    (0..p.models())
        .map(|j| {
            let (s, order) = (&p.scores[j], &p.order[j]);
            let (mut zj, mut zr) = (0, 0);
            let mut groups = Vec::new();
            for (pos, &i) in order.iter().enumerate() {
                zj += usize::from(p.correct[j][i]);
                zr += usize::from(p.correct[p.reference][i]);
                if order.get(pos + 1).is_none_or(|&next| s[next] < s[i]) {
                    groups.push(Group {
                        threshold: s[i],
                        end: pos + 1,
                        allowed: alpha.allows(zj, zr, pos + 1),
                    });
                }
            }
            groups
        })
        .collect()
}

/// Which candidates are allowed.
pub(crate) enum Feasibility<'g> {
    /// Per-stage rule: `(Zj − Zr)·D ≥ −N·b` on the stage's own examples.
    PerStage(Alpha),
    /// Shared deficit budget: allowed if `Zr − Zj ≤ slack` (budget left).
    Budget {
        /// `⌊αn⌋` minus the deficit already used (may exceed the budget after gains).
        slack: i64,
    },
    /// Static: each `(j, t)` checked once on the full set.
    Static(&'g [Vec<Group>]),
}

/// The greedy's state between steps.
pub(crate) struct State {
    /// `unanswered[i]`: example i is in U.
    pub unanswered: Vec<bool>,
    /// `|U|`.
    pub remaining: usize,
    /// `ran[j]`: model j is in G.
    pub ran: Vec<bool>,
}

/// The best allowed candidate for `state` (U must be non-empty).
///
/// It starts from `(r, answer all of U)`, which every rule allows, so there
/// always is one.
pub(crate) fn best(p: &Problem, state: &State, feasibility: &Feasibility<'_>) -> Candidate {
    let r = p.reference;
    let kappa = |j: usize| if state.ran[j] { 0 } else { p.costs[j] };
    let mut all_r = Candidate {
        model: r,
        threshold: f32::INFINITY,
        answered: 0,
        kappa: kappa(r),
        correct: 0,
        reference_correct: 0,
    };
    for i in (0..p.n).filter(|&i| state.unanswered[i]) {
        all_r.threshold = all_r.threshold.min(p.scores[r][i]);
        all_r.answered += 1;
        all_r.correct += usize::from(p.correct[r][i]);
    }
    all_r.reference_correct = all_r.correct;
    let mut best = all_r;
    let mut offer = |c: Candidate| {
        if better(&c, &best) {
            best = c;
        }
    };
    for j in 0..p.models() {
        let start = Candidate {
            model: j,
            threshold: 0.0,
            answered: 0,
            kappa: kappa(j),
            correct: 0,
            reference_correct: 0,
        };
        match feasibility {
            Feasibility::PerStage(alpha) => prefixes(p, state, start, &mut offer, |c| {
                alpha.allows(c.correct, c.reference_correct, c.answered)
            }),
            Feasibility::Budget { slack } => prefixes(p, state, start, &mut offer, |c| {
                c.reference_correct as i64 - c.correct as i64 <= *slack
            }),
            Feasibility::Static(groups) => {
                fixed_sets(p, state, start, &groups[j], &mut offer);
            }
        }
    }
    best
}

/// Adds example `i` to candidate `c`'s running sums.
fn add(p: &Problem, c: &mut Candidate, i: usize) {
    c.answered += 1;
    c.correct += usize::from(p.correct[c.model][i]);
    c.reference_correct += usize::from(p.correct[p.reference][i]);
}

/// Per-stage and budget rules: walk model j's order over U and offer each
/// tie-group boundary that `allowed` accepts, with running sums (step 4.1).
fn prefixes(
    p: &Problem,
    state: &State,
    mut c: Candidate,
    offer: &mut impl FnMut(Candidate),
    allowed: impl Fn(&Candidate) -> bool,
) {
    let s = &p.scores[c.model];
    let mut members = p.order[c.model]
        .iter()
        .copied()
        .filter(|&i| state.unanswered[i])
        .peekable();
    while let Some(i) = members.next() {
        add(p, &mut c, i);
        let boundary = members.peek().is_none_or(|&next| s[next] < s[i]);
        if boundary && allowed(&c) {
            offer(Candidate {
                threshold: s[i],
                ..c
            });
        }
    }
}

/// Static rule: offer every threshold that passed on the full set and
/// answers at least one example of U.
fn fixed_sets(
    p: &Problem,
    state: &State,
    mut c: Candidate,
    groups: &[Group],
    offer: &mut impl FnMut(Candidate),
) {
    let order = &p.order[c.model];
    let mut pos = 0;
    for g in groups {
        for &i in &order[pos..g.end] {
            if state.unanswered[i] {
                add(p, &mut c, i);
            }
        }
        pos = g.end;
        if g.allowed && c.answered > 0 {
            offer(Candidate {
                threshold: g.threshold,
                ..c
            });
        }
    }
}

//! Greedy cascades (`patchrt::cascade`, spec `docs/cascade.md` of the shared
//! notes): the §5 worked example, the §4 properties on seeded random
//! instances, a brute-force oracle, the §3 counterexample, edge cases, file
//! formats and bad input. CPU only.
//!
//! Everything the builder is checked against is recomputed here from the
//! table by plain loops (replay, candidate enumeration, the optimum), never
//! through the runtime's internals.

use std::path::PathBuf;

use patchrt::cascade::{
    Alpha, BuildOutcome, CascadeBuilder, Costs, Example, Outcome, Rule, Stage, ValidationTable,
};

// §5 worked example from the committed files, and its golden cascade files.
mod worked_example;
// §4 properties 1-6 on seeded random instances, every rule, safeguard on and off.
mod properties;
// Brute-force DP optimum (n ≤ 10, m ≤ 3) and properties 7-10.
mod oracle;
// §3: the per-stage greedy's unbounded ratio, and the safeguard that removes it.
mod counterexample;
// §4 edge cases: one model, identical models, ties, repeats, α = 1, n = 0.
mod edge_cases;
// Round trips of the three file formats and the executor's decision rule.
mod formats;
// Bad input: one typed error per kind.
mod bad_input;
// Brute-force candidate enumeration and the step-by-step greedy check.
mod naive;

/// A small deterministic PRNG (SplitMix64), so every instance is reproducible
/// from its seed.
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5DEE_CE66_D1CE_5EED)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }

    /// Uniform index below `n`.
    pub fn index(&mut self, n: usize) -> usize {
        self.range(0, n as u64 - 1) as usize
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Uniform in `[0, 1)`, an exact `f32` (24 random bits).
    pub fn unit(&mut self) -> f64 {
        f64::from(self.unit_f32())
    }

    /// Uniform `f32` in `[0, 1)` with 24 random bits.
    pub fn unit_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Fisher-Yates shuffle.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.index(i + 1);
            v.swap(i, j);
        }
    }
}

/// A table, its costs and the reference resolution.
#[derive(Debug, Clone)]
pub struct Instance {
    /// The validation table.
    pub table: ValidationTable,
    /// Model costs.
    pub costs: Costs,
    /// Reference resolution.
    pub reference: u32,
}

/// α = n/d.
pub fn alpha(n: u64, d: u64) -> Alpha {
    Alpha::new(n, d).unwrap()
}

/// A table from `rows[i][j] = (confidence, correct)`, models in `resolutions`
/// order, class 0 everywhere, ids `e0`, `e1`, ...
pub fn table(resolutions: &[u32], rows: &[Vec<(f32, bool)>]) -> ValidationTable {
    let examples = rows
        .iter()
        .enumerate()
        .map(|(i, row)| Example {
            id: Some(format!("e{i}")),
            results: resolutions
                .iter()
                .zip(row)
                .map(|(&resolution, &(confidence, correct))| Outcome {
                    resolution,
                    class: u32::from(!correct),
                    confidence,
                    correct,
                })
                .collect(),
        })
        .collect();
    ValidationTable::new(resolutions.to_vec(), examples).unwrap()
}

/// Costs in MACs (millions).
pub fn costs(pairs: &[(u32, u64)]) -> Costs {
    Costs::new("mmacs", pairs.iter().copied()).unwrap()
}

/// Builds with the given options; panics on error.
pub fn build(inst: &Instance, alpha: Alpha, rule: Rule, safeguard: bool) -> BuildOutcome {
    CascadeBuilder::new(inst.reference)
        .alpha(alpha)
        .rule(rule)
        .safeguard(safeguard)
        .build_detailed(&inst.table, &inst.costs)
        .unwrap()
}

/// A file under `tests/data/cascade/`.
pub fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("data/cascade")
        .join(name)
}

/// `(confidence, correct)` of the model at `resolution` on every example.
pub fn column(table: &ValidationTable, resolution: u32) -> Vec<(f32, bool)> {
    table
        .examples()
        .iter()
        .map(|e| {
            let o = e
                .results
                .iter()
                .find(|o| o.resolution == resolution)
                .unwrap();
            (o.confidence, o.correct)
        })
        .collect()
}

/// What a cascade does on a table, recomputed by plain loops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Naive {
    /// Per example, the stage that answers it.
    pub stop: Vec<usize>,
    /// Correct answers.
    pub correct: usize,
    /// Total cost with reuse, costs taken from the cost map.
    pub total: u64,
    /// Examples per stage.
    pub answered: Vec<usize>,
}

/// Replays `stages` on `inst` without the runtime's replay.
pub fn naive_replay(inst: &Instance, stages: &[Stage]) -> Naive {
    let mut out = Naive {
        stop: Vec::new(),
        correct: 0,
        total: 0,
        answered: vec![0; stages.len()],
    };
    for example in inst.table.examples() {
        // This example's (confidence, correct) at each stage's model.
        let at: Vec<(f32, bool)> = stages
            .iter()
            .map(|s| {
                let o = example
                    .results
                    .iter()
                    .find(|o| o.resolution == s.resolution)
                    .unwrap();
                (o.confidence, o.correct)
            })
            .collect();
        let stop = (0..stages.len())
            .find(|&k| stages[k].threshold.is_none_or(|t| at[k].0 >= t))
            .unwrap();
        for k in 0..=stop {
            let repeated = stages[..k]
                .iter()
                .any(|p| p.resolution == stages[k].resolution);
            if !repeated {
                out.total += inst.costs.get(stages[k].resolution).unwrap();
            }
        }
        out.correct += usize::from(at[stop].1);
        out.answered[stop] += 1;
        out.stop.push(stop);
    }
    out
}

/// How the random instances draw confidences and correctness.
#[derive(Debug, Clone, Copy)]
pub enum Style {
    /// Confidences on a coarse grid (many ties), correctness independent.
    CoarseIndependent,
    /// 24-bit confidences, correctness independent.
    FineIndependent,
    /// Correct with probability equal to the confidence.
    Calibrated,
    /// Each example has a difficulty; a model is right on the examples below
    /// its ability (with some noise) and more confident on easier ones.
    Difficulty,
    /// As `Difficulty` without noise in correctness, confidences on a grid.
    Nested,
}

/// A confidence on a grid of `levels` steps, or with 24 bits when `levels` is 0.
fn quantize(x: f64, levels: u64) -> f32 {
    let x = x.clamp(0.0, 1.0);
    match levels {
        0 => x as f32,
        l => ((x * l as f64).round() / l as f64) as f32,
    }
}

/// A random instance with `n` examples and `m` models (m ≤ 5).
pub fn random_instance(rng: &mut Rng, n: usize, m: usize) -> Instance {
    let mut pool = [224u32, 192, 160, 128, 96];
    rng.shuffle(&mut pool);
    let resolutions = &pool[..m];
    // Weighted towards the structured styles, where cascades have several stages.
    let style = [
        Style::CoarseIndependent,
        Style::FineIndependent,
        Style::Calibrated,
        Style::Difficulty,
        Style::Difficulty,
        Style::Nested,
        Style::Nested,
        Style::Nested,
    ][rng.index(8)];
    let levels = [2u64, 3, 5, 10][rng.index(4)];
    // Most instances look like the real problem: accuracy and cost grow
    // with resolution, and the largest resolution is the reference.
    let realistic = rng.chance(0.6);
    let ability: Vec<f64> = resolutions
        .iter()
        .map(|&r| match realistic {
            true => 0.45 + 0.45 * f64::from(r - 96) / 128.0 + 0.1 * (rng.unit() - 0.5),
            false => 0.3 + 0.65 * rng.unit(),
        })
        .collect();
    let rows: Vec<Vec<(f32, bool)>> = (0..n)
        .map(|_| {
            let difficulty = rng.unit();
            (0..m)
                .map(|j| match style {
                    Style::CoarseIndependent => (
                        rng.range(0, levels) as f32 / levels as f32,
                        rng.chance(ability[j]),
                    ),
                    Style::FineIndependent => (rng.unit_f32(), rng.chance(ability[j])),
                    Style::Calibrated => {
                        let score = rng.unit_f32();
                        (score, rng.chance(f64::from(score)))
                    }
                    Style::Difficulty => (
                        quantize(1.0 - difficulty + 0.4 * (rng.unit() - 0.5), 0),
                        difficulty < ability[j] + 0.2 * (rng.unit() - 0.5),
                    ),
                    Style::Nested => (
                        quantize(1.0 - difficulty + 0.2 * (rng.unit() - 0.5), levels * 4),
                        difficulty < ability[j],
                    ),
                })
                .collect()
        })
        .collect();
    let table = table(resolutions, &rows);
    let cost_style = if realistic { 0 } else { rng.index(3) };
    let pairs: Vec<(u32, u64)> = resolutions
        .iter()
        .map(|&r| {
            let c = match cost_style {
                // MobileNetV2 MACs by resolution.
                0 => match r {
                    224 => 300,
                    192 => 221,
                    160 => 154,
                    128 => 99,
                    _ => 56,
                },
                // Few distinct values, so ratios tie.
                1 => 10 * rng.range(1, 3),
                _ => rng.range(1, 200),
            };
            (r, c)
        })
        .collect();
    Instance {
        table,
        costs: costs(&pairs),
        // Usually the most able model, as in practice; sometimes any.
        reference: if realistic {
            *resolutions.iter().max().unwrap()
        } else if rng.chance(0.5) {
            let best = (0..m)
                .max_by(|&a, &b| ability[a].total_cmp(&ability[b]))
                .unwrap();
            resolutions[best]
        } else {
            resolutions[rng.index(m)]
        },
    }
}

/// The α values the random tests draw from.
pub fn alphas() -> Vec<Alpha> {
    [(0, 1), (1, 20), (1, 10), (1, 4), (1, 2), (1, 1)]
        .iter()
        .map(|&(n, d)| alpha(n, d))
        .collect()
}

/// Every rule.
pub const RULES: [Rule; 3] = [Rule::PerStage, Rule::GlobalBudget, Rule::Static];

//! Spec §4 properties 1–6 on seeded random instances: every rule, several α,
//! safeguard on and off.

use patchrt::cascade::{Alpha, Cascade, CascadeBuilder, Costs, Rule, Stage, ValidationTable};

use super::naive::check_greedy;
use super::{Instance, RULES, Rng, alphas, build, column, naive_replay, random_instance};

/// Instances per test; each is built under 3 rules × 2 safeguard settings.
const INSTANCES: u64 = 1000;

/// `(n, m)` of an instance: from tiny to 80 examples, mostly several models.
fn size(rng: &mut Rng) -> (usize, usize) {
    let n = match rng.index(10) {
        0 | 1 => rng.range(1, 8),
        2..=6 => rng.range(9, 30),
        _ => rng.range(31, 80),
    };
    let m = if rng.chance(0.1) { 1 } else { rng.range(2, 5) };
    (n as usize, m as usize)
}

fn instance(seed: u64) -> (Instance, Alpha) {
    let mut rng = Rng::new(seed);
    let (n, m) = size(&mut rng);
    let inst = random_instance(&mut rng, n, m);
    // Small α more often: large ones let one cheap model answer everything.
    let all = alphas();
    let a = if rng.chance(0.4) {
        Alpha::ZERO
    } else {
        all[rng.index(all.len())]
    };
    (inst, a)
}

/// Properties 1–4 on one built cascade (and its greedy-only stages).
fn check_one(inst: &Instance, a: Alpha, rule: Rule, safeguard: bool) {
    let out = build(inst, a, rule, safeguard);
    let cascade = &out.cascade;
    let stages = cascade.stages();
    let n = inst.table.len();
    let ctx = format!("{rule} alpha {a} safeguard {safeguard}: {cascade}");

    // 1. Shape.
    assert!(!stages.is_empty(), "{ctx}");
    assert_eq!(stages.last().unwrap().threshold, None, "{ctx}");
    assert!(
        stages[..stages.len() - 1]
            .iter()
            .all(|s| s.threshold.is_some()),
        "{ctx}"
    );
    let naive = naive_replay(inst, stages);
    assert!(
        naive.answered.iter().all(|&c| c >= 1),
        "{ctx}: {:?}",
        naive.answered
    );

    // 2. Replay: builder's summary = runtime replay = plain-loop replay.
    let summary = cascade.validation().unwrap();
    let replay = cascade.replay(&inst.table).unwrap();
    assert_eq!(summary.examples, n);
    assert_eq!(
        (summary.correct, summary.total_cost),
        (replay.correct, replay.total_cost),
        "{ctx}"
    );
    assert_eq!(
        summary.answered_per_stage, replay.answered_per_stage,
        "{ctx}"
    );
    assert_eq!(
        (replay.correct, replay.total_cost),
        (naive.correct, naive.total),
        "{ctx}"
    );
    assert_eq!(replay.answered_per_stage, naive.answered, "{ctx}");
    assert_eq!(replay.stop_stage, naive.stop, "{ctx}");
    assert_eq!(
        replay.cost_per_example.iter().sum::<u64>(),
        replay.total_cost
    );
    let greedy_naive = naive_replay(inst, &out.greedy_stages);
    assert_eq!(out.greedy_summary.total_cost, greedy_naive.total, "{ctx}");
    assert_eq!(out.greedy_summary.correct, greedy_naive.correct, "{ctx}");
    assert_eq!(
        out.greedy_summary.answered_per_stage, greedy_naive.answered,
        "{ctx}"
    );

    // The cascade file reproduces the cascade bit for bit.
    let reread = Cascade::from_json(&cascade.to_json()).unwrap();
    assert_eq!(&reread, cascade);

    // 3. Accuracy.
    let reference = column(&inst.table, inst.reference);
    let reference_correct = reference.iter().filter(|r| r.1).count();
    assert_eq!(summary.reference_correct, reference_correct);
    let (num, den) = (a.numerator() as i128, a.denominator() as i128);
    if rule != Rule::Static {
        assert!(
            summary.correct as i128 * den >= reference_correct as i128 * den - num * n as i128,
            "{ctx}: {} vs reference {reference_correct}",
            summary.correct
        );
    }
    if rule == Rule::PerStage {
        for (k, stage) in stages.iter().enumerate() {
            let col = column(&inst.table, stage.resolution);
            let hk: Vec<usize> = (0..n).filter(|&i| naive.stop[i] == k).collect();
            let zj = hk.iter().filter(|&&i| col[i].1).count() as i128;
            let zr = hk.iter().filter(|&&i| reference[i].1).count() as i128;
            assert!(
                (zj - zr) * den >= -num * hk.len() as i128,
                "{ctx}: stage {k}"
            );
        }
    }

    // 4. Cost: C̄ ≤ c_r and C̄ ≥ c_{j1}.
    let c_r = inst.costs.get(inst.reference).unwrap();
    assert!(summary.total_cost <= c_r * n as u64, "{ctx}");
    assert!(summary.total_cost >= stages[0].cost * n as u64, "{ctx}");

    // Safeguard: the cheaper of the greedy and the best allowed single model.
    let single = inst
        .table
        .resolutions()
        .iter()
        .filter(|&&r| {
            let zj = column(&inst.table, r).iter().filter(|x| x.1).count() as i128;
            (zj - reference_correct as i128) * den >= -num * n as i128
        })
        .map(|&r| inst.costs.get(r).unwrap() * n as u64)
        .min()
        .unwrap();
    let expected = if safeguard {
        out.greedy_summary.total_cost.min(single)
    } else {
        out.greedy_summary.total_cost
    };
    assert_eq!(summary.total_cost, expected, "{ctx}");
    assert_eq!(
        out.safeguard_applied,
        summary.total_cost < out.greedy_summary.total_cost
    );
    if !out.safeguard_applied {
        assert_eq!(stages, &out.greedy_stages[..], "{ctx}");
    }
}

#[test]
fn shape_replay_accuracy_and_cost_bounds_on_random_instances() {
    for seed in 0..INSTANCES {
        let (inst, a) = instance(seed);
        for rule in RULES {
            for safeguard in [true, false] {
                check_one(&inst, a, rule, safeguard);
            }
        }
    }
}

#[test]
fn every_greedy_step_is_the_best_brute_force_candidate() {
    let mut stages = [0usize; 8];
    for seed in 0..INSTANCES {
        let (inst, a) = instance(seed);
        for rule in RULES {
            let out = build(&inst, a, rule, false);
            check_greedy(&inst, rule, a, out.cascade.stages());
            stages[out.cascade.stages().len().min(7)] += 1;
        }
    }
    eprintln!("greedy cascades by number of stages (0..=7+): {stages:?}");
}

/// The same table with its examples in another order.
fn shuffled(table: &ValidationTable, rng: &mut Rng) -> ValidationTable {
    let mut examples = table.examples().to_vec();
    rng.shuffle(&mut examples);
    ValidationTable::new(table.resolutions().to_vec(), examples).unwrap()
}

/// The same stages, thresholds compared bit for bit.
fn same_stages(a: &[Stage], b: &[Stage], cost_factor: u64) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.resolution == y.resolution
                && x.threshold.map(f32::to_bits) == y.threshold.map(f32::to_bits)
                && x.cost * cost_factor == y.cost
        })
}

#[test]
fn shuffling_examples_or_scaling_costs_leaves_the_cascade_unchanged() {
    for seed in 0..INSTANCES {
        let (inst, a) = instance(seed);
        let mut rng = Rng::new(seed + 1_000_000);
        let factor = rng.range(2, 1000);
        let scaled = Costs::new("scaled", inst.costs.iter().map(|(r, c)| (r, c * factor))).unwrap();
        let permuted = shuffled(&inst.table, &mut rng);
        for rule in RULES {
            for safeguard in [true, false] {
                let builder = CascadeBuilder::new(inst.reference)
                    .alpha(a)
                    .rule(rule)
                    .safeguard(safeguard);
                let base = builder.build(&inst.table, &inst.costs).unwrap();
                let moved = builder.build(&permuted, &inst.costs).unwrap();
                let scaled_build = builder.build(&inst.table, &scaled).unwrap();
                assert!(
                    same_stages(base.stages(), moved.stages(), 1),
                    "{base} vs {moved}"
                );
                assert!(
                    same_stages(base.stages(), scaled_build.stages(), factor),
                    "{base} vs {scaled_build}"
                );
                let (v, w) = (base.validation().unwrap(), moved.validation().unwrap());
                assert_eq!(v, w);
                assert_eq!(
                    scaled_build.validation().unwrap().total_cost,
                    v.total_cost * factor
                );
            }
        }
    }
}

//! Spec §5, reproduced exactly from the committed files
//! `tests/data/cascade/worked_example.{csv,json}` and
//! `worked_example_costs.json`. The golden cascade files beside them are what
//! the builder (and the CLI) must write.

use patchrt::cascade::{
    Alpha, Cascade, CascadeBuilder, Costs, Fraction, Rule, Stage, ValidationTable,
};

use super::naive::{Step, best, candidates};
use super::oracle::{global_optimum, per_stage_optimum};
use super::{Instance, alpha, build, data};

fn instance() -> Instance {
    Instance {
        table: ValidationTable::from_path(&data("worked_example.csv")).unwrap(),
        costs: Costs::from_path(&data("worked_example_costs.json")).unwrap(),
        reference: 224,
    }
}

fn stage(resolution: u32, threshold: Option<f32>, cost: u64) -> Stage {
    Stage {
        resolution,
        threshold,
        cost,
    }
}

fn golden(name: &str) -> String {
    std::fs::read_to_string(data(name)).unwrap()
}

fn report(label: &str, c: &Cascade) {
    let v = c.validation().unwrap();
    eprintln!(
        "worked example, {label}: {c}; answered {:?}; total cost {}; average {} = {}; accuracy {}",
        v.answered_per_stage,
        v.total_cost,
        v.average_cost(),
        v.average_cost().to_f64(),
        v.accuracy()
    );
}

#[test]
fn csv_and_json_tables_are_the_same_table() {
    let json = ValidationTable::from_path(&data("worked_example.json")).unwrap();
    let inst = instance();
    assert_eq!(json, inst.table);
    assert_eq!(inst.table.resolutions(), [96, 160, 224]);
    assert_eq!(inst.table.len(), 10);
    let alone: Vec<usize> = [96, 160, 224]
        .iter()
        .map(|&r| inst.table.correct_count(r).unwrap())
        .collect();
    assert_eq!(alone, [5, 7, 9], "accuracy of each model alone");
    assert_eq!(inst.costs.unit(), "mmacs");
    assert_eq!(
        inst.costs.iter().collect::<Vec<_>>(),
        [(96, 56), (160, 154), (224, 300)]
    );
}

#[test]
fn greedy_steps_pick_the_candidates_of_section_5() {
    let inst = instance();
    let mut step = Step::start(&inst);
    // Step 1: each model's best allowed candidate.
    let all = candidates(&inst, Rule::PerStage, Alpha::ZERO, &step);
    let deepest = |r: u32| {
        all.iter()
            .filter(|c| c.resolution == r)
            .max_by_key(|c| c.answered.len())
            .unwrap()
    };
    assert_eq!(
        (
            deepest(96).threshold,
            deepest(96).answered.len(),
            deepest(96).model_correct
        ),
        (0.91, 4, 4)
    );
    assert_eq!(
        (
            deepest(160).threshold,
            deepest(160).answered.len(),
            deepest(160).model_correct
        ),
        (0.60, 7, 6)
    );
    assert_eq!(deepest(224).answered.len(), 10);
    let first = best(&inst, Rule::PerStage, Alpha::ZERO, &step);
    assert_eq!((first.resolution, first.threshold), (96, 0.91));
    step.apply(&first);
    // Step 2: r96 is free but fails everywhere; r160 at 0.45 answers {4..8}.
    let all = candidates(&inst, Rule::PerStage, Alpha::ZERO, &step);
    assert!(all.iter().all(|c| c.resolution != 96));
    let second = best(&inst, Rule::PerStage, Alpha::ZERO, &step);
    assert_eq!(
        (second.resolution, second.threshold, second.answered.clone()),
        (160, 0.45, vec![4, 5, 6, 7, 8])
    );
    step.apply(&second);
    // Step 3: only r224 is allowed.
    let all = candidates(&inst, Rule::PerStage, Alpha::ZERO, &step);
    assert!(all.iter().all(|c| c.resolution == 224));
}

#[test]
fn alpha_zero_gives_96_then_160_then_224_at_178_4() {
    let inst = instance();
    let out = build(&inst, Alpha::ZERO, Rule::PerStage, true);
    let c = &out.cascade;
    report("alpha 0, per-stage", c);
    assert!(!out.safeguard_applied);
    assert_eq!(c.to_string(), "[(96, ≥0.91), (160, ≥0.45), (224, always)]");
    assert_eq!(
        c.stages(),
        [
            stage(96, Some(0.91), 56),
            stage(160, Some(0.45), 154),
            stage(224, None, 300)
        ]
    );
    let v = c.validation().unwrap();
    assert_eq!(v.answered_per_stage, [4, 5, 1]);
    assert_eq!(v.total_cost, 10 * 56 + 6 * 154 + 300);
    assert_eq!(v.total_cost, 1784);
    assert_eq!(v.average_cost(), Fraction::new(1784, 10));
    assert_eq!(v.average_cost().to_f64(), 178.4);
    assert_eq!(v.accuracy(), Fraction::new(9, 10));
    assert_eq!(v.reference_accuracy(), Fraction::new(9, 10));
    assert_eq!(v.reference_cost, 300);
    let r = c.replay(&inst.table).unwrap();
    assert_eq!(
        (r.correct, r.total_cost, r.answered_per_stage.clone()),
        (9, 1784, vec![4, 5, 1])
    );
    assert_eq!(r.correct_per_stage, [4, 4, 1]);
    assert_eq!(
        r.cost_per_example,
        [56, 56, 56, 56, 210, 210, 210, 210, 210, 510]
    );

    // The brute-force optimum is 178.4 under both the per-stage and the global-only rule.
    assert_eq!(per_stage_optimum(&inst, Alpha::ZERO), 1784);
    assert_eq!(global_optimum(&inst, Alpha::ZERO), 1784);

    // The golden file, byte for byte, and back.
    assert_eq!(c.to_json(), golden("worked_example_cascade.json"));
    assert_eq!(
        &Cascade::from_path(&data("worked_example_cascade.json")).unwrap(),
        c
    );

    // The JSON table gives the same cascade.
    let json = ValidationTable::from_path(&data("worked_example.json")).unwrap();
    assert_eq!(
        &CascadeBuilder::new(224).build(&json, &inst.costs).unwrap(),
        c
    );
}

#[test]
fn alpha_one_tenth_per_stage_gives_the_same_cascade() {
    let inst = instance();
    let a = alpha(1, 10);
    let base = build(&inst, Alpha::ZERO, Rule::PerStage, true).cascade;
    let c = build(&inst, a, Rule::PerStage, true).cascade;
    report("alpha 1/10, per-stage", &c);
    assert_eq!(c.stages(), base.stages());
    assert_eq!(c.validation(), base.validation());
    assert_eq!(c.alpha(), a);
}

#[test]
fn alpha_one_tenth_global_budget_gives_96_then_224_at_146() {
    let inst = instance();
    let a = alpha(1, 10);
    let c = build(&inst, a, Rule::GlobalBudget, true).cascade;
    report("alpha 1/10, global budget", &c);
    assert_eq!(c.to_string(), "[(96, ≥0.6), (224, always)]");
    assert_eq!(
        c.stages(),
        [stage(96, Some(0.60), 56), stage(224, None, 300)]
    );
    let v = c.validation().unwrap();
    assert_eq!(v.answered_per_stage, [7, 3]);
    assert_eq!(v.average_cost(), Fraction::new(1460, 10));
    assert_eq!(v.average_cost().to_f64(), 146.0);
    assert_eq!(v.accuracy(), Fraction::new(8, 10));
    // It equals the brute-force global optimum.
    assert_eq!(global_optimum(&inst, a), 1460);
    assert_eq!(c.to_json(), golden("worked_example_global_alpha_1_10.json"));
    assert_eq!(
        Cascade::from_path(&data("worked_example_global_alpha_1_10.json")).unwrap(),
        c
    );
}

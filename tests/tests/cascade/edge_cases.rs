//! Spec §4 edge cases.

use patchrt::cascade::{
    Alpha, Cascade, CascadeBuilder, Decision, Fraction, Rule, Stage, ValidationTable,
};

use super::{Instance, RULES, Rng, alpha, build, costs, random_instance, table};

fn always(resolution: u32, cost: u64) -> Stage {
    Stage {
        resolution,
        threshold: None,
        cost,
    }
}

/// Every rule, safeguard on and off.
fn every_build(inst: &Instance, a: Alpha) -> Vec<Cascade> {
    RULES
        .iter()
        .flat_map(|&rule| [true, false].map(|s| build(inst, a, rule, s).cascade))
        .collect()
}

#[test]
fn one_model_gives_the_reference_alone() {
    let mut rng = Rng::new(11);
    for _ in 0..50 {
        let n = rng.range(1, 30) as usize;
        let inst = random_instance(&mut rng, n, 1);
        let c_r = inst.costs.get(inst.reference).unwrap();
        let reference_correct = inst.table.correct_count(inst.reference).unwrap();
        for a in super::alphas() {
            for c in every_build(&inst, a) {
                assert_eq!(c.stages(), [always(inst.reference, c_r)]);
                let v = c.validation().unwrap();
                assert_eq!(v.average_cost(), Fraction::new(c_r * n as u64, n as u64));
                assert_eq!(v.correct, reference_correct);
            }
        }
    }
}

#[test]
fn identical_correctness_and_a_unique_cheapest_model_gives_that_model_alone() {
    let mut rng = Rng::new(12);
    for _ in 0..50 {
        let n = rng.range(1, 30) as usize;
        let resolutions = [224, 160, 96];
        let rows: Vec<Vec<(f32, bool)>> = (0..n)
            .map(|_| {
                let right = rng.chance(0.7);
                (0..3).map(|_| (rng.unit_f32(), right)).collect()
            })
            .collect();
        let inst = Instance {
            table: table(&resolutions, &rows),
            costs: costs(&[(224, 300), (160, 154), (96, 56)]),
            reference: 224,
        };
        for c in every_build(&inst, Alpha::ZERO) {
            assert_eq!(c.stages(), [always(96, 56)]);
            assert_eq!(
                c.validation().unwrap().average_cost(),
                Fraction::new(56 * n as u64, n as u64)
            );
        }
    }
}

#[test]
fn a_strictly_cheapest_reference_is_used_alone() {
    let mut rng = Rng::new(13);
    for _ in 0..100 {
        let n = rng.range(1, 20) as usize;
        let m = rng.range(2, 5) as usize;
        let inst = random_instance(&mut rng, n, m);
        let c_r = inst.costs.get(inst.reference).unwrap();
        if inst
            .costs
            .iter()
            .any(|(r, c)| r != inst.reference && c <= c_r)
        {
            continue;
        }
        let a = super::alphas()[rng.index(6)];
        for c in every_build(&inst, a) {
            assert_eq!(c.stages(), [always(inst.reference, c_r)]);
        }
    }
}

#[test]
fn constant_score_model_answers_all_of_the_rest_or_nothing() {
    // 96 is never confident (constant 0.5): its only candidate is "answer
    // every unanswered example". 160 handles e0 and e1 first.
    let rows = |ninety_six_right_on_e2: bool| {
        vec![
            vec![(0.9, true), (0.5, true), (0.5, true)],
            vec![(0.9, true), (0.5, true), (0.5, true)],
            vec![(0.1, false), (0.5, ninety_six_right_on_e2), (0.5, true)],
            vec![(0.1, false), (0.5, true), (0.5, true)],
        ]
    };
    let costs = costs(&[(160, 20), (96, 10), (224, 100)]);
    // Right on every example: 96 answers everything, at once.
    let inst = Instance {
        table: table(&[160, 96, 224], &rows(true)),
        costs: costs.clone(),
        reference: 224,
    };
    let c = build(&inst, Alpha::ZERO, Rule::PerStage, false).cascade;
    assert_eq!(c.stages(), [always(96, 10)]);
    // Wrong on e2 where the reference is right: 96 never passes on any U
    // that contains e2, and e2 is in every U until something answers it.
    let inst = Instance {
        table: table(&[160, 96, 224], &rows(false)),
        costs,
        reference: 224,
    };
    let out = build(&inst, Alpha::ZERO, Rule::PerStage, false);
    assert!(
        out.cascade.stages().iter().all(|s| s.resolution != 96),
        "{}",
        out.cascade
    );
    assert_eq!(
        out.cascade.stages(),
        [
            Stage {
                resolution: 160,
                threshold: Some(0.9),
                cost: 20
            },
            always(224, 100)
        ]
    );
}

#[test]
fn always_wrong_model_confident_where_the_reference_fails_goes_first() {
    // n = 10, the reference is wrong on W = {0, 1, 2}; model 96 is always
    // wrong but confident exactly on W: |W|/c_j = 3/10 > n/c_r = 10/100.
    let rows: Vec<Vec<(f32, bool)>> = (0..10)
        .map(|i| {
            if i < 3 {
                vec![(0.9, false), (0.7, false)]
            } else {
                vec![(0.1, false), (0.7, true)]
            }
        })
        .collect();
    let inst = Instance {
        table: table(&[96, 224], &rows),
        costs: costs(&[(96, 10), (224, 100)]),
        reference: 224,
    };
    for safeguard in [true, false] {
        let c = build(&inst, Alpha::ZERO, Rule::PerStage, safeguard).cascade;
        assert_eq!(
            c.stages(),
            [
                Stage {
                    resolution: 96,
                    threshold: Some(0.9),
                    cost: 10
                },
                always(224, 100)
            ]
        );
        let v = c.validation().unwrap();
        assert_eq!((v.correct, v.reference_correct), (7, 7), "Acc = Acc(r)");
        assert_eq!(v.total_cost, 10 * 10 + 7 * 100);
    }
}

#[test]
fn a_threshold_takes_the_whole_tied_group() {
    // 96 ties at 0.8 on e0..e2 and is wrong on e2 where the reference is
    // right: the group fails as a whole although e0, e1 alone would pass.
    let tie = |e2_right: bool| -> Vec<Vec<(f32, bool)>> {
        vec![
            vec![(0.8, true), (0.6, true)],
            vec![(0.8, true), (0.6, true)],
            vec![(0.8, e2_right), (0.6, true)],
            vec![(0.2, false), (0.6, true)],
        ]
    };
    let c = costs(&[(96, 10), (224, 100)]);
    let inst = Instance {
        table: table(&[96, 224], &tie(false)),
        costs: c.clone(),
        reference: 224,
    };
    let out = build(&inst, Alpha::ZERO, Rule::PerStage, false);
    assert_eq!(out.cascade.stages(), [always(224, 100)]);
    let inst = Instance {
        table: table(&[96, 224], &tie(true)),
        costs: c,
        reference: 224,
    };
    let out = build(&inst, Alpha::ZERO, Rule::PerStage, false);
    assert_eq!(
        out.cascade.stages(),
        [
            Stage {
                resolution: 96,
                threshold: Some(0.8),
                cost: 10
            },
            always(224, 100)
        ]
    );
    assert_eq!(out.cascade.validation().unwrap().answered_per_stage, [3, 1]);
}

#[test]
fn a_repeated_model_costs_nothing_and_is_taken_at_once() {
    // 96 (cost 10) passes on e0 only at first; 128 (cost 40) then takes e1,
    // where 96 is wrong; 96 is free and passes on e2: ratio +∞.
    let rows = vec![
        vec![(0.9, true), (0.1, false), (0.5, true)],
        vec![(0.8, false), (0.9, true), (0.5, true)],
        vec![(0.7, true), (0.1, false), (0.5, true)],
    ];
    let inst = Instance {
        table: table(&[96, 128, 224], &rows),
        costs: costs(&[(96, 10), (128, 40), (224, 100)]),
        reference: 224,
    };
    let out = build(&inst, Alpha::ZERO, Rule::PerStage, true);
    let c = &out.cascade;
    assert!(!out.safeguard_applied);
    assert_eq!(
        c.stages(),
        [
            Stage {
                resolution: 96,
                threshold: Some(0.9),
                cost: 10
            },
            Stage {
                resolution: 128,
                threshold: Some(0.9),
                cost: 40
            },
            always(96, 10),
        ]
    );
    assert_eq!(c.stage_costs(), [10, 40, 0]);
    let r = c.replay(&inst.table).unwrap();
    assert_eq!(r.cost_per_example, [10, 50, 50]);
    assert_eq!((r.correct, r.total_cost), (3, 110));
    assert_eq!(c.decide(1, 0.5), Decision::Escalate);
    assert_eq!(c.decide(2, 0.0), Decision::Answer);
}

#[test]
fn alpha_one_lets_a_cheapest_model_answer_everything() {
    let mut rng = Rng::new(14);
    for _ in 0..100 {
        let n = rng.range(1, 30) as usize;
        let m = rng.range(1, 5) as usize;
        let inst = random_instance(&mut rng, n, m);
        let cheapest = inst.costs.iter().map(|(_, c)| c).min().unwrap();
        for rule in RULES {
            let c = build(&inst, alpha(1, 1), rule, false).cascade;
            assert_eq!(c.stages().len(), 1, "{c}");
            assert_eq!(c.stages()[0].cost, cheapest);
            assert_eq!(c.validation().unwrap().total_cost, cheapest * n as u64);
        }
    }
}

#[test]
fn zero_examples_give_the_reference_alone() {
    let t = ValidationTable::new(vec![224, 96], Vec::new()).unwrap();
    let c = costs(&[(224, 300), (96, 56)]);
    for rule in RULES {
        for safeguard in [true, false] {
            let out = CascadeBuilder::new(224)
                .rule(rule)
                .safeguard(safeguard)
                .build_detailed(&t, &c)
                .unwrap();
            assert_eq!(out.cascade.stages(), [always(224, 300)]);
            assert!(!out.safeguard_applied);
            let v = out.cascade.validation().unwrap();
            assert_eq!((v.examples, v.correct, v.total_cost), (0, 0, 0));
            assert_eq!(v.answered_per_stage, [0]);
            let r = out.cascade.replay(&t).unwrap();
            assert_eq!((r.examples, r.correct, r.total_cost), (0, 0, 0));
            assert!(r.average_cost().to_f64().is_nan());
            let file = out.cascade.to_json();
            assert!(file.contains("\"average_cost_value\": null"), "{file}");
            assert_eq!(Cascade::from_json(&file).unwrap(), out.cascade);
        }
    }
}

//! Spec §3: under the per-stage rule the greedy has no constant bound.
//!
//! Models D (cost 4), A (cost 10) and the reference R (cost c_r). Examples
//! {0,1}: D and A right, R wrong; {2}: A and R right, D wrong; {3,4}: only R
//! right. D scores 0.9 / 0.5 / 0.1 on these groups, A 0.8 everywhere. The
//! optimum is "A answers all" (average 10); the greedy takes D at 0.5 first,
//! spending A's wins, so {3,4} go to R: average 44 at c_r = 100 (4.4×) and
//! 404 at c_r = 1000 (40.4×). The safeguard returns "A answers all".

use patchrt::cascade::{Alpha, Fraction, Rule, Stage};

use super::oracle::per_stage_optimum;
use super::{Instance, build, costs, table};

const D: u32 = 96;
const A: u32 = 128;
const R: u32 = 224;

fn instance(c_r: u64) -> Instance {
    // (D, A, R) per example.
    let rows = [
        [(0.9, true), (0.8, true), (0.5, false)],
        [(0.9, true), (0.8, true), (0.5, false)],
        [(0.5, false), (0.8, true), (0.5, true)],
        [(0.1, false), (0.8, false), (0.5, true)],
        [(0.1, false), (0.8, false), (0.5, true)],
    ];
    let rows: Vec<Vec<(f32, bool)>> = rows.iter().map(|r| r.to_vec()).collect();
    Instance {
        table: table(&[D, A, R], &rows),
        costs: costs(&[(D, 4), (A, 10), (R, c_r)]),
        reference: R,
    }
}

fn check(c_r: u64, average: Fraction, ratio: Fraction) {
    let inst = instance(c_r);
    let out = build(&inst, Alpha::ZERO, Rule::PerStage, false);
    let stages = out.cascade.stages();
    assert_eq!(
        stages,
        [
            Stage {
                resolution: D,
                threshold: Some(0.5),
                cost: 4
            },
            Stage {
                resolution: R,
                threshold: None,
                cost: c_r
            },
        ]
    );
    let v = out.cascade.validation().unwrap();
    assert_eq!(v.answered_per_stage, [3, 2]);
    assert_eq!(
        v.average_cost().cmp_value(average),
        Some(std::cmp::Ordering::Equal)
    );

    let optimum = per_stage_optimum(&inst, Alpha::ZERO);
    assert_eq!(optimum, 5 * 10, "A answers all");
    let got = Fraction::new(v.total_cost, optimum);
    assert_eq!(
        got.cmp_value(ratio),
        Some(std::cmp::Ordering::Equal),
        "ratio {got}"
    );
    eprintln!(
        "§3 counterexample, c_r = {c_r}: greedy {} = {} per example, optimum 10, ratio {:.1}x",
        out.cascade,
        v.average_cost().to_f64(),
        got.to_f64()
    );

    // The safeguard removes the trap.
    let safe = build(&inst, Alpha::ZERO, Rule::PerStage, true);
    assert!(safe.safeguard_applied);
    assert_eq!(
        safe.cascade.stages(),
        [Stage {
            resolution: A,
            threshold: None,
            cost: 10
        }]
    );
    assert_eq!(safe.cascade.validation().unwrap().total_cost, optimum);
    assert_eq!(safe.cascade.validation().unwrap().correct, 3);
}

#[test]
fn per_stage_greedy_is_4_4x_the_optimum_at_reference_cost_100() {
    check(100, Fraction::new(44, 1), Fraction::new(44, 10));
}

#[test]
fn per_stage_greedy_is_40_4x_the_optimum_at_reference_cost_1000() {
    check(1000, Fraction::new(404, 1), Fraction::new(404, 10));
}

#[test]
fn static_mode_is_cheaper_here_but_misses_the_accuracy_target() {
    // D at 0.5 passes on its full-set answers {0,1,2}; then "A answers all"
    // passes on the full set, so A takes {3,4}, where it is wrong.
    let inst = instance(100);
    let c = build(&inst, Alpha::ZERO, Rule::Static, false).cascade;
    assert_eq!(
        c.stages(),
        [
            Stage {
                resolution: D,
                threshold: Some(0.5),
                cost: 4
            },
            Stage {
                resolution: A,
                threshold: None,
                cost: 10
            },
        ]
    );
    let v = c.validation().unwrap();
    assert_eq!(v.total_cost, 5 * 4 + 2 * 10);
    assert_eq!(
        (v.correct, v.reference_correct),
        (2, 3),
        "static mode does not guarantee accuracy"
    );
}

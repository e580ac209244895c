//! Round trips of the validation table (JSON, CSV), the cost file and the
//! cascade file, and the executor's decision rule.

use patchrt::cascade::{
    Alpha, Cascade, CascadeError, Costs, Decision, Example, Outcome, Rule, Stage, ValidationTable,
};

use super::{Rng, alpha, costs, data, random_instance};

/// A finite `f32` from random bits: any exponent, subnormals included.
fn any_finite(rng: &mut Rng) -> f32 {
    loop {
        let x = f32::from_bits(rng.next_u64() as u32);
        if x.is_finite() {
            return x;
        }
    }
}

#[test]
fn tables_round_trip_through_json_and_csv_bit_exactly() {
    let mut rng = Rng::new(21);
    for round in 0..60 {
        let n = rng.range(0, 25) as usize;
        let m = rng.range(1, 5) as usize;
        let mut table = random_instance(&mut rng, n, m).table;
        if round % 2 == 1 {
            // Awkward confidences: every exponent, negative values, subnormals.
            let examples: Vec<Example> = table
                .examples()
                .iter()
                .map(|e| Example {
                    id: e.id.clone(),
                    results: e
                        .results
                        .iter()
                        .map(|o| Outcome {
                            confidence: any_finite(&mut rng),
                            ..*o
                        })
                        .collect(),
                })
                .collect();
            table = ValidationTable::new(table.resolutions().to_vec(), examples).unwrap();
        }
        let from_json = ValidationTable::from_json(&table.to_json()).unwrap();
        assert_eq!(from_json, table);
        if n > 0 {
            let from_csv = ValidationTable::from_csv(&table.to_csv()).unwrap();
            assert_eq!(from_csv, table);
        }
        for (a, b) in from_json.examples().iter().zip(table.examples()) {
            for (x, y) in a.results.iter().zip(&b.results) {
                assert_eq!(x.confidence.to_bits(), y.confidence.to_bits());
            }
        }
    }
}

#[test]
fn csv_accepts_any_row_order_spacing_crlf_and_boolean_words() {
    let canonical = ValidationTable::from_path(&data("worked_example.csv")).unwrap();
    let text = std::fs::read_to_string(data("worked_example.csv")).unwrap();
    let mut rows: Vec<Vec<&str>> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    // By resolution (stable): all of 96's rows first, then 160's, then 224's.
    rows.sort_by_key(|r| r[1].parse::<u32>().unwrap());
    let mut messy =
        String::from("\u{feff} example , resolution,class ,confidence, correct \r\n\r\n");
    for r in rows {
        let correct = if r[4] == "1" { "True" } else { "FALSE" };
        messy += &format!("{} , {},{} ,{}, {correct}\r\n\n", r[0], r[1], r[2], r[3]);
    }
    assert_eq!(ValidationTable::from_csv(&messy).unwrap(), canonical);
}

#[test]
fn json_table_accepts_results_in_any_order_and_optional_ids() {
    let text = r#"{"resolutions": [224, 96], "examples": [
        {"results": [{"resolution": 96, "class": 1, "confidence": 0.5, "correct": 0},
                     {"resolution": 224, "class": 2, "confidence": 0.25, "correct": 1}]},
        {"id": 7, "extra": "ignored", "results": [
                     {"resolution": 224, "class": 2, "confidence": 1, "correct": true},
                     {"resolution": 96, "class": 2, "confidence": -0.0, "correct": false}]}]}"#;
    let t = ValidationTable::from_json(text).unwrap();
    assert_eq!(t.resolutions(), [224, 96]);
    assert_eq!(t.examples()[0].id, None);
    assert_eq!(t.examples()[1].id.as_deref(), Some("7"));
    let o = t.outcome(0, 1).unwrap();
    assert_eq!(
        (o.resolution, o.class, o.confidence, o.correct),
        (96, 1, 0.5, false)
    );
    assert_eq!(t.outcome(1, 0).unwrap().confidence, 1.0);
    // -0.0 is stored as 0.0.
    assert_eq!(
        t.outcome(1, 1).unwrap().confidence.to_bits(),
        0.0f32.to_bits()
    );
    assert_eq!(t.correct_count(224), Some(2));
    assert_eq!(t.correct_count(128), None);
}

#[test]
fn costs_round_trip() {
    let c = costs(&[(224, 300), (192, 221), (160, 154), (128, 99), (96, 56)]);
    assert_eq!(Costs::from_json(&c.to_json()).unwrap(), c);
    let us = Costs::from_json(r#"{"unit": "us", "costs": {"96": 1200, "224": 4100}}"#).unwrap();
    assert_eq!(
        (us.unit(), us.get(96), us.get(224), us.get(160)),
        ("us", Some(1200), Some(4100), None)
    );
}

#[test]
fn cascade_files_round_trip_thresholds_bit_exactly() {
    let mut rng = Rng::new(22);
    for _ in 0..500 {
        let k = rng.range(1, 5) as usize;
        let stages: Vec<Stage> = (0..k)
            .map(|i| Stage {
                resolution: [224, 192, 160, 128, 96][i],
                threshold: (i + 1 < k).then(|| {
                    if rng.chance(0.5) {
                        any_finite(&mut rng)
                    } else {
                        rng.unit_f32()
                    }
                }),
                cost: rng.range(1, u64::MAX >> 1),
            })
            .collect();
        let rule = [Rule::PerStage, Rule::GlobalBudget, Rule::Static][rng.index(3)];
        let c = Cascade::new(
            224,
            alpha(rng.range(0, 7), 7),
            rule,
            "us \"quoted\"",
            stages,
        )
        .unwrap();
        let back = Cascade::from_json(&c.to_json()).unwrap();
        assert_eq!(back, c);
        for (a, b) in back.stages().iter().zip(c.stages()) {
            assert_eq!(a.threshold.map(f32::to_bits), b.threshold.map(f32::to_bits));
        }
    }
}

#[test]
fn cascade_file_without_validation_reads() {
    let text = r#"{"format": "patchrt.cascade", "version": 1, "reference": 224, "alpha": [1, 20],
        "rule": "global_budget", "cost_unit": "mmacs", "comment": "keys not named are ignored",
        "stages": [{"resolution": 128, "threshold": 0.875, "cost": 99},
                   {"resolution": 224, "threshold": null, "cost": 300}]}"#;
    let c = Cascade::from_json(text).unwrap();
    assert_eq!(
        (c.reference(), c.alpha(), c.rule(), c.cost_unit()),
        (224, alpha(1, 20), Rule::GlobalBudget, "mmacs")
    );
    assert_eq!(c.validation(), None);
    assert_eq!(c.to_string(), "[(128, ≥0.875), (224, always)]");
    assert_eq!(Cascade::from_json(&c.to_json()).unwrap(), c);
}

#[test]
fn decide_answers_at_or_above_the_threshold_and_always_at_the_last_stage() {
    let c = Cascade::from_path(&data("worked_example_cascade.json")).unwrap();
    assert_eq!(c.decide(0, 0.91), Decision::Answer);
    assert_eq!(c.decide(0, 0.9099999), Decision::Escalate);
    assert_eq!(c.decide(0, 1.0), Decision::Answer);
    assert_eq!(c.decide(1, 0.45), Decision::Answer);
    assert_eq!(c.decide(1, 0.44), Decision::Escalate);
    assert_eq!(c.decide(0, f32::NAN), Decision::Escalate);
    assert_eq!(c.decide(2, 0.0), Decision::Answer);
    assert_eq!(c.decide(2, f32::NAN), Decision::Answer);
    assert_eq!(c.decide(2, f32::NEG_INFINITY), Decision::Answer);
    assert_eq!(
        c.decide(99, 0.0),
        Decision::Answer,
        "past the end: nothing to escalate to"
    );
}

#[test]
fn alpha_and_rule_parse_and_print() {
    let parse = |s: &str| s.parse::<Alpha>().unwrap();
    assert_eq!(parse("1/10"), alpha(1, 10));
    assert_eq!(parse(" 2 / 20 "), alpha(2, 20));
    assert_eq!(parse("0.1"), alpha(1, 10));
    assert_eq!(parse("0.05"), alpha(5, 100));
    assert_eq!(parse("0"), alpha(0, 1));
    assert_eq!(parse("1"), alpha(1, 1));
    assert_eq!(parse("1.0"), alpha(10, 10));
    assert_eq!(alpha(1, 10).to_string(), "1/10");
    assert_eq!(Alpha::default(), Alpha::ZERO);
    for rule in [Rule::PerStage, Rule::GlobalBudget, Rule::Static] {
        assert_eq!(rule.to_string().parse::<Rule>().unwrap(), rule);
    }
    assert_eq!(Rule::default(), Rule::PerStage);
    assert!(
        matches!("greedy".parse::<Rule>(), Err(CascadeError::UnknownRule { name }) if name == "greedy")
    );
}

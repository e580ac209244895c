//! Bad input: one typed error per kind, located by example and resolution,
//! CSV line, or JSON line and path.

use patchrt::cascade::{
    Alpha, Cascade, CascadeBuilder, CascadeError, Costs, Document, Example, MismatchSite, Outcome,
    Rule, Stage, ValidationTable,
};

use super::{costs, data};

fn worked_csv() -> String {
    std::fs::read_to_string(data("worked_example.csv")).unwrap()
}

fn worked_json() -> String {
    std::fs::read_to_string(data("worked_example.json")).unwrap()
}

fn table_err(r: Result<ValidationTable, CascadeError>) -> CascadeError {
    match r {
        Ok(t) => panic!("table unexpectedly accepted: {:?}", t.resolutions()),
        Err(e) => e,
    }
}

fn outcome(resolution: u32, confidence: f32) -> Outcome {
    Outcome {
        resolution,
        class: 0,
        confidence,
        correct: true,
    }
}

#[test]
fn a_table_without_models_is_rejected() {
    let e = table_err(ValidationTable::new(vec![], vec![]));
    assert!(matches!(e, CascadeError::NoModels), "{e:?}");
    let e = table_err(ValidationTable::from_json(
        r#"{"resolutions": [], "examples": []}"#,
    ));
    assert!(matches!(e, CascadeError::NoModels), "{e:?}");
    let e = table_err(ValidationTable::from_csv(
        "example,resolution,class,confidence,correct\n",
    ));
    assert!(matches!(e, CascadeError::NoModels), "{e:?}");
    // Models and zero examples are fine (spec: n = 0 gives [(r, always)]).
    assert!(ValidationTable::from_json(r#"{"resolutions": [224], "examples": []}"#).is_ok());
}

#[test]
fn nan_or_infinite_confidence_is_located() {
    let examples = vec![
        Example {
            id: None,
            results: vec![outcome(224, 0.5), outcome(160, 0.5)],
        },
        Example {
            id: None,
            results: vec![outcome(224, 0.5), outcome(160, f32::NAN)],
        },
    ];
    let e = table_err(ValidationTable::new(vec![224, 160], examples));
    assert!(
        matches!(
            e,
            CascadeError::NonFiniteConfidence {
                example: 1,
                resolution: 160
            }
        ),
        "{e:?}"
    );

    for bad in ["NaN", "inf", "-inf"] {
        let text = worked_csv().replace("ex3,160,178,0.60,0", &format!("ex3,160,178,{bad},0"));
        assert_ne!(text, worked_csv());
        let e = table_err(ValidationTable::from_csv(&text));
        assert!(
            matches!(
                e,
                CascadeError::NonFiniteConfidence {
                    example: 3,
                    resolution: 160
                }
            ),
            "{bad}: {e:?}"
        );
    }
    // JSON has no NaN; a number beyond f32 is infinite.
    let text = worked_json().replacen("\"confidence\": 0.85", "\"confidence\": 1e39", 1);
    let e = table_err(ValidationTable::from_json(&text));
    assert!(
        matches!(
            e,
            CascadeError::NonFiniteConfidence {
                example: 4,
                resolution: 96
            }
        ),
        "{e:?}"
    );
}

#[test]
fn mismatched_resolutions_are_rejected() {
    // A JSON example without its 160 result.
    let text = worked_json().replacen(
        r#"{"resolution": 160, "class": 409, "confidence": 0.90, "correct": true}, "#,
        "",
        1,
    );
    assert_ne!(text, worked_json());
    let e = table_err(ValidationTable::from_json(&text));
    match e {
        CascadeError::ResolutionMismatch {
            site: MismatchSite::Example { index: 2, id },
            expected,
            found,
        } => {
            assert_eq!(id.as_deref(), Some("ex2"));
            assert_eq!((expected, found), (vec![96, 160, 224], vec![96, 224]));
        }
        e => panic!("{e:?}"),
    }
    // A result for a resolution the table does not list, and a repeated one.
    for (from, to) in [
        (
            "\"resolution\": 160, \"class\": 409",
            "\"resolution\": 128, \"class\": 409",
        ),
        (
            "\"resolution\": 160, \"class\": 409",
            "\"resolution\": 96, \"class\": 409",
        ),
    ] {
        let e = table_err(ValidationTable::from_json(
            &worked_json().replacen(from, to, 1),
        ));
        assert!(
            matches!(
                &e,
                CascadeError::ResolutionMismatch {
                    site: MismatchSite::Example { index: 2, .. },
                    ..
                }
            ),
            "{e:?}"
        );
    }
    // A CSV example missing a row: every other example has all three.
    let text = worked_csv().replace("ex7,224,340,0.65,1\n", "");
    let e = table_err(ValidationTable::from_csv(&text));
    assert!(
        matches!(&e, CascadeError::ResolutionMismatch { site: MismatchSite::Example { index: 7, .. }, found, .. } if *found == [96, 160]),
        "{e:?}"
    );
    // A CSV row repeated: the second copy's line is reported.
    let text = worked_csv().replace(
        "ex7,224,340,0.65,1\n",
        "ex7,224,340,0.65,1\nex7,224,340,0.65,1\n",
    );
    let e = table_err(ValidationTable::from_csv(&text));
    assert!(
        matches!(&e, CascadeError::Csv { line: 26, message } if message.contains("line 25")),
        "{e:?}"
    );
    // A resolution listed twice in the header of a JSON table.
    let e = table_err(ValidationTable::from_json(
        r#"{"resolutions": [224, 96, 224], "examples": []}"#,
    ));
    assert!(
        matches!(
            e,
            CascadeError::DuplicateResolution {
                document: Document::Table,
                resolution: 224
            }
        ),
        "{e:?}"
    );

    // Costs that miss a table resolution.
    let table = ValidationTable::from_path(&data("worked_example.csv")).unwrap();
    let e = CascadeBuilder::new(224)
        .build(&table, &costs(&[(224, 300), (96, 56)]))
        .unwrap_err();
    match e {
        CascadeError::ResolutionMismatch {
            site: MismatchSite::Costs,
            expected,
            found,
        } => {
            assert_eq!((expected, found), (vec![96, 160, 224], vec![96, 224]));
        }
        e => panic!("{e:?}"),
    }
    // A cascade replayed on a table without one of its resolutions.
    let c = Cascade::from_path(&data("worked_example_cascade.json")).unwrap();
    let small = ValidationTable::new(vec![224, 96], vec![]).unwrap();
    let e = c.replay(&small).unwrap_err();
    assert!(
        matches!(
            e,
            CascadeError::ResolutionMismatch {
                site: MismatchSite::Cascade,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn zero_negative_fractional_or_quoted_costs_are_rejected() {
    for (value, shown) in [
        ("0", "0"),
        ("-5", "-5"),
        ("1.5", "1.5"),
        ("\"300\"", "\"300\""),
    ] {
        let text = format!(r#"{{"unit": "mmacs", "costs": {{"224": 300, "160": {value}}}}}"#);
        let e = Costs::from_json(&text).unwrap_err();
        assert!(
            matches!(&e, CascadeError::InvalidCost { resolution: 160, cost } if cost == shown),
            "{e:?}"
        );
    }
    let e = Costs::new("us", [(224, 300), (96, 0)]).unwrap_err();
    assert!(
        matches!(&e, CascadeError::InvalidCost { resolution: 96, cost } if cost == "0"),
        "{e:?}"
    );
    let e = Costs::new("us", [(224, 300), (224, 200)]).unwrap_err();
    assert!(
        matches!(
            e,
            CascadeError::DuplicateResolution {
                document: Document::Costs,
                resolution: 224
            }
        ),
        "{e:?}"
    );
    let e = Costs::from_json(r#"{"unit": "us", "costs": {"r224": 300}}"#).unwrap_err();
    assert!(
        matches!(&e, CascadeError::Schema { document: Document::Costs, path, .. } if path == "costs.r224"),
        "{e:?}"
    );
    let e = Costs::from_json(r#"{"costs": {"224": 300}}"#).unwrap_err();
    assert!(
        matches!(&e, CascadeError::Schema { path, found, .. } if path == "unit" && found == "nothing"),
        "{e:?}"
    );
}

#[test]
fn unknown_reference_is_rejected() {
    let table = ValidationTable::from_path(&data("worked_example.csv")).unwrap();
    let c = Costs::from_path(&data("worked_example_costs.json")).unwrap();
    let e = CascadeBuilder::new(192).build(&table, &c).unwrap_err();
    assert!(
        matches!(&e, CascadeError::UnknownReference { reference: 192, available } if *available == [96, 160, 224]),
        "{e:?}"
    );
}

#[test]
fn alpha_outside_zero_one_or_malformed_is_rejected() {
    for (n, d) in [(3, 2), (1, 0), (0, 0)] {
        let e = Alpha::new(n, d).unwrap_err();
        assert!(
            matches!(&e, CascadeError::InvalidAlpha { value, .. } if *value == format!("{n}/{d}")),
            "{e:?}"
        );
    }
    for s in [
        "1.5",
        "-0.1",
        "a/b",
        "2/0",
        "1/",
        "",
        "0.1.2",
        "1e-2",
        "0.1234567890123456789",
    ] {
        let e = s.parse::<Alpha>().unwrap_err();
        assert!(
            matches!(&e, CascadeError::InvalidAlpha { value, .. } if value == s),
            "{s}: {e:?}"
        );
    }
}

#[test]
fn malformed_csv_reports_the_line() {
    let csv_err = |text: &str| match table_err(ValidationTable::from_csv(text)) {
        CascadeError::Csv { line, message } => (line, message),
        e => panic!("{e:?}"),
    };
    let (line, _) = csv_err("id,resolution,class,confidence,correct\nex0,224,1,0.5,1\n");
    assert_eq!(line, 1);
    let (line, _) = csv_err("\n\nexample,resolution,class,confidence\n");
    assert_eq!(line, 3, "the first non-blank line is the header");
    let (line, _) = csv_err("");
    assert_eq!(line, 1);
    let base = worked_csv();
    let cases = [
        ("ex2,160,409,0.90,1", "ex2,160,409,0.90", 9, "5 fields"),
        (
            "ex2,160,409,0.90,1",
            "ex2,160,409,0.90,1,extra",
            9,
            "5 fields",
        ),
        ("ex2,160,409,0.90,1", "ex2,r160,409,0.90,1", 9, "resolution"),
        ("ex2,160,409,0.90,1", "ex2,160,-1,0.90,1", 9, "class"),
        ("ex2,160,409,0.90,1", "ex2,160,409,high,1", 9, "confidence"),
        ("ex2,160,409,0.90,1", "ex2,160,409,0.90,yes", 9, "correct"),
        ("ex2,160,409,0.90,1", ",160,409,0.90,1", 9, "id"),
    ];
    for (from, to, want_line, word) in cases {
        let text = base.replace(from, to);
        assert_ne!(text, base);
        let (line, message) = csv_err(&text);
        assert_eq!(line, want_line, "{to}");
        assert!(message.contains(word), "{to}: {message}");
    }
}

#[test]
fn malformed_json_reports_line_and_path() {
    // A syntax error on line 4.
    let text = worked_json().replacen("\"correct\": true}", "\"correct\": true,}", 3);
    let e = table_err(ValidationTable::from_json(&text));
    assert!(
        matches!(
            e,
            CascadeError::Json {
                document: Document::Table,
                line: 4,
                ..
            }
        ),
        "{e:?}"
    );
    let e = table_err(ValidationTable::from_json(
        "{\"resolutions\": [224],\n \"examples\": [\n",
    ));
    assert!(matches!(e, CascadeError::Json { line: 3, .. }), "{e:?}");
    // A mistyped value: its path.
    let text = worked_json().replacen("\"confidence\": 0.95", "\"confidence\": \"0.95\"", 1);
    let e = table_err(ValidationTable::from_json(&text));
    assert!(
        matches!(&e, CascadeError::Schema { document: Document::Table, path, .. } if path == "examples[1].results[0].confidence"),
        "{e:?}"
    );
    let e = table_err(ValidationTable::from_json(r#"{"resolutions": [224]}"#));
    assert!(
        matches!(&e, CascadeError::Schema { path, found, .. } if path == "examples" && found == "nothing"),
        "{e:?}"
    );
    let e = table_err(ValidationTable::from_json(
        r#"{"resolutions": [224.5], "examples": []}"#,
    ));
    assert!(
        matches!(&e, CascadeError::Schema { path, .. } if path == "resolutions[0]"),
        "{e:?}"
    );
    let e = table_err(ValidationTable::from_json("[1, 2]"));
    assert!(
        matches!(&e, CascadeError::Schema { path, .. } if path == "$"),
        "{e:?}"
    );
    let e = Costs::from_json("{\"unit\": \"us\",\n\"costs\": {\"224\": 300,}}").unwrap_err();
    assert!(
        matches!(
            e,
            CascadeError::Json {
                document: Document::Costs,
                line: 2,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn bad_cascade_files_are_rejected() {
    let good = std::fs::read_to_string(data("worked_example_cascade.json")).unwrap();
    let edit = |from: &str, to: &str| {
        let text = good.replacen(from, to, 1);
        assert_ne!(text, good, "{from}");
        Cascade::from_json(&text).unwrap_err()
    };
    let e = edit("\"patchrt.cascade\"", "\"patchrt.patch\"");
    assert!(
        matches!(&e, CascadeError::Schema { document: Document::Cascade, path, .. } if path == "format"),
        "{e:?}"
    );
    let e = edit("\"version\": 1", "\"version\": 2");
    assert!(
        matches!(&e, CascadeError::Schema { path, .. } if path == "version"),
        "{e:?}"
    );
    let e = edit("\"per_stage\"", "\"dynamic\"");
    assert!(
        matches!(&e, CascadeError::Schema { path, .. } if path == "rule"),
        "{e:?}"
    );
    let e = edit("\"alpha\": [0, 1]", "\"alpha\": [3, 2]");
    assert!(matches!(e, CascadeError::InvalidAlpha { .. }), "{e:?}");
    let e = edit("\"alpha\": [0, 1]", "\"alpha\": [0.1]");
    assert!(
        matches!(&e, CascadeError::Schema { path, .. } if path == "alpha"),
        "{e:?}"
    );
    let e = edit("\"threshold\": 0.45", "\"threshold\": null");
    assert!(matches!(e, CascadeError::InvalidCascade { .. }), "{e:?}");
    let e = edit("\"threshold\": null", "\"threshold\": 0.1");
    assert!(matches!(e, CascadeError::InvalidCascade { .. }), "{e:?}");
    let e = edit("\"cost\": 154", "\"cost\": 0");
    assert!(
        matches!(
            e,
            CascadeError::InvalidCost {
                resolution: 160,
                ..
            }
        ),
        "{e:?}"
    );
    let e = edit(
        "\"answered_per_stage\": [4, 5, 1]",
        "\"answered_per_stage\": [4, 6]",
    );
    assert!(matches!(e, CascadeError::InvalidCascade { .. }), "{e:?}");
    let e = edit("\"accuracy\": [9, 10]", "\"accuracy\": [9, 11]");
    assert!(
        matches!(&e, CascadeError::Schema { path, .. } if path == "validation.accuracy"),
        "{e:?}"
    );
    let e = edit("\"threshold\": 0.91", "\"threshold\": \"0.91\"");
    assert!(
        matches!(&e, CascadeError::Schema { path, .. } if path == "stages[0].threshold"),
        "{e:?}"
    );

    let e = Cascade::new(224, Alpha::ZERO, Rule::PerStage, "us", vec![]).unwrap_err();
    assert!(matches!(e, CascadeError::InvalidCascade { .. }), "{e:?}");
    let stages = vec![
        Stage {
            resolution: 96,
            threshold: Some(f32::NAN),
            cost: 56,
        },
        Stage {
            resolution: 224,
            threshold: None,
            cost: 300,
        },
    ];
    let e = Cascade::new(224, Alpha::ZERO, Rule::PerStage, "us", stages).unwrap_err();
    assert!(matches!(e, CascadeError::InvalidCascade { .. }), "{e:?}");
    let stages = vec![
        Stage {
            resolution: 96,
            threshold: Some(0.5),
            cost: 56,
        },
        Stage {
            resolution: 96,
            threshold: None,
            cost: 57,
        },
    ];
    let e = Cascade::new(224, Alpha::ZERO, Rule::PerStage, "us", stages).unwrap_err();
    assert!(matches!(e, CascadeError::InvalidCascade { .. }), "{e:?}");
}

#[test]
fn a_missing_file_is_an_io_error_with_its_path() {
    let e = ValidationTable::from_path(&data("no_such_table.csv")).unwrap_err();
    assert!(
        matches!(&e, CascadeError::Io { path, .. } if path.ends_with("no_such_table.csv")),
        "{e:?}"
    );
}

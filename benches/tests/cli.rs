//! The patchbench binary end to end, on committed inputs (no GPU needed).

use std::path::{Path, PathBuf};
use std::process::Command;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/cascade")
        .join(name)
}

fn patchbench(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_patchbench"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running patchbench: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The spec's worked example (cascade.md section 5), through the CLI.
#[test]
fn cascade_build_reproduces_the_worked_example() {
    let dir = std::env::temp_dir().join(format!("patchbench-cli-{}", std::process::id()));
    let out = dir.join("worked.json");
    let table = data("worked_example.csv");
    let costs = data("worked_example_costs.json");
    let args = [
        "cascade",
        "build",
        "--table",
        table.to_str().unwrap_or(""),
        "--costs",
        costs.to_str().unwrap_or(""),
    ];
    let (ok, text) = patchbench(&[&args[..], &["--out", out.to_str().unwrap_or("")]].concat());
    assert!(ok, "{text}");
    assert!(text.contains("96 >= 0.91"), "{text}");
    assert!(text.contains("160 >= 0.45"), "{text}");
    assert!(text.contains("224 always"), "{text}");
    assert!(text.contains("accuracy 9/10"), "{text}");
    assert!(text.contains("average cost 1784 / 10 = 178.4"), "{text}");

    // The written file replays to the same numbers.
    let (ok, text) = patchbench(&[
        "cascade",
        "eval",
        "--cascade",
        out.to_str().unwrap_or(""),
        "--table",
        table.to_str().unwrap_or(""),
    ]);
    assert!(ok, "{text}");
    assert!(text.contains("average cost 1784 / 10 = 178.4"), "{text}");

    // The global-budget variant with alpha = 1/10.
    let global = dir.join("global.json");
    let (ok, text) = patchbench(
        &[
            &args[..],
            &[
                "--alpha",
                "1/10",
                "--rule",
                "global-budget",
                "--out",
                global.to_str().unwrap_or(""),
            ],
        ]
        .concat(),
    );
    assert!(ok, "{text}");
    assert!(text.contains("96 >= 0.6"), "{text}");
    assert!(text.contains("average cost 1460 / 10 = 146.0"), "{text}");
    assert!(text.contains("accuracy 8/10"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_cascade_inputs_fail_with_a_message() {
    let (ok, text) = patchbench(&[
        "cascade",
        "build",
        "--table",
        "/nonexistent.csv",
        "--costs",
        "/nonexistent.json",
        "--out",
        "/tmp/x.json",
    ]);
    assert!(!ok);
    assert!(text.contains("nonexistent.csv"), "{text}");
    let table = data("worked_example.csv");
    let costs = data("worked_example_costs.json");
    let (ok, text) = patchbench(&[
        "cascade",
        "build",
        "--table",
        table.to_str().unwrap_or(""),
        "--costs",
        costs.to_str().unwrap_or(""),
        "--alpha",
        "3/2",
        "--out",
        "/tmp/x.json",
    ]);
    assert!(!ok, "{text}");
}

//! `patchbench cascade ...`: calibrate (validation table), build and evaluate.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use patchrt::cascade::{Alpha, Cascade, CascadeBuilder, Costs, Rule, ValidationTable};

/// Cascade subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum CascadeCommand {
    /// Run a model at every resolution on labelled photos and write a validation table.
    Table(crate::table::TableArgs),
    /// Build a cascade from a validation table and per-resolution costs.
    Build(BuildArgs),
    /// Replay a cascade on a validation table.
    Eval(EvalArgs),
    /// Write a model's multiply-adds per resolution as a costs file.
    Macs(MacsArgs),
}

/// Arguments of `patchbench cascade macs`.
#[derive(clap::Args, Debug)]
pub struct MacsArgs {
    /// Backbone file.
    #[arg(long)]
    backbone: PathBuf,
    /// Resolutions (comma separated).
    #[arg(long, value_delimiter = ',', default_values_t = [224, 192, 160, 128, 96])]
    resolutions: Vec<u32>,
    /// Output costs file (JSON).
    #[arg(long)]
    out: PathBuf,
}

/// Arguments of `patchbench cascade build`.
#[derive(clap::Args, Debug)]
pub struct BuildArgs {
    /// Validation table (JSON or CSV, see docs/cascade-formats.md).
    #[arg(long)]
    table: PathBuf,
    /// Costs: a costs JSON, or a `patchbench --json` report (its p50 latencies, in µs).
    #[arg(long)]
    costs: PathBuf,
    /// Accuracy tolerance α as a fraction `N/D` or an exact decimal (0 = no loss).
    #[arg(long, default_value = "0")]
    alpha: String,
    /// Reference resolution.
    #[arg(long, default_value_t = 224)]
    reference: u32,
    /// Accuracy rule: `per-stage` (each stage as accurate as the reference on
    /// what it answers), `global-budget` (one shared error budget) or `static`
    /// (no accuracy guarantee; for study).
    #[arg(long, default_value = "per-stage")]
    rule: String,
    /// Do not compare with the single-model cascades (the spec's safeguard).
    #[arg(long)]
    no_safeguard: bool,
    /// Output cascade file (JSON).
    #[arg(long)]
    out: PathBuf,
}

/// Arguments of `patchbench cascade eval`.
#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    /// Cascade file.
    #[arg(long)]
    cascade: PathBuf,
    /// Validation table to replay it on.
    #[arg(long)]
    table: PathBuf,
}

/// Reads costs from a costs file, or from a patchbench JSON report (p50
/// latency of each resolution, in whole microseconds).
fn read_costs(path: &Path) -> Result<Costs> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let Some(rows) = value.get("resolutions").and_then(|r| r.as_array()) else {
        return Ok(Costs::from_json(&text)?);
    };
    let costs = rows
        .iter()
        .map(|row| {
            let size = row["size"].as_u64().context("a resolution without size")? as u32;
            let ms = row["latency_ms"]["p50"]
                .as_f64()
                .context("a resolution without latency_ms.p50")?;
            Ok((size, (ms * 1000.0).round().max(1.0) as u64))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Costs::new("us (patchbench p50 latency)", costs)?)
}

fn print_replay(cascade: &Cascade, table: &ValidationTable) -> Result<()> {
    let r = cascade.replay(table)?;
    let reference = cascade.reference();
    let ref_cost = cascade
        .validation()
        .map(|v| v.reference_cost)
        .or_else(|| {
            cascade
                .stages()
                .iter()
                .find(|s| s.resolution == reference)
                .map(|s| s.cost)
        })
        .context("the cascade records no reference cost")?;
    let ref_correct = table
        .correct_count(reference)
        .context("the table has no reference resolution")?;
    let n = r.examples.max(1) as f64;
    let avg = r.average_cost().to_f64();
    println!("stages:");
    for (k, s) in cascade.stages().iter().enumerate() {
        let t = s
            .threshold
            .map_or("always".to_string(), |t| format!(">= {t}"));
        println!(
            "  {k}: {:>4} {:<10} answered {:>5}, right {:>5}",
            s.resolution, t, r.answered_per_stage[k], r.correct_per_stage[k]
        );
    }
    println!(
        "accuracy {}/{} = {:.4} (always-{reference}: {}/{} = {:.4})",
        r.correct,
        r.examples,
        r.correct as f64 / n,
        ref_correct,
        r.examples,
        ref_correct as f64 / n
    );
    println!(
        "average cost {} / {} = {:.1} {} (always-{reference}: {ref_cost}); saving {:.1}%",
        r.total_cost,
        r.examples,
        avg,
        cascade.cost_unit(),
        100.0 * (1.0 - avg / ref_cost as f64)
    );
    Ok(())
}

/// Runs a cascade subcommand.
pub fn run(command: &CascadeCommand) -> Result<()> {
    match command {
        CascadeCommand::Table(args) => crate::table::run(args),
        CascadeCommand::Build(args) => {
            let table = ValidationTable::from_path(&args.table)?;
            let costs = read_costs(&args.costs)?;
            let rule: Rule = args.rule.replace('-', "_").parse()?;
            let alpha: Alpha = args.alpha.parse()?;
            let outcome = CascadeBuilder::new(args.reference)
                .alpha(alpha)
                .rule(rule)
                .safeguard(!args.no_safeguard)
                .build_detailed(&table, &costs)?;
            if outcome.safeguard_applied {
                eprintln!(
                    "note: a single-model cascade was cheaper than the greedy's (the safeguard)"
                );
            }
            crate::output::write_output(&args.out, outcome.cascade.to_json())?;
            eprintln!("wrote {}", args.out.display());
            print_replay(&outcome.cascade, &table)
        }
        CascadeCommand::Macs(args) => {
            let backbone = patchrt::Backbone::from_path(&args.backbone)?;
            let padding = backbone.config.padding;
            let costs = Costs::new(
                "macs",
                args.resolutions
                    .iter()
                    .map(|&r| (r, backbone.arch.multiply_adds(r, padding))),
            )?;
            for (r, c) in costs.iter() {
                println!("{r}: {:.1} M multiply-adds", c as f64 / 1e6);
            }
            crate::output::write_output(&args.out, costs.to_json())?;
            Ok(())
        }
        CascadeCommand::Eval(args) => {
            let cascade = Cascade::from_path(&args.cascade)?;
            let table = ValidationTable::from_path(&args.table)?;
            print_replay(&cascade, &table)
        }
    }
}

//! `patchbench`: measures PatchRT on this device.
//!
//! With no files it runs the embedded synthetic MobileNetV2 1.0 (1000 classes)
//! with 3 tasks x 5 resolutions of synthetic patches, prints a table and
//! optionally writes JSON (`--json`).

mod bundle_cmd;
mod cascade_cmd;
mod classify;
mod measure;
mod output;
mod peer_worker;
mod report;
mod source;
mod stats;
mod table;

use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Parser;
use patchrt::{
    AdapterPreference, Engine, EngineOptions, Patch, Resolution, RgbaImage, WeightPrecision,
};

/// Measure PatchRT: latency per resolution, patch swap cost, memory.
/// `patchbench classify IMAGE...` classifies photos instead.
#[derive(Parser, Debug)]
#[command(name = "patchbench", version, args_conflicts_with_subcommands = true)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Backbone file (default: the embedded synthetic MobileNetV2 1.0).
    #[arg(long)]
    backbone: Option<String>,
    /// Patch file(s) to load (default: synthetic patches when no backbone is given).
    #[arg(long = "patch")]
    patches: Vec<String>,
    /// Timed inferences per resolution.
    #[arg(long, default_value_t = 20)]
    iters: usize,
    /// Untimed inferences per resolution before timing.
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// Hot/cold swap samples.
    #[arg(long, default_value_t = 200)]
    swap_iters: usize,
    /// Full backbone reload samples.
    #[arg(long, default_value_t = 5)]
    reloads: usize,
    /// Resolutions to run (comma separated).
    #[arg(long, value_delimiter = ',', default_values_t = [224, 192, 160, 128, 96])]
    resolutions: Vec<u32>,
    /// Adapter name filter (overrides PATCHRT_ADAPTER).
    #[arg(long)]
    adapter: Option<String>,
    /// Store weights as f16 (needs shader-f16).
    #[arg(long)]
    f16: bool,
    /// Skip the CPU reference comparison.
    #[arg(long)]
    no_cpu_check: bool,
    /// Pause between resolutions, in milliseconds (lets a phone cool down).
    #[arg(long, default_value_t = 0)]
    cooldown: u64,
    /// Write the results as JSON to this file.
    #[arg(long)]
    json: Option<String>,
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    /// Classify PNG/JPEG images and print the top-K labels.
    Classify(classify::ClassifyArgs),
    /// Build, evaluate and calibrate confidence cascades.
    #[command(subcommand)]
    Cascade(cascade_cmd::CascadeCommand),
    /// Create keys, pack, sign, verify and install over-the-air patch bundles.
    #[command(subcommand)]
    Bundle(bundle_cmd::BundleCommand),
    /// Serve inference requests on stdin for benches/peers (one JSON line per request).
    PeerWorker(peer_worker::PeerWorkerArgs),
}

fn main() -> Result<()> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let args = Args::parse();
    match &args.command {
        Some(Command::Classify(c)) => return classify::run(c),
        Some(Command::PeerWorker(c)) => return peer_worker::run(c),
        Some(Command::Cascade(c)) => return cascade_cmd::run(c),
        Some(Command::Bundle(c)) => return bundle_cmd::run(c),
        None => {}
    }
    if args.iters == 0 || args.swap_iters == 0 {
        bail!("--iters and --swap-iters must be at least 1");
    }
    let resolutions: Vec<Resolution> = args.resolutions.iter().map(|r| Resolution(*r)).collect();
    let source = match &args.backbone {
        Some(b) => source::ModelSource::from_files(b, &args.patches)?,
        None if args.patches.is_empty() => source::ModelSource::synthetic(&resolutions)?,
        None => {
            bail!("--patch needs --backbone: synthetic patches fit only the synthetic backbone")
        }
    };
    let options = EngineOptions {
        adapter: args
            .adapter
            .clone()
            .map_or(AdapterPreference::Auto, AdapterPreference::Named),
        precision: if args.f16 {
            WeightPrecision::F16
        } else {
            WeightPrecision::F32
        },
        resolutions: resolutions.clone(),
        ..EngineOptions::default()
    };
    let started = std::time::Instant::now();
    let engine = Engine::new(source.backbone.clone(), options).context("creating the engine")?;
    let init_ms = started.elapsed().as_secs_f64() * 1e3;
    let adapter = engine.adapter().clone();
    eprintln!(
        "adapter: {} ({}, {}; {})",
        adapter.name, adapter.backend, adapter.device_type, adapter.driver
    );

    let mut parsed = Vec::new();
    for bytes in &source.patches {
        let patch = Patch::from_bytes(bytes, engine.backbone())?;
        engine.load_parsed_patch(&patch)?;
        parsed.push(patch);
    }
    let task = parsed
        .first()
        .map_or_else(|| engine.backbone().config.task.clone(), |p| p.task.clone());
    let pixels = measure::frame_pixels();
    let image = RgbaImage::new(measure::FRAME.0, measure::FRAME.1, &pixels)?;

    let first = std::time::Instant::now();
    engine.classify(&image, resolutions[0])?;
    let first_ms = first.elapsed().as_secs_f64() * 1e3;

    let mut results = Vec::new();
    for &res in engine.options().resolutions.clone().iter() {
        let sampling = measure::Sampling {
            warmup: args.warmup,
            iters: args.iters,
            cpu_check: !args.no_cpu_check,
        };
        let r = measure::resolution(&engine, &parsed, &image, res, &task, sampling)?;
        eprintln!("  {res}: p50 {:.2} ms", r.latency_ms.p50);
        results.push(r);
        std::thread::sleep(Duration::from_millis(args.cooldown));
    }
    let cold_patch = source.patches.first().cloned();
    let swaps = match &cold_patch {
        Some(bytes) => Some(measure::swaps(
            &engine,
            &source.backbone_bytes,
            bytes,
            &image,
            args.swap_iters,
            args.reloads,
        )?),
        None => None,
    };
    let report = report::Report {
        adapter,
        engine: &engine,
        source: &source,
        parsed: &parsed,
        results: &results,
        swaps: swaps.as_ref(),
        init_ms,
        first_ms,
        precision: engine.options().precision,
    };
    print!("{}", report.table());
    if let Some(path) = &args.json {
        output::write_output(
            std::path::Path::new(path),
            &serde_json::to_string_pretty(&report.json())?,
        )?;
        eprintln!("wrote {path}");
    }
    Ok(())
}

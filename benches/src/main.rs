//! `patchbench`: measures PatchRT on this device.
//!
//! With no files it runs the embedded synthetic MobileNetV2 1.0 (1000 classes)
//! with 3 tasks x 5 resolutions of synthetic patches, prints a table and
//! optionally writes JSON (`--json`). `--profile`, `--sustained`,
//! `--cold-start` and `--patches-per-pass` replace that benchmark with their
//! own measurements.

mod batch_cmd;
mod bundle_cmd;
mod cascade_cmd;
mod classify;
mod cold_start;
mod cpu_load;
mod measure;
mod output;
mod peer_worker;
mod profile_cmd;
mod report;
mod source;
mod startup;
mod stats;
mod sustained;
mod table;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use patchrt::{EngineOptions, Patch, ProfileOptions, Resolution, RgbaImage, TimestampMethod};
use serde_json::json;

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
    /// Resolutions to run (comma separated; default 224,192,160,128,96, and
    /// 224 alone for --sustained).
    #[arg(long, value_delimiter = ',')]
    resolutions: Option<Vec<u32>>,
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
    /// Instead of the benchmark: GPU time of every dispatch of one inference
    /// per resolution (median of --iters), with GFLOP/s and GB/s.
    #[arg(long)]
    profile: bool,
    /// How --profile writes timestamps.
    #[arg(long, value_enum, default_value_t = MethodArg::Auto)]
    profile_method: MethodArg,
    /// Instead of the benchmark: inferences back to back for SECONDS,
    /// latency per --window.
    #[arg(long, value_name = "SECONDS")]
    sustained: Option<f64>,
    /// Window of --sustained, in seconds.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    window: f64,
    /// Keep the driver's pipeline cache in FILE between runs (read at start,
    /// written after pipeline creation).
    #[arg(long, value_name = "FILE")]
    pipeline_cache: Option<PathBuf>,
    /// Instead of the benchmark: cold start with and without the PatchRT
    /// pipeline cache and Mesa's shader cache, RUNS fresh processes each.
    #[arg(long, value_name = "RUNS")]
    cold_start: Option<usize>,
    /// Instead of the benchmark: K patches (tasks) over one frame in one pass
    /// against K separate inferences and one inference, for each listed K
    /// (e.g. 1,2,4,8), interleaved over --iters rounds.
    #[arg(long, value_name = "K,...", value_delimiter = ',')]
    patches_per_pass: Option<Vec<usize>>,
    /// One cold start, printed as JSON (the child of --cold-start).
    #[arg(long, hide = true)]
    cold_start_child: bool,
}

/// `--profile-method`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum MethodArg {
    /// Inside-pass timestamps when the adapter has them, else pass per dispatch.
    Auto,
    /// One pass, a timestamp after every dispatch.
    InsidePass,
    /// One pass per dispatch with begin/end timestamps.
    PassPerDispatch,
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
    let main_started = Instant::now();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let args = Args::parse();
    match &args.command {
        Some(Command::Classify(c)) => return classify::run(c),
        Some(Command::PeerWorker(c)) => return peer_worker::run(c),
        Some(Command::Cascade(c)) => return cascade_cmd::run(c),
        Some(Command::Bundle(c)) => return bundle_cmd::run(c),
        None => {}
    }
    let options = EngineOptions {
        ..source::engine_options(&args.adapter, args.f16)
    };
    let listed: Option<Vec<Resolution>> = args
        .resolutions
        .as_ref()
        .map(|v| v.iter().map(|r| Resolution(*r)).collect());
    if args.cold_start_child {
        let backbone = args
            .backbone
            .as_deref()
            .context("--cold-start-child needs --backbone")?;
        let options = EngineOptions {
            resolutions: listed.unwrap_or_else(|| vec![Resolution(224)]),
            ..options
        };
        return cold_start::child(backbone, options, args.pipeline_cache.clone(), main_started);
    }
    if args.iters == 0 || args.swap_iters == 0 {
        bail!("--iters and --swap-iters must be at least 1");
    }
    if args.profile || args.sustained.is_some() || args.cold_start.is_some() {
        return run_modes(&args, listed, options);
    }
    let resolutions = listed.unwrap_or_else(|| Resolution::STANDARD.to_vec());
    let source = match &args.backbone {
        Some(b) => source::ModelSource::from_files(b, &args.patches)?,
        None if args.patches.is_empty() => source::ModelSource::synthetic(&resolutions)?,
        None => {
            bail!("--patch needs --backbone: synthetic patches fit only the synthetic backbone")
        }
    };
    let options = EngineOptions {
        resolutions: resolutions.clone(),
        ..options
    };
    let (engine, startup) = startup::open_engine(
        source.backbone.clone(),
        options,
        args.pipeline_cache.clone(),
    )?;
    let init_ms = startup.init_ms();
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

    if let Some(sizes) = &args.patches_per_pass {
        let results = batch_cmd::run(
            &engine,
            &image,
            &engine.options().resolutions.clone(),
            sizes,
            args.warmup,
            args.iters,
        )?;
        print!("{}", batch_cmd::table(&results, args.iters));
        if let Some(path) = &args.json {
            let report = json!({
                "device": {"name": adapter.name, "backend": adapter.backend, "device_type": adapter.device_type, "driver": adapter.driver},
                "patches_per_pass": batch_cmd::json(&results, args.iters),
                "load_average_1m": load_average(),
            });
            output::write_output(
                std::path::Path::new(path),
                &serde_json::to_string_pretty(&report)?,
            )?;
            eprintln!("wrote {path}");
        }
        return Ok(());
    }

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
        startup: &startup,
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

/// `--profile`, `--sustained` and `--cold-start`, in that order, into one
/// report (the default benchmark does not run).
fn run_modes(args: &Args, listed: Option<Vec<Resolution>>, options: EngineOptions) -> Result<()> {
    let load_before = load_average();
    let mut out = serde_json::Map::new();
    if let Some(runs) = args.cold_start {
        if runs == 0 {
            bail!("--cold-start needs at least 1 run");
        }
        let first = listed
            .as_ref()
            .and_then(|l| l.first())
            .map_or(224, |r| r.side());
        let report = cold_start::run(
            &cold_start::ChildArgs {
                backbone: args.backbone.clone(),
                resolution: first,
                adapter: args.adapter.clone(),
                f16: args.f16,
            },
            runs,
        )?;
        print!("{}", report.table());
        out.insert("cold_start".into(), report.json());
    }
    let profile_res = listed
        .clone()
        .unwrap_or_else(|| Resolution::STANDARD.to_vec());
    let sustained_res = listed.unwrap_or_else(|| vec![Resolution(224)]);
    if args.profile || args.sustained.is_some() {
        let mut resolutions = Vec::new();
        if args.profile {
            resolutions.extend(&profile_res);
        }
        if args.sustained.is_some() {
            resolutions.extend(&sustained_res);
        }
        let backbone = match &args.backbone {
            Some(b) => source::ModelSource::from_files(b, &[])?.backbone,
            None => source::synthetic_backbone()?,
        };
        let (engine, start) = startup::open_engine(
            backbone,
            EngineOptions {
                resolutions,
                ..options
            },
            args.pipeline_cache.clone(),
        )?;
        let a = engine.adapter();
        eprintln!(
            "adapter: {} ({}, {}; {})",
            a.name, a.backend, a.device_type, a.driver
        );
        out.insert(
            "device".into(),
            json!({"name": a.name, "backend": a.backend, "device_type": a.device_type, "driver": a.driver}),
        );
        out.insert("startup".into(), start.json());
        let pixels = measure::frame_pixels();
        let image = RgbaImage::new(measure::FRAME.0, measure::FRAME.1, &pixels)?;
        let arch = &engine.backbone().arch;
        if args.profile {
            let method = match args.profile_method {
                MethodArg::Auto => None,
                MethodArg::InsidePass => Some(TimestampMethod::InsidePass),
                MethodArg::PassPerDispatch => Some(TimestampMethod::PassPerDispatch),
            };
            let popts = ProfileOptions {
                iters: args.iters,
                warmup: args.warmup.max(1),
                method,
            };
            let profiles = profile_cmd::run(&engine, &image, &profile_res, &popts)?;
            for p in &profiles {
                print!("{}", profile_cmd::table(p, arch));
            }
            if let (Some(a), Some(b)) = (profiles.first(), profiles.last())
                && profiles.len() > 1
            {
                let (a, b) = (&a.profile, &b.profile);
                println!(
                    "GPU time ratio {}/{}: {:.2}x (sums of per-dispatch medians)",
                    a.resolution,
                    b.resolution,
                    a.total_ms() / b.total_ms()
                );
            }
            out.insert(
                "profile".into(),
                profiles
                    .iter()
                    .map(|p| profile_cmd::json(p, arch))
                    .collect::<Vec<_>>()
                    .into(),
            );
        }
        if let Some(seconds) = args.sustained {
            if !(seconds > 0.0 && args.window > 0.0) {
                bail!("--sustained and --window must be positive");
            }
            let results = sustained::run(
                &engine,
                &image,
                &sustained_res,
                seconds,
                args.window,
                args.warmup,
            )?;
            print!("{}", sustained::table(&results, seconds, args.window));
            out.insert(
                "sustained".into(),
                sustained::json(&results, seconds, args.window),
            );
        }
    }
    let load_after = load_average();
    if let (Some(a), Some(b)) = (&load_before, &load_after) {
        println!(
            "\nmachine load average (1 min) before {a:.2}, after {b:.2} on {} CPUs",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
    }
    out.insert(
        "load_average_1m".into(),
        json!({"before": load_before, "after": load_after}),
    );
    if let Some(path) = &args.json {
        output::write_output(
            std::path::Path::new(path),
            &serde_json::to_string_pretty(&serde_json::Value::Object(out))?,
        )?;
        eprintln!("wrote {path}");
    }
    Ok(())
}

/// The 1-minute load average where the OS reports one (Linux), to tell a
/// busy machine from a slow kernel when reading the numbers.
fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

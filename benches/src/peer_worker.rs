//! `patchbench peer-worker`: serves inference requests on stdin so that
//! `benches/peers/compare.py` can time PatchRT interleaved with other engines.
//!
//! The engine is loaded once. The first line written to stdout is a JSON
//! object describing it (`"ready": true`, the adapter, the backbone's input
//! normalisation). Then every line read from stdin is one command, answered by
//! exactly one JSON line on stdout:
//!
//! - `run <resolution> [<file>]`: one `Engine::classify`; answers
//!   `{"ok": true, "ms": wall, "gpu_ms": gpu or null}`.
//! - `probs <resolution> [<file>]`: the same, plus `"probs": [...]` (the
//!   class probabilities).
//! - `quit` (or end of input): exits.
//!
//! `<file>` holds raw pixels of a `resolution x resolution` image, row-major,
//! either RGB8 (`3 * r * r` bytes) or RGBA8 (`4 * r * r` bytes); PatchRT's
//! resize is then the identity and only the normalisation applies. Files are
//! read once and cached. Without `<file>` a fixed synthetic image of that size
//! is used. `ms` is the wall-clock time of `Engine::classify` alone (upload,
//! one submit, readback), not the pipe round trip. A failed command answers
//! `{"ok": false, "error": "..."}` and the worker keeps serving.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use patchrt::model::synthetic;
use patchrt::{Backbone, Engine, EngineOptions, Resolution, RgbaImage};
use serde_json::{Value, json};

/// Arguments of `patchbench peer-worker`.
#[derive(clap::Args, Debug)]
pub struct PeerWorkerArgs {
    /// Backbone file.
    #[arg(long)]
    backbone: PathBuf,
    /// Patch file to activate (default: the backbone's own parameters).
    #[arg(long)]
    patch: Option<PathBuf>,
    /// Adapter name filter (overrides PATCHRT_ADAPTER).
    #[arg(long)]
    adapter: Option<String>,
    /// Store weights as f16 (needs shader-f16).
    #[arg(long)]
    f16: bool,
    /// Resolutions the engine serves (comma separated).
    #[arg(long, value_delimiter = ',', default_values_t = [224, 160, 96])]
    resolutions: Vec<u32>,
}

/// One parsed command line.
enum Request {
    Run {
        resolution: u32,
        file: Option<PathBuf>,
        probs: bool,
    },
    Quit,
}

fn parse(line: &str) -> Result<Request> {
    let mut words = line.split_whitespace();
    let verb = words.next().context("empty command")?;
    let probs = match verb {
        "run" => false,
        "probs" => true,
        "quit" => return Ok(Request::Quit),
        other => bail!("unknown command {other:?} (expected run, probs or quit)"),
    };
    let resolution = words
        .next()
        .context("missing resolution")?
        .parse::<u32>()
        .context("resolution is not an integer")?;
    let file = words.next().map(PathBuf::from);
    if words.next().is_some() {
        bail!("too many arguments");
    }
    Ok(Request::Run {
        resolution,
        file,
        probs,
    })
}

/// Reads a raw `side x side` RGB8 or RGBA8 file as RGBA8.
fn read_raw(path: &Path, side: u32) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let pixels = side as usize * side as usize;
    if bytes.len() == pixels * 4 {
        Ok(bytes)
    } else if bytes.len() == pixels * 3 {
        Ok(bytes
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect())
    } else {
        bail!(
            "{}: {} bytes, expected {} (RGB) or {} (RGBA) for {side}x{side}",
            path.display(),
            bytes.len(),
            pixels * 3,
            pixels * 4
        )
    }
}

struct Worker {
    engine: Engine,
    images: HashMap<(u32, Option<PathBuf>), Vec<u8>>,
}

impl Worker {
    fn answer(&mut self, resolution: u32, file: Option<PathBuf>, probs: bool) -> Result<Value> {
        let key = (resolution, file);
        if !self.images.contains_key(&key) {
            let pixels = match &key.1 {
                Some(path) => read_raw(path, resolution)?,
                None => synthetic::test_image(resolution, resolution, 11),
            };
            self.images.insert(key.clone(), pixels);
        }
        let pixels = &self.images[&key];
        let image = RgbaImage::new(resolution, resolution, pixels)?;
        let started = Instant::now();
        let result = self.engine.classify(&image, Resolution(resolution))?;
        let ms = started.elapsed().as_secs_f64() * 1e3;
        let mut out = json!({"ok": true, "ms": ms, "gpu_ms": result.gpu_ms});
        if probs {
            out["probs"] = json!(result.probabilities);
        }
        Ok(out)
    }
}

fn reply(out: &mut impl Write, value: &Value) -> Result<()> {
    writeln!(out, "{value}")?;
    out.flush().context("writing to stdout")
}

/// Runs the command.
pub fn run(args: &PeerWorkerArgs) -> Result<()> {
    let backbone = Backbone::from_path(&args.backbone)
        .with_context(|| format!("loading {}", args.backbone.display()))?;
    let normalization = backbone.config.normalization;
    let options = EngineOptions {
        resolutions: args.resolutions.iter().map(|r| Resolution(*r)).collect(),
        ..crate::source::engine_options(&args.adapter, args.f16)
    };
    let started = Instant::now();
    let engine = Engine::new(backbone, options).context("creating the engine")?;
    if let Some(path) = &args.patch {
        let info = crate::source::load_patch_file(&engine, path)?;
        engine.activate(&info.id)?;
    }
    let init_ms = started.elapsed().as_secs_f64() * 1e3;
    let adapter = engine.adapter().clone();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    reply(
        &mut out,
        &json!({
            "ready": true,
            "adapter": {
                "name": adapter.name,
                "backend": adapter.backend,
                "device_type": adapter.device_type,
                "driver": adapter.driver,
            },
            "gpu_timestamps": engine.has_gpu_timestamps(),
            "precision": if args.f16 { "f16" } else { "f32" },
            "backbone_sha256": engine.backbone().identity.hex(),
            "patch": engine.active_patch(),
            "resolutions": args.resolutions,
            "input_mean": normalization.mean,
            "input_scale": normalization.scale,
            "init_ms": init_ms,
        }),
    )?;
    let mut worker = Worker {
        engine,
        images: HashMap::new(),
    };
    for line in std::io::stdin().lock().lines() {
        let line = line.context("reading stdin")?;
        if line.trim().is_empty() {
            continue;
        }
        let answer = match parse(&line) {
            Ok(Request::Quit) => break,
            Ok(Request::Run {
                resolution,
                file,
                probs,
            }) => worker.answer(resolution, file, probs),
            Err(e) => Err(e),
        };
        let value = answer.unwrap_or_else(|e| json!({"ok": false, "error": format!("{e:#}")}));
        reply(&mut out, &value)?;
    }
    Ok(())
}

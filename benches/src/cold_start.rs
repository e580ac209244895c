//! `--cold-start RUNS`: the first inference after process start, with and
//! without caches, each sample a fresh child process of this program.
//!
//! Two caches can shorten a cold start, and they are reported apart:
//! PatchRT's pipeline cache (`--pipeline-cache FILE`, the driver's
//! `VkPipelineCache` data, which PatchRT saves and hands back) and Mesa's own
//! on-disk shader cache (`MESA_SHADER_CACHE_DIR`, `MESA_SHADER_CACHE_DISABLE`),
//! which is the driver's and works without PatchRT doing anything. The Mesa
//! variables are ignored by other drivers.

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use patchrt::model::synthetic::{self, SyntheticSpec};
use patchrt::{Backbone, EngineOptions, RgbaImage};
use serde_json::{Value, json};

use crate::measure;
use crate::startup::{self, ms};
use crate::stats::Percentiles;

/// One configuration of caches.
struct Config {
    name: &'static str,
    mesa_cache: bool,
    patchrt_cache: bool,
}

const CONFIGS: [Config; 4] = [
    Config {
        name: "no caches",
        mesa_cache: false,
        patchrt_cache: false,
    },
    Config {
        name: "PatchRT pipeline cache",
        mesa_cache: false,
        patchrt_cache: true,
    },
    Config {
        name: "Mesa shader cache",
        mesa_cache: true,
        patchrt_cache: false,
    },
    Config {
        name: "both caches",
        mesa_cache: true,
        patchrt_cache: true,
    },
];

/// Phases reported by a child, in the order printed.
const PHASES: [(&str, &str); 7] = [
    ("load_ms", "load"),
    ("context_ms", "context"),
    ("pipelines_ms", "pipelines"),
    ("engine_ms", "engine"),
    ("first_inference_ms", "1st inf"),
    ("second_inference_ms", "2nd inf"),
    ("since_main_ms", "main->1st"),
];

/// The child: one start-up, printed as one JSON line on stdout.
pub fn child(
    backbone_path: &str,
    options: EngineOptions,
    pipeline_cache: Option<PathBuf>,
    main_started: Instant,
) -> Result<()> {
    let t = Instant::now();
    let bytes = std::fs::read(backbone_path).with_context(|| format!("reading {backbone_path}"))?;
    let backbone =
        Backbone::from_bytes(&bytes).with_context(|| format!("loading {backbone_path}"))?;
    let load_ms = ms(t);
    let (engine, start) = startup::open_engine(backbone, options, pipeline_cache)?;
    let pixels = measure::frame_pixels();
    let image = RgbaImage::new(measure::FRAME.0, measure::FRAME.1, &pixels)?;
    let res = engine.options().resolutions[0];
    let t = Instant::now();
    engine.classify(&image, res)?;
    let first_inference_ms = ms(t);
    let since_main_ms = ms(main_started);
    let t = Instant::now();
    engine.classify(&image, res)?;
    let second_inference_ms = ms(t);
    let line = json!({
        "load_ms": load_ms,
        "context_ms": start.context_ms,
        "pipelines_ms": start.pipelines_ms,
        "engine_ms": start.engine_ms,
        "first_inference_ms": first_inference_ms,
        "second_inference_ms": second_inference_ms,
        "since_main_ms": since_main_ms,
        "resolution": res.side(),
        "adapter": engine.adapter().name,
        "pipeline_cache": startup::cache_json(&start.cache),
    });
    println!("{line}");
    Ok(())
}

/// What the parent passes on to every child.
pub struct ChildArgs {
    /// Backbone file, or `None` for the embedded synthetic model.
    pub backbone: Option<String>,
    /// Resolution of the first inference.
    pub resolution: u32,
    /// `--adapter`.
    pub adapter: Option<String>,
    /// `--f16`.
    pub f16: bool,
}

/// Samples of one configuration.
struct Samples {
    config: &'static Config,
    lines: Vec<Value>,
    wall_ms: Vec<f64>,
}

/// The cold-start report.
pub struct ColdStart {
    runs: usize,
    samples: Vec<Samples>,
    patchrt_cache_bytes: Option<u64>,
    mesa_cache_bytes: u64,
    mesa_disabled_bytes: u64,
}

fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            _ => e.metadata().map_or(0, |m| m.len()),
        })
        .sum()
}

fn spawn(
    exe: &Path,
    args: &ChildArgs,
    backbone: &Path,
    config: &Config,
    dirs: (&Path, &Path, &Path),
) -> Result<(Value, f64)> {
    let (mesa_on, mesa_off, cache_file) = dirs;
    let mut cmd = Command::new(exe);
    cmd.arg("--cold-start-child")
        .arg("--backbone")
        .arg(backbone)
        .arg("--resolutions")
        .arg(args.resolution.to_string());
    if let Some(a) = &args.adapter {
        cmd.arg("--adapter").arg(a);
    }
    if args.f16 {
        cmd.arg("--f16");
    }
    if config.patchrt_cache {
        cmd.arg("--pipeline-cache").arg(cache_file);
    }
    cmd.env_remove("MESA_GLSL_CACHE_DISABLE");
    if config.mesa_cache {
        cmd.env_remove("MESA_SHADER_CACHE_DISABLE")
            .env("MESA_SHADER_CACHE_DIR", mesa_on);
    } else {
        // A directory of its own: if the driver ignored the switch, files
        // would appear there and the report says so.
        cmd.env("MESA_SHADER_CACHE_DISABLE", "true")
            .env("MESA_SHADER_CACHE_DIR", mesa_off);
    }
    let t = Instant::now();
    let out = cmd.output().context("spawning a cold-start child")?;
    let wall = ms(t);
    if !out.status.success() {
        bail!(
            "cold-start child ({}) failed: {}",
            config.name,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .last()
        .context("cold-start child printed nothing")?;
    Ok((
        serde_json::from_str(line).context("cold-start child output")?,
        wall,
    ))
}

/// Spawns `runs` children per configuration (interleaved), after one
/// unrecorded child that fills both caches.
pub fn run(args: &ChildArgs, runs: usize) -> Result<ColdStart> {
    let exe = std::env::current_exe().context("locating patchbench")?;
    let dir = std::env::temp_dir().join(format!("patchbench-cold-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let result = run_in(&exe, args, runs, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn run_in(exe: &Path, args: &ChildArgs, runs: usize, dir: &Path) -> Result<ColdStart> {
    let backbone = match &args.backbone {
        Some(b) => PathBuf::from(b),
        None => {
            let p = dir.join("backbone.safetensors");
            std::fs::write(&p, synthetic::backbone_bytes(&SyntheticSpec::default()))
                .with_context(|| format!("writing {}", p.display()))?;
            p
        }
    };
    let (mesa_on, mesa_off, cache_file) = (
        dir.join("mesa"),
        dir.join("mesa-off"),
        dir.join("pipeline.cache"),
    );
    let dirs = (mesa_on.as_path(), mesa_off.as_path(), cache_file.as_path());
    let prime = &CONFIGS[3];
    eprintln!("  cold start: priming both caches");
    spawn(exe, args, &backbone, prime, dirs)?;
    let mut samples: Vec<Samples> = CONFIGS
        .iter()
        .map(|config| Samples {
            config,
            lines: Vec::new(),
            wall_ms: Vec::new(),
        })
        .collect();
    for run in 0..runs {
        for s in samples.iter_mut() {
            let (line, wall) = spawn(exe, args, &backbone, s.config, dirs)?;
            s.lines.push(line);
            s.wall_ms.push(wall);
        }
        eprintln!("  cold start: run {}/{runs}", run + 1);
    }
    Ok(ColdStart {
        runs,
        samples,
        patchrt_cache_bytes: std::fs::metadata(&cache_file).ok().map(|m| m.len()),
        mesa_cache_bytes: dir_bytes(&mesa_on),
        mesa_disabled_bytes: dir_bytes(&mesa_off),
    })
}

fn field(lines: &[Value], key: &str) -> Vec<f64> {
    lines.iter().filter_map(|l| l[key].as_f64()).collect()
}

fn summary(v: &[f64]) -> Value {
    let p50 = Percentiles::of(v).map(|p| p.p50);
    json!({
        "p50": p50,
        "min": v.iter().copied().reduce(f64::min),
        "max": v.iter().copied().reduce(f64::max),
    })
}

fn cache_states(lines: &[Value]) -> String {
    let mut states: Vec<String> = lines
        .iter()
        .filter_map(|l| l["pipeline_cache"]["state"].as_str().map(str::to_string))
        .collect();
    states.dedup();
    states.join(" / ")
}

impl ColdStart {
    /// The printed table.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "\ncold start: each sample a fresh process; {} runs per configuration, interleaved; median ms (min-max)",
            self.runs
        );
        let _ = write!(s, "{:<24}", "configuration");
        for (_, head) in PHASES {
            let _ = write!(s, " {head:>15}");
        }
        let _ = writeln!(s, " {:>15}  PatchRT cache", "process wall");
        for smp in &self.samples {
            let _ = write!(s, "{:<24}", smp.config.name);
            let cells = PHASES
                .iter()
                .map(|(key, _)| field(&smp.lines, key))
                .chain(std::iter::once(smp.wall_ms.clone()));
            for v in cells {
                let cell = match (
                    Percentiles::of(&v),
                    v.iter().copied().reduce(f64::min),
                    v.iter().copied().reduce(f64::max),
                ) {
                    (Some(p), Some(lo), Some(hi)) => format!("{:.0} ({lo:.0}-{hi:.0})", p.p50),
                    _ => "-".to_string(),
                };
                let _ = write!(s, " {cell:>15}");
            }
            let _ = writeln!(s, "  {}", cache_states(&smp.lines));
        }
        let _ = writeln!(
            s,
            "PatchRT pipeline cache file: {}; Mesa shader cache dir: {} bytes (the driver's cache, not PatchRT's){}",
            self.patchrt_cache_bytes
                .map_or("not written".to_string(), |b| format!("{b} bytes")),
            self.mesa_cache_bytes,
            if self.mesa_disabled_bytes > 0 {
                format!(
                    "; WARNING: {} bytes appeared in the disabled Mesa cache dir, so MESA_SHADER_CACHE_DISABLE was not honoured",
                    self.mesa_disabled_bytes
                )
            } else {
                String::new()
            }
        );
        s
    }

    /// The JSON report.
    pub fn json(&self) -> Value {
        json!({
            "runs": self.runs,
            "patchrt_cache_file_bytes": self.patchrt_cache_bytes,
            "mesa_cache_dir_bytes": self.mesa_cache_bytes,
            "mesa_disable_honoured": self.mesa_disabled_bytes == 0,
            "configurations": self.samples.iter().map(|smp| {
                let mut o = serde_json::Map::new();
                o.insert("name".into(), smp.config.name.into());
                o.insert("mesa_shader_cache".into(), smp.config.mesa_cache.into());
                o.insert("patchrt_pipeline_cache".into(), smp.config.patchrt_cache.into());
                for (key, _) in PHASES {
                    o.insert(key.into(), summary(&field(&smp.lines, key)));
                }
                o.insert("process_wall_ms".into(), summary(&smp.wall_ms));
                o.insert("pipeline_cache_state".into(), cache_states(&smp.lines).into());
                o.insert("samples".into(), smp.lines.clone().into());
                Value::Object(o)
            }).collect::<Vec<_>>(),
        })
    }
}

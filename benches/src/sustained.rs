//! `--sustained SECONDS`: inferences back to back, latency per time window.
//!
//! On a phone the windows show thermal throttling (latency climbing after a
//! minute or two); on a software adapter they show how stable the machine is.
//! Each window also reports the share of the machine's CPU time that other
//! processes took (see [`crate::cpu_load`]).

use std::fmt::Write;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use patchrt::{Engine, Resolution, RgbaImage};
use serde_json::{Value, json};

use crate::cpu_load::CpuTimes;
use crate::stats::Percentiles;

/// One window of one resolution.
#[derive(Debug, Clone)]
pub struct Window {
    /// Start, seconds since the run began.
    pub start_s: f64,
    /// End, seconds since the run began.
    pub end_s: f64,
    /// Inferences that started in the window.
    pub count: usize,
    /// Wall-clock latency percentiles, ms (`None` for an empty window).
    pub latency_ms: Option<Percentiles>,
    /// Slowest inference, ms.
    pub max_ms: Option<f64>,
    /// Median GPU time, ms (`None` without timestamps).
    pub gpu_p50_ms: Option<f64>,
    /// Whether the window is shorter than the others (the run's tail).
    pub partial: bool,
    /// CPU time other processes used during the window, % of all CPUs.
    pub others_cpu_pct: Option<f64>,
}

/// The windows of one resolution.
#[derive(Debug, Clone)]
pub struct Sustained {
    /// Resolution.
    pub resolution: Resolution,
    /// Windows in time order.
    pub windows: Vec<Window>,
    /// Inferences in the whole run.
    pub count: usize,
}

impl Sustained {
    /// The first and the last full window that hold samples.
    fn ends(&self) -> Option<(&Window, &Window)> {
        let mut full = self
            .windows
            .iter()
            .filter(|w| !w.partial && w.latency_ms.is_some());
        let first = full.next()?;
        let last = full.next_back()?;
        Some((first, last))
    }

    /// Change of the p50 latency from the first to the last full window, %.
    pub fn drift_pct(&self) -> Option<f64> {
        let (a, b) = self.ends()?;
        let (a, b) = (a.latency_ms?.p50, b.latency_ms?.p50);
        Some(100.0 * (b - a) / a)
    }

    /// Change of the p50 GPU time from the first to the last full window, %.
    pub fn gpu_drift_pct(&self) -> Option<f64> {
        let (a, b) = self.ends()?;
        let (a, b) = (a.gpu_p50_ms?, b.gpu_p50_ms?);
        Some(100.0 * (b - a) / a)
    }
}

struct Sample {
    at_s: f64,
    wall_ms: f64,
    gpu_ms: Option<f64>,
}

/// Runs inferences for `seconds`, cycling through `resolutions`, after
/// `warmup` untimed inferences per resolution.
pub fn run(
    engine: &Engine,
    image: &RgbaImage<'_>,
    resolutions: &[Resolution],
    seconds: f64,
    window_s: f64,
    warmup: usize,
) -> Result<Vec<Sustained>> {
    for &r in resolutions {
        for _ in 0..warmup {
            engine.classify(image, r)?;
        }
    }
    let mut samples: Vec<Vec<Sample>> = resolutions.iter().map(|_| Vec::new()).collect();
    let n_windows = (seconds / window_s).ceil().max(1.0) as usize;
    let mut snaps: Vec<Option<CpuTimes>> = vec![None; n_windows + 1];
    let duration = Duration::from_secs_f64(seconds);
    snaps[0] = CpuTimes::now();
    let started = Instant::now();
    let mut next_note = window_s;
    let mut k = 0usize;
    while started.elapsed() < duration {
        let i = k % resolutions.len();
        let t = Instant::now();
        let at_s = (t - started).as_secs_f64();
        let w = ((at_s / window_s) as usize).min(n_windows);
        if snaps[w].is_none() {
            snaps[w] = CpuTimes::now();
        }
        let c = engine
            .classify(image, resolutions[i])
            .with_context(|| format!("inference {k} at {}", resolutions[i]))?;
        samples[i].push(Sample {
            at_s,
            wall_ms: t.elapsed().as_secs_f64() * 1e3,
            gpu_ms: c.gpu_ms,
        });
        k += 1;
        if at_s >= next_note {
            eprintln!("  sustained: {next_note:.0} s, {k} inferences");
            next_note += window_s;
        }
    }
    snaps[n_windows] = CpuTimes::now();
    let others: Vec<Option<f64>> = (0..n_windows)
        .map(|w| match (&snaps[w], &snaps[w + 1]) {
            (Some(a), Some(b)) => b.others_pct_since(a),
            _ => None,
        })
        .collect();
    Ok(resolutions
        .iter()
        .zip(samples)
        .map(|(&resolution, s)| Sustained {
            resolution,
            count: s.len(),
            windows: (0..n_windows)
                .map(|w| Window {
                    others_cpu_pct: others[w],
                    ..window(&s, w as f64 * window_s, window_s, seconds)
                })
                .collect(),
        })
        .collect())
}

fn window(samples: &[Sample], start_s: f64, window_s: f64, seconds: f64) -> Window {
    let end_s = (start_s + window_s).min(seconds);
    let inside: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.at_s >= start_s && s.at_s < end_s)
        .collect();
    let wall: Vec<f64> = inside.iter().map(|s| s.wall_ms).collect();
    let gpu: Vec<f64> = inside.iter().filter_map(|s| s.gpu_ms).collect();
    Window {
        start_s,
        end_s,
        count: inside.len(),
        latency_ms: Percentiles::of(&wall),
        max_ms: wall.iter().copied().reduce(f64::max),
        gpu_p50_ms: Percentiles::of(&gpu).map(|p| p.p50),
        partial: end_s - start_s < window_s - 1e-9,
        others_cpu_pct: None,
    }
}

fn opt(v: Option<f64>) -> String {
    v.map_or("-".to_string(), |v| format!("{v:.2}"))
}

/// The printed windows.
pub fn table(results: &[Sustained], seconds: f64, window_s: f64) -> String {
    let mut s = String::new();
    for r in results {
        let _ = writeln!(
            s,
            "\nsustained at {} for {seconds:.0} s ({window_s:.0} s windows, {} inferences)",
            r.resolution, r.count
        );
        let _ = writeln!(
            s,
            "{:>13} {:>6} {:>9} {:>9} {:>9} {:>9} {:>12}",
            "window s", "count", "p50 ms", "p90 ms", "max ms", "gpu p50", "others' CPU"
        );
        for w in &r.windows {
            let _ = writeln!(
                s,
                "{:>13} {:>6} {:>9} {:>9} {:>9} {:>9} {:>12}{}",
                format!("{:.0}-{:.0}", w.start_s, w.end_s),
                w.count,
                opt(w.latency_ms.map(|p| p.p50)),
                opt(w.latency_ms.map(|p| p.p90)),
                opt(w.max_ms),
                opt(w.gpu_p50_ms),
                w.others_cpu_pct
                    .map_or("-".to_string(), |p| format!("{p:.0}%")),
                if w.partial { "  (partial)" } else { "" }
            );
        }
        let _ = writeln!(
            s,
            "drift first -> last full window: latency p50 {}%, GPU p50 {}%",
            r.drift_pct().map_or("-".into(), |d| format!("{d:+.1}")),
            r.gpu_drift_pct().map_or("-".into(), |d| format!("{d:+.1}")),
        );
    }
    s
}

/// The JSON of the run.
pub fn json(results: &[Sustained], seconds: f64, window_s: f64) -> Value {
    json!({
        "seconds": seconds,
        "window_s": window_s,
        "resolutions": results.iter().map(|r| json!({
            "size": r.resolution.side(),
            "count": r.count,
            "drift_pct": r.drift_pct(),
            "gpu_drift_pct": r.gpu_drift_pct(),
            "windows": r.windows.iter().map(|w| json!({
                "start_s": w.start_s,
                "end_s": w.end_s,
                "count": w.count,
                "p50_ms": w.latency_ms.map(|p| p.p50),
                "p90_ms": w.latency_ms.map(|p| p.p90),
                "max_ms": w.max_ms,
                "gpu_p50_ms": w.gpu_p50_ms,
                "partial": w.partial,
                "others_cpu_pct": w.others_cpu_pct,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

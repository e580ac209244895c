//! `--profile`: per-dispatch GPU time of one inference per resolution, with
//! achieved GFLOP/s and GB/s, as a table and JSON.

use std::fmt::Write;

use anyhow::{Context, Result};
use patchrt::engine::plan::Step;
use patchrt::model::{Architecture, LayerKind};
use patchrt::{Engine, LayerProfile, LayerTiming, ProfileOptions, Resolution, RgbaImage};
use serde_json::{Value, json};

use crate::cpu_load::others_during;

/// One resolution's profile and how busy the rest of the machine was.
pub struct Profiled {
    /// The profile.
    pub profile: LayerProfile,
    /// CPU time other processes used while it ran, % of all CPUs.
    pub others_cpu_pct: Option<f64>,
}

/// Profiles every resolution in `resolutions`.
pub fn run(
    engine: &Engine,
    image: &RgbaImage<'_>,
    resolutions: &[Resolution],
    options: &ProfileOptions,
) -> Result<Vec<Profiled>> {
    resolutions
        .iter()
        .map(|&r| {
            let (p, others_cpu_pct) = others_during(|| engine.profile(image, r, options));
            let p = p.with_context(|| format!("profiling at {r}"))?;
            eprintln!(
                "  profile {r}: {:.2} ms over {} dispatches",
                p.total_ms(),
                p.layers.len()
            );
            Ok(Profiled {
                profile: p,
                others_cpu_pct,
            })
        })
        .collect()
}

/// What a step is, for grouping: the layer's role or the step's name.
fn role(step: Step, arch: &Architecture) -> &'static str {
    match step {
        Step::Preprocess => "preprocess",
        Step::Layer(_) => match step.layer(arch).map(|l| l.kind) {
            Some(LayerKind::Stem) => "stem",
            Some(LayerKind::Expand) => "expand",
            Some(LayerKind::Depthwise) => "depthwise",
            Some(LayerKind::Project) => "project",
            Some(LayerKind::Head) => "head",
            None => "layer",
        },
        Step::Pool => "pool",
        Step::Classifier => "classifier",
        Step::Softmax => "softmax",
    }
}

/// Time per role, in order of first appearance.
fn by_role(p: &LayerProfile, arch: &Architecture) -> Vec<(&'static str, f64)> {
    let mut out: Vec<(&'static str, f64)> = Vec::new();
    for l in &p.layers {
        let r = role(l.step, arch);
        match out.iter_mut().find(|(k, _)| *k == r) {
            Some((_, ms)) => *ms += l.gpu_ms,
            None => out.push((r, l.gpu_ms)),
        }
    }
    out
}

fn shape(s: [u32; 3]) -> String {
    format!("{}x{}x{}", s[0], s[1], s[2])
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("-".to_string(), |v| format!("{v:.digits$}"))
}

fn shares(groups: &[(&'static str, f64)], total: f64) -> String {
    let mut sorted = groups.to_vec();
    sorted.sort_by(|a, b| b.1.total_cmp(&a.1));
    sorted
        .iter()
        .map(|(k, ms)| format!("{k} {:.1}% ({ms:.2} ms)", 100.0 * ms / total))
        .collect::<Vec<_>>()
        .join(", ")
}

fn row(s: &mut String, i: usize, l: &LayerTiming, total: f64) {
    let _ = writeln!(
        s,
        "{i:>3} {:<20} {:<15} {:>12} -> {:<12} {:>1}/{:<1} {:>8.3} {:>5.1} {:>8.2} {:>8} {:>8.2} {:>7}",
        l.name,
        l.kernel.entry_point(),
        shape(l.input),
        shape(l.output),
        l.kernel_size,
        l.stride,
        l.gpu_ms,
        100.0 * l.gpu_ms / total,
        l.multiply_adds as f64 / 1e6,
        opt(l.gflops(), 2),
        l.bytes as f64 / 1e6,
        opt(l.gbytes_per_s(), 2),
    );
}

/// The table of one profile.
pub fn table(profiled: &Profiled, arch: &Architecture) -> String {
    let p = &profiled.profile;
    let mut s = String::new();
    let total = p.total_ms();
    let method = match p.method {
        patchrt::TimestampMethod::InsidePass => {
            "inside-pass timestamps (one compute pass as in an inference, a timestamp after every dispatch)"
        }
        patchrt::TimestampMethod::PassPerDispatch => {
            "pass-per-dispatch timestamps (one compute pass per dispatch, begin/end timestamps)"
        }
    };
    let _ = writeln!(
        s,
        "\nprofile at {}: {method}; median of {} runs; {} dispatches; {:?} weights; patch {}; other processes used {} of the CPUs meanwhile",
        p.resolution,
        p.iters,
        p.layers.len(),
        p.precision,
        p.patch_id,
        profiled
            .others_cpu_pct
            .map_or("?".to_string(), |v| format!("{v:.0}%"))
    );
    let _ = writeln!(
        s,
        "{:>3} {:<20} {:<15} {:>12} -> {:<12} {:>3} {:>8} {:>5} {:>8} {:>8} {:>8} {:>7}",
        "#", "step", "kernel", "in", "out", "k/s", "ms", "%", "MMAC", "GFLOP/s", "MB", "GB/s"
    );
    for (i, l) in p.layers.iter().enumerate() {
        row(&mut s, i, l, total);
    }
    let macs = p.multiply_adds();
    let bytes = p.bytes();
    let _ = writeln!(
        s,
        "total {total:.2} ms (sum of per-dispatch medians); profiled pass {:.2} ms; plain inference pass {} ms{}",
        p.profiled_span_ms,
        opt(p.inference_gpu_ms, 2),
        p.inference_gpu_ms.map_or(String::new(), |g| format!(
            " (sum / plain = {:.2})",
            total / g
        )),
    );
    let _ = writeln!(
        s,
        "work {:.1} M multiply-adds -> {:.2} GFLOP/s overall; {:.1} MB compulsory traffic -> {:.2} GB/s overall",
        macs as f64 / 1e6,
        2.0 * macs as f64 / (total * 1e6),
        bytes as f64 / 1e6,
        bytes as f64 / (total * 1e6),
    );
    let _ = writeln!(s, "by kernel family: {}", shares(&p.by_family(), total));
    let _ = writeln!(s, "by layer role:    {}", shares(&by_role(p, arch), total));
    let mut top: Vec<&LayerTiming> = p.layers.iter().collect();
    top.sort_by(|a, b| b.gpu_ms.total_cmp(&a.gpu_ms));
    let _ = writeln!(
        s,
        "top 10 by time: {}",
        top.iter()
            .take(10)
            .map(|l| format!(
                "{} {} {:.2} ms ({} GFLOP/s)",
                l.name,
                shape(l.input),
                l.gpu_ms,
                opt(l.gflops(), 2)
            ))
            .collect::<Vec<_>>()
            .join("; ")
    );
    s
}

fn groups_json(groups: &[(&'static str, f64)], total: f64) -> Value {
    groups
        .iter()
        .map(|(k, ms)| (k.to_string(), json!({"ms": ms, "share": ms / total})))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// The JSON of one profile.
pub fn json(profiled: &Profiled, arch: &Architecture) -> Value {
    let p = &profiled.profile;
    let total = p.total_ms();
    json!({
        "others_cpu_pct": profiled.others_cpu_pct,
        "resolution": p.resolution.side(),
        "method": p.method.name(),
        "iters": p.iters,
        "weights": format!("{:?}", p.precision).to_lowercase(),
        "patch": p.patch_id,
        "total_ms": total,
        "profiled_span_ms": p.profiled_span_ms,
        "inference_gpu_ms": p.inference_gpu_ms,
        "multiply_adds": p.multiply_adds(),
        "bytes": p.bytes(),
        "gflops": 2.0 * p.multiply_adds() as f64 / (total * 1e6),
        "gbytes_per_s": p.bytes() as f64 / (total * 1e6),
        "by_family": groups_json(&p.by_family(), total),
        "by_role": groups_json(&by_role(p, arch), total),
        "layers": p.layers.iter().map(|l| json!({
            "name": l.name,
            "kernel": l.kernel.entry_point(),
            "family": l.kernel.family().name,
            "role": role(l.step, arch),
            "input": l.input,
            "output": l.output,
            "kernel_size": l.kernel_size,
            "stride": l.stride,
            "gpu_ms": l.gpu_ms,
            "min_ms": l.min_ms,
            "max_ms": l.max_ms,
            "multiply_adds": l.multiply_adds,
            "bytes": l.bytes,
            "gflops": l.gflops(),
            "gbytes_per_s": l.gbytes_per_s(),
        })).collect::<Vec<_>>(),
    })
}

//! `--patches-per-pass K,...`: K patches (tasks) over one frame in one pass
//! ([`Engine::classify_patches`]) against K separate inferences and against
//! one inference, interleaved round by round so machine noise hits all
//! alike; ratios are of medians from the same run.

use std::time::Instant;

use anyhow::{Result, bail};
use patchrt::{Engine, Resolution, RgbaImage};
use serde_json::{Value, json};

use crate::stats::Percentiles;

/// Timings at one K.
pub struct PassSize {
    /// Patches in the pass.
    pub patches: usize,
    /// Wall time of one pass (submit to results), ms.
    pub pass_ms: Percentiles,
    /// GPU time of the pass, ms, where timestamps exist.
    pub pass_gpu_ms: Option<Percentiles>,
    /// Wall time of the same K patches as K inferences back to back, ms.
    pub separate_ms: Percentiles,
    /// Fastest pass, ms: on a shared machine the least disturbed sample.
    pub pass_min_ms: f64,
}

/// Everything measured at one resolution.
pub struct BatchResult {
    /// Resolution.
    pub resolution: Resolution,
    /// Patch ids used, in order (a pass over K takes the first K).
    pub ids: Vec<String>,
    /// One inference (the first id), ms.
    pub one_ms: Percentiles,
    /// Fastest single inference, ms.
    pub one_min_ms: f64,
    /// Multiply-adds of one inference (with the backbone's classifier).
    pub multiply_adds: u64,
    /// Per K.
    pub sizes: Vec<PassSize>,
}

/// The ids a pass over up to `max` patches takes at `res`: every resident
/// patch serving `res` (its own resolution or any), the default last,
/// repeated in turn when fewer than `max` exist.
fn pass_ids(engine: &Engine, res: Resolution, max: usize) -> Vec<String> {
    let mut ids: Vec<String> = engine
        .patches()
        .into_iter()
        .filter(|p| p.id != patchrt::patch::DEFAULT_PATCH_ID)
        .filter(|p| p.resolution.is_none_or(|r| r == res.side()))
        .map(|p| p.id)
        .collect();
    ids.push(patchrt::patch::DEFAULT_PATCH_ID.to_string());
    ids.iter().cycle().take(max).cloned().collect()
}

fn fastest(samples: &[f64]) -> f64 {
    samples.iter().copied().fold(f64::NAN, f64::min)
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// Measures `sizes` at every resolution: `warmup` untimed rounds, then
/// `rounds` timed ones, each running one inference, and per K one pass and K
/// separate inferences, in an order rotated every round.
pub fn run(
    engine: &Engine,
    image: &RgbaImage<'_>,
    resolutions: &[Resolution],
    sizes: &[usize],
    warmup: usize,
    rounds: usize,
) -> Result<Vec<BatchResult>> {
    let max = sizes.iter().copied().max().unwrap_or(1);
    if sizes.contains(&0) || max > engine.max_patches_per_pass() as usize {
        bail!(
            "--patches-per-pass takes 1 to {} patches",
            engine.max_patches_per_pass()
        );
    }
    let mut out = Vec::new();
    for &res in resolutions {
        let ids = pass_ids(engine, res, max);
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        // Slot 0: one inference; slot 1 + 2i: pass of sizes[i]; 2 + 2i: separate.
        let slots = 1 + 2 * sizes.len();
        let mut samples = vec![Vec::new(); slots];
        let mut gpu = vec![Vec::new(); sizes.len()];
        for round in 0..warmup + rounds {
            for step in 0..slots {
                let slot = (step + round) % slots;
                let started = Instant::now();
                let gpu_ms = match slot {
                    0 => {
                        engine.activate(refs[0])?;
                        engine.classify(image, res)?.gpu_ms
                    }
                    s if s % 2 == 1 => {
                        let k = sizes[(s - 1) / 2];
                        let results = engine.classify_patches(image, &refs[..k], res)?;
                        results.first().and_then(|c| c.gpu_ms)
                    }
                    s => {
                        for id in &refs[..sizes[(s - 2) / 2]] {
                            engine.activate(id)?;
                            engine.classify(image, res)?;
                        }
                        None
                    }
                };
                let ms = ms_since(started);
                if round >= warmup {
                    samples[slot].push(ms);
                    if slot % 2 == 1
                        && let Some(g) = gpu_ms
                    {
                        gpu[(slot - 1) / 2].push(g);
                    }
                }
            }
        }
        let p = |v: &[f64]| {
            Percentiles::of(v).unwrap_or(Percentiles {
                p50: f64::NAN,
                p90: f64::NAN,
                p99: f64::NAN,
            })
        };
        let sizes = sizes
            .iter()
            .enumerate()
            .map(|(i, &k)| PassSize {
                patches: k,
                pass_ms: p(&samples[1 + 2 * i]),
                pass_gpu_ms: Percentiles::of(&gpu[i]),
                separate_ms: p(&samples[2 + 2 * i]),
                pass_min_ms: fastest(&samples[1 + 2 * i]),
            })
            .collect();
        eprintln!("  {res}: done");
        let backbone = engine.backbone();
        out.push(BatchResult {
            resolution: res,
            ids,
            one_ms: p(&samples[0]),
            one_min_ms: fastest(&samples[0]),
            multiply_adds: backbone
                .arch
                .multiply_adds(res.side(), backbone.config.padding),
            sizes,
        });
    }
    Ok(out)
}

/// The printed tables.
pub fn table(results: &[BatchResult], rounds: usize) -> String {
    let mut s = String::new();
    for r in results {
        let gflops =
            |patches: usize, ms: f64| 2.0 * patches as f64 * r.multiply_adds as f64 / (ms * 1e6);
        s.push_str(&format!(
            "\nK patches in one pass at {}: medians of {rounds} interleaved rounds; one inference p50 {:.2} ms ({:.1} GFLOP/s)\n",
            r.resolution,
            r.one_ms.p50,
            gflops(1, r.one_ms.p50)
        ));
        s.push_str(&format!("  patches in order: {}\n", r.ids.join(", ")));
        s.push_str(
            "   K   pass p50   GPU p50   per task   K separate p50   pass / separate   pass / one inference   fastest pass / fastest one   pass GFLOP/s\n",
        );
        for k in &r.sizes {
            let gpu = k
                .pass_gpu_ms
                .map_or_else(|| "-".to_string(), |g| format!("{:.2}", g.p50));
            s.push_str(&format!(
                "  {:>2}  {:>9.2}  {:>8}  {:>9.2}  {:>15.2}  {:>16.2}  {:>21.2}  {:>27.2}  {:>13.1}\n",
                k.patches,
                k.pass_ms.p50,
                gpu,
                k.pass_ms.p50 / k.patches as f64,
                k.separate_ms.p50,
                k.pass_ms.p50 / k.separate_ms.p50,
                k.pass_ms.p50 / r.one_ms.p50,
                k.pass_min_ms / r.one_min_ms,
                gflops(k.patches, k.pass_ms.p50),
            ));
        }
    }
    s
}

/// The JSON section.
pub fn json(results: &[BatchResult], rounds: usize) -> Value {
    results
        .iter()
        .map(|r| {
            json!({
                "resolution": r.resolution.side(),
                "rounds": rounds,
                "ids": r.ids,
                "one_inference_ms": r.one_ms.json(),
                "one_inference_min_ms": r.one_min_ms,
                "multiply_adds_per_inference": r.multiply_adds,
                "sizes": r.sizes.iter().map(|k| json!({
                    "patches": k.patches,
                    "pass_ms": k.pass_ms.json(),
                    "pass_gpu_ms": crate::stats::json_opt(k.pass_gpu_ms),
                    "separate_ms": k.separate_ms.json(),
                    "per_task_ms": k.pass_ms.p50 / k.patches as f64,
                    "pass_over_separate": k.pass_ms.p50 / k.separate_ms.p50,
                    "pass_over_one_inference": k.pass_ms.p50 / r.one_ms.p50,
                    "pass_min_ms": k.pass_min_ms,
                    "fastest_pass_over_fastest_one": k.pass_min_ms / r.one_min_ms,
                })).collect::<Vec<_>>(),
            })
        })
        .collect::<Vec<_>>()
        .into()
}

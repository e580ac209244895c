//! The printed table and the JSON report.

use std::fmt::Write;

use patchrt::{AdapterReport, Engine, Patch, WeightPrecision};
use serde_json::{Value, json};

use crate::measure::{ResolutionResult, SwapResult};
use crate::source::ModelSource;
use crate::startup::{Startup, cache_json, state_text};
use crate::stats::json_opt;

/// Everything measured in one run.
pub struct Report<'a> {
    /// Adapter used.
    pub adapter: AdapterReport,
    /// The engine.
    pub engine: &'a Engine,
    /// Model source.
    pub source: &'a ModelSource,
    /// Loaded patches.
    pub parsed: &'a [Patch],
    /// Per-resolution results.
    pub results: &'a [ResolutionResult],
    /// Swap results (absent without patches).
    pub swaps: Option<&'a SwapResult>,
    /// Engine creation (device, upload, pipelines), ms.
    pub init_ms: f64,
    /// Engine creation by phase.
    pub startup: &'a Startup,
    /// First inference (includes lazy shader compilation on some drivers), ms.
    pub first_ms: f64,
    /// Weight storage precision.
    pub precision: WeightPrecision,
}

impl Report<'_> {
    fn one_patch_bytes(&self) -> (u64, usize) {
        let infos = self.engine.patches();
        let sb = infos
            .iter()
            .find(|p| p.id != "default" && !p.kind.depthwise && !p.kind.classifier);
        let file = self
            .parsed
            .iter()
            .zip(&self.source.patches)
            .find(|(p, _)| Some(&p.id) == sb.map(|s| &s.id));
        (
            sb.map_or(0, |p| p.gpu_bytes),
            file.map_or(0, |(_, b)| b.len()),
        )
    }

    /// Human-readable table.
    pub fn table(&self) -> String {
        let arch = &self.engine.backbone().arch;
        let mem = self.engine.memory();
        let mut s = String::new();
        let _ = writeln!(
            s,
            "\nPatchRT on {} ({}, {}), {:?} weights{}",
            self.adapter.name,
            self.adapter.backend,
            self.adapter.device_type,
            self.precision,
            if self.source.synthetic {
                ", SYNTHETIC weights"
            } else {
                ""
            }
        );
        let _ = writeln!(
            s,
            "model: mobilenet_v2 x{} ({} params; scale/bias patch {} params = {:.2}%)",
            arch.width,
            arch.parameter_count(),
            arch.scale_bias_params(),
            100.0 * arch.scale_bias_params() as f64 / arch.parameter_count() as f64
        );
        let _ = writeln!(
            s,
            "engine init {:.1} ms (device {:.1}, pipelines {:.1}, upload and buffers {:.1}), first inference {:.1} ms; pipeline cache: {}\n",
            self.init_ms,
            self.startup.context_ms,
            self.startup.pipelines_ms,
            self.startup.engine_ms,
            self.first_ms,
            state_text(&self.startup.cache)
        );
        let _ = writeln!(
            s,
            "{:>5} {:>18} {:>9} {:>9} {:>9} {:>9} {:>12}  top-1",
            "res", "patch", "p50 ms", "p90 ms", "p99 ms", "gpu p50", "err vs cpu"
        );
        for r in self.results {
            let gpu = r
                .gpu_ms
                .map_or("-".to_string(), |g| format!("{:.2}", g.p50));
            let err = r
                .max_abs_err_vs_cpu
                .map_or("-".to_string(), |e| format!("{e:.2e}"));
            let _ = writeln!(
                s,
                "{:>5} {:>18} {:>9.2} {:>9.2} {:>9.2} {:>9} {:>12}  {} ({:.3})",
                r.size,
                r.patch_id,
                r.latency_ms.p50,
                r.latency_ms.p90,
                r.latency_ms.p99,
                gpu,
                err,
                r.top1.0,
                r.top1.1
            );
        }
        if let (Some(first), Some(last)) = (self.results.first(), self.results.last()) {
            let _ = writeln!(
                s,
                "latency ratio {}/{}: {:.2}x",
                first.size,
                last.size,
                first.latency_ms.p50 / last.latency_ms.p50
            );
        }
        if let Some(sw) = self.swaps {
            let _ = writeln!(
                s,
                "\nswap: hot (activate resident) p50 {:.2} us, p99 {:.2} us; cold (load from bytes + activate) p50 {:.1} us; \
                 full backbone reload + first inference p50 {:.1} ms ({:.0}x cold)",
                sw.hot_us.p50,
                sw.hot_us.p99,
                sw.cold_us.p50,
                sw.full_reload_ms.p50,
                sw.full_reload_ms.p50 * 1e3 / sw.cold_us.p50
            );
        }
        let (patch_gpu, patch_file) = self.one_patch_bytes();
        let _ = writeln!(
            s,
            "memory: backbone {} B on GPU, one scale/bias patch {} B on GPU ({} B file), activations {} B, all patches {} B",
            mem.backbone_bytes, patch_gpu, patch_file, mem.activation_bytes, mem.patch_bytes
        );
        s
    }

    /// The JSON report (schema in the README).
    pub fn json(&self) -> Value {
        let arch = &self.engine.backbone().arch;
        let mem = self.engine.memory();
        let (patch_gpu, patch_file) = self.one_patch_bytes();
        json!({
            "device": {"name": self.adapter.name, "backend": self.adapter.backend, "device_type": self.adapter.device_type, "driver": self.adapter.driver},
            "model": {
                "arch": "mobilenet_v2",
                "width": arch.width,
                "params": arch.parameter_count(),
                "patch_params": arch.scale_bias_params(),
                "synthetic": self.source.synthetic,
                "weights": format!("{:?}", self.precision).to_lowercase(),
            },
            "init_ms": self.init_ms,
            "init_phases_ms": {
                "context": self.startup.context_ms,
                "pipelines": self.startup.pipelines_ms,
                "engine": self.startup.engine_ms,
            },
            "pipeline_cache": cache_json(&self.startup.cache),
            "first_inference_ms": self.first_ms,
            "resolutions": self.results.iter().map(|r| json!({
                "size": r.size,
                "patch": r.patch_id,
                "latency_ms": r.latency_ms.json(),
                "gpu_ms": json_opt(r.gpu_ms),
                "max_abs_err_vs_cpu": r.max_abs_err_vs_cpu,
            })).collect::<Vec<_>>(),
            "swap": self.swaps.map_or(Value::Null, |s| json!({
                "hot_us": s.hot_us.json(),
                "cold_us": s.cold_us.json(),
                "full_reload_ms": s.full_reload_ms.json(),
            })),
            "memory": {
                "backbone_bytes": mem.backbone_bytes,
                "patch_bytes": patch_gpu,
                "patch_file_bytes": patch_file,
                "all_patches_bytes": mem.patch_bytes,
                "activation_bytes": mem.activation_bytes,
            },
        })
    }
}

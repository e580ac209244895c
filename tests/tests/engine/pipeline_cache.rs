//! The persisted pipeline cache (`ContextOptions::pipeline_cache`): written
//! after pipeline creation, loaded at the next open, damaged files rejected
//! without failing, and a no-op on adapters without cache support.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use patchrt::gpu::PipelineCacheState;
use patchrt::{
    AdapterPreference, ContextOptions, Engine, EngineOptions, Error, GpuContext, Resolution,
    WeightPrecision,
};
use patchrt_tests::{Tolerance, assert_close, gpu, parse_backbone, small_backbone_bytes};

use super::image;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "patchrt-pipeline-cache-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn open(adapter: AdapterPreference, path: &Path) -> Result<Arc<GpuContext>, Error> {
    GpuContext::open(&ContextOptions {
        adapter,
        pipeline_cache: Some(path.to_path_buf()),
    })
}

fn open_auto(path: &Path) -> Arc<GpuContext> {
    open(AdapterPreference::Auto, path).unwrap_or_else(|e| panic!("opening the context: {e}"))
}

/// Probabilities of the small backbone at 96 on `ctx` (creating its pipelines).
fn classify(ctx: &Arc<GpuContext>) -> Vec<f32> {
    let options = EngineOptions {
        resolutions: vec![Resolution(96)],
        ..EngineOptions::default()
    };
    let e = Engine::with_context(ctx.clone(), parse_backbone(small_backbone_bytes()), options)
        .unwrap_or_else(|e| panic!("engine: {e}"));
    e.classify(&image(), Resolution(96))
        .unwrap_or_else(|e| panic!("classify: {e}"))
        .probabilities
}

#[test]
fn contexts_without_a_cache_file_report_off() {
    let Some(ctx) = gpu() else { return };
    assert_eq!(ctx.pipeline_cache().state, PipelineCacheState::Off);
    assert!(matches!(ctx.save_pipeline_cache(), Ok(None)));
}

#[test]
fn pipeline_cache_round_trips_and_damaged_files_start_empty() {
    if gpu().is_none() {
        return;
    }
    let dir = scratch("round-trip");
    let path = dir.join("nested").join("pipelines.cache");
    let first = open_auto(&path);
    let report = first.pipeline_cache();
    if report.state == PipelineCacheState::Unsupported {
        eprintln!(
            "NOTE: adapter {} has no pipeline cache; checked only that it is a no-op",
            first.report.name
        );
        classify(&first);
        assert!(!path.exists(), "an unsupported cache must not write a file");
        return;
    }
    assert_eq!(report.state, PipelineCacheState::Created);
    let reference = classify(&first);
    let saved = first
        .pipeline_cache()
        .saved_bytes
        .unwrap_or_else(|| panic!("pipeline creation did not save the cache"));
    assert!(path.exists(), "cache file (and its directory) written");
    drop(first);

    let second = open_auto(&path);
    assert_eq!(
        second.pipeline_cache().state,
        PipelineCacheState::Loaded { bytes: saved }
    );
    assert_close(
        &classify(&second),
        &reference,
        Tolerance::Exact,
        "with the loaded cache",
    );
    drop(second);

    let good = std::fs::read(&path).unwrap_or_else(|e| panic!("{e}"));
    let mut flipped = good.clone();
    if let Some(b) = flipped.last_mut() {
        *b ^= 0x40;
    }
    let damaged: [(&str, Vec<u8>, &str); 3] = [
        ("flipped byte", flipped, "SHA-256"),
        (
            "truncated",
            good[..20.min(good.len())].to_vec(),
            "truncated",
        ),
        (
            "garbage",
            b"not a cache file at all".to_vec(),
            "not a PatchRT",
        ),
    ];
    for (what, bytes, reason_part) in damaged {
        std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{e}"));
        let ctx = open_auto(&path);
        match ctx.pipeline_cache().state {
            PipelineCacheState::Rejected { reason } => {
                assert!(reason.contains(reason_part), "{what}: reason {reason:?}")
            }
            other => panic!("{what}: expected Rejected, got {other:?}"),
        }
        assert_close(&classify(&ctx), &reference, Tolerance::Exact, what);
        drop(ctx);
        // The rejected file was replaced by a good one at pipeline creation.
        assert!(
            matches!(
                open_auto(&path).pipeline_cache().state,
                PipelineCacheState::Loaded { .. }
            ),
            "{what}: file not rewritten"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn pipeline_cache_is_a_no_op_on_an_adapter_without_support() {
    if gpu().is_none() {
        return;
    }
    // wgpu 30 has pipeline caches on Vulkan only; Mesa's GL driver is the
    // adapter without one that this machine class has.
    let dir = scratch("unsupported");
    let path = dir.join("pipelines.cache");
    let ctx = match open(AdapterPreference::Named("gl".into()), &path) {
        Ok(ctx) => ctx,
        Err(Error::NoAdapter { available, .. }) => {
            eprintln!(
                "NOTE: no GL adapter here (available: {available:?}); the unsupported path was not exercised"
            );
            return;
        }
        Err(e) => panic!("opening a GL context: {e}"),
    };
    assert_eq!(ctx.pipeline_cache().state, PipelineCacheState::Unsupported);
    ctx.pipelines(WeightPrecision::F32)
        .unwrap_or_else(|e| panic!("pipelines without cache support: {e}"));
    assert!(matches!(ctx.save_pipeline_cache(), Ok(None)));
    assert!(!path.exists(), "an unsupported cache must not write a file");
    let _ = std::fs::remove_dir_all(&dir);
}

//! The one GPU context: instance, adapter, device, queue, layouts, pipelines.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::gpu::adapter::{self, AdapterPreference, AdapterReport};
use crate::gpu::layouts::Layouts;
use crate::gpu::pipeline_cache::{self, PipelineCacheFile, PipelineCacheReport};
use crate::gpu::pipelines::Pipelines;
use crate::shaders::WeightPrecision;

/// How to open a [`GpuContext`].
///
/// The pipeline cache is configured here rather than per engine because
/// pipelines belong to the context: every engine on a context shares them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContextOptions {
    /// Adapter choice (`PATCHRT_ADAPTER` overrides `Auto`).
    pub adapter: AdapterPreference,
    /// File that keeps the driver's pipeline cache between process starts
    /// (see [`crate::gpu::pipeline_cache`]); read when the context opens,
    /// written after pipelines are created. Put it in app-private storage.
    pub pipeline_cache: Option<PathBuf>,
}

/// Device, queue and everything created once per device.
///
/// Shared by every engine on the device through an `Arc`; wgpu's device and
/// queue are themselves thread-safe.
pub struct GpuContext {
    /// The device.
    pub device: wgpu::Device,
    /// Its queue.
    pub queue: wgpu::Queue,
    /// The chosen adapter.
    pub report: AdapterReport,
    /// Features enabled on the device.
    pub features: wgpu::Features,
    /// Limits of the device.
    pub limits: wgpu::Limits,
    /// Shared bind-group and pipeline layouts.
    pub layouts: Layouts,
    pipelines: Mutex<HashMap<WeightPrecision, Arc<Pipelines>>>,
    errors: Arc<Mutex<Vec<String>>>,
    pipeline_cache: Option<PipelineCacheFile>,
    pipeline_cache_report: Mutex<PipelineCacheReport>,
}

impl std::fmt::Debug for GpuContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuContext")
            .field("report", &self.report)
            .finish_non_exhaustive()
    }
}

impl GpuContext {
    /// Chooses an adapter and creates the device, enabling `shader-f16` and
    /// timestamp queries where the adapter has them; no pipeline cache.
    ///
    /// # Errors
    /// [`Error::NoAdapter`], [`Error::DeviceRequest`].
    pub fn new(preference: &AdapterPreference) -> Result<Arc<GpuContext>> {
        GpuContext::open(&ContextOptions {
            adapter: preference.clone(),
            pipeline_cache: None,
        })
    }

    /// Like [`GpuContext::new`], and opens the pipeline cache file if one is
    /// configured. A cache that cannot be used (missing, corrupt, made on
    /// another adapter or driver, or an adapter without cache support) is
    /// not an error: [`GpuContext::pipeline_cache`] says what happened.
    ///
    /// # Errors
    /// [`Error::NoAdapter`], [`Error::DeviceRequest`].
    pub fn open(options: &ContextOptions) -> Result<Arc<GpuContext>> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
        let adapter = adapter::choose(&instance, &options.adapter)?;
        let info = adapter.get_info();
        let report = AdapterReport::of(&info);
        let mut wanted = wgpu::Features::SHADER_F16
            | wgpu::Features::TIMESTAMP_QUERY
            | wgpu::Features::TIMESTAMP_QUERY_INSIDE_PASSES;
        if options.pipeline_cache.is_some() {
            wanted |= wgpu::Features::PIPELINE_CACHE;
        }
        let features = adapter.features() & wanted;
        let limits = adapter.limits();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("patchrt"),
            required_features: features,
            required_limits: limits.clone(),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        }))
        .map_err(|e| Error::DeviceRequest {
            adapter: report.name.clone(),
            message: e.to_string(),
        })?;
        let errors = Arc::new(Mutex::new(Vec::new()));
        let sink = errors.clone();
        // wgpu's default handler panics; record the error instead so the
        // current call returns Error::Gpu and nothing unwinds into an app.
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            log::error!("wgpu: {e}");
            if let Ok(mut v) = sink.lock() {
                v.push(e.to_string());
            }
        }));
        log::info!(
            "patchrt: adapter {} ({}, {}), features {:?}",
            report.name,
            report.backend,
            report.device_type,
            features
        );
        let layouts = Layouts::new(&device);
        let (pipeline_cache, cache_report) =
            pipeline_cache::open(&device, &info, options.pipeline_cache.as_deref());
        Ok(Arc::new(GpuContext {
            device,
            queue,
            report,
            features,
            limits,
            layouts,
            pipelines: Mutex::new(HashMap::new()),
            errors,
            pipeline_cache,
            pipeline_cache_report: Mutex::new(cache_report),
        }))
    }

    /// Whether f16 weight storage is available.
    pub fn has_f16(&self) -> bool {
        self.features.contains(wgpu::Features::SHADER_F16)
    }

    /// Whether GPU timestamps are available.
    pub fn has_timestamps(&self) -> bool {
        self.features.contains(wgpu::Features::TIMESTAMP_QUERY)
    }

    /// Whether timestamps can be written between dispatches of one pass.
    pub fn has_timestamps_inside_passes(&self) -> bool {
        self.features.contains(
            wgpu::Features::TIMESTAMP_QUERY | wgpu::Features::TIMESTAMP_QUERY_INSIDE_PASSES,
        )
    }

    /// The pipeline cache's file, state and last save.
    pub fn pipeline_cache(&self) -> PipelineCacheReport {
        self.pipeline_cache_report
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Writes the pipeline cache to its file now (pipeline creation already
    /// does after creating pipelines). Returns the bytes of driver data
    /// written; `None` when there is no cache or the file already holds it.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be written.
    pub fn save_pipeline_cache(&self) -> Result<Option<usize>> {
        let Some(file) = &self.pipeline_cache else {
            return Ok(None);
        };
        let saved = file.save();
        let mut report = self
            .pipeline_cache_report
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        match &saved {
            Ok(Some(n)) => {
                report.saved_bytes = Some(*n);
                report.save_error = None;
            }
            Ok(None) => {}
            Err(e) => report.save_error = Some(e.to_string()),
        }
        saved
    }

    /// The pipelines for a weight precision, created on first use.
    ///
    /// # Errors
    /// [`Error::F16Unsupported`], [`Error::ShaderInvalid`].
    pub fn pipelines(&self, precision: WeightPrecision) -> Result<Arc<Pipelines>> {
        if precision == WeightPrecision::F16 && !self.has_f16() {
            return Err(Error::F16Unsupported {
                adapter: self.report.name.clone(),
            });
        }
        let mut map = self.pipelines.lock().map_err(|_| Error::Gpu {
            operation: "pipelines",
            message: "lock poisoned".into(),
        })?;
        if let Some(p) = map.get(&precision) {
            return Ok(p.clone());
        }
        let p = Arc::new(Pipelines::new(
            &self.device,
            &self.layouts.pipeline,
            precision,
            self.pipeline_cache.as_ref().map(|c| &c.cache),
        )?);
        map.insert(precision, p.clone());
        drop(map);
        // A failed save costs only the next start's compile time, so it is
        // logged and reported, not returned.
        if let Err(e) = self.save_pipeline_cache() {
            log::warn!("patchrt: pipeline cache not saved: {e}");
        }
        Ok(p)
    }

    /// Returns the first GPU error recorded since the last check, if any.
    ///
    /// # Errors
    /// [`Error::Gpu`] carrying wgpu's message.
    pub fn check_errors(&self, operation: &'static str) -> Result<()> {
        let mut v = self.errors.lock().map_err(|_| Error::Gpu {
            operation,
            message: "lock poisoned".into(),
        })?;
        match v.drain(..).next() {
            Some(message) => Err(Error::Gpu { operation, message }),
            None => Ok(()),
        }
    }
}

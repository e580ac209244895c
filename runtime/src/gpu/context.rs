//! The one GPU context: instance, adapter, device, queue, layouts, pipelines.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::gpu::adapter::{self, AdapterPreference, AdapterReport};
use crate::gpu::layouts::Layouts;
use crate::gpu::pipelines::Pipelines;
use crate::shaders::WeightPrecision;

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
    /// timestamp queries where the adapter has them.
    ///
    /// # Errors
    /// [`Error::NoAdapter`], [`Error::DeviceRequest`].
    pub fn new(preference: &AdapterPreference) -> Result<Arc<GpuContext>> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
        let adapter = adapter::choose(&instance, preference)?;
        let report = AdapterReport::of(&adapter.get_info());
        let wanted = wgpu::Features::SHADER_F16 | wgpu::Features::TIMESTAMP_QUERY;
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
        Ok(Arc::new(GpuContext {
            device,
            queue,
            report,
            features,
            limits,
            layouts,
            pipelines: Mutex::new(HashMap::new()),
            errors,
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
        )?);
        map.insert(precision, p.clone());
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

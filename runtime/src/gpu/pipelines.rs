//! One compute pipeline per entry point and weight precision, created once.
//!
//! Shapes live in the parameter records, not in the shader text, so the same
//! pipelines serve every layer and every resolution.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::ops::Kernel;
use crate::shaders::{WeightPrecision, module_source};

/// Pipelines of every kernel at one weight precision.
#[derive(Debug)]
pub struct Pipelines {
    by_kernel: HashMap<Kernel, wgpu::ComputePipeline>,
}

impl Pipelines {
    /// Compiles every family and creates every entry point's pipeline,
    /// through `cache` when the context has a pipeline cache.
    ///
    /// # Errors
    /// [`Error::ShaderInvalid`] when wgpu rejects a module or pipeline.
    pub fn new(
        device: &wgpu::Device,
        layout: &wgpu::PipelineLayout,
        precision: WeightPrecision,
        cache: Option<&wgpu::PipelineCache>,
    ) -> Result<Pipelines> {
        let mut modules = HashMap::new();
        let mut by_kernel = HashMap::new();
        for kernel in Kernel::ALL {
            let family = kernel.family();
            let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
            let module = modules.entry(family.name).or_insert_with(|| {
                device.create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(family.name),
                    source: wgpu::ShaderSource::Wgsl(module_source(family, precision).into()),
                })
            });
            let label = format!("{}/{}/{precision:?}", family.name, kernel.entry_point());
            let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(&label),
                layout: Some(layout),
                module,
                entry_point: Some(kernel.entry_point()),
                compilation_options: wgpu::PipelineCompilationOptions::default(),
                cache,
            });
            if let Some(e) = pollster::block_on(scope.pop()) {
                return Err(Error::ShaderInvalid {
                    shader: family.name,
                    message: e.to_string(),
                });
            }
            by_kernel.insert(kernel, pipeline);
        }
        Ok(Pipelines { by_kernel })
    }

    /// The pipeline of `kernel`.
    pub fn get(&self, kernel: Kernel) -> &wgpu::ComputePipeline {
        // Construction inserts every member of Kernel::ALL, so the lookup cannot miss.
        &self.by_kernel[&kernel]
    }
}

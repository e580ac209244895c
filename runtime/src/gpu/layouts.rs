//! The three bind-group layouts every kernel shares.
//!
//! - group 0, per dispatch ("io"): 0 params (uniform, dynamic offset),
//!   1 input, 4 output, 5 residual;
//! - group 1, per backbone ("weights"): 2 dense conv weights;
//! - group 2, per patch or per batch of patches ("patch"): 3 scale/bias,
//!   6 depthwise kernels, 7 classifier weights, 8 classifier bias, 9 the
//!   batch record (uniform).
//!
//! One pipeline layout over the three serves every kernel, so one patch bind
//! group is valid for every dispatch and activating a patch is a pointer swap.

use std::num::NonZeroU64;

use crate::ops::{BatchParams, LayerParams};

/// The shared layouts.
#[derive(Debug)]
pub struct Layouts {
    /// Group 0.
    pub io: wgpu::BindGroupLayout,
    /// Group 1.
    pub weights: wgpu::BindGroupLayout,
    /// Group 2.
    pub patch: wgpu::BindGroupLayout,
    /// Pipeline layout over groups 0, 1, 2.
    pub pipeline: wgpu::PipelineLayout,
}

fn storage(binding: u32, read_only: bool) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage { read_only },
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

impl Layouts {
    /// Creates the layouts on `device`.
    pub fn new(device: &wgpu::Device) -> Layouts {
        let io =
            device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: Some("layout/io"),
                entries: &[
                    wgpu::BindGroupLayoutEntry {
                        binding: 0,
                        visibility: wgpu::ShaderStages::COMPUTE,
                        ty: wgpu::BindingType::Buffer {
                            ty: wgpu::BufferBindingType::Uniform,
                            has_dynamic_offset: true,
                            min_binding_size: NonZeroU64::new(
                                std::mem::size_of::<LayerParams>() as u64
                            ),
                        },
                        count: None,
                    },
                    storage(1, true),
                    storage(4, false),
                    storage(5, true),
                ],
            });
        let weights = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("layout/weights"),
            entries: &[storage(2, true)],
        });
        let patch =
            device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: Some("layout/patch"),
                entries: &[
                    storage(3, true),
                    storage(6, true),
                    storage(7, true),
                    storage(8, true),
                    wgpu::BindGroupLayoutEntry {
                        binding: 9,
                        visibility: wgpu::ShaderStages::COMPUTE,
                        ty: wgpu::BindingType::Buffer {
                            ty: wgpu::BufferBindingType::Uniform,
                            has_dynamic_offset: false,
                            min_binding_size: NonZeroU64::new(
                                std::mem::size_of::<BatchParams>() as u64
                            ),
                        },
                        count: None,
                    },
                ],
            });
        let pipeline = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("layout/pipeline"),
            bind_group_layouts: &[Some(&io), Some(&weights), Some(&patch)],
            immediate_size: 0,
        });
        Layouts {
            io,
            weights,
            patch,
            pipeline,
        }
    }
}

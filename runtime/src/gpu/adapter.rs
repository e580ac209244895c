//! Choosing the adapter: a hardware GPU when present, else any adapter that can
//! run compute shaders, including Mesa's software lavapipe/llvmpipe.

use crate::error::{Error, Result};

/// Environment variable that forces an adapter (see [`AdapterPreference::Named`]).
pub const ADAPTER_ENV: &str = "PATCHRT_ADAPTER";

/// Which adapter to use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AdapterPreference {
    /// `PATCHRT_ADAPTER` if set, else the best adapter: discrete, integrated,
    /// virtual, then software; Vulkan/Metal/DX12 before GL.
    #[default]
    Auto,
    /// The first adapter whose name or backend contains this text (case
    /// insensitive); `cpu` or `software` selects a software adapter.
    Named(String),
}

/// What was chosen, for logs and reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterReport {
    /// Adapter (device) name.
    pub name: String,
    /// Backend (`vulkan`, `metal`, `dx12`, `gl`).
    pub backend: String,
    /// `discrete_gpu`, `integrated_gpu`, `virtual_gpu`, `cpu` or `other`.
    pub device_type: String,
    /// Driver name and version.
    pub driver: String,
}

impl AdapterReport {
    /// Describes an adapter.
    pub fn of(info: &wgpu::AdapterInfo) -> AdapterReport {
        let device_type = match info.device_type {
            wgpu::DeviceType::DiscreteGpu => "discrete_gpu",
            wgpu::DeviceType::IntegratedGpu => "integrated_gpu",
            wgpu::DeviceType::VirtualGpu => "virtual_gpu",
            wgpu::DeviceType::Cpu => "cpu",
            wgpu::DeviceType::Other => "other",
        };
        AdapterReport {
            name: info.name.clone(),
            backend: info.backend.to_str().to_string(),
            device_type: device_type.to_string(),
            driver: format!("{} {}", info.driver, info.driver_info)
                .trim()
                .to_string(),
        }
    }
}

fn rank(info: &wgpu::AdapterInfo) -> (u8, u8) {
    let kind = match info.device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    };
    let backend = match info.backend {
        wgpu::Backend::Vulkan | wgpu::Backend::Metal | wgpu::Backend::Dx12 => 0,
        _ => 1,
    };
    (kind, backend)
}

fn matches(info: &wgpu::AdapterInfo, wanted: &str) -> bool {
    let w = wanted.to_lowercase();
    if (w == "cpu" || w == "software") && info.device_type == wgpu::DeviceType::Cpu {
        return true;
    }
    info.name.to_lowercase().contains(&w) || info.backend.to_str().to_lowercase() == w
}

/// Picks an adapter that can run compute shaders.
///
/// # Errors
/// [`Error::NoAdapter`] when none exists or none matches the preference.
pub fn choose(instance: &wgpu::Instance, preference: &AdapterPreference) -> Result<wgpu::Adapter> {
    let mut adapters: Vec<wgpu::Adapter> =
        pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()))
            .into_iter()
            .filter(|a| {
                a.get_downlevel_capabilities()
                    .flags
                    .contains(wgpu::DownlevelFlags::COMPUTE_SHADERS)
            })
            .collect();
    adapters.sort_by_key(|a| rank(&a.get_info()));
    let names = || {
        adapters
            .iter()
            .map(|a| format!("{} ({})", a.get_info().name, a.get_info().backend.to_str()))
            .collect()
    };
    let wanted = match preference {
        AdapterPreference::Named(n) => Some(n.clone()),
        AdapterPreference::Auto => std::env::var(ADAPTER_ENV).ok().filter(|v| !v.is_empty()),
    };
    let pos = match &wanted {
        Some(w) => adapters.iter().position(|a| matches(&a.get_info(), w)),
        None => (!adapters.is_empty()).then_some(0),
    };
    match pos {
        Some(i) => Ok(adapters.swap_remove(i)),
        None => Err(Error::NoAdapter {
            requested: wanted,
            available: names(),
        }),
    }
}

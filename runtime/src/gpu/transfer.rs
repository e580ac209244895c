//! Uploads and readbacks: the only place that maps buffers.

use std::sync::mpsc;

use crate::error::{Error, Result};
use crate::gpu::GpuContext;

/// The smallest buffer created: the `_vec4` kernels view their bindings as
/// `array<vec4<f32>>`, and wgpu rejects a binding shorter than one element,
/// even a placeholder that the kernel never reads.
pub const MIN_BUFFER_BYTES: usize = 16;

/// Creates a buffer holding `bytes`, zero-padded to a multiple of 4 bytes and
/// to at least [`MIN_BUFFER_BYTES`].
pub fn upload(
    ctx: &GpuContext,
    label: &str,
    bytes: &[u8],
    usage: wgpu::BufferUsages,
) -> wgpu::Buffer {
    use wgpu::util::DeviceExt;
    let padded_len = bytes.len().max(MIN_BUFFER_BYTES).next_multiple_of(4);
    let contents: std::borrow::Cow<'_, [u8]> = if padded_len == bytes.len() {
        bytes.into()
    } else {
        let mut v = bytes.to_vec();
        v.resize(padded_len, 0);
        v.into()
    };
    ctx.device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: &contents,
            usage: usage | wgpu::BufferUsages::COPY_DST,
        })
}

/// f32 values as little-endian bytes.
pub fn f32_bytes(values: &[f32]) -> &[u8] {
    bytemuck::cast_slice(values)
}

/// f32 values converted to f16 bytes.
pub fn f16_bytes(values: &[f32]) -> Vec<u8> {
    values
        .iter()
        .flat_map(|v| half::f16::from_f32(*v).to_le_bytes())
        .collect()
}

/// Uploads weights as a storage buffer in the given storage precision; it
/// can be copied from (a pass over several patches copies their depthwise
/// kernels side by side).
pub fn upload_weights(
    ctx: &GpuContext,
    label: &str,
    values: &[f32],
    precision: crate::shaders::WeightPrecision,
) -> wgpu::Buffer {
    let usage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC;
    match precision {
        crate::shaders::WeightPrecision::F32 => upload(ctx, label, f32_bytes(values), usage),
        crate::shaders::WeightPrecision::F16 => upload(ctx, label, &f16_bytes(values), usage),
    }
}

/// Creates an empty buffer of `size` bytes, rounded as in [`upload`].
pub fn empty(ctx: &GpuContext, label: &str, size: u64, usage: wgpu::BufferUsages) -> wgpu::Buffer {
    ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: size.max(MIN_BUFFER_BYTES as u64).next_multiple_of(4),
        usage,
        mapped_at_creation: false,
    })
}

/// A buffer the CPU can read after a copy into it.
pub fn staging(ctx: &GpuContext, label: &str, size: u64) -> wgpu::Buffer {
    empty(
        ctx,
        label,
        size,
        wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
    )
}

/// Waits for all submitted work, then reads `len` bytes from the start of a
/// staging buffer.
///
/// # Errors
/// [`Error::Gpu`] when mapping fails or the device is lost.
pub fn read_back(ctx: &GpuContext, staging: &wgpu::Buffer, len: u64) -> Result<Vec<u8>> {
    let slice = staging.slice(..len.max(4).next_multiple_of(4));
    let (tx, rx) = mpsc::channel();
    slice.map_async(wgpu::MapMode::Read, move |r| {
        // The receiver outlives this callback (poll below waits for it).
        let _ = tx.send(r);
    });
    ctx.device
        .poll(wgpu::PollType::wait_indefinitely())
        .map_err(|e| Error::Gpu {
            operation: "poll",
            message: e.to_string(),
        })?;
    match rx.recv() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            return Err(Error::Gpu {
                operation: "map_async",
                message: e.to_string(),
            });
        }
        Err(e) => {
            return Err(Error::Gpu {
                operation: "map_async",
                message: e.to_string(),
            });
        }
    }
    let bytes = {
        let view = slice.get_mapped_range().map_err(|e| Error::Gpu {
            operation: "get_mapped_range",
            message: e.to_string(),
        })?;
        view[..len as usize].to_vec()
    };
    staging.unmap();
    ctx.check_errors("readback")?;
    Ok(bytes)
}

//! Per-engine buffers reused by every inference: parameter records,
//! activations, the uploaded frame, logits, probabilities, the readback
//! staging buffer and timestamp queries. Allocated once (sized for the largest
//! resolution) and grown only when a larger frame or class count arrives.

use crate::engine::plan::{PREPROCESS_STEP, Plan, Slot};
use crate::gpu::GpuContext;
use crate::gpu::transfer;
use crate::ops::{LayerParams, PARAMS_STRIDE};

/// Bytes reserved after the probabilities in the staging buffer for timestamps.
const TIMESTAMP_BYTES: u64 = 16;

/// Reused GPU buffers and the per-step bind groups over them.
pub struct FrameResources {
    /// All parameter records of all resolutions.
    pub params: wgpu::Buffer,
    activations: Vec<wgpu::Buffer>,
    image: wgpu::Buffer,
    logits: wgpu::Buffer,
    /// Final probabilities.
    pub probabilities: wgpu::Buffer,
    /// Readback buffer: probabilities then timestamps.
    pub staging: wgpu::Buffer,
    placeholder: wgpu::Buffer,
    /// Group 0 of each step.
    pub io_groups: Vec<wgpu::BindGroup>,
    /// Classes the class buffers can hold.
    pub class_capacity: u32,
    /// Timestamp query set and its resolve buffer, when enabled.
    pub timestamps: Option<(wgpu::QuerySet, wgpu::Buffer)>,
}

impl FrameResources {
    /// Allocates everything for `plan` and writes every parameter record.
    pub fn new(ctx: &GpuContext, plan: &Plan, classes: u32, timestamps: bool) -> FrameResources {
        let steps = plan.io.len();
        let mut records = vec![0u8; PARAMS_STRIDE as usize * steps * plan.dispatches.len()];
        for (r, dispatches) in plan.dispatches.iter().enumerate() {
            for (s, d) in dispatches.iter().enumerate() {
                let at = record_offset(steps, r, s) as usize;
                records[at..at + std::mem::size_of::<LayerParams>()]
                    .copy_from_slice(bytemuck::bytes_of(&d.params));
            }
        }
        let params = transfer::upload(ctx, "frame/params", &records, wgpu::BufferUsages::UNIFORM);
        let storage = wgpu::BufferUsages::STORAGE;
        let act_bytes = plan.activation_len as u64 * 4;
        let activations = (0..crate::engine::plan::ACTIVATION_BUFFERS)
            .map(|i| transfer::empty(ctx, &format!("frame/activation{i}"), act_bytes, storage))
            .collect();
        let timestamps = timestamps.then(|| {
            let set = ctx.device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("frame/timestamps"),
                ty: wgpu::QueryType::Timestamp,
                count: 2,
            });
            let resolve = transfer::empty(
                ctx,
                "frame/timestamps/resolve",
                TIMESTAMP_BYTES,
                wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            );
            (set, resolve)
        });
        let mut frame = FrameResources {
            params,
            activations,
            image: transfer::empty(
                ctx,
                "frame/image",
                224 * 224 * 4,
                storage | wgpu::BufferUsages::COPY_DST,
            ),
            logits: transfer::empty(ctx, "frame/logits", 4, storage),
            probabilities: transfer::empty(ctx, "frame/probabilities", 4, storage),
            staging: transfer::staging(ctx, "frame/staging", 4),
            placeholder: transfer::empty(ctx, "frame/placeholder", 16, storage),
            io_groups: Vec::new(),
            class_capacity: 0,
            timestamps,
        };
        frame.grow_classes(ctx, plan, classes);
        frame
    }

    /// Byte offset in the staging buffer where timestamps land.
    pub fn timestamp_offset(&self) -> u64 {
        (self.class_capacity as u64 * 4).next_multiple_of(8)
    }

    /// Bytes of GPU memory for activations and frame buffers.
    pub fn activation_bytes(&self) -> u64 {
        self.activations.iter().map(wgpu::Buffer::size).sum::<u64>()
            + self.image.size()
            + self.logits.size()
            + self.probabilities.size()
    }

    fn buffer(&self, slot: Slot) -> &wgpu::Buffer {
        match slot {
            Slot::Image => &self.image,
            Slot::Activation(i) => &self.activations[i],
            Slot::Logits => &self.logits,
            Slot::Probabilities => &self.probabilities,
            Slot::Unused => &self.placeholder,
        }
    }

    fn rebuild_groups(&mut self, ctx: &GpuContext, plan: &Plan) {
        let size = wgpu::BufferSize::new(std::mem::size_of::<LayerParams>() as u64);
        self.io_groups = plan
            .io
            .iter()
            .enumerate()
            .map(|(s, io)| {
                ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some(&format!("frame/step{s}/io")),
                    layout: &ctx.layouts.io,
                    entries: &[
                        wgpu::BindGroupEntry {
                            binding: 0,
                            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                                buffer: &self.params,
                                offset: 0,
                                size,
                            }),
                        },
                        wgpu::BindGroupEntry {
                            binding: 1,
                            resource: self.buffer(io.input).as_entire_binding(),
                        },
                        wgpu::BindGroupEntry {
                            binding: 4,
                            resource: self.buffer(io.output).as_entire_binding(),
                        },
                        wgpu::BindGroupEntry {
                            binding: 5,
                            resource: self.buffer(io.residual).as_entire_binding(),
                        },
                    ],
                })
            })
            .collect();
    }

    /// Makes room for `classes` outputs (rebuilding bind groups if it grew).
    pub fn grow_classes(&mut self, ctx: &GpuContext, plan: &Plan, classes: u32) {
        if classes <= self.class_capacity && !self.io_groups.is_empty() {
            return;
        }
        let cap = classes.max(self.class_capacity);
        let bytes = cap as u64 * 4;
        let storage = wgpu::BufferUsages::STORAGE;
        self.logits = transfer::empty(ctx, "frame/logits", bytes, storage);
        self.probabilities = transfer::empty(
            ctx,
            "frame/probabilities",
            bytes,
            storage | wgpu::BufferUsages::COPY_SRC,
        );
        self.class_capacity = cap;
        self.staging = transfer::staging(
            ctx,
            "frame/staging",
            self.timestamp_offset() + TIMESTAMP_BYTES,
        );
        self.rebuild_groups(ctx, plan);
    }

    /// Makes room for a frame of `bytes` (rebuilding bind groups if it grew).
    pub fn grow_image(&mut self, ctx: &GpuContext, plan: &Plan, bytes: u64) {
        if bytes <= self.image.size() {
            return;
        }
        self.image = transfer::empty(
            ctx,
            "frame/image",
            bytes,
            wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
        );
        self.rebuild_groups(ctx, plan);
    }

    /// Uploads the frame pixels (unless `pixels` is `None`: the frame already
    /// uploaded is reused) and its preprocess record.
    pub fn write_frame(
        &self,
        ctx: &GpuContext,
        steps: usize,
        resolution_index: usize,
        pixels: Option<&[u8]>,
        params: &LayerParams,
    ) {
        if let Some(pixels) = pixels {
            ctx.queue.write_buffer(&self.image, 0, pixels);
        }
        ctx.queue.write_buffer(
            &self.params,
            record_offset(steps, resolution_index, PREPROCESS_STEP),
            bytemuck::bytes_of(params),
        );
    }
}

/// Byte offset of the record of step `s` at resolution index `r`.
pub fn record_offset(steps: usize, r: usize, s: usize) -> u64 {
    (r * steps + s) as u64 * PARAMS_STRIDE
}

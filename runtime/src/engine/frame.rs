//! Per-engine buffers reused by every inference: parameter records,
//! activations, the uploaded frame, logits, probabilities, the readback
//! staging buffer and timestamp queries. Allocated once (sized for the largest
//! resolution and one patch) and grown only when a larger frame, class count
//! or pass over several patches arrives. Patch b of a pass uses the b-th
//! slice of each activation buffer, of the logits and of the probabilities.

use crate::engine::plan::{PREPROCESS_STEP, Plan, Slot};
use crate::gpu::GpuContext;
use crate::gpu::transfer;
use crate::model::Architecture;
use crate::ops::{LayerParams, PARAMS_STRIDE, feature_stride};

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
    /// Per patch of a pass, group 0 of its classifier and of its softmax
    /// (its slices of the pooled features, logits and probabilities).
    pub head_groups: Vec<[wgpu::BindGroup; 2]>,
    /// Classes the class buffers can hold per patch.
    pub class_capacity: u32,
    /// Patches one pass can serve with the buffers as they are.
    pub patch_capacity: u32,
    features: u32,
    /// Timestamp query set and its resolve buffer, when enabled.
    pub timestamps: Option<(wgpu::QuerySet, wgpu::Buffer)>,
}

impl FrameResources {
    /// Allocates everything for `plan` and writes every parameter record.
    pub fn new(
        ctx: &GpuContext,
        plan: &Plan,
        arch: &Architecture,
        timestamps: bool,
    ) -> FrameResources {
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
            head_groups: Vec::new(),
            class_capacity: 0,
            patch_capacity: 1,
            features: arch.feature_channels,
            timestamps,
        };
        frame.grow_classes(ctx, plan, arch.classes);
        frame
    }

    /// Elements between consecutive patches' logits and probabilities: the
    /// class capacity rounded up to 64, so each slice starts at a 256-byte
    /// offset and can be bound alone.
    pub fn class_stride(&self) -> u32 {
        self.class_capacity.div_ceil(64) * 64
    }

    /// Byte offset in the staging buffer where timestamps land.
    pub fn timestamp_offset(&self) -> u64 {
        self.patch_capacity as u64 * self.class_stride() as u64 * 4
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

    /// A group 0 over the parameter records and three buffer ranges
    /// (`None` size: to the end of the buffer).
    fn io_group(
        &self,
        ctx: &GpuContext,
        label: &str,
        buffers: [(&wgpu::Buffer, u64, Option<u64>); 3],
    ) -> wgpu::BindGroup {
        let params = (
            &self.params,
            0,
            Some(std::mem::size_of::<LayerParams>() as u64),
        );
        let [input, output, residual] = buffers;
        ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(label),
            layout: &ctx.layouts.io,
            entries: &[
                range(0, params),
                range(1, input),
                range(4, output),
                range(5, residual),
            ],
        })
    }

    fn rebuild_groups(&mut self, ctx: &GpuContext, plan: &Plan) {
        let whole = |slot: Slot| (self.buffer(slot), 0, None);
        self.io_groups = plan
            .io
            .iter()
            .enumerate()
            .map(|(s, io)| {
                self.io_group(
                    ctx,
                    &format!("frame/step{s}/io"),
                    [whole(io.input), whole(io.output), whole(io.residual)],
                )
            })
            .collect();
        let pooled = self.buffer(plan.io[plan.classifier_step()].input);
        let feature_bytes = feature_stride(self.features) as u64 * 4;
        let class_bytes = self.class_stride() as u64 * 4;
        let placeholder = (&self.placeholder, 0, None);
        self.head_groups = (0..self.patch_capacity as u64)
            .map(|b| {
                let logits = (&self.logits, b * class_bytes, Some(class_bytes));
                [
                    self.io_group(
                        ctx,
                        &format!("frame/patch{b}/classifier/io"),
                        [
                            (pooled, b * feature_bytes, Some(feature_bytes)),
                            logits,
                            placeholder,
                        ],
                    ),
                    self.io_group(
                        ctx,
                        &format!("frame/patch{b}/softmax/io"),
                        [
                            logits,
                            (&self.probabilities, b * class_bytes, Some(class_bytes)),
                            placeholder,
                        ],
                    ),
                ]
            })
            .collect();
    }

    /// Makes room for a pass over `patches` patches: activation buffers
    /// `patches` times their single-patch size, and `patches` slices of
    /// logits and probabilities (rebuilding bind groups if anything grew).
    pub fn grow_patches(&mut self, ctx: &GpuContext, plan: &Plan, patches: u32) {
        if patches <= self.patch_capacity {
            return;
        }
        self.patch_capacity = patches;
        let act_bytes = plan.activation_len as u64 * 4 * patches as u64;
        self.activations = (0..crate::engine::plan::ACTIVATION_BUFFERS)
            .map(|i| {
                transfer::empty(
                    ctx,
                    &format!("frame/activation{i}"),
                    act_bytes,
                    wgpu::BufferUsages::STORAGE,
                )
            })
            .collect();
        self.allocate_class_buffers(ctx);
        self.rebuild_groups(ctx, plan);
    }

    fn allocate_class_buffers(&mut self, ctx: &GpuContext) {
        let bytes = self.patch_capacity as u64 * self.class_stride() as u64 * 4;
        let storage = wgpu::BufferUsages::STORAGE;
        self.logits = transfer::empty(ctx, "frame/logits", bytes, storage);
        self.probabilities = transfer::empty(
            ctx,
            "frame/probabilities",
            bytes,
            storage | wgpu::BufferUsages::COPY_SRC,
        );
        self.staging = transfer::staging(
            ctx,
            "frame/staging",
            self.timestamp_offset() + TIMESTAMP_BYTES,
        );
    }

    /// Makes room for `classes` outputs (rebuilding bind groups if it grew).
    pub fn grow_classes(&mut self, ctx: &GpuContext, plan: &Plan, classes: u32) {
        if classes <= self.class_capacity && !self.io_groups.is_empty() {
            return;
        }
        self.class_capacity = classes.max(self.class_capacity);
        self.allocate_class_buffers(ctx);
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

/// A bind-group entry over `size` bytes of `buffer` from `offset` (`None`:
/// to its end).
fn range(
    binding: u32,
    (buffer, offset, size): (&wgpu::Buffer, u64, Option<u64>),
) -> wgpu::BindGroupEntry<'_> {
    wgpu::BindGroupEntry {
        binding,
        resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer,
            offset,
            size: size.and_then(wgpu::BufferSize::new),
        }),
    }
}

/// Byte offset of the record of step `s` at resolution index `r`.
pub fn record_offset(steps: usize, r: usize, s: usize) -> u64 {
    (r * steps + s) as u64 * PARAMS_STRIDE
}

//! K patches in one pass ([`Engine::classify_patches`]): one frame upload and
//! one compute pass in which every convolution and the pool serve all K
//! patches in one dispatch each (so each backbone weight is fetched once per
//! pass, not once per patch), then each patch's own classifier and softmax on
//! its slices; one submit, one readback.
//!
//! The kernels find patch b's scale/bias (and depthwise kernels) at b times a
//! stride in one buffer, so before the pass the K patches' folded scale/bias
//! are copied side by side into a per-engine batch buffer, as are their
//! depthwise kernels when any of them carries its own (otherwise all read the
//! backbone's, stride 0). The copies are GPU-side and small (136 KB per
//! MobileNetV2 1.0 patch).

use std::time::Instant;

use super::frame::record_offset;
use super::resident::{ResidentBackbone, ResidentPatch};
use super::{Classification, Engine, State};
use crate::error::{Error, Result};
use crate::gpu::{GpuContext, transfer};
use crate::image::RgbaImage;
use crate::ops::{self, BatchParams};
use crate::shaders::WeightPrecision;

/// The per-engine buffers of passes over several patches, grown on demand.
pub(super) struct BatchResources {
    capacity: u32,
    strides: BatchStrides,
    scale_bias: wgpu::Buffer,
    depthwise: Option<wgpu::Buffer>,
    record: wgpu::Buffer,
    shared_dw_group: Option<wgpu::BindGroup>,
    own_dw_group: Option<wgpu::BindGroup>,
}

/// Element strides between consecutive patches in the batch buffers.
#[derive(Debug, Clone, Copy)]
pub(super) struct BatchStrides {
    /// Scale/bias elements (the backbone's scale/bias length, rounded to 4).
    pub scale_bias: u32,
    /// Depthwise-kernel elements (the backbone's kernel count, rounded to 4).
    pub depthwise: u32,
    /// Bytes per depthwise-kernel element in the engine's weight precision.
    pub depthwise_element_bytes: u64,
}

impl BatchResources {
    fn new(ctx: &GpuContext, strides: BatchStrides, capacity: u32) -> BatchResources {
        BatchResources {
            capacity,
            strides,
            scale_bias: transfer::empty(
                ctx,
                "batch/scale_bias",
                capacity as u64 * strides.scale_bias as u64 * 4,
                wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            ),
            depthwise: None,
            record: transfer::empty(
                ctx,
                "batch/record",
                std::mem::size_of::<BatchParams>() as u64,
                wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            ),
            shared_dw_group: None,
            own_dw_group: None,
        }
    }

    /// Bytes of GPU memory held.
    pub(super) fn bytes(&self) -> u64 {
        self.scale_bias.size()
            + self.depthwise.as_ref().map_or(0, wgpu::Buffer::size)
            + self.record.size()
    }

    /// The patch group of a pass: the batch's scale/bias and record, the
    /// batch's depthwise kernels (`own_dw`) or the backbone's, and the
    /// backbone's classifier (bound because the layout has it; the batched
    /// kernels do not read it).
    fn group(
        &mut self,
        ctx: &GpuContext,
        shared: &ResidentBackbone,
        own_dw: bool,
    ) -> &wgpu::BindGroup {
        let strides = self.strides;
        if own_dw && self.depthwise.is_none() {
            self.depthwise = Some(transfer::empty(
                ctx,
                "batch/depthwise",
                self.capacity as u64 * strides.depthwise as u64 * strides.depthwise_element_bytes,
                wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            ));
        }
        let (slot, dw) = match (own_dw, &self.depthwise) {
            (true, Some(dw)) => (&mut self.own_dw_group, dw),
            _ => (&mut self.shared_dw_group, &shared.depthwise),
        };
        slot.get_or_insert_with(|| {
            ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("batch/group"),
                layout: &ctx.layouts.patch,
                entries: &[
                    entry(3, &self.scale_bias),
                    entry(6, dw),
                    entry(7, &shared.classifier_weight),
                    entry(8, &shared.classifier_bias),
                    entry(9, &self.record),
                ],
            })
        })
    }
}

fn entry(binding: u32, buffer: &wgpu::Buffer) -> wgpu::BindGroupEntry<'_> {
    wgpu::BindGroupEntry {
        binding,
        resource: buffer.as_entire_binding(),
    }
}

impl Engine {
    /// Strides of this engine's batch buffers.
    pub(super) fn batch_strides(&self) -> BatchStrides {
        BatchStrides {
            scale_bias: self.backbone.arch.layout.scale_bias_len.next_multiple_of(4) as u32,
            depthwise: self.backbone.depthwise.len().next_multiple_of(4) as u32,
            depthwise_element_bytes: match self.options.precision {
                WeightPrecision::F32 => 4,
                WeightPrecision::F16 => 2,
            },
        }
    }

    /// Checks a pass size against [`Engine::max_patches_per_pass`].
    pub(super) fn check_batch_size(&self, requested: usize) -> Result<()> {
        let max = self.max_patches_per_pass as usize;
        if requested == 0 || requested > max {
            return Err(Error::BatchSize { requested, max });
        }
        Ok(())
    }

    /// Records the copies that put each patch's scale/bias (and depthwise
    /// kernels, when `own_dw`) at its place in the batch buffers.
    fn record_batch_copies(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        batch: &BatchResources,
        patches: &[&ResidentPatch],
        own_dw: bool,
    ) {
        let strides = batch.strides;
        let sb_bytes = self.backbone.arch.layout.scale_bias_len as u64 * 4;
        let dw_bytes = (self.backbone.depthwise.len() as u64 * strides.depthwise_element_bytes)
            .next_multiple_of(wgpu::COPY_BUFFER_ALIGNMENT);
        for (b, patch) in patches.iter().enumerate() {
            let b = b as u64;
            encoder.copy_buffer_to_buffer(
                &patch.scale_bias,
                0,
                &batch.scale_bias,
                b * strides.scale_bias as u64 * 4,
                sb_bytes,
            );
            if let (true, Some(target)) = (own_dw, &batch.depthwise) {
                let source = patch.depthwise.as_ref().unwrap_or(&self.shared.depthwise);
                encoder.copy_buffer_to_buffer(
                    source,
                    0,
                    target,
                    b * strides.depthwise as u64 * strides.depthwise_element_bytes,
                    dw_bytes,
                );
            }
        }
    }

    /// One pass over the patches `ids` (already checked for count) at
    /// resolution index `r`: see the module docs.
    pub(super) fn run_batch(
        &self,
        state: &mut State,
        ids: &[String],
        image: &RgbaImage<'_>,
        r: usize,
    ) -> Result<Vec<Classification>> {
        let started = Instant::now();
        for id in ids {
            state.patches.touch(id)?;
        }
        let count = ids.len() as u32;
        let State {
            patches,
            frame,
            batch,
            ..
        } = state;
        let resident: Vec<&ResidentPatch> = ids
            .iter()
            .map(|id| {
                patches
                    .get(id)
                    .map(|(_, p)| p)
                    .ok_or_else(|| Error::UnknownPatch { id: id.clone() })
            })
            .collect::<Result<_>>()?;
        let own_dw = resident.iter().any(|p| p.depthwise.is_some());
        frame.grow_patches(&self.ctx, &self.plan, count);
        if batch.as_ref().is_some_and(|b| b.capacity < count) {
            *batch = None;
        }
        let batch = batch
            .get_or_insert_with(|| BatchResources::new(&self.ctx, self.batch_strides(), count));
        let strides = batch.strides;
        let pre_workgroups = self.prepare_frame(frame, image, r, true)?;
        let record = BatchParams {
            patches: count,
            scale_bias_stride: strides.scale_bias,
            dw_stride: if own_dw { strides.depthwise } else { 0 },
            pad: 0,
        };
        let group = batch.group(&self.ctx, &self.shared, own_dw).clone();
        self.ctx
            .queue
            .write_buffer(&batch.record, 0, bytemuck::bytes_of(&record));

        let mut encoder = self
            .ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("inference/batch"),
            });
        self.record_batch_copies(&mut encoder, batch, &resident, own_dw);
        {
            let mut pass = super::infer::begin_pass(&mut encoder, frame, "inference/batch");
            pass.set_bind_group(1, &self.shared.weights_group, &[]);
            pass.set_bind_group(2, &group, &[]);
            let steps = self.plan.io.len();
            let classifier_step = self.plan.classifier_step();
            let dispatches = &self.plan.dispatches[r];
            for (s, planned) in dispatches.iter().enumerate().take(classifier_step) {
                let d = planned.for_patches(count);
                pass.set_pipeline(self.pipelines.get(d.kernel));
                pass.set_bind_group(0, &frame.io_groups[s], &[record_offset(steps, r, s) as u32]);
                let [x, y, z] = if s == super::plan::PREPROCESS_STEP {
                    pre_workgroups
                } else {
                    d.workgroups
                };
                pass.dispatch_workgroups(x, y, z);
            }
            // Each patch's own head: its classifier and class count, on its
            // slices of the pooled features, logits and probabilities.
            for (b, patch) in resident.iter().enumerate() {
                pass.set_bind_group(2, &patch.group, &[]);
                for (s, head_group) in [classifier_step, classifier_step + 1]
                    .into_iter()
                    .zip(&frame.head_groups[b])
                {
                    let d = &dispatches[s];
                    pass.set_pipeline(self.pipelines.get(d.kernel));
                    pass.set_bind_group(0, head_group, &[record_offset(steps, r, s) as u32]);
                    let [x, y, z] = if s == classifier_step {
                        ops::pool_head::classifier_workgroups(d.kernel, patch.classes)
                    } else {
                        d.workgroups
                    };
                    pass.dispatch_workgroups(x, y, z);
                }
            }
        }
        let class_bytes = frame.class_stride() as u64 * 4;
        let (bytes, gpu_ms) = self.submit_and_read(encoder, frame, count as u64 * class_bytes)?;
        let resolution = self.options.resolutions[r];
        let results = resident
            .iter()
            .zip(ids)
            .enumerate()
            .map(|(b, (patch, id))| {
                let at = b * class_bytes as usize;
                Classification {
                    probabilities: bytemuck::pod_collect_to_vec(
                        &bytes[at..at + patch.classes as usize * 4],
                    ),
                    labels: patch.labels.clone(),
                    patch_id: id.clone(),
                    resolution,
                    gpu_ms,
                }
            })
            .collect();
        log::debug!(
            "patchrt: {count} patches at {resolution} in one pass in {:?}",
            started.elapsed()
        );
        Ok(results)
    }
}

//! One inference: frame upload, the plan's dispatches in one compute pass, one
//! submit and one readback.
//!
//! The dispatch list is produced by [`Engine::encoded_steps`] so that
//! [`Engine::profile`] encodes exactly the same pipelines, bind groups, offsets
//! and workgroup counts as an inference and times the kernels that run here.

use std::time::Instant;

use super::frame::{FrameResources, record_offset};
use super::resident::ResidentPatch;
use super::{Classification, Engine, State};
use crate::engine::plan::PREPROCESS_STEP;
use crate::error::{Error, Result};
use crate::gpu::transfer;
use crate::image::RgbaImage;
use crate::ops;

/// One dispatch of an inference, ready to record into a compute pass.
pub(super) struct EncodedStep<'a> {
    pipeline: &'a wgpu::ComputePipeline,
    io_group: &'a wgpu::BindGroup,
    record_offset: u32,
    workgroups: [u32; 3],
}

impl EncodedStep<'_> {
    /// Records the dispatch (groups 1 and 2 must already be bound, see
    /// [`Engine::bind_shared`]).
    pub(super) fn record(&self, pass: &mut wgpu::ComputePass<'_>) {
        pass.set_pipeline(self.pipeline);
        pass.set_bind_group(0, self.io_group, &[self.record_offset]);
        let [x, y, z] = self.workgroups;
        pass.dispatch_workgroups(x, y, z);
    }
}

impl Engine {
    /// Checks the frame, grows the image buffer if needed, uploads the pixels
    /// (unless `upload` is false) and the preprocess record of resolution
    /// index `r`. Returns the preprocess workgroup counts.
    pub(super) fn prepare_frame(
        &self,
        frame: &mut FrameResources,
        image: &RgbaImage<'_>,
        r: usize,
        upload: bool,
    ) -> Result<[u32; 3]> {
        let pixels = image.data();
        let max_binding = self.ctx.limits.max_storage_buffer_binding_size as usize;
        if pixels.len() > max_binding {
            return Err(Error::InvalidImage {
                width: image.width(),
                height: image.height(),
                reason: format!(
                    "{} bytes exceed the adapter's binding limit of {max_binding}",
                    pixels.len()
                ),
            });
        }
        frame.grow_image(&self.ctx, &self.plan, pixels.len() as u64);
        let pre = ops::preprocess::dispatch(
            image.width(),
            image.height(),
            self.options.resolutions[r].side(),
            &self.backbone.config.normalization,
        );
        frame.write_frame(
            &self.ctx,
            self.plan.io.len(),
            r,
            upload.then_some(pixels),
            &pre.params,
        );
        Ok(pre.workgroups)
    }

    /// Binds the backbone weights (group 1) and the patch (group 2).
    pub(super) fn bind_shared(&self, pass: &mut wgpu::ComputePass<'_>, patch: &ResidentPatch) {
        pass.set_bind_group(1, &self.shared.weights_group, &[]);
        pass.set_bind_group(2, &patch.group, &[]);
    }

    /// Every dispatch of one inference at resolution index `r`, in plan order.
    /// The preprocess step takes `pre_workgroups` (they depend on the frame
    /// size) and the classifier is sized for `classes` (they depend on the patch).
    pub(super) fn encoded_steps<'a>(
        &'a self,
        frame: &'a FrameResources,
        classes: u32,
        r: usize,
        pre_workgroups: [u32; 3],
    ) -> impl Iterator<Item = EncodedStep<'a>> + 'a {
        let steps = self.plan.io.len();
        let classifier_step = self.plan.classifier_step();
        self.plan.dispatches[r]
            .iter()
            .enumerate()
            .map(move |(s, d)| EncodedStep {
                pipeline: self.pipelines.get(d.kernel),
                io_group: &frame.io_groups[s],
                record_offset: record_offset(steps, r, s) as u32,
                workgroups: match s {
                    PREPROCESS_STEP => pre_workgroups,
                    s if s == classifier_step => {
                        ops::pool_head::classifier_workgroups(d.kernel, classes)
                    }
                    _ => d.workgroups,
                },
            })
    }

    /// Copies the first `prob_bytes` of the probabilities and the pass
    /// timestamps (where the frame has them) to the staging buffer, submits
    /// `encoder`, waits, and returns the bytes read back (probabilities
    /// first) with the pass's GPU time in ms.
    pub(super) fn submit_and_read(
        &self,
        mut encoder: wgpu::CommandEncoder,
        frame: &FrameResources,
        prob_bytes: u64,
    ) -> Result<(Vec<u8>, Option<f64>)> {
        encoder.copy_buffer_to_buffer(&frame.probabilities, 0, &frame.staging, 0, prob_bytes);
        let ts_offset = frame.timestamp_offset();
        if let Some((set, resolve)) = &frame.timestamps {
            encoder.resolve_query_set(set, 0..2, resolve, 0);
            encoder.copy_buffer_to_buffer(resolve, 0, &frame.staging, ts_offset, 16);
        }
        self.ctx.queue.submit([encoder.finish()]);
        let read_len = if frame.timestamps.is_some() {
            ts_offset + 16
        } else {
            prob_bytes
        };
        let bytes = transfer::read_back(&self.ctx, &frame.staging, read_len)?;
        let gpu_ms = frame.timestamps.as_ref().map(|_| {
            let ts: Vec<u64> =
                bytemuck::pod_collect_to_vec(&bytes[ts_offset as usize..ts_offset as usize + 16]);
            ts[1].saturating_sub(ts[0]) as f64 * self.ctx.queue.get_timestamp_period() as f64 / 1e6
        });
        Ok((bytes, gpu_ms))
    }

    /// One inference: one command buffer, one submit, one readback.
    ///
    /// With `upload` false the frame already on the GPU is reused (cascade
    /// stages after the first re-run only preprocessing at their resolution).
    pub(super) fn run(
        &self,
        state: &mut State,
        id: &str,
        image: &RgbaImage<'_>,
        r: usize,
        upload: bool,
    ) -> Result<Classification> {
        let started = Instant::now();
        let State { patches, frame, .. } = state;
        let patch = patches.touch(id)?;
        let pre_workgroups = self.prepare_frame(frame, image, r, upload)?;
        let resolution = self.options.resolutions[r];

        let mut encoder = self
            .ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("inference"),
            });
        {
            let mut pass = begin_pass(&mut encoder, frame, "inference");
            self.bind_shared(&mut pass, patch);
            for step in self.encoded_steps(frame, patch.classes, r, pre_workgroups) {
                step.record(&mut pass);
            }
        }
        let prob_bytes = patch.classes as u64 * 4;
        let (bytes, gpu_ms) = self.submit_and_read(encoder, frame, prob_bytes)?;
        let probabilities: Vec<f32> = bytemuck::pod_collect_to_vec(&bytes[..prob_bytes as usize]);
        log::debug!("patchrt: {id} at {resolution} in {:?}", started.elapsed());
        Ok(Classification {
            probabilities,
            labels: patch.labels.clone(),
            patch_id: id.to_string(),
            resolution,
            gpu_ms,
        })
    }
}

/// Begins an inference's compute pass, with timestamps at its start and end
/// where the frame has a query set.
pub(super) fn begin_pass<'e>(
    encoder: &'e mut wgpu::CommandEncoder,
    frame: &'e FrameResources,
    label: &'static str,
) -> wgpu::ComputePass<'e> {
    let timestamp_writes =
        frame
            .timestamps
            .as_ref()
            .map(|(set, _)| wgpu::ComputePassTimestampWrites {
                query_set: set,
                beginning_of_pass_write_index: Some(0),
                end_of_pass_write_index: Some(1),
            });
    encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
        label: Some(label),
        timestamp_writes,
    })
}

//! GPU residency: the backbone's buffers (uploaded once) and each patch's
//! buffers and bind group (built when the patch loads).

use std::sync::Arc;

use crate::error::Result;
use crate::gpu::GpuContext;
use crate::gpu::transfer::{self, f32_bytes, upload_weights};
use crate::model::Backbone;
use crate::ops::BatchParams;
use crate::patch::{Patch, PatchInfo};
use crate::shaders::WeightPrecision;

/// The backbone's buffers on the GPU, shared by every patch and resolution.
pub struct ResidentBackbone {
    /// Dense conv weights.
    pub dense: wgpu::Buffer,
    /// Depthwise kernels (bound when a patch carries none).
    pub depthwise: wgpu::Buffer,
    /// Classifier weights (bound when a patch carries none).
    pub classifier_weight: wgpu::Buffer,
    /// Classifier bias.
    pub classifier_bias: wgpu::Buffer,
    /// Bind group 1.
    pub weights_group: wgpu::BindGroup,
    /// The batch record of a single-patch inference (bound in every patch's group).
    pub single_batch: wgpu::Buffer,
}

impl ResidentBackbone {
    /// Uploads the shared weights.
    pub fn upload(
        ctx: &GpuContext,
        backbone: &Backbone,
        precision: WeightPrecision,
    ) -> ResidentBackbone {
        let dense = upload_weights(ctx, "backbone/dense/weights", &backbone.dense, precision);
        let depthwise = upload_weights(
            ctx,
            "backbone/depthwise/weights",
            &backbone.depthwise,
            precision,
        );
        let classifier_weight = upload_weights(
            ctx,
            "backbone/classifier/weights",
            &backbone.classifier.weight,
            precision,
        );
        let classifier_bias = transfer::upload(
            ctx,
            "backbone/classifier/bias",
            f32_bytes(&backbone.classifier.bias),
            wgpu::BufferUsages::STORAGE,
        );
        let single_batch = transfer::upload(
            ctx,
            "backbone/single_batch",
            bytemuck::bytes_of(&BatchParams::SINGLE),
            wgpu::BufferUsages::UNIFORM,
        );
        let weights_group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("backbone/weights/group"),
            layout: &ctx.layouts.weights,
            entries: &[wgpu::BindGroupEntry {
                binding: 2,
                resource: dense.as_entire_binding(),
            }],
        });
        ResidentBackbone {
            dense,
            depthwise,
            classifier_weight,
            classifier_bias,
            weights_group,
            single_batch,
        }
    }

    /// Bytes of GPU memory the shared weights occupy.
    pub fn bytes(&self) -> u64 {
        self.dense.size()
            + self.depthwise.size()
            + self.classifier_weight.size()
            + self.classifier_bias.size()
    }
}

/// One patch on the GPU.
pub struct ResidentPatch {
    /// Bind group 2: scale/bias plus the depthwise and classifier buffers in effect.
    pub group: wgpu::BindGroup,
    /// Its folded scale/bias (copied into a batch's buffer by a pass over
    /// several patches).
    pub scale_bias: wgpu::Buffer,
    /// Its own depthwise kernels, if it carries them.
    pub depthwise: Option<wgpu::Buffer>,
    /// Classes of its outputs.
    pub classes: u32,
    /// Label of each class (may be empty).
    pub labels: Arc<Vec<String>>,
    // Buffers owned by the patch, kept alive while the bind group is.
    _owned: Vec<wgpu::Buffer>,
}

impl ResidentPatch {
    /// Uploads a validated patch (only its own tensors) and builds its bind group.
    ///
    /// # Errors
    /// [`crate::Error::NonFinite`] when the fold overflows.
    pub fn upload(
        ctx: &GpuContext,
        backbone: &Backbone,
        shared: &ResidentBackbone,
        patch: &Patch,
        precision: WeightPrecision,
    ) -> Result<(ResidentPatch, PatchInfo)> {
        let scale_bias = patch.scale_bias(backbone)?;
        let id = &patch.id;
        let mut owned = vec![transfer::upload(
            ctx,
            &format!("patch/{id}/scale_bias"),
            f32_bytes(&scale_bias),
            wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        )];
        let dw_index = patch.depthwise.as_ref().map(|dw| {
            owned.push(upload_weights(
                ctx,
                &format!("patch/{id}/depthwise"),
                dw,
                precision,
            ));
            owned.len() - 1
        });
        let cls_index = patch.classifier.as_ref().map(|c| {
            owned.push(upload_weights(
                ctx,
                &format!("patch/{id}/classifier/weights"),
                &c.weight,
                precision,
            ));
            owned.push(transfer::upload(
                ctx,
                &format!("patch/{id}/classifier/bias"),
                f32_bytes(&c.bias),
                wgpu::BufferUsages::STORAGE,
            ));
            owned.len() - 2
        });
        let dw = dw_index.map_or(&shared.depthwise, |i| &owned[i]);
        let (cls_w, cls_b) = cls_index
            .map_or((&shared.classifier_weight, &shared.classifier_bias), |i| {
                (&owned[i], &owned[i + 1])
            });
        let classifier = patch.classifier.as_ref().unwrap_or(&backbone.classifier);
        let classes = classifier.classes();
        let group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(&format!("patch/{id}/group")),
            layout: &ctx.layouts.patch,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 3,
                    resource: owned[0].as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 6,
                    resource: dw.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 7,
                    resource: cls_w.as_entire_binding(),
                },
                // Exact size: the shaders read the class count from its length.
                wgpu::BindGroupEntry {
                    binding: 8,
                    resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                        buffer: cls_b,
                        offset: 0,
                        size: wgpu::BufferSize::new(classes as u64 * 4),
                    }),
                },
                wgpu::BindGroupEntry {
                    binding: 9,
                    resource: shared.single_batch.as_entire_binding(),
                },
            ],
        });
        let info = PatchInfo {
            id: id.clone(),
            task: patch.task.clone(),
            resolution: patch.resolution,
            kind: patch.kind,
            classes,
            gpu_bytes: owned.iter().map(wgpu::Buffer::size).sum(),
            parameters: patch.parameter_count(backbone),
        };
        let resident = ResidentPatch {
            group,
            scale_bias: owned[0].clone(),
            depthwise: dw_index.map(|i| owned[i].clone()),
            classes,
            labels: Arc::new(classifier.labels.clone()),
            _owned: owned,
        };
        Ok((resident, info))
    }
}

//! Running one dispatch on its own buffers, with the engine's own pipelines and
//! layouts: how kernel tests compare a family with its CPU reference, and how
//! kernel benchmarks time it.

use std::sync::Arc;

use crate::error::Result;
use crate::gpu::GpuContext;
use crate::gpu::pipelines::Pipelines;
use crate::gpu::transfer::{self, f32_bytes};
use crate::ops::{BatchParams, Dispatch, LayerParams};
use crate::shaders::WeightPrecision;

/// Host data for one standalone dispatch. Unused bindings may stay empty.
#[derive(Debug, Default, Clone)]
pub struct KernelInputs<'a> {
    /// Input bytes: HWC f32 activations, or packed RGBA8 for preprocess.
    pub input: &'a [u8],
    /// Residual input (pointwise with residual).
    pub residual: &'a [f32],
    /// Dense conv weights (stem, pointwise).
    pub weights: &'a [f32],
    /// Folded scale/bias.
    pub scale_bias: &'a [f32],
    /// Depthwise kernels.
    pub depthwise: &'a [f32],
    /// Classifier weights.
    pub classifier_weight: &'a [f32],
    /// Classifier bias (its length is the class count).
    pub classifier_bias: &'a [f32],
    /// Number of f32 outputs to read back.
    pub output_len: usize,
    /// The batch record; `None` is a single patch ([`BatchParams::SINGLE`]).
    /// With K patches, `input` holds the K inputs one after another (the
    /// stem's one image is shared), `residual` and the output K tensors,
    /// `scale_bias` K blocks `scale_bias_stride` apart, and `depthwise` K
    /// kernel sets `dw_stride` apart.
    pub batch: Option<BatchParams>,
}

/// A dispatch with its buffers uploaded, ready to run repeatedly.
pub struct PreparedKernel {
    ctx: Arc<GpuContext>,
    pipelines: Arc<Pipelines>,
    /// The dispatch as run: sized (and its entry point chosen) for the batch.
    dispatch: Dispatch,
    groups: [wgpu::BindGroup; 3],
    output: wgpu::Buffer,
    staging: wgpu::Buffer,
    output_len: usize,
}

fn entry(binding: u32, buffer: &wgpu::Buffer) -> wgpu::BindGroupEntry<'_> {
    wgpu::BindGroupEntry {
        binding,
        resource: buffer.as_entire_binding(),
    }
}

impl PreparedKernel {
    /// Uploads `inputs` and builds the three bind groups.
    ///
    /// # Errors
    /// [`crate::Error::F16Unsupported`], [`crate::Error::ShaderInvalid`].
    pub fn new(
        ctx: &Arc<GpuContext>,
        precision: WeightPrecision,
        dispatch: Dispatch,
        inputs: &KernelInputs<'_>,
    ) -> Result<Self> {
        let pipelines = ctx.pipelines(precision)?;
        let storage = wgpu::BufferUsages::STORAGE;
        let family = dispatch.kernel.family().name;
        let weights = |label: &str, v: &[f32]| transfer::upload_weights(ctx, label, v, precision);
        let mut record = vec![0u8; crate::ops::PARAMS_STRIDE as usize];
        record[..std::mem::size_of::<LayerParams>()]
            .copy_from_slice(bytemuck::bytes_of(&dispatch.params));
        let params = transfer::upload(
            ctx,
            &format!("{family}/standalone/params"),
            &record,
            wgpu::BufferUsages::UNIFORM,
        );
        let input = transfer::upload(
            ctx,
            &format!("{family}/standalone/input"),
            inputs.input,
            storage,
        );
        let residual = transfer::upload(
            ctx,
            &format!("{family}/standalone/residual"),
            f32_bytes(inputs.residual),
            storage,
        );
        let out_bytes = (inputs.output_len * 4) as u64;
        let output = transfer::empty(
            ctx,
            &format!("{family}/standalone/output"),
            out_bytes,
            storage | wgpu::BufferUsages::COPY_SRC,
        );
        let staging = transfer::staging(ctx, &format!("{family}/standalone/staging"), out_bytes);
        let dense = weights(&format!("{family}/standalone/weights"), inputs.weights);
        let scale_bias = transfer::upload(
            ctx,
            &format!("{family}/standalone/scale_bias"),
            f32_bytes(inputs.scale_bias),
            storage,
        );
        let dw = weights(&format!("{family}/standalone/depthwise"), inputs.depthwise);
        let cls_w = weights(
            &format!("{family}/standalone/classifier_weight"),
            inputs.classifier_weight,
        );
        let batch = inputs.batch.unwrap_or(BatchParams::SINGLE);
        let batch_record = transfer::upload(
            ctx,
            &format!("{family}/standalone/batch"),
            bytemuck::bytes_of(&batch),
            wgpu::BufferUsages::UNIFORM,
        );
        let cls_b = transfer::upload(
            ctx,
            &format!("{family}/standalone/classifier_bias"),
            f32_bytes(inputs.classifier_bias),
            storage,
        );

        let io = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(&format!("{family}/standalone/io")),
            layout: &ctx.layouts.io,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                        buffer: &params,
                        offset: 0,
                        size: wgpu::BufferSize::new(std::mem::size_of::<LayerParams>() as u64),
                    }),
                },
                entry(1, &input),
                entry(4, &output),
                entry(5, &residual),
            ],
        });
        let weights_group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(&format!("{family}/standalone/weights")),
            layout: &ctx.layouts.weights,
            entries: &[entry(2, &dense)],
        });
        let bias_binding = wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: &cls_b,
            offset: 0,
            size: wgpu::BufferSize::new((inputs.classifier_bias.len().max(1) * 4) as u64),
        });
        let patch = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(&format!("{family}/standalone/patch")),
            layout: &ctx.layouts.patch,
            entries: &[
                entry(3, &scale_bias),
                entry(6, &dw),
                entry(7, &cls_w),
                wgpu::BindGroupEntry {
                    binding: 8,
                    resource: bias_binding,
                },
                entry(9, &batch_record),
            ],
        });
        ctx.check_errors("standalone setup")?;
        Ok(PreparedKernel {
            ctx: ctx.clone(),
            pipelines,
            dispatch: dispatch.for_patches(batch.patches),
            groups: [io, weights_group, patch],
            output,
            staging,
            output_len: inputs.output_len,
        })
    }

    /// Encodes, submits and waits for the dispatch.
    ///
    /// # Errors
    /// [`crate::Error::Gpu`].
    pub fn run(&self) -> Result<()> {
        self.submit(false)?;
        self.ctx
            .device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| crate::Error::Gpu {
                operation: "poll",
                message: e.to_string(),
            })?;
        self.ctx.check_errors("standalone run")
    }

    fn submit(&self, copy_out: bool) -> Result<()> {
        let mut encoder = self
            .ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("standalone"),
            });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("standalone"),
                timestamp_writes: None,
            });
            pass.set_bind_group(0, &self.groups[0], &[0]);
            pass.set_bind_group(1, &self.groups[1], &[]);
            pass.set_bind_group(2, &self.groups[2], &[]);
            pass.set_pipeline(self.pipelines.get(self.dispatch.kernel));
            let [x, y, z] = self.dispatch.workgroups;
            pass.dispatch_workgroups(x, y, z);
        }
        if copy_out {
            encoder.copy_buffer_to_buffer(&self.output, 0, &self.staging, 0, self.staging.size());
        }
        self.ctx.queue.submit([encoder.finish()]);
        Ok(())
    }

    /// Runs the dispatch and reads the output back.
    ///
    /// # Errors
    /// [`crate::Error::Gpu`].
    pub fn run_and_read(&self) -> Result<Vec<f32>> {
        self.submit(true)?;
        let bytes = transfer::read_back(&self.ctx, &self.staging, (self.output_len * 4) as u64)?;
        Ok(bytemuck::pod_collect_to_vec(&bytes))
    }
}

/// Runs one dispatch on fresh buffers and returns its output.
///
/// # Errors
/// See [`PreparedKernel::new`] and [`PreparedKernel::run_and_read`].
pub fn run(
    ctx: &Arc<GpuContext>,
    precision: WeightPrecision,
    dispatch: Dispatch,
    inputs: &KernelInputs<'_>,
) -> Result<Vec<f32>> {
    PreparedKernel::new(ctx, precision, dispatch, inputs)?.run_and_read()
}

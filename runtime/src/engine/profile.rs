//! Per-dispatch GPU time of one inference, with the work each dispatch does.
//!
//! [`Engine::profile`] encodes the plan's dispatch list through the same
//! [`Engine::encoded_steps`] an inference uses, so the pipelines, bind groups,
//! parameter records and workgroup counts are the ones that run in
//! [`Engine::classify`]; only timestamp writes are added. Plain inferences are
//! interleaved with the profiled ones so the report can put the sum of the
//! per-dispatch times next to the GPU time of an unprofiled pass taken under the
//! same conditions (a shared machine drifts between runs minutes apart).
//!
//! Work per dispatch is counted from the parameter record the kernel executes,
//! not from the layer table, so a test can check one against the other:
//! multiply-adds are the convolution and classifier MACs (pooling and softmax
//! count none, as in [`crate::model::Architecture::multiply_adds`]), and bytes
//! are the compulsory traffic: each tensor the dispatch binds (input
//! activations, weights, scale/bias, output, residual) counted once in full.
//! Re-reads that a cache absorbs or misses are not counted, so GB/s is a lower
//! bound on the traffic the memory system actually served.

use super::frame::FrameResources;
use super::plan::Step;
use super::{Engine, State};
use crate::error::{Error, Result};
use crate::gpu::transfer;
use crate::image::{Resolution, RgbaImage};
use crate::model::LayerKind;
use crate::ops::{self, Kernel, LayerParams};
use crate::shaders::WeightPrecision;

/// How per-dispatch GPU times are taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampMethod {
    /// One compute pass encoded exactly like an inference, with a timestamp
    /// before the first dispatch and after every dispatch (needs
    /// `TIMESTAMP_QUERY_INSIDE_PASSES`). A dispatch's time is the difference
    /// of the timestamps around it.
    InsidePass,
    /// One compute pass per dispatch, each with begin and end timestamps
    /// (needs only `TIMESTAMP_QUERY`). Pass boundaries add barriers and stop
    /// neighbouring dispatches from overlapping, so on a real GPU the sum can
    /// exceed an inference's pass time.
    PassPerDispatch,
}

impl TimestampMethod {
    /// `inside-pass` or `pass-per-dispatch`.
    pub fn name(self) -> &'static str {
        match self {
            TimestampMethod::InsidePass => "inside-pass",
            TimestampMethod::PassPerDispatch => "pass-per-dispatch",
        }
    }
}

/// How to profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProfileOptions {
    /// Profiled inferences; each dispatch's time is the median over them.
    pub iters: usize,
    /// Untimed profiled inferences first: drivers that compile a pipeline at
    /// its first dispatch (llvmpipe does) would otherwise charge compilation
    /// to the first sample.
    pub warmup: usize,
    /// The method; `None` takes [`TimestampMethod::InsidePass`] when the
    /// device has it, else [`TimestampMethod::PassPerDispatch`].
    pub method: Option<TimestampMethod>,
}

impl Default for ProfileOptions {
    fn default() -> Self {
        ProfileOptions {
            iters: 10,
            warmup: 1,
            method: None,
        }
    }
}

/// One dispatch's median GPU time and the work it does.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerTiming {
    /// What the dispatch computes.
    pub step: Step,
    /// Its name ([`Step::name`]).
    pub name: String,
    /// The entry point that ran.
    pub kernel: Kernel,
    /// Input height, width, channels (for preprocess: the frame, 4 bytes per pixel).
    pub input: [u32; 3],
    /// Output height, width, channels.
    pub output: [u32; 3],
    /// Kernel side (1 for non-convolutions).
    pub kernel_size: u32,
    /// Stride (1 for non-convolutions).
    pub stride: u32,
    /// Median GPU time, ms.
    pub gpu_ms: f64,
    /// Fastest sample, ms.
    pub min_ms: f64,
    /// Slowest sample, ms.
    pub max_ms: f64,
    /// Multiply-adds.
    pub multiply_adds: u64,
    /// Bytes read and written, each bound tensor counted once (see the module docs).
    pub bytes: u64,
}

impl LayerTiming {
    /// Achieved GFLOP/s (2 x multiply-adds / median time); `None` when the
    /// time rounds to zero.
    pub fn gflops(&self) -> Option<f64> {
        (self.gpu_ms > 0.0).then(|| 2.0 * self.multiply_adds as f64 / (self.gpu_ms * 1e6))
    }

    /// Achieved GB/s (bytes / median time); `None` when the time rounds to zero.
    pub fn gbytes_per_s(&self) -> Option<f64> {
        (self.gpu_ms > 0.0).then(|| self.bytes as f64 / (self.gpu_ms * 1e6))
    }
}

/// Per-dispatch GPU times of one inference at one resolution.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerProfile {
    /// Resolution profiled.
    pub resolution: Resolution,
    /// How the times were taken.
    pub method: TimestampMethod,
    /// Profiled inferences the medians are over.
    pub iters: usize,
    /// Weight storage precision (it sets the weight bytes).
    pub precision: WeightPrecision,
    /// The patch that ran (it sets the classifier's class count).
    pub patch_id: String,
    /// One entry per dispatch, in plan order.
    pub layers: Vec<LayerTiming>,
    /// Median time from the first to the last timestamp of a profiled
    /// inference, ms: timestamp overhead and (for pass-per-dispatch) the gaps
    /// between passes included.
    pub profiled_span_ms: f64,
    /// Median GPU time of the compute pass of the plain inferences run between
    /// the profiled ones, ms; `None` when the engine was built without
    /// [`crate::EngineOptions::gpu_timestamps`].
    pub inference_gpu_ms: Option<f64>,
}

impl LayerProfile {
    /// Sum of the per-dispatch medians, ms.
    pub fn total_ms(&self) -> f64 {
        self.layers.iter().map(|l| l.gpu_ms).sum()
    }

    /// Multiply-adds of the whole inference.
    pub fn multiply_adds(&self) -> u64 {
        self.layers.iter().map(|l| l.multiply_adds).sum()
    }

    /// Bytes of the whole inference (sum over dispatches).
    pub fn bytes(&self) -> u64 {
        self.layers.iter().map(|l| l.bytes).sum()
    }

    /// Median time per kernel family (shader file), ms, in order of first appearance.
    pub fn by_family(&self) -> Vec<(&'static str, f64)> {
        let mut out: Vec<(&'static str, f64)> = Vec::new();
        for l in &self.layers {
            let family = l.kernel.family().name;
            match out.iter_mut().find(|(f, _)| *f == family) {
                Some((_, ms)) => *ms += l.gpu_ms,
                None => out.push((family, l.gpu_ms)),
            }
        }
        out
    }
}

/// Buffers for one profile call (created per call: profiling is not a hot path).
struct Queries {
    set: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    staging: wgpu::Buffer,
    count: u32,
}

impl Engine {
    /// Times every dispatch of one inference of `image` at `resolution` with
    /// the active patch, the median over `options.iters` runs. Each profiled
    /// run follows a plain inference; both hold the engine's inference lock,
    /// which stays held for the whole call.
    ///
    /// # Errors
    /// [`Error::TimestampsUnsupported`] when the device has no timestamp
    /// queries (or not the ones `options.method` needs);
    /// [`Error::InvalidOption`] for zero iterations; everything
    /// [`Engine::classify`] returns.
    pub fn profile(
        &self,
        image: &RgbaImage<'_>,
        resolution: Resolution,
        options: &ProfileOptions,
    ) -> Result<LayerProfile> {
        if options.iters == 0 {
            return Err(Error::InvalidOption {
                option: "iters",
                reason: "profiling needs at least one run".into(),
            });
        }
        let method = self.profile_method(options.method)?;
        let r = self.resolution_index(resolution)?;
        let steps = self.plan.io.len();
        let count = match method {
            TimestampMethod::InsidePass => steps + 1,
            TimestampMethod::PassPerDispatch => 2 * steps,
        } as u32;
        let queries = Queries {
            set: self.ctx.device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("profile/timestamps"),
                ty: wgpu::QueryType::Timestamp,
                count,
            }),
            resolve: transfer::empty(
                &self.ctx,
                "profile/timestamps/resolve",
                u64::from(count) * 8,
                wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            ),
            staging: transfer::staging(
                &self.ctx,
                "profile/timestamps/staging",
                u64::from(count) * 8,
            ),
            count,
        };
        let ns_per_tick = f64::from(self.ctx.queue.get_timestamp_period());
        let mut state = self.lock();
        let id = state.active.clone();
        let mut samples = vec![Vec::with_capacity(options.iters); steps];
        let mut spans = Vec::with_capacity(options.iters);
        let mut plain = Vec::with_capacity(options.iters);
        for i in 0..options.warmup + options.iters {
            let c = self.run(&mut state, &id, image, r, true)?;
            let ticks = self.profiled_run(&mut state, &id, image, r, method, &queries)?;
            if i < options.warmup {
                continue;
            }
            plain.extend(c.gpu_ms);
            // A clock that runs backwards between two writes is a driver bug;
            // saturating keeps it visible as a zero instead of a huge number.
            let ms = |a: u64, b: u64| b.saturating_sub(a) as f64 * ns_per_tick / 1e6;
            for (s, sample) in samples.iter_mut().enumerate() {
                sample.push(match method {
                    TimestampMethod::InsidePass => ms(ticks[s], ticks[s + 1]),
                    TimestampMethod::PassPerDispatch => ms(ticks[2 * s], ticks[2 * s + 1]),
                });
            }
            spans.push(ms(ticks[0], ticks[count as usize - 1]));
        }
        self.ctx.check_errors("profile")?;

        let classes = state.patches.touch(&id)?.classes;
        let pre = ops::preprocess::dispatch(
            image.width(),
            image.height(),
            resolution.side(),
            &self.backbone.config.normalization,
        );
        let weight_bytes = match self.options.precision {
            WeightPrecision::F32 => 4,
            WeightPrecision::F16 => 2,
        };
        let arch = &self.backbone.arch;
        let layers = self
            .plan
            .steps
            .iter()
            .zip(&self.plan.dispatches[r])
            .zip(samples.iter_mut())
            .map(|((&step, planned), sample)| {
                let d = if step == Step::Preprocess {
                    &pre
                } else {
                    planned
                };
                let kind = step.layer(arch).map(|l| l.kind);
                let (multiply_adds, bytes) = work(step, kind, &d.params, classes, weight_bytes);
                let (input, output) = shapes(step, &d.params, classes);
                sample.sort_by(f64::total_cmp);
                LayerTiming {
                    step,
                    name: step.name(arch),
                    kernel: d.kernel,
                    input,
                    output,
                    kernel_size: d.params.kernel.max(1),
                    stride: d.params.stride.max(1),
                    gpu_ms: median_sorted(sample),
                    min_ms: sample.first().copied().unwrap_or(0.0),
                    max_ms: sample.last().copied().unwrap_or(0.0),
                    multiply_adds,
                    bytes,
                }
            })
            .collect();
        spans.sort_by(f64::total_cmp);
        plain.sort_by(f64::total_cmp);
        Ok(LayerProfile {
            resolution,
            method,
            iters: options.iters,
            precision: self.options.precision,
            patch_id: id,
            layers,
            profiled_span_ms: median_sorted(&spans),
            inference_gpu_ms: (!plain.is_empty()).then(|| median_sorted(&plain)),
        })
    }

    /// The method to use, or why none is possible.
    fn profile_method(&self, wanted: Option<TimestampMethod>) -> Result<TimestampMethod> {
        let unsupported = |needed: &'static str| Error::TimestampsUnsupported {
            adapter: self.ctx.report.name.clone(),
            needed,
        };
        if !self.ctx.has_timestamps() {
            return Err(unsupported("timestamp-query"));
        }
        let inside = self.ctx.has_timestamps_inside_passes();
        match wanted {
            Some(TimestampMethod::InsidePass) if !inside => {
                Err(unsupported("timestamp-query-inside-passes"))
            }
            Some(m) => Ok(m),
            None if inside => Ok(TimestampMethod::InsidePass),
            None => Ok(TimestampMethod::PassPerDispatch),
        }
    }

    /// One inference with timestamps around every dispatch; returns the raw ticks.
    fn profiled_run(
        &self,
        state: &mut State,
        id: &str,
        image: &RgbaImage<'_>,
        r: usize,
        method: TimestampMethod,
        queries: &Queries,
    ) -> Result<Vec<u64>> {
        let State { patches, frame, .. } = state;
        let patch = patches.touch(id)?;
        let pre_workgroups = self.prepare_frame(frame, image, r, true)?;
        let frame: &FrameResources = frame;
        let mut encoder = self
            .ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("profile"),
            });
        let steps = self.encoded_steps(frame, patch.classes, r, pre_workgroups);
        match method {
            TimestampMethod::InsidePass => {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("profile"),
                    timestamp_writes: None,
                });
                self.bind_shared(&mut pass, patch);
                pass.write_timestamp(&queries.set, 0);
                for (s, step) in steps.enumerate() {
                    step.record(&mut pass);
                    pass.write_timestamp(&queries.set, s as u32 + 1);
                }
            }
            TimestampMethod::PassPerDispatch => {
                for (s, step) in steps.enumerate() {
                    let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                        label: Some("profile/step"),
                        timestamp_writes: Some(wgpu::ComputePassTimestampWrites {
                            query_set: &queries.set,
                            beginning_of_pass_write_index: Some(2 * s as u32),
                            end_of_pass_write_index: Some(2 * s as u32 + 1),
                        }),
                    });
                    self.bind_shared(&mut pass, patch);
                    step.record(&mut pass);
                }
            }
        }
        let len = u64::from(queries.count) * 8;
        encoder.resolve_query_set(&queries.set, 0..queries.count, &queries.resolve, 0);
        encoder.copy_buffer_to_buffer(&queries.resolve, 0, &queries.staging, 0, len);
        self.ctx.queue.submit([encoder.finish()]);
        let bytes = transfer::read_back(&self.ctx, &queries.staging, len)?;
        Ok(bytemuck::pod_collect_to_vec(&bytes))
    }
}

/// Median of sorted samples (mean of the middle two for an even count); 0 for none.
fn median_sorted(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// Input and output shapes `[h, w, c]` of a dispatch with `classes` outputs.
fn shapes(step: Step, p: &LayerParams, classes: u32) -> ([u32; 3], [u32; 3]) {
    match step {
        Step::Classifier => ([1, 1, p.in_c], [1, 1, classes]),
        Step::Softmax => ([1, 1, classes], [1, 1, classes]),
        _ => ([p.in_h, p.in_w, p.in_c], [p.out_h, p.out_w, p.out_c]),
    }
}

/// Multiply-adds and compulsory bytes of one dispatch (see the module docs).
/// What is counted follows the step (a layer's kind), not the entry point, so
/// a kernel variant of the same layer is charged the same work; the sizes
/// come from the parameter record `p` the kernel runs with. Activations,
/// scale/bias, logits and probabilities are f32; weights take
/// `weight_bytes` each.
fn work(
    step: Step,
    kind: Option<LayerKind>,
    p: &LayerParams,
    classes: u32,
    weight_bytes: u64,
) -> (u64, u64) {
    let px_in = u64::from(p.in_h) * u64::from(p.in_w);
    let px_out = u64::from(p.out_h) * u64::from(p.out_w);
    let (cin, cout) = (u64::from(p.in_c), u64::from(p.out_c));
    let taps = u64::from(p.kernel) * u64::from(p.kernel);
    let act_in = px_in * cin * 4;
    let act_out = px_out * cout * 4;
    let scale_bias = 2 * cout * 4;
    let classes = u64::from(classes);
    let conv = |weights: u64| {
        let residual = if p.residual != 0 { act_out } else { 0 };
        (
            px_out * weights,
            act_in + weights * weight_bytes + scale_bias + act_out + residual,
        )
    };
    match (step, kind) {
        // The frame is RGBA8, one u32 per pixel; a downscale reads only part
        // of it, so this counts an upper bound on the frame's share.
        (Step::Preprocess, _) => (0, px_in * 4 + act_out),
        (Step::Layer(_), Some(LayerKind::Stem)) => conv(taps * cin * cout),
        (Step::Layer(_), Some(LayerKind::Depthwise)) => conv(taps * cout),
        (Step::Layer(_), Some(LayerKind::Expand | LayerKind::Project | LayerKind::Head)) => {
            conv(cin * cout)
        }
        (Step::Layer(_), None) => (0, act_in + act_out),
        (Step::Pool, _) => (0, act_in + cout * 4),
        (Step::Classifier, _) => {
            let w = cin * classes;
            (w, cin * 4 + w * weight_bytes + 2 * classes * 4)
        }
        (Step::Softmax, _) => (0, 2 * classes * 4),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Padding;
    use crate::ops::pointwise::{self, PointwiseShape};

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median_sorted(&[]), 0.0);
        assert_eq!(median_sorted(&[1.0, 2.0, 9.0]), 2.0);
        assert_eq!(median_sorted(&[1.0, 2.0, 4.0, 9.0]), 3.0);
    }

    #[test]
    fn pointwise_work_counts_every_bound_tensor() {
        let d = pointwise::dispatch(
            PointwiseShape {
                h: 14,
                w: 14,
                cin: 384,
                cout: 64,
                relu6: false,
                residual: true,
            },
            0,
            0,
        );
        let project = Some(LayerKind::Project);
        let (macs, bytes) = work(Step::Layer(5), project, &d.params, 1000, 4);
        assert_eq!(macs, 14 * 14 * 384 * 64);
        let act = |c: u64| 14 * 14 * c * 4;
        assert_eq!(bytes, act(384) + 384 * 64 * 4 + 2 * 64 * 4 + 2 * act(64));
        let (_, f16_bytes) = work(Step::Layer(5), project, &d.params, 1000, 2);
        assert_eq!(bytes - f16_bytes, 384 * 64 * 2);
    }

    #[test]
    fn depthwise_macs_use_the_output_size() {
        let d = ops::depthwise::dispatch(
            ops::depthwise::DepthwiseShape {
                h: 112,
                w: 112,
                c: 96,
                kernel: 3,
                stride: 2,
                padding: Padding::Symmetric,
            },
            0,
            0,
        );
        let dw = Some(LayerKind::Depthwise);
        assert_eq!(
            work(Step::Layer(3), dw, &d.params, 10, 4).0,
            56 * 56 * 96 * 9
        );
    }
}

//! Criterion benches: each kernel family at a representative MobileNetV2
//! shape, the whole network per resolution, and hot and cold patch swaps.
//!
//! `cargo bench -p patchbench` (needs a GPU adapter; lavapipe works).

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use patchrt::gpu::transfer::f32_bytes;
use patchrt::model::synthetic::{self, SyntheticSpec};
use patchrt::model::{Padding, StoreAs};
use patchrt::ops::depthwise::DepthwiseShape;
use patchrt::ops::pointwise::PointwiseShape;
use patchrt::ops::standalone::{KernelInputs, PreparedKernel};
use patchrt::ops::stem_conv::StemConvShape;
use patchrt::ops::{self, Dispatch};
use patchrt::{
    AdapterPreference, Backbone, Engine, EngineOptions, GpuContext, Resolution, RgbaImage,
    WeightPrecision,
};

fn values(n: usize, seed: u32) -> Vec<f32> {
    (0..n)
        .map(|i| {
            ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) % 2000) as f32 / 1000.0 - 1.0
        })
        .collect()
}

fn context() -> Option<Arc<GpuContext>> {
    match GpuContext::new(&AdapterPreference::Auto) {
        Ok(c) => Some(c),
        Err(e) => {
            eprintln!("benches need a GPU adapter: {e}");
            None
        }
    }
}

fn bench_kernel(
    c: &mut Criterion,
    ctx: &Arc<GpuContext>,
    name: &str,
    dispatch: Dispatch,
    input_len: usize,
    weights: usize,
) {
    let input = values(input_len, 1);
    let w = values(weights, 2);
    let sb = values(2 * dispatch.params.out_c as usize, 3);
    let out_len = (dispatch.params.out_h * dispatch.params.out_w * dispatch.params.out_c) as usize;
    let inputs = KernelInputs {
        input: f32_bytes(&input),
        residual: &input,
        weights: &w,
        scale_bias: &sb,
        depthwise: &w,
        classifier_weight: &w,
        classifier_bias: &sb[..dispatch.params.out_c as usize],
        output_len: out_len.max(1),
        batch: None,
    };
    let kernel = match PreparedKernel::new(ctx, WeightPrecision::F32, dispatch, &inputs) {
        Ok(k) => k,
        Err(e) => panic!("{name}: {e}"),
    };
    // Multiply-adds count twice, so criterion's "elem/s" reads as FLOP/s and
    // kernels of different shapes compare on one scale.
    let (family, case) = name.split_once('/').unwrap_or((name, ""));
    let mut group = c.benchmark_group(family);
    group.throughput(Throughput::Elements(flops(&dispatch)));
    group.bench_function(case, |b| {
        b.iter(|| kernel.run().unwrap_or_else(|e| panic!("{e}")))
    });
    group.finish();
}

/// Floating-point operations of a conv dispatch (2 per multiply-add), or its
/// output element count for the other kernels.
fn flops(d: &Dispatch) -> u64 {
    let p = &d.params;
    let outputs = u64::from(p.out_h) * u64::from(p.out_w) * u64::from(p.out_c);
    let taps = u64::from(p.kernel) * u64::from(p.kernel);
    match d.kernel.family().name {
        "pointwise" | "stem_conv" => 2 * outputs * taps * u64::from(p.in_c),
        "depthwise" => 2 * outputs * taps,
        _ => outputs.max(1),
    }
}

fn kernels(c: &mut Criterion) {
    let Some(ctx) = context() else { return };
    let pad = Padding::Symmetric;
    let image = synthetic::test_image(640, 480, 1);
    let norm = patchrt::model::Normalization::IMAGENET;
    let pre = ops::preprocess::dispatch(640, 480, 224, &norm);
    let kernel = PreparedKernel::new(
        &ctx,
        WeightPrecision::F32,
        pre,
        &KernelInputs {
            input: &image,
            output_len: 224 * 224 * 3,
            ..KernelInputs::default()
        },
    );
    if let Ok(k) = kernel {
        c.bench_function("preprocess/640x480->224", |b| {
            b.iter(|| k.run().unwrap_or_else(|e| panic!("{e}")))
        });
    }
    let stem = ops::stem_conv::dispatch(
        StemConvShape {
            h: 224,
            w: 224,
            cin: 3,
            cout: 32,
            kernel: 3,
            stride: 2,
            padding: pad,
        },
        0,
        0,
    );
    bench_kernel(
        c,
        &ctx,
        "stem_conv/224x224x3->32",
        stem,
        224 * 224 * 3,
        27 * 32,
    );
    let expand = ops::pointwise::dispatch(
        PointwiseShape {
            h: 56,
            w: 56,
            cin: 24,
            cout: 144,
            relu6: true,
            residual: false,
        },
        0,
        0,
    );
    bench_kernel(
        c,
        &ctx,
        "pointwise/56x56x24->144",
        expand,
        56 * 56 * 24,
        24 * 144,
    );
    let project = ops::pointwise::dispatch(
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
    bench_kernel(
        c,
        &ctx,
        "pointwise/14x14x384->64+residual",
        project,
        14 * 14 * 384,
        384 * 64,
    );
    // The largest expand (block 1 at 224) and the head: the two ends of the
    // pointwise shapes (many pixels, few channels; few pixels, many channels).
    for (side, cin, cout) in [(112, 16, 96), (7, 320, 1280)] {
        let d = ops::pointwise::dispatch(
            PointwiseShape {
                h: side,
                w: side,
                cin,
                cout,
                relu6: true,
                residual: false,
            },
            0,
            0,
        );
        let n = side as usize * side as usize;
        bench_kernel(
            c,
            &ctx,
            &format!("pointwise/{side}x{side}x{cin}->{cout}"),
            d,
            n * cin as usize,
            (cin * cout) as usize,
        );
    }
    let dw56 = ops::depthwise::dispatch(
        DepthwiseShape {
            h: 56,
            w: 56,
            c: 144,
            kernel: 3,
            stride: 1,
            padding: pad,
        },
        0,
        0,
    );
    bench_kernel(
        c,
        &ctx,
        "depthwise/56x56x144/s1",
        dw56,
        56 * 56 * 144,
        9 * 144,
    );
    let dw1 = ops::depthwise::dispatch(
        DepthwiseShape {
            h: 112,
            w: 112,
            c: 96,
            kernel: 3,
            stride: 2,
            padding: pad,
        },
        0,
        0,
    );
    bench_kernel(
        c,
        &ctx,
        "depthwise/112x112x96/s2",
        dw1,
        112 * 112 * 96,
        9 * 96,
    );
    let dw2 = ops::depthwise::dispatch(
        DepthwiseShape {
            h: 28,
            w: 28,
            c: 192,
            kernel: 3,
            stride: 1,
            padding: pad,
        },
        0,
        0,
    );
    bench_kernel(
        c,
        &ctx,
        "depthwise/28x28x192/s1",
        dw2,
        28 * 28 * 192,
        9 * 192,
    );
    bench_kernel(
        c,
        &ctx,
        "pool_head/global_avg_pool/7x7x1280",
        ops::pool_head::pool(7, 7, 1280),
        7 * 7 * 1280,
        1,
    );
    bench_kernel(
        c,
        &ctx,
        "pool_head/classifier/1280->1000",
        ops::pool_head::classifier(1280, 1000),
        1280,
        1280 * 1000,
    );
}

struct Model {
    engine: Engine,
    patch_bytes: Vec<u8>,
    patch_ids: Vec<String>,
}

fn model() -> Option<Model> {
    let ctx = context()?;
    let bytes = synthetic::backbone_bytes(&SyntheticSpec::default());
    let backbone = Backbone::from_bytes(&bytes).ok()?;
    let patches = synthetic::task_patches(&backbone, &[Resolution(224), Resolution(96)], 3);
    let engine = Engine::with_context(ctx, backbone, EngineOptions::default()).ok()?;
    let mut patch_ids = Vec::new();
    for p in &patches {
        patch_ids.push(
            engine
                .load_patch(&p.to_bytes(engine.backbone(), StoreAs::F32))
                .ok()?
                .id,
        );
    }
    let mut cold = patches[0].clone();
    cold.id = "cold".into();
    let patch_bytes = cold.to_bytes(engine.backbone(), StoreAs::F32);
    Some(Model {
        engine,
        patch_bytes,
        patch_ids,
    })
}

fn network_and_swaps(c: &mut Criterion) {
    let Some(m) = model() else { return };
    let pixels = synthetic::test_image(640, 480, 11);
    let Ok(image) = RgbaImage::new(640, 480, &pixels) else {
        return;
    };
    let mut group = c.benchmark_group("network");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));
    for res in Resolution::STANDARD {
        group.bench_function(format!("mobilenet_v2_1.0/{res}"), |b| {
            b.iter(|| {
                black_box(
                    m.engine
                        .classify(&image, res)
                        .unwrap_or_else(|e| panic!("{e}")),
                )
            })
        });
    }
    // K = 4 tasks over one frame in one pass, against which `network/.../96`
    // above is one inference (patchbench --patches-per-pass interleaves both).
    let tasks = ["objects", "scenes", "flowers", "objects"];
    for res in [Resolution(224), Resolution(96)] {
        group.bench_function(format!("mobilenet_v2_1.0/4_tasks_one_pass/{res}"), |b| {
            b.iter(|| {
                black_box(
                    m.engine
                        .classify_tasks(&image, &tasks, res)
                        .unwrap_or_else(|e| panic!("{e}")),
                )
            })
        });
    }
    group.finish();
    let (a, b2) = (&m.patch_ids[0], &m.patch_ids[1]);
    let mut flip = false;
    c.bench_function("swap/hot_activate", |b| {
        b.iter(|| {
            flip = !flip;
            m.engine
                .activate(if flip { a } else { b2 })
                .unwrap_or_else(|e| panic!("{e}"))
        })
    });
    c.bench_function("swap/cold_load_and_activate", |b| {
        b.iter(|| {
            m.engine
                .load_patch(&m.patch_bytes)
                .unwrap_or_else(|e| panic!("{e}"));
            m.engine.activate("cold").unwrap_or_else(|e| panic!("{e}"));
            m.engine.activate(a).unwrap_or_else(|e| panic!("{e}"));
            m.engine
                .unload_patch("cold")
                .unwrap_or_else(|e| panic!("{e}"));
        })
    });
}

criterion_group!(benches, kernels, network_and_swaps, ota_bundles);
criterion_main!(benches);

/// Over-the-air bundles of the default model: verification alone (signature,
/// hashes, patch parsing) and a whole install (verify, stage with fsync,
/// atomic switch, upload), for a scale/bias patch and one with a classifier,
/// both folded and stored as f16 (the smallest form).
fn ota_bundles(c: &mut Criterion) {
    use patchrt::ota::{
        BundleBuilder, BundleLimits, BundleSigner, TrustedKeys, Updater, UpdaterOptions,
        verify_bundle,
    };

    let Some(ctx) = context() else { return };
    let bytes = synthetic::backbone_bytes(&SyntheticSpec::default());
    let Ok(backbone) = Backbone::from_bytes(&bytes) else {
        return;
    };
    let patches = synthetic::task_patches(&backbone, &[Resolution(224)], 7);
    let signer = BundleSigner::from_seed([3; 32]);
    let keys = TrustedKeys::new(vec![signer.public()]);
    let Ok(engine) = Engine::with_context(ctx, backbone.clone(), EngineOptions::default()) else {
        return;
    };
    let engine = Arc::new(engine);
    for (name, task) in [
        ("scale_bias", "objects"),
        ("scale_bias_classifier", "flowers"),
    ] {
        let Some(patch) = patches.iter().find(|p| p.task == task) else {
            return;
        };
        let mut builder = BundleBuilder::new("bench", 1, &backbone);
        let file = patch.folded().to_bytes(&backbone, StoreAs::F16);
        if builder.add_patch("p.safetensors", file, &backbone).is_err() {
            return;
        }
        let Ok(bundle) = builder.build(&[&signer]) else {
            return;
        };
        eprintln!("ota/{name}: bundle of {} bytes", bundle.len());
        c.bench_function(&format!("ota/verify/{name}"), |b| {
            b.iter(|| {
                black_box(
                    verify_bundle(&bundle, &keys, &backbone, &BundleLimits::default())
                        .unwrap_or_else(|e| panic!("{e}")),
                )
            })
        });
        let root = std::env::temp_dir().join(format!("patchrt-bench-ota-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let options = UpdaterOptions {
            allow_downgrade: true,
            ..UpdaterOptions::default()
        };
        let Ok(updater) = Updater::open(engine.clone(), &root, keys.clone(), options) else {
            return;
        };
        c.bench_function(&format!("ota/install/{name}"), |b| {
            b.iter(|| black_box(updater.install(&bundle).unwrap_or_else(|e| panic!("{e}"))))
        });
        let _ = std::fs::remove_dir_all(&root);
    }
}

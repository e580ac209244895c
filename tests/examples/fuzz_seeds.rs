//! Writes the seed inputs of the cargo-fuzz targets in `runtime/fuzz/`:
//! one valid file per format, small enough to commit and to mutate quickly.
//!
//! ```text
//! cargo run -p patchrt-tests --example fuzz_seeds [-- OUT_DIR]
//! ```
//!
//! `OUT_DIR` defaults to `runtime/fuzz/seeds`; every file is written to
//! `OUT_DIR/<target>/<name>`. The output is deterministic (fixed RNG seeds,
//! creation time and signing key, sorted metadata keys; Ed25519 signatures
//! are deterministic), so a rerun leaves the committed files as they are.
//!
//! The backbone is a hand-made two-block MobileNetV2 (width 0.35, 2 classes,
//! f16): about 35 KB, against the 3.5 MB of the smallest synthetic backbone.
//! The fuzz targets and `tests/tests/fuzz_regressions.rs` load this committed
//! file as their fixed backbone, so patches and bundles are checked against
//! the very backbone the seeds were made for.

use std::path::{Path, PathBuf};

use patchrt::Resolution;
use patchrt::model::synthetic;
use patchrt::model::{
    Backbone, BackboneConfig, BackboneId, BlockSpec, Classifier, LayerKind, LayerNorm,
    Normalization, Padding, StoreAs,
};
use patchrt::ota::{BundleBuilder, BundleSigner, PatchResolution};

/// Seed of the key that signs the seed bundles; the targets trust its public key.
const SIGNER_SEED: [u8; 32] = [7; 32];
/// Seed of a second key the targets do not trust (an unknown-key signature).
const OTHER_SEED: [u8; 32] = [9; 32];
/// Fixed creation time, so that the bundles are reproducible.
const CREATED: &str = "2026-11-22T00:00:00Z";

/// A printable error is all a generator needs.
type Result<T = ()> = std::result::Result<T, String>;

/// xorshift64*: enough for deterministic, well-spread test weights.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
        (x >> 40) as f32 / (1u64 << 24) as f32
    }

    /// `n` values uniform in `[lo, hi)`.
    fn uniform(&mut self, n: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..n).map(|_| lo + (hi - lo) * self.next()).collect()
    }
}

/// The tiny backbone, as a `Backbone` value (identity not yet computed).
fn tiny_backbone() -> Backbone {
    // Two blocks: one without expansion (3x3 depthwise), one with expansion,
    // stride 2 and a 5x5 depthwise kernel, so every layer kind appears.
    let blocks = vec![
        BlockSpec {
            expansion: 1,
            channels: 8,
            repeats: 1,
            stride: 1,
            kernel: 3,
        },
        BlockSpec {
            expansion: 2,
            channels: 8,
            repeats: 1,
            stride: 2,
            kernel: 5,
        },
    ];
    let config = BackboneConfig {
        arch: "mobilenet_v2".into(),
        width: 0.35,
        classes: 2,
        bn_epsilon: 1e-3,
        padding: Padding::SameUpper,
        normalization: Normalization::IMAGENET,
        native_resolution: 64,
        task: "fuzz".into(),
        labels: vec!["left".into(), "right".into()],
        blocks,
    };
    let arch = config.architecture();
    let mut rng = Rng(0x5eed_f022);
    let mut dense = vec![0.0; arch.layout.dense_len];
    let mut depthwise = vec![0.0; arch.layout.depthwise_len];
    let mut norms = Vec::new();
    for (layer, &off) in arch.layers.iter().zip(&arch.layout.weight_offset) {
        let bound = 1.0 / (layer.weight_len() as f32 / layer.out_channels as f32).sqrt();
        let w = rng.uniform(layer.weight_len(), -bound, bound);
        let dst = if layer.kind == LayerKind::Depthwise {
            &mut depthwise
        } else {
            &mut dense
        };
        dst[off..off + w.len()].copy_from_slice(&w);
        let c = layer.out_channels as usize;
        // Both stored forms of BatchNorm: folded for the head, raw elsewhere.
        norms.push(if layer.kind == LayerKind::Head {
            LayerNorm::Folded {
                scale: rng.uniform(c, 0.5, 1.0),
                bias: rng.uniform(c, -0.1, 0.1),
            }
        } else {
            LayerNorm::Batch {
                gamma: rng.uniform(c, 0.5, 1.0),
                beta: rng.uniform(c, -0.1, 0.1),
                mean: rng.uniform(c, -0.5, 0.5),
                var: rng.uniform(c, 0.5, 1.5),
            }
        });
    }
    let f = arch.feature_channels as usize;
    let classes = config.classes as usize;
    let classifier = Classifier {
        weight: rng.uniform(classes * f, -0.05, 0.05),
        bias: rng.uniform(classes, -0.1, 0.1),
        labels: config.labels.clone(),
    };
    Backbone {
        config,
        arch,
        identity: BackboneId([0; 32]),
        dense,
        depthwise,
        classifier,
        norms,
    }
}

/// The same safetensors file with its `__metadata__` keys in sorted order.
///
/// The runtime's writers hand safetensors a `HashMap` of metadata, which it
/// writes in the map's (per-process random) iteration order; sorting makes
/// the seeds byte-for-byte reproducible. Tensors and their offsets are kept.
fn sorted_metadata(bytes: &[u8]) -> Result<Vec<u8>> {
    let bad = || "not a safetensors file".to_string();
    let len = u64::from_le_bytes(
        bytes
            .get(..8)
            .ok_or_else(bad)?
            .try_into()
            .map_err(|_| bad())?,
    );
    let end = usize::try_from(len).map_err(|_| bad())? + 8;
    let mut header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(bytes.get(8..end).ok_or_else(bad)?).map_err(|e| e.to_string())?;
    if let Some(serde_json::Value::Object(meta)) = header.get_mut("__metadata__") {
        let mut entries: Vec<_> = std::mem::take(meta).into_iter().collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        meta.extend(entries);
    }
    let mut json = serde_json::to_vec(&header).map_err(|e| e.to_string())?;
    // safetensors pads the header with spaces to a multiple of 8 bytes.
    json.resize(json.len().next_multiple_of(8), b' ');
    let mut out = (json.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&json);
    out.extend_from_slice(&bytes[end..]);
    Ok(out)
}

/// Writes `OUT/<target>/<name>` unless it already holds exactly `bytes` (an
/// unchanged backbone seed then does not rebuild the fuzz targets, which
/// embed it).
fn write(dir: &Path, target: &str, name: &str, bytes: &[u8]) -> Result {
    let dir = dir.join(target);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join(name);
    let unchanged = std::fs::read(&path).is_ok_and(|old| old == bytes);
    if !unchanged {
        std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let note = if unchanged { "unchanged" } else { "written" };
    println!("{:>8} bytes  {note:9}  {}", bytes.len(), path.display());
    Ok(())
}

fn main() -> Result {
    let out = std::env::args().nth(1).map_or_else(
        || {
            let tests = Path::new(env!("CARGO_MANIFEST_DIR"));
            tests.parent().unwrap_or(tests).join("runtime/fuzz/seeds")
        },
        PathBuf::from,
    );

    // Backbone: written in f16, then parsed back for its real identity.
    let backbone_bytes = sorted_metadata(&tiny_backbone().to_bytes(StoreAs::F16))?;
    let backbone = Backbone::from_bytes(&backbone_bytes).map_err(|e| e.to_string())?;
    write(
        &out,
        "backbone_file",
        "tiny-backbone.safetensors",
        &backbone_bytes,
    )?;

    // Patches: the three synthetic task kinds (scale/bias, +depthwise,
    // +classifier) at one resolution, BN measured on this backbone. Bundle
    // ids may not contain '@', so the ids are renamed.
    // Two changes keep the files small: the 1280-channel head's BatchNorm is
    // stored folded (two tensors instead of four; the other layers keep the
    // raw form, so both are seeded), and the classifier patch keeps 2 of its
    // 17 classes.
    let mut patches = synthetic::task_patches(&backbone, &[Resolution(64)], 3);
    let head = backbone.arch.layers.len() - 1;
    for p in &mut patches {
        p.id = p.id.replace('@', "-");
        let (scale, bias) = p.norms[head].fold(p.bn_epsilon);
        p.norms[head] = LayerNorm::Folded { scale, bias };
        if let Some(c) = &mut p.classifier {
            let f = backbone.arch.feature_channels as usize;
            c.weight.truncate(2 * f);
            c.bias.truncate(2);
            c.labels.truncate(2);
        }
    }
    let mut patch_files = Vec::new();
    for (p, dtype) in patches
        .iter()
        .zip([StoreAs::F32, StoreAs::F16, StoreAs::F16])
    {
        let bytes = sorted_metadata(&p.to_bytes(&backbone, dtype))?;
        let name = format!("{}.safetensors", p.id);
        write(&out, "patch_file", &name, &bytes)?;
        patch_files.push((name, bytes));
    }

    // Bundles: the scale/bias and depthwise patches, signed by the trusted
    // key; a second copy also signed by a key the targets do not know.
    let signer = BundleSigner::from_seed(SIGNER_SEED);
    let other = BundleSigner::from_seed(OTHER_SEED);
    let mut builder = BundleBuilder::new("fuzz-seed", 1, &backbone)
        .created(CREATED)
        .min_runtime_version("0.1.0");
    for (name, bytes) in &patch_files[..2] {
        builder
            .add_patch(name, bytes.clone(), &backbone)
            .map_err(|e| e.to_string())?;
    }
    let one = builder.build(&[&signer]).map_err(|e| e.to_string())?;
    write(&out, "bundle_container", "signed.bundle", &one)?;
    let two = builder
        .build(&[&other, &signer])
        .map_err(|e| e.to_string())?;
    write(&out, "bundle_container", "two-signatures.bundle", &two)?;

    // Manifests: the one signed above, and one with an "any" resolution.
    write(
        &out,
        "bundle_manifest",
        "manifest.json",
        &builder.manifest().to_json(),
    )?;
    let mut any = builder.manifest().clone();
    any.patches[1].resolution = PatchResolution::from_side(None);
    write(
        &out,
        "bundle_manifest",
        "any-resolution.json",
        &any.to_json(),
    )?;
    Ok(())
}

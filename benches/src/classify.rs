//! `patchbench classify`: decode photos, classify them, print top-K.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use patchrt::model::synthetic::{self, SyntheticSpec};
use patchrt::{Backbone, Engine, EngineOptions, Resolution, RgbaImage};
use serde_json::{Value, json};

/// Arguments of `patchbench classify`.
#[derive(clap::Args, Debug)]
pub struct ClassifyArgs {
    /// PNG or JPEG files.
    #[arg(required = true)]
    images: Vec<PathBuf>,
    /// Backbone file (default: the embedded synthetic model, whose outputs mean nothing).
    #[arg(long)]
    backbone: Option<PathBuf>,
    /// Patch file to classify with (default: the backbone's own parameters).
    #[arg(long)]
    patch: Option<PathBuf>,
    /// Resolution(s), comma separated (default: the backbone's native resolution).
    #[arg(long, value_delimiter = ',')]
    resolution: Vec<u32>,
    /// How many classes to print per image.
    #[arg(long, default_value_t = 5)]
    top: usize,
    /// Adapter name filter (overrides PATCHRT_ADAPTER).
    #[arg(long)]
    adapter: Option<String>,
    /// Write every result, with all class probabilities, as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// Decodes an image file to RGBA8.
fn decode(path: &PathBuf) -> Result<(u32, u32, Vec<u8>)> {
    let img = image::open(path)
        .with_context(|| format!("decoding {}", path.display()))?
        .to_rgba8();
    Ok((img.width(), img.height(), img.into_raw()))
}

/// Runs the command.
pub fn run(args: &ClassifyArgs) -> Result<()> {
    let backbone = match &args.backbone {
        Some(path) => {
            Backbone::from_path(path).with_context(|| format!("loading {}", path.display()))?
        }
        None => {
            eprintln!(
                "note: no --backbone: using the embedded SYNTHETIC model; its labels mean nothing"
            );
            Backbone::from_bytes(&synthetic::backbone_bytes(&SyntheticSpec::default()))?
        }
    };
    let resolutions: Vec<Resolution> = if args.resolution.is_empty() {
        vec![Resolution(backbone.config.native_resolution)]
    } else {
        args.resolution.iter().map(|r| Resolution(*r)).collect()
    };
    if args.top == 0 {
        bail!("--top must be at least 1");
    }
    let options = EngineOptions {
        resolutions: resolutions.clone(),
        ..crate::source::engine_options(&args.adapter, false)
    };
    let engine = Engine::new(backbone, options).context("creating the engine")?;
    if let Some(path) = &args.patch {
        let info = crate::source::load_patch_file(&engine, path)?;
        engine.activate(&info.id)?;
    }
    eprintln!(
        "adapter: {} ({}); patch: {}",
        engine.adapter().name,
        engine.adapter().backend,
        engine.active_patch()
    );
    let mut out: Vec<Value> = Vec::new();
    for path in &args.images {
        let (w, h, pixels) = decode(path)?;
        let image = RgbaImage::new(w, h, &pixels)?;
        for &res in &resolutions {
            let result = engine.classify(&image, res)?;
            let top = result.top_k(args.top);
            println!("{} ({w}x{h}) at {res}:", path.display());
            for p in &top {
                println!("  {:>7.4}  {}", p.probability, p.label);
            }
            out.push(json!({
                "image": path.display().to_string(),
                "resolution": res.side(),
                "top": top.iter().map(|p| json!({"label": p.label, "prob": p.probability})).collect::<Vec<_>>(),
                "probs": result.probabilities,
            }));
        }
    }
    if let Some(path) = &args.json {
        crate::output::write_output(path, &serde_json::to_string(&out)?)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

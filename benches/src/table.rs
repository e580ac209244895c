//! `patchbench cascade table`: run a model at every resolution on labelled
//! photos and write the validation table the cascade builder reads.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use image::{RgbaImage as Pixels, imageops};
use patchrt::{Backbone, Engine, EngineOptions, Resolution, RgbaImage};
use serde_json::json;

/// Arguments of `patchbench cascade table`.
#[derive(clap::Args, Debug)]
pub struct TableArgs {
    /// Labelled list: CSV with header `image,labels`; image paths are relative
    /// to the list; `labels` is one or more accepted class names (or indices)
    /// separated by `|`.
    #[arg(long)]
    list: PathBuf,
    /// Backbone file.
    #[arg(long)]
    backbone: PathBuf,
    /// Patch file(s); with one patch per resolution of the same task, each
    /// resolution runs with its own patch.
    #[arg(long = "patch")]
    patches: Vec<PathBuf>,
    /// Task whose patches to use (default: the first patch's task).
    #[arg(long)]
    task: Option<String>,
    /// Resolutions (comma separated).
    #[arg(long, value_delimiter = ',', default_values_t = [224, 192, 160, 128, 96])]
    resolutions: Vec<u32>,
    /// Views per photo (1..=8): the photo, its mirror image, and crops of it,
    /// to get more examples from few labelled photos.
    #[arg(long, default_value_t = 1)]
    views: usize,
    /// Output table (JSON).
    #[arg(long)]
    out: PathBuf,
}

/// The `index`-th view of a photo: 0 the photo, 1 mirrored, then 80% crops
/// (centre and four corners) and a mirrored centre crop.
fn view(img: &Pixels, index: usize) -> (String, Pixels) {
    let (w, h) = img.dimensions();
    let (cw, ch) = (w * 4 / 5, h * 4 / 5);
    let crop = |x: u32, y: u32| imageops::crop_imm(img, x, y, cw, ch).to_image();
    match index {
        0 => ("full".into(), img.clone()),
        1 => ("mirror".into(), imageops::flip_horizontal(img)),
        2 => ("centre80".into(), crop((w - cw) / 2, (h - ch) / 2)),
        3 => ("top_left80".into(), crop(0, 0)),
        4 => ("top_right80".into(), crop(w - cw, 0)),
        5 => ("bottom_left80".into(), crop(0, h - ch)),
        6 => ("bottom_right80".into(), crop(w - cw, h - ch)),
        _ => (
            "mirror_centre80".into(),
            imageops::flip_horizontal(&crop((w - cw) / 2, (h - ch) / 2)),
        ),
    }
}

/// Runs the command.
pub fn run(args: &TableArgs) -> Result<()> {
    if !(1..=8).contains(&args.views) {
        bail!("--views must be in 1..=8");
    }
    let resolutions: Vec<Resolution> = args.resolutions.iter().map(|r| Resolution(*r)).collect();
    let backbone = Backbone::from_path(&args.backbone)
        .with_context(|| format!("loading {}", args.backbone.display()))?;
    let engine = Engine::new(
        backbone,
        EngineOptions {
            resolutions: resolutions.clone(),
            ..EngineOptions::default()
        },
    )?;
    let mut task = args.task.clone();
    for p in &args.patches {
        let info = crate::source::load_patch_file(&engine, p)?;
        task.get_or_insert(info.task);
    }
    let task = task.unwrap_or_else(|| engine.backbone().config.task.clone());
    let text = std::fs::read_to_string(&args.list)
        .with_context(|| format!("reading {}", args.list.display()))?;
    let base = args.list.parent().unwrap_or(Path::new("."));
    let mut examples = Vec::new();
    for (line_no, line) in text
        .lines()
        .enumerate()
        .skip(1)
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let Some((path, labels)) = line.split_once(',') else {
            bail!(
                "{}:{}: expected `image,labels`",
                args.list.display(),
                line_no + 1
            );
        };
        let accepted: Vec<&str> = labels.split('|').map(str::trim).collect();
        let photo = image::open(base.join(path.trim()))
            .with_context(|| format!("{}:{}: decoding {path}", args.list.display(), line_no + 1))?
            .to_rgba8();
        for v in 0..args.views {
            let (name, pixels) = view(&photo, v);
            let frame = RgbaImage::new(pixels.width(), pixels.height(), pixels.as_raw())?;
            let mut results = Vec::new();
            for &res in &resolutions {
                let c = match engine.patch_for_task(&task, res) {
                    Ok(_) => engine.classify_task(&frame, &task, res)?,
                    Err(_) => engine.classify(&frame, res)?,
                };
                let top = c
                    .top_k(1)
                    .into_iter()
                    .next()
                    .context("a model with no classes")?;
                let correct = accepted
                    .iter()
                    .any(|a| *a == top.label || a.parse::<usize>().ok() == Some(top.class));
                results.push(json!({"resolution": res.side(), "class": top.class, "confidence": top.probability, "correct": correct}));
            }
            examples.push(json!({"id": format!("{}#{name}", path.trim()), "results": results}));
        }
    }
    let table = json!({"resolutions": args.resolutions, "examples": examples});
    crate::output::write_output(&args.out, &serde_json::to_string_pretty(&table)?)?;
    eprintln!(
        "wrote {} examples x {} resolutions to {}",
        examples.len(),
        resolutions.len(),
        args.out.display()
    );
    Ok(())
}

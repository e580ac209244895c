//! Load a backbone once, load task patches, swap between them and classify.
//!
//! Runs on the embedded synthetic model: `cargo run --release -p patchrt --example quickstart`.

use patchrt::model::StoreAs;
use patchrt::model::synthetic::{self, SyntheticSpec};
use patchrt::{Backbone, Engine, EngineOptions, Resolution, RgbaImage};

fn main() -> Result<(), patchrt::Error> {
    // A small synthetic model keeps the example quick; real models load with Backbone::from_path.
    let spec = SyntheticSpec {
        width: 0.35,
        classes: 10,
        calibration_side: 96,
        ..SyntheticSpec::default()
    };
    let backbone = Backbone::from_bytes(&synthetic::backbone_bytes(&spec))?;
    let patches = synthetic::task_patches(&backbone, &[Resolution(160), Resolution(96)], 1);
    let engine = Engine::new(backbone, EngineOptions::default())?;
    println!("adapter: {}", engine.adapter().name);
    for patch in &patches {
        // Patches normally arrive as files; this is the same path.
        let info = engine.load_patch(&patch.to_bytes(engine.backbone(), StoreAs::F32))?;
        println!(
            "loaded {} ({} parameters, {} GPU bytes)",
            info.id, info.parameters, info.gpu_bytes
        );
    }
    let pixels = synthetic::test_image(320, 240, 1);
    let image = RgbaImage::new(320, 240, &pixels)?;
    for task in ["objects", "scenes", "flowers"] {
        for res in [Resolution(160), Resolution(96)] {
            let result = engine.classify_task(&image, task, res)?;
            let top = &result.top_k(1)[0];
            println!(
                "{task} at {res} via {}: {} ({:.3})",
                result.patch_id, top.label, top.probability
            );
        }
    }
    Ok(())
}

use patchrt::model::synthetic::{self, SyntheticSpec};
use patchrt::*;
fn main() {
    let bytes = synthetic::backbone_bytes(&SyntheticSpec::default());
    let bb = Backbone::from_bytes(&bytes).unwrap();
    let engine = Engine::new(bb.clone(), EngineOptions::default()).unwrap();
    println!("{:?}", engine.adapter());
    let px = synthetic::test_image(200, 150, 3);
    let img = RgbaImage::new(200, 150, &px).unwrap();
    for r in Resolution::STANDARD {
        let c = engine.classify(&img, r).unwrap();
        let cpu = reference::forward(&bb, &Patch::default_of(&bb), &img, r.side());
        let err = c.probabilities.iter().zip(&cpu).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        println!("{r}: gpu {:?} err {err:e} top {:?}", c.gpu_ms, c.top_k(2));
    }
}

//! Passive PAD with the upstream weights on the labelled crops of `../shared/data/spoof`
//! (one subject's live video and its screen replay: a smoke test, not a benchmark). The crops
//! are tight, so the whole crop is the face box, as the models' README does when no face is
//! found; the scale cap then brings both windows to the whole crop.

use std::path::PathBuf;

use verity_imaging::{decode, Limits};
use verity_liveness::passive::PassiveModel;
use verity_metrics::{auc, Confusion, Scored};

fn shared() -> PathBuf {
    std::env::var_os("VERITY_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
}

#[test]
fn live_crops_score_above_screen_replays() {
    let up = shared().join("models/upstream");
    let runtime =
        verity_runtime::Runtime::choose(&verity_models::ModelDir::from_env_or_default()).expect("runtime");
    let model = PassiveModel::load(
        &runtime,
        &up.join("2.7_80x80_MiniFASNetV2.pth"),
        &up.join("4_0_0_80x80_MiniFASNetV1SE.pth"),
    )
    .expect("models build");
    let labels = std::fs::read_to_string(shared().join("data/spoof/labels.csv")).expect("labels");
    let mut samples = Vec::new();
    for line in labels.lines().skip(1) {
        let mut f = line.split(',');
        let (Some(file), Some(label)) = (f.next(), f.next()) else { continue };
        if !file.ends_with(".png") {
            continue;
        }
        let bytes = std::fs::read(shared().join("data").join(file)).expect("crop");
        let img = decode(&bytes, &Limits::default()).expect("decodes").image;
        let (w, h) = img.dimensions();
        let s = model.score(&img, [0, 0, w as i64, h as i64]).expect("scores");
        assert!((0.0..=1.0).contains(&s.fused_real));
        samples.push(Scored { score: s.fused_real as f64, genuine: label == "real" });
    }
    assert!(samples.len() >= 90, "{} crops", samples.len());
    let a = auc(&samples);
    let mean = |g: bool| {
        let v: Vec<f64> = samples.iter().filter(|s| s.genuine == g).map(|s| s.score).collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    let c = Confusion::at(&samples, 0.5);
    println!(
        "passive PAD on {} tight crops: AUC {a:.3}, mean real {:.3}, mean spoof {:.3}, at 0.5: APCER {}/{} BPCER {}/{}",
        samples.len(),
        mean(true),
        mean(false),
        c.false_accept,
        c.false_accept + c.true_reject,
        c.false_reject,
        c.false_reject + c.true_accept
    );
    assert!(a >= 0.9, "AUC {a}");
    assert!(mean(true) > 0.5 && mean(false) < 0.5);
}

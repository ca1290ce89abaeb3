//! The face engine on real photos from `../shared/data/faces` (LFW) with the real models.
//!
//! Needs the models (`verity models fetch`, done by `scripts/test`) and the shared data. Missing
//! either is a test failure with a message saying what to run, never a silent skip.

use std::path::PathBuf;
use std::sync::OnceLock;

use image::{imageops, Rgb, RgbImage};
use verity_face::{FaceEngine, ImageKind, SelectionRule};
use verity_imaging::{decode, encode_jpeg, jpeg_with_exif_orientation, store_for_orientation, Limits};
use verity_models::ModelDir;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn shared() -> PathBuf {
    std::env::var_os("VERITY_SHARED_DIR").map(PathBuf::from).unwrap_or_else(|| workspace().join("../shared"))
}

fn engine() -> &'static FaceEngine {
    static E: OnceLock<FaceEngine> = OnceLock::new();
    E.get_or_init(|| {
        let dir = std::env::var_os("VERITY_MODELS_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace().join("models"));
        FaceEngine::load(&ModelDir::new(dir))
            .unwrap_or_else(|e| panic!("{e} (scripts/test fetches the models)"))
    })
}

fn lfw(name: &str) -> RgbImage {
    let person = &name[..name.len() - 5];
    let path = shared().join(format!("data/faces/lfw/{person}/{name}.jpg"));
    let bytes =
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (shared data missing?)", path.display()));
    decode(&bytes, &Limits::default()).expect("decodes").image
}

fn threshold() -> f32 {
    engine().config().scale.0.threshold
}

#[test]
fn finds_the_face_and_landmarks_in_an_lfw_photo() {
    let img = lfw("Abdullah_Gul_0001");
    let a = engine().analyze(&img, ImageKind::Selfie).expect("face");
    let f = a.face();
    assert!(f.score > 0.8, "{}", f.score);
    // LFW crops are centred on the face: eyes above nose above mouth, right eye on the left.
    let [re, le, nose, rm, lm] = f.landmarks;
    assert!(re.x < nose.x && nose.x < le.x);
    assert!(re.y < nose.y && le.y < nose.y && nose.y < rm.y && nose.y < lm.y);
    let c = f.bbox.center();
    assert!((c.x - 75.0).abs() < 20.0 && (c.y - 75.0).abs() < 25.0, "{c:?}");
    assert_eq!(a.rotation, 0);
    assert_eq!(a.embedding.0.len(), 128);
    let norm: f32 = a.embedding.0.iter().map(|v| v * v).sum();
    assert!((norm - 1.0).abs() < 1e-4);
}

#[test]
fn genuine_pairs_match_and_impostors_do_not() {
    let e = engine();
    let emb = |n: &str| e.analyze(&lfw(n), ImageKind::Selfie).expect(n).embedding;
    let gul1 = emb("Abdullah_Gul_0001");
    let gul6 = emb("Abdullah_Gul_0006");
    let other = emb("Al_Sharpton_0001");
    let genuine = e.compare(&gul1, &gul6);
    let impostor = e.compare(&gul1, &other);
    assert!(genuine.is_match, "{genuine:?}");
    assert!(genuine.score >= 50.0);
    assert!(!impostor.is_match, "{impostor:?}");
    assert!(impostor.score < 50.0);
    assert!(genuine.similarity > impostor.similarity + 0.2);
}

/// Every EXIF orientation of the same photo gives the same upright face.
#[test]
fn exif_rotated_variants_give_the_same_face() {
    let upright = lfw("Abdullah_Gul_0001");
    let base = engine().analyze(&upright, ImageKind::Selfie).expect("face").embedding;
    for o in 1..=8u8 {
        let stored = store_for_orientation(&upright, o);
        let jpeg = jpeg_with_exif_orientation(&encode_jpeg(&stored, 95), o);
        let d = decode(&jpeg, &Limits::default()).expect("decodes");
        let a = engine().analyze(&d.image, ImageKind::Selfie).expect("face");
        assert_eq!(a.rotation, 0, "orientation {o} should be upright after intake");
        let cos = a.embedding.cosine(&base);
        assert!(cos > 0.85, "orientation {o}: cosine {cos}");
    }
}

/// A photo turned sideways with no EXIF tag (as many document photos are) is found by the
/// rotation fallback, which reports the rotation it used.
#[test]
fn sideways_photo_is_found_by_rotation() {
    let upright = lfw("Abdullah_Gul_0001");
    let base = engine().analyze(&upright, ImageKind::Selfie).expect("face").embedding;
    for (turned, expect) in [
        (imageops::rotate90(&upright), 270u16),
        (imageops::rotate270(&upright), 90),
        (imageops::rotate180(&upright), 180),
    ] {
        let a = engine().analyze(&turned, ImageKind::Selfie).expect("face after rotation");
        assert_eq!(a.rotation, expect);
        let cos = a.embedding.cosine(&base);
        assert!(cos > 0.8, "rotation {expect}: cosine {cos}");
    }
}

/// A full-frame selfie (face ~600 px) is found by the second, smaller pass.
#[test]
fn full_frame_face_is_found() {
    let img = lfw("Abdullah_Gul_0006");
    let base = engine().analyze(&img, ImageKind::Selfie).expect("face").embedding;
    // Crop to the face region and blow it up so the face fills the frame.
    let crop = imageops::crop_imm(&img, 30, 25, 90, 110).to_image();
    let big = imageops::resize(&crop, 720, 880, imageops::FilterType::CatmullRom);
    let a = engine().analyze(&big, ImageKind::Selfie).expect("large face");
    assert!(a.face().bbox.w > 400.0, "{:?}", a.face().bbox);
    assert!(a.embedding.cosine(&base) > 0.7);
}

/// A document-like photo: a ~48 px main portrait and a small ghost image on a 1200×800 card
/// photo. The main portrait is found and chosen by the document rule.
#[test]
fn small_document_portrait_and_ghost_image() {
    let face = lfw("Abdullah_Gul_0001");
    let mut card = RgbImage::from_pixel(1200, 800, Rgb([200, 205, 215]));
    // Face width is ~53/150 of the LFW crop: scale 150 → 140 gives a ~50 px face.
    let main = imageops::resize(&face, 140, 140, imageops::FilterType::CatmullRom);
    let ghost = imageops::resize(&imageops::grayscale(&face), 70, 70, imageops::FilterType::CatmullRom);
    imageops::overlay(&mut card, &main, 120, 250);
    let ghost_rgb = image::DynamicImage::ImageLuma8(ghost).to_rgb8();
    imageops::overlay(&mut card, &ghost_rgb, 900, 500);
    let a = engine().analyze(&card, ImageKind::Document).expect("portrait found");
    let f = a.face();
    assert!(f.bbox.x > 120.0 && f.bbox.x < 260.0, "chosen {:?}", f.bbox);
    if a.faces.len() > 1 {
        assert_eq!(a.rule, SelectionRule::LargestPortrait);
        assert!(!a.quality.has("multiple_faces"), "a ghost portrait is not a second person");
    }
    let base = engine().analyze(&face, ImageKind::Selfie).expect("face").embedding;
    let cos = a.embedding.cosine(&base);
    assert!(cos > threshold(), "document portrait vs source photo: {cos}");
}

#[test]
fn two_people_side_by_side_are_flagged_in_a_selfie() {
    let a = lfw("Abdullah_Gul_0001");
    let b = lfw("Al_Sharpton_0001");
    let mut both = RgbImage::new(300, 150);
    imageops::overlay(&mut both, &a, 0, 0);
    imageops::overlay(&mut both, &b, 150, 0);
    let r = engine().analyze(&both, ImageKind::Selfie).expect("faces");
    assert!(r.faces.len() >= 2);
    assert!(r.quality.has("multiple_faces"), "{:?}", r.quality.issues);
}

#[test]
fn blank_image_has_no_face() {
    let img = RgbImage::from_pixel(320, 240, Rgb([128, 128, 128]));
    let err = engine().analyze(&img, ImageKind::Selfie).expect_err("no face");
    assert_eq!(err.code(), "no_face_detected");
}

#[test]
fn dark_and_blurred_faces_get_quality_issues() {
    let img = lfw("Abdullah_Gul_0001");
    let dark = RgbImage::from_fn(150, 150, |x, y| {
        let p = img.get_pixel(x, y);
        Rgb([p[0] / 6, p[1] / 6, p[2] / 6])
    });
    let q = engine().analyze(&dark, ImageKind::Selfie).map(|a| a.quality);
    if let Ok(q) = q {
        assert!(q.has("too_dark"), "{:?}", q.issues);
    }
    let blurred = imageops::blur(&img, 3.0);
    let a = engine().analyze(&blurred, ImageKind::Selfie).expect("blurred face still found");
    assert!(a.quality.has("blurry"), "sharpness {}", a.quality.sharpness);
    let sharp = engine().analyze(&img, ImageKind::Selfie).expect("face");
    assert!(!sharp.quality.has("blurry"), "sharpness {}", sharp.quality.sharpness);
}

fn document(name: &str) -> RgbImage {
    let path = shared().join("data/documents/images").join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    decode(&bytes, &Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}")).image
}

/// A real passport page with a main portrait and a ghost image: the main one is chosen, and the
/// ghost does not count as a second person.
#[test]
fn real_passport_main_portrait_not_ghost() {
    let a =
        engine().analyze(&document("passporteye/100_pass-cze.jpg"), ImageKind::Document).expect("portrait");
    assert!(a.faces.len() >= 2, "main portrait and ghost image expected, got {}", a.faces.len());
    assert_eq!(a.rule, SelectionRule::LargestPortrait);
    let widest = a.faces.iter().map(|f| f.bbox.w).fold(0.0, f32::max);
    assert_eq!(a.face().bbox.w, widest);
    assert!(a.face().bbox.x < 300.0, "the main portrait is on the left: {:?}", a.face().bbox);
    assert!(!a.quality.has("multiple_faces"), "{:?}", a.quality.issues);
}

/// A passport photographed sideways: found through rotation.
#[test]
fn real_sideways_passport_photo() {
    let a = engine().analyze(&document("passporteye/0_pass-lva.jpg"), ImageKind::Document).expect("portrait");
    assert!(a.rotation == 90 || a.rotation == 270, "rotation {}", a.rotation);
}

/// Two scans of the same specimen passport match; two different people's passports do not.
#[test]
fn real_document_portraits_match_and_differ() {
    let e = engine();
    let emb = |n: &str| e.analyze(&document(n), ImageKind::Document).expect(n).embedding;
    let same = e.compare(&emb("passporteye/100_pass-uto.jpg"), &emb("passporteye/100_pass2-uto.jpg"));
    assert!(same.is_match, "{same:?}");
    let diff = e.compare(&emb("passporteye/100_pass-cze.jpg"), &emb("passporteye/100_pass-cze2.jpg"));
    assert!(!diff.is_match, "{diff:?}");
}

/// The back of an ID card carries no portrait.
#[test]
fn back_of_id_card_has_no_face() {
    let err =
        engine().analyze(&document("passporteye/53_id-d.jpg"), ImageKind::Document).expect_err("no portrait");
    assert_eq!(err.code(), "no_face_detected");
}

/// ONNX Runtime (the default) and tract (the fallback) make the same decisions on the shared
/// pairs: the same faces found, the same match or no-match, similarities within 0.01.
#[test]
fn both_runtimes_make_the_same_decisions() {
    let dir = std::env::var_os("VERITY_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("models"));
    let models = ModelDir::new(dir);
    let lib = models
        .require(&verity_models::ONNXRUNTIME)
        .expect("the ONNX Runtime library (scripts/test fetches it)");
    let ort = FaceEngine::load_on(&models, &verity_runtime::Runtime::Ort(lib)).expect("ort engine");
    let tract = FaceEngine::load_on(&models, &verity_runtime::Runtime::Tract).expect("tract engine");
    let pairs = std::fs::read_to_string(shared().join("data/faces/pairs.csv")).expect("pairs");
    let mut cache = std::collections::HashMap::new();
    let mut embed = |engine: &FaceEngine, name: &str, tag: &str| {
        cache
            .entry((name.to_string(), tag.to_string()))
            .or_insert_with(|| {
                let bytes = std::fs::read(shared().join("data").join(name)).expect("image");
                let img = decode(&bytes, &Limits::default()).expect("decodes").image;
                engine.analyze(&img, ImageKind::Selfie).ok().map(|a| (a.embedding, a.faces.len()))
            })
            .clone()
    };
    let (mut compared, mut max_diff) = (0, 0f32);
    for line in pairs.lines().skip(1).step_by(8) {
        let f: Vec<&str> = line.split(',').collect();
        let (a_o, b_o) = (embed(&ort, f[0], "ort"), embed(&ort, f[1], "ort"));
        let (a_t, b_t) = (embed(&tract, f[0], "tract"), embed(&tract, f[1], "tract"));
        assert_eq!(a_o.as_ref().map(|x| x.1), a_t.as_ref().map(|x| x.1), "faces found in {}", f[0]);
        assert_eq!(b_o.as_ref().map(|x| x.1), b_t.as_ref().map(|x| x.1), "faces found in {}", f[1]);
        let (Some((ao, _)), Some((bo, _)), Some((at, _)), Some((bt, _))) = (a_o, b_o, a_t, b_t) else {
            continue;
        };
        let (mo, mt) = (ort.compare(&ao, &bo), tract.compare(&at, &bt));
        assert_eq!(mo.is_match, mt.is_match, "{line}: ort {mo:?} tract {mt:?}");
        max_diff = max_diff.max((mo.similarity - mt.similarity).abs());
        compared += 1;
    }
    assert!(compared >= 40, "{compared} pairs compared");
    assert!(max_diff < 0.01, "similarities differ by up to {max_diff}");
    eprintln!("{compared} pairs: same decisions on both runtimes, similarities within {max_diff:.5}");
}

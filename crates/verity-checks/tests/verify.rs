//! One-call verification on real models and real pixels: synthetic passports and ID cards with
//! an LFW portrait, LFW selfies of the same and of another person, a screen-replay crop.

use std::path::PathBuf;
use std::sync::OnceLock;

use verity_checks::engines::Engines;
use verity_checks::verify::{
    verify, CheckName, CheckStatus, Decision, DocumentType, Policy, Request, Selfie,
};
use verity_document::synth::{self, Rng, Severity};
use verity_mrz::{Date, Format};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn shared() -> PathBuf {
    std::env::var_os("VERITY_SHARED_DIR").map(PathBuf::from).unwrap_or_else(|| workspace().join("../shared"))
}

fn engines() -> &'static Engines {
    static E: OnceLock<Engines> = OnceLock::new();
    E.get_or_init(|| {
        let dir = std::env::var_os("VERITY_MODELS_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace().join("models"));
        Engines::load(&dir, 1)
    })
}

fn read(rel: &str) -> Vec<u8> {
    let p = shared().join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e} (shared data missing?)", p.display()))
}

fn lfw(name: &str) -> Vec<u8> {
    read(&format!("data/faces/lfw/{}/{name}.jpg", &name[..name.len() - 5]))
}

/// A selfie-sized JPEG of an LFW photo.
fn selfie(name: &str) -> Vec<u8> {
    let img = verity_imaging::decode(&lfw(name), &verity_imaging::Limits::default()).expect("decode").image;
    verity_imaging::encode_jpeg(&verity_imaging::resize(&img, 640, 640), 92)
}

/// A synthetic document of `format` whose portrait is the face of an LFW photo.
fn document(name: &str, format: Format, seed: u64) -> synth::Synthetic {
    let bytes = synth::load_font(std::path::Path::new(synth::OCRB_PATH)).expect("OCR-B (scripts/setup)");
    let font = synth::font(&bytes).expect("font");
    let img = verity_imaging::decode(&lfw(name), &verity_imaging::Limits::default()).expect("decode").image;
    let face = image::imageops::crop_imm(&img, 50, 40, 150, 185).to_image();
    synth::generate_with_portrait(&mut Rng::new(seed), &font, format, Severity::Clean, &face)
}

/// The issuing country (alpha-2) of a synthetic document's MRZ.
fn issuer(doc: &synth::Synthetic) -> Option<verity_mrz::CountryCode> {
    let m =
        verity_mrz::parse(&doc.lines, &verity_mrz::Options { mode: verity_mrz::Mode::Strict, today: TODAY })
            .expect("parses");
    m.issuing_state.and_then(|c| c.iso_alpha2).and_then(verity_mrz::CountryCode::parse)
}

const TODAY: Date = Date { year: 2026, month: 12, day: 7 };

fn request<'a>(doc: &'a synth::Synthetic, selfie: &'a [u8], t: DocumentType, today: Date) -> Request<'a> {
    Request {
        front: &doc.jpeg,
        back: None,
        selfie: Some(Selfie::Photo(selfie)),
        document_type: t,
        country: issuer(doc),
        checks: vec![CheckName::Ocr, CheckName::FaceMatch, CheckName::Liveness, CheckName::Fraud],
        today,
        policy: Policy::default(),
        gallery: None,
    }
}

fn run(req: &Request<'_>) -> verity_checks::verify::Verification {
    let e = engines();
    let faces = e.face.as_ref().map(|f| f.as_ref()).map_err(Clone::clone);
    let reader = e.document.as_ref().map(|d| d.as_ref()).map_err(Clone::clone);
    verify(faces, reader, req).expect("verified")
}

fn codes(v: &verity_checks::verify::Verification) -> Vec<&'static str> {
    v.fraud_signals.iter().map(|s| s.code).collect()
}

#[test]
fn the_holder_is_verified_and_another_person_is_rejected_for_a_face_mismatch() {
    let doc = document("Abdullah_Gul_0001", Format::Td3, 7);
    // Dates of synthetic documents are random: judge them on a day before they expire.
    let m =
        verity_mrz::parse(&doc.lines, &verity_mrz::Options { mode: verity_mrz::Mode::Strict, today: TODAY })
            .expect("parses");
    let exp = m.expiry_date.expect("expiry");
    let today = Date { year: exp.year - 1, ..exp };
    let genuine = selfie("Abdullah_Gul_0006");
    let v = run(&request(&doc, &genuine, DocumentType::Passport, today));
    let json = serde_json::to_value(&v).expect("json");
    eprintln!("genuine: {json:#}");
    assert_eq!(v.checks.ocr.as_ref().map(|c| c.status), Some(CheckStatus::Passed), "{json:#}");
    assert_eq!(v.checks.face_match.as_ref().map(|c| c.status), Some(CheckStatus::Passed), "{json:#}");
    assert_eq!(v.checks.liveness.as_ref().map(|c| c.status), Some(CheckStatus::Passed), "{json:#}");
    let holder_is_adult = m.birth_date.is_some_and(|b| b.years_until(&today) >= 18);
    if holder_is_adult {
        assert_eq!(v.status, Decision::Verified, "{json:#}");
        assert!(v.risk_score <= 400, "{json:#}");
    } else {
        assert!(codes(&v).contains(&"UNDERAGE"), "{json:#}");
    }
    let lines: Vec<&str> = v.extracted_data.mrz.as_deref().unwrap_or_default().lines().collect();
    assert_eq!(lines, doc.lines.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(v.extracted_data.document_number.as_deref(), Some(m.document_number.as_str()));
    let dn = &v.extracted_data.field_confidences["document_number"];
    assert!(dn.confidence > 0.5, "{dn:?}");
    assert_eq!(v.extracted_data.field_confidences["address"].confidence, 0.0);
    assert!(v.extracted_data.address.is_none() && v.extracted_data.first_name_arabic.is_none());

    let other = selfie("Andre_Agassi_0001");
    let v = run(&request(&doc, &other, DocumentType::Passport, today));
    let json = serde_json::to_value(&v).expect("json");
    assert_eq!(v.status, Decision::Rejected, "{json:#}");
    assert!(codes(&v).contains(&"FACE_MISMATCH"), "{json:#}");
    assert_eq!(v.checks.face_match.as_ref().map(|c| c.status), Some(CheckStatus::Failed));
    assert!(v.risk_score > 800, "{json:#}");

    // The same passport judged after its expiry; declared as an ID card from elsewhere.
    let later = Date { year: exp.year + 1, ..exp };
    let mut req = request(&doc, &genuine, DocumentType::Cin, later);
    let other = if req.country.map(|c| c.as_str()) == Some("MA") { "FR" } else { "MA" };
    req.country = verity_mrz::CountryCode::parse(other);
    let v = run(&req);
    let c = codes(&v);
    for want in ["DOCUMENT_EXPIRED", "DOCUMENT_TYPE_MISMATCH", "COUNTRY_MISMATCH"] {
        assert!(c.contains(&want), "{want} missing from {c:?}");
    }
    assert_ne!(v.status, Decision::Verified);
    assert_eq!(v.checks.fraud.as_ref().map(|f| f.status), Some(CheckStatus::Failed));
}

#[test]
fn a_screen_replay_selfie_fails_liveness_and_a_faceless_selfie_is_a_result() {
    let doc = document("Abdullah_Gul_0001", Format::Td1, 11);
    let replay = read("data/spoof/images/tranvanluyt_frames/fake/fake_mp4_100.png");
    let v = run(&request(&doc, &replay, DocumentType::Cin, TODAY));
    let json = serde_json::to_value(&v).expect("json");
    assert_eq!(v.checks.liveness.as_ref().map(|c| c.status), Some(CheckStatus::Failed), "{json:#}");
    assert_eq!(v.checks.liveness.as_ref().and_then(|c| c.is_live), Some(false));
    assert!(codes(&v).contains(&"LIVENESS_FAILED"), "{json:#}");
    assert_eq!(v.status, Decision::Rejected);

    // A picture with no face: not an error, a result the user may retry.
    let blank =
        verity_imaging::encode_jpeg(&image::RgbImage::from_pixel(400, 400, image::Rgb([120, 130, 140])), 90);
    let v = run(&request(&doc, &blank, DocumentType::Cin, TODAY));
    let json = serde_json::to_value(&v).expect("json");
    assert!(codes(&v).contains(&"NO_FACE_IN_SELFIE"), "{json:#}");
    assert_eq!(v.checks.face_match.as_ref().map(|c| c.status), Some(CheckStatus::NotPerformed));
    assert_ne!(v.status, Decision::Verified);
}

#[test]
fn the_same_face_under_another_identity_and_the_same_document_under_another_face_are_duplicates() {
    use verity_checks::duplicates::Gallery;
    let first = document("Abdullah_Gul_0001", Format::Td3, 7);
    let selfie_a = selfie("Abdullah_Gul_0006");
    let mut req = request(&first, &selfie_a, DocumentType::Passport, TODAY);
    req.checks.push(CheckName::Duplicate);
    let empty = Gallery::default();
    req.gallery = Some(&empty);
    let v = run(&req);
    let json = serde_json::to_value(&v).expect("json");
    let dup = v.checks.duplicate.as_ref().expect("duplicate check");
    assert_eq!(dup.status, CheckStatus::Passed, "{json:#}");
    assert!(v.fingerprint.selfie.is_some() && v.fingerprint.portrait.is_some());
    assert!(v.fingerprint.identity.document.is_some(), "{:?}", v.fingerprint.identity);
    let mut gallery = Gallery::default();
    gallery.insert("ver_first", v.fingerprint.clone());

    // The same person again with the same passport: listed, not flagged.
    let selfie_b = selfie("Abdullah_Gul_0007");
    let mut again = request(&first, &selfie_b, DocumentType::Passport, TODAY);
    again.checks.push(CheckName::Duplicate);
    again.gallery = Some(&gallery);
    let v = run(&again);
    let json = serde_json::to_value(&v).expect("json");
    let dup = v.checks.duplicate.as_ref().expect("duplicate check");
    assert_eq!(dup.status, CheckStatus::Passed, "{json:#}");
    assert!(dup.matches.iter().all(|m| m.same_identity && m.id == "ver_first"), "{json:#}");
    assert!(!dup.matches.is_empty(), "{json:#}");

    // The same face on another passport (another identity): a duplicate face.
    let second = document("Abdullah_Gul_0008", Format::Td3, 8);
    let mut other_identity = request(&second, &selfie_b, DocumentType::Passport, TODAY);
    other_identity.checks.push(CheckName::Duplicate);
    other_identity.gallery = Some(&gallery);
    let v = run(&other_identity);
    let json = serde_json::to_value(&v).expect("json");
    assert!(codes(&v).contains(&"DUPLICATE_FACE"), "{json:#}");
    assert_eq!(v.checks.duplicate.as_ref().map(|d| d.status), Some(CheckStatus::Failed));
    assert_ne!(v.status, Decision::Verified);

    // The first passport with another person's selfie: the same document under another face
    // (and the same front picture sent again with a different selfie).
    let stranger = selfie("Andre_Agassi_0001");
    let mut borrowed = request(&first, &stranger, DocumentType::Passport, TODAY);
    borrowed.checks.push(CheckName::Duplicate);
    borrowed.gallery = Some(&gallery);
    let v = run(&borrowed);
    let json = serde_json::to_value(&v).expect("json");
    let c = codes(&v);
    assert!(c.contains(&"DUPLICATE_DOCUMENT") && c.contains(&"RESUBMITTED_IMAGE"), "{json:#}");
}

#[test]
fn national_cards_are_read_on_both_sides_with_what_their_visual_zone_prints() {
    use verity_document::synth::national::{self, Card, Fonts};
    let load = |p: &str| synth::load_font(std::path::Path::new(p)).expect("fonts (scripts/setup)");
    let (ocrb, latin, arabic) =
        (load(synth::OCRB_PATH), load(national::DEJAVU_PATH), load(national::AMIRI_PATH));
    let (o, l, a) =
        (synth::font(&ocrb).expect("f"), synth::font(&latin).expect("f"), synth::font(&arabic).expect("f"));
    let fonts = Fonts { ocrb: &o, latin: &l, arabic: &a };
    let img = verity_imaging::decode(&lfw("Abdullah_Gul_0001"), &verity_imaging::Limits::default())
        .expect("decode")
        .image;
    let face = image::imageops::crop_imm(&img, 50, 40, 150, 185).to_image();
    let genuine = selfie("Abdullah_Gul_0006");
    for (card, t, country, seed) in [
        (Card::Cnie, DocumentType::Cin, "MA", 21),
        (Card::Cni, DocumentType::Cni, "FR", 22),
        (Card::Cnie, DocumentType::Cin, "MA", 23),
    ] {
        let c = national::generate_card(&mut Rng::new(seed), &fonts, card, Severity::Mild, Some(&face));
        let req = Request {
            front: &c.front,
            back: Some(&c.back),
            selfie: Some(Selfie::Photo(&genuine)),
            document_type: t,
            country: verity_mrz::CountryCode::parse(country),
            checks: vec![CheckName::Ocr, CheckName::FaceMatch, CheckName::Liveness, CheckName::Fraud],
            today: TODAY,
            policy: Policy::default(),
            gallery: None,
        };
        let v = run(&req);
        let json = serde_json::to_value(&v).expect("json");
        let h = &c.holder;
        let x = &v.extracted_data;
        assert_eq!(x.document_number.as_deref(), Some(h.number.as_str()), "{json:#}");
        assert_eq!(x.last_name.as_deref(), Some(h.surname.as_str()));
        assert_eq!(x.place_of_birth.as_deref(), Some(h.birth_place.as_str()), "{json:#}");
        assert_eq!(x.address.as_deref(), Some(h.address.as_str()), "{json:#}");
        assert_eq!(x.issue_date.as_deref(), Some(h.issue_date.iso().as_str()), "{json:#}");
        assert_eq!(json["extracted_data"]["field_confidences"]["address"]["source"], "visual_zone");
        // Not read, never guessed: no recogniser of Arabic script runs here.
        assert!(x.first_name_arabic.is_none() && x.last_name_arabic.is_none());
        assert!(!codes(&v).contains(&"MRZ_VISUAL_ZONE_MISMATCH"), "{json:#}");
        assert_eq!(v.status, Decision::Verified, "{json:#}");
    }
}

#[test]
fn a_document_photographed_off_a_display_is_a_screen_replay_and_on_paper_it_is_not() {
    use verity_document::synth::recapture::{capture, Display, Scene};
    let bytes = synth::load_font(std::path::Path::new(synth::OCRB_PATH)).expect("OCR-B (scripts/setup)");
    let font = synth::font(&bytes).expect("font");
    let mut rng = Rng::new(7101);
    let page = synth::page(&mut rng, &font, Format::Td3);
    let shots = [
        (Scene::Paper, false),
        (Scene::Screen(Display { camera_px_per_pixel: 2.6, ..Display::random(&mut rng) }), true),
    ];
    for (scene, replay) in shots {
        let (jpeg, _, _) = capture(&mut rng, &page, scene, Severity::Mild);
        let req = Request {
            front: &jpeg,
            back: None,
            selfie: None,
            document_type: DocumentType::Passport,
            country: verity_mrz::CountryCode::parse("FR"),
            checks: vec![CheckName::Fraud],
            today: TODAY,
            policy: Policy::default(),
            gallery: None,
        };
        let v = run(&req);
        let json = serde_json::to_value(&v).expect("json");
        let signal = v.fraud_signals.iter().find(|s| s.code == "SCREEN_OR_PRINT_REPLAY");
        assert_eq!(signal.is_some(), replay, "{scene:?}: {json:#}");
        if let Some(s) = signal {
            assert_eq!(s.evidence["subject"], "document");
            assert_eq!(s.evidence["side"], "front");
            assert_eq!(v.status, Decision::Rejected, "{json:#}");
        }
    }
}

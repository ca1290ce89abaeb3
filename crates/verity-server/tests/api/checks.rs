//! Checks end to end on the queue with the real engines: identity and face authentication,
//! document checks (MRZ, PDF, barcode), the enhanced identity check on a video; every result's
//! shape pinned by a snapshot.

use super::*;

#[test]
fn identity_and_face_authentication_checks_run_on_the_queue() {
    let app = TestApp::new();
    let key = app.key("acme");
    let client = app.client(&key, "Abdullah");
    let photo = upload_photo(&app, &key, &client, &selfie("Abdullah_Gul_0006"));
    let doc = upload_document(&app, &key, &client, &document("Abdullah_Gul_0001"));
    let bare = app.post("/v1/documents", &key, json!({"clientId": client, "type": "passport"}));
    let bare = bare.body["id"].as_str().expect("id").to_string();
    error_shape(
        &app.post(
            "/v1/checks",
            &key,
            json!({"clientId": client, "type": "identity_check", "livePhotoId": photo, "documentId": bare}),
        ),
        422,
        "document_image_missing",
    );
    error_shape(
        &app.post("/v1/checks", &key, json!({"clientId": client, "type": "standard_screening_check"})),
        422,
        "check_type_unsupported",
    );
    error_shape(
        &app.post(
            "/v1/checks",
            &key,
            json!({"clientId": client, "type": "identity_check", "documentId": doc}),
        ),
        422,
        "field_required",
    );

    let c = app.post(
        "/v1/checks",
        &key,
        json!({"clientId": client, "type": "identity_check", "livePhotoId": photo, "documentId": doc}),
    );
    assert_eq!((c.status, c.body["status"].as_str()), (201, Some("pending")), "{}", c.body);
    let id = c.body["id"].as_str().expect("id").to_string();
    error_shape(
        &app.post(&format!("/v1/checks/{id}/validate"), &key, json!({"outcome": "clear"})),
        422,
        "check_not_complete",
    );
    assert!(app.run_jobs() >= 1);
    let done = app.get(&format!("/v1/checks/{id}"), &key).body;
    assert_eq!(done["status"], "complete", "{done}");
    let r = &done["result"];
    assert_eq!(r["outcome"], "clear", "{r}");
    let bd = &r["breakdown"];
    assert_eq!(bd["faceAnalysis"]["faceDetection"], "clear");
    assert_eq!(bd["faceAnalysis"]["facialSimilarity"], "clear");
    assert!(bd["faceAnalysis"]["breakdown"]["facialSimilarityScore"].as_i64().unwrap_or(0) >= 50);
    assert_eq!(bd["authenticityAnalysis"]["livenessCheck"], "clear");
    assert!(bd["authenticityAnalysis"]["breakdown"]["livenessCheckScore"].as_i64().unwrap_or(0) >= 50);
    assert_eq!(bd["integrityAnalysis"]["faceDetection"], "clear");
    insta::assert_json_snapshot!("result_identity_clear", result_shape(r));
    let v = app.post(&format!("/v1/checks/{id}/validate"), &key, json!({"outcome": "clear"}));
    assert_eq!((v.status, v.body["outcome"].as_str()), (200, Some("clear")));
    error_shape(&app.delete(&format!("/v1/livePhotos/{photo}"), &key), 422, "live_photo_in_use");

    // Someone else's face on the same document: attention, with the reason.
    let other = upload_photo(&app, &key, &client, &selfie("Adrien_Brody_0002"));
    let c2 = app.post(
        "/v1/checks",
        &key,
        json!({"clientId": client, "type": "identity_check", "livePhotoId": other, "documentId": doc}),
    );
    let id2 = c2.body["id"].as_str().expect("id").to_string();
    app.run_jobs();
    let r2 = app.get(&format!("/v1/checks/{id2}"), &key).body["result"].clone();
    assert_eq!(
        (r2["outcome"].as_str(), r2["breakdown"]["faceAnalysis"]["facialSimilarity"].as_str()),
        (Some("attention"), Some("attention")),
        "{r2}"
    );
    assert!(r2["reasons"].to_string().contains("does not match"), "{r2}");
    insta::assert_json_snapshot!("result_identity_mismatch", result_shape(&r2));

    // Face authentication: the photo of the clear check is the enrolled face.
    let again = upload_photo(&app, &key, &client, &selfie("Abdullah_Gul_0007"));
    let fa = app.post(
        "/v1/checks",
        &key,
        json!({"clientId": client, "type": "face_authentication_check", "livePhotoId": again}),
    );
    let fa = fa.body["id"].as_str().expect("id").to_string();
    let fb = app.post(
        "/v1/checks",
        &key,
        json!({"clientId": client, "type": "face_authentication_check", "livePhotoId": other}),
    );
    let fb = fb.body["id"].as_str().expect("id").to_string();
    let dc = app.post(
        "/v1/checks",
        &key,
        json!({"clientId": client, "type": "document_check", "documentId": doc}),
    );
    let dc = dc.body["id"].as_str().expect("id").to_string();
    app.run_jobs();
    let ra = app.get(&format!("/v1/checks/{fa}"), &key).body["result"].clone();
    assert_eq!(ra["outcome"], "clear", "{ra}");
    let auth = &ra["breakdown"]["faceAuthentication"];
    assert_eq!(auth["breakdown"]["facesMatched"][0]["livePhotoId"], photo.as_str(), "{ra}");
    assert_eq!(auth["breakdown"]["enrolledFaces"]["livePhotoIds"], json!([photo]));
    let rb = app.get(&format!("/v1/checks/{fb}"), &key).body["result"].clone();
    assert_eq!(rb["outcome"], "attention", "{rb}");
    insta::assert_json_snapshot!("result_face_authentication_clear", result_shape(&ra));
    insta::assert_json_snapshot!("result_face_authentication_attention", result_shape(&rb));
    // The synthetic card has a portrait but no MRZ: named, not made up.
    let rd = app.get(&format!("/v1/checks/{dc}"), &key).body["result"].clone();
    assert_eq!(rd["outcome"], "attention", "{rd}");
    assert_eq!(rd["breakdown"]["mrzAnalysis"]["breakdown"]["mrzFound"], "attention", "{rd}");
    insta::assert_json_snapshot!("result_document_no_mrz", result_shape(&rd));
    let listed = app.get(&format!("/v1/checks?clientId={client}&type=face_authentication_check"), &key);
    assert_eq!(listed.body["totalItems"], 2);
}

#[test]
fn document_checks_read_the_mrz_and_compare_it_with_the_client() {
    let app = TestApp::new();
    let key = app.key("acme");
    let r = app.post(
        "/v1/clients",
        &key,
        json!({"type": "person", "email": "s@example.hr", "personDetails": {"firstName": "Specimen", "lastName": "Specimen", "dob": "1982-12-25", "nationality": "HR"}}),
    );
    let client = r.body["id"].as_str().expect("id").to_string();
    // The Croatian specimen passport, sent as a PDF scan: its JPEG embedded as it is (lossless).
    let jpg =
        std::fs::read(shared().join("data/documents/images/passporteye/100_pass-hrv.jpg")).expect("img");
    let img = verity_imaging::decode(&jpg, &verity_imaging::Limits::default()).expect("decode").image;
    let pdf = verity_imaging::pdf::page_with_images(&[verity_imaging::pdf::EmbeddedImage {
        width: img.width(),
        height: img.height(),
        filter: Some("DCTDecode"),
        color_space: "DeviceRGB",
        data: &jpg,
    }]);
    let d = app.post(
        "/v1/documents",
        &key,
        json!({"clientId": client, "type": "passport", "issuingCountry": "HR"}),
    );
    let doc = d.body["id"].as_str().expect("id").to_string();
    // A PDF without an image on page 1 is refused at the edge, with a stable code.
    let text: Vec<String> = (0..2000).map(|i| format!("Terms and conditions, paragraph {i}.")).collect();
    let empty = verity_imaging::pdf::text_page(&text.iter().map(String::as_str).collect::<Vec<_>>());
    let up = app.post(
        &format!("/v1/documents/{doc}/upload/front"),
        &key,
        json!({"fileName": "front.pdf", "data": b64(&empty)}),
    );
    assert_eq!((up.status, up.body["code"].as_str()), (422, Some("pdf_without_image")), "{}", up.body);
    let up = app.post(
        &format!("/v1/documents/{doc}/upload/front"),
        &key,
        json!({"fileName": "front.pdf", "data": b64(&pdf)}),
    );
    assert_eq!(up.status, 201, "{}", up.body);
    for (opts, param) in [
        (json!({"analysisCoverage": ["mrz", "palmistry"]}), "options.analysisCoverage"),
        (json!({"minimumPermittedAge": -1}), "options.minimumPermittedAge"),
        (json!({"clientDataValidation": "yes"}), "options.clientDataValidation"),
    ] {
        let bad = app.post(
            "/v1/checks",
            &key,
            json!({"clientId": client, "type": "document_check", "documentId": doc, "options": opts}),
        );
        assert_eq!((bad.status, bad.body["param"].as_str()), (422, Some(param)), "{}", bad.body);
    }
    let full = app.post(
        "/v1/checks",
        &key,
        json!({"clientId": client, "type": "document_check", "documentId": doc}),
    );
    let narrow = app.post(
        "/v1/checks",
        &key,
        json!({"clientId": client, "type": "document_check", "documentId": doc,
               "options": {"analysisCoverage": ["mrz", "format"], "clientDataValidation": false}}),
    );
    app.run_jobs();
    let r = app.get(&format!("/v1/checks/{}", full.body["id"].as_str().expect("id")), &key).body;
    assert_eq!(r["status"], "complete", "{r}");
    let res = &r["result"];
    let bd = &res["breakdown"];
    assert_eq!(bd["extractedData"]["documentDetails"]["documentNumber"], "007007007", "{res}");
    assert_eq!(bd["extractedData"]["holderDetails"]["dob"], json!({"day": 25, "month": 12, "year": 1982}));
    assert_eq!(bd["mrzAnalysis"]["result"], "clear", "{res}");
    assert_eq!(bd["formatAnalysis"]["result"], "clear", "{res}");
    assert_eq!(bd["clientDataValidation"]["result"], "clear", "{res}");
    // The specimen expired in 2014.
    assert_eq!(bd["contentAnalysis"]["breakdown"]["expirationDate"], "attention", "{res}");
    assert_eq!(res["outcome"], "attention");
    assert!(
        res["reasons"]
            .as_array()
            .is_some_and(|r| r.iter().any(|x| x.as_str().unwrap_or("").contains("expired"))),
        "{res}"
    );
    let n = app.get(&format!("/v1/checks/{}", narrow.body["id"].as_str().expect("id")), &key).body;
    assert_eq!(n["result"]["outcome"], "clear", "{n}");
    assert!(n["result"]["breakdown"]["contentAnalysis"].is_null());
    insta::assert_json_snapshot!("result_document_passport_pdf", result_shape(res));
    insta::assert_json_snapshot!("result_document_narrow", result_shape(&n["result"]));
}

#[test]
fn a_driving_licence_without_mrz_is_checked_on_its_pdf417_barcode() {
    let app = TestApp::new();
    let key = app.key("acme");
    let r = app.post(
        "/v1/clients",
        &key,
        json!({"type": "person", "email": "m@example.com", "personDetails": {"firstName": "Michael", "lastName": "Sample", "dob": "1986-06-06"}}),
    );
    let client = r.body["id"].as_str().expect("id").to_string();
    let d = app.post(
        "/v1/documents",
        &key,
        json!({"clientId": client, "type": "driving_license", "issuingCountry": "US"}),
    );
    let doc = d.body["id"].as_str().expect("id").to_string();
    let mut rng = verity_document::synth::Rng::new(5);
    let back = verity_document::synth::licence_back(
        &mut rng,
        verity_document::aamva::EXAMPLE,
        verity_document::synth::Severity::Clean,
    )
    .expect("renders");
    for (side, bytes) in [("front", document("Abdullah_Gul_0001")), ("back", back.jpeg)] {
        let up = app.post(
            &format!("/v1/documents/{doc}/upload/{side}"),
            &key,
            json!({"fileName": format!("{side}.jpg"), "data": b64(&bytes)}),
        );
        assert_eq!(up.status, 201, "{}", up.body);
    }
    let c = app.post(
        "/v1/checks",
        &key,
        json!({"clientId": client, "type": "document_check", "documentId": doc}),
    );
    app.run_jobs();
    let r = app.get(&format!("/v1/checks/{}", c.body["id"].as_str().expect("id")), &key).body;
    let res = &r["result"];
    let bd = &res["breakdown"];
    assert_eq!(bd["barcodeAnalysis"]["result"], "clear", "{res}");
    assert!(bd.get("mrzAnalysis").is_none(), "{res}");
    assert_eq!(bd["extractedData"]["documentDetails"]["documentNumber"], "T64235789", "{res}");
    assert_eq!(bd["extractedData"]["holderDetails"]["address"]["state"], "VA", "{res}");
    assert_eq!(bd["formatAnalysis"]["result"], "clear", "{res}");
    assert_eq!(bd["clientDataValidation"]["result"], "clear", "{res}");
    assert_eq!(bd["frontBackAnalysis"]["result"], "clear", "{res}");
    // The example licence expired in December 2024.
    assert_eq!(bd["contentAnalysis"]["breakdown"]["expirationDate"], "attention", "{res}");
    assert!(r["barcode"].is_null(), "the barcode summary is in the result: {r}");
    assert_eq!(res["barcode"]["side"], "back", "{res}");
    insta::assert_json_snapshot!("result_document_barcode", result_shape(res));
}

#[test]
fn a_live_video_upload_runs_an_enhanced_identity_check_with_challenges() {
    let app = TestApp::new();
    let key = app.key("acme");
    let client = app.client(&key, "Luyt");
    let video = std::fs::read(shared().join("data/video/live/tranvanluyt_real.mp4")).expect("video");
    error_shape(&app.post_bytes("/v1/liveVideos", &key, "video/mp4", &video[..1000]), 422, "field_required");
    error_shape(
        &app.post_bytes(
            &format!("/v1/liveVideos?clientId={client}"),
            &key,
            "video/mp4",
            b"not a video at all",
        ),
        422,
        "video_unreadable",
    );
    let up = app.post_bytes(&format!("/v1/liveVideos?clientId={client}"), &key, "video/mp4", &video);
    assert_eq!(up.status, 201, "{}", up.body);
    assert_eq!(
        (up.body["codec"].as_str(), up.body["size"].as_u64()),
        (Some("h264"), Some(video.len() as u64))
    );
    assert!(up.body["durationSeconds"].as_f64().unwrap_or(0.0) > 20.0);
    let vid = up.body["id"].as_str().expect("id").to_string();

    // The document's portrait: a face crop of the same person (from the shared spoof set's live frames).
    let crop_path = shared().join("data/spoof/images/tranvanluyt_frames/real/real_mp4_100.png");
    let crop =
        verity_imaging::decode(&std::fs::read(crop_path).expect("crop"), &verity_imaging::Limits::default())
            .expect("decode")
            .image;
    let portrait = image::imageops::resize(&crop, 260, 325, image::imageops::FilterType::Triangle);
    let mut card = image::RgbImage::from_fn(1000, 640, |x, y| {
        image::Rgb([200 - (x / 20) as u8, 216, 232 - (y / 20) as u8])
    });
    image::imageops::overlay(&mut card, &portrait, 60, 160);
    let doc = upload_document(&app, &key, &client, &verity_imaging::encode_jpeg(&noisy(card, 8), 92));

    let bad = app.post(
        "/v1/checks",
        &key,
        json!({"clientId": client, "type": "enhanced_identity_check", "liveVideoId": vid, "documentId": doc, "options": {"challenges": ["jump"]}}),
    );
    error_shape(&bad, 422, "field_invalid");
    let c = app.post(
        "/v1/checks",
        &key,
        json!({"clientId": client, "type": "enhanced_identity_check", "liveVideoId": vid, "documentId": doc,
               "options": {"challenges": ["turn_left", "turn_right"]}}),
    );
    assert_eq!(c.status, 201, "{}", c.body);
    let id = c.body["id"].as_str().expect("id").to_string();
    app.run_jobs();
    let done = app.get(&format!("/v1/checks/{id}"), &key).body;
    let r = &done["result"];
    assert_eq!(r["outcome"], "clear", "{r}");
    let bd = &r["breakdown"];
    assert_eq!(bd["authenticityAnalysis"]["livenessCheck"], "clear");
    assert_eq!(bd["faceAnalysis"]["facialSimilarity"], "clear");
    let ch = bd["videoAnalysis"]["challenges"].as_array().expect("challenges");
    assert_eq!(ch.len(), 2);
    assert!(ch.iter().all(|c| c["passed"] == true && c["at_ms"].is_u64()), "{ch:?}");
    insta::assert_json_snapshot!("result_enhanced_identity", result_shape(r));
    error_shape(&app.delete(&format!("/v1/liveVideos/{vid}"), &key), 422, "live_video_in_use");
    assert_eq!(app.get("/v1/liveVideos", &key).body["totalItems"], 1);
}

/// A check result's shape: every key and every word kept, numbers (scores, timings, signal
/// values) and ids replaced, so that a refactoring of the check pipeline cannot change the
/// public JSON unseen while a better model may still move a score.
fn result_shape(v: &Value) -> Value {
    match v {
        Value::Number(_) => json!("[n]"),
        Value::String(s) if verity_server::ids::looks_like_id(s) => json!("[id]"),
        Value::String(s) => {
            let mut out = String::new();
            for ch in s.chars() {
                if ch.is_ascii_digit() {
                    if !out.ends_with('#') {
                        out.push('#');
                    }
                } else if !(ch == '.' && out.ends_with('#')) {
                    out.push(ch);
                }
            }
            json!(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(result_shape).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| k.as_str() != "processingMs")
                .map(|(k, v)| (k.clone(), result_shape(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

//! The hosted flow seen from the ComplyCube side: flow sessions and SDK tokens make capture
//! links whose submissions are filed on the client as checks; the retention clock on ComplyCube
//! resources and one-call verifications.

use super::hosted::{
    edit_session, fetch_url, live_video, passport_of_the_video_subject, session_of, submit, tenant_of, Part,
};
use super::verify::valid_for_an_adult;
use super::*;

#[test]
fn resource_retention_erases_complycube_files_and_verifications_when_set() {
    let app = TestApp::new();
    let key = app.key("retention");
    let keeper = app.key("keeper");
    let set = app.post("/v1/partner/settings", &key, json!({"resource_retention_days": 30}));
    assert_eq!((set.status, set.body["resource_retention_days"].as_u64()), (200, Some(30)), "{}", set.body);
    let bad = app.post("/v1/partner/settings", &key, json!({"resource_retention_days": 0}));
    assert_eq!(bad.status, 422);
    let mut photos = Vec::new();
    for k in [&key, &keeper] {
        let client = app.client(k, "Ret");
        let photo = upload_photo(&app, k, &client, &selfie("Abdullah_Gul_0006"));
        let (front, country) = super::verify::passport("Abdullah_Gul_0001", valid_for_an_adult);
        let v = app.post(
            "/v1/identity/verify",
            k,
            json!({"document_front": b64(&front), "selfie": b64(&selfie("Abdullah_Gul_0006")),
                   "document_type": "passport", "country": country}),
        );
        assert_eq!(v.status, 200, "{}", v.body);
        photos.push((photo, v.body["id"].as_str().expect("id").to_string()));
    }
    // A month later.
    let later = verity_store::time::now_ms() + 31 * 86_400_000;
    app.rt.block_on(verity_server::worker::run_due_by(&app.state, later));
    let (photo, ver) = &photos[0];
    let p = app.get(&format!("/v1/livePhotos/{photo}"), &key);
    assert_eq!(p.body["redacted"], true, "{}", p.body);
    assert_ne!(app.get(&format!("/v1/livePhotos/{photo}/download"), &key).status, 200);
    let v = app.get(&format!("/v1/identity/verify/{ver}"), &key).body;
    assert_eq!((v["redacted"].as_bool(), v["status"].as_str()), (Some(true), Some("verified")), "{v}");
    let tenant = tenant_of(&app, &key);
    let prints = app.rt.block_on(app.state.store.fingerprints_since(&tenant, 0)).expect("db");
    assert!(prints.iter().all(|f| f.data.is_none()), "no face embedding is left after the retention period");
    // A tenant without a resource retention period keeps its files.
    let (photo, ver) = &photos[1];
    assert_eq!(app.get(&format!("/v1/livePhotos/{photo}/download"), &keeper).status, 200);
    assert!(app.get(&format!("/v1/identity/verify/{ver}"), &keeper).body.get("redacted").is_none());
}

#[test]
fn a_complycube_flow_session_files_the_submission_on_the_client_as_checks() {
    let app = TestApp::new();
    let key = app.key("flow");
    let client = app.client(&key, "Flow");
    let bad = app.post(
        "/v1/flow/sessions",
        &key,
        json!({"clientId": client, "checkTypes": ["proof_of_address_check"]}),
    );
    assert_eq!(
        (bad.status, bad.body["code"].as_str()),
        (422, Some("check_type_unsupported")),
        "{}",
        bad.body
    );
    let none = app.post("/v1/flow/sessions", &key, json!({"checkTypes": ["document_check"]}));
    assert_eq!((none.status, none.body["param"].as_str()), (422, Some("clientId")), "{}", none.body);
    let flow = app.post(
        "/v1/flow/sessions",
        &key,
        json!({"clientId": client, "checkTypes": ["document_check", "identity_check", "enhanced_identity_check"],
               "successUrl": "https://partner.example/ok", "cancelUrl": "https://partner.example/no", "theme": "light"}),
    );
    assert_eq!(flow.status, 200, "{}", flow.body);
    let url = flow.body["redirectUrl"].as_str().expect("redirectUrl").to_string();
    assert_eq!(fetch_url(&url).status, 200);
    let token =
        app.post("/v1/tokens", &key, json!({"clientId": client, "referrer": "https://partner.example/*"}));
    assert_eq!(token.status, 200, "{}", token.body);
    let t = token.body["token"].as_str().expect("token");
    assert_eq!(fetch_url(&format!("{}/verif/s/{t}", app.base)).status, 200);

    // The prompts are drawn at random; the shared video answers turn left then right.
    let token = url.rsplit('/').next().expect("token").to_string();
    edit_session(&app, &key, &session_of(&url), |b| {
        assert_eq!(b["client_id"], client.as_str());
        b["challenges"] = json!(["turn_left", "turn_right"]);
    });
    let a = submit(
        &app,
        &[
            Part::Text("session", token),
            Part::Text(
                "liveness_prompts",
                r#"[{"name":"turn_left","shown_at_ms":500},{"name":"turn_right","shown_at_ms":4000}]"#.into(),
            ),
            Part::File("selfie_video", "selfie.mp4", "video/mp4", live_video()),
            Part::File("id_photo", "id.jpg", "image/jpeg", passport_of_the_video_subject()),
        ],
    );
    assert_eq!(a.status, 200, "{}", a.body);
    let id = a.body["check_id"].as_str().expect("id").to_string();
    app.run_jobs();
    let v = app.get(&format!("/v1/identity/verify/{id}"), &key).body;
    let filed = &v["complycube"];
    assert_eq!(filed["clientId"], client.as_str(), "{v}");
    let checks = app.get(&format!("/v1/checks?clientId={client}"), &key).body;
    let items = checks["items"].as_array().expect("items");
    assert_eq!(items.len(), 3, "{checks}");
    for c in items {
        assert_eq!(c["status"], "complete", "{c}");
        if c["type"] == "enhanced_identity_check" {
            assert_eq!(c["result"]["outcome"], "clear", "{c}");
            assert_eq!(c["liveVideoId"], filed["liveVideoId"]);
        }
        if c["type"] == "identity_check" {
            // The video's best frame is the live photo: the same face as the passport's.
            assert_eq!(c["livePhotoId"], filed["livePhotoId"]);
            assert_eq!(c["result"]["breakdown"]["faceAnalysis"]["facialSimilarity"], "clear", "{c}");
        }
        assert_eq!(c["documentId"], filed["documentId"]);
    }
    let doc = app.get(&format!("/v1/documents/{}", filed["documentId"].as_str().expect("doc")), &key).body;
    assert_eq!(doc["type"], "passport", "{doc}");
    assert!(doc["issuingCountry"].is_string(), "{doc}");
    assert_eq!(doc["images"].as_array().map(Vec::len), Some(1));
    let video =
        app.get(&format!("/v1/liveVideos/{}", filed["liveVideoId"].as_str().expect("video")), &key).body;
    assert_eq!(video["codec"], "h264", "{video}");
}

//! The hosted capture flow over HTTP with the real engines: the seed's `POST /verif/submit`
//! (its response, its error table, its webhook), capture sessions (single use, expiry, the
//! `?api_key=` link exchanged for one), signed file links and retention. The browser side is
//! in `browser.rs`.

use std::collections::HashMap;

use super::verify::{passport_with_face, valid_for_an_adult};
use super::*;

/// One part of a multipart form.
pub(crate) enum Part {
    Text(&'static str, String),
    File(&'static str, &'static str, &'static str, Vec<u8>),
}

/// A `multipart/form-data` body and its content type.
pub(crate) fn multipart(parts: &[Part]) -> (String, Vec<u8>) {
    let boundary = "verity-test-boundary-7f3a";
    let mut body = Vec::new();
    for p in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match p {
            Part::Text(name, value) => {
                body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
                );
                body.extend_from_slice(value.as_bytes());
            }
            Part::File(name, file, ctype, bytes) => {
                body.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: {ctype}\r\n\r\n"
                    )
                    .as_bytes(),
                );
                body.extend_from_slice(bytes);
            }
        }
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// An HTTP answer with its headers.
pub(crate) struct Answer {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub body: Value,
    pub bytes: Vec<u8>,
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build().into()
}

fn answer(mut resp: ureq::http::Response<ureq::Body>) -> Answer {
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or_default().to_string()))
        .collect();
    let bytes = resp.body_mut().with_config().limit(100 << 20).read_to_vec().unwrap_or_default();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer { status, headers, body, bytes }
}

pub(crate) fn submit(app: &TestApp, parts: &[Part]) -> Answer {
    let (ctype, body) = multipart(parts);
    answer(
        agent()
            .post(format!("{}/verif/submit", app.base))
            .header("Content-Type", ctype)
            .send(&body[..])
            .expect("http"),
    )
}

pub(crate) fn fetch_url(url: &str) -> Answer {
    answer(agent().get(url).call().expect("http"))
}

/// The live selfie video of the shared set.
pub(crate) fn live_video() -> Vec<u8> {
    std::fs::read(shared().join("data/video/live/tranvanluyt_real.mp4")).expect("video")
}

/// A synthetic passport whose portrait is the face of the video's subject (a frame of the shared
/// spoof set's live recording of the same person).
pub(crate) fn passport_of_the_video_subject() -> Vec<u8> {
    let crop = shared().join("data/spoof/images/tranvanluyt_frames/real/real_mp4_100.png");
    let face =
        verity_imaging::decode(&std::fs::read(crop).expect("crop"), &verity_imaging::Limits::default())
            .expect("decode")
            .image;
    passport_with_face(&face, 1, valid_for_an_adult).0
}

/// A webhook receiver that keeps every request's headers and body.
type Hooks = Arc<Mutex<Vec<(HashMap<String, String>, Vec<u8>)>>>;

fn hook_receiver() -> (String, Hooks) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/verification-hook", l.local_addr().expect("addr"));
    let got: Hooks = Arc::new(Mutex::new(Vec::new()));
    let log = got.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let mut r = BufReader::new(s.try_clone().expect("clone"));
            let mut line = String::new();
            let _ = r.read_line(&mut line);
            let mut headers = HashMap::new();
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
                if let Some((k, v)) = h.split_once(':') {
                    headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
                }
            }
            let len = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0usize);
            let mut body = vec![0u8; len];
            let _ = r.read_exact(&mut body);
            log.lock().expect("lock").push((headers, body));
            let _ = write!(s, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (url, got)
}

/// The tenant of an API key.
pub(crate) fn tenant_of(app: &TestApp, key: &str) -> String {
    let k = app.rt.block_on(app.state.store.key_by_hash(&verity_server::ids::key_hash(key)));
    k.expect("db").expect("key").tenant_id
}

/// Changes a stored capture session (the test's way to age it or fix its random prompts).
pub(crate) fn edit_session(app: &TestApp, key: &str, id: &str, change: impl FnOnce(&mut Value)) {
    let tenant = tenant_of(app, key);
    let id = id.trim_start_matches("cs_");
    let mut r =
        app.rt.block_on(app.state.store.get(&tenant, "captureSession", id)).expect("db").expect("session");
    change(&mut r.body);
    assert!(app.rt.block_on(app.state.store.update(&r)).expect("db"));
}

/// The session id in a capture link.
pub(crate) fn session_of(link: &str) -> String {
    link.rsplit('/').next().and_then(|t| t.split('.').nth(1)).expect("a capture link").to_string()
}

fn error(a: &Answer, status: u16, code: &str, message: Option<&str>) {
    assert_eq!(a.status, status, "{}", a.body);
    assert_eq!(a.body["success"], false, "{}", a.body);
    assert_eq!(a.body["code"], code, "{}", a.body);
    if let Some(m) = message {
        assert_eq!(a.body["error"], m, "the seed's message: {}", a.body);
    }
}

#[test]
fn the_seeds_error_table_and_bad_files_are_clear_4xx() {
    let app = TestApp::with_config(|c| c.limits.video_body_bytes = 3 << 20);
    let key = app.key("hosted-errors");
    let video = live_video();
    let photo = passport_of_the_video_subject();
    let file = |name, bytes: &Vec<u8>| Part::File(name, "f.bin", "application/octet-stream", bytes.clone());
    let text = |name, v: &str| Part::Text(name, v.to_string());

    error(
        &submit(&app, &[text("user_identifier", "u1")]),
        400,
        "api_key_required",
        Some("API key is required"),
    );
    error(
        &submit(&app, &[text("api_key", &key)]),
        400,
        "user_identifier_required",
        Some("User identifier is required"),
    );
    let wrong = submit(
        &app,
        &[text("api_key", "vk_0000000000000000000000000000000000000000"), text("user_id", "u1")],
    );
    error(&wrong, 401, "invalid_api_key", Some("Invalid API key"));
    let no_files =
        submit(&app, &[text("api_key", &key), text("user_identifier", "u1"), file("id_photo", &photo)]);
    error(&no_files, 400, "files_required", Some("Both selfie video and ID photo are required"));
    // Not a form at all.
    let raw = answer(
        agent()
            .post(format!("{}/verif/submit", app.base))
            .header("Content-Type", "application/json")
            .send("{}")
            .expect("http"),
    );
    error(&raw, 400, "multipart_required", None);
    // Unusable media: 422 with the reason, never a 500.
    let junk = submit(
        &app,
        &[
            text("api_key", &key),
            text("user_identifier", "u1"),
            file("selfie_video", &b"not a video".to_vec()),
            file("id_photo", &photo),
        ],
    );
    error(&junk, 422, "video_unreadable", None);
    let small = &video[..];
    assert!(small.len() < 3 << 20);
    let bad_photo = submit(
        &app,
        &[
            text("api_key", &key),
            text("user_identifier", "u1"),
            file("selfie_video", &video),
            file("id_photo", &b"GIF89a...".to_vec()),
        ],
    );
    error(&bad_photo, 422, "image_unreadable", None);
    let bad_email = submit(
        &app,
        &[
            text("api_key", &key),
            text("user_identifier", "u1"),
            text("user_email", "not an address"),
            file("selfie_video", &video),
            file("id_photo", &photo),
        ],
    );
    error(&bad_email, 422, "field_invalid", None);
    // Over the video limit (3 MB here; 50 MB by default): 413.
    let big = vec![0u8; (3 << 20) + 1];
    let over = submit(
        &app,
        &[
            text("api_key", &key),
            text("user_identifier", "u1"),
            file("selfie_video", &big),
            file("id_photo", &photo),
        ],
    );
    error(&over, 413, "file_too_large", None);
    // Nothing was stored by any of these.
    let list = app.get("/v1/identity/verify", &key);
    assert_eq!(list.body["total"], 0, "{}", list.body);
}

#[test]
fn a_hosted_check_answers_the_seeds_result_delivers_its_webhook_and_forgets_its_files() {
    let app = TestApp::new();
    let key = app.key("hosted");
    let (hook, hooks) = hook_receiver();
    let set = app.post("/v1/partner/settings", &key, json!({"webhook_url": hook, "retention_days": 7}));
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(set.body["webhook_url"], hook);
    let video = live_video();
    let photo = passport_of_the_video_subject();
    let a = submit(
        &app,
        &[
            Part::Text("api_key", key.clone()),
            Part::Text("user_identifier", "user123".into()),
            Part::Text("user_email", "user@example.com".into()),
            Part::File("selfie_video", "selfie.mp4", "video/mp4", video.clone()),
            Part::File("id_photo", "id.jpg", "image/jpeg", photo.clone()),
        ],
    );
    assert_eq!(a.status, 200, "{}", a.body);
    let b = &a.body;
    assert_eq!(b["success"], true);
    let id = b["check_id"].as_str().expect("check_id").to_string();
    assert!(id.starts_with("ver_"), "{id}");
    let r = &b["result"];
    assert_eq!(r["sessionId"], id.as_str());
    assert!(verity_store::time::parse(r["timestamp"].as_str().unwrap_or_default()).is_some(), "{r}");
    // The real pipeline: the video's best frame matches the passport's portrait, the video is
    // live, the MRZ reads; so the seed's "verified" with high confidence.
    assert_eq!(r["faceComparison"]["isIdentical"], true, "{r}");
    assert_eq!(r["faceComparison"]["method"], "face_embedding");
    let sim = r["faceComparison"]["similarityScore"].as_u64().expect("similarityScore");
    assert!((50..=100).contains(&sim), "{r}");
    assert_eq!(r["status"], "verified", "{r}");
    let va = &r["verificationAssessment"];
    assert_eq!(va["verificationStatus"], "verified");
    assert_eq!(va["confidenceLevel"], "high");
    assert!(va["overallScore"].as_u64().is_some_and(|s| s >= 60), "{va}");
    assert!(va["summary"].as_str().is_some_and(|s| !s.is_empty()));
    // File links are signed and short-lived, never public paths.
    let video_url = r["files"]["selfieVideo"]["url"].as_str().expect("url").to_string();
    assert!(video_url.contains("/verif/files/") && video_url.contains("signature="), "{video_url}");
    assert!(r["files"]["selfieVideo"]["fileName"].as_str().is_some_and(|f| f.ends_with(".mp4")), "{r}");
    let got = fetch_url(&video_url);
    assert_eq!(got.status, 200);
    assert_eq!(got.bytes, video, "the stored video is the one sent");
    assert_eq!(got.headers.get("cache-control").map(String::as_str), Some("private, no-store"));
    let photo_url = r["files"]["idPhoto"]["url"].as_str().expect("url");
    assert_eq!(fetch_url(photo_url).bytes, photo);
    let forged = video_url.replace("signature=", "signature=0");
    assert_eq!(fetch_url(&forged).status, 404);
    let other_file = video_url.replace("/selfie_video?", "/document_front?");
    assert_eq!(fetch_url(&other_file).status, 404, "a signature covers one file");

    // The same verification through the API.
    let v = app.get(&format!("/v1/identity/verify/{id}"), &key);
    assert_eq!(v.body["mode"], "hosted", "{}", v.body);
    assert_eq!(v.body["user_identifier"], "user123");
    assert_eq!(v.body["checks"]["liveness"]["status"], "passed", "{}", v.body);

    // The webhook: the seed's payload, its User-Agent, Verity's signature.
    app.run_jobs();
    let got = hooks.lock().expect("lock").clone();
    assert_eq!(got.len(), 1, "one delivery");
    let (headers, body) = &got[0];
    assert_eq!(headers.get("user-agent").map(String::as_str), Some("IdentityVerification/1.0"));
    let payload: Value = serde_json::from_slice(body).expect("json");
    assert_eq!(payload["check_id"], id.as_str());
    assert_eq!(payload["user_identifier"], "user123");
    assert_eq!(payload["verification_result"]["status"], "verified");
    assert_eq!(payload["verification_result"]["faceComparison"]["isIdentical"], true);
    assert!(payload["selfie_video_url"].as_str().is_some_and(|u| u.contains("signature=")));
    assert!(payload["completed_at"].is_string());
    let event = headers.get("verity-event-id").expect("event id");
    assert_eq!(headers.get("idempotency-key"), Some(event));
    let secret =
        app.get("/v1/identity/settings", &key).body["webhook_secret"].as_str().expect("secret").to_string();
    let sig = headers.get("verity-signature").expect("signature");
    let t: i64 =
        sig.split(',').next().and_then(|p| p.strip_prefix("t=")).and_then(|t| t.parse().ok()).expect("t");
    assert_eq!(sig, &verity_server::verification::webhook::signature(&secret, t, body));
    let log = app.get(&format!("/v1/identity/verify/{id}/deliveries"), &key);
    assert_eq!(log.body["data"][0]["status_code"], 200, "{}", log.body);

    // A week later the files and the face embeddings are gone; the result stays, redacted.
    let week = verity_store::time::now_ms() + 7 * 86_400_000 + 60_000;
    app.rt.block_on(verity_server::worker::run_due_by(&app.state, week));
    let gone = fetch_url(&video_url);
    assert_eq!((gone.status, gone.body["code"].as_str()), (410, Some("file_deleted")), "{}", gone.body);
    let v = app.get(&format!("/v1/identity/verify/{id}"), &key).body;
    assert_eq!(v["redacted"], true, "{v}");
    assert!(v["files_deleted_at"].is_string());
    assert_eq!(v["status"], "verified", "the decision stays");
    let tenant = tenant_of(&app, &key);
    let prints = app.rt.block_on(app.state.store.fingerprints_since(&tenant, 0)).expect("db");
    assert!(prints.iter().any(|f| f.owner_id == id), "the check's fingerprint was kept, then deleted");
    assert!(
        prints.iter().filter(|f| f.owner_id == id).all(|f| f.data.is_none()),
        "no face embedding of the check is kept"
    );
}

#[test]
fn capture_sessions_keep_the_key_out_of_the_browser_open_once_and_expire() {
    let app = TestApp::new();
    let key = app.key("sessions");
    // The seed's link: the key is exchanged for a session at once.
    let start = answer(
        agent()
            .get(format!("{}/verif/?api_key={key}&user_identifier=u-42&user_email=u%40example.com", app.base))
            .call()
            .expect("http"),
    );
    assert_eq!(start.status, 303);
    let location = start.headers.get("location").expect("location").clone();
    assert!(location.starts_with("/verif/s/") && !location.contains(&key), "{location}");
    assert_eq!(start.headers.get("referrer-policy").map(String::as_str), Some("no-referrer"));
    let page = fetch_url(&format!("{}{location}", app.base));
    assert_eq!(page.status, 200);
    let html = String::from_utf8_lossy(&page.bytes).to_string();
    assert!(!html.contains(&key), "the page never holds the key");
    assert!(html.contains("MediaRecorder") && html.contains("id=\"preview\""));
    assert!(page.headers.get("content-security-policy").is_some_and(|c| c.contains("default-src 'none'")));
    assert_eq!(
        page.headers.get("permissions-policy").map(String::as_str),
        Some("camera=(self), microphone=()")
    );
    assert!(page.bytes.len() < 150 * 1024, "page weight {} bytes", page.bytes.len());
    error(
        &answer(agent().get(format!("{}/verif/?user_identifier=u", app.base)).call().expect("http")),
        400,
        "api_key_required",
        Some("API key is required"),
    );
    error(
        &answer(agent().get(format!("{}/verif/?api_key={key}", app.base)).call().expect("http")),
        400,
        "user_identifier_required",
        Some("User identifier is required"),
    );
    error(
        &answer(agent().get(format!("{}/verif/?api_key=nope&user_id=u", app.base)).call().expect("http")),
        401,
        "invalid_api_key",
        Some("Invalid API key"),
    );

    // The recommended way: the partner's backend makes the session.
    let made = app.post(
        "/v1/capture-sessions",
        &key,
        json!({"user_identifier": "u-7", "language": "fr", "challenges": ["turn_left", "turn_right"],
               "success_url": "https://partner.example/done"}),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    let url = made.body["url"].as_str().expect("url").to_string();
    let token = url.rsplit('/').next().expect("token").to_string();
    assert_eq!(made.body["status"], "created");
    let sid = made.body["id"].as_str().expect("id").to_string();
    assert!(sid.starts_with("cs_"));
    let read = app.get(&format!("/v1/capture-sessions/{sid}"), &key);
    assert!(read.body.get("url").is_none(), "the link is shown once: {}", read.body);
    let fr = fetch_url(&url);
    assert!(String::from_utf8_lossy(&fr.bytes).contains("lang=\"fr\""));
    let bad = app.post("/v1/capture-sessions", &key, json!({"user_identifier": "u", "challenges": ["jump"]}));
    assert_eq!((bad.status, bad.body["param"].as_str()), (422, Some("challenges")), "{}", bad.body);

    let video = live_video();
    let photo = passport_of_the_video_subject();
    let form = |prompts: &str| {
        vec![
            Part::Text("session", token.clone()),
            Part::Text("liveness_prompts", prompts.to_string()),
            Part::File("selfie_video", "selfie.mp4", "video/mp4", video.clone()),
            Part::File("id_photo", "id.jpg", "image/jpeg", photo.clone()),
        ]
    };
    // The prompts must be the session's, in its order.
    let swapped = submit(
        &app,
        &form(r#"[{"name":"turn_right","shown_at_ms":500},{"name":"turn_left","shown_at_ms":4000}]"#),
    );
    error(&swapped, 422, "prompts_mismatch", None);
    // In the shared video the subject turns left at ~2 s and right at ~7.5 s.
    let ok = submit(
        &app,
        &form(r#"[{"name":"turn_left","shown_at_ms":500},{"name":"turn_right","shown_at_ms":4000}]"#),
    );
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body["result"]["status"], "verified", "{}", ok.body);
    let id = ok.body["check_id"].as_str().expect("id");
    let v = app.get(&format!("/v1/identity/verify/{id}"), &key).body;
    assert_eq!(v["user_identifier"], "u-7");
    assert_eq!(v["capture_session"], sid.as_str());
    assert_eq!(v["checks"]["liveness"]["status"], "passed", "{v}");
    let s = app.get(&format!("/v1/capture-sessions/{sid}"), &key).body;
    assert_eq!((s["status"].as_str(), s["verification_id"].as_str()), (Some("submitted"), Some(id)), "{s}");
    // Used: the page says so and a second submission is refused.
    let again = fetch_url(&url);
    assert_eq!(again.status, 410);
    assert!(
        String::from_utf8_lossy(&again.bytes).contains("session_used"),
        "{}",
        String::from_utf8_lossy(&again.bytes)
    );
    error(
        &submit(
            &app,
            &form(r#"[{"name":"turn_left","shown_at_ms":500},{"name":"turn_right","shown_at_ms":4000}]"#),
        ),
        410,
        "session_used",
        None,
    );

    // A challenge met before its prompt was shown was not an answer to it.
    let early = app.post(
        "/v1/capture-sessions",
        &key,
        json!({"user_identifier": "u-8", "challenges": ["turn_left", "turn_right"]}),
    );
    let early_token = early.body["url"].as_str().expect("url").rsplit('/').next().expect("t").to_string();
    let mut parts =
        form(r#"[{"name":"turn_left","shown_at_ms":6000},{"name":"turn_right","shown_at_ms":7000}]"#);
    parts[0] = Part::Text("session", early_token);
    let late = submit(&app, &parts);
    assert_eq!(late.status, 200, "{}", late.body);
    assert_ne!(late.body["result"]["status"], "verified", "{}", late.body);
    let lid = late.body["check_id"].as_str().expect("id");
    let lv = app.get(&format!("/v1/identity/verify/{lid}"), &key).body;
    assert!(lv["fraud_signals"].to_string().contains("CHALLENGE_NOT_MET"), "{lv}");

    // Expired: the page and the submission refuse it.
    let old = app.post("/v1/capture-sessions", &key, json!({"user_identifier": "u-9", "ttl_minutes": 1}));
    let old_url = old.body["url"].as_str().expect("url").to_string();
    let old_id = old.body["id"].as_str().expect("id").trim_start_matches("cs_").to_string();
    edit_session(&app, &key, &old_id, |b| b["expires_at_ms"] = json!(verity_store::time::now_ms() - 1));
    let expired = fetch_url(&old_url);
    assert_eq!(expired.status, 410);
    assert!(String::from_utf8_lossy(&expired.bytes).contains("session_expired"));
    assert_eq!(app.get(&format!("/v1/capture-sessions/cs_{old_id}"), &key).body["status"], "expired");
    assert_eq!(fetch_url(&format!("{}/verif/s/not-a-token", app.base)).status, 404);
}

#[test]
fn partner_settings_take_a_partial_object_and_refuse_bad_values() {
    let app = TestApp::new();
    let key = app.key("partner");
    let d = app.get("/v1/partner/settings", &key);
    assert_eq!(d.status, 200);
    assert_eq!(
        (d.body["retention_days"].as_u64(), d.body["session_ttl_minutes"].as_u64()),
        (Some(7), Some(60))
    );
    assert_eq!(d.body["languages"], json!(["en", "fr", "ar"]));
    let changed = app.post(
        "/v1/partner/settings",
        &key,
        json!({"theme": {"primary_color": "#0f766e", "title": "Acme Bank"}, "default_language": "ar"}),
    );
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["theme"]["primary_color"], "#0f766e");
    assert_eq!(changed.body["theme"]["background_color"], "#f5f7fa", "untouched fields keep their default");
    let more = app.post(
        "/v1/partner/settings",
        &key,
        json!({"theme": {"title": "Acme", "texts": {"ar": {"start": "ابدأ الآن"}}}}),
    );
    assert_eq!(more.body["theme"]["primary_color"], "#0f766e", "a theme patch merges: {}", more.body);
    for (bad, param) in [
        (json!({"theme": {"primary_color": "blue"}}), "theme.primary_color"),
        (json!({"retention_days": 0}), "retention_days"),
        (json!({"languages": ["de"]}), "languages"),
        (json!({"webhook_url": "http://169.254.169.254/latest"}), "webhook_url"),
        (json!({"theme": {"logo": "https://cdn.example/logo.png"}}), "theme.logo"),
        (json!({"theme": {"texts": {"en": {"no_such_text": "x"}}}}), "theme.texts"),
        (json!({"theme": {"texts": {"de": {"start": "Los"}}}}), "theme.texts"),
    ] {
        let r = app.post("/v1/partner/settings", &key, bad.clone());
        assert_eq!((r.status, r.body["param"].as_str()), (422, Some(param)), "{bad}: {}", r.body);
    }
    let unknown = app.post("/v1/partner/settings", &key, json!({"colour": "red"}));
    assert_eq!(unknown.status, 422);
    // The page wears the theme, in the default language.
    let s = app.post("/v1/capture-sessions", &key, json!({"user_identifier": "u"}));
    let page = fetch_url(s.body["url"].as_str().expect("url"));
    let html = String::from_utf8_lossy(&page.bytes).to_string();
    assert!(
        html.contains("--primary:#0f766e")
            && html.contains("dir=\"rtl\"")
            && html.contains("<title>Acme</title>"),
        "{}",
        &html[..400]
    );
    assert!(html.contains("ابدأ الآن"), "the partner's own words are on the page");
    // Another tenant sees its own defaults.
    let other = app.key("other");
    assert_eq!(app.get("/v1/partner/settings", &other).body["theme"]["primary_color"], "#1d4ed8");
}

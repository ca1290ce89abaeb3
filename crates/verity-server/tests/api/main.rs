//! The HTTP API end to end: a real server on 127.0.0.1:0 (SQLite in a temp dir, files in
//! memory, the real engines), driven over HTTP. Jobs run when the test says so
//! (`TestApp::run_jobs`), so nothing sleeps and hopes. One test binary for all API tests.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine as _;
use serde_json::{json, Value};
use verity_server::{AppState, Config, Engines};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn shared() -> PathBuf {
    std::env::var_os("VERITY_SHARED_DIR").map(PathBuf::from).unwrap_or_else(|| workspace().join("../shared"))
}

fn engines() -> Arc<Engines> {
    static E: OnceLock<Arc<Engines>> = OnceLock::new();
    E.get_or_init(|| {
        let dir = std::env::var_os("VERITY_MODELS_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace().join("models"));
        let e = Engines::load(&dir, 2);
        if let Err(err) = &e.face {
            panic!("{err} (scripts/test fetches the models)");
        }
        Arc::new(e)
    })
    .clone()
}

/// The state of a test server: a fresh SQLite database in `config.data_dir`, files in memory,
/// the shared engines.
async fn test_state(config: Config) -> AppState {
    let store = verity_store::connect(&config.database_url()).await.expect("store");
    AppState::with_engines(store, verity_server::files::Files::in_memory([9u8; 32]), engines(), config)
}

/// A new tenant and its key, straight in the store.
async fn make_key(store: &dyn verity_store::Storage, name: &str) -> String {
    let now = verity_store::time::now_ms();
    let t = verity_store::Tenant { id: verity_server::ids::new_id(), name: name.into(), created_at: now };
    store.create_tenant(&t).await.expect("tenant");
    let key = verity_server::ids::new_api_key();
    let k = verity_store::ApiKey {
        id: verity_server::ids::new_id(),
        tenant_id: t.id,
        name: name.into(),
        prefix: key[..10].into(),
        key_hash: verity_server::ids::key_hash(&key),
        created_at: now,
        revoked_at: None,
    };
    store.create_key(&k).await.expect("key");
    key
}

struct TestApp {
    rt: tokio::runtime::Runtime,
    state: AppState,
    base: String,
    _dir: tempfile::TempDir,
}

struct Resp {
    status: u16,
    body: Value,
}

impl TestApp {
    fn new() -> Self {
        Self::with_config(|_| {})
    }

    fn with_config(tweak: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("tmp");
        let mut config = Config { data_dir: dir.path().to_path_buf(), ..Config::default() };
        config.workers.count = 0;
        config.webhooks.backoff_base_ms = 1;
        config.webhooks.max_attempts = 3;
        // The tests' webhook receivers listen on loopback; failed authentications are many.
        config.webhooks.allow_addresses = vec!["127.0.0.1/32".into()];
        config.limits.failed_auth_per_minute = 0;
        tweak(&mut config);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        // Links the server makes (capture links, signed file links) point at this server.
        if config.hosted.public_url.is_empty() {
            config.hosted.public_url = base.clone();
        }
        let state = rt.block_on(test_state(config));
        let st = state.clone();
        rt.spawn(async move {
            let _ = verity_server::launch(listener, st, std::future::pending()).await;
        });
        Self { rt, state, base, _dir: dir }
    }

    /// A new tenant and its key.
    fn key(&self, name: &str) -> String {
        self.rt.block_on(make_key(&*self.state.store, name))
    }

    fn run_jobs(&self) -> usize {
        self.rt.block_on(verity_server::worker::run_pending(&self.state))
    }

    fn call(&self, method: &str, path: &str, key: Option<&str>, body: Option<&Value>) -> Resp {
        self.raw(method, path, key, body.map(|b| b.to_string().into_bytes()))
    }

    fn raw(&self, method: &str, path: &str, key: Option<&str>, body: Option<Vec<u8>>) -> Resp {
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let url = format!("{}{}", self.base, path);
        let mut resp = match (method, body) {
            ("GET" | "DELETE", _) => {
                let mut r = if method == "GET" { agent.get(&url) } else { agent.delete(&url) };
                if let Some(k) = key {
                    r = r.header("Authorization", k);
                }
                r.call()
            }
            (_, b) => {
                let mut r = if method == "PUT" { agent.put(&url) } else { agent.post(&url) };
                if let Some(k) = key {
                    r = r.header("Authorization", k);
                }
                r.header("Content-Type", "application/json").send(b.unwrap_or_default())
            }
        }
        .expect("http");
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Resp { status, body }
    }

    fn post_bytes(&self, path: &str, key: &str, content_type: &str, bytes: &[u8]) -> Resp {
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let mut resp = agent
            .post(format!("{}{}", self.base, path))
            .header("Authorization", key)
            .header("Content-Type", content_type)
            .send(bytes)
            .expect("http");
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        Resp { status, body: serde_json::from_str(&text).unwrap_or(Value::String(text)) }
    }

    fn get(&self, path: &str, key: &str) -> Resp {
        self.call("GET", path, Some(key), None)
    }
    fn post(&self, path: &str, key: &str, body: Value) -> Resp {
        self.call("POST", path, Some(key), Some(&body))
    }
    fn delete(&self, path: &str, key: &str) -> Resp {
        self.call("DELETE", path, Some(key), None)
    }

    fn client(&self, key: &str, first: &str) -> String {
        let r = self.post(
            "/v1/clients",
            key,
            json!({"type": "person", "email": "j@example.com", "personDetails": {"firstName": first, "lastName": "Doe", "dob": "1990-01-01"}}),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["id"].as_str().expect("id").to_string()
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Deterministic noise so JPEGs are comfortably above ComplyCube's 34 KB minimum.
fn noisy(mut img: image::RgbImage, amp: i32) -> image::RgbImage {
    let mut seed = 7u32;
    for p in img.pixels_mut() {
        for c in p.0.iter_mut() {
            seed = seed.wrapping_mul(1664525).wrapping_add(1013904223);
            let n = (seed >> 24) as i32 % (2 * amp + 1) - amp;
            *c = (*c as i32 + n).clamp(0, 255) as u8;
        }
    }
    img
}

fn lfw(name: &str) -> image::RgbImage {
    let person = &name[..name.len() - 5];
    let p = shared().join(format!("data/faces/lfw/{person}/{name}.jpg"));
    let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    verity_imaging::decode(&bytes, &verity_imaging::Limits::default()).expect("decode").image
}

/// A selfie-sized JPEG of an LFW photo.
fn selfie(name: &str) -> Vec<u8> {
    let big = image::imageops::resize(&lfw(name), 640, 640, image::imageops::FilterType::Triangle);
    verity_imaging::encode_jpeg(&noisy(big, 6), 92)
}

/// A card-like document with a smaller portrait of an LFW photo.
fn document(name: &str) -> Vec<u8> {
    let face = image::imageops::crop_imm(&lfw(name), 25, 15, 100, 125).to_image();
    let portrait = image::imageops::resize(&face, 260, 325, image::imageops::FilterType::Triangle);
    let mut card = image::RgbImage::from_fn(1000, 640, |x, y| {
        image::Rgb([200 - (x / 20) as u8, 216, 232 - (y / 20) as u8])
    });
    image::imageops::overlay(&mut card, &portrait, 60, 160);
    verity_imaging::encode_jpeg(&noisy(card, 8), 92)
}

fn upload_photo(app: &TestApp, key: &str, client: &str, jpeg: &[u8]) -> String {
    let r = app.post("/v1/livePhotos", key, json!({"clientId": client, "data": b64(jpeg)}));
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().expect("id").to_string()
}

fn upload_document(app: &TestApp, key: &str, client: &str, jpeg: &[u8]) -> String {
    let d = app.post(
        "/v1/documents",
        key,
        json!({"clientId": client, "type": "passport", "issuingCountry": "GB"}),
    );
    assert_eq!(d.status, 201, "{}", d.body);
    let id = d.body["id"].as_str().expect("id").to_string();
    let up = app.post(
        &format!("/v1/documents/{id}/upload/front"),
        key,
        json!({"fileName": "front.jpg", "data": b64(jpeg)}),
    );
    assert_eq!(up.status, 201, "{}", up.body);
    id
}

/// An identity check of `client` on the shared LFW subject's selfie and a card with their
/// portrait (created, not run): (check, live photo, document) ids.
fn gul_identity_check(app: &TestApp, key: &str, client: &str) -> (String, String, String) {
    let photo = upload_photo(app, key, client, &selfie("Abdullah_Gul_0006"));
    let doc = upload_document(app, key, client, &document("Abdullah_Gul_0001"));
    let c = app.post(
        "/v1/checks",
        key,
        json!({"clientId": client, "type": "identity_check", "livePhotoId": photo, "documentId": doc}),
    );
    assert_eq!(c.status, 201, "{}", c.body);
    (c.body["id"].as_str().expect("id").to_string(), photo, doc)
}

fn error_shape(r: &Resp, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.body["code"], code, "{}", r.body);
    assert!(r.body["type"].is_string() && r.body["message"].is_string(), "{}", r.body);
}

mod bad_input;
mod browser;
mod checks;
mod complycube_flow;
mod dashboard;
mod dashboard_admin;
mod dashboard_browser;
mod hardening;
mod hosted;
mod resources;
mod review;
mod uploads;
mod verify;
mod webhooks;

// ------------------------------------------------------------------ tests

#[test]
fn operational_endpoints_and_error_shapes() {
    let app = TestApp::with_config(|c| c.limits.json_body_bytes = 64 * 1024);
    let key = app.key("acme");
    let h = app.call("GET", "/healthz", None, None);
    assert_eq!((h.status, h.body["status"].as_str()), (200, Some("ok")));
    let r = app.call("GET", "/readyz", None, None);
    assert_eq!(r.status, 200);
    assert_eq!(r.body["database"]["backend"], "sqlite");
    assert_eq!(r.body["engines"]["face"]["status"], "ok");

    error_shape(&app.call("GET", "/v1/clients", None, None), 401, "unauthorized");
    error_shape(&app.call("GET", "/v1/clients", Some("vk_wrong"), None), 401, "unauthorized");
    error_shape(
        &app.raw("POST", "/v1/clients", Some(&key), Some(b"{not json".to_vec())),
        400,
        "body_invalid_json",
    );
    error_shape(&app.raw("POST", "/v1/clients", Some(&key), Some(b"[1,2]".to_vec())), 400, "body_not_object");
    error_shape(&app.get("/v1/nowhere", &key), 404, "not_found");
    error_shape(&app.raw("PUT", "/v1/clients", Some(&key), Some(b"{}".to_vec())), 405, "method_not_allowed");
    let big = json!({"type": "person", "email": "a@b.co", "x": "a".repeat(100 * 1024)});
    error_shape(&app.post("/v1/clients", &key, big), 413, "body_too_large");
    error_shape(&app.get("/v1/clients?pageSize=1000", &key), 400, "bad_query");
    error_shape(&app.get("/v1/clients?createdAfter=yesterday", &key), 400, "bad_query");
    error_shape(&app.get("/v1/clients/not-an-id", &key), 404, "not_found");

    let m = app.call("GET", "/metrics", None, None);
    let text = m.body.as_str().expect("text").to_string();
    assert!(
        text.contains("verity_http_requests_total{method=\"GET\",route=\"/v1/clients\",status=\"401\"}"),
        "{text}"
    );
}

fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r.clone());
            }
            m.values().for_each(|x| refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

#[test]
fn the_openapi_document_describes_every_route_and_the_docs_page_is_offline() {
    let app = TestApp::new();
    let r = app.call("GET", "/openapi.json", None, None);
    assert_eq!(r.status, 200);
    let spec = r.body;
    assert_eq!(spec["openapi"], "3.1.0");
    // The public contract, whole: a change to any path, schema or enum shows in review.
    insta::assert_json_snapshot!("openapi", spec);
    // Every reference resolves.
    let mut all = Vec::new();
    refs(&spec, &mut all);
    assert!(all.len() > 50);
    for r in &all {
        let name = r.strip_prefix("#/components/schemas/").expect("local schema ref");
        assert!(spec["components"]["schemas"][name].is_object(), "{r} does not resolve");
    }
    let paths = spec["paths"].as_object().expect("paths");
    let mut ops = 0;
    for (path, item) in paths {
        for (method, op) in item.as_object().expect("item") {
            ops += 1;
            // Path parameters are declared.
            for seg in path.split('/').filter(|s| s.starts_with('{')) {
                let name = seg.trim_matches(|c| c == '{' || c == '}');
                let declared = op["parameters"]
                    .as_array()
                    .is_some_and(|ps| ps.iter().any(|p| p["name"] == name && p["in"] == "path"));
                assert!(declared, "{method} {path}: {name} undeclared");
            }
            // The route exists: without a key it answers 401, not 404 or 405.
            let concrete =
                path.replace("{side}", "front").replace("{id}", "0123456789abcdef0123456789abcdef");
            let m = method.to_uppercase();
            let empty = json!({});
            let resp = app.call(&m, &concrete, None, if m == "POST" { Some(&empty) } else { None });
            assert_eq!(resp.status, 401, "{m} {concrete}: {}", resp.body);
        }
    }
    assert_eq!(ops, verity_server::openapi::OPS.len());
    // What the seeds' flow and the official SDK use is there, with the validators' own lists.
    for (path, method) in [
        ("/v1/clients", "post"),
        ("/v1/livePhotos", "post"),
        ("/v1/documents/{id}/upload/{side}", "post"),
        ("/v1/checks", "post"),
        ("/v1/checks/{id}/validate", "post"),
        ("/v1/addresses", "post"),
    ] {
        assert!(paths[path][method].is_object(), "{method} {path}");
    }
    let person = &spec["components"]["schemas"]["PersonDetails"]["properties"];
    assert!(person["firstName"].is_object() && person["taxIdentificationNumber"].is_object());
    let types = &spec["components"]["schemas"]["CheckInput"]["properties"]["type"]["enum"];
    assert!(types.as_array().is_some_and(|t| t.contains(&json!("identity_check"))));
    // An undocumented path is not served.
    assert_eq!(app.call("GET", "/v1/reports", None, None).status, 404);

    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut docs = agent.get(format!("{}/docs", app.base)).call().expect("docs");
    assert_eq!(docs.status().as_u16(), 200);
    let ct = docs.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    assert!(ct.starts_with("text/html"), "{ct}");
    let html = docs.body_mut().read_to_string().expect("html");
    assert!(html.contains("/openapi.json"));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "the docs page loads nothing from elsewhere"
    );
}

#[test]
fn a_check_whose_worker_died_is_taken_again_after_the_lease() {
    let app = TestApp::with_config(|c| c.workers.lease_secs = 1);
    let key = app.key("acme");
    let client = app.client(&key, "Abdullah");
    let (id, _, _) = gul_identity_check(&app, &key, &client);
    // A worker claims the job and dies without a word.
    let claimed = app.rt.block_on(app.state.store.claim(verity_store::time::now_ms(), 1)).expect("claim");
    assert!(claimed.is_some_and(|j| j.kind == "run_check"));
    std::thread::sleep(std::time::Duration::from_millis(20));
    app.run_jobs();
    assert_eq!(app.get(&format!("/v1/checks/{id}"), &key).body["status"], "complete");
}

/// A webhook receiver: answers with the given statuses in turn (then 200), records requests.
/// (body, signature) of every request received.
type Received = Arc<Mutex<Vec<(Vec<u8>, String)>>>;

fn receiver(statuses: Vec<u16>) -> (String, Received) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hook", l.local_addr().expect("addr"));
    let got = Arc::new(Mutex::new(Vec::new()));
    let log = got.clone();
    std::thread::spawn(move || {
        let mut statuses = statuses.into_iter();
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let mut r = BufReader::new(s.try_clone().expect("clone"));
            let mut line = String::new();
            let _ = r.read_line(&mut line);
            let (mut len, mut sig) = (0usize, String::new());
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
                let lower = h.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                if lower.starts_with("complycube-signature:") || lower.starts_with("verity-signature:") {
                    sig = h.split_once(':').map(|(_, v)| v.trim().to_string()).unwrap_or_default();
                }
            }
            let mut body = vec![0u8; len];
            let _ = r.read_exact(&mut body);
            log.lock().expect("lock").push((body, sig));
            let code = statuses.next().unwrap_or(200);
            let _ = write!(s, "HTTP/1.1 {code} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (url, got)
}

/// Ids, timestamps, secrets and signatures vary run to run: replaced by placeholders.
fn redact(v: &Value) -> Value {
    match v {
        Value::String(s) if verity_server::ids::looks_like_id(s) => json!("[id]"),
        Value::String(s) if verity_store::time::parse(s).is_some() && s.len() > 10 => json!("[time]"),
        Value::String(s) if s.starts_with("whsec_") => json!("[secret]"),
        Value::String(s) if s.contains("/livePhotos/") || s.contains("/documents/") => {
            let parts: Vec<String> = s
                .split('/')
                .map(
                    |p| if verity_server::ids::looks_like_id(p) { "[id]".to_string() } else { p.to_string() },
                )
                .collect();
            json!(parts.join("/"))
        }
        Value::Array(a) => Value::Array(a.iter().map(redact).collect()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), redact(v))).collect()),
        other => other.clone(),
    }
}

#[test]
fn response_and_webhook_shapes_are_stable() {
    let app = TestApp::new();
    let key = app.key("acme");
    let (url, got) = receiver(vec![]);
    let hook = app.post(
        "/v1/webhooks",
        &key,
        json!({"url": url, "events": ["client.created", "check.pending"], "description": "ops"}),
    );
    let mut hook_body = hook.body.clone();
    hook_body["url"] = json!("[local receiver]");
    insta::assert_json_snapshot!("webhook_create", redact(&hook_body));
    let client = app.post(
        "/v1/clients",
        &key,
        json!({"type": "person", "email": "john.doe@example.com", "personDetails": {"firstName": "John", "lastName": "Doe", "dob": "1990-01-01"}}),
    );
    insta::assert_json_snapshot!("client_create", redact(&client.body));
    let cid = client.body["id"].as_str().expect("id").to_string();
    let photo =
        app.post("/v1/livePhotos", &key, json!({"clientId": cid, "data": b64(&selfie("Abdullah_Gul_0006"))}));
    let mut photo_body = photo.body.clone();
    photo_body["size"] = json!("[size]");
    insta::assert_json_snapshot!("live_photo_create", redact(&photo_body));
    let doc =
        app.post("/v1/documents", &key, json!({"clientId": cid, "type": "passport", "issuingCountry": "GB"}));
    insta::assert_json_snapshot!("document_create", redact(&doc.body));
    let did = doc.body["id"].as_str().expect("id").to_string();
    let up = app.post(
        &format!("/v1/documents/{did}/upload/front"),
        &key,
        json!({"fileName": "front.jpg", "data": b64(&document("Abdullah_Gul_0001"))}),
    );
    let mut up_body = up.body.clone();
    up_body["size"] = json!("[size]");
    insta::assert_json_snapshot!("document_upload", redact(&up_body));
    let pid = photo.body["id"].as_str().expect("id").to_string();
    let check = app.post(
        "/v1/checks",
        &key,
        json!({"clientId": cid, "type": "identity_check", "livePhotoId": pid, "documentId": did}),
    );
    insta::assert_json_snapshot!("check_create", redact(&check.body));
    let list = app.get("/v1/clients?pageSize=1", &key);
    insta::assert_json_snapshot!("client_list", redact(&list.body));
    let err = app.post("/v1/clients", &key, json!({"type": "person", "email": "x@y.io"}));
    insta::assert_json_snapshot!("error_validation", err.body);
    for _ in 0..50 {
        app.run_jobs();
        if got.lock().expect("lock").len() >= 2 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let mut events: Vec<Value> =
        got.lock().expect("lock").iter().map(|(b, _)| serde_json::from_slice(b).expect("json")).collect();
    events.sort_by_key(|e| e["type"].as_str().unwrap_or_default().to_string());
    insta::assert_json_snapshot!("webhook_events", redact(&json!(events)));
}

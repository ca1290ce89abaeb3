//! Durability: `kill -9` of a real `verity serve` while identity checks are queued and running;
//! after a restart on the same data directory every check completes and the stored files read
//! back unchanged. Runs the built binary (models from `$VERITY_MODELS_DIR`, as `scripts/test`
//! sets up).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The shared folder holding `data/` (`VERITY_SHARED_DIR`, set by scripts/test; else beside the checkout).
fn shared() -> PathBuf {
    std::env::var_os("VERITY_SHARED_DIR").map(PathBuf::from).unwrap_or_else(|| workspace().join("../shared"))
}

fn models() -> PathBuf {
    std::env::var_os("VERITY_MODELS_DIR").map(PathBuf::from).unwrap_or_else(|| workspace().join("models"))
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn noisy(mut img: image::RgbImage, amp: i32) -> image::RgbImage {
    let mut seed = 11u32;
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

/// A running `verity serve`; killed with SIGKILL when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(data: &Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_verity"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .env("VERITY_MODELS_DIR", models())
        .env("VERITY__WORKERS__LEASE_SECS", "3")
        .env("VERITY__WORKERS__POLL_MS", "200")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn verity serve");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if !sent {
                if let Some(rest) = line.strip_prefix("verity: listening on ") {
                    let _ = tx.send(rest.split_whitespace().next().unwrap_or_default().to_string());
                    sent = true;
                }
            }
        }
    });
    let base = rx.recv_timeout(Duration::from_secs(120)).expect("the server did not start within 120 s");
    Server { child, base }
}

fn call(base: &str, method: &str, path: &str, key: &str, body: Option<Value>) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let url = format!("{base}/v1{path}");
    let mut resp = match body {
        Some(b) => agent
            .post(&url)
            .header("Authorization", key)
            .header("Content-Type", "application/json")
            .send(b.to_string().as_bytes()),
        None if method == "GET" => agent.get(&url).header("Authorization", key).call(),
        None => panic!("unsupported"),
    }
    .expect("http");
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[test]
fn kill_9_with_checks_pending_loses_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let out = Command::new(env!("CARGO_BIN_EXE_verity"))
        .args(["keys", "create", "--name", "crash-test", "--data-dir"])
        .arg(&data)
        .output()
        .expect("keys create");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let key =
        serde_json::from_slice::<Value>(&out.stdout).expect("json")["key"].as_str().expect("key").to_string();

    let server = start(&data);
    let base = server.base.clone();
    let (s, c) = call(
        &base,
        "POST",
        "/clients",
        &key,
        Some(
            json!({"type": "person", "email": "a@b.io", "personDetails": {"firstName": "Abdullah", "lastName": "Gul"}}),
        ),
    );
    assert_eq!(s, 201, "{c}");
    let client = c["id"].as_str().expect("id").to_string();
    let selfie =
        image::imageops::resize(&lfw("Abdullah_Gul_0006"), 640, 640, image::imageops::FilterType::Triangle);
    let selfie = verity_imaging::encode_jpeg(&noisy(selfie, 6), 92);
    let (s, p) =
        call(&base, "POST", "/livePhotos", &key, Some(json!({"clientId": client, "data": b64(&selfie)})));
    assert_eq!(s, 201, "{p}");
    let photo = p["id"].as_str().expect("id").to_string();
    let face = image::imageops::crop_imm(&lfw("Abdullah_Gul_0001"), 25, 15, 100, 125).to_image();
    let portrait = image::imageops::resize(&face, 260, 325, image::imageops::FilterType::Triangle);
    let mut card = image::RgbImage::from_fn(1000, 640, |x, y| {
        image::Rgb([200 - (x / 20) as u8, 216, 232 - (y / 20) as u8])
    });
    image::imageops::overlay(&mut card, &portrait, 60, 160);
    let card = verity_imaging::encode_jpeg(&noisy(card, 8), 92);
    let (s, d) =
        call(&base, "POST", "/documents", &key, Some(json!({"clientId": client, "type": "passport"})));
    assert_eq!(s, 201, "{d}");
    let doc = d["id"].as_str().expect("id").to_string();
    let (s, u) = call(
        &base,
        "POST",
        &format!("/documents/{doc}/upload/front"),
        &key,
        Some(json!({"fileName": "front.jpg", "data": b64(&card)})),
    );
    assert_eq!(s, 201, "{u}");

    let mut ids = Vec::new();
    for _ in 0..12 {
        let (s, c) = call(
            &base,
            "POST",
            "/checks",
            &key,
            Some(
                json!({"clientId": client, "type": "identity_check", "livePhotoId": photo, "documentId": doc}),
            ),
        );
        assert_eq!(s, 201, "{c}");
        ids.push(c["id"].as_str().expect("id").to_string());
    }
    // Once the workers are busy (the first check done, the next ones claimed), kill -9.
    let busy_by = Instant::now() + Duration::from_secs(300);
    while call(&base, "GET", &format!("/checks/{}", ids[0]), &key, None).1["status"] == "pending" {
        assert!(Instant::now() < busy_by, "the first check never completed (hang guard)");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(server);
    let killed_at = verity_store::time::now_ms();

    let server = start(&data);
    let base = server.base.clone();
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut outcomes = Vec::new();
    let mut finished_after_kill = 0;
    for id in &ids {
        loop {
            let (s, c) = call(&base, "GET", &format!("/checks/{id}"), &key, None);
            assert_eq!(s, 200, "{c}");
            if c["status"] != "pending" {
                assert_eq!(c["status"], "complete", "{c}");
                outcomes.push(c["result"]["outcome"].as_str().unwrap_or_default().to_string());
                let updated = verity_store::time::parse(c["updatedAt"].as_str().unwrap_or_default())
                    .expect("updatedAt");
                finished_after_kill += usize::from(updated > killed_at);
                break;
            }
            assert!(Instant::now() < deadline, "check {id} still pending after the restart (hang guard)");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    assert_eq!(outcomes.len(), ids.len());
    assert!(finished_after_kill > 0, "some checks were still pending when the server was killed");
    eprintln!("kill -9: {finished_after_kill}/{} checks were unfinished at the kill and completed after the restart", ids.len());
    assert!(outcomes.iter().all(|o| o == "clear"), "{outcomes:?}");
    // The files written before the crash read back unchanged.
    let (s, dl) = call(&base, "GET", &format!("/livePhotos/{photo}/download"), &key, None);
    assert_eq!(s, 200, "{dl}");
    let back =
        base64::engine::general_purpose::STANDARD.decode(dl["data"].as_str().expect("data")).expect("b64");
    assert!(back == selfie, "the live photo survived the crash byte for byte");
    let (_, list) = call(&base, "GET", "/checks?pageSize=100", &key, None);
    assert_eq!(list["totalItems"], 12, "no check lost or duplicated");
}

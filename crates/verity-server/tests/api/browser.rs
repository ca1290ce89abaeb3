//! The capture page in a real headless Chromium (Debian's `chromium` and `chromedriver`,
//! installed by `scripts/setup`), driven over WebDriver: a fake camera plays the shared selfie
//! video (as `.y4m`, made with ffmpeg), the page prompts, records with `MediaRecorder`, takes an
//! ID photo from a file input, uploads, and shows the result the real pipeline gave; the webhook
//! arrives. Also: a phone-sized viewport, Arabic (right to left), the camera denied, the seed's
//! `?api_key=` link redirecting without the key, and a used link. Screenshots of every step go to
//! `target/screenshots/hosted/`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::hosted::{edit_session, live_video, passport_of_the_video_subject, session_of};
use super::*;

/// A chromedriver process, stopped when dropped.
pub(crate) struct Driver {
    child: Child,
    base: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    pub(crate) fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("chromedriver: {e} (scripts/setup installs Debian's chromium-driver)")
            });
        let d = Driver { child, base: format!("http://127.0.0.1:{port}") };
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(20) {
            if ureq::get(format!("{}/status", d.base)).call().is_ok() {
                return d;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("chromedriver did not start");
    }

    /// A browser session with these Chromium arguments (headless, fake media devices).
    pub(crate) fn session(&self, extra: &[String], width: u32, height: u32) -> Browser {
        let mut args: Vec<String> = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--use-fake-device-for-media-stream",
            "--autoplay-policy=no-user-gesture-required",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.push(format!("--window-size={width},{height}"));
        args.extend(extra.iter().cloned());
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args},
        }}});
        let v = call("POST", &format!("{}/session", self.base), Some(caps));
        let id = v["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {v}")).to_string();
        Browser { url: format!("{}/session/{id}", self.base) }
    }
}

fn call(method: &str, url: &str, body: Option<Value>) -> Value {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into();
    let mut resp = match method {
        "GET" => agent.get(url).call(),
        "DELETE" => agent.delete(url).call(),
        _ => agent
            .post(url)
            .header("Content-Type", "application/json")
            .send(body.unwrap_or(json!({})).to_string()),
    }
    .unwrap_or_else(|e| panic!("webdriver {url}: {e}"));
    let text = resp.body_mut().with_config().limit(64 << 20).read_to_string().unwrap_or_default();
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// One browser session.
pub(crate) struct Browser {
    url: String,
}

impl Drop for Browser {
    fn drop(&mut self) {
        call("DELETE", &self.url, None);
    }
}

impl Browser {
    pub(crate) fn go(&self, url: &str) {
        call("POST", &format!("{}/url", self.url), Some(json!({"url": url})));
    }

    pub(crate) fn current_url(&self) -> String {
        call("GET", &format!("{}/url", self.url), None)["value"].as_str().unwrap_or_default().to_string()
    }

    pub(crate) fn js(&self, script: &str) -> Value {
        let v =
            call("POST", &format!("{}/execute/sync", self.url), Some(json!({"script": script, "args": []})));
        v["value"].clone()
    }

    pub(crate) fn element(&self, css: &str) -> String {
        let v = call(
            "POST",
            &format!("{}/element", self.url),
            Some(json!({"using": "css selector", "value": css})),
        );
        let obj = v["value"].as_object().unwrap_or_else(|| panic!("{css}: {v}"));
        obj.values().next().and_then(|e| e.as_str()).unwrap_or_else(|| panic!("{css}: {v}")).to_string()
    }

    pub(crate) fn click(&self, css: &str) {
        let e = self.element(css);
        let v = call("POST", &format!("{}/element/{e}/click", self.url), Some(json!({})));
        assert!(v["value"].is_null(), "click {css}: {v}");
    }

    /// Types a file path into a file input (WebDriver's way to choose a file).
    pub(crate) fn choose_file(&self, css: &str, path: &Path) {
        self.type_text(css, path.to_str().expect("utf-8 path"));
    }

    /// Types into an input.
    pub(crate) fn type_text(&self, css: &str, text: &str) {
        let e = self.element(css);
        let v = call("POST", &format!("{}/element/{e}/value", self.url), Some(json!({"text": text})));
        assert!(v["value"].is_null(), "type into {css}: {v}");
    }

    /// Waits until `script` (an expression) is true.
    pub(crate) fn wait(&self, what: &str, script: &str, secs: u64) {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(secs) {
            if self.js(&format!("return !!({script});")) == json!(true) {
                return;
            }
            std::thread::sleep(Duration::from_millis(150));
        }
        let body = self.js("return document.body.innerText;");
        let problem = self
            .js("var e = document.getElementById('selfie-status'); return e ? e.dataset.problem || '' : '';");
        panic!("timed out waiting for {what} (camera: {problem}); the page says: {body}");
    }

    pub(crate) fn text(&self, css: &str) -> String {
        self.js(&format!("return document.querySelector({css:?}).textContent;"))
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    fn screenshot(&self, name: &str) {
        self.screenshot_in("hosted", name)
    }

    /// Saves a screenshot as `target/screenshots/<dir>/<name>.png`.
    pub(crate) fn screenshot_in(&self, dir: &str, name: &str) {
        let v = call("GET", &format!("{}/screenshot", self.url), None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(v["value"].as_str().unwrap_or_default())
            .expect("png");
        let dir = workspace().join("target/screenshots").join(dir);
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("write");
    }
}

/// The fake camera's feed: the shared selfie video, its first frame held for 3 s (the page
/// counts down 3 s before recording; in the video the subject turns left at ~2 s and right at
/// ~7.5 s), as `.y4m`.
fn fake_camera() -> PathBuf {
    let dir = workspace().join("target/tmp");
    std::fs::create_dir_all(&dir).expect("dir");
    let out = dir.join("hosted-fake-camera.y4m");
    if !out.exists() {
        let src = shared().join("data/video/live/tranvanluyt_real.mp4");
        let tmp = dir.join("hosted-fake-camera.partial.y4m");
        let ok = Command::new("ffmpeg")
            .args(["-v", "error", "-nostdin", "-y", "-i"])
            .arg(&src)
            .args(["-vf", "tpad=start_duration=3:start_mode=clone,fps=15", "-t", "16", "-pix_fmt", "yuv420p"])
            .arg(&tmp)
            .status()
            .expect("ffmpeg (scripts/setup installs it)");
        assert!(ok.success(), "ffmpeg");
        std::fs::rename(&tmp, &out).expect("rename");
    }
    // Chromium opens no fake camera from a path with `..` in it.
    out.canonicalize().expect("path")
}

fn capture_link(app: &TestApp, key: &str, body: Value) -> String {
    let made = app.post("/v1/capture-sessions", key, body);
    assert_eq!(made.status, 201, "{}", made.body);
    made.body["url"].as_str().expect("url").to_string()
}

#[test]
fn the_capture_page_records_prompts_uploads_and_shows_the_result_in_chromium() {
    let app = TestApp::new();
    let key = app.key("browser");
    let (hook, got) = receiver(vec![]);
    let set = app.post(
        "/v1/partner/settings",
        &key,
        json!({"webhook_url": hook, "theme": {"title": "Acme Bank", "primary_color": "#0f766e"}}),
    );
    assert_eq!(set.status, 200, "{}", set.body);
    let passport = workspace().join("target/tmp/hosted-passport.jpg");
    std::fs::create_dir_all(passport.parent().expect("dir")).expect("dir");
    std::fs::write(&passport, passport_of_the_video_subject()).expect("write");
    let passport = passport.canonicalize().expect("path");
    assert!(!live_video().is_empty());
    let camera = fake_camera();
    let driver = Driver::start();

    // Desktop: the whole flow.
    let link = capture_link(
        &app,
        &key,
        json!({"user_identifier": "browser-user", "challenges": ["turn_left", "turn_right"], "success_url": "https://partner.example/done"}),
    );
    let b = driver.session(
        &[
            "--use-fake-ui-for-media-stream".into(),
            format!("--use-file-for-fake-video-capture={}", camera.display()),
        ],
        1280,
        900,
    );
    b.go(&link);
    b.wait("the intro", "document.getElementById('intro') && !document.getElementById('intro').hidden", 20);
    assert_eq!(b.js("return document.title;"), json!("Acme Bank"));
    b.screenshot("01-intro-desktop");
    b.click("#start");
    b.wait("the camera", "!document.getElementById('record').disabled", 30);
    b.wait("the first frames", "document.getElementById('preview').videoWidth > 0", 10);
    b.screenshot("02-camera");
    b.click("#record");
    b.wait("the first prompt", "document.getElementById('prompt').classList.contains('on')", 10);
    b.screenshot("03-prompt-turn-left");
    assert_eq!(b.text("#prompt-text"), "Turn your head to the left");
    b.wait(
        "the second prompt",
        "document.getElementById('prompt-text').textContent.indexOf('right') >= 0",
        10,
    );
    b.screenshot("04-prompt-turn-right");
    b.wait("the recording", "!document.getElementById('use-video').hidden", 20);
    b.screenshot("05-recorded");
    b.click("#use-video");
    b.wait("the document step", "!document.getElementById('document').hidden", 5);
    b.choose_file("#front-file", &passport);
    b.wait("the photo hint", "document.getElementById('front-hint').textContent.length > 0", 10);
    b.screenshot("06-document");
    b.click("#submit");
    b.wait("the result", "!document.getElementById('result').hidden", 90);
    b.screenshot("07-result");
    let status = b.js("return document.getElementById('result').dataset.status;");
    assert_eq!(status, json!("verified"), "the page says: {}", b.text("#result"));
    assert_eq!(b.text("#result-h"), "You are verified");

    // The server's side of it: the prompts the page showed, checked by the liveness engine.
    let list = app.get("/v1/identity/verify?mode=hosted", &key);
    let v = &list.body["data"][0];
    assert_eq!(v["user_identifier"], "browser-user", "{v}");
    let prompts = v["liveness_prompts"].as_array().expect("prompts");
    assert_eq!(prompts.len(), 2);
    assert_eq!(prompts[0]["name"], "turn_left");
    assert!(prompts[1]["shown_at_ms"].as_u64() > prompts[0]["shown_at_ms"].as_u64(), "{v}");
    assert_eq!(v["checks"]["liveness"]["status"], "passed", "{v}");
    let ext = v["files"]["selfie_video"]["extension"].as_str().unwrap_or_default();
    assert!(ext == "webm" || ext == "mp4", "{v}");
    // The webhook.
    app.run_jobs();
    let hooks = got.lock().expect("lock").clone();
    assert_eq!(hooks.len(), 1);
    let payload: Value = serde_json::from_slice(&hooks[0].0).expect("json");
    assert_eq!(payload["user_identifier"], "browser-user");
    assert_eq!(payload["verification_result"]["status"], "verified");
    // Signed with the tenant's secret over the timestamp and the raw body.
    let secret =
        app.get("/v1/identity/settings", &key).body["webhook_secret"].as_str().expect("secret").to_string();
    let sig = &hooks[0].1;
    let t: i64 =
        sig.split(',').next().and_then(|p| p.strip_prefix("t=")).and_then(|t| t.parse().ok()).expect("t");
    assert_eq!(sig, &verity_server::verification::webhook::signature(&secret, t, &hooks[0].0));
    // The link is used now.
    b.go(&link);
    b.wait("the used page", "document.querySelector('[data-code]') !== null", 10);
    assert_eq!(b.js("return document.querySelector('[data-code]').dataset.code;"), json!("session_used"));
    b.screenshot("08-link-used");
    // The seed's link: redirected to a session, the key gone from the address bar.
    b.go(&format!("{}/verif/?api_key={key}&user_identifier=seed-user", app.base));
    b.wait(
        "the redirected page",
        "document.getElementById('intro') && !document.getElementById('intro').hidden",
        20,
    );
    let url = b.current_url();
    assert!(url.contains("/verif/s/") && !url.contains("api_key") && !url.contains(&key), "{url}");
    drop(b);

    // A phone, in Arabic (right to left).
    let link = capture_link(&app, &key, json!({"user_identifier": "phone-user", "language": "ar"}));
    let phone = driver.session(
        &[
            "--use-fake-ui-for-media-stream".into(),
            format!("--use-file-for-fake-video-capture={}", camera.display()),
        ],
        390,
        844,
    );
    phone.go(&link);
    phone.wait("the intro", "!document.getElementById('intro').hidden", 20);
    assert_eq!(phone.js("return document.documentElement.dir;"), json!("rtl"));
    phone.screenshot("09-intro-phone-arabic");
    phone.click("#start");
    phone.wait("the camera", "!document.getElementById('record').disabled", 30);
    phone.screenshot("10-camera-phone-arabic");
    let overflow = phone.js("return document.documentElement.scrollWidth > window.innerWidth;");
    assert_eq!(overflow, json!(false), "nothing overflows a phone's width");
    drop(phone);

    // The camera denied: a clear message and the file fallback.
    let link = capture_link(&app, &key, json!({"user_identifier": "denied-user"}));
    let denied = driver.session(&[], 1280, 900);
    denied.go(&link);
    denied.wait("the intro", "!document.getElementById('intro').hidden", 20);
    let perm = call(
        "POST",
        &format!("{}/permissions", denied.url),
        Some(json!({"descriptor": {"name": "camera"}, "state": "denied"})),
    );
    assert!(perm["value"].is_null(), "{perm}");
    denied.click("#start");
    denied.wait("the fallback", "!document.getElementById('fallback').hidden", 20);
    assert!(denied.text("#selfie-status").contains("denied"), "{}", denied.text("#selfie-status"));
    denied.screenshot("11-camera-denied");
    drop(denied);

    // Embedded by another site without `allow="camera"`: the page says what the site must do.
    let link = capture_link(&app, &key, json!({"user_identifier": "framed-user"}));
    let host = embedding_page(&link);
    let framed = driver.session(
        &[
            "--use-fake-ui-for-media-stream".into(),
            format!("--use-file-for-fake-video-capture={}", camera.display()),
        ],
        1280,
        900,
    );
    framed.go(&host);
    framed.wait("the frame", "document.querySelector('iframe') !== null", 10);
    let v = call("POST", &format!("{}/frame", framed.url), Some(json!({"id": 0})));
    assert!(v["value"].is_null(), "{v}");
    framed.wait(
        "the intro in the frame",
        "document.getElementById('intro') && !document.getElementById('intro').hidden",
        20,
    );
    framed.click("#start");
    framed.wait("the fallback", "!document.getElementById('fallback').hidden", 20);
    assert!(framed.text("#selfie-status").contains("allow=\"camera\""), "{}", framed.text("#selfie-status"));
    call("POST", &format!("{}/frame", framed.url), Some(json!({"id": null})));
    framed.screenshot("12-embedded-without-camera");
    drop(framed);

    // An expired link says so.
    let link = capture_link(&app, &key, json!({"user_identifier": "late-user"}));
    edit_session(&app, &key, &session_of(&link), |b| {
        b["expires_at_ms"] = json!(verity_store::time::now_ms() - 1)
    });
    let late = driver.session(&[], 390, 844);
    late.go(&link);
    late.wait("the expired page", "document.querySelector('[data-code]') !== null", 10);
    assert_eq!(
        late.js("return document.querySelector('[data-code]').dataset.code;"),
        json!("session_expired")
    );
    late.screenshot("13-link-expired-phone");
}

/// A page of another origin (another port) that embeds `link` in an iframe without
/// `allow="camera"`; answers its URL.
fn embedding_page(link: &str) -> String {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/", l.local_addr().expect("addr"));
    let html = format!(
        "<!doctype html><html><body><h1>Partner site</h1><iframe src=\"{link}\" width=\"900\" height=\"700\"></iframe></body></html>"
    );
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{html}",
                html.len()
            );
        }
    });
    url
}

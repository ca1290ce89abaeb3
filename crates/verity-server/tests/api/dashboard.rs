//! The dashboard over HTTP: signing in (CSRF, wrong passwords, locks, rate limits, idle
//! sessions), the cases of every surface with filters, a case's page and images — and another
//! tenant's user seeing none of it, even by guessing URLs. In a real browser: `dashboard_browser`.

use super::verify::{passport, valid_for_an_adult};
use super::*;

pub(crate) const PASSWORD: &str = "correct horse battery staple";

/// A dashboard user of the tenant of `key`.
pub(crate) fn user_of(app: &TestApp, key: &str, email: &str, role: &str) -> String {
    let store = app.state.store.clone();
    let hash = verity_server::ids::key_hash(key);
    app.rt.block_on(async move {
        let k = store.key_by_hash(&hash).await.expect("q").expect("key");
        let role = verity_server::dashboard::users::Role::parse(role).expect("role");
        verity_server::dashboard::users::create(store.as_ref(), email, role, &k.tenant_id, PASSWORD)
            .await
            .expect("user")
            .tenant_id
    })
}

/// One verification and one ComplyCube identity check of the subject of `Abdullah_Gul`; their ids.
pub(crate) fn two_cases(app: &TestApp, key: &str) -> (String, String) {
    let (front, country) = passport("Abdullah_Gul_0001", valid_for_an_adult);
    let v = app.post(
        "/v1/identity/verify",
        key,
        json!({"document_front": b64(&front), "selfie": b64(&selfie("Abdullah_Gul_0006")),
               "document_type": "passport", "country": country, "metadata": {"user_id": "u-42"}}),
    );
    assert_eq!(v.status, 200, "{}", v.body);
    let client = app.client(key, "Abdullah");
    let (check, _, _) = gul_identity_check(app, key, &client);
    app.run_jobs();
    (v.body["id"].as_str().expect("id").to_string(), check)
}

/// A browser without JavaScript: keeps cookies, follows no redirect.
pub(crate) struct Web<'a> {
    app: &'a TestApp,
    cookies: std::collections::BTreeMap<String, String>,
}

pub(crate) struct Page {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub text: String,
    pub bytes: Vec<u8>,
}

impl Page {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The value of the hidden `csrf` field of the page's (first) form.
    pub fn csrf(&self) -> String {
        let at = self.text.find("name=\"csrf\" value=\"").unwrap_or_else(|| panic!("no csrf: {}", self.text));
        let rest = &self.text[at + 19..];
        rest[..rest.find('"').expect("quote")].to_string()
    }
}

impl<'a> Web<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Self { app, cookies: Default::default() }
    }

    pub fn request(&mut self, method: &str, path: &str, form: Option<&[(&str, &str)]>) -> Page {
        let agent: ureq::Agent =
            ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build().into();
        let url = format!("{}{}", self.app.base, path);
        let cookie = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        let mut resp = if method == "GET" {
            let mut r = agent.get(&url);
            if !cookie.is_empty() {
                r = r.header("Cookie", &cookie);
            }
            r.call()
        } else {
            let body = form
                .unwrap_or_default()
                .iter()
                .map(|(k, v)| format!("{k}={}", verity_server::dashboard::percent_encode(v)))
                .collect::<Vec<_>>()
                .join("&");
            let mut r = agent.post(&url).header("Content-Type", "application/x-www-form-urlencoded");
            if !cookie.is_empty() {
                r = r.header("Cookie", &cookie);
            }
            r.send(body)
        }
        .expect("http");
        let headers: Vec<(String, String)> = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or_default().to_string()))
            .collect();
        for (k, v) in &headers {
            if k == "set-cookie" {
                let pair = v.split(';').next().unwrap_or_default();
                if let Some((name, value)) = pair.split_once('=') {
                    if value.is_empty() || v.contains("Max-Age=0") {
                        self.cookies.remove(name);
                    } else {
                        self.cookies.insert(name.to_string(), value.to_string());
                    }
                }
            }
        }
        let bytes = resp.body_mut().with_config().limit(32 << 20).read_to_vec().unwrap_or_default();
        Page {
            status: resp.status().as_u16(),
            headers,
            text: String::from_utf8_lossy(&bytes).into_owned(),
            bytes,
        }
    }

    pub fn get(&mut self, path: &str) -> Page {
        self.request("GET", path, None)
    }

    pub fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        self.request("POST", path, Some(form))
    }

    pub fn sign_in(&mut self, email: &str, password: &str) -> Page {
        let form = self.get("/dashboard/login");
        assert_eq!(form.status, 200, "{}", form.text);
        let csrf = form.csrf();
        self.post(
            "/dashboard/login",
            &[("email", email), ("password", password), ("csrf", &csrf), ("next", "")],
        )
    }
}

#[test]
fn a_reviewer_signs_in_and_reads_the_cases_of_their_tenant_only() {
    let app = TestApp::new();
    let key = app.key("acme");
    user_of(&app, &key, "ana@acme.example", "reviewer");
    let (ver, check) = two_cases(&app, &key);
    let ver_id = ver.trim_start_matches("ver_").to_string();

    let mut web = Web::new(&app);
    let out = web.get("/dashboard/cases?outcome=clear");
    assert_eq!(out.status, 303);
    assert_eq!(out.header("location"), Some("/dashboard/login?next=/dashboard/cases%3Foutcome%3Dclear"));
    // The login form's CSRF token must come back with it.
    let login = web.get("/dashboard/login");
    let no_token = web.post("/dashboard/login", &[("email", "ana@acme.example"), ("password", PASSWORD)]);
    assert_eq!(no_token.status, 403, "{}", no_token.text);
    assert!(no_token.text.contains("csrf_failed"));
    let wrong = web.post(
        "/dashboard/login",
        &[("email", "ana@acme.example"), ("password", "not the password"), ("csrf", &login.csrf())],
    );
    assert_eq!(wrong.status, 401);
    assert!(wrong.text.contains("Wrong email or password."));
    let unknown = web.sign_in("nobody@acme.example", PASSWORD);
    assert_eq!(unknown.status, 401);
    assert!(unknown.text.contains("Wrong email or password."), "the same answer for an unknown email");

    let ok = web.sign_in("ANA@acme.example", PASSWORD);
    assert_eq!((ok.status, ok.header("location")), (303, Some("/dashboard/cases")), "{}", ok.text);
    let cookie = ok
        .headers
        .iter()
        .find(|(k, v)| k == "set-cookie" && v.starts_with("verity_session="))
        .expect("cookie");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/dashboard", "Max-Age=43200"] {
        assert!(cookie.1.contains(attr), "{attr} in {}", cookie.1);
    }
    assert!(!cookie.1.contains("Secure"), "plain HTTP here: {}", cookie.1);

    let list = web.get("/dashboard/cases");
    assert_eq!(list.status, 200);
    assert!(list.text.contains(&ver) && list.text.contains(&check), "{}", list.text);
    assert!(list.text.contains("2 cases"));
    assert_eq!(list.header("cache-control"), Some("no-store, private"));
    assert!(list.header("content-security-policy").is_some_and(|c| c.contains("frame-ancestors 'none'")));
    assert!(!list.text.contains("<script"), "no script: the pages read without JavaScript");
    let mut only = |q: &str| -> (bool, bool) {
        let p = web.get(&format!("/dashboard/cases?{q}"));
        assert_eq!(p.status, 200, "{q}: {}", p.text);
        (p.text.contains(&ver), p.text.contains(&check))
    };
    assert_eq!(only("outcome=clear"), (true, true));
    assert_eq!(only("outcome=rejected"), (false, false));
    assert_eq!(only("type=identity_check"), (false, true));
    assert_eq!(only("type=one-call"), (true, false));
    assert_eq!(only("type=hosted"), (false, false));
    assert_eq!(only("risk=low"), (true, false));
    assert_eq!(only("subject=u-42"), (true, false), "metadata.user_id");
    assert_eq!(only("from=2000-01-01&to=2000-12-31"), (false, false));
    let glance = web.get("/dashboard/overview");
    assert_eq!(glance.status, 200);
    assert!(
        glance.text.contains("2 cases, 2 decided") && glance.text.contains("Clear: 2 (100%)"),
        "{}",
        glance.text
    );
    assert_eq!(web.get("/dashboard/cases?outcome=maybe").status, 400);
    assert_eq!(web.get("/dashboard/cases?from=yesterday").status, 400);

    let page = web.get(&format!("/dashboard/cases/verification/{ver_id}"));
    assert_eq!(page.status, 200, "{}", page.text);
    for part in [
        "Risk score",
        "Face similarity",
        "Extracted data",
        "Machine-readable zone",
        "files/document_front",
        "files/selfie",
    ] {
        assert!(page.text.contains(part), "{part}");
    }
    let img = web.get(&format!("/dashboard/cases/verification/{ver_id}/files/selfie"));
    assert_eq!((img.status, img.header("content-type")), (200, Some("image/jpeg")));
    assert_eq!(img.header("cache-control"), Some("no-store, private"));
    assert_eq!(&img.bytes[..2], &[0xff, 0xd8]);
    let page = web.get(&format!("/dashboard/cases/check/{check}"));
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(
        page.text.contains("Facial similarity score") && page.text.contains("passive_pad"),
        "{}",
        page.text
    );
    assert_eq!(web.get(&format!("/dashboard/cases/check/{check}/files/document_front")).status, 200);
    assert_eq!(web.get(&format!("/dashboard/cases/check/{check}/files/nothing")).status, 404);
    assert_eq!(web.get("/dashboard/cases/client/0123456789abcdef01234567").status, 404);

    // Another tenant's reviewer: none of it, even by URL.
    let other = app.key("globex");
    user_of(&app, &other, "bo@globex.example", "admin");
    let mut bo = Web::new(&app);
    assert_eq!(bo.sign_in("bo@globex.example", PASSWORD).status, 303);
    let theirs = bo.get("/dashboard/cases");
    assert!(theirs.text.contains("0 cases") && !theirs.text.contains(&ver), "{}", theirs.text);
    for path in [
        format!("/dashboard/cases/verification/{ver_id}"),
        format!("/dashboard/cases/verification/{ver}"),
        format!("/dashboard/cases/verification/{ver_id}/files/selfie"),
        format!("/dashboard/cases/check/{check}"),
        format!("/dashboard/cases/check/{check}/files/selfie"),
    ] {
        assert_eq!(bo.get(&path).status, 404, "{path}");
    }

    // Signing out needs the session's CSRF token; then the session is gone.
    let csrf = web.get("/dashboard/cases").csrf();
    assert_eq!(web.post("/dashboard/logout", &[]).status, 403);
    assert_eq!(web.post("/dashboard/logout", &[("csrf", &csrf)]).status, 303);
    assert_eq!(web.get("/dashboard/cases").status, 303);
}

#[test]
fn wrong_passwords_lock_a_user_and_an_address_is_rate_limited() {
    let app = TestApp::with_config(|c| {
        c.dashboard.lock_after = 3;
        c.dashboard.login_attempts_per_minute = 6;
    });
    let key = app.key("acme");
    user_of(&app, &key, "ana@acme.example", "viewer");
    let mut web = Web::new(&app);
    for _ in 0..3 {
        assert_eq!(web.sign_in("ana@acme.example", "guess guess guess").status, 401);
    }
    let locked = web.sign_in("ana@acme.example", PASSWORD);
    assert_eq!(locked.status, 429, "locked even with the right password");
    assert!(locked.text.contains("locked"), "{}", locked.text);
    for _ in 0..2 {
        web.sign_in("someone@acme.example", "guess guess guess");
    }
    let limited = web.sign_in("someone@acme.example", "guess guess guess");
    assert_eq!(limited.status, 429);
    assert!(limited.text.contains("rate_limited") && limited.header("retry-after").is_some());
}

#[test]
fn idle_sessions_and_disabled_users_are_signed_out() {
    let app = TestApp::new();
    let key = app.key("acme");
    let tenant = user_of(&app, &key, "ana@acme.example", "admin");
    let store = app.state.store.clone();
    let user = app.rt.block_on(store.user_by_email("ana@acme.example")).expect("q").expect("user");
    let now = verity_store::time::now_ms();
    let token = "ab".repeat(32);
    let session = |last_seen| verity_store::Session {
        id_hash: verity_server::ids::key_hash(&token),
        user_id: user.id.clone(),
        tenant_id: tenant.clone(),
        csrf: "c".repeat(64),
        created_at: now - 3_600_000,
        last_seen_at: last_seen,
        expires_at: now + 3_600_000,
    };
    let mut web = Web::new(&app);
    web.cookies.insert("verity_session".into(), token.clone());
    app.rt.block_on(store.create_session(&session(now - 31 * 60_000))).expect("session");
    assert_eq!(web.get("/dashboard/cases").status, 303, "idle for 31 minutes");
    assert!(app.rt.block_on(store.session(&verity_server::ids::key_hash(&token))).expect("q").is_none());
    app.rt.block_on(store.create_session(&session(now - 60_000))).expect("session");
    assert_eq!(web.get("/dashboard/cases").status, 200);
    app.rt.block_on(store.set_user_disabled(&user.id, Some(now))).expect("disable");
    assert_eq!(web.get("/dashboard/cases").status, 303, "disabled");
}

//! The defects a hostile probe found, each as a class: lost concurrent updates, webhooks to
//! internal addresses, slow and half-open clients, one tenant stalling another, early answers
//! that break keep-alive clients, trailing slashes, evidence changing after a check, and a
//! table of bad input over every endpoint family (status, stable code, no internal text).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use super::*;

fn addr(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_string()
}

/// Reads one HTTP answer: its head, then as many body bytes as its Content-Length says.
fn read_answer(s: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(1) => buf.push(byte[0]),
            _ => return String::from_utf8_lossy(&buf).into_owned(),
        }
    }
    let head = String::from_utf8_lossy(&buf).to_ascii_lowercase();
    let len = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap_or(0)))
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    let _ = s.read_exact(&mut body);
    buf.extend_from_slice(&body);
    String::from_utf8_lossy(&buf).into_owned()
}

/// Sends raw bytes on a new connection and reads until the server closes it or `wait` passes.
fn raw_exchange(app: &TestApp, request: &[u8], wait: Duration) -> String {
    let mut s = TcpStream::connect(addr(app)).expect("connect");
    s.set_read_timeout(Some(wait)).expect("timeout");
    s.write_all(request).expect("write");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn paths_with_a_trailing_slash_are_served_like_without() {
    let app = TestApp::new();
    let key = app.key("acme");
    let c = app.post(
        "/v1/clients/",
        &key,
        json!({"type": "person", "email": "a@b.co", "personDetails": {"firstName": "A", "lastName": "B"}}),
    );
    assert_eq!(c.status, 201, "{}", c.body);
    let id = c.body["id"].as_str().expect("id");
    assert_eq!(app.get(&format!("/v1/checks/?clientId={id}"), &key).status, 200);
    assert_eq!(app.get(&format!("/v1/clients/{id}/"), &key).body["id"], id);
    assert_eq!(app.get("/v1/clients/?pageSize=1", &key).body["pageSize"], 1);
}

/// Three writers per client change different fields at once, on many clients: every change is
/// there at the end (read-modify-write is compare-and-swap with retries).
#[test]
fn concurrent_updates_of_different_fields_are_all_kept() {
    let app = TestApp::new();
    let key = app.key("acme");
    let clients: Vec<String> = (0..8).map(|i| app.client(&key, &format!("C{i}"))).collect();
    std::thread::scope(|scope| {
        for id in &clients {
            for (field, value) in [("mobile", "+441111"), ("telephone", "+442222"), ("externalId", "ext-3")] {
                let (app, key) = (&app, &key);
                scope.spawn(move || {
                    let r = app.post(&format!("/v1/clients/{id}"), key, json!({ field: value }));
                    assert_eq!(r.status, 200, "{}", r.body);
                });
            }
            let (app, key) = (&app, &key);
            scope.spawn(move || {
                let r = app.post(
                    &format!("/v1/clients/{id}"),
                    key,
                    json!({"personDetails": {"gender": "female"}}),
                );
                assert_eq!(r.status, 200, "{}", r.body);
            });
        }
    });
    for id in &clients {
        let c = app.get(&format!("/v1/clients/{id}"), &key).body;
        assert_eq!(
            (&c["mobile"], &c["telephone"], &c["externalId"], &c["personDetails"]["gender"]),
            (&json!("+441111"), &json!("+442222"), &json!("ext-3"), &json!("female")),
            "a concurrent change was lost: {c}"
        );
        assert_eq!(c["personDetails"]["lastName"], "Doe");
    }
}

#[test]
fn webhooks_to_internal_addresses_are_refused_and_delivery_errors_are_generic() {
    let strict = TestApp::with_config(|c| c.webhooks.allow_addresses.clear());
    let key = strict.key("acme");
    for url in [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://0.0.0.0/",
        "http://2130706433/",
        "http://0x7f.0.0.1/",
        "http://017700000001/",
        "http://10.0.0.1/",
        "http://172.16.5.4/",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "http://[fd00::1]/",
        "http://metadata/",
    ] {
        let r = strict.post("/v1/webhooks", &key, json!({"url": url, "events": ["*"]}));
        error_shape(&r, 422, "url_not_allowed");
    }
    error_shape(
        &strict.post("/v1/webhooks", &key, json!({"url": "gopher://x.example/", "events": ["*"]})),
        422,
        "field_invalid",
    );

    // Allowed by the operator (the test config allows 127.0.0.1): a closed port is logged as a
    // generic failure, not the network stack's words.
    let app = TestApp::new();
    let key = app.key("acme");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let hook =
        app.post("/v1/webhooks", &key, json!({"url": format!("http://127.0.0.1:{port}/"), "events": ["*"]}));
    assert_eq!(hook.status, 201, "{}", hook.body);
    let id = hook.body["id"].as_str().expect("id").to_string();
    error_shape(
        &app.post(&format!("/v1/webhooks/{id}"), &key, json!({"url": "http://127.0.0.2/"})),
        422,
        "url_not_allowed",
    );
    app.client(&key, "Event");
    app.run_jobs();
    let d = app.get(&format!("/v1/webhooks/{id}/deliveries"), &key).body;
    let err = d["items"][0]["error"].as_str().unwrap_or_default().to_string();
    assert_eq!(err, "could not connect", "{d}");
}

#[test]
fn a_tenant_may_register_only_so_many_webhooks() {
    let app = TestApp::with_config(|c| c.webhooks.max_per_tenant = 2);
    let (key, other) = (app.key("acme"), app.key("other"));
    for _ in 0..2 {
        assert_eq!(
            app.post("/v1/webhooks", &key, json!({"url": "http://127.0.0.1:9/", "events": ["*"]})).status,
            201
        );
    }
    error_shape(
        &app.post("/v1/webhooks", &key, json!({"url": "http://127.0.0.1:9/", "events": ["*"]})),
        422,
        "webhook_limit_reached",
    );
    assert_eq!(
        app.post("/v1/webhooks", &other, json!({"url": "http://127.0.0.1:9/", "events": ["*"]})).status,
        201
    );
}

/// An answer given before the body was read (401 at the upload gate, 404, 405) lets the client
/// finish sending (the rest is read and discarded), then closes the connection and says so; a
/// body over twice the limit (413) is not waited for.
#[test]
fn early_answers_read_the_rest_of_the_body_then_close_the_connection() {
    let app = TestApp::new();
    let key = app.key("acme");
    // Each is answered before the body is read: 401 (upload gate), 404, 405, 413.
    for (method, path, auth, len) in [
        ("POST", "/v1/livePhotos", "vk_wrong", 3_000_000usize),
        ("POST", "/v1/nowhere", key.as_str(), 3_000_000),
        ("PUT", "/v1/clients", key.as_str(), 3_000_000),
        ("POST", "/v1/clients", key.as_str(), 20_000_000),
    ] {
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: t\r\nAuthorization: {auth}\r\nContent-Type: application/json\r\nContent-Length: {len}\r\n\r\n"
        )
        .into_bytes();
        req.extend_from_slice(&[b'x'; 1000]);
        let mut conn = TcpStream::connect(addr(&app)).expect("connect");
        conn.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
        conn.write_all(&req).expect("write");
        let out = read_answer(&mut conn);
        let head = out.split("\r\n\r\n").next().unwrap_or_default().to_ascii_lowercase();
        assert!(head.starts_with("http/1.1 4"), "{method} {path}: {head}");
        assert!(head.contains("connection: close"), "{method} {path}: {head}");
        if len < 10_000_000 {
            // The rest of the body is read and discarded: the client can finish sending.
            conn.write_all(&vec![b'x'; len - 1000]).expect("the server reads what is left");
        }
    }
    // A request without a body keeps the connection.
    let out = raw_exchange(
        &app,
        format!("GET /v1/clients/nope HTTP/1.1\r\nHost: t\r\nAuthorization: {key}\r\n\r\n").as_bytes(),
        Duration::from_millis(500),
    );
    assert!(
        out.starts_with("HTTP/1.1 404") && !out.to_ascii_lowercase().contains("connection: close"),
        "{out}"
    );
}

/// A connection that never finishes its request head is closed; the server keeps serving.
#[test]
fn half_open_connections_are_closed_and_the_connection_cap_holds() {
    let app = TestApp::with_config(|c| {
        c.limits.header_read_timeout_secs = 1;
        c.limits.max_connections = 4;
    });
    let key = app.key("acme");
    // Four silent connections fill the cap; the header timeout closes them.
    let idle: Vec<TcpStream> = (0..4)
        .map(|_| {
            let s = TcpStream::connect(addr(&app)).expect("connect");
            s.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
            s
        })
        .collect();
    // A fifth client is served once a slot frees (it waits, it is not refused).
    assert_eq!(app.get("/v1/clients", &key).status, 200);
    for mut s in idle {
        let mut buf = [0u8; 64];
        // Closed by the server: end of stream (or a reset), never an answer.
        match s.read(&mut buf) {
            Ok(0) | Err(_) => {}
            Ok(n) => panic!("an idle connection got {n} bytes: {:?}", &buf[..n]),
        }
    }
    // Half a request head, then silence: closed without an answer.
    let out = raw_exchange(&app, b"GET /healthz HTTP/1.1\r\nHost: t\r\n", Duration::from_secs(30));
    assert!(!out.contains("200 OK"), "{out}");
}

/// Tenant A's uploads trickle in and hold A's upload slot; tenant B's upload is not stuck
/// behind them. A body slower than the minimum rate is cut off with 408 body_too_slow.
#[test]
fn a_slow_tenant_cannot_stall_another_and_slow_bodies_are_cut_off() {
    let app = TestApp::with_config(|c| {
        c.limits.concurrent_uploads = 2;
        c.limits.concurrent_uploads_per_tenant = 1;
        c.limits.min_upload_bytes_per_sec = 64 * 1024;
    });
    let (a, b) = (app.key("slow"), app.key("fast"));
    let client_a = app.client(&a, "Slow");
    let client_b = app.client(&b, "Fast");
    let photo = selfie("Abdullah_Gul_0006");
    let body_a = json!({"clientId": client_a, "data": b64(&photo)}).to_string();
    // Two trickling uploads from A (one holds A's slot, one waits for it).
    let trickles: Vec<TcpStream> = (0..2)
        .map(|_| {
            let mut s = TcpStream::connect(addr(&app)).expect("connect");
            s.set_read_timeout(Some(Duration::from_secs(60))).expect("timeout");
            let head = format!(
                "POST /v1/livePhotos HTTP/1.1\r\nHost: t\r\nAuthorization: {a}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body_a.len()
            );
            s.write_all(head.as_bytes()).expect("head");
            s.write_all(&body_a.as_bytes()[..100]).expect("start");
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    // B is served while A's uploads are still open.
    let r = app.post("/v1/livePhotos", &b, json!({"clientId": client_b, "data": b64(&photo)}));
    assert_eq!(r.status, 201, "{}", r.body);
    // A's trickle falls below the minimum rate after the grace period: 408 body_too_slow.
    let mut first = trickles.into_iter().next().expect("one");
    let out = read_answer(&mut first);
    assert!(out.starts_with("HTTP/1.1 408"), "{out}");
    assert!(out.contains("body_too_slow"), "{out}");
}

#[test]
fn evidence_used_by_a_check_cannot_change() {
    let app = TestApp::new();
    let key = app.key("acme");
    let client = app.client(&key, "Gul");
    let (check_id, photo, doc) = gul_identity_check(&app, &key, &client);
    // Before and after the check ran, the document's sides, type and country are fixed.
    for _ in 0..2 {
        error_shape(&app.delete(&format!("/v1/documents/{doc}/front"), &key), 422, "document_in_use");
        error_shape(
            &app.post(
                &format!("/v1/documents/{doc}/upload/front"),
                &key,
                json!({"fileName": "f.jpg", "data": b64(&document("Abdullah_Gul_0006"))}),
            ),
            422,
            "document_in_use",
        );
        error_shape(
            &app.post(&format!("/v1/documents/{doc}"), &key, json!({"type": "visa"})),
            422,
            "document_in_use",
        );
        error_shape(
            &app.post(&format!("/v1/documents/{doc}"), &key, json!({"issuingCountry": "FR"})),
            422,
            "document_in_use",
        );
        error_shape(&app.delete(&format!("/v1/documents/{doc}"), &key), 422, "document_in_use");
        error_shape(&app.delete(&format!("/v1/livePhotos/{photo}"), &key), 422, "live_photo_in_use");
        app.run_jobs();
    }
    // What does not change the evidence is still allowed.
    let ok = app.post(
        &format!("/v1/documents/{doc}"),
        &key,
        json!({"classification": "proof_of_identity", "type": "passport"}),
    );
    assert_eq!(ok.status, 200, "{}", ok.body);
    // Redaction erases the files and keeps the record and the check's result.
    let red = app.post(&format!("/v1/documents/{doc}/redact"), &key, json!({}));
    assert_eq!(
        (red.status, &red.body["redacted"], &red.body["images"]),
        (200, &json!(true), &json!([])),
        "{}",
        red.body
    );
    error_shape(&app.get(&format!("/v1/documents/{doc}/download/front"), &key), 404, "not_found");
    let check = app.get(&format!("/v1/checks/{check_id}"), &key).body;
    assert_eq!(check["status"], "complete", "{check}");
    error_shape(
        &app.post("/v1/documents/000000000000000000000000/redact", &key, json!({})),
        404,
        "not_found",
    );
}

#[test]
fn checks_refuse_company_clients_loose_options_and_non_boolean_monitoring() {
    let app = TestApp::new();
    let key = app.key("acme");
    let person = app.client(&key, "Gul");
    let photo = upload_photo(&app, &key, &person, &selfie("Abdullah_Gul_0006"));
    let doc = upload_document(&app, &key, &person, &document("Abdullah_Gul_0001"));
    let company = app.post(
        "/v1/clients",
        &key,
        json!({"type": "company", "email": "a@acme.co", "companyDetails": {"name": "Acme"}}),
    );
    let company = company.body["id"].as_str().expect("id").to_string();
    for t in ["identity_check", "document_check"] {
        let r = app.post(
            "/v1/checks",
            &key,
            json!({"clientId": company, "type": t, "documentId": doc, "livePhotoId": photo}),
        );
        error_shape(&r, 422, "client_not_person");
    }
    let base = json!({"clientId": person, "type": "document_check", "documentId": doc});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    error_shape(&app.post("/v1/checks", &key, with("enableMonitoring", json!("yes"))), 422, "field_type");
    error_shape(
        &app.post("/v1/checks", &key, with("options", json!({"noSuchOption": 1}))),
        422,
        "field_unknown",
    );
    let ok = app.post("/v1/checks", &key, with("enableMonitoring", json!(true)));
    assert_eq!((ok.status, &ok.body["enableMonitoring"]), (201, &json!(true)), "{}", ok.body);
    let id = ok.body["id"].as_str().expect("id").to_string();
    app.run_jobs();
    for outcome in ["confirmed", "rejected", "attention", "clear"] {
        let v = app.post(&format!("/v1/checks/{id}/validate"), &key, json!({"outcome": outcome}));
        assert_eq!((v.status, &v.body["outcome"]), (200, &json!(outcome)), "{}", v.body);
    }
    error_shape(
        &app.post(&format!("/v1/checks/{id}/validate"), &key, json!({"outcome": "maybe"})),
        422,
        "field_invalid",
    );
}

#[test]
fn webhooks_take_every_event_with_a_star_and_the_documented_types() {
    let app = TestApp::new();
    let key = app.key("acme");
    let got = Arc::new(Mutex::new(Vec::<Value>::new()));
    let receiver = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = receiver.local_addr().expect("addr").port();
    let sink = got.clone();
    std::thread::spawn(move || {
        for conn in receiver.incoming().flatten() {
            let mut r = BufReader::new(conn);
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; len];
            let _ = r.read_exact(&mut body);
            let _ =
                r.get_mut().write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            sink.lock().expect("lock").push(serde_json::from_slice(&body).unwrap_or(Value::Null));
        }
    });
    let all =
        app.post("/v1/webhooks", &key, json!({"url": format!("http://127.0.0.1:{port}/"), "events": ["*"]}));
    assert_eq!(all.status, 201, "{}", all.body);
    let documented = app.post(
        "/v1/webhooks",
        &key,
        json!({"url": format!("http://127.0.0.1:{port}/"), "events": ["check.updated", "check.monitoring.attention", "check.completed.match_confirmed"]}),
    );
    assert_eq!(documented.status, 201, "{}", documented.body);
    let client = app.client(&key, "Star");
    app.post(&format!("/v1/clients/{client}"), &key, json!({"mobile": "1"}));
    app.run_jobs();
    let types: Vec<String> =
        got.lock().expect("lock").iter().filter_map(|e| e["type"].as_str().map(str::to_string)).collect();
    assert!(
        types.contains(&"client.created".into()) && types.contains(&"client.updated".into()),
        "{types:?}"
    );
}

#[test]
fn metrics_answer_loopback_or_a_token_only() {
    let open = TestApp::new();
    assert_eq!(open.call("GET", "/metrics", None, None).status, 200, "loopback is allowed without a token");
    let forwarded = raw_exchange(
        &open,
        b"GET /metrics HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 203.0.113.7\r\nConnection: close\r\n\r\n",
        Duration::from_secs(10),
    );
    assert!(forwarded.starts_with("HTTP/1.1 404"), "a proxied request is not local: {forwarded}");
    let locked = TestApp::with_config(|c| c.metrics.token = verity_server::config::Secret("s3cret".into()));
    assert_eq!(locked.call("GET", "/metrics", None, None).status, 404);
    assert_eq!(locked.call("GET", "/metrics", Some("Bearer wrong"), None).status, 404);
    assert_eq!(locked.call("GET", "/metrics", Some("Bearer s3cret"), None).status, 200);
}

#[test]
fn repeated_failed_authentication_from_one_address_is_slowed() {
    let app = TestApp::with_config(|c| c.limits.failed_auth_per_minute = 5);
    let key = app.key("acme");
    assert_eq!(app.get("/v1/clients", &key).status, 200);
    let codes: Vec<u16> = (0..8).map(|i| app.get("/v1/clients", &format!("vk_bad{i}")).status).collect();
    assert_eq!(&codes[..5], &[401; 5], "{codes:?}");
    assert!(codes[5..].iter().all(|c| *c == 429), "{codes:?}");
    // A valid key keeps working from the same address: from the cache for 5 s, then because it
    // was valid in the last 10 minutes. A key never seen waits out the address's penalty.
    assert_eq!(app.get("/v1/clients", &key).status, 200);
    std::thread::sleep(Duration::from_millis(5200));
    assert_eq!(app.get("/v1/clients", &key).status, 200);
    assert_eq!(app.get("/v1/clients", &app.key("new")).status, 429);
}

/// One client address may hold only so many connections: its next one is closed at once,
/// while the server keeps serving (here the same address, once its idle ones are gone).
#[test]
fn one_address_cannot_take_every_connection() {
    let app = TestApp::with_config(|c| c.limits.max_connections_per_address = 3);
    let key = app.key("acme");
    let idle: Vec<TcpStream> = (0..3).map(|_| TcpStream::connect(addr(&app)).expect("connect")).collect();
    std::thread::sleep(Duration::from_millis(200));
    let out = raw_exchange(&app, b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n", Duration::from_secs(30));
    assert_eq!(out, "", "a fourth connection from the address is closed unanswered");
    drop(idle);
    let mut served = false;
    for _ in 0..50 {
        std::thread::sleep(Duration::from_millis(100));
        if raw_exchange(
            &app,
            b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
            Duration::from_secs(30),
        )
        .starts_with("HTTP/1.1 200")
        {
            served = true;
            break;
        }
    }
    assert!(served, "the address is served again once its connections closed");
    assert_eq!(app.get("/v1/clients", &key).status, 200);
}

/// A client stuck in the middle of a request does not hold a shutdown hostage: once the grace
/// period is over, `launch` returns.
#[test]
fn shutdown_ends_after_its_grace_period_despite_a_stuck_client() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut config = Config { data_dir: dir.path().to_path_buf(), ..Config::default() };
    config.workers.count = 0;
    config.limits.shutdown_grace_secs = 1;
    config.limits.request_timeout_secs = 600;
    config.limits.header_read_timeout_secs = 600;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("rt");
    let state = rt.block_on(test_state(config));
    let key = rt.block_on(make_key(&*state.store, "t"));
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind");
    let at = listener.local_addr().expect("addr");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    rt.spawn(async move {
        let r = verity_server::launch(listener, state, async move {
            let _ = stop_rx.await;
        })
        .await;
        let _ = done_tx.send(r.is_ok());
    });
    // A request whose body never finishes.
    let mut stuck = TcpStream::connect(at).expect("connect");
    stuck
        .write_all(
            format!("POST /v1/clients HTTP/1.1\r\nHost: t\r\nAuthorization: {key}\r\nContent-Length: 1000\r\n\r\n{{")
                .as_bytes(),
        )
        .expect("write");
    std::thread::sleep(Duration::from_millis(200));
    let _ = stop_tx.send(());
    // A hang guard, not a speed test: without the grace deadline this waits for the stuck client.
    let ended = done_rx.recv_timeout(Duration::from_secs(120));
    assert_eq!(ended, Ok(true), "launch did not return after the grace period");
    drop(stuck);
}

/// Behind a trusted reverse proxy, connections are not capped per address and failed
/// authentications count against the client the proxy names, not against the proxy.
#[test]
fn clients_behind_a_trusted_proxy_are_told_apart() {
    let app = TestApp::with_config(|c| {
        c.limits.trusted_proxies = vec!["127.0.0.1/32".into()];
        c.limits.max_connections_per_address = 2;
        c.limits.failed_auth_per_minute = 3;
    });
    let idle: Vec<TcpStream> = (0..4).map(|_| TcpStream::connect(addr(&app)).expect("connect")).collect();
    let out = raw_exchange(
        &app,
        b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        Duration::from_secs(30),
    );
    assert!(out.starts_with("HTTP/1.1 200"), "the proxy's connections are not capped: {out}");
    drop(idle);
    let bad = |client: &str| {
        let req = format!(
            "GET /v1/clients HTTP/1.1\r\nHost: t\r\nAuthorization: vk_bad\r\nX-Forwarded-For: {client}\r\nConnection: close\r\n\r\n"
        );
        raw_exchange(&app, req.as_bytes(), Duration::from_secs(30))[9..12].to_string()
    };
    let first: Vec<String> = (0..5).map(|_| bad("203.0.113.5")).collect();
    assert_eq!(first, ["401", "401", "401", "429", "429"], "one client's failures");
    assert_eq!(bad("203.0.113.6"), "401", "another client behind the same proxy is not penalised");
}

//! Webhook deliveries: signed, retried with back-off, logged, and a failing endpoint disabled.

use super::*;

#[test]
fn webhooks_are_signed_retried_logged_and_disabled() {
    let app = TestApp::new();
    let key = app.key("acme");
    let (url, got) = receiver(vec![500, 503]);
    let h =
        app.post("/v1/webhooks", &key, json!({"url": url, "enabled": true, "events": ["client.created"]}));
    assert_eq!(h.status, 201, "{}", h.body);
    let secret = h.body["secret"].as_str().expect("secret shown on create").to_string();
    let hook = h.body["id"].as_str().expect("id").to_string();
    assert!(
        app.get(&format!("/v1/webhooks/{hook}"), &key).body.get("secret").is_none(),
        "secret shown only once"
    );
    error_shape(
        &app.post("/v1/webhooks", &key, json!({"url": "ftp://x", "events": ["client.created"]})),
        422,
        "field_invalid",
    );
    error_shape(
        &app.post("/v1/webhooks", &key, json!({"url": "http://x", "events": ["client.exploded"]})),
        422,
        "field_invalid",
    );

    let client = app.client(&key, "Ann");
    // Attempt 1 → 500, attempt 2 → 503, attempt 3 → 200 (back-off is 1 ms in tests).
    for _ in 0..50 {
        app.run_jobs();
        if got.lock().expect("lock").len() >= 3 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let reqs = got.lock().expect("lock").clone();
    assert_eq!(reqs.len(), 3, "delivered on the third attempt");
    assert!(reqs.windows(2).all(|w| w[0] == w[1]), "every attempt sends the same bytes and signature");
    let (body, sig) = &reqs[0];
    assert_eq!(sig, &verity_server::events::sign(&secret, body), "hex HMAC-SHA256 of the raw body");
    let ev: Value = serde_json::from_slice(body).expect("json");
    assert_eq!((ev["type"].as_str(), ev["resourceType"].as_str()), (Some("client.created"), Some("client")));
    assert_eq!(ev["payload"]["id"], client.as_str());
    assert!(ev["id"].is_string() && ev["createdAt"].is_string());
    let log = app.get(&format!("/v1/webhooks/{hook}/deliveries"), &key).body;
    let codes: Vec<i64> =
        log["items"].as_array().expect("items").iter().filter_map(|d| d["statusCode"].as_i64()).collect();
    assert_eq!(codes, vec![200, 503, 500], "newest first");

    // An endpoint that always fails is disabled after max_attempts (3 here).
    let (bad_url, bad_got) = receiver(vec![500; 100]);
    let bad = app.post("/v1/webhooks", &key, json!({"url": bad_url, "events": ["client.updated"]}));
    let bad = bad.body["id"].as_str().expect("id").to_string();
    app.post(&format!("/v1/clients/{client}"), &key, json!({"mobile": "123"}));
    for _ in 0..50 {
        app.run_jobs();
        if bad_got.lock().expect("lock").len() >= 3 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    app.run_jobs();
    assert_eq!(bad_got.lock().expect("lock").len(), 3);
    let w = app.get(&format!("/v1/webhooks/{bad}"), &key).body;
    assert_eq!(w["enabled"], false, "{w}");
    assert!(w["disabledReason"].as_str().unwrap_or("").contains("3 failed"), "{w}");
    // Re-enabling clears the reason.
    let re = app.post(&format!("/v1/webhooks/{bad}"), &key, json!({"enabled": true}));
    assert_eq!((re.body["enabled"].as_bool(), re.body.get("disabledReason")), (Some(true), None));
    assert_eq!(app.delete(&format!("/v1/webhooks/{bad}"), &key).status, 204);
}

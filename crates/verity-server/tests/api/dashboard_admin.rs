//! The dashboard's webhooks: endpoints disabled after failures shown as such, each delivery's
//! status, latency, attempt and next retry, and redelivery (dashboard and API) of a webhook's
//! and of a verification's deliveries.

use super::dashboard::{user_of, Web, PASSWORD};
use super::verify::{passport, valid_for_an_adult};
use super::*;

fn settle(app: &TestApp) {
    for _ in 0..20 {
        app.run_jobs();
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn deliveries_are_shown_and_sent_again() {
    let app = TestApp::new();
    let key = app.key("acme");
    user_of(&app, &key, "root@acme.example", "admin");
    user_of(&app, &key, "ana@acme.example", "reviewer");
    // Three failures (the tests' webhooks.max_attempts) disable the webhook.
    let (url, got) = receiver(vec![500, 500, 500]);
    let w =
        app.post("/v1/webhooks", &key, json!({"url": url, "enabled": true, "events": ["client.created"]}));
    let hook = w.body["id"].as_str().expect("id").to_string();
    app.client(&key, "Ada");
    settle(&app);
    assert_eq!(got.lock().expect("lock").len(), 3);
    let ds = app.get(&format!("/v1/webhooks/{hook}/deliveries"), &key).body;
    let items = ds["items"].as_array().expect("items").clone();
    assert_eq!(items.len(), 3, "{ds:#}");
    assert!(items.iter().all(|d| d["statusCode"] == 500 && d["latencyMs"].is_i64()), "{ds:#}");
    assert!(items[0]["nextRetryAt"].is_null(), "the last attempt has no next one: {ds:#}");
    assert!(items[1]["nextRetryAt"].is_string(), "{ds:#}");

    let mut root = Web::new(&app);
    assert_eq!(root.sign_in("root@acme.example", PASSWORD).status, 303);
    let list = root.get("/dashboard/webhooks");
    assert!(list.text.contains("disabled after failures") && list.text.contains(&url), "{}", list.text);
    let page = root.get(&format!("/dashboard/webhooks/{hook}"));
    assert_eq!(page.status, 200);
    assert_eq!(page.text.matches("Redeliver</button>").count(), 3, "{}", page.text);
    assert!(page.text.contains("client.created") && page.text.contains(" ms"));
    let first = items[0]["id"].as_str().expect("id");
    let path = format!("/dashboard/webhooks/{hook}/deliveries/{first}/redeliver");
    let csrf = page.csrf();
    let refused = root.post(&path, &[("csrf", &csrf)]);
    assert_eq!(refused.status, 400, "a disabled webhook is not redelivered to");
    assert!(refused.text.contains("enable it"), "{}", refused.text);
    assert_eq!(app.post(&format!("/v1/webhooks/{hook}"), &key, json!({"enabled": true})).status, 200);

    let mut ana = Web::new(&app);
    assert_eq!(ana.sign_in("ana@acme.example", PASSWORD).status, 303);
    let theirs = ana.get(&format!("/dashboard/webhooks/{hook}"));
    assert!(!theirs.text.contains("Redeliver</button>"), "reviewers do not redeliver");
    assert_eq!(ana.post(&path, &[("csrf", &theirs.csrf())]).status, 403);

    let again = root.post(&path, &[("csrf", &csrf)]);
    assert_eq!(
        (again.status, again.header("location")),
        (303, Some(format!("/dashboard/webhooks/{hook}?queued=1#deliveries").as_str()))
    );
    settle(&app);
    let received = got.lock().expect("lock").clone();
    assert_eq!(received.len(), 4);
    assert_eq!(received[3].0, received[0].0, "the same event, byte for byte");
    let api =
        app.call("POST", &format!("/v1/webhooks/{hook}/deliveries/{first}/redeliver"), Some(&key), None);
    assert_eq!((api.status, api.body["queued"].as_bool()), (202, Some(true)), "{}", api.body);
    error_shape(
        &app.call(
            "POST",
            &format!("/v1/webhooks/{hook}/deliveries/0123456789abcdef01234567/redeliver"),
            Some(&key),
            None,
        ),
        404,
        "not_found",
    );
    let other = app.key("globex");
    error_shape(
        &app.call("POST", &format!("/v1/webhooks/{hook}/deliveries/{first}/redeliver"), Some(&other), None),
        404,
        "not_found",
    );

    // A verification's delivery to its webhook_url, on its case page.
    let (vurl, vgot) = receiver(vec![]);
    let (front, country) = passport("Abdullah_Gul_0001", valid_for_an_adult);
    let v = app.post(
        "/v1/identity/verify",
        &key,
        json!({"document_front": b64(&front), "document_type": "passport", "country": country,
               "checks": ["ocr"], "mode": "async", "webhook_url": vurl}),
    );
    let ver = v.body["id"].as_str().expect("id").to_string();
    settle(&app);
    let ds = app.get(&format!("/v1/identity/verify/{ver}/deliveries"), &key).body;
    let d = ds["data"][0]["id"].as_str().expect("delivery").to_string();
    assert!(ds["data"][0]["latency_ms"].is_i64(), "{ds:#}");
    let case = root.get(&format!("/dashboard/cases/verification/{}", ver.trim_start_matches("ver_")));
    assert!(
        case.text.contains("Webhook deliveries") && case.text.contains("identity.verification.completed")
    );
    let back = root.post(
        &format!("/dashboard/cases/verification/{}/deliveries/{d}/redeliver", ver.trim_start_matches("ver_")),
        &[("csrf", &csrf)],
    );
    assert_eq!(back.status, 303, "{}", back.text);
    let api =
        app.call("POST", &format!("/v1/identity/verify/{ver}/deliveries/{d}/redeliver"), Some(&key), None);
    assert_eq!(api.status, 202, "{}", api.body);
    settle(&app);
    let sent = vgot.lock().expect("lock").clone();
    assert_eq!(sent.len(), 3);
    assert!(sent.iter().all(|(b, _)| b == &sent[0].0), "the same event each time");
}

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

#[test]
fn admins_change_the_capture_page_keys_and_team_and_the_audit_log_keeps_it() {
    let app = TestApp::new();
    let key = app.key("acme");
    user_of(&app, &key, "root@acme.example", "admin");
    user_of(&app, &key, "ana@acme.example", "reviewer");
    let mut root = Web::new(&app);
    assert_eq!(root.sign_in("root@acme.example", PASSWORD).status, 303);
    let page = root.get("/dashboard/settings");
    assert_eq!(page.status, 200);
    assert!(page.text.contains("<iframe name=\"preview\""), "{}", page.text);
    let csrf = page.csrf();

    // The preview is the real capture page with the unsaved theme, framable by the dashboard only.
    let p = root.get("/dashboard/settings/preview?title=Acme%20Bank&primary_color=%23aa0000&lang=fr");
    assert_eq!(p.status, 200, "{}", p.text);
    assert!(
        p.text.contains("<title>Acme Bank</title>")
            && p.text.contains("#aa0000")
            && p.text.contains("lang=\"fr\"")
    );
    assert_eq!(p.header("x-frame-options"), Some("SAMEORIGIN"));
    assert!(p
        .header("content-security-policy")
        .is_some_and(|c| c.contains("frame-ancestors 'self'") && c.contains("nonce-")));
    assert_eq!(root.get("/dashboard/settings/preview?primary_color=red").status, 400);
    assert_eq!(
        app.get("/v1/partner/settings", &key).body["theme"]["title"],
        "Identity verification",
        "not saved"
    );

    let save = |w: &mut Web<'_>, retention: &str| {
        w.post(
            "/dashboard/settings/partner",
            &[
                ("csrf", &csrf),
                ("title", "Acme Bank"),
                ("primary_color", "#aa0000"),
                ("background_color", "#ffffff"),
                ("text_color", "#111111"),
                ("intro_text", ""),
                ("webhook_url", ""),
                ("retention_days", retention),
                ("resource_retention_days", ""),
                ("session_ttl_minutes", "30"),
                ("prompts", "3"),
            ],
        )
    };
    assert_eq!(save(&mut root, "0").status, 400, "retention_days must be 1 to 365");
    assert_eq!(save(&mut root, "10").status, 303);
    let st = app.get("/v1/partner/settings", &key).body;
    assert_eq!(
        (st["theme"]["title"].as_str(), st["retention_days"].as_u64(), st["prompts"].as_u64()),
        (Some("Acme Bank"), Some(10), Some(3)),
        "{st:#}"
    );
    let logs = app.get("/v1/auditLogs?trigger=updatePartnerSettings", &key).body;
    assert_eq!(logs["items"][0]["memberEmail"], "root@acme.example", "{logs:#}");

    // Keys: created (shown once), working, revoked.
    let made = root.post("/dashboard/settings/keys", &[("csrf", &csrf), ("name", "ci")]);
    assert_eq!(made.status, 200);
    let at = made.text.find("<code>vk_").expect("the key, once") + 6;
    let new_key = made.text[at..at + 43].to_string();
    assert_eq!(app.get("/v1/clients", &new_key).status, 200, "the new key works");
    assert!(!root.get("/dashboard/settings").text.contains(&new_key), "shown once");
    let keys = app.rt.block_on(app.state.store.list_keys()).expect("keys");
    let id = keys.iter().find(|k| k.name == "ci").expect("ci").id.clone();
    assert_eq!(root.post(&format!("/dashboard/settings/keys/{id}/revoke"), &[("csrf", &csrf)]).status, 303);
    let hash = verity_server::ids::key_hash(&new_key);
    assert!(app.rt.block_on(app.state.store.key_by_hash(&hash)).expect("q").is_none(), "revoked");
    let other = app.key("globex");
    let theirs = app
        .rt
        .block_on(app.state.store.key_by_hash(&verity_server::ids::key_hash(&other)))
        .expect("q")
        .expect("k");
    assert_eq!(
        root.post(&format!("/dashboard/settings/keys/{}/revoke", theirs.id), &[("csrf", &csrf)]).status,
        404
    );
    let logs = app.get("/v1/auditLogs?resourceType=apiKey", &key).body;
    let actions: Vec<_> =
        logs["items"].as_array().expect("items").iter().filter_map(|e| e["trigger"].as_str()).collect();
    assert_eq!(actions, ["revokeApiKey", "createApiKey"], "{logs:#}");

    // The team: a new member with a one-time password; disabled, their session ends.
    let added = root.post(
        "/dashboard/settings/users",
        &[("csrf", &csrf), ("email", "new@acme.example"), ("role", "reviewer")],
    );
    assert_eq!(added.status, 200, "{}", added.text);
    let at = added.text.find("<pre><code>").expect("password") + 11;
    let password = added.text[at..at + 20].to_string();
    let mut new = Web::new(&app);
    assert_eq!(new.sign_in("new@acme.example", &password).status, 303);
    assert_eq!(new.get("/dashboard/cases").status, 200);
    let member = app.rt.block_on(app.state.store.user_by_email("new@acme.example")).expect("q").expect("u");
    assert_eq!(
        root.post(&format!("/dashboard/settings/users/{}/disable", member.id), &[("csrf", &csrf)]).status,
        303
    );
    assert_eq!(new.get("/dashboard/cases").status, 303, "signed out");
    let me = app.rt.block_on(app.state.store.user_by_email("root@acme.example")).expect("q").expect("u");
    assert_eq!(
        root.post(&format!("/dashboard/settings/users/{}/disable", me.id), &[("csrf", &csrf)]).status,
        400
    );

    // A reviewer sees no team and changes nothing.
    let mut ana = Web::new(&app);
    assert_eq!(ana.sign_in("ana@acme.example", PASSWORD).status, 303);
    let theirs = ana.get("/dashboard/settings");
    assert!(!theirs.text.contains("id=\"team\"") && !theirs.text.contains("Create a key"));
    let c = theirs.csrf();
    assert_eq!(ana.post("/dashboard/settings/keys", &[("csrf", &c), ("name", "x")]).status, 403);
    assert_eq!(
        ana.post(
            "/dashboard/settings/users",
            &[("csrf", &c), ("email", "x@acme.example"), ("role", "admin")]
        )
        .status,
        403
    );
}

//! Manual review in the dashboard and the audit log: a reviewer confirms a ComplyCube check (its
//! validation, `check.updated`) and rejects a verification (its status, the review kept,
//! `identity.verification.reviewed` to its webhook); every API and dashboard change is in the
//! audit log with who did it and the diff, served as ComplyCube's `/v1/auditLogs`.

use super::dashboard::{user_of, Web, PASSWORD};
use super::verify::{passport, valid_for_an_adult};
use super::*;

fn events_of(got: &Received) -> Vec<Value> {
    got.lock().expect("lock").iter().filter_map(|(b, _)| serde_json::from_slice(b).ok()).collect()
}

#[test]
fn a_reviewer_decides_cases_and_the_audit_log_says_who_did_what() {
    let app = TestApp::new();
    let key = app.key("acme");
    user_of(&app, &key, "ana@acme.example", "reviewer");
    user_of(&app, &key, "vic@acme.example", "viewer");
    let (hook, complycube_events) = receiver(vec![]);
    let w =
        app.post("/v1/webhooks", &key, json!({"url": hook, "enabled": true, "events": ["check.updated"]}));
    assert_eq!(w.status, 201, "{}", w.body);

    // API changes, audited with the key.
    let client = app.client(&key, "Abdullah");
    let up = app.post(&format!("/v1/clients/{client}"), &key, json!({"email": "abdullah@example.com"}));
    assert_eq!(up.status, 200, "{}", up.body);
    let logs = app.get(&format!("/v1/auditLogs?resourceId={client}"), &key).body;
    let items = logs["items"].as_array().expect("items").clone();
    assert_eq!(items.len(), 2, "{logs:#}");
    let (update, create) = (&items[0], &items[1]);
    assert_eq!(
        (create["action"].as_str(), create["trigger"].as_str()),
        (Some("create"), Some("createClient"))
    );
    assert_eq!(
        (update["action"].as_str(), update["trigger"].as_str()),
        (Some("update"), Some("updateClient"))
    );
    assert!(update["apiKeyId"].is_string() && update["memberId"].is_null(), "{update}");
    assert!(
        update["diff"].as_array().expect("diff").iter().any(|d| d["path"] == json!(["email"])
            && d["old"] == "j@example.com"
            && d["new"] == "abdullah@example.com"),
        "{update:#}"
    );
    let one = app.get(&format!("/v1/auditLogs/{}", update["id"].as_str().expect("id")), &key);
    assert_eq!((one.status, &one.body), (200, update));

    // The verification first: the same face in a ComplyCube check before it would be a duplicate.
    let (vhook, verification_events) = receiver(vec![]);
    let (front, country) = passport("Abdullah_Gul_0001", valid_for_an_adult);
    let v = app.post(
        "/v1/identity/verify",
        &key,
        json!({"document_front": b64(&front), "selfie": b64(&selfie("Abdullah_Gul_0006")), "document_type": "passport",
               "country": country, "mode": "async", "webhook_url": vhook}),
    );
    assert_eq!(v.status, 202, "{}", v.body);
    let ver = v.body["id"].as_str().expect("id").to_string();
    app.run_jobs();
    app.run_jobs();
    assert_eq!(app.get(&format!("/v1/identity/verify/{ver}"), &key).body["status"], "verified");

    let (check, _, _) = gul_identity_check(&app, &key, &client);
    app.run_jobs();

    // A viewer reads but does not decide.
    let mut vic = Web::new(&app);
    assert_eq!(vic.sign_in("vic@acme.example", PASSWORD).status, 303);
    let page = vic.get(&format!("/dashboard/cases/check/{check}"));
    assert!(!page.text.contains("form class=\"review\""), "no form for a viewer");
    let csrf = page.csrf();
    let refused = vic.post(
        &format!("/dashboard/cases/check/{check}/review"),
        &[("csrf", &csrf), ("decision", "confirm"), ("comment", "looks fine")],
    );
    assert_eq!(refused.status, 403, "{}", refused.text);

    let mut ana = Web::new(&app);
    assert_eq!(ana.sign_in("ana@acme.example", PASSWORD).status, 303);
    let page = ana.get(&format!("/dashboard/cases/check/{check}"));
    assert!(page.text.contains("form class=\"review\""));
    let csrf = page.csrf();
    let path = format!("/dashboard/cases/check/{check}/review");
    assert_eq!(ana.post(&path, &[("decision", "confirm"), ("comment", "ok")]).status, 403, "no CSRF token");
    assert_eq!(ana.post(&path, &[("csrf", &csrf), ("decision", "confirm"), ("comment", " ")]).status, 400);
    assert_eq!(ana.post(&path, &[("csrf", &csrf), ("decision", "maybe"), ("comment", "x")]).status, 400);
    let done = ana.post(
        &path,
        &[("csrf", &csrf), ("decision", "confirm"), ("comment", "Same person; passport genuine.")],
    );
    assert_eq!(
        (done.status, done.header("location")),
        (303, Some(format!("/dashboard/cases/check/{check}#review").as_str()))
    );
    let validated = app.get(&format!("/v1/checks/{check}"), &key).body;
    assert_eq!(validated["validation"]["outcome"], "clear", "{validated:#}");
    assert_eq!(validated["validation"]["review"]["comment"], "Same person; passport genuine.");
    assert_eq!(validated["validation"]["review"]["reviewer"]["email"], "ana@acme.example");
    app.run_jobs();
    let sent = events_of(&complycube_events);
    assert!(
        sent.iter().any(|e| e["type"] == "check.updated" && e["payload"]["validation"]["outcome"] == "clear"),
        "{sent:#?}"
    );
    let page = ana.get(&format!("/dashboard/cases/check/{check}"));
    assert!(
        page.text.contains("Same person; passport genuine.") && page.text.contains("validateCheck"),
        "{}",
        page.text
    );

    let ver_id = ver.trim_start_matches("ver_");
    let path = format!("/dashboard/cases/verification/{ver_id}/review");
    let done = ana.post(
        &path,
        &[("csrf", &csrf), ("decision", "reject"), ("comment", "The selfie is a photo of a screen.")],
    );
    assert_eq!(done.status, 303, "{}", done.text);
    let reviewed = app.get(&format!("/v1/identity/verify/{ver}"), &key).body;
    assert_eq!(reviewed["status"], "rejected");
    assert_eq!(reviewed["review"]["previous_status"], "verified");
    assert_eq!(reviewed["review"]["decision"], "reject");
    app.run_jobs();
    let sent = events_of(&verification_events);
    assert_eq!(
        sent.iter().filter_map(|e| e["type"].as_str()).collect::<Vec<_>>(),
        ["identity.verification.completed", "identity.verification.reviewed"]
    );
    assert_eq!(sent[1]["data"]["status"], "rejected");

    // The audit log: the API's and the dashboard's changes, with who made them.
    let logs = app.get(&format!("/v1/auditLogs?resourceId={ver}"), &key).body;
    let review = logs["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|e| e["trigger"] == "reviewVerification")
        .cloned();
    let review = review.unwrap_or_else(|| panic!("{logs:#}"));
    assert_eq!(review["memberEmail"], "ana@acme.example");
    assert!(review["memberId"].is_string() && review["apiKeyId"].is_null());
    assert!(review["diff"]
        .as_array()
        .expect("diff")
        .iter()
        .any(|d| d["path"] == json!(["status"]) && d["old"] == "verified" && d["new"] == "rejected"));
    let audit = ana.get(&format!("/dashboard/audit?resource={ver}"));
    assert_eq!(audit.status, 200);
    assert!(
        audit.text.contains("reviewVerification") && audit.text.contains("ana@acme.example"),
        "{}",
        audit.text
    );
    let all = ana.get("/dashboard/audit");
    assert!(all.text.contains("createClient") && all.text.contains("validateCheck"));

    // Another tenant sees none of it.
    let other = app.key("globex");
    assert_eq!(app.get("/v1/auditLogs", &other).body["totalItems"], 0);
    error_shape(
        &app.get(&format!("/v1/auditLogs/{}", review["id"].as_str().expect("id")), &other),
        404,
        "not_found",
    );
}

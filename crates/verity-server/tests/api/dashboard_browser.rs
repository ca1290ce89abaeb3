//! The dashboard in a real headless Chromium (the hosted flow's WebDriver helpers): sign in,
//! the cases, a verification and a check with their images and score bars, a tablet-sized
//! window, a wrong password. Screenshots go to `target/screenshots/dashboard/`.

use super::browser::Driver;
use super::dashboard::{two_cases, user_of, PASSWORD};
use super::*;

#[test]
fn a_reviewer_reads_cases_in_a_real_browser() {
    let app = TestApp::new();
    let key = app.key("acme");
    user_of(&app, &key, "ana@acme.example", "reviewer");
    user_of(&app, &key, "root@acme.example", "admin");
    let (ver, check) = two_cases(&app, &key);
    // A rejected one too: another person's selfie.
    let (front, country) = super::verify::passport("Abdullah_Gul_0001", super::verify::valid_for_an_adult);
    let r = app.post(
        "/v1/identity/verify",
        &key,
        json!({"document_front": b64(&front), "selfie": b64(&selfie("Andre_Agassi_0001")),
               "document_type": "passport", "country": country, "metadata": {"user_id": "u-7"}}),
    );
    assert_eq!(r.body["status"], "rejected", "{}", r.body);
    let rejected = r.body["id"].as_str().expect("id").trim_start_matches("ver_").to_string();
    // A hosted capture with two prompts: the video's challenge timeline.
    use super::hosted::{live_video, passport_of_the_video_subject, submit, Part};
    let cs = app.post(
        "/v1/capture-sessions",
        &key,
        json!({"user_identifier": "user-9", "challenges": ["turn_left", "turn_right"]}),
    );
    assert_eq!(cs.status, 201, "{}", cs.body);
    let prompts =
        json!([{"name": "turn_left", "shown_at_ms": 500}, {"name": "turn_right", "shown_at_ms": 5000}]);
    let a = submit(
        &app,
        &[
            Part::Text(
                "session",
                cs.body["url"].as_str().and_then(|u| u.rsplit('/').next()).expect("token").into(),
            ),
            Part::Text("liveness_prompts", prompts.to_string()),
            Part::File("selfie_video", "selfie.mp4", "video/mp4", live_video()),
            Part::File("id_photo", "id.jpg", "image/jpeg", passport_of_the_video_subject()),
        ],
    );
    assert_eq!(a.status, 200, "{}", a.body);
    let hosted = a.body["check_id"].as_str().expect("id").trim_start_matches("ver_").to_string();

    let driver = Driver::start();
    let b = driver.session(&[], 1280, 900);
    b.go(&format!("{}/dashboard/cases", app.base));
    b.wait("the login form", "document.querySelector('form.login')", 20);
    assert!(b.current_url().contains("/dashboard/login?next="), "{}", b.current_url());
    b.screenshot_in("dashboard", "01-login");
    b.type_text("#email", "ana@acme.example");
    b.type_text("#password", "a wrong password");
    b.click("button.primary");
    b.wait("the refusal", "document.querySelector('.problem')", 20);
    b.screenshot_in("dashboard", "02-wrong-password");
    b.type_text("#email", "ana@acme.example");
    b.type_text("#password", PASSWORD);
    b.click("button.primary");
    b.wait("the cases", "document.querySelector('table.cases')", 20);
    assert!(b.current_url().ends_with("/dashboard/cases"), "{}", b.current_url());
    let rows = b.js("return document.querySelectorAll('table.cases tbody tr').length;");
    assert_eq!(rows, json!(4));
    b.screenshot_in("dashboard", "03-cases");

    b.go(&format!("{}/dashboard/cases/verification/{rejected}", app.base));
    b.wait("the images", "document.querySelectorAll('.gallery svg.marked image').length == 2", 20);
    let images = b.js("return document.querySelectorAll('.gallery svg.marked').length;");
    assert_eq!(images, json!(2), "document front and selfie, their faces boxed");
    let subjects = b.js("return document.querySelectorAll('svg.marked rect.face.subject').length;");
    assert_eq!(subjects, json!(2), "the subject's face on each");
    let landmarks = b.js("return document.querySelectorAll('svg.marked circle.landmark').length;");
    assert!(landmarks.as_u64().unwrap_or(0) >= 10, "5 landmarks a face: {landmarks}");
    assert!(b.js("return document.querySelectorAll('pre.mrz.marked').length;") == json!(1));
    let bars = b.js("return document.querySelectorAll('svg.bar').length;");
    assert!(bars.as_u64().unwrap_or(0) >= 3, "risk, similarity, spoof and signal bars: {bars}");
    assert!(b.text("section[aria-labelledby=signals]").contains("FACE_MISMATCH"));
    b.screenshot_in("dashboard", "04-verification-rejected");
    b.js("window.scrollTo(0, document.body.scrollHeight); return 0;");
    b.screenshot_in("dashboard", "05-verification-signals");

    b.go(&format!("{}/dashboard/cases/verification/{}", app.base, ver.trim_start_matches("ver_")));
    b.wait("the images", "document.querySelectorAll('.gallery svg.marked image').length == 2", 20);
    b.screenshot_in("dashboard", "06-verification-verified");
    b.go(&format!("{}/dashboard/cases/verification/{hosted}", app.base));
    b.wait("the timeline", "document.querySelector('figure.timeline')", 20);
    let met = b.js("return document.querySelectorAll('figure.timeline circle.met:not(.missed)').length;");
    assert_eq!(met, json!(2), "both challenges met after their prompts");
    b.js("document.querySelector('figure.timeline').scrollIntoView(); return 0;");
    b.screenshot_in("dashboard", "07-hosted-timeline");
    b.js("window.scrollTo(0, 0); return 0;");
    b.screenshot_in("dashboard", "08-hosted-best-frame");
    b.go(&format!("{}/dashboard/cases/check/{check}", app.base));
    b.wait("the images", "document.querySelectorAll('.gallery svg.marked image').length == 2", 20);
    let subjects = b.js("return document.querySelectorAll('svg.marked rect.face.subject').length;");
    assert_eq!(subjects, json!(2), "a ComplyCube check's faces are boxed too");
    b.screenshot_in("dashboard", "09-identity-check");

    let tablet = driver.session(&[], 820, 1180);
    tablet.go(&format!("{}/dashboard/login", app.base));
    tablet.type_text("#email", "ana@acme.example");
    tablet.type_text("#password", PASSWORD);
    tablet.click("button.primary");
    tablet.wait("the cases", "document.querySelector('table.cases')", 20);
    tablet.screenshot_in("dashboard", "10-cases-tablet");

    // An admin: settings with the capture page's preview, the audit log, webhooks.
    let admin = driver.session(&[], 1280, 900);
    admin.go(&format!("{}/dashboard/login", app.base));
    admin.type_text("#email", "root@acme.example");
    admin.type_text("#password", PASSWORD);
    admin.click("button.primary");
    admin.wait("the cases", "document.querySelector('table.cases')", 20);
    admin.go(&format!("{}/dashboard/overview", app.base));
    admin.wait("the charts", "document.querySelector('svg.bars')", 20);
    admin.screenshot_in("dashboard", "14-overview");
    admin.go(&format!("{}/dashboard/settings", app.base));
    admin.wait(
        "the preview",
        "(() => { const f = document.querySelector('iframe'); return f && f.contentDocument && f.contentDocument.querySelector('button'); })()",
        20,
    );
    admin.screenshot_in("dashboard", "11-settings");
    admin.go(&format!("{}/dashboard/audit", app.base));
    admin.wait("the audit log", "document.querySelector('table.audit')", 20);
    admin.screenshot_in("dashboard", "12-audit-log");
    admin.go(&format!("{}/dashboard/webhooks", app.base));
    admin.wait("the webhooks", "document.querySelector('h1')", 20);
    admin.screenshot_in("dashboard", "13-webhooks");
}

#[test]
fn an_admin_reviews_redelivers_and_revokes_in_a_real_browser() {
    let app = TestApp::new();
    let key = app.key("acme");
    user_of(&app, &key, "root@acme.example", "admin");
    let (hook_url, got) = receiver(vec![]);
    let w = app.post(
        "/v1/webhooks",
        &key,
        json!({"url": hook_url, "enabled": true, "events": ["check.updated"]}),
    );
    let hook = w.body["id"].as_str().expect("id").to_string();
    let (_, check) = two_cases(&app, &key);

    let driver = Driver::start();
    let b = driver.session(&[], 1280, 900);
    b.go(&format!("{}/dashboard/login", app.base));
    b.type_text("#email", "root@acme.example");
    b.type_text("#password", PASSWORD);
    b.click("button.primary");
    b.wait("the cases", "document.querySelector('table.cases')", 20);

    // Confirm the check with a comment.
    b.go(&format!("{}/dashboard/cases/check/{check}", app.base));
    b.wait("the review form", "document.querySelector('form.review')", 20);
    b.click("form.review input[value=confirm]");
    b.type_text("#comment", "Same person as on the passport; the photo is live.");
    b.click("form.review button");
    b.wait("the review", "document.querySelector('.reviewed')", 20);
    assert!(b.text(".reviewed").contains("root@acme.example decided confirm"), "{}", b.text(".reviewed"));
    b.screenshot_in("dashboard", "15-reviewed");
    assert_eq!(app.get(&format!("/v1/checks/{check}"), &key).body["validation"]["outcome"], "clear");

    // The audit log has it, with the diff.
    b.go(&format!("{}/dashboard/audit?resource={check}", app.base));
    b.wait("the audit log", "document.querySelector('table.audit')", 20);
    let audit = b.text("table.audit");
    assert!(
        audit.contains("validateCheck")
            && audit.contains("root@acme.example")
            && audit.contains("validation.outcome"),
        "{audit}"
    );
    b.screenshot_in("dashboard", "16-audit-of-a-check");

    // The webhook got check.updated; send it again from its page.
    for _ in 0..10 {
        app.run_jobs();
    }
    assert_eq!(got.lock().expect("lock").len(), 1);
    b.go(&format!("{}/dashboard/webhooks/{hook}", app.base));
    b.wait("the deliveries", "document.querySelector('table.deliveries')", 20);
    assert!(b.text("table.deliveries").contains("check.updated"));
    b.click("table.deliveries form.inline button");
    b.wait("the notice", "document.querySelector('p.notice')", 20);
    for _ in 0..10 {
        app.run_jobs();
    }
    let sent = got.lock().expect("lock").clone();
    assert_eq!(sent.len(), 2, "redelivered");
    assert_eq!(sent[0].0, sent[1].0);
    b.go(&format!("{}/dashboard/webhooks/{hook}", app.base));
    b.wait("the deliveries", "document.querySelectorAll('table.deliveries tbody tr').length == 2", 20);
    b.screenshot_in("dashboard", "17-webhook-deliveries");

    // Revoke the API key.
    b.go(&format!("{}/dashboard/settings", app.base));
    b.wait("the keys", "document.querySelector('table.keys')", 20);
    b.click("table.keys form.inline button");
    b.wait("the revoked key", "document.querySelector('table.keys .badge.rejected')", 20);
    b.js("document.getElementById('keys').scrollIntoView(); return 0;");
    b.screenshot_in("dashboard", "18-key-revoked");
    let hash = verity_server::ids::key_hash(&key);
    assert!(app.rt.block_on(app.state.store.key_by_hash(&hash)).expect("q").is_none(), "revoked");
}

//! Clients and addresses through their whole life, and tenant isolation on every route.

use super::*;

#[test]
fn clients_are_created_validated_listed_filtered_updated_and_deleted() {
    let app = TestApp::new();
    let key = app.key("acme");
    let r = app.post("/v1/clients", &key, json!({"type": "person", "email": "x@y.io"}));
    assert_eq!((r.status, r.body["param"].as_str()), (422, Some("personDetails")));
    let r = app.post(
        "/v1/clients",
        &key,
        json!({"type": "company", "email": "x@y.io", "personDetails": {"firstName": "A", "lastName": "B"}}),
    );
    assert_eq!(r.status, 422);
    let co = app.post("/v1/clients", &key, json!({"type": "company", "email": "ops@acme.io", "companyDetails": {"name": "Acme Ltd", "incorporationCountry": "GB"}}));
    assert_eq!((co.status, co.body["entityName"].as_str()), (201, Some("Acme Ltd")));
    let mut ids = Vec::new();
    for first in ["Ann", "Bob", "Cid", "Bob"] {
        ids.push(app.client(&key, first));
    }
    let all = app.get("/v1/clients?pageSize=2", &key);
    assert_eq!((all.body["totalItems"].as_u64(), all.body["pages"].as_u64()), (Some(5), Some(3)));
    assert_eq!(all.body["items"][0]["id"], ids[3], "newest first");
    let p3 = app.get("/v1/clients?pageSize=2&page=3", &key);
    assert_eq!(p3.body["items"].as_array().map(Vec::len), Some(1));
    let bobs = app.get("/v1/clients?personDetails.firstName=Bob", &key);
    assert_eq!(bobs.body["totalItems"], 2, "{}", bobs.body);
    let companies = app.get("/v1/clients?type=company", &key);
    assert_eq!(companies.body["totalItems"], 1);
    let future = app.get("/v1/clients?createdAfter=2999-01-01", &key);
    assert_eq!(future.body["totalItems"], 0);

    let id = &ids[0];
    let u = app.post(
        &format!("/v1/clients/{id}"),
        &key,
        json!({"personDetails": {"lastName": "Smith"}, "mobile": "+44 7700 900000"}),
    );
    assert_eq!(u.status, 200, "{}", u.body);
    assert_eq!(
        (u.body["entityName"].as_str(), u.body["personDetails"]["firstName"].as_str()),
        (Some("Ann Smith"), Some("Ann"))
    );
    let bad = app.post(&format!("/v1/clients/{id}"), &key, json!({"companyDetails": {"name": "X"}}));
    assert_eq!(bad.status, 422, "details must match the type on update too");
    let d = app.delete(&format!("/v1/clients/{id}"), &key);
    assert_eq!((d.status, &d.body), (204, &Value::Null));
    assert_eq!(app.get(&format!("/v1/clients/{id}"), &key).status, 404);
}

#[test]
fn addresses_belong_to_a_client_and_are_validated_listed_updated_and_deleted() {
    let app = TestApp::new();
    let key = app.key("acme");
    let (ann, bob) = (app.client(&key, "Ann"), app.client(&key, "Bob"));
    let r = app.post(
        "/v1/addresses",
        &key,
        json!({"clientId": ann, "type": "main", "propertyNumber": "12", "line": " Baker Street ", "city": "London", "postalCode": "NW1 6XE", "country": "GB", "fromDate": "2015-04-01"}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        (r.body["line"].as_str(), r.body["clientId"].as_str()),
        (Some("Baker Street"), Some(ann.as_str()))
    );
    let id = r.body["id"].as_str().expect("id").to_string();
    let other = app.post(
        "/v1/addresses",
        &key,
        json!({"clientId": ann, "line": "1 Rue de Rivoli", "city": "Paris", "country": "FR"}),
    );
    assert_eq!((other.status, other.body["type"].as_str()), (201, Some("main")), "type defaults to main");
    app.post("/v1/addresses", &key, json!({"clientId": bob, "line": "x", "city": "Oslo", "country": "NO"}));
    for (body, status, param) in [
        (json!({"clientId": ann, "line": "x", "city": "y", "country": "United Kingdom"}), 422, "country"),
        (json!({"clientId": ann, "line": "x", "country": "GB"}), 422, "city"),
        (json!({"clientId": ann, "type": "home", "line": "x", "city": "y", "country": "GB"}), 422, "type"),
        (json!({"line": "x", "city": "y", "country": "GB"}), 422, "clientId"),
    ] {
        let r = app.post("/v1/addresses", &key, body);
        assert_eq!((r.status, r.body["param"].as_str()), (status, Some(param)), "{}", r.body);
    }
    assert_eq!(
        app.post(
            "/v1/addresses",
            &key,
            json!({"clientId": "nope", "line": "x", "city": "y", "country": "GB"})
        )
        .status,
        404
    );
    let list = app.get(&format!("/v1/addresses?clientId={ann}"), &key);
    assert_eq!(list.body["totalItems"], 2, "{}", list.body);
    assert_eq!(app.get("/v1/addresses?country=NO", &key).body["totalItems"], 1);
    let u = app.post(
        &format!("/v1/addresses/{id}"),
        &key,
        json!({"type": "alternative", "toDate": "2020-01-31"}),
    );
    assert_eq!(
        (u.status, u.body["type"].as_str(), u.body["city"].as_str()),
        (200, Some("alternative"), Some("London")),
        "{}",
        u.body
    );
    let bad = app.post(&format!("/v1/addresses/{id}"), &key, json!({"toDate": "2010-01-01"}));
    assert_eq!((bad.status, bad.body["param"].as_str()), (422, Some("fromDate")), "toDate before fromDate");
    let moved = app.post(&format!("/v1/addresses/{id}"), &key, json!({"clientId": bob}));
    assert_eq!(moved.status, 422);
    assert_eq!(app.delete(&format!("/v1/addresses/{id}"), &key).status, 204);
    assert_eq!(app.get(&format!("/v1/addresses/{id}"), &key).status, 404);
    // Deleting a client deletes its addresses.
    assert_eq!(app.delete(&format!("/v1/clients/{ann}"), &key).status, 204);
    assert_eq!(app.get(&format!("/v1/addresses?clientId={ann}"), &key).body["totalItems"], 0);
}

#[test]
fn another_tenants_ids_answer_404_everywhere() {
    let app = TestApp::new();
    let (a, b) = (app.key("a"), app.key("b"));
    let client = app.client(&a, "Ann");
    let photo = upload_photo(&app, &a, &client, &selfie("Abdullah_Gul_0006"));
    let doc = upload_document(&app, &a, &client, &document("Abdullah_Gul_0001"));
    let check = app.post(
        "/v1/checks",
        &a,
        json!({"clientId": client, "type": "identity_check", "livePhotoId": photo, "documentId": doc}),
    );
    assert_eq!(check.status, 201, "{}", check.body);
    let check = check.body["id"].as_str().expect("id").to_string();
    let hook =
        app.post("/v1/webhooks", &a, json!({"url": "http://127.0.0.1:9/x", "events": ["check.completed"]}));
    let hook = hook.body["id"].as_str().expect("id").to_string();
    let addr = app.post(
        "/v1/addresses",
        &a,
        json!({"clientId": client, "line": "1 Main St", "city": "Leeds", "country": "GB"}),
    );
    let addr = addr.body["id"].as_str().expect("id").to_string();

    for path in [
        format!("/v1/clients/{client}"),
        format!("/v1/addresses/{addr}"),
        format!("/v1/livePhotos/{photo}"),
        format!("/v1/livePhotos/{photo}/download"),
        format!("/v1/documents/{doc}"),
        format!("/v1/documents/{doc}/download/front"),
        format!("/v1/checks/{check}"),
        format!("/v1/webhooks/{hook}"),
        format!("/v1/webhooks/{hook}/deliveries"),
    ] {
        assert_eq!(app.get(&path, &b).status, 404, "GET {path}");
    }
    for (path, body) in [
        (format!("/v1/clients/{client}"), json!({"email": "evil@x.io"})),
        (format!("/v1/addresses/{addr}"), json!({"city": "Nowhere"})),
        ("/v1/addresses".to_string(), json!({"clientId": client, "line": "x", "city": "y", "country": "GB"})),
        (format!("/v1/documents/{doc}"), json!({"type": "visa"})),
        (
            format!("/v1/documents/{doc}/upload/back"),
            json!({"fileName": "b.jpg", "data": b64(&selfie("Abdullah_Gul_0006"))}),
        ),
        (format!("/v1/checks/{check}"), json!({"enableMonitoring": true})),
        (format!("/v1/checks/{check}/validate"), json!({"outcome": "clear"})),
        (format!("/v1/webhooks/{hook}"), json!({"enabled": false})),
        (
            "/v1/livePhotos".to_string(),
            json!({"clientId": client, "data": b64(&selfie("Abdullah_Gul_0006"))}),
        ),
        ("/v1/documents".to_string(), json!({"clientId": client, "type": "passport"})),
        (
            "/v1/checks".to_string(),
            json!({"clientId": client, "type": "identity_check", "livePhotoId": photo, "documentId": doc}),
        ),
    ] {
        assert_eq!(app.post(&path, &b, body).status, 404, "POST {path}");
    }
    for path in [
        format!("/v1/documents/{doc}/front"),
        format!("/v1/livePhotos/{photo}"),
        format!("/v1/documents/{doc}"),
        format!("/v1/webhooks/{hook}"),
        format!("/v1/addresses/{addr}"),
        format!("/v1/clients/{client}"),
    ] {
        assert_eq!(app.delete(&path, &b).status, 404, "DELETE {path}");
    }
    for path in
        ["/v1/clients", "/v1/addresses", "/v1/livePhotos", "/v1/documents", "/v1/checks", "/v1/webhooks"]
    {
        assert_eq!(app.get(path, &b).body["totalItems"], 0, "list {path}");
        assert!(app.get(path, &a).body["totalItems"].as_u64().unwrap_or(0) >= 1, "list {path}");
    }
    // Nothing of A's changed.
    assert_eq!(app.get(&format!("/v1/clients/{client}"), &a).body["email"], "j@example.com");
}

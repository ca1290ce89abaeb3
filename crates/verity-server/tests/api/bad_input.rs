//! A table of malformed requests over every endpoint family: each is refused with a 4xx, its
//! stable code, and no internal text (parser names, `os error`, source paths).

use super::*;

/// (method, path, body, key, expected status, expected code).
type BadInput<'a> = (&'a str, String, Option<Vec<u8>>, Option<&'a str>, u16, &'a str);

/// Every endpoint family refuses malformed input with a 4xx, a stable code and no internal text.
#[test]
fn bad_input_is_refused_cleanly_everywhere() {
    let app = TestApp::new();
    let key = app.key("acme");
    let client = app.client(&key, "Table");
    let doc = app.post("/v1/documents", &key, json!({"clientId": client, "type": "passport"})).body["id"]
        .as_str()
        .expect("id")
        .to_string();
    let jpeg = selfie("Abdullah_Gul_0006");
    let mut junk_after_header =
        jpeg[..jpeg.windows(2).position(|w| w == [0xFF, 0xDA]).expect("sos") + 14].to_vec();
    let mut x = 0x9e37_79b9u32;
    while junk_after_header.len() < 60_000 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        junk_after_header.push(x as u8);
    }
    let photo = |data: String| json!({"clientId": client, "data": data});
    let side = |data: String| json!({"fileName": "f.jpg", "data": data});
    let big_png_header = {
        let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
        v.resize(40_000, 0);
        v
    };
    let long_key = "k".repeat(5000);
    let cases: Vec<BadInput<'_>> = vec![
        // (method, path, body, key, status, code)
        ("POST", "/v1/clients".into(), Some(b"{not json".to_vec()), Some(&key), 400, "body_invalid_json"),
        ("POST", "/v1/clients".into(), Some(b"[1,2]".to_vec()), Some(&key), 400, "body_not_object"),
        ("POST", "/v1/clients".into(), Some(b"".to_vec()), Some(&key), 400, "body_empty"),
        (
            "POST",
            "/v1/clients".into(),
            Some(br#"{"type":5,"email":"a@b.co"}"#.to_vec()),
            Some(&key),
            422,
            "field_type",
        ),
        (
            "POST",
            "/v1/clients".into(),
            Some(br#"{"type":"person","email":"a@b.co","x":1}"#.to_vec()),
            Some(&key),
            422,
            "field_unknown",
        ),
        (
            "POST",
            format!("/v1/clients/{client}"),
            Some(br#"{"personDetails":{"dob":"1990-13-45"}}"#.to_vec()),
            Some(&key),
            422,
            "field_invalid",
        ),
        ("GET", "/v1/clients?page=0".into(), None, Some(&key), 400, "bad_query"),
        ("GET", "/v1/clients?pageSize=101".into(), None, Some(&key), 400, "bad_query"),
        ("GET", "/v1/clients?pageSize=-1".into(), None, Some(&key), 400, "bad_query"),
        ("GET", "/v1/clients?createdAfter=yesterday".into(), None, Some(&key), 400, "bad_query"),
        ("GET", "/v1/clients?password=x".into(), None, Some(&key), 400, "bad_query"),
        ("GET", "/v1/clients/../../etc/passwd".into(), None, Some(&key), 404, "not_found"),
        ("GET", "/v1/clients/%00".into(), None, Some(&key), 404, "not_found"),
        ("GET", "/v1/checks/zzzzzzzzzzzzzzzzzzzzzzzz".into(), None, Some(&key), 404, "not_found"),
        ("DELETE", "/v1/checks".into(), None, Some(&key), 405, "method_not_allowed"),
        ("PUT", "/v1/clients".into(), Some(b"{}".to_vec()), Some(&key), 405, "method_not_allowed"),
        ("GET", "/v1/clients".into(), None, None, 401, "unauthorized"),
        ("GET", "/v1/clients".into(), None, Some("vk_0000"), 401, "unauthorized"),
        ("GET", "/v1/clients".into(), None, Some(&long_key), 401, "unauthorized"),
        (
            "POST",
            "/v1/livePhotos".into(),
            Some(photo("@@@not base64@@@".into()).to_string().into_bytes()),
            Some(&key),
            400,
            "base64_invalid",
        ),
        (
            "POST",
            "/v1/livePhotos".into(),
            Some(photo(b64(b"tiny")).to_string().into_bytes()),
            Some(&key),
            422,
            "file_too_small",
        ),
        (
            "POST",
            "/v1/livePhotos".into(),
            Some(photo(b64(&vec![7u8; 50_000])).to_string().into_bytes()),
            Some(&key),
            422,
            "file_format_unsupported",
        ),
        (
            "POST",
            "/v1/livePhotos".into(),
            Some(photo(b64(&jpeg[..jpeg.len() / 3])).to_string().into_bytes()),
            Some(&key),
            422,
            "image_corrupt",
        ),
        (
            "POST",
            "/v1/livePhotos".into(),
            Some(photo(b64(&junk_after_header)).to_string().into_bytes()),
            Some(&key),
            422,
            "image_corrupt",
        ),
        (
            "POST",
            "/v1/livePhotos".into(),
            Some(photo(b64(&big_png_header)).to_string().into_bytes()),
            Some(&key),
            422,
            "image_corrupt",
        ),
        (
            "POST",
            "/v1/livePhotos".into(),
            Some(json!({"clientId": client, "data": 5}).to_string().into_bytes()),
            Some(&key),
            422,
            "field_type",
        ),
        (
            "POST",
            format!("/v1/documents/{doc}/upload/middle"),
            Some(side(b64(&jpeg)).to_string().into_bytes()),
            Some(&key),
            400,
            "side_invalid",
        ),
        (
            "POST",
            format!("/v1/documents/{doc}/upload/front"),
            Some(side(b64(&jpeg[..jpeg.len() / 2])).to_string().into_bytes()),
            Some(&key),
            422,
            "image_corrupt",
        ),
        (
            "POST",
            format!("/v1/documents/{doc}/upload/front"),
            Some(side(b64(b"%PDF-1.7\n garbage garbage")).to_string().into_bytes()),
            Some(&key),
            422,
            "file_too_small",
        ),
        (
            "POST",
            "/v1/documents".into(),
            Some(
                json!({"clientId": client, "type": "passport", "issuingCountry": "XX"})
                    .to_string()
                    .into_bytes(),
            ),
            Some(&key),
            422,
            "field_invalid",
        ),
        (
            "POST",
            "/v1/checks".into(),
            Some(json!({"clientId": client, "type": "nope"}).to_string().into_bytes()),
            Some(&key),
            422,
            "check_type_unsupported",
        ),
        (
            "POST",
            "/v1/checks".into(),
            Some(
                json!({"clientId": client, "type": "document_check", "documentId": doc})
                    .to_string()
                    .into_bytes(),
            ),
            Some(&key),
            422,
            "document_image_missing",
        ),
        (
            "POST",
            "/v1/webhooks".into(),
            Some(json!({"url": "http://127.0.0.1:9/", "events": ["nope"]}).to_string().into_bytes()),
            Some(&key),
            422,
            "field_invalid",
        ),
        (
            "POST",
            "/v1/webhooks".into(),
            Some(json!({"url": "http://127.0.0.1:9/", "events": []}).to_string().into_bytes()),
            Some(&key),
            422,
            "field_invalid",
        ),
        (
            "POST",
            format!("/v1/liveVideos?clientId={client}"),
            Some(b"not a video".to_vec()),
            Some(&key),
            422,
            "video_unreadable",
        ),
        ("POST", "/v1/liveVideos".into(), Some(b"--x\r\nbroken".to_vec()), Some(&key), 422, "field_required"),
    ];
    let internal =
        ["panicked", "sqlx", "lopdf", "zune", "os error", "backtrace", "src/", "Error {", "multer"];
    for (method, path, body, k, status, code) in cases {
        let r = app.raw(method, &path, k, body);
        assert_eq!((r.status, r.body["code"].as_str()), (status, Some(code)), "{method} {path}: {}", r.body);
        let text = r.body.to_string();
        assert!(internal.iter().all(|w| !text.contains(w)), "{method} {path}: internal text in {text}");
    }
}

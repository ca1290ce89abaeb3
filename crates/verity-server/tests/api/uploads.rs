//! Uploads checked at the edge and read back: photos and document sides as JSON, videos as
//! multipart forms.

use super::*;

#[test]
fn uploads_are_checked_at_the_edge_and_round_trip() {
    let app = TestApp::new();
    let key = app.key("acme");
    let client = app.client(&key, "Ann");
    let post = |data: Value| app.post("/v1/livePhotos", &key, json!({"clientId": client, "data": data}));
    error_shape(&post(json!("%%% not base64 %%%")), 400, "base64_invalid");
    error_shape(
        &post(json!(b64(&verity_imaging::encode_jpeg(&lfw("Abdullah_Gul_0006"), 90)))),
        422,
        "file_too_small",
    );
    error_shape(&post(json!(b64(&vec![0xFFu8; (4 << 20) + 100_000]))), 413, "file_too_large");
    error_shape(
        &post(json!(b64(&[b"GIF89a".as_slice(), &[0u8; 40_000]].concat()))),
        422,
        "file_format_unsupported",
    );
    error_shape(
        &post(json!(b64(&[b"%PDF-1.7\n".as_slice(), &[b' '; 40_000]].concat()))),
        422,
        "file_format_unsupported",
    );
    let good = selfie("Abdullah_Gul_0006");
    error_shape(&post(json!(b64(&good[..good.len() / 2]))), 422, "image_corrupt");
    error_shape(&post(Value::Null), 422, "field_required");
    let r =
        app.post("/v1/livePhotos", &key, json!({"clientId": "000000000000000000000000", "data": b64(&good)}));
    assert_eq!(r.status, 404);

    let photo = upload_photo(&app, &key, &client, &good);
    let dl = app.get(&format!("/v1/livePhotos/{photo}/download"), &key);
    let back = base64::engine::general_purpose::STANDARD
        .decode(dl.body["data"].as_str().expect("data"))
        .expect("b64");
    assert_eq!(back, good, "download returns the uploaded bytes");
    assert_eq!(dl.body["contentType"], "image/jpeg");

    let doc = upload_document(&app, &key, &client, &document("Abdullah_Gul_0001"));
    error_shape(
        &app.post(
            &format!("/v1/documents/{doc}/upload/side"),
            &key,
            json!({"fileName": "x.jpg", "data": b64(&good)}),
        ),
        400,
        "side_invalid",
    );
    // A PDF is read at the edge: one that does not parse is refused, one with an image is kept.
    let junk = [b"%PDF-1.4\n".as_slice(), &vec![b'0'; 40_000], b"\n%%EOF"].concat();
    error_shape(
        &app.post(
            &format!("/v1/documents/{doc}/upload/back"),
            &key,
            json!({"fileName": "back.pdf", "data": b64(&junk)}),
        ),
        422,
        "image_corrupt",
    );
    let scan = document("Abdullah_Gul_0001");
    let pdf = verity_imaging::pdf::page_with_images(&[verity_imaging::pdf::EmbeddedImage {
        width: 1000,
        height: 640,
        filter: Some("DCTDecode"),
        color_space: "DeviceRGB",
        data: &scan,
    }]);
    let up = app.post(
        &format!("/v1/documents/{doc}/upload/back"),
        &key,
        json!({"fileName": "back.pdf", "data": b64(&pdf)}),
    );
    assert_eq!((up.status, up.body["contentType"].as_str()), (201, Some("application/pdf")), "{}", up.body);
    let d = app.get(&format!("/v1/documents/{doc}"), &key);
    assert_eq!(d.body["images"].as_array().map(Vec::len), Some(2));
    assert!(d.body.get("_files").is_none(), "internal fields never leave");
    assert_eq!(app.delete(&format!("/v1/documents/{doc}/back"), &key).status, 204);
    assert_eq!(app.get(&format!("/v1/documents/{doc}/download/back"), &key).status, 404);
    assert_eq!(
        app.get(&format!("/v1/documents/{doc}"), &key).body["images"].as_array().map(Vec::len),
        Some(1)
    );
    error_shape(
        &app.post("/v1/documents", &key, json!({"clientId": client, "type": "spaceship"})),
        422,
        "field_invalid",
    );
    error_shape(
        &app.post(
            "/v1/documents",
            &key,
            json!({"clientId": client, "type": "passport", "issuingCountry": "ZZ"}),
        ),
        422,
        "field_invalid",
    );
}

fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----verity-test-7d3f2a";
    let mut body = Vec::new();
    for (name, file, data) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file {
            Some(f) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: video/mp4\r\n\r\n")
                    .as_bytes(),
            ),
            None => body.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes()),
        }
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[test]
fn live_videos_upload_as_multipart_forms() {
    let app = TestApp::with_config(|c| c.limits.video_body_bytes = 8 << 20);
    let (key, other) = (app.key("acme"), app.key("other"));
    let client = app.client(&key, "Luyt");
    let video = std::fs::read(shared().join("data/video/live/tranvanluyt_real.mp4")).expect("video");
    // Field order does not matter: the client id may come after the file.
    let (ct, body) =
        multipart(&[("video", Some("selfie.mp4"), &video), ("clientId", None, client.as_bytes())]);
    let up = app.post_bytes("/v1/liveVideos", &key, &ct, &body);
    assert_eq!(up.status, 201, "{}", up.body);
    assert_eq!(
        (up.body["size"].as_u64(), up.body["clientId"].as_str()),
        (Some(video.len() as u64), Some(client.as_str()))
    );
    let id = up.body["id"].as_str().expect("id");
    let down = app.get(&format!("/v1/liveVideos/{id}/download"), &key);
    assert_eq!(down.status, 200);
    let data = base64::engine::general_purpose::STANDARD
        .decode(down.body["data"].as_str().expect("data"))
        .expect("b64");
    assert!(data == video, "the stored video reads back byte for byte");
    // The client id from the query works too; another tenant's client is 404.
    let (ct, body) = multipart(&[("video", Some("v.mp4"), &video)]);
    assert_eq!(app.post_bytes(&format!("/v1/liveVideos?clientId={client}"), &key, &ct, &body).status, 201);
    error_shape(&app.post_bytes("/v1/liveVideos", &other, &ct, &body), 422, "field_required");
    let (ct2, body2) = multipart(&[("clientId", None, client.as_bytes()), ("video", Some("v.mp4"), &video)]);
    assert_eq!(app.post_bytes("/v1/liveVideos", &other, &ct2, &body2).status, 404);
    // Bad forms.
    let (ct, body) = multipart(&[("clientId", None, client.as_bytes())]);
    error_shape(&app.post_bytes("/v1/liveVideos", &key, &ct, &body), 422, "field_required");
    let (ct, body) = multipart(&[("clientId", None, client.as_bytes()), ("avatar", Some("a.mp4"), b"x")]);
    error_shape(&app.post_bytes("/v1/liveVideos", &key, &ct, &body), 422, "field_unknown");
    let (ct, body) =
        multipart(&[("clientId", None, client.as_bytes()), ("video", Some("v.mp4"), b"not a video")]);
    error_shape(&app.post_bytes("/v1/liveVideos", &key, &ct, &body), 422, "video_unreadable");
    let big = vec![0u8; 9 << 20];
    let (ct, body) = multipart(&[("clientId", None, client.as_bytes()), ("video", Some("v.mp4"), &big)]);
    let r = app.post_bytes("/v1/liveVideos", &key, &ct, &body);
    assert_eq!(r.status, 413, "{}", r.body);
    let r = app.post_bytes("/v1/liveVideos", &key, "multipart/form-data; boundary=zzz", b"garbage");
    assert!(r.status == 400 || r.status == 422, "{} {}", r.status, r.body);
    assert_eq!(r.body["type"], "invalid_request", "{}", r.body);
}

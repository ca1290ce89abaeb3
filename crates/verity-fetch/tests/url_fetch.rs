//! The URL source of `verity models fetch`, against a local HTTP server that serves the upstream
//! anti-spoofing weights from `../shared/models/upstream` (a mirror), and a wrong file.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use verity_fetch::{fetch_all, FetchOptions};
use verity_models::{ModelDir, ModelError, MINIFASNET_V1SE, MINIFASNET_V2};

fn upstream_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/models/upstream")
}

/// Serves `files` (name → bytes) over HTTP/1.1 on 127.0.0.1; 404 for anything else. Returns
/// the base URL and the list of paths requested.
fn serve(files: Vec<(String, Vec<u8>)>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            loop {
                let mut header = String::new();
                match reader.read_line(&mut header) {
                    Ok(0) | Err(_) => break,
                    Ok(_) if header == "\r\n" => break,
                    Ok(_) => {}
                }
            }
            let path = request_line.split_whitespace().nth(1).unwrap_or("/").to_string();
            log.lock().expect("lock").push(path.clone());
            let name = path.trim_start_matches('/');
            let body = files.iter().find(|(n, _)| n == name).map(|(_, b)| b.clone());
            let response = match body {
                Some(b) => {
                    let mut r = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
                        b.len()
                    )
                    .into_bytes();
                    r.extend_from_slice(&b);
                    r
                }
                None => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
            };
            let _ = stream.write_all(&response);
        }
    });
    (base, seen)
}

fn opts(mirror: &str) -> FetchOptions {
    FetchOptions { from_dir: None, pip: Some("false".into()), force: true, mirror: Some(mirror.into()) }
}

#[test]
fn weights_are_downloaded_from_a_mirror_and_verified() {
    let files = [MINIFASNET_V2, MINIFASNET_V1SE]
        .iter()
        .map(|s| {
            (s.file_name.to_string(), std::fs::read(upstream_dir().join(s.file_name)).expect("upstream"))
        })
        .collect();
    let (base, seen) = serve(files);
    let models = tempfile::tempdir().expect("tmp");
    let report = fetch_all(&[MINIFASNET_V2, MINIFASNET_V1SE], models.path(), &opts(&base)).expect("fetch");
    assert_eq!(report.models.len(), 2);
    assert!(report.models.iter().all(|m| m.action == "written"));
    let dir = ModelDir::new(models.path());
    dir.require(&MINIFASNET_V2).expect("v2 valid");
    dir.require(&MINIFASNET_V1SE).expect("v1se valid");
    let seen = seen.lock().expect("lock").clone();
    assert_eq!(
        seen,
        vec![format!("/{}", MINIFASNET_V2.file_name), format!("/{}", MINIFASNET_V1SE.file_name)]
    );

    // A second run finds both present and downloads nothing.
    let again = FetchOptions { force: false, ..opts(&base) };
    let report = fetch_all(&[MINIFASNET_V2, MINIFASNET_V1SE], models.path(), &again).expect("fetch");
    assert!(report.models.iter().all(|m| m.action == "present"));
}

#[test]
fn a_served_file_with_the_wrong_hash_is_refused_and_not_written() {
    let mut wrong = std::fs::read(upstream_dir().join(MINIFASNET_V2.file_name)).expect("upstream");
    let last = wrong.len() - 1;
    wrong[last] ^= 0xff;
    let (base, _) = serve(vec![(MINIFASNET_V2.file_name.to_string(), wrong)]);
    let models = tempfile::tempdir().expect("tmp");
    let err = fetch_all(&[MINIFASNET_V2], models.path(), &opts(&base)).unwrap_err();
    assert!(matches!(err, ModelError::HashMismatch { .. }), "{err}");
    assert!(err.to_string().contains(MINIFASNET_V2.sha256), "{err}");
    assert!(!models.path().join(MINIFASNET_V2.file_name).exists());
    assert!(!models.path().join(format!("{}.partial", MINIFASNET_V2.file_name)).exists());
}

#[test]
fn a_missing_file_on_the_server_is_a_download_error_naming_the_url() {
    let (base, _) = serve(Vec::new());
    let models = tempfile::tempdir().expect("tmp");
    let err = fetch_all(&[MINIFASNET_V1SE], models.path(), &opts(&base)).unwrap_err();
    assert!(matches!(err, ModelError::Download { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains(&base) && msg.contains("404"), "{msg}");
}

#[test]
fn from_dir_is_used_before_any_download() {
    let models = tempfile::tempdir().expect("tmp");
    // The mirror is unreachable: only the local directory can satisfy the fetch.
    let opts = FetchOptions {
        from_dir: Some(upstream_dir()),
        pip: Some("false".into()),
        force: true,
        mirror: Some("http://127.0.0.1:9".into()),
    };
    fetch_all(&[MINIFASNET_V2], models.path(), &opts).expect("fetch from dir");
    ModelDir::new(models.path()).require(&MINIFASNET_V2).expect("valid");
}

//! Verity's HTTP server: the ComplyCube-compatible resource API, its storage, the durable job
//! queue that runs checks and delivers webhooks, and the operational endpoints.
//!
//! Layout: `routes/*` parse requests and call the storage trait and services (`events`);
//! `run_check` runs a check in the pipeline (`verity-checks`); `jobs` are typed, `worker` runs them; `files` wraps object storage with encryption; `error` maps
//! every failure to HTTP in one place. [`launch`] takes a bound listener and a shutdown future,
//! so tests bind `127.0.0.1:0`.

#![recursion_limit = "256"]

pub mod audit;
pub mod auth;
pub mod config;
pub mod dashboard;
pub mod error;
pub mod events;
pub mod files;
pub mod hosted;
pub mod ids;
pub mod jobs;
pub mod metrics;
pub mod openapi;
pub mod outbound;
pub mod resources;
mod routes;
pub mod run_check;
pub mod serve;
mod uploads;
pub mod verification;
pub mod worker;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tokio::net::TcpListener;
use verity_store::Storage;

pub use config::Config;
use error::ApiError;
pub use verity_checks::Engines;

/// What every handler and worker shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Storage>,
    pub files: files::Files,
    pub engines: Arc<Engines>,
    pub config: Arc<Config>,
    /// Wakes idle workers of this process when a job is queued.
    pub wake: Arc<tokio::sync::Notify>,
    pub keys: Arc<auth::KeyCache>,
    pub rate: Arc<auth::RateLimiter>,
    pub metrics: Arc<metrics::Metrics>,
    /// Bounds how many upload bodies are read and checked at once, in all and per tenant
    /// (memory: each holds the body, the decoded file and a decoded image).
    pub uploads: Arc<uploads::UploadSlots>,
    /// Failed authentications per client address.
    pub failed_auth: Arc<auth::RateLimiter>,
    /// Where webhooks may be delivered.
    pub outbound: outbound::Policy,
    /// Reverse proxies whose `X-Forwarded-For` names the client.
    pub proxies: Arc<Vec<outbound::Cidr>>,
    /// Each tenant's earlier verifications, for duplicate searches.
    pub galleries: Arc<verification::gallery::Galleries>,
}

/// Errors of start-up.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error(transparent)]
    Store(#[from] verity_store::StoreError),
    #[error(transparent)]
    Files(#[from] files::FileError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl AppState {
    pub fn new(store: Arc<dyn Storage>, files: files::Files, engines: Engines, config: Config) -> Self {
        Self::with_engines(store, files, Arc::new(engines), config)
    }

    /// As [`AppState::new`], sharing already loaded engines (tests load them once).
    pub fn with_engines(
        store: Arc<dyn Storage>,
        files: files::Files,
        engines: Arc<Engines>,
        config: Config,
    ) -> Self {
        Self {
            store: Arc::new(audit::store::AuditedStore::new(store)),
            files,
            engines,
            wake: Arc::new(tokio::sync::Notify::new()),
            keys: Arc::new(auth::KeyCache::default()),
            rate: Arc::new(auth::RateLimiter::default()),
            uploads: Arc::new(uploads::UploadSlots::new(
                config.limits.concurrent_uploads,
                config.limits.concurrent_uploads_per_tenant,
            )),
            failed_auth: Arc::new(auth::RateLimiter::default()),
            outbound: outbound::Policy::new(&config.webhooks.allow_addresses),
            proxies: Arc::new(outbound::networks(&config.limits.trusted_proxies)),
            metrics: Arc::new(metrics::Metrics::default()),
            galleries: Arc::new(verification::gallery::Galleries::default()),
            config: Arc::new(config),
        }
    }

    /// Connects the database, opens the file store (creating the file key on first start) and
    /// loads the engines, all as configured.
    pub async fn from_config(config: Config) -> Result<Self, LaunchError> {
        std::fs::create_dir_all(&config.data_dir)?;
        let store = verity_store::connect(&config.database_url()).await?;
        let (key, created) = files::load_or_create_key(&config.storage.encryption_key.0, &config.data_dir)?;
        if created {
            tracing::warn!(
                path = %config.data_dir.join("file.key").display(),
                "generated a new file encryption key; back it up (files cannot be read without it) or set storage.encryption_key"
            );
        }
        let files = files::Files::from_config(&config.storage, &config.data_dir, key)?;
        files.probe().await?;
        tracing::info!(backend = %config.storage.backend, store = ?files, "file store ready");
        let models = config.models_dir.clone();
        let callers = config.workers.count.max(1);
        let engines = tokio::task::spawn_blocking(move || Engines::load(&models, callers))
            .await
            .unwrap_or_else(|e| Engines::none(&format!("engine loading panicked: {e}")));
        if let Err(e) = &engines.face {
            tracing::error!(error = %e, "face engine unavailable: identity checks will answer not_processed");
        }
        if let Err(e) = &engines.document {
            tracing::error!(error = %e, "document engine unavailable: document checks will answer not_processed");
        }
        if let Err(e) = &engines.liveness {
            tracing::error!(error = %e, "liveness engine unavailable: liveness will answer not_processed");
        }
        Ok(Self::new(store, files, engines, config))
    }
}

async fn not_found() -> ApiError {
    ApiError::NotFound { what: "route" }
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// Ready when the database answers; reports the engines.
async fn readyz(State(s): State<AppState>) -> Response {
    let db = s.store.ping().await;
    let engine = |r: Result<(), &String>| match r {
        Ok(()) => json!({"status": "ok"}),
        Err(e) => json!({"status": "unavailable", "error": e}),
    };
    let mut document = engine(s.engines.document.as_ref().map(|_| ()));
    if let Ok(e) = s.engines.document.as_ref() {
        document["runtime"] = json!(e.runtime());
    }
    let body = json!({
        "status": if db.is_ok() { "ready" } else { "not_ready" },
        "database": {"backend": s.store.backend(), "status": if db.is_ok() { "ok" } else { "unavailable" }},
        "engines": {
            "face": engine(s.engines.face.as_ref().map(|_| ())),
            "liveness": engine(s.engines.liveness.as_ref().copied()),
            "document": document,
        },
    });
    let code = if db.is_ok() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(body)).into_response()
}

/// `/metrics`: with `metrics.token` set, for `Authorization: Bearer <token>`; without, only
/// for clients on loopback that no proxy forwarded. Anyone else gets the same 404 as an unknown
/// path.
async fn metrics_text(State(s): State<AppState>, req: Request) -> Response {
    let token = &s.config.metrics.token.0;
    let allowed = if token.is_empty() {
        // A request a proxy forwarded is not local, even when the proxy runs on this host.
        let forwarded =
            ["x-forwarded-for", "forwarded", "x-real-ip"].iter().any(|h| req.headers().contains_key(*h));
        !forwarded && req.extensions().get::<serve::Peer>().is_some_and(|p| p.0.ip().is_loopback())
    } else {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        // Compared by hash: no early exit on the first differing byte of the token.
        ids::key_hash(given) == ids::key_hash(token)
    };
    if !allowed {
        return ApiError::NotFound { what: "route" }.into_response();
    }
    let counts = s.store.job_counts().await.unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], s.metrics.render(&counts)).into_response()
}

/// Whether a request comes with a body (which an early answer may leave unread).
fn has_body(req: &Request) -> bool {
    let h = req.headers();
    h.contains_key(header::TRANSFER_ENCODING)
        || h.get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .is_some_and(|n| n > 0)
}

/// Request id (taken from `X-Request-Id` when sane, else minted), a span per request, metrics,
/// and every error answered as JSON (extractor rejections, 404/405 from routing, timeouts).
async fn around(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let rid = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
        .map(str::to_string)
        .unwrap_or_else(ids::new_id);
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let with_body = has_body(&req);
    let req = if with_body {
        let limit = body_limit_of(&s, req.uri().path());
        serve::drain_unread(req, limit)
    } else {
        req
    };
    let span = tracing::info_span!("request", id = %rid, %method, %route);
    let _enter = span.enter();
    drop(_enter);
    let resp = {
        use tracing::Instrument;
        next.run(req).instrument(span.clone()).await
    };
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
    let mut resp = if (status.is_client_error() || status.is_server_error()) && !is_json {
        let (code, message) = match status {
            StatusCode::PAYLOAD_TOO_LARGE => ("body_too_large", "the request body is too large".to_string()),
            StatusCode::METHOD_NOT_ALLOWED => {
                ("method_not_allowed", "this method is not allowed on this path".to_string())
            }
            StatusCode::REQUEST_TIMEOUT => ("timeout", "the request took too long".to_string()),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                ("unsupported_media_type", "send JSON (Content-Type: application/json)".to_string())
            }
            s if s.is_client_error() => ("bad_request", format!("the request was refused ({})", s.as_u16())),
            s => ("internal", format!("internal error ({})", s.as_u16())),
        };
        let kind = if status.is_server_error() { "internal_error" } else { "invalid_request" };
        (status, Json(json!({"type": kind, "code": code, "message": message}))).into_response()
    } else {
        resp
    };
    if let Ok(v) = HeaderValue::from_str(&rid) {
        resp.headers_mut().insert("x-request-id", v);
    }
    if with_body && (status.is_client_error() || status.is_server_error()) {
        // An error may be answered before the body was read (401, 404, 405, 413, …). What is
        // left of the body is read and discarded (`serve::drain_unread`), so the client finishes
        // sending and reads this answer; the connection is then closed, and said so (a
        // keep-alive client must not send its next request into it).
        resp.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    let secs = started.elapsed().as_secs_f64();
    s.metrics.request(&method, &route, status.as_u16(), secs);
    // Refused authentication is logged 1 in 100 (a flood of bad keys must not flood the log).
    static REFUSED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let refused = matches!(status, StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS);
    if !refused {
        span.in_scope(|| tracing::info!(status = status.as_u16(), ms = (secs * 1000.0) as u64, "answered"));
    } else {
        let n = REFUSED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if n.is_multiple_of(100) {
            span.in_scope(|| {
                tracing::info!(
                    status = status.as_u16(),
                    refused_so_far = n + 1,
                    "answered (refused requests are logged 1 in 100)"
                )
            });
        }
    }
    resp
}

/// The largest body a path accepts.
fn body_limit_of(s: &AppState, path: &str) -> usize {
    match path {
        // The video plus room for a multipart form's boundaries and other fields.
        "/v1/liveVideos" => s.config.limits.video_body_bytes + 64 * 1024,
        "/v1/identity/verify" => s.config.verification.body_bytes,
        "/verif/submit" => s.config.hosted.body_bytes,
        _ => s.config.limits.json_body_bytes,
    }
}

/// Refuses bodies whose declared length is over the limit before reading them.
async fn body_limit(State(s): State<AppState>, req: Request<Body>, next: Next) -> Response {
    let limit = body_limit_of(&s, req.uri().path());
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(n) = declared.filter(|n| *n > limit) {
        // A moderately oversized body is read and discarded (30 s at most) so the client gets
        // to read the 413 instead of a reset connection; a huge one is refused at once.
        if n <= limit.saturating_mul(2) {
            let body = req.into_body();
            let _ = tokio::time::timeout(Duration::from_secs(30), async move {
                use futures_util::StreamExt;
                let mut stream = body.into_data_stream();
                while let Some(Ok(_)) = stream.next().await {}
            })
            .await;
        }
        return ApiError::too_large(
            "body_too_large",
            format!("the request body is larger than {limit} bytes"),
            None,
        )
        .into_response();
    }
    next.run(req).await
}

/// The handler of an operation of [`openapi::OPS`], under the operation's method.
fn handler(state: &AppState, op: &openapi::Op) -> axum::routing::MethodRouter<AppState> {
    use axum::routing::{on, MethodFilter};
    use resources::kinds;
    use routes::{addresses, clients, documents, media, verify, videos, webhooks};
    let filter = match op.method {
        "get" => MethodFilter::GET,
        "post" => MethodFilter::POST,
        "delete" => MethodFilter::DELETE,
        other => panic!("operation {}: unsupported method {other}", op.id),
    };
    let gate = || axum::middleware::from_fn_with_state(state.clone(), uploads::gate);
    match op.id {
        "createClient" => on(filter, clients::create),
        "listClients" => on(filter, resources::list::<kinds::Client>),
        "getClient" => on(filter, resources::get::<kinds::Client>),
        "updateClient" => on(filter, clients::update),
        "deleteClient" => on(filter, clients::delete),
        "createAddress" => on(filter, addresses::create),
        "listAddresses" => on(filter, resources::list::<kinds::Address>),
        "getAddress" => on(filter, resources::get::<kinds::Address>),
        "updateAddress" => on(filter, addresses::update),
        "deleteAddress" => on(filter, addresses::delete),
        "createLivePhoto" => on(filter, media::create_live_photo).route_layer(gate()),
        "listLivePhotos" => on(filter, resources::list::<kinds::LivePhoto>),
        "getLivePhoto" => on(filter, resources::get::<kinds::LivePhoto>),
        "deleteLivePhoto" => on(filter, media::delete_live_photo),
        "downloadLivePhoto" => on(filter, media::download_live_photo),
        "redactLivePhoto" => on(filter, media::redact_live_photo),
        // The handler counts the video against `limits.video_body_bytes` itself.
        "createLiveVideo" => {
            on(filter, videos::create).route_layer(gate()).layer(axum::extract::DefaultBodyLimit::disable())
        }
        "listLiveVideos" => on(filter, resources::list::<kinds::LiveVideo>),
        "getLiveVideo" => on(filter, resources::get::<kinds::LiveVideo>),
        "deleteLiveVideo" => on(filter, videos::delete),
        "downloadLiveVideo" => on(filter, videos::download),
        "redactLiveVideo" => on(filter, videos::redact),
        "createDocument" => on(filter, documents::create_document),
        "listDocuments" => on(filter, resources::list::<kinds::Document>),
        "getDocument" => on(filter, resources::get::<kinds::Document>),
        "updateDocument" => on(filter, documents::update_document),
        "deleteDocument" => on(filter, documents::delete_document),
        "uploadDocumentSide" => on(filter, documents::upload_side).route_layer(gate()),
        "downloadDocumentSide" => on(filter, documents::download_side),
        "deleteDocumentSide" => on(filter, documents::delete_side),
        "redactDocument" => on(filter, documents::redact_document),
        "createCheck" => on(filter, routes::checks::create),
        "listChecks" => on(filter, resources::list::<kinds::Check>),
        "getCheck" => on(filter, resources::get::<kinds::Check>),
        "updateCheck" => on(filter, routes::checks::update),
        "validateCheck" => on(filter, routes::checks::validate),
        "createWebhook" => on(filter, webhooks::create),
        "listWebhooks" => on(filter, resources::list::<kinds::Webhook>),
        "getWebhook" => on(filter, resources::get::<kinds::Webhook>),
        "updateWebhook" => on(filter, webhooks::update),
        "deleteWebhook" => on(filter, webhooks::delete),
        "listAuditLogs" => on(filter, resources::list::<audit::AuditLog>),
        "getAuditLog" => on(filter, resources::get::<audit::AuditLog>),
        "listWebhookDeliveries" => on(filter, webhooks::deliveries),
        "redeliverWebhookDelivery" => on(filter, webhooks::redeliver),
        "redeliverVerificationDelivery" => on(filter, verify::redeliver),
        "createVerification" => on(filter, verify::create)
            .route_layer(gate())
            .layer(axum::extract::DefaultBodyLimit::max(state.config.verification.body_bytes)),
        "listVerifications" => on(filter, verify::list),
        "getVerification" => on(filter, resources::get::<verification::Verification>),
        "deleteVerification" => on(filter, verify::delete),
        "listVerificationDeliveries" => on(filter, verify::deliveries),
        "getVerificationSettings" => on(filter, verification::settings::get),
        "updateVerificationSettings" => on(filter, verification::settings::update),
        "createCaptureSession" => on(filter, hosted::session::create),
        "listCaptureSessions" => on(filter, hosted::session::list),
        "getCaptureSession" => on(filter, hosted::session::get),
        "getPartnerSettings" => on(filter, hosted::partner::get),
        "updatePartnerSettings" => on(filter, hosted::partner::update),
        "createFlowSession" => on(filter, hosted::complycube::create_flow_session),
        "createToken" => on(filter, hosted::complycube::create_token),
        other => panic!("operation {other} is documented but has no handler"),
    }
}

/// The router with every route and middleware. `/v1` is built from [`openapi::OPS`], the same
/// list `/openapi.json` documents.
pub fn app(state: AppState) -> Router {
    let mut v1 = Router::new();
    for op in openapi::OPS {
        let trigger = op.id;
        let audited =
            axum::middleware::from_fn(move |req: Request, next: Next| audit::scope(trigger, req, next));
        v1 = v1.route(op.path, handler(&state, op).route_layer(audited));
    }
    let spec = Arc::new(openapi::document(&state.config));
    let spec_json = get(move || {
        let spec = spec.clone();
        async move { Json((*spec).clone()) }
    });
    let docs = get(|| async {
        (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")],
            openapi::DOCS_HTML,
        )
    });
    let timeout = Duration::from_secs(state.config.limits.request_timeout_secs.max(1));
    let verif = Router::new()
        .route(
            "/verif/",
            get(hosted::page::start).route_layer(axum::middleware::from_fn(|req: Request, next: Next| {
                audit::scope("startHostedSession", req, next)
            })),
        )
        .route(
            "/verif",
            get(hosted::page::start).route_layer(axum::middleware::from_fn(|req: Request, next: Next| {
                audit::scope("startHostedSession", req, next)
            })),
        )
        .route("/verif/s/{token}", get(hosted::page::page))
        .route(
            "/verif/submit",
            axum::routing::post(hosted::submit::submit)
                .route_layer(axum::middleware::from_fn(|req: Request, next: Next| {
                    audit::scope("submitHostedCheck", req, next)
                }))
                .layer(axum::extract::DefaultBodyLimit::max(state.config.hosted.body_bytes)),
        )
        .route("/verif/files/{tenant}/{id}/{name}", get(hosted::links::download));
    Router::new()
        .nest("/v1", v1)
        .merge(verif)
        .merge(dashboard::router())
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .route("/openapi.json", spec_json)
        .route("/docs", docs)
        .fallback(not_found)
        .layer(axum::extract::DefaultBodyLimit::max(state.config.limits.json_body_bytes))
        .layer(axum::middleware::from_fn_with_state(state.clone(), body_limit))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
        .layer(axum::middleware::from_fn_with_state(state.clone(), around))
        .with_state(state)
}

/// Serves on `listener` with `workers.count` worker tasks until `shutdown` completes; then stops
/// accepting, lets requests in flight finish and the workers finish their current job.
pub async fn launch(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut workers = Vec::new();
    for _ in 0..state.config.workers.count {
        workers.push(tokio::spawn(worker::worker(state.clone(), stop_rx.clone())));
    }
    let limits = state.config.limits.clone();
    let router = app(state);
    let served = serve::serve(listener, router, &limits, async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    })
    .await;
    for w in workers {
        let _ = w.await;
    }
    served
}

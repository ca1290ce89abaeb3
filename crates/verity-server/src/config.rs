//! Configuration, layered: built-in defaults → TOML file → `VERITY__SECTION__KEY` environment
//! variables → command-line flags. `verity.sample.toml` at the repository root lists every key.

use std::path::PathBuf;

use serde::Deserialize;

/// A secret string: never printed by `Debug`.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "\"<hidden>\"" })
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: String,
    /// Where the SQLite database, stored files and the generated file key live.
    pub data_dir: PathBuf,
    /// `sqlite://PATH` or `postgres://…`; default `sqlite://<data_dir>/verity.db`.
    pub database_url: Option<String>,
    /// Directory of model files (`verity models fetch`).
    pub models_dir: PathBuf,
    pub limits: LimitsConfig,
    pub workers: WorkersConfig,
    pub webhooks: WebhooksConfig,
    pub storage: StorageConfig,
    pub log: LogConfig,
    pub metrics: MetricsConfig,
    pub verification: VerificationConfig,
    pub hosted: HostedConfig,
    pub dashboard: DashboardConfig,
}

/// The partner dashboard (`/dashboard/`): its sessions and login protection.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DashboardConfig {
    /// A session ends after this long without a request.
    pub idle_minutes: u64,
    /// And after this long whatever the activity.
    pub session_hours: u64,
    /// Login attempts per minute from one address (wrong or right).
    pub login_attempts_per_minute: u32,
    /// Wrong passwords in a row that lock a user out, and for how long.
    pub lock_after: u32,
    pub lock_minutes: u64,
    /// Session cookies are `Secure` when the dashboard is reached over HTTPS (`hosted.public_url`
    /// is `https://…`, or a trusted proxy says `X-Forwarded-Proto: https`); `true` forces it.
    pub secure_cookies: bool,
}

impl Default for DashboardConfig {
    fn default() -> Self {
        Self {
            idle_minutes: 30,
            session_hours: 12,
            login_attempts_per_minute: 10,
            lock_after: 5,
            lock_minutes: 15,
            secure_cookies: false,
        }
    }
}

/// The hosted capture flow (`/verif/`) and the defaults of each tenant's partner settings.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct HostedConfig {
    /// The address users and partners reach Verity at (capture links, signed file links in
    /// webhooks), e.g. `https://verify.example.com`; empty: `http://<listen>`.
    pub public_url: String,
    /// Largest `POST /verif/submit` body: the video, the ID photos and the form's fields.
    pub body_bytes: usize,
    /// Largest ID photo.
    pub photo_bytes: usize,
    /// How long a signed file link (`/verif/files/…`) works.
    pub link_ttl_secs: u64,
    /// Defaults of the partner settings (`/v1/partner/settings`): how long a capture link
    /// works, how long its files are kept, how many random prompts the selfie video has, and
    /// where results are delivered (empty: nowhere).
    pub session_ttl_minutes: u64,
    pub retention_days: u64,
    pub prompts: usize,
    pub webhook_url: String,
    /// The page's default look (title, colours, logo, introduction).
    pub theme: crate::hosted::partner::Theme,
}

impl Default for HostedConfig {
    fn default() -> Self {
        Self {
            public_url: String::new(),
            body_bytes: (50 << 20) + (24 << 20),
            photo_bytes: 10 << 20,
            link_ttl_secs: 3600,
            session_ttl_minutes: 60,
            retention_days: 7,
            prompts: 2,
            webhook_url: String::new(),
            theme: crate::hosted::partner::Theme::default(),
        }
    }
}

/// One-call verification (`POST /v1/identity/verify`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct VerificationConfig {
    /// Largest request body: three 4 MB images in base64 and the other fields.
    pub body_bytes: usize,
    /// A sync verification not finished within this time is answered `pending` (202); it
    /// finishes in the background and is read with `GET /v1/identity/verify/{id}`.
    pub sync_budget_ms: u64,
    /// Largest `metadata` object, serialised.
    pub metadata_bytes: usize,
}

impl Default for VerificationConfig {
    fn default() -> Self {
        Self { body_bytes: 18 << 20, sync_budget_ms: 15_000, metadata_bytes: 4096 }
    }
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// `/metrics` wants `Authorization: Bearer <token>`. Empty: `/metrics` answers only
    /// clients on loopback (a Prometheus on the same host), 404 to everyone else.
    pub token: Secret,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Largest JSON request body (a 4 MB image is ~5.4 MB in base64).
    pub json_body_bytes: usize,
    /// Largest live-video upload.
    pub video_body_bytes: usize,
    /// Requests taking longer are answered 408... (uploads are bounded by size, not time).
    pub request_timeout_secs: u64,
    /// Requests per minute per API key (0 = unlimited).
    pub requests_per_minute: u32,
    /// Live photos and document images: ComplyCube's 34 KB – 4 MB.
    pub image_min_bytes: usize,
    pub image_max_bytes: usize,
    /// Uploads read and checked at the same time (the rest wait before their body is read).
    pub concurrent_uploads: usize,
    /// Of those, how many one tenant may hold (so one tenant cannot stall another).
    pub concurrent_uploads_per_tenant: usize,
    /// An upload body must arrive at least this fast (after a 5-second grace), or it is cut
    /// off with 408 `body_too_slow`.
    pub min_upload_bytes_per_sec: u64,
    /// A connection must send a whole request head within this time; also the longest idle
    /// time between two requests on a kept-alive connection.
    pub header_read_timeout_secs: u64,
    /// Connections open at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// Connections open at once from one client address; more are closed at once.
    pub max_connections_per_address: usize,
    /// On SIGINT/SIGTERM, how long requests in flight may take to finish.
    pub shutdown_grace_secs: u64,
    /// Failed authentications per minute from one client address before it gets 429.
    pub failed_auth_per_minute: u32,
    /// Reverse proxies in front of Verity (IP addresses or CIDR blocks). Their connections are
    /// not capped per address, and a request through them is counted against the client named
    /// in `X-Forwarded-For` (its right-most address that is not a trusted proxy).
    pub trusted_proxies: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct WorkersConfig {
    /// Worker tasks in this process (0: this process serves HTTP only).
    pub count: usize,
    /// A job whose worker stops heart-beating for this long is taken again.
    pub lease_secs: u64,
    /// How often an idle worker looks for jobs (jobs created in this process wake it at once).
    pub poll_ms: u64,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct WebhooksConfig {
    /// Attempts before the endpoint is disabled.
    pub max_attempts: i64,
    /// Delay before the 2nd attempt; doubles each time.
    pub backoff_base_ms: i64,
    pub timeout_secs: u64,
    /// Receivers on loopback, private, link-local and other internal addresses are refused
    /// (server-side request forgery) unless listed here: IP addresses or CIDR blocks
    /// (`10.0.0.0/8`, `127.0.0.1/32`, `::1/128`) for on-premises receivers.
    pub allow_addresses: Vec<String>,
    /// Webhook endpoints one tenant may register.
    pub max_per_tenant: u64,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// `local` (`<data_dir>/files`) or `s3` (the `[storage.s3]` bucket).
    pub backend: String,
    /// 64 hex characters (AES-256-GCM key for files at rest). Empty: generated into
    /// `<data_dir>/file.key` on first start, with a warning.
    pub encryption_key: Secret,
    pub s3: S3Config,
}

/// An S3-compatible bucket. Empty values fall back to the `AWS_*` environment variables.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct S3Config {
    pub bucket: String,
    /// Key prefix inside the bucket (several deployments can share one bucket).
    pub prefix: String,
    pub region: String,
    /// Empty for AWS; the base URL of MinIO, Ceph, R2, … (`http://` allowed for a local one).
    pub endpoint: String,
    pub access_key_id: String,
    pub secret_access_key: Secret,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: String,
    /// An `EnvFilter` directive (`info`, `verity_server=debug`, …).
    pub level: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from(".verity"),
            database_url: None,
            models_dir: PathBuf::from("models"),
            limits: LimitsConfig::default(),
            workers: WorkersConfig::default(),
            webhooks: WebhooksConfig::default(),
            storage: StorageConfig::default(),
            log: LogConfig::default(),
            metrics: MetricsConfig::default(),
            verification: VerificationConfig::default(),
            hosted: HostedConfig::default(),
            dashboard: DashboardConfig::default(),
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            json_body_bytes: 6 << 20,
            video_body_bytes: 50 << 20,
            request_timeout_secs: 60,
            requests_per_minute: 6000,
            image_min_bytes: 34 * 1024,
            image_max_bytes: 4 << 20,
            concurrent_uploads: 2,
            concurrent_uploads_per_tenant: 1,
            min_upload_bytes_per_sec: 16 * 1024,
            header_read_timeout_secs: 10,
            max_connections: 1024,
            max_connections_per_address: 256,
            shutdown_grace_secs: 30,
            failed_auth_per_minute: 60,
            trusted_proxies: Vec::new(),
        }
    }
}

impl Default for WorkersConfig {
    fn default() -> Self {
        Self { count: 2, lease_secs: 60, poll_ms: 500 }
    }
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        Self {
            max_attempts: 10,
            backoff_base_ms: 10_000,
            timeout_secs: 10,
            allow_addresses: Vec::new(),
            max_per_tenant: 20,
        }
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self { backend: "local".into(), encryption_key: Secret(String::new()), s3: S3Config::default() }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self { format: "text".into(), level: "info".into() }
    }
}

/// Errors of configuration loading.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config: {0}")]
    Invalid(String),
}

/// Parses an environment value as TOML (numbers, booleans) or, failing that, as a string.
fn env_value(v: &str) -> toml::Value {
    let doc = format!("v = {v}");
    match doc.parse::<toml::Table>() {
        Ok(mut t) => t.remove("v").unwrap_or_else(|| toml::Value::String(v.to_string())),
        Err(_) => toml::Value::String(v.to_string()),
    }
}

impl Config {
    /// Defaults, then the TOML file (if any), then `VERITY__…` variables from `env`.
    pub fn load(
        file: Option<&std::path::Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut table = match file {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|source| ConfigError::Read { path: p.to_path_buf(), source })?;
                text.parse::<toml::Table>()
                    .map_err(|e| ConfigError::Invalid(format!("{}: {e}", p.display())))?
            }
            None => toml::Table::new(),
        };
        for (k, v) in env {
            let Some(rest) = k.strip_prefix("VERITY__") else { continue };
            let path: Vec<String> = rest.split("__").map(|s| s.to_ascii_lowercase()).collect();
            let mut cur = &mut table;
            for (i, seg) in path.iter().enumerate() {
                if i + 1 == path.len() {
                    cur.insert(seg.clone(), env_value(&v));
                } else {
                    let next =
                        cur.entry(seg.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
                    let toml::Value::Table(t) = next else {
                        return Err(ConfigError::Invalid(format!("{k}: {seg} is not a section")));
                    };
                    cur = t;
                }
            }
        }
        let cfg: Config =
            table.try_into().map_err(|e: toml::de::Error| ConfigError::Invalid(e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.limits.image_min_bytes > self.limits.image_max_bytes {
            return Err(ConfigError::Invalid("limits.image_min_bytes > limits.image_max_bytes".into()));
        }
        for a in &self.limits.trusted_proxies {
            if crate::outbound::Cidr::parse(a).is_none() {
                return Err(ConfigError::Invalid(format!(
                    "limits.trusted_proxies: {a:?} is not an IP address or CIDR block"
                )));
            }
        }
        for a in &self.webhooks.allow_addresses {
            if crate::outbound::Cidr::parse(a).is_none() {
                return Err(ConfigError::Invalid(format!(
                    "webhooks.allow_addresses: {a:?} is not an IP address or CIDR block"
                )));
            }
        }
        let v = &self.verification;
        if v.sync_budget_ms >= self.limits.request_timeout_secs.saturating_mul(1000) {
            return Err(ConfigError::Invalid(
                "verification.sync_budget_ms must be shorter than limits.request_timeout_secs".into(),
            ));
        }
        let h = &self.hosted;
        if !(1..=4).contains(&h.prompts) {
            return Err(ConfigError::Invalid("hosted.prompts: 1 to 4".into()));
        }
        if h.retention_days == 0 || h.session_ttl_minutes == 0 || h.link_ttl_secs == 0 {
            return Err(ConfigError::Invalid(
                "hosted.retention_days, hosted.session_ttl_minutes and hosted.link_ttl_secs must be positive"
                    .into(),
            ));
        }
        if let Err(e) = h.theme.check() {
            return Err(ConfigError::Invalid(format!("hosted.theme: {e}")));
        }
        let scheme = |u: &str| u.starts_with("http://") || u.starts_with("https://");
        if !h.public_url.is_empty() && !scheme(&h.public_url) {
            return Err(ConfigError::Invalid("hosted.public_url: an http:// or https:// address".into()));
        }
        if !matches!(self.log.format.as_str(), "text" | "json") {
            return Err(ConfigError::Invalid(format!("log.format {:?}: text or json", self.log.format)));
        }
        let k = &self.storage.encryption_key.0;
        if !k.is_empty() && (k.len() != 64 || !k.chars().all(|c| c.is_ascii_hexdigit())) {
            return Err(ConfigError::Invalid("storage.encryption_key: 64 hex characters".into()));
        }
        match self.storage.backend.as_str() {
            "local" => {}
            "s3" if self.storage.s3.bucket.is_empty() => {
                return Err(ConfigError::Invalid(
                    "storage.s3.bucket is required when storage.backend = \"s3\"".into(),
                ))
            }
            "s3" => {}
            other => {
                return Err(ConfigError::Invalid(format!("storage.backend {other:?}: local or s3")));
            }
        }
        Ok(())
    }

    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("verity.db").display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_apply_in_order_and_secrets_do_not_print() {
        let dir = tempfile::tempdir().expect("tmp");
        let f = dir.path().join("verity.toml");
        std::fs::write(&f, "listen = \"0.0.0.0:9000\"\n[workers]\ncount = 4\n[storage]\nencryption_key = \"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"\n").expect("write");
        let env = vec![
            ("VERITY__WORKERS__COUNT".to_string(), "7".to_string()),
            ("VERITY__LOG__FORMAT".to_string(), "json".to_string()),
            ("UNRELATED".to_string(), "x".to_string()),
        ];
        let c = Config::load(Some(&f), env).expect("loads");
        assert_eq!(c.listen, "0.0.0.0:9000");
        assert_eq!(c.workers.count, 7, "env beats file");
        assert_eq!(c.log.format, "json");
        assert_eq!(c.webhooks.max_attempts, 10, "default kept");
        assert!(!format!("{c:?}").contains("0011223344"), "secret hidden");
        let bad = Config::load(None, vec![("VERITY__LOG__FORMAT".into(), "xml".into())]);
        assert!(bad.is_err());
        let unknown = Config::load(None, vec![("VERITY__NOPE".into(), "1".into())]);
        assert!(unknown.is_err(), "unknown keys are refused");
    }

    #[test]
    fn the_sample_file_is_valid_and_complete() {
        let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../verity.sample.toml");
        let c = Config::load(Some(&sample), Vec::new()).expect("sample parses");
        assert_eq!(
            c,
            Config { database_url: c.database_url.clone(), ..Config::default() },
            "sample shows the defaults"
        );
    }
}

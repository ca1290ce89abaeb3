//! `verity serve` and `verity keys …`.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use serde_json::{json, Value};
use verity_server::Config;

use crate::CliError;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// TOML config file (see verity.sample.toml); also `$VERITY_CONFIG`.
    #[arg(long, env = "VERITY_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Address to listen on (overrides the config).
    #[arg(long, global = true)]
    pub listen: Option<String>,
    /// Data directory (overrides the config).
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// Database URL (overrides the config): sqlite://PATH or postgres://…
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    /// Worker tasks in this process (overrides the config).
    #[arg(long, global = true)]
    pub workers: Option<usize>,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create an API key; prints it once (only its hash is stored).
    Create {
        #[arg(long)]
        name: String,
        /// Add the key to this existing tenant (default: a new tenant named after the key).
        #[arg(long)]
        tenant: Option<String>,
    },
    /// List keys (never the secrets).
    List,
    /// Revoke a key by id or prefix.
    Revoke { id: String },
}

/// Config layering: defaults → file → `VERITY__…` env → flags.
pub fn load_config(args: &ServeArgs, models_dir: &Path) -> Result<Config, CliError> {
    let mut c = Config::load(args.config.as_deref(), std::env::vars())
        .map_err(|e| CliError::input("config_invalid", e.to_string()))?;
    if let Some(l) = &args.listen {
        c.listen = l.clone();
    }
    if let Some(d) = &args.data_dir {
        c.data_dir = d.clone();
    }
    if let Some(u) = &args.database_url {
        c.database_url = Some(u.clone());
    }
    if let Some(w) = args.workers {
        c.workers.count = w;
    }
    // The global --models-dir (or VERITY_MODELS_DIR) wins over the config file's default.
    if models_dir != Path::new("models") || args.config.is_none() {
        c.models_dir = models_dir.to_path_buf();
    }
    Ok(c)
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::other("runtime", e.to_string()))
}

fn init_logs(c: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&c.log.level));
    let b = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if c.log.format == "json" { b.json().try_init() } else { b.try_init() };
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down: finishing requests and jobs in hand");
}

/// glibc gives each thread that allocates an arena of its own (up to 8 per core) and keeps the
/// freed image buffers of each: a server whose checks hop between pooled threads holds far more
/// memory than it uses. So `serve` runs with `MALLOC_ARENA_MAX` set to twice the core count
/// unless the operator set it. Same bench on 2 cores (peak RSS / `GET /v1/checks/{id}`):
/// glibc's default 586–634 MB / 5,355 req/s; 2 arenas 385 MB / 3,085 req/s (threads wait on
/// malloc); 4 arenas 423 MB / 6,277 req/s. glibc reads the variable only at start, so the
/// process re-executes itself once with it set (same PID, same arguments); if that fails it
/// carries on with glibc's default.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn bound_malloc_arenas() {
    use std::os::unix::process::CommandExt;
    if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else { return };
    let n = 2 * std::thread::available_parallelism().map_or(2, |n| n.get());
    let err = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env("MALLOC_ARENA_MAX", n.to_string())
        .exec();
    eprintln!(
        "verity: could not re-execute with MALLOC_ARENA_MAX={n} ({err}); continuing with glibc's default"
    );
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn bound_malloc_arenas() {}

/// `verity serve`: runs until SIGINT/SIGTERM.
pub fn serve(args: &ServeArgs, models_dir: &Path) -> Result<Value, CliError> {
    bound_malloc_arenas();
    let mut config = load_config(args, models_dir)?;
    init_logs(&config);
    let rt = runtime()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&config.listen)
            .await
            .map_err(|e| CliError::other("listen_failed", format!("cannot listen on {}: {e}", config.listen)))?;
        let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
        if config.hosted.public_url.is_empty() {
            // Capture links and file links name the address actually bound (port 0 included).
            config.hosted.public_url = format!("http://{addr}");
            if !listener.local_addr().is_ok_and(|a| a.ip().is_loopback()) {
                tracing::warn!(
                    "hosted.public_url is not set: capture and file links will name http://{addr}; set it to the address users reach"
                );
            }
        }
        let state = verity_server::AppState::from_config(config)
            .await
            .map_err(|e| CliError::other("startup_failed", e.to_string()))?;
        tracing::info!(%addr, backend = state.store.backend(), workers = state.config.workers.count, "Verity listening");
        eprintln!("verity: listening on http://{addr}");
        verity_server::launch(listener, state, shutdown_signal()).await.map_err(|e| CliError::other("serve_failed", e.to_string()))?;
        Ok(json!({"stopped": true}))
    })
}

/// `verity keys …`.
pub fn keys(cmd: &KeysCommand, args: &ServeArgs, models_dir: &Path) -> Result<Value, CliError> {
    let config = load_config(args, models_dir)?;
    let rt = runtime()?;
    rt.block_on(async move {
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|e| CliError::other("data_dir", format!("{}: {e}", config.data_dir.display())))?;
        let store = verity_store::connect(&config.database_url())
            .await
            .map_err(|e| CliError::other("database", e.to_string()))?;
        let now = verity_store::time::now_ms();
        let db = |e: verity_store::StoreError| CliError::other("database", e.to_string());
        match cmd {
            KeysCommand::Create { name, tenant } => {
                let tenant_id =
                    match tenant {
                        Some(t) => {
                            store.tenant(t).await.map_err(db)?.ok_or_else(|| {
                                CliError::input("tenant_not_found", format!("no tenant {t}"))
                            })?;
                            t.clone()
                        }
                        None => {
                            let t = verity_store::Tenant {
                                id: verity_server::ids::new_id(),
                                name: name.clone(),
                                created_at: now,
                            };
                            store.create_tenant(&t).await.map_err(db)?;
                            t.id
                        }
                    };
                let (k, key) =
                    verity_server::auth::create_key(store.as_ref(), &tenant_id, name).await.map_err(db)?;
                Ok(json!({"id": k.id, "name": name, "tenantId": tenant_id, "prefix": k.prefix, "key": key,
                          "note": "shown once: only a hash is stored"}))
            }
            KeysCommand::List => {
                let ks = store.list_keys().await.map_err(db)?;
                Ok(json!({"keys": ks.iter().map(|k| json!({
                    "id": k.id, "name": k.name, "tenantId": k.tenant_id, "prefix": k.prefix,
                    "createdAt": verity_store::time::format_ms(k.created_at),
                    "revokedAt": k.revoked_at.map(verity_store::time::format_ms),
                })).collect::<Vec<_>>()}))
            }
            KeysCommand::Revoke { id } => {
                let n = store.revoke_key(id, now).await.map_err(db)?;
                if n == 0 {
                    return Err(CliError::input(
                        "key_not_found",
                        format!("no active key with id or prefix {id}"),
                    ));
                }
                Ok(json!({"revoked": n}))
            }
        }
    })
}

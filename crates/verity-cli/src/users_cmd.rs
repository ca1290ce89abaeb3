//! `verity users …`: the dashboard's users (people; programs use API keys).

use std::io::Read;
use std::path::Path;

use clap::Subcommand;
use serde_json::{json, Value};
use verity_server::dashboard::users::{self, Role, UserError};

use crate::serve_cmd::{load_config, runtime, ServeArgs};
use crate::CliError;

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create a dashboard user of a tenant; without --password-stdin a random password is
    /// generated and printed once.
    Create {
        #[arg(long)]
        email: String,
        /// admin (keys, settings, team), reviewer (decides cases) or viewer (reads).
        #[arg(long)]
        role: String,
        /// The tenant (see `verity keys list`).
        #[arg(long)]
        tenant: String,
        /// Read the password from standard input (first line).
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users (never the password hashes).
    List {
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Disable a user (their sessions end at once) or enable them again.
    Disable {
        email: String,
        #[arg(long)]
        enable: bool,
    },
}

pub fn users_cmd(cmd: &UsersCommand, args: &ServeArgs, models_dir: &Path) -> Result<Value, CliError> {
    let config = load_config(args, models_dir)?;
    runtime()?.block_on(async move {
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|e| CliError::other("data_dir", format!("{}: {e}", config.data_dir.display())))?;
        let db = |e: verity_store::StoreError| CliError::other("database", e.to_string());
        let store = verity_store::connect(&config.database_url()).await.map_err(db)?;
        match cmd {
            UsersCommand::Create { email, role, tenant, password_stdin } => {
                let role = Role::parse(role).ok_or_else(|| {
                    CliError::input("role_invalid", format!("role {role:?}: admin, reviewer or viewer"))
                })?;
                let (password, generated) = if *password_stdin {
                    let mut s = String::new();
                    std::io::stdin()
                        .read_to_string(&mut s)
                        .map_err(|e| CliError::input("password_unreadable", e.to_string()))?;
                    (s.lines().next().unwrap_or_default().to_string(), false)
                } else {
                    (users::generate_password(), true)
                };
                let u =
                    users::create(store.as_ref(), email, role, tenant, &password).await.map_err(
                        |e| match e {
                            UserError::Invalid(m) => CliError::input("user_invalid", m),
                            UserError::Taken(_) => CliError::input("user_exists", e.to_string()),
                            UserError::NoTenant(_) => CliError::input("tenant_not_found", e.to_string()),
                            UserError::Store(e) => db(e),
                        },
                    )?;
                let mut out = json!({"id": u.id, "email": u.email, "role": u.role, "tenantId": u.tenant_id,
                                     "login": "/dashboard/login"});
                if generated {
                    out["password"] = json!(password);
                    out["note"] = json!("shown once: only an Argon2id hash is stored");
                }
                Ok(out)
            }
            UsersCommand::List { tenant } => {
                let us = store.list_users(tenant.as_deref()).await.map_err(db)?;
                Ok(json!({"users": us.iter().map(|u| json!({
                    "id": u.id, "email": u.email, "role": u.role, "tenantId": u.tenant_id,
                    "createdAt": verity_store::time::format_ms(u.created_at),
                    "disabledAt": u.disabled_at.map(verity_store::time::format_ms),
                })).collect::<Vec<_>>()}))
            }
            UsersCommand::Disable { email, enable } => {
                let e = users::normalise_email(email)
                    .map_err(|e| CliError::input("user_invalid", e.to_string()))?;
                let u = store
                    .user_by_email(&e)
                    .await
                    .map_err(db)?
                    .ok_or_else(|| CliError::input("user_not_found", format!("no user {e}")))?;
                let at = (!enable).then(verity_store::time::now_ms);
                store.set_user_disabled(&u.id, at).await.map_err(db)?;
                let ended = if *enable { 0 } else { store.delete_user_sessions(&u.id).await.map_err(db)? };
                Ok(json!({"email": u.email, "disabled": !enable, "sessionsEnded": ended}))
            }
        }
    })
}

//! Schema migrations, applied in order at connect; each version once, in a transaction.
//! Written in the subset of SQL that SQLite and PostgreSQL share (TEXT, BIGINT).

pub const MIGRATIONS: &[(i64, &str, &[&str])] = &[
    (
        1,
        "tenants, keys, resources, jobs, events, deliveries",
        &[
            "CREATE TABLE tenants (id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at BIGINT NOT NULL)",
            "CREATE TABLE api_keys (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants(id), \
         name TEXT NOT NULL, prefix TEXT NOT NULL, key_hash TEXT NOT NULL UNIQUE, \
         created_at BIGINT NOT NULL, revoked_at BIGINT)",
            "CREATE TABLE resources (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, kind TEXT NOT NULL, \
         client_id TEXT, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, body TEXT NOT NULL)",
            "CREATE INDEX resources_list ON resources (tenant_id, kind, created_at)",
            "CREATE INDEX resources_client ON resources (tenant_id, client_id)",
            "CREATE TABLE jobs (id TEXT PRIMARY KEY, kind TEXT NOT NULL, payload TEXT NOT NULL, \
         state TEXT NOT NULL, attempts BIGINT NOT NULL, max_attempts BIGINT NOT NULL, \
         run_at BIGINT NOT NULL, lease_until BIGINT, last_error TEXT, \
         created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)",
            "CREATE INDEX jobs_due ON jobs (state, run_at)",
            "CREATE TABLE events (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, type TEXT NOT NULL, \
         resource_type TEXT NOT NULL, payload TEXT NOT NULL, created_at BIGINT NOT NULL)",
            "CREATE TABLE webhook_deliveries (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, \
         webhook_id TEXT NOT NULL, event_id TEXT NOT NULL, attempt BIGINT NOT NULL, \
         status_code BIGINT, error TEXT, created_at BIGINT NOT NULL)",
            "CREATE INDEX deliveries_webhook ON webhook_deliveries (tenant_id, webhook_id, created_at)",
        ],
    ),
    (
        2,
        "resource versions (compare-and-swap updates)",
        &["ALTER TABLE resources ADD COLUMN version BIGINT NOT NULL DEFAULT 0"],
    ),
    (
        3,
        "internal state out of the public body",
        &["ALTER TABLE resources ADD COLUMN internal TEXT NOT NULL DEFAULT '{}'"],
    ),
    (
        4,
        "fingerprints of verifications for duplicate searches",
        &[
            "CREATE TABLE fingerprints (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, owner_id TEXT NOT NULL, \
         data TEXT, created_at BIGINT NOT NULL)",
            "CREATE INDEX fingerprints_tenant ON fingerprints (tenant_id, created_at)",
            "CREATE INDEX fingerprints_owner ON fingerprints (tenant_id, owner_id)",
        ],
    ),
    (
        5,
        "dashboard users and their sessions",
        &[
            "CREATE TABLE dashboard_users (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants(id), \
         email TEXT NOT NULL UNIQUE, role TEXT NOT NULL, password_hash TEXT NOT NULL, \
         created_at BIGINT NOT NULL, disabled_at BIGINT, failed_logins BIGINT NOT NULL DEFAULT 0, \
         locked_until BIGINT)",
            "CREATE TABLE dashboard_sessions (id_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, \
         tenant_id TEXT NOT NULL, csrf TEXT NOT NULL, created_at BIGINT NOT NULL, \
         last_seen_at BIGINT NOT NULL, expires_at BIGINT NOT NULL)",
            "CREATE INDEX dashboard_sessions_user ON dashboard_sessions (user_id)",
        ],
    ),
    (
        6,
        "delivery latency and next retry",
        &[
            "ALTER TABLE webhook_deliveries ADD COLUMN latency_ms BIGINT",
            "ALTER TABLE webhook_deliveries ADD COLUMN next_retry_at BIGINT",
        ],
    ),
];

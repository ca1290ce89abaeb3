//! The storage suite every backend must pass: SQLite always; PostgreSQL when
//! `VERITY_TEST_DATABASE_URL` names a server (CI starts a throwaway cluster and sets it). Each
//! PostgreSQL run creates its own database.

use std::sync::Arc;

use serde_json::json;
use sqlx::Connection;
use verity_store::{
    ApiKey, Delivery, Event, KindFilter, ListQuery, NewJob, Resource, Session, SqlStore, Storage, Tenant,
    User,
};

async fn backends() -> Vec<(String, Arc<dyn Storage>, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().expect("tmp");
    let url = format!("sqlite://{}", dir.path().join("verity.db").display());
    let mut out: Vec<(String, Arc<dyn Storage>, Option<tempfile::TempDir>)> =
        vec![("sqlite".into(), Arc::new(SqlStore::connect(&url).await.expect("sqlite")), Some(dir))];
    if let Ok(pg) = std::env::var("VERITY_TEST_DATABASE_URL") {
        if !pg.trim().is_empty() {
            sqlx::any::install_default_drivers();
            static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let name = format!("verity_test_{}_{}_{n}", std::process::id(), verity_store::time::now_ms());
            let mut admin = sqlx::AnyConnection::connect(&pg).await.expect("postgres reachable");
            // Concurrent CREATE DATABASE can find the template busy: try a few times.
            let mut tries = 0;
            while let Err(e) = sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await {
                tries += 1;
                assert!(tries < 20, "create database: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            let base = pg.rsplit_once('/').map(|(b, _)| b.to_string()).expect("url with a database");
            let url = format!("{base}/{name}");
            out.push(("postgres".into(), Arc::new(SqlStore::connect(&url).await.expect("postgres")), None));
        }
    }
    out
}

fn res(
    id: &str,
    tenant: &str,
    kind: &str,
    client: Option<&str>,
    t: i64,
    body: serde_json::Value,
) -> Resource {
    Resource {
        id: id.into(),
        tenant_id: tenant.into(),
        kind: kind.into(),
        client_id: client.map(str::to_string),
        created_at: t,
        updated_at: t,
        version: 0,
        body,
        internal: serde_json::json!({}),
    }
}

#[tokio::test]
async fn resources_are_isolated_by_tenant_and_listed_newest_first() {
    for (name, s, _keep) in backends().await {
        for t in ["t1", "t2"] {
            s.create_tenant(&Tenant { id: t.into(), name: t.into(), created_at: 1 }).await.expect("tenant");
        }
        for i in 0..5 {
            let first = if i % 2 == 0 { "John" } else { "Jane" };
            s.insert(&res(
                &format!("c{i}"),
                "t1",
                "client",
                None,
                1000 + i,
                json!({"personDetails": {"firstName": first}}),
            ))
            .await
            .expect("insert");
        }
        s.insert(&res("x1", "t2", "client", None, 2000, json!({"personDetails": {"firstName": "John"}})))
            .await
            .expect("insert");
        assert!(s.get("t2", "client", "c1").await.expect("get").is_none(), "{name}: other tenant's id");
        assert!(s.get("t1", "document", "c1").await.expect("get").is_none(), "{name}: other kind");
        let all = s
            .list("t1", "client", &ListQuery { page: 1, page_size: 2, ..Default::default() })
            .await
            .expect("list");
        assert_eq!(all.total, 5, "{name}");
        assert_eq!(all.items.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["c4", "c3"], "{name}");
        let p3 = s
            .list("t1", "client", &ListQuery { page: 3, page_size: 2, ..Default::default() })
            .await
            .expect("list");
        assert_eq!(p3.items.len(), 1, "{name}");
        let johns = s
            .list(
                "t1",
                "client",
                &ListQuery {
                    filters: vec![("personDetails.firstName".into(), "John".into())],
                    page: 1,
                    page_size: 10,
                    ..Default::default()
                },
            )
            .await
            .expect("filter");
        assert_eq!(johns.total, 3, "{name}");
        let window = s
            .list(
                "t1",
                "client",
                &ListQuery {
                    created_after: Some(1001),
                    created_before: Some(1003),
                    page: 1,
                    page_size: 10,
                    ..Default::default()
                },
            )
            .await
            .expect("dates");
        assert_eq!(window.total, 3, "{name}");
        let bad = s
            .list(
                "t1",
                "client",
                &ListQuery {
                    filters: vec![(String::from("x') OR 1=1 OR ('"), String::from("1"))],
                    page: 1,
                    page_size: 1,
                    ..Default::default()
                },
            )
            .await;
        assert!(bad.is_err(), "{name}");

        let mut r = s.get("t1", "client", "c0").await.expect("get").expect("exists");
        r.body["email"] = json!("a@b.c");
        r.updated_at = 5000;
        assert!(s.update(&r).await.expect("update"));
        assert_eq!(s.get("t1", "client", "c0").await.expect("get").expect("exists").body["email"], "a@b.c");
        let mut foreign = r.clone();
        foreign.tenant_id = "t2".into();
        assert!(!s.update(&foreign).await.expect("update"), "{name}: update across tenants");
        // `r` was read at the version before its own update: a second write of it is stale.
        r.body["email"] = json!("stale@b.c");
        assert!(!s.update(&r).await.expect("update"), "{name}: a stale version must not overwrite");
        assert!(!s.delete_unchanged(&r).await.expect("delete"), "{name}: a stale version must not delete");
        let fresh = s.get("t1", "client", "c0").await.expect("get").expect("exists");
        assert_eq!((fresh.version, fresh.body["email"].clone()), (r.version + 1, json!("a@b.c")), "{name}");
        assert!(!s.delete("t2", "client", "c0").await.expect("delete"), "{name}: delete across tenants");
        assert!(s.delete("t1", "client", "c0").await.expect("delete"));
        assert!(s.get("t1", "client", "c0").await.expect("get").is_none());
    }
}

/// Many writers racing a read-modify-write of one row, each retrying on a stale version: every
/// change survives (the lost-update defect: concurrent updates of different fields).
#[tokio::test]
async fn concurrent_read_modify_writes_lose_nothing() {
    for (name, s, _keep) in backends().await {
        s.insert(&res("cas", "t1", "client", None, 1, json!({}))).await.expect("insert");
        let mut tasks = Vec::new();
        for i in 0..16 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                let mut tries = 0;
                loop {
                    tries += 1;
                    let mut r = s.get("t1", "client", "cas").await.expect("get").expect("exists");
                    r.body[format!("f{i}")] = json!(i);
                    tokio::task::yield_now().await;
                    if s.update(&r).await.expect("update") {
                        return tries;
                    }
                    assert!(tries < 1000, "no progress");
                }
            }));
        }
        let mut retried = 0;
        for t in tasks {
            retried += t.await.expect("task") - 1;
        }
        let r = s.get("t1", "client", "cas").await.expect("get").expect("exists");
        for i in 0..16 {
            assert_eq!(r.body[format!("f{i}")], json!(i), "{name}: field f{i} lost ({retried} retries)");
        }
        assert_eq!(r.version, 16, "{name}");
    }
}

#[tokio::test]
async fn keys_are_found_by_hash_until_revoked() {
    for (name, s, _keep) in backends().await {
        s.create_tenant(&Tenant { id: "t".into(), name: "acme".into(), created_at: 1 })
            .await
            .expect("tenant");
        let k = ApiKey {
            id: "k1".into(),
            tenant_id: "t".into(),
            name: "ci".into(),
            prefix: "vk_abc".into(),
            key_hash: "h1".into(),
            created_at: 1,
            revoked_at: None,
        };
        s.create_key(&k).await.expect("key");
        assert_eq!(s.key_by_hash("h1").await.expect("q").map(|k| k.tenant_id), Some("t".into()), "{name}");
        assert_eq!(s.list_keys().await.expect("list").len(), 1);
        assert_eq!(s.revoke_key("vk_abc", 9).await.expect("revoke"), 1);
        assert!(s.key_by_hash("h1").await.expect("q").is_none(), "{name}");
        assert_eq!(s.revoke_key("vk_abc", 10).await.expect("revoke"), 0);
    }
}

#[tokio::test]
async fn jobs_are_claimed_once_retried_and_taken_again_after_a_lease_expires() {
    for (name, s, _keep) in backends().await {
        let job = |id: &str, run_at| NewJob {
            id: id.into(),
            kind: "k".into(),
            payload: json!({"n": id}),
            max_attempts: 3,
            run_at,
        };
        s.enqueue(&job("a", 100)).await.expect("enqueue");
        s.enqueue(&job("b", 10_000)).await.expect("enqueue");
        assert!(s.claim(50, 1000).await.expect("claim").is_none(), "{name}: nothing due yet");
        let a = s.claim(200, 1000).await.expect("claim").expect("a is due");
        assert_eq!((a.id.as_str(), a.attempts, a.state.as_str()), ("a", 1, "running"), "{name}");
        assert!(s.claim(300, 1000).await.expect("claim").is_none(), "{name}: leased");
        // The worker dies; after the lease another worker takes it, and the first one's late
        // updates no longer count.
        let again = s.claim(1300, 1000).await.expect("claim").expect("lease expired");
        assert_eq!((again.id.as_str(), again.attempts), ("a", 2), "{name}");
        assert!(!s.heartbeat("a", 1, 5000).await.expect("hb"), "{name}: stale worker");
        assert!(s.heartbeat("a", 2, 5000).await.expect("hb"));
        s.retry_later("a", 2, 6000, "boom").await.expect("retry");
        let j = s.job("a").await.expect("job").expect("exists");
        assert_eq!((j.state.as_str(), j.last_error.as_deref()), ("queued", Some("boom")), "{name}");
        let third = s.claim(6000, 1000).await.expect("claim").expect("due again");
        assert_eq!(third.attempts, 3);
        s.give_up("a", 3, "still boom", 6100).await.expect("give up");
        assert_eq!(s.job("a").await.expect("job").expect("exists").state, "failed");
        let b = s.claim(20_000, 1000).await.expect("claim").expect("b");
        s.finish(&b.id, b.attempts, 20_001).await.expect("finish");
        let c = s.job_counts().await.expect("counts");
        assert_eq!((c.done, c.failed, c.queued, c.running), (1, 1, 0, 0), "{name}");
    }
}

#[tokio::test]
async fn concurrent_claims_never_hand_out_a_job_twice() {
    for (name, s, _keep) in backends().await {
        for i in 0..40 {
            s.enqueue(&NewJob {
                id: format!("j{i:02}"),
                kind: "k".into(),
                payload: json!({}),
                max_attempts: 1,
                run_at: 0,
            })
            .await
            .expect("enqueue");
        }
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                let mut got = Vec::new();
                while let Some(j) = s.claim(1, 60_000).await.expect("claim") {
                    got.push(j.id);
                }
                got
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.expect("task"));
        }
        all.sort();
        let n = all.len();
        all.dedup();
        assert_eq!((n, all.len()), (40, 40), "{name}: every job exactly once");
    }
}

#[tokio::test]
async fn events_and_deliveries_round_trip() {
    for (name, s, _keep) in backends().await {
        let e = Event {
            id: "e1".into(),
            tenant_id: "t".into(),
            event_type: "check.completed".into(),
            resource_type: "check".into(),
            payload: json!({"id": "c1"}),
            created_at: 5,
        };
        s.insert_event(&e).await.expect("event");
        assert_eq!(s.event("e1").await.expect("get"), Some(e), "{name}");
        for attempt in 1..=2 {
            let d = Delivery {
                id: format!("d{attempt}"),
                webhook_id: "w".into(),
                event_id: "e1".into(),
                attempt,
                status_code: Some(500),
                error: None,
                created_at: attempt,
                latency_ms: Some(12),
                next_retry_at: (attempt == 1).then_some(99),
            };
            s.insert_delivery("t", &d).await.expect("delivery");
        }
        let ds = s.deliveries("t", "w").await.expect("list");
        assert_eq!(ds.iter().map(|d| d.attempt).collect::<Vec<_>>(), [2, 1], "{name}");
        assert!(s.deliveries("other", "w").await.expect("list").is_empty());
        let one = s.delivery("t", "d1").await.expect("one").expect("d1");
        assert_eq!((one.latency_ms, one.next_retry_at), (Some(12), Some(99)), "{name}");
        assert!(s.delivery("other", "d1").await.expect("one").is_none(), "{name}");
    }
}

#[tokio::test]
async fn internal_state_is_stored_apart_and_legacy_rows_are_split() {
    for (name, s, _keep) in backends().await {
        let s = s.as_ref();
        s.create_tenant(&Tenant { id: "t1".into(), name: "T".into(), created_at: 1 }).await.expect("tenant");
        let mut r = res("r1", "t1", "livePhoto", None, 10, serde_json::json!({"size": 3}));
        r.internal = serde_json::json!({"files": {"photo": "k1"}, "inUse": true});
        s.insert(&r).await.expect("insert");
        let got = s.get("t1", "livePhoto", "r1").await.expect("get").expect("found");
        assert_eq!(got.body, serde_json::json!({"size": 3}), "{name}");
        assert_eq!(got.internal, r.internal, "{name}");
        // A row written before internal state had its column: `_`-prefixed keys in the body.
        let old = res("r2", "t1", "webhook", None, 11, serde_json::json!({"url": "u", "_secret": "s"}));
        s.insert(&old).await.expect("insert");
        let got = s.get("t1", "webhook", "r2").await.expect("get").expect("found");
        assert_eq!(got.body, serde_json::json!({"url": "u"}), "{name}");
        assert_eq!(got.internal, serde_json::json!({"secret": "s"}), "{name}");
    }
}

#[tokio::test]
async fn a_list_across_kinds_applies_each_kinds_filters() {
    for (name, s, _keep) in backends().await {
        s.insert(&res(
            "c1",
            "t",
            "check",
            Some("cl"),
            1,
            json!({"status": "complete", "result": {"outcome": "clear"}}),
        ))
        .await
        .expect("insert");
        s.insert(&res("c2", "t", "check", None, 2, json!({"status": "pending"}))).await.expect("insert");
        s.insert(&res("v1", "t", "verification", None, 3, json!({"status": "verified"})))
            .await
            .expect("insert");
        s.insert(&res("v2", "t", "verification", None, 4, json!({"status": "rejected"})))
            .await
            .expect("insert");
        s.insert(&res("v3", "u", "verification", None, 5, json!({"status": "verified"})))
            .await
            .expect("insert");
        s.insert(&res("x", "t", "client", None, 6, json!({"status": "verified"}))).await.expect("insert");
        let q = ListQuery { page: 1, page_size: 10, ..Default::default() };
        let kinds = |f: &[(&str, &str, &str)]| -> Vec<KindFilter> {
            ["check", "verification"]
                .iter()
                .map(|k| KindFilter {
                    kind: k.to_string(),
                    filters: f
                        .iter()
                        .filter(|(kind, _, _)| kind == k)
                        .map(|(_, p, v)| (p.to_string(), v.to_string()))
                        .collect(),
                })
                .collect()
        };
        let ids = |p: verity_store::Page| p.items.iter().map(|r| r.id.clone()).collect::<Vec<_>>();
        let all = s.list_across("t", &kinds(&[]), &q).await.expect("list");
        assert_eq!(all.total, 4, "{name}");
        assert_eq!(ids(all), ["v2", "v1", "c2", "c1"], "{name}");
        let passed = kinds(&[("check", "result.outcome", "clear"), ("verification", "status", "verified")]);
        assert_eq!(ids(s.list_across("t", &passed, &q).await.expect("list")), ["v1", "c1"], "{name}");
        let one = vec![KindFilter { kind: "verification".into(), filters: vec![] }];
        let page2 = ListQuery { page: 2, page_size: 1, ..Default::default() };
        let p = s.list_across("t", &one, &page2).await.expect("list");
        assert_eq!((p.total, ids(p)), (2, vec!["v1".to_string()]), "{name}");
        let client = ListQuery { client_id: Some("cl".into()), ..q.clone() };
        assert_eq!(ids(s.list_across("t", &kinds(&[]), &client).await.expect("list")), ["c1"], "{name}");
        assert!(s.list_across("t", &[], &q).await.expect("list").items.is_empty(), "{name}");
    }
}

#[tokio::test]
async fn users_lock_after_wrong_passwords_and_sessions_expire() {
    for (name, s, _keep) in backends().await {
        s.create_tenant(&Tenant { id: "t".into(), name: "acme".into(), created_at: 1 })
            .await
            .expect("tenant");
        let u = User {
            id: "usr1".into(),
            tenant_id: "t".into(),
            email: "ana@example.com".into(),
            role: "reviewer".into(),
            password_hash: "$argon2id$…".into(),
            created_at: 1,
            disabled_at: None,
            failed_logins: 0,
            locked_until: None,
        };
        assert!(s.create_user(&u).await.expect("create"), "{name}");
        let again = User { id: "usr2".into(), ..u.clone() };
        assert!(!s.create_user(&again).await.expect("create"), "{name}: the email is taken");
        assert_eq!(s.user_by_email("ana@example.com").await.expect("q"), Some(u.clone()), "{name}");
        for _ in 0..3 {
            s.login_failed("usr1", 3, 500).await.expect("failed");
        }
        let locked = s.user("usr1").await.expect("q").expect("user");
        assert_eq!((locked.failed_logins, locked.locked_until), (3, Some(500)), "{name}");
        s.login_succeeded("usr1").await.expect("ok");
        let back = s.user("usr1").await.expect("q").expect("user");
        assert_eq!((back.failed_logins, back.locked_until), (0, None), "{name}");
        assert!(s.set_user_disabled("usr1", Some(7)).await.expect("disable"), "{name}");
        assert_eq!(s.list_users(Some("t")).await.expect("list")[0].disabled_at, Some(7), "{name}");
        assert!(s.list_users(Some("other")).await.expect("list").is_empty(), "{name}");

        let sess = |id: &str, seen: i64, end: i64| Session {
            id_hash: id.into(),
            user_id: "usr1".into(),
            tenant_id: "t".into(),
            csrf: "c".into(),
            created_at: 10,
            last_seen_at: seen,
            expires_at: end,
        };
        for x in [sess("a", 100, 1000), sess("b", 10, 1000), sess("c", 100, 50), sess("d", 100, 1000)] {
            s.create_session(&x).await.expect("session");
        }
        s.touch_session("a", 200).await.expect("touch");
        assert_eq!(s.session("a").await.expect("q").map(|x| x.last_seen_at), Some(200), "{name}");
        // At 60: "c" has ended, "b" was idle since before 50.
        assert_eq!(s.delete_stale_sessions(60, 50).await.expect("stale"), 2, "{name}");
        s.delete_session("a").await.expect("delete");
        assert!(s.session("a").await.expect("q").is_none(), "{name}");
        assert_eq!(s.delete_user_sessions("usr1").await.expect("delete"), 1, "{name}");
    }
}

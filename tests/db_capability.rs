//! The `db` capability end to end: the real runtime, the `kv` fixture
//! (tests/fixtures/kv) calling the import through the SDK, and the real
//! key-value store on SQLite and PostgreSQL, with the audit trail and the
//! leak scanner over real vault secrets.

mod support;

use std::sync::Arc;

use base64::Engine as _;
use ironclaw::capabilities::audit::AuditSink;
use ironclaw::capabilities::live_secrets::LiveSecrets;
use ironclaw::config::Config;
use ironclaw::registry::manifest::DbRequest;
use ironclaw::runtime::{LoadedComponent, Runtime};
use ironclaw::secrets::{MasterKey, SecretValue, Vault};
use ironclaw::store::Database;
use ironclaw::store::domains::AuditRecord;
use ironclaw::store::domains::audit::AuditQuery;
use serde_json::{Value, json};
use support::backends::{Backend, migrated};
use support::{fixtures_dir, manifest, runtime_with};

/// A secret long enough for exact-value matching, shaped like no known
/// credential pattern: a hit can only come from the vault.
const SECRET: &str = "plain-owner-secret-4f9a2c7e";

/// A runtime serving `db` from `db`, writing its audit trail there too.
fn host(db: &Database) -> (Runtime, AuditSink) {
    let mut runtime = runtime_with(&Config::default());
    runtime.set_kv(db.kv());
    let audit = AuditSink::spawn(db.audit());
    runtime.set_audit(audit.clone());
    (runtime, audit)
}

/// The `kv` fixture loaded as component `name`, granted `quota` bytes of
/// db (or no db at all).
async fn kv(runtime: &Runtime, name: &str, quota: Option<u64>) -> Arc<LoadedComponent> {
    let dir = fixtures_dir();
    let mut m = manifest(&dir, "kv");
    m.name = name.to_string();
    m.capabilities.db = quota.map(|quota_bytes| DbRequest { quota_bytes });
    let grants = runtime.grants_as_requested(&m);
    runtime
        .load(&dir.join("kv.wasm"), m, grants)
        .await
        .unwrap_or_else(|e| panic!("loading kv as {name}: {e}"))
}

async fn call(runtime: &Runtime, c: &LoadedComponent, params: Value) -> Value {
    let out = runtime
        .call_tool(c, "kv", &params.to_string(), &Default::default())
        .await
        .unwrap_or_else(|e| panic!("kv({params}): {e}"));
    serde_json::from_str(&out.output).unwrap_or_else(|e| panic!("{:?}: {e}", out.output))
}

async fn set(runtime: &Runtime, c: &LoadedComponent, key: &str, value: &str) -> Value {
    call(runtime, c, json!({"op": "set", "key": key, "value": value})).await
}

async fn get(runtime: &Runtime, c: &LoadedComponent, key: &str) -> Value {
    call(runtime, c, json!({"op": "get", "key": key})).await
}

async fn list(runtime: &Runtime, c: &LoadedComponent, prefix: &str) -> Value {
    call(runtime, c, json!({"op": "list", "prefix": prefix})).await
}

/// The refusal's kind (`denied`, `limited`, …) and message, or a panic
/// when the call succeeded.
fn refusal(answer: &Value) -> (String, String) {
    let kind = answer["error"]["kind"].as_str();
    let message = answer["error"]["message"].as_str();
    match (kind, message) {
        (Some(k), Some(m)) => (k.to_string(), m.to_string()),
        _ => panic!("expected a refusal, got {answer}"),
    }
}

async fn audit_records(db: &Database, audit: &AuditSink, action: &str) -> Vec<AuditRecord> {
    audit.flush().await;
    db.audit()
        .query(&AuditQuery {
            action_prefix: Some(action),
            limit: 1000,
            ..AuditQuery::default()
        })
        .await
        .unwrap()
}

async fn get_set_delete_list(backend: Backend) {
    let t = migrated(backend).await;
    let (rt, audit) = host(&t.db);
    let c = kv(&rt, "kv", Some(4096)).await;

    assert_eq!(
        set(&rt, &c, "notes/a", "first").await,
        json!({"stored": true})
    );
    assert_eq!(
        set(&rt, &c, "notes/b", "second").await,
        json!({"stored": true})
    );
    let binary = call(
        &rt,
        &c,
        json!({"op": "set", "key": "blob", "hex": "00ff10"}),
    )
    .await;
    assert_eq!(binary, json!({"stored": true}));
    // Overwriting replaces.
    assert_eq!(
        set(&rt, &c, "notes/a", "again").await,
        json!({"stored": true})
    );

    assert_eq!(
        get(&rt, &c, "notes/a").await,
        json!({"found": true, "value": "again", "hex": "616761696e"})
    );
    assert_eq!(
        get(&rt, &c, "blob").await,
        json!({"found": true, "value": null, "hex": "00ff10"})
    );
    assert_eq!(get(&rt, &c, "missing").await["found"], json!(false));

    // Byte order, prefix taken literally.
    assert_eq!(
        list(&rt, &c, "").await,
        json!({"keys": ["blob", "notes/a", "notes/b"]})
    );
    assert_eq!(
        list(&rt, &c, "notes/").await,
        json!({"keys": ["notes/a", "notes/b"]})
    );
    assert_eq!(list(&rt, &c, "n_tes").await, json!({"keys": []}));

    let deleted = call(&rt, &c, json!({"op": "delete", "key": "notes/a"})).await;
    assert_eq!(deleted, json!({"existed": true}));
    let again = call(&rt, &c, json!({"op": "delete", "key": "notes/a"})).await;
    assert_eq!(again, json!({"existed": false}));
    assert_eq!(get(&rt, &c, "notes/a").await["found"], json!(false));

    // Keys are 1 to 512 bytes.
    let empty = set(&rt, &c, "", "x").await;
    assert_eq!(refusal(&empty).0, "invalid", "{empty}");
    assert_eq!(get(&rt, &c, &"k".repeat(512)).await["found"], json!(false));
    let long = get(&rt, &c, &"k".repeat(513)).await;
    let (kind, message) = refusal(&long);
    assert_eq!(kind, "invalid");
    assert!(message.contains("512"), "{message}");

    // Writes and deletes are audited with key and size, never the value.
    let sets = audit_records(&t.db, &audit, "db.set").await;
    assert_eq!(sets.len(), 4, "{sets:?}");
    assert!(sets.iter().all(|r| r.actor == "kv"));
    let newest: Value = serde_json::from_str(&sets[0].detail).unwrap();
    assert_eq!(newest["key"], "notes/a");
    assert_eq!(newest["bytes"], 5);
    assert_eq!(newest["version"], "0.1.0");
    assert_eq!(newest["digest"], c.digest.to_hex().to_string());
    assert!(
        sets.iter()
            .all(|r| !r.detail.contains("again") && !r.detail.contains("first"))
    );
    let deletes = audit_records(&t.db, &audit, "db.delete").await;
    assert_eq!(deletes.len(), 2, "{deletes:?}");
}

async fn namespaces_are_isolated_per_component(backend: Backend) {
    let t = migrated(backend).await;
    let (rt, _audit) = host(&t.db);
    let alpha = kv(&rt, "alpha", Some(4096)).await;
    let beta = kv(&rt, "beta", Some(4096)).await;

    set(&rt, &alpha, "shared", "alpha's").await;
    set(&rt, &alpha, "only-alpha", "1").await;
    set(&rt, &beta, "shared", "beta's").await;

    assert_eq!(get(&rt, &alpha, "shared").await["value"], "alpha's");
    assert_eq!(get(&rt, &beta, "shared").await["value"], "beta's");
    assert_eq!(get(&rt, &beta, "only-alpha").await["found"], json!(false));
    assert_eq!(list(&rt, &beta, "").await, json!({"keys": ["shared"]}));

    let gone = call(&rt, &beta, json!({"op": "delete", "key": "only-alpha"})).await;
    assert_eq!(gone, json!({"existed": false}));
    call(&rt, &beta, json!({"op": "delete", "key": "shared"})).await;
    assert_eq!(get(&rt, &alpha, "shared").await["value"], "alpha's");

    // A component's namespace is its name: the store agrees.
    assert_eq!(
        t.db.kv().get("alpha", "only-alpha").await.unwrap(),
        Some(b"1".to_vec())
    );
}

async fn the_quota_is_enforced_and_nothing_is_stored_over_it(backend: Backend) {
    let t = migrated(backend).await;
    let (rt, audit) = host(&t.db);
    let c = kv(&rt, "kv", Some(64)).await;

    // Keys and values both count: 1 + 40 bytes.
    assert_eq!(
        set(&rt, &c, "a", &"x".repeat(40)).await,
        json!({"stored": true})
    );
    let (kind, message) = refusal(&set(&rt, &c, "b", &"y".repeat(40)).await);
    assert_eq!(kind, "limited");
    assert!(
        message.contains("82") && message.contains("64"),
        "{message}"
    );
    assert_eq!(get(&rt, &c, "b").await["found"], json!(false));
    assert_eq!(t.db.kv().usage("kv").await.unwrap(), 41);

    // A value that cannot fit even alone is refused the same way.
    let (kind, _) = refusal(&set(&rt, &c, "big", &"z".repeat(100)).await);
    assert_eq!(kind, "limited");

    // Replacing a value counts the new size, not both.
    assert_eq!(
        set(&rt, &c, "a", &"w".repeat(63)).await,
        json!({"stored": true})
    );
    assert_eq!(t.db.kv().usage("kv").await.unwrap(), 64);
    // Deleting frees the space.
    call(&rt, &c, json!({"op": "delete", "key": "a"})).await;
    assert_eq!(
        set(&rt, &c, "b", &"y".repeat(40)).await,
        json!({"stored": true})
    );

    let limited = audit_records(&t.db, &audit, "db.limited").await;
    assert_eq!(limited.len(), 2, "{limited:?}");
    assert!(limited.iter().all(|r| !r.detail.contains("yyyy")));
}

async fn values_survive_a_restart(backend: Backend) {
    let t = migrated(backend).await;
    {
        let (rt, audit) = host(&t.db);
        let c = kv(&rt, "keeper", Some(4096)).await;
        set(&rt, &c, "remember", "across restarts").await;
        audit.flush().await;
    }
    // A new database handle and a new runtime: nothing shared in memory.
    let reopened = Database::open(&t.url).await.unwrap();
    let (rt, _audit) = host(&reopened);
    let c = kv(&rt, "keeper", Some(4096)).await;
    assert_eq!(get(&rt, &c, "remember").await["value"], "across restarts");
}

async fn a_write_holding_a_secret_or_the_canary_is_blocked_and_audited(backend: Backend) {
    let t = migrated(backend).await;
    let vault = Vault::new(t.db.secrets(), MasterKey::generate());
    vault
        .set("OWNER_TOKEN", &SecretValue::new(SECRET.to_string()))
        .await
        .unwrap();
    let secrets = LiveSecrets::default();
    assert!(secrets.refresh(&vault).await.unwrap());
    let canary = secrets.canary().expect("a canary").value().to_string();
    let (mut rt, audit) = host(&t.db);
    rt.set_secrets(secrets);
    let c = kv(&rt, "kv", Some(1 << 20)).await;

    let base64 = base64::engine::general_purpose::STANDARD.encode(SECRET);
    let attempts = [
        ("plain", format!("token={SECRET}")),
        ("encoded", format!("{{\"t\":\"{base64}\"}}")),
        ("canary", format!("hidden {canary} here")),
    ];
    for (key, value) in &attempts {
        let answer = set(&rt, &c, key, value).await;
        let (kind, message) = refusal(&answer);
        assert_eq!(kind, "denied", "{key}: {answer}");
        assert!(message.starts_with("db: blocked: "), "{key}: {message}");
        assert!(
            !message.contains(SECRET) && !message.contains(&canary),
            "{message}"
        );
        assert_eq!(get(&rt, &c, key).await["found"], json!(false), "{key}");
    }
    let (_, message) = refusal(&set(&rt, &c, "plain", &attempts[0].1).await);
    assert!(
        message.contains("OWNER_TOKEN"),
        "names the secret: {message}"
    );

    // A key is written too: a secret there is blocked before it can reach
    // the store, an error message or the audit trail.
    let in_key = set(&rt, &c, &format!("k-{SECRET}"), "harmless").await;
    assert_eq!(refusal(&in_key).0, "denied");
    let delete = call(&rt, &c, json!({"op": "delete", "key": canary})).await;
    assert_eq!(refusal(&delete).0, "denied");
    assert_eq!(list(&rt, &c, "").await, json!({"keys": []}));

    // An ordinary value still goes through.
    assert_eq!(
        set(&rt, &c, "fine", "nothing to see").await,
        json!({"stored": true})
    );

    let blocked = audit_records(&t.db, &audit, "db.leak-blocked").await;
    assert_eq!(blocked.len(), 6, "{blocked:?}");
    for r in &blocked {
        assert!(
            !r.detail.contains(SECRET) && !r.detail.contains(&canary),
            "{r:?}"
        );
        assert!(!r.detail.contains(&base64), "{r:?}");
    }
    assert!(
        blocked
            .iter()
            .any(|r| serde_json::from_str::<Value>(&r.detail).unwrap()["canary"] == json!(true))
    );
    assert!(audit_records(&t.db, &audit, "db.set").await.len() == 1);
}

async fn an_ungranted_component_is_denied_and_audited(backend: Backend) {
    let t = migrated(backend).await;
    let (rt, audit) = host(&t.db);
    let c = kv(&rt, "nodb", None).await;
    for params in [
        json!({"op": "set", "key": "k", "value": "v"}),
        json!({"op": "get", "key": "k"}),
        json!({"op": "delete", "key": "k"}),
        json!({"op": "list"}),
    ] {
        let answer = call(&rt, &c, params).await;
        assert_eq!(refusal(&answer), ("denied".into(), "db".into()), "{answer}");
    }
    assert_eq!(t.db.kv().usage("nodb").await.unwrap(), 0);
    let denied = audit_records(&t.db, &audit, "db.denied").await;
    assert_eq!(denied.len(), 4, "{denied:?}");
    assert!(denied.iter().all(|r| r.actor == "nodb"));
}

async fn list_keys_answers_at_most_a_thousand(backend: Backend) {
    let t = migrated(backend).await;
    let (rt, _audit) = host(&t.db);
    let c = kv(&rt, "many", Some(1 << 20)).await;
    // Written through the store directly: a thousand guest calls would
    // test nothing more.
    let store = t.db.kv();
    for i in 0..1001 {
        let key = format!("{}/{i:04}", if i < 1000 { "a" } else { "b" });
        store.set("many", &key, b"1", 1 << 20).await.unwrap();
    }
    let (kind, message) = refusal(&list(&rt, &c, "").await);
    assert_eq!(kind, "limited");
    assert!(message.contains("narrower prefix"), "{message}");
    let a = list(&rt, &c, "a/").await;
    assert_eq!(a["keys"].as_array().map(Vec::len), Some(1000));
    assert_eq!(list(&rt, &c, "b/").await, json!({"keys": ["b/1000"]}));
}

on_both_backends!(
    get_set_delete_list,
    namespaces_are_isolated_per_component,
    the_quota_is_enforced_and_nothing_is_stored_over_it,
    values_survive_a_restart,
    a_write_holding_a_secret_or_the_canary_is_blocked_and_audited,
    an_ungranted_component_is_denied_and_audited,
    list_keys_answers_at_most_a_thousand,
);

#[tokio::test(flavor = "multi_thread")]
async fn a_granted_component_without_a_store_is_told_db_is_not_available() {
    let rt = runtime_with(&Config::default());
    let c = kv(&rt, "kv", Some(4096)).await;
    let answer = get(&rt, &c, "k").await;
    assert_eq!(
        refusal(&answer),
        ("not-available".into(), "db".into()),
        "{answer}"
    );
}

//! The per-domain stores, with the same tests on SQLite and PostgreSQL.

mod support;

use ironclaw::store::StoreError;
use ironclaw::store::domains::{
    AuditEntry, ComponentRecord, GrantRecord, GrantStatus, JobState, NewMessage,
};
use support::backends::{Backend, migrated};

async fn settings_round_trip(backend: Backend) {
    let t = migrated(backend).await;
    let s = t.db.settings();
    assert_eq!(s.get("model").await.unwrap(), None);
    s.set("model", "small").await.unwrap();
    s.set("model", "large").await.unwrap();
    s.set("a.first", "1").await.unwrap();
    assert_eq!(s.get("model").await.unwrap().as_deref(), Some("large"));
    let keys: Vec<String> = s.list().await.unwrap().into_iter().map(|x| x.key).collect();
    assert_eq!(keys, ["a.first", "model"]);
    assert!(s.delete("model").await.unwrap());
    assert!(!s.delete("model").await.unwrap());
}

async fn kv_is_namespaced_and_quota_bound(backend: Backend) {
    let t = migrated(backend).await;
    let kv = t.db.kv();
    kv.set("alpha", "k1", b"0123456789", 100).await.unwrap();
    kv.set("beta", "k1", b"other", 100).await.unwrap();
    assert_eq!(kv.get("alpha", "k1").await.unwrap().unwrap(), b"0123456789");
    assert_eq!(kv.get("beta", "k1").await.unwrap().unwrap(), b"other");
    assert_eq!(kv.usage("alpha").await.unwrap(), 12);
    // 12 held + 2 + 90 would be 104 > 100: refused, and nothing changes.
    let e = kv.set("alpha", "k2", &[7u8; 90], 100).await.unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::QuotaExceeded {
                quota: 100,
                needed: 104,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(kv.get("alpha", "k2").await.unwrap(), None);
    assert_eq!(kv.usage("alpha").await.unwrap(), 12);
    // Replacing a value counts the new size, not old plus new.
    kv.set("alpha", "k1", &[1u8; 98], 100).await.unwrap();
    assert_eq!(kv.usage("alpha").await.unwrap(), 100);
    // Literal prefixes: `_` and `%` are not wildcards.
    kv.set("gamma", "a_b", b"1", 1000).await.unwrap();
    kv.set("gamma", "axb", b"1", 1000).await.unwrap();
    kv.set("gamma", "b", b"1", 1000).await.unwrap();
    assert_eq!(kv.list_keys("gamma", "a_", 10).await.unwrap(), ["a_b"]);
    assert_eq!(kv.list_keys("gamma", "", 2).await.unwrap(), ["a_b", "axb"]);
    assert!(kv.delete("gamma", "b").await.unwrap());
    assert!(!kv.delete("gamma", "b").await.unwrap());
    assert!(matches!(
        kv.set("gamma", "", b"x", 1000).await,
        Err(StoreError::InvalidInput(_))
    ));
}

async fn concurrent_kv_writers_never_exceed_the_quota(backend: Backend) {
    let t = migrated(backend).await;
    let kv = t.db.kv();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let kv = kv.clone();
        tasks.push(tokio::spawn(async move {
            kv.set("race", &format!("k{i:02}"), &[0u8; 97], 500).await
        }));
    }
    let mut stored = 0;
    for task in tasks {
        if task.await.unwrap().is_ok() {
            stored += 1;
        }
    }
    // Each entry is 100 bytes: exactly five fit.
    assert_eq!(stored, 5);
    assert_eq!(kv.usage("race").await.unwrap(), 500);
}

async fn audit_is_append_only_and_newest_first(backend: Backend) {
    let t = migrated(backend).await;
    let log = t.db.audit();
    let a = log
        .append(AuditEntry {
            actor: "owner",
            action: "secret.set",
            detail: "{\"name\":\"tg\"}",
        })
        .await
        .unwrap();
    let b = log
        .append(AuditEntry {
            actor: "echo",
            action: "http.denied",
            detail: "{}",
        })
        .await
        .unwrap();
    assert!(b > a);
    let all = log.recent(10, None).await.unwrap();
    assert_eq!(all.iter().map(|r| r.id).collect::<Vec<_>>(), [b, a]);
    let owner = log.recent(10, Some("owner")).await.unwrap();
    assert_eq!(owner.len(), 1);
    assert_eq!(owner[0].action, "secret.set");
    assert_eq!(log.recent(1, None).await.unwrap().len(), 1);
}

async fn secrets_store_ciphertext_only(backend: Backend) {
    let t = migrated(backend).await;
    let s = t.db.secrets();
    s.put("telegram", b"age-ciphertext-1").await.unwrap();
    s.put("telegram", b"age-ciphertext-2").await.unwrap();
    s.put("slack", &[0, 159, 146, 150]).await.unwrap();
    assert_eq!(
        s.ciphertext("telegram").await.unwrap().unwrap(),
        b"age-ciphertext-2"
    );
    assert_eq!(
        s.ciphertext("slack").await.unwrap().unwrap(),
        [0, 159, 146, 150]
    );
    let names: Vec<String> = s
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names, ["slack", "telegram"]);
    assert!(s.delete("slack").await.unwrap());
    assert_eq!(s.ciphertext("slack").await.unwrap(), None);
}

async fn components_and_grants_bind_to_digests(backend: Backend) {
    let t = migrated(backend).await;
    let c = t.db.components();
    let record = ComponentRecord {
        name: "echo".into(),
        version: "0.1.0".into(),
        kind: "tool".into(),
        digest: "aa".repeat(32),
        manifest: "name = \"echo\"".into(),
        installed_at: 1,
    };
    c.record_install(&record).await.unwrap();
    c.record_install(&ComponentRecord {
        version: "0.2.0".into(),
        digest: "bb".repeat(32),
        ..record.clone()
    })
    .await
    .unwrap();
    assert_eq!(c.component("echo").await.unwrap().unwrap().version, "0.2.0");
    assert_eq!(c.components().await.unwrap().len(), 1);
    let grant = GrantRecord {
        component: "echo".into(),
        digest: "bb".repeat(32),
        grant_json: "{\"logging\":true}".into(),
        status: GrantStatus::Pending,
        approved_at: None,
    };
    c.put_grant(&grant).await.unwrap();
    assert!(
        c.grant("echo", &"aa".repeat(32)).await.unwrap().is_none(),
        "bound to the digest"
    );
    assert!(
        c.set_grant_status("echo", &"bb".repeat(32), GrantStatus::Active)
            .await
            .unwrap()
    );
    let active = c.grant("echo", &"bb".repeat(32)).await.unwrap().unwrap();
    assert_eq!(active.status, GrantStatus::Active);
    assert!(active.approved_at.is_some());
    assert!(
        !c.set_grant_status("echo", "cc", GrantStatus::Revoked)
            .await
            .unwrap()
    );
    assert!(c.remove("echo").await.unwrap());
    assert!(
        c.grants("echo").await.unwrap().is_empty(),
        "grants go with it"
    );
    assert!(!c.remove("echo").await.unwrap());
}

async fn conversations_keep_one_thread_and_ordered_history(backend: Backend) {
    let t = migrated(backend).await;
    let store = t.db.conversations();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .find_or_create("telegram", "u1", None)
                .await
                .unwrap()
                .id
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "concurrent callers share one conversation");
    let threaded = store
        .find_or_create("telegram", "u1", Some("t9"))
        .await
        .unwrap();
    assert_ne!(threaded.id, ids[0]);
    for (role, content) in [("user", "hi"), ("assistant", "hello"), ("user", "bye")] {
        store
            .append(
                &ids[0],
                NewMessage {
                    role,
                    content,
                    tool_calls: None,
                },
            )
            .await
            .unwrap();
    }
    let last_two = store.history(&ids[0], 2).await.unwrap();
    assert_eq!(
        last_two
            .iter()
            .map(|m| m.content.as_str())
            .collect::<Vec<_>>(),
        ["hello", "bye"]
    );
    let e = store
        .append(
            "no-such",
            NewMessage {
                role: "user",
                content: "x",
                tool_calls: None,
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::NotFound { .. }), "{e}");
    assert!(store.set_state(&ids[0], "closed").await.unwrap());
    assert_eq!(
        store.conversation(&ids[0]).await.unwrap().unwrap().state,
        "closed"
    );
}

async fn jobs_follow_their_state_machine(backend: Backend) {
    let t = migrated(backend).await;
    let jobs = t.db.jobs();
    let job = jobs.create("shell", "{\"cmd\":\"ls\"}").await.unwrap();
    assert_eq!(job.state, JobState::Pending);
    let e = jobs
        .transition(&job.id, JobState::Completed, None)
        .await
        .unwrap_err();
    assert!(
        matches!(e, StoreError::Conflict(_)),
        "pending cannot complete: {e}"
    );
    jobs.transition(&job.id, JobState::Running, None)
        .await
        .unwrap();
    jobs.record_event(&job.id, "output", "line 1")
        .await
        .unwrap();
    let done = jobs
        .transition(&job.id, JobState::Completed, Some("ok"))
        .await
        .unwrap();
    assert_eq!(
        (done.state, done.result.as_deref()),
        (JobState::Completed, Some("ok"))
    );
    let e = jobs
        .transition(&job.id, JobState::Cancelled, None)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("is completed"), "{e}");
    let events: Vec<String> = jobs
        .events(&job.id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect();
    assert_eq!(events, ["created", "running", "output", "completed"]);
    assert!(matches!(
        jobs.transition("nope", JobState::Running, None).await,
        Err(StoreError::NotFound { .. })
    ));
    let other = jobs.create("file", "{}").await.unwrap();
    assert_eq!(
        jobs.list(Some(JobState::Pending), 10).await.unwrap()[0].id,
        other.id
    );
    assert_eq!(jobs.list(None, 10).await.unwrap().len(), 2);
}

async fn routines_round_trip(backend: Backend) {
    let t = migrated(backend).await;
    let r = t.db.routines();
    r.upsert("digest", "0 8 * * *", "{}").await.unwrap();
    assert!(r.set_enabled("digest", false).await.unwrap());
    assert!(r.mark_run("digest", 42).await.unwrap());
    r.upsert("digest", "0 9 * * *", "{\"v\":2}").await.unwrap();
    let got = r.routine("digest").await.unwrap().unwrap();
    assert_eq!(
        (got.schedule.as_str(), got.enabled, got.last_run),
        ("0 9 * * *", false, Some(42)),
        "an update keeps enablement and last run"
    );
    assert_eq!(r.routines().await.unwrap().len(), 1);
    assert!(r.delete("digest").await.unwrap());
    assert!(!r.set_enabled("digest", true).await.unwrap());
}

on_both_backends!(
    settings_round_trip,
    kv_is_namespaced_and_quota_bound,
    concurrent_kv_writers_never_exceed_the_quota,
    audit_is_append_only_and_newest_first,
    secrets_store_ciphertext_only,
    components_and_grants_bind_to_digests,
    conversations_keep_one_thread_and_ordered_history,
    jobs_follow_their_state_machine,
    routines_round_trip,
);

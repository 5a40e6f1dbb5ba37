//! Hostile components (tests/fixtures/): each attack is contained with a
//! typed error, and the host keeps serving other calls.

mod support;

use std::time::{Duration, Instant};

use ironclaw::runtime::{CallError, CallErrorKind};
use serde_json::json;
use support::{echo_still_works, fixture, fixtures_dir, load_in, manifest, runtime};

/// A runtime whose fuel ceiling is out of reach, so that a spinning guest is
/// stopped by its wall-clock budget whatever the machine's speed.
fn fuel_unbounded_runtime() -> &'static ironclaw::runtime::Runtime {
    static RT: std::sync::LazyLock<ironclaw::runtime::Runtime> = std::sync::LazyLock::new(|| {
        let mut config = ironclaw::config::Config::default();
        config.limits.max.fuel = Some(u64::MAX / 2);
        support::runtime_with(&config)
    });
    &RT
}

async fn spinning_loop(wall_ms: u64) -> std::sync::Arc<ironclaw::runtime::LoadedComponent> {
    let dir = fixtures_dir();
    let mut m = manifest(&dir, "infinite-loop");
    m.limits.fuel = Some(u64::MAX / 2);
    m.limits.wall_ms = Some(wall_ms);
    let rt = fuel_unbounded_runtime();
    let grants = rt.grants_as_requested(&m);
    rt.load(&dir.join("infinite-loop.wasm"), m, grants)
        .await
        .unwrap()
}

async fn attack(name: &str, tool: &str, params: serde_json::Value) -> CallError {
    let c = fixture(name).await;
    let result = runtime()
        .call_tool(&c, tool, &params.to_string(), &Default::default())
        .await;
    let e = result.expect_err("the attack must be stopped");
    assert!(
        e.usage.is_some(),
        "a stopped call still reports usage: {e:?}"
    );
    e
}

#[tokio::test(flavor = "multi_thread")]
async fn infinite_loop_runs_out_of_fuel() {
    let e = attack("infinite-loop", "infinite_loop", json!({})).await;
    assert_eq!(e.kind, CallErrorKind::FuelExhausted, "{e}");
    let usage = e.usage.unwrap();
    assert!(usage.fuel_used >= 50_000_000, "{usage:?}");
    echo_still_works().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn infinite_loop_with_plenty_of_fuel_hits_the_wall_clock_deadline() {
    let c = spinning_loop(300).await;
    let rt = fuel_unbounded_runtime();
    let started = Instant::now();
    let e = rt
        .call_tool(&c, "infinite_loop", "{}", &Default::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind, CallErrorKind::Timeout, "{e}");
    assert!(e.message.contains("300 ms"), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "stopped near its deadline"
    );
    echo_still_works().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_calls_are_served_while_an_attack_runs() {
    let looping = spinning_loop(1_500).await;
    let rt = fuel_unbounded_runtime();
    let echo = load_in(rt, &support::components_dir(), "echo").await;
    let attack = tokio::spawn(async move {
        rt.call_tool(&looping, "infinite_loop", "{}", &Default::default())
            .await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    for _ in 0..20 {
        let out = rt
            .call_tool(
                &echo,
                "echo",
                r#"{"text":"meanwhile"}"#,
                &Default::default(),
            )
            .await
            .unwrap();
        assert_eq!(out.output, r#"{"text":"meanwhile"}"#);
    }
    assert!(
        !attack.is_finished(),
        "echo calls completed while the loop was still running"
    );
    let e = attack.await.unwrap().unwrap_err();
    assert_eq!(e.kind, CallErrorKind::Timeout);
}

#[tokio::test(flavor = "multi_thread")]
async fn memory_bomb_hits_the_memory_limit() {
    let e = attack("memory-bomb", "memory_bomb", json!({})).await;
    assert_eq!(e.kind, CallErrorKind::MemoryLimit, "{e}");
    assert!(e.message.contains("32 MiB"), "{e}");
    let usage = e.usage.unwrap();
    assert!(usage.peak_memory_bytes <= 32 * 1024 * 1024, "{usage:?}");
    assert!(usage.peak_memory_bytes > 16 * 1024 * 1024, "{usage:?}");
    echo_still_works().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn deep_recursion_overflows_the_stack() {
    let e = attack("deep-recursion", "deep_recursion", json!({})).await;
    assert_eq!(e.kind, CallErrorKind::StackOverflow, "{e}");
    echo_still_works().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn table_growth_hits_the_table_limit() {
    let dir = support::repo().join("tests/fixtures/table-growth");
    let bytes = support::wat_component::component_from_wat(
        &dir.join("table_growth.wat"),
        &support::repo().join("wit"),
        "ironclaw:host/tool-component",
    )
    .expect("componentize table_growth.wat");
    let m = ironclaw::registry::Manifest::load(&dir.join("component.toml")).unwrap();
    let grants = runtime().grants_as_requested(&m);
    let c = runtime()
        .load_bytes(&bytes, &dir.join("table_growth.wat"), m, grants)
        .await
        .unwrap();
    let e = runtime()
        .call_tool(&c, "table_growth", "{}", &Default::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind, CallErrorKind::TableLimit, "{e}");
    echo_still_works().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn stdout_flood_is_stopped_at_the_cap() {
    let e = attack("output-flood", "output_flood", json!({"mode": "stdout"})).await;
    assert_eq!(e.kind, CallErrorKind::OutputLimit, "{e}");
    assert!(e.message.contains("65536"), "{e}");
    echo_still_works().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_result_is_refused() {
    let e = attack("output-flood", "output_flood", json!({"mode": "result"})).await;
    assert_eq!(e.kind, CallErrorKind::OutputLimit, "{e}");
    assert!(e.message.contains("cap"), "{e}");
    echo_still_works().await;
}

/// One log flood on `c`: the usage, however the attack ended (it ignores
/// refusals, so it may also run out of fuel).
async fn log_flood(c: &ironclaw::runtime::LoadedComponent) -> ironclaw::runtime::Usage {
    let params = json!({"mode": "log"}).to_string();
    match runtime()
        .call_tool(c, "output_flood", &params, &Default::default())
        .await
    {
        Ok(out) => out.usage,
        Err(e) => {
            assert_eq!(e.kind, CallErrorKind::FuelExhausted, "{e}");
            e.usage.unwrap()
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn log_flood_is_capped_per_call() {
    let c = fixture("output-flood").await;
    let usage = log_flood(&c).await;
    assert_eq!(usage.log_lines, 200, "{usage:?}");
    assert!(usage.log_lines_refused > 1000, "{usage:?}");

    // The per-component rate (50 lines/s, bursts of 200) spans calls: an
    // immediate second flood gets only what the bucket refilled meanwhile.
    let usage = log_flood(&c).await;
    assert!(usage.log_lines < 200, "{usage:?}");
    echo_still_works().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn panic_is_a_trap_with_the_panic_message() {
    let e = attack("trap", "trap", json!({"mode": "panic"})).await;
    assert_eq!(e.kind, CallErrorKind::Trap, "{e}");
    assert!(e.message.contains("fixture panic"), "{e}");
    echo_still_works().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unreachable_is_a_trap() {
    let e = attack("trap", "trap", json!({"mode": "unreachable"})).await;
    assert_eq!(e.kind, CallErrorKind::Trap, "{e}");
    assert!(e.message.contains("unreachable"), "{e}");
    echo_still_works().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ungranted_capabilities_answer_denied_naming_the_capability() {
    for (param, named) in [
        ("db", "db"),
        ("secrets", "secrets"),
        ("memory", "memory"),
        ("llm", "llm"),
        ("http", "http-outbound"),
    ] {
        let e = attack("ungranted", "ungranted", json!({"capability": param})).await;
        assert_eq!(e.kind, CallErrorKind::Denied, "{param}: {e}");
        assert!(e.message.contains(&format!("`{named}`")), "{param}: {e}");
    }
    echo_still_works().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn config_is_always_readable_and_unset_keys_are_none() {
    let c = fixture("ungranted").await;
    let out = runtime()
        .call_tool(
            &c,
            "ungranted",
            &json!({"capability": "config"}).to_string(),
            &Default::default(),
        )
        .await
        .unwrap();
    assert_eq!(out.output, "granted");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_granted_capability_that_is_not_built_yet_says_not_available() {
    use ironclaw::registry::manifest::{
        DbRequest, HttpRequest, HttpRule, Injection, LlmRequest, MemoryRequest, SecretRequest,
    };
    let dir = fixtures_dir();
    let mut m = manifest(&dir, "ungranted");
    m.capabilities.db = Some(DbRequest { quota_bytes: 1024 });
    m.capabilities.memory = Some(MemoryRequest {
        read: vec!["".into()],
        write: vec![],
    });
    m.capabilities.llm = Some(LlmRequest {
        complete: true,
        embed: false,
    });
    m.capabilities.secrets = vec![SecretRequest {
        name: "API_KEY".into(),
        hosts: vec!["127.0.0.1".into()],
        inject: Injection::Bearer,
        paths: Vec::new(),
    }];
    m.capabilities.http = Some(HttpRequest {
        allow: vec![HttpRule {
            scheme: "http".into(),
            host: "127.0.0.1".into(),
            port: Some(9),
            path_prefix: "/".into(),
            methods: vec!["GET".into()],
        }],
    });
    let grants = runtime().grants_as_requested(&m);
    let c = load_in_with(&dir, m, grants).await;
    for (param, expected) in [
        // db is built: without a store on the runtime (as here) it is not
        // available; with one it serves (see the test below).
        ("db", "capability `db` is not available"),
        ("memory", "capability `memory` is not available"),
        // Granted, but this runtime has no LLM chain.
        ("llm", "NotAvailable(\"no LLM is configured on this host"),
        // http-outbound is built now: the pipeline refuses before any
        // traffic, because the granted secret was never set.
        ("http", "denied: secret `API_KEY` is granted but not set"),
    ] {
        let e = runtime()
            .call_tool(
                &c,
                "ungranted",
                &json!({"capability": param}).to_string(),
                &Default::default(),
            )
            .await
            .unwrap_err();
        assert_eq!(e.kind, CallErrorKind::ToolFailed, "{param}: {e}");
        assert!(e.message.contains(expected), "{param}: {e}");
    }
    // secrets is served from the runtime's (empty) secret set: a granted
    // name answers whether it is stored, here `false`, without an error.
    let out = runtime()
        .call_tool(
            &c,
            "ungranted",
            &json!({"capability": "secrets"}).to_string(),
            &Default::default(),
        )
        .await
        .unwrap();
    assert!(out.output.contains("granted"), "{}", out.output);
}

async fn load_in_with(
    dir: &std::path::Path,
    m: ironclaw::registry::Manifest,
    grants: ironclaw::capabilities::Grants,
) -> std::sync::Arc<ironclaw::runtime::LoadedComponent> {
    let wasm = dir.join(format!("{}.wasm", m.name));
    runtime().load(&wasm, m, grants).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_fixture_loads_with_the_tool_it_describes() {
    for name in [
        "infinite-loop",
        "memory-bomb",
        "deep-recursion",
        "output-flood",
        "trap",
        "ungranted",
    ] {
        let c = load_in(runtime(), &fixtures_dir(), name).await;
        assert_eq!(c.tools.len(), 1, "{name}");
        assert_eq!(c.tools[0].name, name.replace('-', "_"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_granted_db_is_served_once_the_runtime_has_a_store() {
    use ironclaw::registry::manifest::DbRequest;
    let dir = tempfile::tempdir().unwrap();
    let url = ironclaw::store::DatabaseUrl::Sqlite(dir.path().join("ironclaw.db"));
    let db = ironclaw::store::Database::open_migrated(&url)
        .await
        .unwrap();
    let mut rt = support::runtime_with(&ironclaw::config::Config::default());
    rt.set_kv(db.kv());
    let fixtures = fixtures_dir();
    let mut m = manifest(&fixtures, "ungranted");
    m.capabilities.db = Some(DbRequest { quota_bytes: 1024 });
    let grants = rt.grants_as_requested(&m);
    let c = rt
        .load(&fixtures.join("ungranted.wasm"), m, grants)
        .await
        .unwrap();
    let out = rt
        .call_tool(
            &c,
            "ungranted",
            &json!({"capability": "db"}).to_string(),
            &Default::default(),
        )
        .await
        .unwrap();
    assert_eq!(out.output, "granted");
    assert_eq!(
        db.kv().get("ungranted", "k").await.unwrap(),
        Some(b"v".to_vec())
    );
}

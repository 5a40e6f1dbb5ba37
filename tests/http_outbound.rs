//! The mediated `wasi:http` door (DESIGN §5), proven from both sides: a real
//! guest (`fetcher`) asks for requests through the real host, and a loopback
//! server records what actually arrived. Secrets live in a real vault on a
//! real database; audit records land in it.

mod support;

use std::sync::Arc;
use std::time::Duration;

use ironclaw::capabilities::audit::AuditSink;
use ironclaw::capabilities::live_secrets::LiveSecrets;
use ironclaw::config::Config;
use ironclaw::registry::Manifest;
use ironclaw::runtime::{LoadedComponent, Runtime};
use ironclaw::secrets::{MasterKey, SecretValue, Vault};
use serde_json::{Value, json};
use support::backends::{Backend, TestDb, migrated};
use support::http_server::{Reply, TestServer};

const SECRET: &str = "tok_4f9a1c77e2b04d3e9a51";
const OTHER: &str = "pw-Zr8Kq2mWx9";

struct Env {
    runtime: Runtime,
    secrets: LiveSecrets,
    db: TestDb,
}

/// A runtime allowed to reach loopback, with two secrets in a real vault.
async fn env(network: &str) -> Env {
    let config = Config::parse(
        &format!("[network]\nallow_loopback = true\n{network}"),
        "test",
    )
    .unwrap();
    let db = migrated(Backend::Sqlite).await;
    let vault = Vault::new(db.db.secrets(), MasterKey::generate());
    vault
        .set("api_token", &SecretValue::new(SECRET.into()))
        .await
        .unwrap();
    vault
        .set("db_password", &SecretValue::new(OTHER.into()))
        .await
        .unwrap();
    let secrets = LiveSecrets::default();
    secrets.refresh(&vault).await.unwrap();
    let mut runtime = support::runtime_with(&config);
    runtime.set_secrets(secrets.clone());
    runtime.set_audit(AuditSink::spawn(db.db.audit()));
    Env {
        runtime,
        secrets,
        db,
    }
}

/// `fetcher` granted `grant` (TOML under [capabilities]).
async fn fetcher(env: &Env, grant: &str) -> Arc<LoadedComponent> {
    let dir = support::fixtures_dir();
    let text = std::fs::read_to_string(dir.join("fetcher.toml")).unwrap();
    let text = text.replace(
        "[capabilities]\nlogging = true\n",
        &format!("[capabilities]\nlogging = true\n{grant}\n"),
    );
    let manifest = Manifest::parse(&text, "fetcher").unwrap();
    let grants = env.runtime.grants_as_requested(&manifest);
    env.runtime
        .load(&dir.join("fetcher.wasm"), manifest, grants)
        .await
        .unwrap()
}

fn allow(port: u16, path: &str, methods: &str) -> String {
    format!(
        "[[capabilities.http.allow]]\nscheme = \"http\"\nhost = \"127.0.0.1\"\nport = {port}\npath-prefix = \"{path}\"\nmethods = [{methods}]\n"
    )
}

async fn fetch(env: &Env, c: &LoadedComponent, params: Value) -> Result<Value, String> {
    match env
        .runtime
        .call_tool(c, "fetch", &params.to_string(), &Default::default())
        .await
    {
        Ok(out) => Ok(serde_json::from_str(&out.output).unwrap()),
        Err(e) => Err(e.message),
    }
}

async fn audit(env: &Env) -> Vec<(String, Value)> {
    env.runtime.services().audit.flush().await;
    env.db
        .db
        .audit()
        .recent(1000, Some("fetcher"))
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.action, serde_json::from_str(&r.detail).unwrap()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_allowed_request_succeeds_and_is_audited() {
    let env = env("").await;
    let server = TestServer::start(|_| Reply::Echo).await;
    let c = fetcher(
        &env,
        &allow(server.addr.port(), "/api", "\"GET\", \"POST\""),
    )
    .await;
    let out = fetch(
        &env,
        &c,
        json!({"method": "POST", "url": server.url("/api/items?x=1"), "body": "hello"}),
    )
    .await
    .unwrap();
    assert_eq!(out["status"], 200);
    let echoed: Value = serde_json::from_str(out["body"].as_str().unwrap()).unwrap();
    assert_eq!(echoed["method"], "POST");
    assert_eq!(echoed["target"], "/api/items?x=1");
    assert_eq!(echoed["body"], "hello");
    let records = audit(&env).await;
    let (_, detail) = records
        .iter()
        .find(|(a, _)| a == "http.request")
        .expect("audited");
    assert_eq!(detail["method"], "POST");
    assert_eq!(detail["host"], "127.0.0.1");
    assert_eq!(detail["path"], "/api/items");
    assert_eq!(detail["status"], 200);
    assert_eq!(detail["bytes_out"], 5);
    assert_eq!(detail["version"], "0.1.0");
    assert_eq!(detail["digest"], c.digest.to_hex().to_string());
}

#[tokio::test(flavor = "multi_thread")]
async fn other_host_path_method_and_refused_addresses_are_denied_with_the_reason() {
    let env = env("").await;
    let server = TestServer::start(|_| Reply::Echo).await;
    let port = server.addr.port();
    let c = fetcher(&env, &allow(port, "/api", "\"GET\"")).await;
    for (params, why) in [
        (
            json!({"url": format!("http://127.0.0.2:{port}/api")}),
            "host 127.0.0.2 is not in",
        ),
        (
            json!({"url": server.url("/admin")}),
            "path /admin is outside /api",
        ),
        (json!({"url": server.url("/api/../admin")}), "dot segments"),
        (
            json!({"method": "DELETE", "url": server.url("/api/x")}),
            "method DELETE",
        ),
        (
            json!({"url": format!("http://127.0.0.1:{}/api", port.wrapping_add(1))}),
            "port",
        ),
    ] {
        let e = fetch(&env, &c, params.clone()).await.unwrap_err();
        assert!(e.contains("denied:") && e.contains(why), "{params}: {e}");
    }
    // Names and addresses the grant names are still resolved and checked.
    let c = fetcher(
        &env,
        "[[capabilities.http.allow]]\nscheme = \"http\"\nhost = \"localhost\"\nmethods = [\"GET\"]\n\
         [[capabilities.http.allow]]\nscheme = \"http\"\nhost = \"169.254.169.254\"\nmethods = [\"GET\"]\n\
         [[capabilities.http.allow]]\nscheme = \"http\"\nhost = \"10.1.2.3\"\nmethods = [\"GET\"]\n",
    )
    .await;
    let e = fetch(
        &env,
        &c,
        json!({"url": "http://169.254.169.254/latest/meta-data"}),
    )
    .await
    .unwrap_err();
    assert!(e.contains("cloud metadata"), "{e}");
    let e = fetch(&env, &c, json!({"url": "http://10.1.2.3/"}))
        .await
        .unwrap_err();
    assert!(e.contains("private"), "{e}");
    assert!(
        server.seen().is_empty(),
        "nothing refused reached the server"
    );
    let denied = audit(&env)
        .await
        .into_iter()
        .filter(|(a, _)| a == "http.denied")
        .count();
    assert!(denied >= 7, "every refusal is audited ({denied})");
}

#[tokio::test(flavor = "multi_thread")]
async fn loopback_is_refused_unless_the_owner_allows_it() {
    let server = TestServer::start(|_| Reply::Echo).await;
    let config = Config::default();
    let mut runtime = support::runtime_with(&config);
    runtime.set_network(ironclaw::net::NetworkConfig::default());
    let env = Env {
        runtime,
        secrets: LiveSecrets::default(),
        db: migrated(Backend::Sqlite).await,
    };
    let c = fetcher(&env, &allow(server.addr.port(), "/", "\"GET\"")).await;
    let e = fetch(&env, &c, json!({"url": server.url("/")}))
        .await
        .unwrap_err();
    assert!(
        e.contains("loopback") && e.contains("allow_loopback"),
        "{e}"
    );
    assert!(server.seen().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn redirects_are_followed_only_where_the_grant_allows() {
    let env = env("").await;
    let server = TestServer::start(|s| match s.target.as_str() {
        "/api/in" => Reply::Full(
            302,
            vec![("location".into(), "/api/echo".into())],
            Vec::new(),
        ),
        "/api/out" => Reply::Full(
            302,
            vec![("location".into(), "/private/x".into())],
            Vec::new(),
        ),
        "/api/away" => Reply::Full(
            301,
            vec![("location".into(), "http://127.0.0.3:1/".into())],
            Vec::new(),
        ),
        "/api/loop" => Reply::Full(
            302,
            vec![("location".into(), "/api/loop".into())],
            Vec::new(),
        ),
        _ => Reply::Echo,
    })
    .await;
    let c = fetcher(&env, &allow(server.addr.port(), "/api", "\"GET\"")).await;
    let out = fetch(&env, &c, json!({"url": server.url("/api/in")}))
        .await
        .unwrap();
    assert_eq!(out["status"], 200);
    assert!(out["body"].as_str().unwrap().contains("/api/echo"));
    let e = fetch(&env, &c, json!({"url": server.url("/api/out")}))
        .await
        .unwrap_err();
    assert!(e.contains("path /private/x is outside /api"), "{e}");
    let e = fetch(&env, &c, json!({"url": server.url("/api/away")}))
        .await
        .unwrap_err();
    assert!(e.contains("host 127.0.0.3 is not in"), "{e}");
    let e = fetch(&env, &c, json!({"url": server.url("/api/loop")}))
        .await
        .unwrap_err();
    assert!(e.contains("more than 5 redirects"), "{e}");
    assert!(
        !server
            .seen()
            .iter()
            .any(|s| s.target.starts_with("/private"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn each_injection_arrives_while_the_guest_never_sees_the_value() {
    let env = env("").await;
    let server = TestServer::start(|_| Reply::Echo).await;
    let port = server.addr.port();
    for (inject, url, check) in [
        ("{ kind = \"bearer\" }", "/api/a", "authorization"),
        (
            "{ kind = \"basic\", username = \"me\" }",
            "/api/b",
            "authorization",
        ),
        (
            "{ kind = \"header\", name = \"X-Token\", prefix = \"Token \" }",
            "/api/c",
            "x-token",
        ),
        ("{ kind = \"query\", param = \"key\" }", "/api/d", "query"),
        (
            "{ kind = \"path\", placeholder = \"SECRET_HERE\" }",
            "/api/SECRET_HERE/e",
            "path",
        ),
    ] {
        let grant = format!(
            "{}[[capabilities.secrets]]\nname = \"api_token\"\nhosts = [\"127.0.0.1\"]\ninject = {inject}\n",
            allow(port, "/api", "\"GET\"")
        );
        let c = fetcher(&env, &grant).await;
        let out = fetch(&env, &c, json!({"url": server.url(url)}))
            .await
            .unwrap();
        let arrived = server.seen().pop().unwrap();
        match check {
            "authorization" if inject.contains("bearer") => {
                assert_eq!(arrived.headers["authorization"], format!("Bearer {SECRET}"))
            }
            "authorization" => {
                use base64::Engine as _;
                let pair = base64::engine::general_purpose::STANDARD.encode(format!("me:{SECRET}"));
                assert_eq!(arrived.headers["authorization"], format!("Basic {pair}"));
            }
            "x-token" => assert_eq!(arrived.headers["x-token"], format!("Token {SECRET}")),
            "query" => assert_eq!(arrived.target, format!("/api/d?key={SECRET}")),
            _ => assert_eq!(arrived.target, format!("/api/{SECRET}/e")),
        }
        // The echo carried the value back; the guest got it redacted.
        let seen = out.to_string();
        assert!(
            !seen.contains(SECRET),
            "{inject}: the guest saw the secret: {seen}"
        );
        assert!(seen.contains("[REDACTED:api_token]"), "{inject}: {seen}");
    }
    let injected = audit(&env)
        .await
        .into_iter()
        .filter(|(a, d)| a == "http.request" && d["secrets"] == json!(["api_token"]))
        .count();
    assert_eq!(injected, 5, "each injection audited by name");
    let all = format!("{:?}", env.db.db.audit().recent(1000, None).await.unwrap());
    assert!(!all.contains(SECRET), "no secret value in the audit trail");
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_go_only_to_the_hosts_the_grant_names_and_guest_credentials_are_refused() {
    let env = env("").await;
    let server = TestServer::start(|_| Reply::Echo).await;
    let port = server.addr.port();
    let grant = format!(
        "{}[[capabilities.secrets]]\nname = \"api_token\"\nhosts = [\"api.example.com\"]\ninject = {{ kind = \"bearer\" }}\n",
        allow(port, "/", "\"GET\"")
    );
    let c = fetcher(&env, &grant).await;
    fetch(&env, &c, json!({"url": server.url("/x")}))
        .await
        .unwrap();
    assert!(!server.seen()[0].headers.contains_key("authorization"));
    for header in ["Authorization", "Cookie", "X-Api-Key"] {
        let e = fetch(
            &env,
            &c,
            json!({"url": server.url("/x"), "headers": [[header, "mine"]]}),
        )
        .await
        .unwrap_err();
        assert!(e.contains("credential header"), "{header}: {e}");
    }
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn exfiltration_of_a_secret_or_the_canary_is_blocked_and_audited() {
    let env = env("").await;
    let server = TestServer::start(|_| Reply::Echo).await;
    let c = fetcher(&env, &allow(server.addr.port(), "/", "\"GET\", \"POST\"")).await;
    let canary = env.secrets.canary().expect("a canary").value().to_string();
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(SECRET);
    for (what, params) in [
        ("url", json!({"url": server.url(&format!("/x?q={SECRET}"))})),
        (
            "url canary",
            json!({"url": server.url(&format!("/{canary}"))}),
        ),
        (
            "header",
            json!({"url": server.url("/x"), "headers": [["x-data", OTHER]]}),
        ),
        (
            "body",
            json!({"method": "POST", "url": server.url("/x"), "body": format!("data={SECRET}")}),
        ),
        (
            "body base64",
            json!({"method": "POST", "url": server.url("/x"), "body": b64}),
        ),
        (
            "body canary",
            json!({"method": "POST", "url": server.url("/x"), "body": canary}),
        ),
        (
            "pattern",
            json!({"method": "POST", "url": server.url("/x"), "body": "key=AKIAIOSFODNN7EXAMPLE"}),
        ),
    ] {
        let e = fetch(&env, &c, params).await.unwrap_err();
        assert!(
            e.contains("denied:") && e.contains("blocked"),
            "{what}: {e}"
        );
        assert!(
            !e.contains(SECRET) && !e.contains(&canary) && !e.contains(OTHER),
            "{what}: {e}"
        );
    }
    assert!(server.seen().is_empty(), "nothing left the host");
    // Logs: a secret is redacted from the line, the canary drops it.
    fetch(
        &env,
        &c,
        json!({"url": server.url("/ok"), "log": format!("token={SECRET}")}),
    )
    .await
    .unwrap();
    fetch(&env, &c, json!({"url": server.url("/ok"), "log": canary}))
        .await
        .unwrap();
    let records = audit(&env).await;
    let count = |action: &str| records.iter().filter(|(a, _)| a == action).count();
    assert_eq!(count("http.leak-blocked"), 7);
    assert_eq!(count("log.redacted"), 1);
    assert_eq!(count("log.leak-blocked"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_response_carrying_a_secret_is_redacted_and_one_carrying_the_canary_is_blocked() {
    let env = env("").await;
    let canary = env.secrets.canary().unwrap().value().to_string();
    let leaked = format!("your password is {OTHER}");
    let server = TestServer::start(move |s| match s.target.as_str() {
        "/canary" => Reply::Full(200, Vec::new(), canary.clone().into_bytes()),
        _ => Reply::Full(
            200,
            vec![("x-echo".into(), OTHER.into())],
            leaked.clone().into_bytes(),
        ),
    })
    .await;
    let c = fetcher(&env, &allow(server.addr.port(), "/", "\"GET\"")).await;
    let out = fetch(&env, &c, json!({"url": server.url("/leak")}))
        .await
        .unwrap();
    assert_eq!(out["body"], "your password is [REDACTED:db_password]");
    assert!(!out.to_string().contains(OTHER), "{out}");
    let e = fetch(&env, &c, json!({"url": server.url("/canary")}))
        .await
        .unwrap_err();
    assert!(e.contains("blocked") && e.contains("canary"), "{e}");
}

#[tokio::test(flavor = "multi_thread")]
async fn timeouts_and_size_caps_are_enforced() {
    let env =
        env("first-byte-timeout-ms = 300\nmax-response-bytes = 65536\nmax-request-bytes = 1024\n")
            .await;
    let server = TestServer::start(|s| match s.target.as_str() {
        "/slow" => Reply::After(Duration::from_secs(3)),
        "/big" => Reply::Full(200, Vec::new(), vec![b'a'; 200_000]),
        _ => Reply::Echo,
    })
    .await;
    let c = fetcher(&env, &allow(server.addr.port(), "/", "\"GET\", \"POST\"")).await;
    let started = std::time::Instant::now();
    let e = fetch(&env, &c, json!({"url": server.url("/slow")}))
        .await
        .unwrap_err();
    assert!(e.contains("no response within 300 ms"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(2));
    let e = fetch(&env, &c, json!({"url": server.url("/big")}))
        .await
        .unwrap_err();
    assert!(e.contains("HttpResponseBodySize"), "{e}");
    let e = fetch(
        &env,
        &c,
        json!({"method": "POST", "url": server.url("/x"), "body": "b".repeat(5000)}),
    )
    .await
    .unwrap_err();
    // The host stops reading at the cap, so the guest's write fails (or,
    // if it finished writing first, the refusal names the limit).
    assert!(
        e.contains("over 1024 bytes") || e.contains("writing body"),
        "{e}"
    );
    assert!(
        !server.seen().iter().any(|s| s.method == "POST"),
        "nothing over the cap was sent"
    );
}

//! `ironclaw audit` with the real binary, on SQLite and PostgreSQL: records
//! written through the library's `AuditLog`, then filtered by component,
//! time and action, as JSON and as text. And the trail a real `tool call`
//! leaves behind.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use ironclaw::store::DatabaseUrl;
use ironclaw::store::domains::AuditEntry;
use ironclaw::store::domains::audit::StampedEntry;
use serde_json::{Value, json};
use support::backends::{Backend, migrated};

fn ironclaw(home: &Path, url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ironclaw"))
        .args(args)
        .env("IRONCLAW_HOME", home)
        .env("DATABASE_URL", url)
        .env_remove("IRONCLAW_LOG")
        .output()
        .expect("run ironclaw")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn url_of(url: &DatabaseUrl) -> String {
    match url {
        DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
        DatabaseUrl::Postgres(url) => url.clone(),
    }
}

fn now_ms() -> i64 {
    ironclaw::store::now_ms()
}

/// 2020-06-01T11:00:00Z.
const JUNE_FIRST_11H: i64 = 1_591_009_200_000;
const HOUR: i64 = 3_600_000;

/// `audit --json` with `filters`: the records' (actor, action) pairs.
fn listed(home: &Path, url: &str, filters: &[&str]) -> Vec<(String, String)> {
    let mut args = vec!["audit", "--json"];
    args.extend_from_slice(filters);
    let o = ironclaw(home, url, &args);
    assert!(o.status.success(), "{filters:?}: {}", text(&o.stderr));
    let rows: Vec<Value> = serde_json::from_str(text(&o.stdout).trim())
        .unwrap_or_else(|e| panic!("{filters:?}: {e}: {}", text(&o.stdout)));
    rows.iter()
        .map(|r| {
            (
                r["actor"].as_str().unwrap_or_default().to_string(),
                r["action"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

async fn filters_and_formats(backend: Backend) {
    let t = migrated(backend).await;
    let url = url_of(&t.url);
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let now = now_ms();
    let details = [
        json!({"method": "GET", "host": "api.example.com", "path": "/v1/forecast",
               "status": 200, "secrets": ["WEATHER_KEY"], "version": "1.2.0", "digest": "ab"}),
        json!({"host": "evil.example", "path": "/", "reason": "no rule allows this host"}),
        json!({"key": "notes/a", "bytes": 5, "version": "0.1.0", "digest": "cd"}),
        json!({"op": "set", "reason": "possible secret leak blocked in db write k: secret OWNER_TOKEN"}),
        json!({"name": "API_KEY"}),
    ]
    .map(|d| d.to_string());
    let rows = [
        (JUNE_FIRST_11H, "weather", "http.request"),
        (JUNE_FIRST_11H + HOUR, "weather", "http.denied"),
        (now - 2 * HOUR, "kv", "db.set"),
        (now - 10 * 60_000, "kv", "db.leak-blocked"),
        (now - 60_000, "owner", "secret.set"),
    ];
    let entries: Vec<StampedEntry<'_>> = rows
        .iter()
        .zip(&details)
        .map(|((at, actor, action), detail)| StampedEntry {
            at: *at,
            entry: AuditEntry {
                actor,
                action,
                detail,
            },
        })
        .collect();
    let log = t.db.audit();
    // Inserted newest first: the order shown comes from the times, not ids.
    let reversed: Vec<StampedEntry<'_>> = entries.iter().rev().cloned().collect();
    log.append_many(&reversed).await.unwrap();

    let all = pairs(&[
        ("weather", "http.request"),
        ("weather", "http.denied"),
        ("kv", "db.set"),
        ("kv", "db.leak-blocked"),
        ("owner", "secret.set"),
    ]);
    assert_eq!(listed(h, &url, &[]), all, "oldest first");
    assert_eq!(listed(h, &url, &["--component", "kv"]), all[2..4]);
    assert!(listed(h, &url, &["--component", "nobody"]).is_empty());
    assert_eq!(listed(h, &url, &["--since", "1h"]), all[3..]);
    assert_eq!(
        listed(h, &url, &["--since", "30m", "--component", "kv"]),
        all[3..4]
    );
    assert_eq!(listed(h, &url, &["--since", "2020-06-02"]), all[2..]);
    assert_eq!(listed(h, &url, &["--since", "2020-06-01"]), all);
    assert_eq!(
        listed(h, &url, &["--since", "2020-06-01T13:30:00+02:00"]),
        all[1..],
        "11:30Z"
    );
    assert!(listed(h, &url, &["--since", "2999-01-01"]).is_empty());
    assert_eq!(listed(h, &url, &["--action", "db."]), all[2..4]);
    assert_eq!(listed(h, &url, &["--action", "db.set"]), all[2..3]);
    assert_eq!(listed(h, &url, &["--action", "http"]), all[..2]);
    assert_eq!(
        listed(h, &url, &["--limit", "2"]),
        all[3..],
        "the newest two"
    );

    // JSON: the detail parsed, the time in UTC.
    let o = ironclaw(h, &url, &["audit", "--json", "--action", "http.request"]);
    let rows: Vec<Value> = serde_json::from_str(text(&o.stdout).trim()).unwrap();
    assert_eq!(rows[0]["at"], JUNE_FIRST_11H);
    assert_eq!(rows[0]["time"], "2020-06-01 11:00:00Z");
    assert_eq!(rows[0]["detail"]["host"], "api.example.com");
    assert_eq!(rows[0]["detail"]["digest"], "ab");

    // Text: one line per record, the detail summarised.
    let o = ironclaw(h, &url, &["audit", "--component", "weather"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    for (line, expected) in lines.iter().zip([
        [
            "2020-06-01 11:00:00Z",
            "weather",
            "http.request",
            "GET api.example.com/v1/forecast → 200 (secrets [\"WEATHER_KEY\"])",
        ],
        [
            "2020-06-01 12:00:00Z",
            "weather",
            "http.denied",
            "evil.example/: no rule allows this host",
        ],
    ]) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields[..2].join(" "), expected[0], "{line}");
        assert_eq!(fields[2], expected[1], "{line}");
        assert_eq!(fields[3], expected[2], "{line}");
        assert!(line.ends_with(expected[3]), "{line}");
        assert!(!line.contains("1.2.0"), "no version in the summary: {line}");
    }
    let o = ironclaw(h, &url, &["audit", "--action", "db.set"]);
    assert!(
        text(&o.stdout).contains("notes/a (5 bytes)"),
        "{}",
        text(&o.stdout)
    );

    let o = ironclaw(h, &url, &["audit", "--since", "2999-01-01"]);
    assert!(o.status.success());
    assert_eq!(text(&o.stdout), "");
    assert!(text(&o.stderr).contains("no audit records match"));
}

async fn bad_arguments_are_usage_errors(backend: Backend) {
    let t = migrated(backend).await;
    let url = url_of(&t.url);
    let home = tempfile::tempdir().unwrap();
    for args in [
        ["audit", "--since", "yesterday"],
        ["audit", "--since", "2020-02-30"],
        ["audit", "--limit", "0"],
    ] {
        let o = ironclaw(home.path(), &url, &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o.stderr));
    }
    let o = ironclaw(home.path(), &url, &["audit", "--since", "yesterday"]);
    assert!(text(&o.stderr).contains("RFC 3339"), "{}", text(&o.stderr));
}

on_both_backends!(filters_and_formats, bad_arguments_are_usage_errors);

/// `tool call` lends the component the db store and the audit trail, and
/// writes the trail before it exits.
#[test]
fn a_tool_call_leaves_its_db_writes_on_the_trail() {
    let fixtures = support::fixtures_dir();
    let home = support::temp_home();
    let h = home.root();
    let db = format!("sqlite://{}", h.join("ironclaw.db").display());
    let wasm = fixtures.join("kv.wasm");
    let wasm = wasm.to_str().unwrap();
    let call = |params: Value| {
        let params = params.to_string();
        ironclaw(
            h,
            &db,
            &["tool", "call", "kv", "--wasm", wasm, "--params", &params],
        )
    };
    let o = call(json!({"op": "set", "key": "greeting", "value": "hello there"}));
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout).trim(), r#"{"stored":true}"#);
    // Another process, the same database: the value persisted.
    let o = call(json!({"op": "get", "key": "greeting"}));
    let got: Value = serde_json::from_str(text(&o.stdout).trim()).unwrap();
    assert_eq!(got["value"], "hello there");

    let o = ironclaw(h, &db, &["audit", "--component", "kv", "--json"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let rows: Vec<Value> = serde_json::from_str(text(&o.stdout).trim()).unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["action"], "db.set");
    assert_eq!(rows[0]["detail"]["key"], "greeting");
    assert_eq!(rows[0]["detail"]["bytes"], 11);
    assert_eq!(rows[0]["detail"]["version"], "0.1.0");
    assert!(!text(&o.stdout).contains("hello there"), "never the value");
}

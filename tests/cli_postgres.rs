//! The CLI on PostgreSQL: `DATABASE_URL=postgres://…` is all it takes.

mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn ironclaw(home: &Path, url: &str, args: &[&str], input: Option<&str>) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_ironclaw"))
        .args(args)
        .env("IRONCLAW_HOME", home)
        .env("DATABASE_URL", url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.unwrap_or("").as_bytes()).unwrap();
    drop(stdin);
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn db_and_memory_commands_work_on_postgres() {
    let url = support::backends::fresh_postgres_url().await;
    let home = tempfile::tempdir().unwrap();
    let h = home.path();

    let o = ironclaw(h, &url, &["db", "status", "--json"], None);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let rows: Vec<serde_json::Value> = serde_json::from_str(text(&o.stdout).trim()).unwrap();
    assert!(rows.iter().all(|r| r["applied_at"].is_null()), "{rows:?}");

    let o = ironclaw(h, &url, &["db", "migrate"], None);
    assert!(
        text(&o.stderr).contains("applied migration(s) 1"),
        "{}",
        text(&o.stderr)
    );
    let o = ironclaw(h, &url, &["db", "migrate"], None);
    assert!(
        text(&o.stderr).contains("up to date"),
        "{}",
        text(&o.stderr)
    );

    let o = ironclaw(
        h,
        &url,
        &["memory", "write", "notes/garden.md"],
        Some("# Garden\n\nWater the tomatoes.\n"),
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        !h.join("ironclaw.db").exists(),
        "no SQLite file when PostgreSQL is configured"
    );
    let o = ironclaw(
        h,
        &url,
        &["memory", "search", "watering tomato", "--json"],
        None,
    );
    let hits: Vec<serde_json::Value> = serde_json::from_str(text(&o.stdout).trim()).unwrap();
    assert_eq!(hits[0]["path"], "notes/garden.md");
    let o = ironclaw(h, &url, &["memory", "tree", "--json"], None);
    let paths: Vec<String> = serde_json::from_str(text(&o.stdout).trim()).unwrap();
    assert!(
        paths.contains(&"SOUL.md".to_string()),
        "identity seeded: {paths:?}"
    );
}

#[test]
fn a_dead_database_is_a_clear_error_that_hides_the_password() {
    let home = tempfile::tempdir().unwrap();
    // Nothing listens on port 1 of loopback.
    let o = ironclaw(
        home.path(),
        "postgres://ironclaw:hunter2@127.0.0.1:1/nope",
        &["memory", "tree"],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert!(
        err.contains("postgres://ironclaw:***@127.0.0.1:1/nope"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
}

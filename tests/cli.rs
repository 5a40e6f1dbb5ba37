//! The `ironclaw` binary as an owner uses it.

mod support;

use std::path::Path;
use std::process::{Command, Output};

fn ironclaw(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ironclaw"))
        .args(args)
        .env("IRONCLAW_HOME", home)
        .env_remove("IRONCLAW_LOG")
        .env_remove("DATABASE_URL")
        .output()
        .expect("run ironclaw")
}

/// An owner's home: it trusts the key that signed the bundled set.
fn home() -> std::path::PathBuf {
    support::owner_home().root().to_path_buf()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn tool_call_prints_the_result_as_json() {
    support::components_dir();
    let h = home();
    let o = ironclaw(
        &h,
        &["tool", "call", "echo", "--params", r#"{"text":"hi"}"#],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), r#"{"text":"hi"}"#);

    let o = ironclaw(
        &h,
        &[
            "tool",
            "call",
            "time_now",
            "--params",
            r#"{"timezone":"UTC"}"#,
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["timezone"], "UTC");

    let o = ironclaw(
        &h,
        &[
            "tool",
            "call",
            "json_select",
            "--params",
            r#"{"data":{"a":[1,2,3]},"path":"$.a[1:]"}"#,
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), r#"{"matches":[2,3]}"#);
}

#[test]
fn verbose_call_includes_the_usage_record() {
    support::components_dir();
    let o = ironclaw(
        &home(),
        &[
            "tool",
            "call",
            "echo",
            "--params",
            r#"{"text":"x"}"#,
            "--verbose",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["output"]["text"], "x");
    assert!(v["usage"]["fuel_used"].as_u64().unwrap() > 0);
    assert!(v["usage"]["peak_memory_bytes"].as_u64().unwrap() > 0);
    assert_eq!(v["digest"].as_str().unwrap().len(), 64);
}

#[test]
fn failures_exit_non_zero_with_one_line() {
    support::components_dir();
    let h = home();
    let o = ironclaw(&h, &["tool", "call", "echo", "--params", r#"{"text":1}"#]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.starts_with("error: invalid-params:"), "{err}");
    assert!(stdout(&o).is_empty());

    let o = ironclaw(&h, &["tool", "call", "no_such_tool"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("known tools: echo"), "{}", stderr(&o));
}

#[test]
fn wasm_path_runs_a_development_component_and_says_so() {
    let fixtures = support::fixtures_dir();
    let wasm = fixtures.join("trap.wasm");
    let o = ironclaw(
        &home(),
        &[
            "tool",
            "call",
            "trap",
            "--wasm",
            wasm.to_str().unwrap(),
            "--params",
            r#"{"mode":"panic"}"#,
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("development path"), "{err}");
    assert!(err.contains("error: trap: guest trapped"), "{err}");
    assert!(err.contains("fixture panic"), "{err}");
}

#[test]
fn wasm_path_without_a_manifest_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("lonely.wasm");
    std::fs::copy(support::components_dir().join("echo.wasm"), &wasm).unwrap();
    let o = ironclaw(
        &home(),
        &["tool", "call", "echo", "--wasm", wasm.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no manifest beside"), "{}", stderr(&o));
}

#[test]
fn broken_manifest_and_config_are_specific_errors() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("echo.wasm");
    std::fs::copy(support::components_dir().join("echo.wasm"), &wasm).unwrap();
    std::fs::write(
        dir.path().join("echo.toml"),
        "name = \"echo\"\nversion = \"0.1.0\"\nkind = \"tool\"\nworld-version = \"0.1.0\"\n[limits]\nfuel = \"lots\"\n",
    )
    .unwrap();
    let o = ironclaw(
        &home(),
        &["tool", "call", "echo", "--wasm", wasm.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("echo.toml") && stderr(&o).contains("fuel"),
        "{}",
        stderr(&o)
    );

    let h = home();
    std::fs::write(h.join("config.toml"), "[limits.max]\nmemory-mb = 10\n").unwrap();
    let o = ironclaw(&h, &["doctor"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("config.toml") && stderr(&o).contains("memory-mb"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn list_and_doctor_speak_json() {
    support::components_dir();
    let h = home();
    let o = ironclaw(&h, &["tool", "list", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows: Vec<serde_json::Value> = serde_json::from_str(stdout(&o).trim()).unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["tool"].as_str().unwrap()).collect();
    for t in [
        "echo",
        "time_now",
        "time_format",
        "time_convert",
        "json_select",
        "json_transform",
    ] {
        assert!(names.contains(&t), "{t} missing from {names:?}");
    }

    let o = ironclaw(&h, &["doctor", "--json"]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let checks: Vec<serde_json::Value> = serde_json::from_str(stdout(&o).trim()).unwrap();
    let by_name = |n: &str| checks.iter().find(|c| c["name"] == n).unwrap().clone();
    assert_eq!(by_name("data-dir")["status"], "ok");
    assert_eq!(by_name("engine")["status"], "ok");
    assert_eq!(by_name("components")["status"], "ok");
    assert!(
        by_name("cache")["detail"]
            .as_str()
            .unwrap()
            .contains("precompiled artifacts")
    );
}

#[test]
fn run_loads_components_and_stops_on_sigterm() {
    support::components_dir();
    let h = home();
    let o = ironclaw(&h, &["run", "--check"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("echo 0.1.0 [tool]"), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("workspace: 8 documents"),
        "{}",
        stderr(&o)
    );
    let o = ironclaw(&h, &["memory", "read", "SOUL.md"]);
    assert!(
        stdout(&o).starts_with("# Soul"),
        "identity seeded on first run"
    );

    let child = Command::new(env!("CARGO_BIN_EXE_ironclaw"))
        .arg("run")
        .env("IRONCLAW_HOME", &h)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("ready") && err.contains("stopping"), "{err}");
}

#[test]
fn the_bundled_set_serves_only_when_signed_by_a_trusted_key() {
    support::components_dir();
    let untrusting = support::temp_home().root().to_path_buf();
    let o = ironclaw(&untrusting, &["run", "--check"]);
    let err = stderr(&o);
    assert!(
        err.contains("echo not loaded: bundled component refused") && err.contains("keys trust"),
        "{err}"
    );
    assert!(!err.contains("echo 0.1.0 [tool]"), "{err}");
    let o = ironclaw(&untrusting, &["tool", "call", "echo", "--params", "{}"]);
    assert!(
        !o.status.success(),
        "an untrusted bundled echo must not answer"
    );

    // A trusted key admits the set; one flipped byte refuses that component.
    let bundled = tempfile::tempdir().unwrap();
    let bin_dir = bundled.path().join("release");
    std::fs::create_dir_all(&bin_dir).unwrap();
    let set = bundled.path().join("components");
    std::fs::create_dir_all(&set).unwrap();
    for f in [
        "echo.wasm",
        "echo.toml",
        "echo.sig",
        "time.wasm",
        "time.toml",
        "time.sig",
    ] {
        std::fs::copy(support::components_dir().join(f), set.join(f)).unwrap();
    }
    let mut wasm = std::fs::read(set.join("time.wasm")).unwrap();
    let last = wasm.len() - 1;
    wasm[last] ^= 1;
    std::fs::write(set.join("time.wasm"), wasm).unwrap();
    let bin = bin_dir.join("ironclaw");
    std::fs::copy(env!("CARGO_BIN_EXE_ironclaw"), &bin).unwrap();
    let o = Command::new(&bin)
        .args(["run", "--check"])
        .env("IRONCLAW_HOME", home())
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("echo 0.1.0 [tool]"), "{err}");
    assert!(
        err.contains("time not loaded: bundled component refused"),
        "{err}"
    );
}

fn ironclaw_stdin(home: &Path, args: &[&str], input: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_ironclaw"))
        .args(args)
        .env("IRONCLAW_HOME", home)
        .env_remove("DATABASE_URL")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn memory_commands_work_on_the_embedded_database() {
    let h = home();
    let o = ironclaw_stdin(
        &h,
        &["memory", "write", "notes/garden.md"],
        "# Garden\n\nWater the tomatoes.\n",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        h.join("ironclaw.db").is_file(),
        "the SQLite default lives in IRONCLAW_HOME"
    );

    let o = ironclaw(&h, &["memory", "read", "notes/garden.md"]);
    assert_eq!(stdout(&o), "# Garden\n\nWater the tomatoes.\n");

    let o = ironclaw(&h, &["memory", "tree", "--json"]);
    let paths: Vec<String> = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert!(paths.contains(&"notes/garden.md".to_string()));
    assert!(
        paths.contains(&"SOUL.md".to_string()),
        "identity files seeded: {paths:?}"
    );

    let o = ironclaw(
        &h,
        &[
            "memory",
            "search",
            "watering tomato",
            "--limit",
            "2",
            "--json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let hits: Vec<serde_json::Value> = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(hits[0]["path"], "notes/garden.md");
    assert_eq!(hits.len(), 2);

    let o = ironclaw(&h, &["memory", "delete", "notes/garden.md"]);
    assert!(o.status.success());
    let o = ironclaw(&h, &["memory", "read", "notes/garden.md"]);
    assert_eq!(o.status.code(), Some(1));
    let o = ironclaw_stdin(&h, &["memory", "write", "/etc/passwd"], "x");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("must be relative"), "{}", stderr(&o));

    let o = ironclaw(&h, &["db", "status", "--json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert!(rows.iter().all(|r| r["applied_at"].is_number()), "{rows:?}");
}

//! The sandbox through the real `ironclaw` binary and a real Docker daemon:
//! `tool call shell` asks for approval (a terminal prompt, or --yes), the
//! file tools stay in the workspace, the host's environment stays out, a
//! crashed host's container is reaped at the next start, `jobs` lists,
//! shows and cancels, and `sandbox build|status` and `doctor` speak.

mod support;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use ironclaw::sandbox::labels;
use serde_json::{Value, json};
use support::docker::{config_section, containers_labelled, daemon, image, workspace};

struct Host {
    home: PathBuf,
    workspace: PathBuf,
}

impl Host {
    async fn new(extra: &str) -> Option<(Host, bollard::Docker)> {
        let docker = daemon().await?;
        let image = image(&docker).await;
        let home = support::temp_home().root().to_path_buf();
        std::fs::create_dir_all(&home).unwrap();
        let workspace = workspace();
        std::fs::write(
            home.join("config.toml"),
            config_section(&image, &workspace, extra),
        )
        .unwrap();
        Some((Host { home, workspace }, docker))
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_ironclaw"));
        c.args(args)
            .env("IRONCLAW_HOME", &self.home)
            .env_remove("DATABASE_URL")
            .env_remove("IRONCLAW_LOG")
            .stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run ironclaw")
    }

    fn json(&self, args: &[&str]) -> Value {
        let o = self.run(args);
        assert!(o.status.success(), "{args:?}: {}", text(&o.stderr));
        serde_json::from_str(text(&o.stdout).trim())
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", text(&o.stdout)))
    }

    fn tool(&self, name: &str, params: Value) -> Output {
        self.run(&[
            "tool",
            "call",
            name,
            "--yes",
            "--params",
            &params.to_string(),
        ])
    }

    fn scope(&self) -> String {
        ironclaw::sandbox::scope_of(&self.home)
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn tool_json(o: &Output) -> Value {
    assert!(o.status.success(), "{}", text(&o.stderr));
    serde_json::from_str(text(&o.stdout).trim()).unwrap()
}

/// Runs `ironclaw ARGS` on a pseudo-terminal (util-linux `script`), typing
/// `answer` at its prompt; returns what the terminal showed and whether the
/// command succeeded.
fn on_terminal(host: &Host, args: &[&str], answer: &str) -> (String, bool) {
    let quoted: Vec<String> = std::iter::once(env!("CARGO_BIN_EXE_ironclaw").to_string())
        .chain(args.iter().map(|a| a.to_string()))
        .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
        .collect();
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut child = Command::new("script")
        .args(["-q", "-e", "-c", &quoted.join(" "), "/dev/null"])
        .env("IRONCLAW_HOME", &host.home)
        .env("SHELL", "/bin/sh")
        .env_remove("DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::from(log.reopen().unwrap()))
        .stderr(Stdio::from(log.reopen().unwrap()))
        .spawn()
        .expect("script (util-linux) runs");
    let mut stdin = child.stdin.take().unwrap();
    // Typed once the prompt can be there; the terminal buffers it anyway.
    std::thread::sleep(Duration::from_millis(300));
    stdin.write_all(answer.as_bytes()).unwrap();
    stdin.flush().unwrap();
    let status = child.wait().unwrap();
    drop(stdin);
    (
        std::fs::read_to_string(log.path()).unwrap(),
        status.success(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tool_call_shell_asks_for_approval_and_runs_with_yes() {
    let Some((host, _docker)) = Host::new("").await else {
        return;
    };
    let params = json!({"command": "echo hi; echo oops >&2"}).to_string();
    // No terminal and no --yes: refused before anything runs.
    let o = host.run(&["tool", "call", "shell", "--params", &params]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("needs approval"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(host.json(&["jobs", "list", "--json"]), json!([]));

    // On a terminal the owner is asked: no runs nothing, yes runs it.
    let (shown, ok) = on_terminal(
        &host,
        &["tool", "call", "shell", "--params", &params],
        "n\n",
    );
    assert!(!ok);
    assert!(shown.contains("Run tool `shell` with"), "{shown}");
    assert!(shown.contains("not approved"), "{shown}");
    assert_eq!(host.json(&["jobs", "list", "--json"]), json!([]));
    let (shown, ok) = on_terminal(
        &host,
        &["tool", "call", "shell", "--params", &params],
        "y\n",
    );
    assert!(ok, "{shown}");
    assert!(shown.contains("\"stdout\":\"hi\\n\""), "{shown}");

    let out = tool_json(&host.tool("shell", json!({"command": "echo hi; echo oops >&2"})));
    assert_eq!(out["exit_code"], 0);
    assert_eq!(out["stdout"], "hi\n");
    assert_eq!(out["stderr"], "oops\n");
    assert_eq!(out["state"], "completed");

    // A failing command prints its result and exits 1.
    let o = host.tool("shell", json!({"command": "exit 7"}));
    assert_eq!(o.status.code(), Some(1));
    let failed: Value = serde_json::from_str(text(&o.stdout).trim()).unwrap();
    assert_eq!(failed["exit_code"], 7);
    assert!(
        text(&o.stderr).contains("exit code 7"),
        "{}",
        text(&o.stderr)
    );

    let jobs = host.json(&["jobs", "list", "--json"]);
    let states: Vec<&str> = jobs
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["failed", "completed", "completed"]);
    let id = jobs[0]["id"].as_str().unwrap();
    let shown = host.json(&["jobs", "show", id, "--json"]);
    assert_eq!(shown["kind"], "shell");
    assert_eq!(shown["result"]["exit_code"], 7);
    let events: Vec<&str> = shown["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["created", "container", "running", "failed"]);
    let listed = text(&host.run(&["jobs", "list"]).stdout);
    assert!(listed.contains("exit 7"), "{listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_environment_and_a_secret_in_it_stay_out() {
    let Some((host, _docker)) = Host::new("").await else {
        return;
    };
    let secret = "sk-sandbox-secret-0123456789abcdefghijklmnop";
    let o = host
        .command(&[
            "tool",
            "call",
            "shell",
            "--yes",
            "--params",
            &json!({"command": "env; cat /proc/self/environ; cat /proc/1/environ"}).to_string(),
        ])
        .env("OPENAI_API_KEY", secret)
        .env("IRONCLAW_TEST_SECRET", secret)
        .output()
        .unwrap();
    let out = tool_json(&o);
    let seen = out["stdout"].as_str().unwrap();
    assert!(seen.contains("PATH="), "{seen}");
    assert!(!seen.contains(secret), "the secret leaked in: {seen}");
    assert!(!seen.contains("IRONCLAW_"), "{seen}");
    assert!(!seen.contains("OPENAI_API_KEY"), "{seen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_file_tools_work_in_the_workspace_and_refuse_escapes() {
    let Some((host, _docker)) = Host::new("").await else {
        return;
    };
    let w = tool_json(&host.tool(
        "write_file",
        json!({"path": "src/hello.txt", "content": "one\ntwo\nthree\n"}),
    ));
    assert_eq!(w["bytes_written"], 14);
    assert_eq!(
        std::fs::read_to_string(host.workspace.join("src/hello.txt")).unwrap(),
        "one\ntwo\nthree\n"
    );
    let r = tool_json(&host.tool("read_file", json!({"path": "/workspace/src/hello.txt"})));
    assert_eq!(r["content"], "one\ntwo\nthree\n");
    let diff = "--- a/src/hello.txt\n+++ b/src/hello.txt\n@@ -1,3 +1,3 @@\n one\n-two\n+TWO\n three\n--- /dev/null\n+++ b/notes.md\n@@ -0,0 +1 @@\n+new file\n";
    let p = tool_json(&host.tool("apply_patch", json!({"patch": diff})));
    assert_eq!(p["files"], json!(["src/hello.txt", "notes.md"]));
    assert_eq!(
        std::fs::read_to_string(host.workspace.join("src/hello.txt")).unwrap(),
        "one\nTWO\nthree\n"
    );
    assert_eq!(
        std::fs::read_to_string(host.workspace.join("notes.md")).unwrap(),
        "new file\n"
    );
    // A diff that does not apply changes nothing.
    let bad =
        "--- a/src/hello.txt\n+++ b/src/hello.txt\n@@ -1,3 +1,3 @@\n one\n-zwei\n+ZWEI\n three\n";
    let o = host.tool("apply_patch", json!({"patch": bad}));
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("does not apply"),
        "{}",
        text(&o.stderr)
    );
    let l = tool_json(&host.tool("list_dir", json!({})));
    assert_eq!(
        l["entries"],
        json!([
            {"name": "notes.md", "kind": "file", "size": 9},
            {"name": "src", "kind": "dir", "size": l["entries"][1]["size"]},
        ])
    );

    // Escapes: `..`, absolute paths elsewhere, symlinks out, in a diff too.
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "host secret").unwrap();
    std::os::unix::fs::symlink(outside.path(), host.workspace.join("link")).unwrap();
    let refusals = [
        ("read_file", json!({"path": "../secret.txt"})),
        ("read_file", json!({"path": "/etc/passwd"})),
        ("read_file", json!({"path": "link/secret.txt"})),
        (
            "write_file",
            json!({"path": "link/new.txt", "content": "x"}),
        ),
        ("write_file", json!({"path": "src/../../x", "content": "x"})),
        ("list_dir", json!({"path": "link"})),
        (
            "apply_patch",
            json!({"patch": "--- /dev/null\n+++ b/../escape.txt\n@@ -0,0 +1 @@\n+x\n"}),
        ),
    ];
    for (tool, params) in refusals {
        let o = host.tool(tool, params.clone());
        assert_eq!(o.status.code(), Some(1), "{tool} {params}");
        assert!(
            text(&o.stderr).contains("refused"),
            "{tool} {params}: {}",
            text(&o.stderr)
        );
    }
    assert!(!outside.path().join("new.txt").exists());
    assert!(!host.workspace.parent().unwrap().join("escape.txt").exists());
    // Even a shell job, which no host check confines, reaches nothing of
    // the host through the link: inside, it points at nothing.
    let out = tool_json(&host.tool(
        "shell",
        json!({"command": "cat /workspace/link/secret.txt 2>&1; ls /workspace"}),
    ));
    assert!(
        !out["stdout"].as_str().unwrap().contains("host secret"),
        "{out}"
    );
}

fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

fn running_job(host: &Host) -> String {
    let mut id = String::new();
    wait_for("a running job", || {
        let list = host.json(&["jobs", "list", "--state", "running", "--json"]);
        match list[0]["id"].as_str() {
            Some(found) => {
                id = found.to_string();
                true
            }
            None => false,
        }
    });
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_host_leaves_no_container_behind_after_the_next_start() {
    let Some((host, docker)) = Host::new("").await else {
        return;
    };
    let mut child = host
        .command(&[
            "tool",
            "call",
            "shell",
            "--yes",
            "--params",
            r#"{"command":"sleep 300"}"#,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let job = running_job(&host);
    child.kill().unwrap(); // SIGKILL: no cleanup runs
    child.wait().unwrap();
    let left = containers_labelled(&docker, labels::SCOPE, &host.scope()).await;
    assert_eq!(left.len(), 1, "the crash left its container running");

    let status = host.json(&["sandbox", "status", "--json"]);
    assert_eq!(status["reaped"]["containers"], json!(left));
    assert_eq!(status["reaped"]["jobs"], json!([job]));
    assert_eq!(status["containers"], json!([]));
    assert!(
        containers_labelled(&docker, labels::SCOPE, &host.scope())
            .await
            .is_empty()
    );
    let shown = host.json(&["jobs", "show", &job, "--json"]);
    assert_eq!(shown["state"], "failed");
    assert!(
        shown["result"]["reason"]
            .as_str()
            .unwrap()
            .contains("host stopped"),
        "{shown}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_cancel_stops_a_running_job_and_removes_its_container() {
    let Some((host, docker)) = Host::new("").await else {
        return;
    };
    let child = host
        .command(&[
            "tool",
            "call",
            "shell",
            "--yes",
            "--params",
            r#"{"command":"echo started; sleep 300"}"#,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let job = running_job(&host);
    let o = host.run(&["jobs", "cancel", &job]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("1 container removed"),
        "{}",
        text(&o.stdout)
    );
    let done = child.wait_with_output().unwrap();
    assert!(!done.status.success());
    assert!(
        text(&done.stderr).contains("cancelled"),
        "{}",
        text(&done.stderr)
    );
    assert!(
        containers_labelled(&docker, labels::JOB, &job)
            .await
            .is_empty()
    );
    assert_eq!(
        host.json(&["jobs", "show", &job, "--json"])["state"],
        "cancelled"
    );
    let again = host.run(&["jobs", "cancel", &job]);
    assert_eq!(again.status.code(), Some(2));
    assert!(text(&again.stderr).contains("nothing to cancel"));
    let none = host.run(&["jobs", "show", "no-such-job"]);
    assert_eq!(none.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_build_status_and_doctor_speak() {
    let Some((host, docker)) = Host::new("").await else {
        return;
    };
    let tag = image(&docker).await;
    let o = host.run(&["sandbox", "build", "--tag", &tag]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains(&format!("built {tag} from a static busybox")));
    let bad = host.run(&[
        "sandbox",
        "build",
        "--tag",
        "x:y",
        "--busybox",
        "/etc/hostname",
    ]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad.stderr).contains("not an ELF"),
        "{}",
        text(&bad.stderr)
    );

    let status = host.json(&["sandbox", "status", "--json"]);
    assert_eq!(status["image_status"]["present"], true);
    assert_eq!(status["policy"], "workspace-write");
    assert_eq!(status["limits"]["memory_mb"], 2048);
    assert_eq!(status["limits"]["timeout_secs"], 120);
    assert_eq!(status["limits"]["output_bytes"], 65536);
    assert_eq!(status["user"], "1000:1000");
    assert!(status["daemon"]["api_version"].as_str().is_some());
    let human = text(&host.run(&["sandbox", "status"]).stdout);
    assert!(human.contains("daemon     Docker"), "{human}");

    let doctor = host.json(&["doctor", "--json"]);
    let docker_check = doctor
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "docker")
        .unwrap()
        .clone();
    assert_eq!(docker_check["status"], "ok", "{docker_check}");
    assert!(docker_check["detail"].as_str().unwrap().contains("built"));

    let listed = host.json(&["tool", "list", "--json"]);
    let shell = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tool"] == "shell")
        .unwrap();
    assert_eq!(shell["requires_approval"], true);
    assert_eq!(shell["component"], "sandbox");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_that_does_not_answer_is_reported_not_hidden() {
    let Some((host, _docker)) = Host::new("").await else {
        return;
    };
    let socket = tempfile::tempdir().unwrap();
    let nowhere = format!("unix://{}", socket.path().join("none.sock").display());
    let o = host
        .command(&[
            "tool",
            "call",
            "shell",
            "--yes",
            "--params",
            r#"{"command":"true"}"#,
        ])
        .env("DOCKER_HOST", &nowhere)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("does not answer"),
        "{}",
        text(&o.stderr)
    );
    let doctor = host
        .command(&["doctor", "--json"])
        .env("DOCKER_HOST", &nowhere)
        .output()
        .unwrap();
    let checks: Value = serde_json::from_str(text(&doctor.stdout).trim()).unwrap();
    let d = checks
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "docker")
        .unwrap();
    assert_eq!(d["status"], "warn", "{d}");
    assert!(d["detail"].as_str().unwrap().contains(&nowhere));
}

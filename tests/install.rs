//! Installing signed components: verification at install and at load,
//! grants bound to digests, escalation waits for approval while the old
//! version serves, and a running host swaps the approved version in.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

struct Env {
    _dir: tempfile::TempDir,
    home: PathBuf,
    src: PathBuf,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let (home, src) = (dir.path().join("home"), dir.path().join("src"));
        std::fs::create_dir_all(&src).unwrap();
        for f in ["echo.wasm", "echo.toml"] {
            std::fs::copy(support::components_dir().join(f), src.join(f)).unwrap();
        }
        let env = Env {
            _dir: dir,
            home,
            src,
        };
        env.ok(&["keys", "generate", "--name", "publisher", "--trust"]);
        env
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_ironclaw"))
            .args(args)
            .env("IRONCLAW_HOME", &self.home)
            .env_remove("DATABASE_URL")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    }

    fn fails(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(!o.status.success(), "{args:?} should fail");
        String::from_utf8_lossy(&o.stderr).into_owned()
    }

    fn wasm(&self) -> String {
        self.src.join("echo.wasm").display().to_string()
    }

    /// Rewrites the source manifest's version (and optionally adds lines).
    fn set_manifest(&self, version: &str, extra: &str) {
        let path = self.src.join("echo.toml");
        let text = std::fs::read_to_string(support::components_dir().join("echo.toml")).unwrap();
        let text = text.replace(
            "\nversion = \"0.1.0\"",
            &format!("\nversion = \"{version}\""),
        );
        std::fs::write(path, format!("{text}{extra}")).unwrap();
    }

    fn sign(&self) {
        self.ok(&["component", "sign", &self.wasm(), "--key", "publisher"]);
    }

    fn list(&self) -> Vec<serde_json::Value> {
        serde_json::from_str(
            self.ok(&["component", "list", "--json"])
                .lines()
                .next()
                .unwrap(),
        )
        .unwrap()
    }

    fn installed(&self, ext: &str) -> PathBuf {
        self.home.join("components").join(format!("echo.{ext}"))
    }

    fn echo_works(&self) -> bool {
        self.run(&["tool", "call", "echo", "--params", r#"{"text":"hi"}"#])
            .status
            .success()
    }
}

const MORE: &str = "\n[capabilities.db]\nquota-bytes = 4096\n";

#[test]
fn a_signed_component_installs_and_serves() {
    let env = Env::new();
    env.sign();
    let out = env.ok(&["component", "install", &env.wasm(), "--yes"]);
    assert!(
        out.contains("signed by") && out.contains("installed echo 0.1.0"),
        "{out}"
    );
    assert!(env.installed("sig").is_file());
    let list = env.list();
    assert_eq!(
        (list[0]["name"].as_str(), list[0]["grant"].as_str()),
        (Some("echo"), Some("active"))
    );
    assert!(env.echo_works());
    assert!(
        env.ok(&["component", "install", &env.wasm(), "--yes"])
            .contains("already installed")
    );
    let info = env.ok(&["component", "info", "echo"]);
    assert!(info.contains("write log lines"), "{info}");
    env.ok(&["component", "remove", "echo"]);
    assert!(!env.installed("wasm").exists());
    assert!(env.list().is_empty());
}

#[test]
fn a_flipped_byte_is_refused_at_install_and_at_load() {
    let env = Env::new();
    env.sign();
    env.ok(&["component", "install", &env.wasm(), "--yes"]);
    // At load: someone edits the installed file by hand.
    let mut bytes = std::fs::read(env.installed("wasm")).unwrap();
    let i = bytes.len() / 2;
    bytes[i] ^= 1;
    std::fs::write(env.installed("wasm"), &bytes).unwrap();
    let o = env.run(&["tool", "call", "echo", "--params", r#"{"text":"hi"}"#]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("echo not loaded") && err.contains("digest mismatch"),
        "{err}"
    );
    // At install: the same flip in the source.
    std::fs::write(env.src.join("echo.wasm"), &bytes).unwrap();
    let err = env.fails(&["component", "install", &env.wasm(), "--yes"]);
    assert!(err.contains("digest mismatch"), "{err}");
}

#[test]
fn unsigned_untrusted_and_edited_are_refused() {
    let env = Env::new();
    let err = env.fails(&["component", "install", &env.wasm(), "--yes"]);
    assert!(
        err.contains("unsigned") && err.contains("--allow-unsigned"),
        "{err}"
    );

    // Edited after signing: a capability added.
    env.sign();
    env.set_manifest("0.1.0", MORE);
    let err = env.fails(&["component", "install", &env.wasm(), "--yes"]);
    assert!(err.contains("manifest changed"), "{err}");

    // Signed by a key this host does not trust.
    env.set_manifest("0.1.0", "");
    env.ok(&["keys", "generate", "--name", "stranger"]);
    env.ok(&["component", "sign", &env.wasm(), "--key", "stranger"]);
    let err = env.fails(&["component", "install", &env.wasm(), "--yes"]);
    assert!(err.contains("untrusted key"), "{err}");

    // --allow-unsigned installs exactly that digest, and it runs.
    std::fs::remove_file(env.src.join("echo.sig")).unwrap();
    let out = env.ok(&[
        "component",
        "install",
        &env.wasm(),
        "--yes",
        "--allow-unsigned",
    ]);
    assert!(out.contains("UNSIGNED"), "{out}");
    assert!(env.echo_works());
}

#[test]
fn more_capabilities_wait_for_approval_and_downgrades_need_a_flag() {
    let env = Env::new();
    env.sign();
    env.ok(&["component", "install", &env.wasm(), "--yes"]);
    // Same capabilities: replaces without a question.
    env.set_manifest("0.2.0", "");
    env.sign();
    assert!(
        env.ok(&["component", "install", &env.wasm()])
            .contains("installed echo 0.2.0")
    );
    // More: no terminal to ask, so it waits; 0.2.0 keeps serving.
    env.set_manifest("0.3.0", MORE);
    env.sign();
    let out = env.ok(&["component", "install", &env.wasm()]);
    assert!(
        out.contains("storage") && out.contains("waits for approval"),
        "{out}"
    );
    let list = env.list();
    assert_eq!(list[0]["version"], "0.2.0");
    assert!(list[0]["pending"].is_string());
    assert!(env.echo_works(), "the approved version still serves");
    env.ok(&["component", "approve", "echo"]);
    assert_eq!(env.list()[0]["version"], "0.3.0");
    assert!(env.echo_works());
    assert!(
        env.fails(&["component", "approve", "echo"])
            .contains("no version waiting")
    );
    // Older than installed.
    env.set_manifest("0.1.0", "");
    env.sign();
    let err = env.fails(&["component", "install", &env.wasm(), "--yes"]);
    assert!(err.contains("--allow-downgrade"), "{err}");
    env.ok(&[
        "component",
        "install",
        &env.wasm(),
        "--yes",
        "--allow-downgrade",
    ]);
    assert_eq!(env.list()[0]["version"], "0.1.0");
}

fn status(home: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(home.join("run/components.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

fn wait_for_version(home: &Path, version: &str) {
    let start = Instant::now();
    loop {
        let s = status(home);
        if s.iter()
            .any(|c| c["name"] == "echo" && c["version"] == version)
        {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "echo {version} never served: {s:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_running_host_keeps_the_old_version_until_approval_then_swaps() {
    let env = Env::new();
    env.sign();
    env.ok(&["component", "install", &env.wasm(), "--yes"]);
    let mut host = Command::new(env!("CARGO_BIN_EXE_ironclaw"))
        .arg("run")
        .env("IRONCLAW_HOME", &env.home)
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_version(&env.home, "0.1.0");
    env.set_manifest("0.2.0", MORE);
    env.sign();
    env.ok(&["component", "install", &env.wasm()]);
    std::thread::sleep(Duration::from_millis(500));
    let s = status(&env.home);
    assert!(
        s.iter()
            .any(|c| c["name"] == "echo" && c["version"] == "0.1.0"),
        "{s:?}"
    );
    env.ok(&["component", "approve", "echo"]);
    wait_for_version(&env.home, "0.2.0");
    let _ = host.kill();
    let _ = host.wait();
}

/// A signed, trusted new version copied into place by hand: asking for no
/// more than the approved version, it is approved on the spot (and
/// recorded); asking for more, or unsigned, it is refused and the approved
/// version is what `component list` still shows.
#[test]
fn a_hand_placed_upgrade_serves_only_within_the_approved_grant() {
    let env = Env::new();
    env.sign();
    env.ok(&["component", "install", &env.wasm(), "--yes"]);
    let place = |with_sig: bool| {
        for ext in ["wasm", "toml"] {
            std::fs::copy(env.src.join(format!("echo.{ext}")), env.installed(ext)).unwrap();
        }
        if with_sig {
            std::fs::copy(env.src.join("echo.sig"), env.installed("sig")).unwrap();
        } else {
            let _ = std::fs::remove_file(env.installed("sig"));
        }
    };
    let version = |env: &Env| env.list()[0]["version"].as_str().unwrap().to_string();

    env.set_manifest("0.1.1", "");
    env.sign();
    place(true);
    let said = env.ok(&["run", "--check"]);
    assert!(said.contains("echo 0.1.1 [tool]"), "{said}");
    assert_eq!(version(&env), "0.1.1", "the upgrade is recorded");

    env.set_manifest("0.1.2", MORE);
    env.sign();
    place(true);
    let said = env.ok(&["run", "--check"]);
    assert!(said.contains("asks for more than approved"), "{said}");
    assert!(!said.contains("echo 0.1.2 [tool]"), "{said}");
    assert_eq!(version(&env), "0.1.1");

    env.set_manifest("0.1.3", "");
    place(false);
    let said = env.ok(&["run", "--check"]);
    assert!(
        !said.contains("echo 0.1.3 [tool]"),
        "unsigned must not serve: {said}"
    );
    assert_eq!(version(&env), "0.1.1");
}

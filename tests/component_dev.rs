//! `ironclaw component dev PATH` against a running `ironclaw run`: the
//! author's crate is built, served, rebuilt and swapped on a source change,
//! a broken edit keeps the old version serving, and stopping takes the dev
//! build away. Real binary, real cargo, real host, real files.

mod support;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ironclaw::registry::ComponentKind;
use ironclaw::scaffold;

/// Builds share the scaffold tests' target directory (wit-bindgen and
/// serde compile once); the crate lives at a stable path for the same reason.
fn target_dir() -> PathBuf {
    support::repo().join("target/scaffold-builds")
}

fn generate(name: &str) -> PathBuf {
    let parent = target_dir().join("crates");
    std::fs::create_dir_all(&parent).unwrap();
    let _ = std::fs::remove_dir_all(parent.join(name));
    scaffold::generate(ComponentKind::Tool, name, &parent)
        .expect("generate")
        .dir
}

/// A background `ironclaw` whose stderr goes to a file we can poll.
struct Background {
    child: Child,
    log: PathBuf,
}

impl Background {
    fn start(home: &Path, args: &[&str], log: PathBuf) -> Background {
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_ironclaw"))
            .args(args)
            .env("IRONCLAW_HOME", home)
            .env("CARGO_TARGET_DIR", target_dir())
            .env("CARGO_NET_OFFLINE", "true")
            .env_remove("DATABASE_URL")
            .env_remove("IRONCLAW_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .unwrap();
        Background { child, log }
    }

    fn said(&self) -> String {
        let mut s = String::new();
        std::fs::File::open(&self.log)
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        s
    }

    /// Waits until `check(stderr so far)` holds; panics with the log after `secs`.
    fn wait_for(&self, what: &str, secs: u64, check: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if check(&self.said()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("waited {secs} s for {what}; it said:\n{}", self.said());
    }

    fn stop(mut self) -> String {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{}", self.said());
        self.said()
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn call_greeter(home: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_ironclaw"))
        .args([
            "tool",
            "call",
            "dev_greeter",
            "--params",
            r#"{"name":"Ada"}"#,
        ])
        .env("IRONCLAW_HOME", home)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The digest the running host serves for `dev-greeter`, from its status file.
fn serving_digest(home: &Path) -> Option<String> {
    let text = std::fs::read_to_string(home.join("run/components.json")).ok()?;
    let status: serde_json::Value = serde_json::from_str(&text).ok()?;
    status
        .as_array()?
        .iter()
        .find(|s| s["name"] == "dev-greeter")
        .and_then(|s| s["digest"].as_str().map(str::to_string))
}

#[test]
fn dev_builds_serves_swaps_on_change_keeps_serving_through_a_broken_edit_and_cleans_up() {
    support::components_dir();
    let krate = generate("dev-greeter");
    let home = support::owner_home().root().to_path_buf();
    let logs = tempfile::tempdir().unwrap();

    let host = Background::start(&home, &["run"], logs.path().join("run.log"));
    host.wait_for("the host to be ready", 60, |s| s.contains("ready"));

    let krate_arg = krate.display().to_string();
    let dev = Background::start(
        &home,
        &["component", "dev", &krate_arg],
        logs.path().join("dev.log"),
    );
    dev.wait_for("the first build to serve", 300, |s| {
        s.contains("serving dev-greeter 0.1.0")
    });
    let first = serving_digest(&home).expect("the host reports the dev build");
    assert!(call_greeter(&home).contains("Hello, Ada!"));
    assert!(
        host.said().contains("development component"),
        "an unsigned dev build is loaded loudly:\n{}",
        host.said()
    );

    // A source change: rebuilt, swapped into the running host.
    let lib = krate.join("src/lib.rs");
    let source = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(&lib, source.replace("Hello, {name}!", "Howdy, {name}!")).unwrap();
    dev.wait_for("the second build to serve", 300, |s| {
        s.matches("serving dev-greeter").count() >= 2
    });
    let second = serving_digest(&home).unwrap();
    assert_ne!(first, second, "the new version serves");
    assert!(call_greeter(&home).contains("Howdy, Ada!"));

    // A broken edit: the build fails, the working version keeps serving.
    std::fs::write(&lib, "this is not rust\n").unwrap();
    dev.wait_for("the broken build to fail", 300, |s| {
        s.contains("build failed")
    });
    assert_eq!(serving_digest(&home).as_deref(), Some(second.as_str()));
    assert!(call_greeter(&home).contains("Howdy, Ada!"));

    // Stopping takes the dev build away; the host stops serving it.
    let said = dev.stop();
    assert!(said.contains("dev build removed"), "{said}");
    assert!(!home.join("dev/dev-greeter.wasm").exists());
    let deadline = Instant::now() + Duration::from_secs(30);
    while serving_digest(&home).is_some() {
        assert!(
            Instant::now() < deadline,
            "the host still serves the removed dev build"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    host.stop();
}

#[test]
fn dev_refuses_a_directory_that_is_not_a_component_crate() {
    let home = support::temp_home().root().to_path_buf();
    let empty = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ironclaw"))
        .args(["component", "dev", &empty.path().display().to_string()])
        .env("IRONCLAW_HOME", &home)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("has no Cargo.toml") && err.contains("component new"),
        "{err}"
    );
}

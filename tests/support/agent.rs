//! An owner's home configured to talk to a loopback fake LLM, and the real
//! `ironclaw` binary driven against it (`chat`, `run --repl`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::LazyLock;

use super::fake_llm::FakeLlm;

/// The key the tests "own"; it must reach the fake provider only through
/// the host's injection, and never sit in clear on disk.
pub const API_KEY: &str = "sk-test-0123456789abcdefghijklmnopqrstuvwxyz";

/// One precompiled-component cache for every home of this test binary, so
/// each `chat` process loads the bundled set without compiling it again.
static SHARED_CACHE: LazyLock<PathBuf> = LazyLock::new(|| {
    tempfile::Builder::new()
        .prefix("ironclaw-agent-cache-")
        .tempdir()
        .expect("cache dir")
        .keep()
});

pub struct AgentHome {
    pub root: PathBuf,
    /// Environment for every command (the key, on first use).
    pub env: Vec<(String, String)>,
}

impl AgentHome {
    /// A home trusting the bundled set, with `config` (TOML) as its
    /// config.toml, loopback allowed, and `key_var` = [`API_KEY`] in the
    /// environment of its commands (moved into the vault by the host).
    pub fn new(config: &str, key_var: &str) -> AgentHome {
        let home = super::owner_home();
        let root = home.root().to_path_buf();
        std::fs::create_dir_all(&root).expect("home");
        #[cfg(unix)]
        std::os::unix::fs::symlink(&*SHARED_CACHE, root.join("cache")).expect("cache link");
        std::fs::write(
            root.join("config.toml"),
            format!("[network]\nallow-loopback = true\n\n{config}"),
        )
        .expect("config");
        AgentHome {
            root,
            env: vec![(key_var.to_string(), API_KEY.to_string())],
        }
    }

    /// A `[llm]` section for `fake` with the given extra lines.
    pub fn llm_section(fake: &FakeLlm, model: &str, extra: &str) -> String {
        format!(
            "[llm]\nbackend = \"{}\"\nmodel = \"{model}\"\nbase-url = \"{}\"\n{extra}\n",
            fake.provider().component(),
            fake.base_url()
        )
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_ironclaw"));
        c.args(args)
            .env("IRONCLAW_HOME", &self.root)
            .env_remove("IRONCLAW_LOG")
            .env_remove("DATABASE_URL")
            .env_remove("LLM_BACKEND")
            .env_remove("LLM_MODEL")
            .env_remove("LLM_BASE_URL")
            .env_remove("OPENAI_API_KEY")
            .env_remove("ANTHROPIC_API_KEY")
            .env_remove("GEMINI_API_KEY")
            .env_remove("IRONCLAW_MASTER_KEY");
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    /// `ironclaw chat -m TEXT --json [extra…]` on a blocking thread (the
    /// fake provider keeps serving on the test's runtime meanwhile).
    pub async fn chat(&self, text: &str, extra: &[&str]) -> Chat {
        let mut args: Vec<String> = vec!["chat".into(), "--json".into(), "-m".into(), text.into()];
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut command = self.command(&[]);
        command.args(&args);
        let output = tokio::task::spawn_blocking(move || command.output().expect("run ironclaw"))
            .await
            .expect("chat thread");
        Chat::from(output)
    }

    /// `ironclaw run --repl` with `input` on stdin; returns when the REPL
    /// ends (stdin closes) and the host stops.
    pub async fn repl(&self, input: &str) -> Output {
        let mut command = self.command(&["run", "--repl"]);
        let input = input.to_string();
        tokio::task::spawn_blocking(move || {
            let mut child = command
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("run ironclaw");
            if let Some(mut stdin) = child.stdin.take() {
                let _ = stdin.write_all(input.as_bytes());
            }
            child.wait_with_output().expect("ironclaw output")
        })
        .await
        .expect("repl thread")
    }

    pub fn database(&self) -> PathBuf {
        self.root.join("ironclaw.db")
    }
}

/// What one `chat --json` printed.
#[derive(Debug)]
pub struct Chat {
    pub ok: bool,
    pub reply: serde_json::Value,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Chat {
    fn from(o: Output) -> Chat {
        let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
        Chat {
            ok: o.status.success(),
            reply: serde_json::from_str(stdout.trim()).unwrap_or(serde_json::Value::Null),
            stdout,
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Chat {
    pub fn text(&self) -> &str {
        self.reply["text"].as_str().unwrap_or_default()
    }

    pub fn kind(&self) -> &str {
        self.reply["kind"].as_str().unwrap_or_default()
    }

    /// Panics with everything the process said unless it succeeded.
    pub fn expect_ok(self) -> Chat {
        assert!(
            self.ok,
            "chat failed\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }
}

/// Whether `needle` occurs anywhere in the file at `path` (bytes).
pub fn file_contains(path: &Path, needle: &str) -> bool {
    std::fs::read(path)
        .map(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
        .unwrap_or(false)
}

/// A directory holding only the named fixtures, each `(fixture, name)`:
/// a fixture copied under another name serves as a second component. For
/// `[components] paths`, so the hostile fixtures are never loaded.
pub fn fixtures_only(fixtures: &[(&str, &str)]) -> PathBuf {
    let dir = tempfile::Builder::new()
        .prefix("ironclaw-fixtures-")
        .tempdir()
        .expect("temp dir")
        .keep();
    let from = super::fixtures_dir();
    for (fixture, name) in fixtures {
        std::fs::copy(
            from.join(format!("{fixture}.wasm")),
            dir.join(format!("{name}.wasm")),
        )
        .expect("copy wasm");
        let manifest = std::fs::read_to_string(from.join(format!("{fixture}.toml")))
            .expect("fixture manifest")
            .replace(
                &format!("name = \"{fixture}\""),
                &format!("name = \"{name}\""),
            );
        std::fs::write(dir.join(format!("{name}.toml")), manifest).expect("write manifest");
    }
    dir
}

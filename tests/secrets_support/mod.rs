//! The owner's side of `ironclaw secrets` for the secrets test binaries:
//! the real binary in a fresh home, on SQLite or PostgreSQL, with every
//! command's output checked for the values stored so far.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;

use ironclaw::store::{Database, DatabaseUrl};

use crate::support::backends::Backend;

/// One owner's installation: a home and a database on `backend`.
pub struct Host {
    pub home: PathBuf,
    _dir: tempfile::TempDir,
    pub url: DatabaseUrl,
    /// Values stored so far: no command may ever print one.
    values: Mutex<Vec<String>>,
}

impl Host {
    pub async fn new(backend: Backend) -> Host {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let url = match backend {
            Backend::Sqlite => DatabaseUrl::Sqlite(home.join("ironclaw.db")),
            Backend::Postgres => {
                DatabaseUrl::Postgres(crate::support::backends::fresh_postgres_url().await)
            }
        };
        Host {
            home,
            _dir: dir,
            url,
            values: Mutex::new(Vec::new()),
        }
    }

    pub fn watch(&self, value: &str) {
        self.values.lock().unwrap().push(value.to_string());
    }

    pub fn run(&self, args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ironclaw"));
        cmd.args(args)
            .env("IRONCLAW_HOME", &self.home)
            .env("IRONCLAW_LOG", "trace")
            .env("RUST_LOG", "trace")
            .env_remove("IRONCLAW_MASTER_KEY")
            .env_remove("DATABASE_URL")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let DatabaseUrl::Postgres(url) = &self.url {
            cmd.env("DATABASE_URL", url);
        }
        cmd.envs(env.iter().copied());
        let mut child = cmd.spawn().expect("run ironclaw");
        let mut input = child.stdin.take().unwrap();
        // A command that refuses early closes stdin: that is not an error.
        let _ = input.write_all(stdin);
        drop(input);
        let out = child.wait_with_output().unwrap();
        self.assert_quiet(&out, args);
        out
    }

    pub fn assert_quiet(&self, out: &Output, args: &[&str]) {
        for v in self.values.lock().unwrap().iter() {
            for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
                assert!(
                    !contains(bytes, v.as_bytes()),
                    "`ironclaw {}` printed a secret value on {stream}",
                    args.join(" ")
                );
            }
        }
        let err = text(&out.stderr);
        assert!(!err.contains("panicked"), "{err}");
    }

    pub fn set(&self, name: &str, value: &str) -> Output {
        self.watch(value);
        self.run(
            &["secrets", "set", name],
            format!("{value}\n").as_bytes(),
            &[],
        )
    }

    pub async fn db(&self) -> Database {
        Database::open_migrated(&self.url).await.unwrap()
    }

    pub fn key_file(&self) -> PathBuf {
        self.home.join("master.key")
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

pub fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}", text(&o.stderr));
    text(&o.stdout)
}

pub fn fails(o: &Output, code: i32, message: &str) -> String {
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(code), "{err}");
    assert!(err.contains(message), "expected `{message}` in: {err}");
    err
}

pub fn list_json(host: &Host) -> Vec<serde_json::Value> {
    serde_json::from_str(ok(&host.run(&["secrets", "list", "--json"], b"", &[])).trim()).unwrap()
}

/// The rows of `secrets list --json` for stored secrets only: the list also
/// names secrets installed components ask for and nobody set yet (the
/// bundled LLM adapters ask for their API keys).
pub fn stored_json(host: &Host) -> Vec<serde_json::Value> {
    list_json(host)
        .into_iter()
        .filter(|r| r["set"] == true)
        .collect()
}

pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

//! `ironclaw secrets list` shows who may use each secret (and what is
//! asked for but missing); `secrets set` at a real terminal prompts twice.

mod secrets_support;
mod support;

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Mutex;

use ironclaw::registry::ComponentKind;
use ironclaw::registry::install::ApprovedGrant;
use ironclaw::registry::manifest::{Capabilities, Injection, SecretRequest};
use ironclaw::store::domains::{ComponentRecord, GrantRecord, GrantStatus};
use secrets_support::{Host, contains, list_json, ok, text};
use support::backends::Backend;

fn grant_json(secrets: &[(&str, &str)]) -> String {
    let capabilities = Capabilities {
        secrets: secrets
            .iter()
            .map(|(name, host)| SecretRequest {
                name: name.to_string(),
                hosts: vec![host.to_string()],
                inject: Injection::Basic {
                    username: "me".into(),
                },
                paths: Vec::new(),
            })
            .collect(),
        ..Capabilities::default()
    };
    serde_json::to_string(&ApprovedGrant {
        kind: ComponentKind::Tool,
        capabilities,
        unsigned: false,
        signer: None,
    })
    .unwrap()
}

async fn list_shows_who_uses_each_secret(backend: Backend) {
    let host = Host::new(backend).await;
    // A component on the owner's search path: loaded as its manifest asks.
    let dev = host.home.with_file_name("dev");
    std::fs::create_dir_all(&dev).unwrap();
    std::fs::write(dev.join("fetcher.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(
        dev.join("fetcher.toml"),
        r#"name = "fetcher"
version = "0.1.0"
kind = "tool"
world-version = "0.1.0"

[[capabilities.secrets]]
name = "openai_api_key"
hosts = ["api.openai.com"]
inject = { kind = "bearer" }

[[capabilities.secrets]]
name = "github_token"
hosts = ["api.github.com"]
inject = { kind = "header", name = "X-Token" }
"#,
    )
    .unwrap();
    std::fs::create_dir_all(&host.home).unwrap();
    std::fs::write(
        host.home.join("config.toml"),
        format!("[components]\npaths = [{:?}]\n", dev.display().to_string()),
    )
    .unwrap();
    // An installed component: its approved grant, a pending upgrade asking
    // for more, and an old revoked grant that no longer counts.
    let db = host.db().await;
    let store = db.components();
    store
        .record_install(&ComponentRecord {
            name: "mailer".into(),
            version: "1.0.0".into(),
            kind: "tool".into(),
            digest: "d1".into(),
            manifest: String::new(),
            installed_at: ironclaw::store::now_ms(),
        })
        .await
        .unwrap();
    for (digest, status, secrets) in [
        (
            "d0",
            GrantStatus::Revoked,
            vec![("old_secret", "old.example.com")],
        ),
        (
            "d1",
            GrantStatus::Active,
            vec![("smtp_password", "smtp.example.com")],
        ),
        (
            "d2",
            GrantStatus::Pending,
            vec![
                ("smtp_password", "smtp.example.com"),
                ("imap_password", "imap.example.com"),
            ],
        ),
    ] {
        store
            .put_grant(&GrantRecord {
                component: "mailer".into(),
                digest: digest.into(),
                grant_json: grant_json(&secrets),
                status,
                approved_at: None,
            })
            .await
            .unwrap();
    }
    ok(&host.set("openai_api_key", "sk-used-by-fetcher-0042"));
    ok(&host.set("unused", "nobody-asks-for-this-0043"));

    let rows = list_json(&host);
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    // The bundled LLM adapters and channels ask for their keys too.
    assert_eq!(
        names,
        [
            "anthropic_api_key",
            "gemini_api_key",
            "github_token",
            "imap_password",
            "openai_api_key",
            "slack_bot_token",
            "smtp_password",
            "telegram_bot_token",
            "telegram_webhook_secret",
            "unused",
            "webhook_callback_secret",
            "whatsapp_access_token"
        ]
    );
    let row = |n: &str| rows.iter().find(|r| r["name"] == n).unwrap().clone();
    let uses = |n: &str| row(n)["used_by"].clone();
    assert_eq!(row("openai_api_key")["set"], true);
    assert_eq!(
        uses("openai_api_key"),
        serde_json::json!([
            {"component": "fetcher", "hosts": ["api.openai.com"], "grounds": "manifest"},
            {"component": "openai", "hosts": ["api.openai.com"], "grounds": "manifest"}
        ])
    );
    assert_eq!(row("github_token")["set"], false);
    assert!(row("github_token")["created_at"].is_null());
    assert_eq!(
        uses("smtp_password"),
        serde_json::json!([
            {"component": "mailer", "hosts": ["smtp.example.com"], "grounds": "approved"},
            {"component": "mailer", "hosts": ["smtp.example.com"], "grounds": "pending"},
        ])
    );
    assert_eq!(uses("imap_password")[0]["grounds"], "pending");
    assert_eq!(uses("unused"), serde_json::json!([]));

    let table = ok(&host.run(&["secrets", "list"], b"", &[]));
    let line = |n: &str| {
        table
            .lines()
            .find(|l| l.starts_with(&format!("{n} ")))
            .unwrap_or_else(|| panic!("no {n} in {table}"))
            .to_string()
    };
    assert!(line("github_token").contains("MISSING"), "{table}");
    assert!(
        line("github_token").contains("fetcher (api.github.com"),
        "{table}"
    );
    assert!(
        line("smtp_password").contains("mailer (smtp.example.com)"),
        "{table}"
    );
    assert!(
        line("imap_password").contains("pending approval"),
        "{table}"
    );
    assert!(!line("openai_api_key").contains("MISSING"), "{table}");
}

/// The hidden prompt, through a real terminal (`script` gives the command
/// a pty): asked twice, a mismatch stores nothing, the value is not echoed.
#[test]
fn the_prompt_asks_twice_and_never_echoes() {
    use std::io::Read;
    use std::sync::Arc;
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let prompt_run = |first: &str, second: &str| -> (Option<i32>, String) {
        let command = format!(
            "'{}' secrets set tty_secret",
            env!("CARGO_BIN_EXE_ironclaw")
        );
        let mut child = Command::new("script")
            .args(["-q", "-e", "-c", &command, "/dev/null"])
            .env("IRONCLAW_HOME", &home)
            .env("IRONCLAW_LOG", "trace")
            .env_remove("IRONCLAW_MASTER_KEY")
            .env_remove("DATABASE_URL")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("`script` (util-linux) runs the command on a pty");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut stdout = child.stdout.take().unwrap();
        let sink = Arc::clone(&seen);
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 1024];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        let wait_for = |what: &str| {
            let start = Instant::now();
            while !contains(&seen.lock().unwrap(), what.as_bytes()) {
                assert!(
                    start.elapsed() < Duration::from_secs(30),
                    "no `{what}` prompt"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
            // Typed after the terminal's echo is off, as a person would.
            std::thread::sleep(Duration::from_millis(500));
        };
        let mut stdin = child.stdin.take().unwrap();
        wait_for("input hidden");
        stdin.write_all(format!("{first}\n").as_bytes()).unwrap();
        wait_for("Again");
        stdin.write_all(format!("{second}\n").as_bytes()).unwrap();
        let status = child.wait().unwrap();
        drop(stdin);
        reader.join().unwrap();
        let out = text(&seen.lock().unwrap());
        (status.code(), out)
    };
    let (code, out) = prompt_run("typed-secret-a1", "typed-secret-b2");
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("differ"), "{out}");
    assert!(!out.contains("typed-secret"), "{out}");
    assert!(
        !home.join("master.key").exists(),
        "nothing stored, no key made"
    );

    let (code, out) = prompt_run("typed-secret-c3", "typed-secret-c3");
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("stored secret `tty_secret`"), "{out}");
    assert!(!out.contains("typed-secret"), "{out}");
}
on_both_backends!(list_shows_who_uses_each_secret);

//! `ironclaw secrets` as an owner uses it: the real binary, on SQLite and
//! PostgreSQL. Every command runs with trace logging, and every command's
//! output is checked for the values stored so far.

mod secrets_support;
mod support;

use std::path::PathBuf;

use ironclaw::secrets::{MasterKey, Vault};
use ironclaw::store::DatabaseUrl;
use secrecy::ExposeSecret;
use secrets_support::{Host, contains, fails, mode, ok, stored_json, text};
use support::backends::Backend;

async fn set_list_check_remove(backend: Backend) {
    let host = Host::new(backend).await;
    let before = ironclaw::store::now_ms();
    let o = host.set("openai_api_key", "sk-test-Aa1Bb2Cc3Dd4Ee5");
    assert!(text(&o.stderr).contains("stored secret `openai_api_key`"));
    assert!(text(&o.stderr).contains("created the master key"));
    ok(&o);
    assert_eq!(mode(&host.key_file()), 0o600);
    assert_eq!(mode(&host.home), 0o700);

    let rows = stored_json(&host);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["name"], "openai_api_key");
    assert_eq!(rows[0]["set"], true);
    let created = rows[0]["created_at"].as_i64().unwrap();
    assert!(created >= before && created <= ironclaw::store::now_ms());
    let table = ok(&host.run(&["secrets", "list"], b"", &[]));
    assert!(table.starts_with("NAME"), "{table}");
    let year = format!("{}-", &ironclaw::memory::identity::today_utc()[..4]);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("openai_api_key") && l.contains(&year)),
        "{table}"
    );

    // Replacing keeps the creation date and moves the update date.
    std::thread::sleep(std::time::Duration::from_millis(5));
    ok(&host.set("openai_api_key", "sk-test-rotated-Ff6Gg7"));
    let rows = stored_json(&host);
    assert_eq!(rows[0]["created_at"].as_i64(), Some(created));
    assert!(rows[0]["updated_at"].as_i64().unwrap() > created);

    ok(&host.set("github.token-2", "ghp_0123456789abcdefXYZ"));
    let checked = ok(&host.run(&["secrets", "check"], b"", &[]));
    assert!(checked.contains("openai_api_key: ok"), "{checked}");
    assert!(checked.contains("github.token-2: ok"), "{checked}");

    let o = host.run(&["secrets", "remove", "openai_api_key"], b"", &[]);
    ok(&o);
    let o = host.run(&["secrets", "remove", "openai_api_key"], b"", &[]);
    fails(&o, 1, "no secret `openai_api_key`");
    let rows = stored_json(&host);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["name"], "github.token-2");

    // The stored value is exactly what was piped, less one line ending.
    let vault = Vault::new(
        host.db().await.secrets(),
        MasterKey::read_file(&host.key_file()).unwrap(),
    );
    let got = vault.get("github.token-2").await.unwrap().unwrap();
    assert_eq!(got.expose(), "ghp_0123456789abcdefXYZ");
}

async fn no_plaintext_anywhere(backend: Backend) {
    let host = Host::new(backend).await;
    // Whole seconds: some file systems keep coarse modification times.
    let start = std::time::SystemTime::now() - std::time::Duration::from_secs(2);
    let value = "plaintext-canary-7f3a9c2e41b8";
    ok(&host.set("probe_name_93e1", value));
    ok(&host.set("second", "another-canary-55d0e1"));
    // Every file under the home, whatever it is (database, -wal, -shm, key).
    if backend == Backend::Sqlite {
        assert_no_plaintext(
            std::slice::from_ref(&host.home),
            value,
            "probe_name_93e1",
            None,
        );
    } else {
        assert!(
            files_holding(std::slice::from_ref(&host.home), value, None)
                .1
                .is_empty()
        );
    }
    if let DatabaseUrl::Postgres(url) = &host.url {
        // The server's files for this database, and its write-ahead log,
        // once a checkpoint has written everything out.
        let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client.batch_execute("CHECKPOINT").await.unwrap();
        let data: String = client
            .query_one("SHOW data_directory", &[])
            .await
            .unwrap()
            .get(0);
        let oid: u32 = client
            .query_one(
                "SELECT oid FROM pg_database WHERE datname = current_database()",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        let data = PathBuf::from(data);
        let dirs = [data.join("base").join(oid.to_string()), data.join("pg_wal")];
        // The log is shared by every test database: the segments written
        // since this test began are the ones that can hold its writes.
        assert_no_plaintext(&dirs, value, "probe_name_93e1", Some(start));
    }
    // What the database holds is an age file, not the value.
    let db = host.db().await;
    let stored = db
        .secrets()
        .ciphertext("probe_name_93e1")
        .await
        .unwrap()
        .unwrap();
    assert!(stored.starts_with(b"age-encryption.org/v1\n"));
    assert!(!contains(&stored, value.as_bytes()));
}

/// Reads every file under `dirs` (changed since `since`, when given): how
/// many were read, and those that hold `needle`.
fn files_holding(
    dirs: &[PathBuf],
    needle: &str,
    since: Option<std::time::SystemTime>,
) -> (usize, Vec<PathBuf>) {
    let mut stack = dirs.to_vec();
    let (mut files, mut hits) = (0, Vec::new());
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
            if path.is_dir() {
                stack.push(path);
            } else if since.is_some() && modified < since {
                continue;
            } else if let Ok(bytes) = std::fs::read(&path) {
                files += 1;
                if contains(&bytes, needle.as_bytes()) {
                    hits.push(path);
                }
            }
        }
    }
    (files, hits)
}

/// No file holds `value`, while the secret's name (stored in the clear) is
/// found: the scan does see the stored rows.
fn assert_no_plaintext(
    dirs: &[PathBuf],
    value: &str,
    name: &str,
    since: Option<std::time::SystemTime>,
) {
    let (files, hits) = files_holding(dirs, value, since);
    assert!(files > 0);
    assert!(hits.is_empty(), "plaintext in {hits:?}");
    let (_, named) = files_holding(dirs, name, since);
    assert!(!named.is_empty(), "the scan found no stored row at all");
}

async fn stray_values_are_refused_unechoed(backend: Backend) {
    let host = Host::new(backend).await;
    let value = "sk-live-typed-on-argv-9x8y7z";
    host.watch(value);
    let dashed = format!("-{value}");
    let assigned = format!("--value={value}");
    for args in [
        vec!["secrets", "set", "openai_api_key", value],
        vec!["secrets", "set", "openai_api_key", &dashed],
        vec!["secrets", "set", "openai_api_key", "--", value],
        vec!["secrets", "set", "openai_api_key", "x", value],
        vec!["secrets", "set", &assigned, "openai_api_key"],
        vec!["secrets", value],
    ] {
        let o = host.run(&args, format!("{value}\n").as_bytes(), &[]);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o.stderr));
    }
    let o = host.run(&["secrets", "set", "openai_api_key", value], b"", &[]);
    fails(&o, 2, "takes only a NAME");
    // Nothing was stored, and no key was made.
    assert!(stored_json(&host).is_empty());
    assert!(!host.key_file().exists());
}

async fn names_and_values_are_checked(backend: Backend) {
    let host = Host::new(backend).await;
    let long = "n".repeat(65);
    for name in [
        "has space",
        "slash/name",
        "k=sk-live-abcdef",
        "",
        long.as_str(),
    ] {
        let o = host.run(&["secrets", "set", name], b"value\n", &[]);
        let err = fails(&o, 2, "invalid secret name");
        assert!(
            err.contains("openai_api_key"),
            "the rule names an example: {err}"
        );
        if !name.is_empty() {
            assert!(!err.contains(name), "{err}");
        }
        fails(
            &host.run(&["secrets", "remove", name], b"", &[]),
            2,
            "invalid secret name",
        );
    }
    ok(&host.set(&"n".repeat(64), "fine-value-1"));
    for empty in ["", "\n", "\r\n"] {
        let o = host.run(&["secrets", "set", "empty"], empty.as_bytes(), &[]);
        fails(&o, 2, "empty value is refused");
    }
    let limit = ironclaw::secrets::MAX_VALUE_BYTES;
    let big = "b".repeat(limit);
    ok(&host.run(&["secrets", "set", "big"], big.as_bytes(), &[]));
    let o = host.run(
        &["secrets", "set", "bigger"],
        format!("{big}b").as_bytes(),
        &[],
    );
    fails(&o, 2, "over the limit");
    let o = host.run(&["secrets", "set", "binary"], &[0xff, 0xfe, b'a'], &[]);
    fails(&o, 2, "not UTF-8");

    // Exactly one line ending is removed; the rest is the value.
    host.watch("crlf-value");
    ok(&host.run(&["secrets", "set", "crlf"], b"crlf-value\r\n", &[]));
    host.watch("two-lines");
    ok(&host.run(&["secrets", "set", "lf2"], b"two-lines\n\n", &[]));
    let vault = Vault::new(
        host.db().await.secrets(),
        MasterKey::read_file(&host.key_file()).unwrap(),
    );
    let get = |n: &'static str| {
        let vault = &vault;
        async move { vault.get(n).await.unwrap().unwrap().expose().to_string() }
    };
    assert_eq!(get("crlf").await, "crlf-value");
    assert_eq!(get("lf2").await, "two-lines\n");
    assert_eq!(get("big").await.len(), limit);
    let names: Vec<_> = stored_json(&host)
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect();
    assert!(!names.contains(&"empty".to_string()), "{names:?}");
    assert!(!names.contains(&"bigger".to_string()), "{names:?}");
}

fn new_age_key() -> String {
    age::x25519::Identity::generate()
        .to_string()
        .expose_secret()
        .to_string()
}

async fn master_key_from_the_environment(backend: Backend) {
    let host = Host::new(backend).await;
    let key = new_age_key();
    let wrong = new_age_key();
    host.watch(&key);
    host.watch(&wrong);
    let env = [("IRONCLAW_MASTER_KEY", key.as_str())];
    host.watch("env-held-value-31415");
    let o = host.run(
        &["secrets", "set", "openai_api_key"],
        b"env-held-value-31415\n",
        &env,
    );
    assert!(text(&o.stderr).contains("IRONCLAW_MASTER_KEY"));
    ok(&o);
    assert!(
        !host.key_file().exists(),
        "no key file when the key is in the environment"
    );
    ok(&host.run(&["secrets", "check"], b"", &env));

    // The wrong key: a clear error that names the secret, not a crash.
    let bad = [("IRONCLAW_MASTER_KEY", wrong.as_str())];
    let o = host.run(&["secrets", "check"], b"", &bad);
    let err = fails(&o, 1, "cannot decrypt secret `openai_api_key`");
    assert!(err.contains("different master key"), "{err}");
    // …and nothing new is stored under it.
    let o = host.run(&["secrets", "set", "other"], b"x-value-1\n", &bad);
    fails(&o, 1, "cannot decrypt secret `openai_api_key`");
    // No key at all: the key file is not silently made while secrets exist.
    let o = host.run(&["secrets", "check"], b"", &[]);
    fails(&o, 1, "no master key");
    let o = host.run(&["secrets", "set", "other"], b"x-value-1\n", &[]);
    fails(&o, 1, "no master key");
    assert!(!host.key_file().exists());
    // A malformed or empty variable is refused, without being quoted.
    for junk in ["AGE-SECRET-KEY-1NOTREALLYAKEYATALL", "", "   "] {
        let o = host.run(&["secrets", "check"], b"", &[("IRONCLAW_MASTER_KEY", junk)]);
        let err = fails(&o, 1, "IRONCLAW_MASTER_KEY is set but");
        assert!(!err.contains("NOTREALLY"), "{err}");
    }
    // The key file's whole text works in the variable too.
    let file_text = format!("# a comment\n{key}\n");
    let o = host.run(
        &["secrets", "check"],
        b"",
        &[("IRONCLAW_MASTER_KEY", &file_text)],
    );
    ok(&o);
}

async fn loose_key_files_are_refused(backend: Backend) {
    use std::os::unix::fs::PermissionsExt;
    let host = Host::new(backend).await;
    ok(&host.set("token", "loose-key-test-value-2718"));
    let key_text = std::fs::read_to_string(host.key_file()).unwrap();
    let secret_line = key_text.lines().last().unwrap().to_string();
    host.watch(&secret_line);
    let fix = format!("chmod 600 {}", host.key_file().display());
    for loose in [0o644, 0o640, 0o604] {
        std::fs::set_permissions(host.key_file(), std::fs::Permissions::from_mode(loose)).unwrap();
        fails(&host.run(&["secrets", "check"], b"", &[]), 1, &fix);
        fails(&host.set("token", "new-value-161803"), 1, &fix);
    }
    std::fs::set_permissions(host.key_file(), std::fs::Permissions::from_mode(0o600)).unwrap();
    ok(&host.run(&["secrets", "check"], b"", &[]));
    // A key file that does not parse is refused, not replaced.
    std::fs::write(host.key_file(), "AGE-SECRET-KEY-1GARBAGE\n").unwrap();
    let o = host.run(&["secrets", "check"], b"", &[]);
    let err = fails(&o, 1, "not a usable key");
    assert!(!err.contains("GARBAGE"), "{err}");
    fails(
        &host.set("token", "new-value-161803"),
        1,
        "not a usable key",
    );
    assert_eq!(
        std::fs::read_to_string(host.key_file()).unwrap(),
        "AGE-SECRET-KEY-1GARBAGE\n"
    );
}
on_both_backends!(
    set_list_check_remove,
    no_plaintext_anywhere,
    stray_values_are_refused_unechoed,
    names_and_values_are_checked,
    master_key_from_the_environment,
    loose_key_files_are_refused,
);

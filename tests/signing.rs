//! Publisher keys and component signatures through the real binary:
//! `ironclaw keys …` and `ironclaw component sign|verify` on real files,
//! with the bundled `echo` component copied into a temp directory.

mod support;

use std::path::{Path, PathBuf};
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

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A fresh home and a directory holding a copy of `echo.wasm` + `echo.toml`.
struct Setup {
    home: PathBuf,
    wasm: PathBuf,
    manifest: PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::Builder::new()
            .prefix("ironclaw-signing-")
            .tempdir()
            .expect("temp dir")
            .keep();
        let built = support::components_dir();
        let wasm = dir.join("echo.wasm");
        let manifest = dir.join("echo.toml");
        std::fs::copy(built.join("echo.wasm"), &wasm).unwrap();
        std::fs::copy(built.join("echo.toml"), &manifest).unwrap();
        Setup {
            home: dir.join("home"),
            wasm,
            manifest,
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        ironclaw(&self.home, args)
    }

    fn wasm(&self) -> &str {
        self.wasm.to_str().unwrap()
    }

    /// `keys generate --json`, returning (id, public key file, secret key file).
    fn generate(&self, name: &str, extra: &[&str]) -> (String, String, String) {
        let mut args = vec!["keys", "generate", "--name", name, "--json"];
        args.extend(extra);
        let o = self.run(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
        let s = |k: &str| v[k].as_str().unwrap().to_string();
        (s("id"), s("public_key_file"), s("secret_key_file"))
    }

    fn sign(&self, key: &str) -> Output {
        self.run(&["component", "sign", self.wasm(), "--key", key])
    }

    fn verify(&self) -> Output {
        self.run(&["component", "verify", self.wasm()])
    }

    fn verify_json(&self) -> (Output, serde_json::Value) {
        let o = self.run(&["component", "verify", self.wasm(), "--json"]);
        let v = serde_json::from_str(stdout(&o).trim())
            .unwrap_or_else(|e| panic!("{e}: {}", stdout(&o)));
        (o, v)
    }

    fn signature_path(&self) -> PathBuf {
        self.wasm.with_extension("sig")
    }

    /// A trusted key that signed the component.
    fn signed_and_trusted(&self) -> String {
        let (id, ..) = self.generate("alice", &["--trust"]);
        let o = self.sign(&id);
        assert!(o.status.success(), "{}", stderr(&o));
        let o = self.verify();
        assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
        id
    }
}

/// Exit 1 with `says` on stderr.
fn refused(o: &Output, says: &str) {
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(o), stderr(o));
    assert!(stderr(o).contains(says), "wanted {says:?}: {}", stderr(o));
}

#[test]
fn generate_sign_verify_then_trust() {
    let s = Setup::new();
    let (id, public, secret) = s.generate("alice", &[]);
    assert_eq!(id.len(), 16);
    assert!(public.ends_with(&format!("{id}.pub")), "{public}");

    let o = s.sign(&id);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(s.signature_path().is_file());
    assert!(
        stderr(&o).contains("not trusted on this host"),
        "{}",
        stderr(&o)
    );

    // A key that was only generated is not trusted: verify says who signed
    // and refuses.
    let o = s.verify();
    refused(&o, "untrusted key");
    let out = stdout(&o);
    assert!(
        out.contains(&format!("signed by: {id} (alice), NOT trusted")),
        "{out}"
    );
    assert!(out.contains("write log lines"), "{out}");
    assert!(out.contains("fuel 10,000,000"), "{out}");

    let o = s.run(&["keys", "trust", &public]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = s.verify();
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("signature: valid"), "{}", stdout(&o));

    let (o, v) = s.verify_json();
    assert!(o.status.success());
    assert_eq!(v["status"], "verified");
    assert_eq!(v["verified"], true);
    assert_eq!(v["name"], "echo");
    assert_eq!(v["signer"]["key_id"], id.as_str());
    assert_eq!(v["signer"]["name"], "alice");
    assert_eq!(v["signer"]["trusted"], true);
    assert_eq!(v["wasm_digest_matches"], true);
    assert_eq!(v["manifest_matches"], true);
    assert_eq!(
        v["wasm_digest"],
        blake3::hash(&std::fs::read(&s.wasm).unwrap())
            .to_hex()
            .as_str()
    );
    assert!(v["requests"].as_array().unwrap().len() >= 2);

    // Signing by secret key path works too.
    let o = s.sign(&secret);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(s.verify().status.success());
}

#[test]
fn generate_never_prints_the_secret() {
    let s = Setup::new();
    let o = s.run(&["keys", "generate", "--name", "bob"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let list = s.run(&["keys", "list", "--json"]);
    let v: serde_json::Value = serde_json::from_str(stdout(&list).trim()).unwrap();
    let id = v[0]["id"].as_str().unwrap();
    let secret_file = s.home.join("keys").join(format!("{id}.key"));
    let text = std::fs::read_to_string(&secret_file).unwrap();
    let secret_hex = text
        .lines()
        .find_map(|l| l.strip_prefix("secret-key = \""))
        .and_then(|l| l.strip_suffix('"'))
        .unwrap();
    assert_eq!(secret_hex.len(), 64);
    assert!(!stdout(&o).contains(secret_hex) && !stderr(&o).contains(secret_hex));
    assert!(stdout(&o).contains(&format!("generated key {id} (bob)")));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&secret_file), 0o600);
        assert_eq!(mode(&s.home.join("keys")), 0o700);
    }
}

#[test]
fn flipping_one_byte_of_the_wasm_is_a_digest_mismatch() {
    let s = Setup::new();
    s.signed_and_trusted();
    let mut bytes = std::fs::read(&s.wasm).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&s.wasm, &bytes).unwrap();
    refused(
        &s.verify(),
        "digest mismatch: the .wasm changed since it was signed",
    );
    let (_, v) = s.verify_json();
    assert_eq!(v["status"], "digest-mismatch");
    assert_eq!(v["wasm_digest_matches"], false);
    assert_eq!(v["manifest_matches"], true);
    assert_eq!(v["verified"], false);
}

#[test]
fn a_capability_added_to_the_manifest_is_refused() {
    let s = Setup::new();
    s.signed_and_trusted();
    let original = std::fs::read_to_string(&s.manifest).unwrap();
    std::fs::write(
        &s.manifest,
        format!(
            "{original}\n[capabilities.http]\nallow = [{{ host = \"attacker.example\", methods = [\"POST\"] }}]\n"
        ),
    )
    .unwrap();
    let o = s.verify();
    refused(&o, "manifest changed since it was signed");
    // It still says what the edited manifest asks for, and what changed.
    assert!(stdout(&o).contains("attacker.example"), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("echo.toml, DIFFERS from what was signed"),
        "{}",
        stdout(&o)
    );

    // A raised limit is a change too.
    std::fs::write(
        &s.manifest,
        original.replace("memory-mib = 16", "memory-mib = 512"),
    )
    .unwrap();
    refused(&s.verify(), "manifest changed");

    // And so is a dropped one.
    std::fs::write(&s.manifest, original.replace("wall-ms = 1000", "")).unwrap();
    refused(&s.verify(), "manifest changed");

    std::fs::write(&s.manifest, &original).unwrap();
    assert!(s.verify().status.success());
}

#[test]
fn comment_and_layout_edits_still_verify() {
    let s = Setup::new();
    s.signed_and_trusted();
    let original = std::fs::read_to_string(&s.manifest).unwrap();
    let edited = format!(
        "# Reviewed by the owner.\n{}\n\n# trailing note\n",
        original
            .replace("fuel = 10_000_000", "fuel = 10000000   # ten million")
            .replace("logging = true", "logging=true")
    );
    std::fs::write(&s.manifest, edited).unwrap();
    let o = s.verify();
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));

    // The manifest may be `component.toml` instead of `<name>.toml`.
    std::fs::rename(&s.manifest, s.manifest.with_file_name("component.toml")).unwrap();
    let o = s.verify();
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
}

#[test]
fn unsigned_is_refused() {
    let s = Setup::new();
    let o = s.verify();
    refused(&o, "unsigned: no signature file");
    assert!(stdout(&o).contains("echo 0.1.0 (tool)"), "{}", stdout(&o));
    let (o, v) = s.verify_json();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(v["status"], "unsigned");
    assert_eq!(v["signer"], serde_json::Value::Null);
}

#[test]
fn signed_by_a_key_this_host_does_not_know_is_untrusted() {
    let s = Setup::new();
    s.generate("mine", &["--trust"]);
    // A stranger signs with a key from another home.
    let stranger = Setup::new();
    let (their_id, _, their_secret) = stranger.generate("stranger", &[]);
    let o = s.sign(&their_secret);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = s.verify();
    refused(&o, &format!("untrusted key: signed by {their_id}"));
    let (_, v) = s.verify_json();
    assert_eq!(v["status"], "untrusted-key");
    assert_eq!(v["signer"]["key_id"], their_id.as_str());
    // Its name comes from the owner's files only, and the owner has none.
    assert_eq!(v["signer"]["name"], serde_json::Value::Null);
    assert_eq!(v["signer"]["trusted"], false);
}

#[test]
fn a_signature_file_naming_another_key_is_invalid() {
    let s = Setup::new();
    let (trusted_id, trusted_pub, _) = s.generate("alice", &["--trust"]);
    let (mallory_id, _, _) = s.generate("mallory", &[]);
    let o = s.sign(&mallory_id);
    assert!(o.status.success(), "{}", stderr(&o));
    // Mallory's signature, relabelled as Alice's.
    let alice_hex = std::fs::read_to_string(&trusted_pub)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("public-key = ").map(str::to_string))
        .unwrap();
    let sig = std::fs::read_to_string(s.signature_path()).unwrap();
    let forged: String = sig
        .lines()
        .map(|l| {
            if l.starts_with("public-key = ") {
                format!("public-key = {alice_hex}\n")
            } else if l.starts_with("key-id = ") {
                format!("key-id = \"{trusted_id}\"\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    assert_ne!(forged, sig);
    std::fs::write(s.signature_path(), forged).unwrap();
    let o = s.verify();
    refused(&o, "signature invalid");
    assert!(stdout(&o).contains("claims key"), "{}", stdout(&o));

    // A valid signature for other bytes, copied over: the digest names the change.
    let other = Setup::new();
    let (oid, ..) = other.generate("alice", &[]);
    std::fs::write(&other.wasm, b"\0asm\x0d\0\x01\0").unwrap();
    assert!(other.sign(&oid).status.success());
    std::fs::copy(other.signature_path(), s.signature_path()).unwrap();
    refused(&s.verify(), "digest mismatch");
}

#[test]
fn malformed_signature_and_key_files_say_why() {
    let s = Setup::new();
    let id = s.signed_and_trusted();
    let sig = std::fs::read_to_string(s.signature_path()).unwrap();
    for (text, says) in [
        ("garbage".to_string(), "malformed signature file"),
        (sig.replace("-v1", "-v2"), "unsupported format"),
        (sig.replace("ed25519", "rsa"), "unsupported algorithm"),
        (
            sig.replace(
                &format!("key-id = \"{id}\""),
                "key-id = \"0000000000000000\"",
            ),
            "does not match public-key",
        ),
        (
            sig.lines()
                .filter(|l| !l.starts_with("signature"))
                .collect::<Vec<_>>()
                .join("\n"),
            "missing field `signature`",
        ),
        (
            sig.replace("signature = \"", "signature = \"00"),
            "128 hex characters",
        ),
    ] {
        std::fs::write(s.signature_path(), &text).unwrap();
        let o = s.verify();
        refused(&o, says);
        assert!(
            stderr(&o).contains("malformed signature file"),
            "{}",
            stderr(&o)
        );
        let (_, v) = s.verify_json();
        assert_eq!(v["status"], "malformed-signature");
    }

    let dir = s.wasm.parent().unwrap();
    let bad_key = dir.join("bad.pub");
    std::fs::write(
        &bad_key,
        "format = \"ironclaw-public-key-v1\"\nname = \"x\"\n",
    )
    .unwrap();
    let o = s.run(&["keys", "trust", bad_key.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("malformed key file"), "{}", stderr(&o));
    assert!(stderr(&o).contains("missing field"), "{}", stderr(&o));

    // A secret key handed to `keys trust` is refused without being echoed.
    let secret = s.home.join("keys").join(format!("{id}.key"));
    let secret_hex = std::fs::read_to_string(&secret)
        .unwrap()
        .lines()
        .find_map(|l| {
            l.strip_prefix("secret-key = \"")
                .map(|l| l[..64].to_string())
        })
        .unwrap();
    let o = s.run(&["keys", "trust", secret.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("SECRET key file"), "{}", stderr(&o));
    assert!(!stderr(&o).contains(&secret_hex) && !stdout(&o).contains(&secret_hex));

    // A malformed secret key cannot sign, and does not echo its lines.
    let bad_secret = dir.join("bad.key");
    std::fs::write(&bad_secret, format!("secret-key = {secret_hex}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&bad_secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let o = s.sign(bad_secret.to_str().unwrap());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("malformed key file"), "{}", stderr(&o));
    assert!(!stderr(&o).contains(&secret_hex), "{}", stderr(&o));
}

#[cfg(unix)]
#[test]
fn a_secret_key_others_can_read_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let s = Setup::new();
    let (id, _, secret) = s.generate("alice", &[]);
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = s.sign(&id);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("accessible by group or others (mode 0644)"),
        "{}",
        stderr(&o)
    );
    assert!(!s.signature_path().exists(), "nothing was signed");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(s.sign(&id).status.success());
}

#[test]
fn untrust_removes_trust() {
    let s = Setup::new();
    let id = s.signed_and_trusted();
    let o = s.run(&["keys", "untrust", &id]);
    assert!(o.status.success(), "{}", stderr(&o));
    refused(&s.verify(), "untrusted key");
    refused(&s.run(&["keys", "untrust", &id]), "is not trusted");
    let o = s.run(&["keys", "untrust", "not-an-id"]);
    assert_eq!(o.status.code(), Some(2));
    // Trusting again by the id of one's own key.
    assert!(s.run(&["keys", "trust", &id]).status.success());
    assert!(s.verify().status.success());
}

#[test]
fn keys_list_shows_own_and_trusted_keys() {
    let s = Setup::new();
    let o = s.run(&["keys", "list", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "[]");

    let (alice, ..) = s.generate("alice", &["--trust"]);
    let (bob, ..) = s.generate("bob", &[]);
    // Someone else's public key, trusted here without its secret.
    let other = Setup::new();
    let (carol, carol_pub, _) = other.generate("carol", &[]);
    assert!(s.run(&["keys", "trust", &carol_pub]).status.success());

    let o = s.run(&["keys", "list", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    let rows: Vec<(String, String, bool, bool)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["name"].as_str().unwrap().to_string(),
                r["trusted"].as_bool().unwrap(),
                r["has_secret"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (alice, "alice".to_string(), true, true),
            (bob, "bob".to_string(), false, true),
            (carol, "carol".to_string(), true, false),
        ]
    );

    let o = s.run(&["keys", "list"]);
    assert!(stdout(&o).contains("TRUSTED"), "{}", stdout(&o));
}

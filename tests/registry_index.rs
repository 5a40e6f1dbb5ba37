//! Registry indexes: `index::build` and `ironclaw registry build` over a copy
//! of the bundled components, loading and fetching from a directory and from
//! a loopback HTTP server (127.0.0.1 only), and every refusal: a tampered
//! `.wasm`, paths that leave the registry, malformed indexes.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ironclaw::config::Home;
use ironclaw::registry::index::{
    self, Fetched, INDEX_FORMAT, Index, IndexEntry, IndexError, RegistrySource,
};
use ironclaw::trust::{self, SecretKey};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const NAMES: [&str; 4] = ["echo", "json", "memory", "time"];

/// A temp registry directory holding copies of the bundled `.wasm` + `.toml`.
fn registry_copy() -> PathBuf {
    let dir = tempfile::Builder::new()
        .prefix("ironclaw-registry-")
        .tempdir()
        .expect("temp dir")
        .keep();
    let built = support::components_dir();
    for name in NAMES {
        for ext in ["wasm", "toml"] {
            std::fs::copy(
                built.join(format!("{name}.{ext}")),
                dir.join(format!("{name}.{ext}")),
            )
            .unwrap_or_else(|e| panic!("copying {name}.{ext}: {e}"));
        }
    }
    dir
}

fn key() -> SecretKey {
    SecretKey::generate("registry-test").expect("key")
}

/// Builds a signed index over a fresh copy.
fn built_registry() -> (PathBuf, SecretKey, Index) {
    let dir = registry_copy();
    let key = key();
    let mut seen = Vec::new();
    let index = index::build(&dir, Some(&key), &mut |b| {
        assert!(b.signed_now);
        seen.push(b.entry.name.clone());
    })
    .expect("build");
    assert_eq!(seen, NAMES);
    (dir, key, index)
}

/// The file server below over plain HTTP.
async fn serve(root: PathBuf) -> String {
    let (addr, _) = serve_with(root, None).await;
    format!("http://{addr}")
}

/// The same server behind TLS with a fresh self-signed certificate for
/// 127.0.0.1; returns the URL and the certificate's PEM file (a CA to trust).
async fn serve_tls(root: PathBuf) -> (String, tempfile::NamedTempFile) {
    use std::sync::Arc;
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let pem = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(pem.path(), cert.cert.pem()).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert.cert.der().clone()], key)
    .unwrap();
    let (addr, _) = serve_with(
        root,
        Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))),
    )
    .await;
    (format!("https://{addr}"), pem)
}

/// A tiny HTTP/1.1 file server on 127.0.0.1 (never any other address)
/// serving `root`: GET only, 404 for anything missing or outside it. Bodies
/// go out in small pieces so a client sees more than one chunk.
async fn serve_with(
    root: PathBuf,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> (std::net::SocketAddr, ()) {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("addr");
    assert!(addr.ip().is_loopback());
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (root, tls) = (root.clone(), tls.clone());
            tokio::spawn(async move {
                match tls {
                    Some(acceptor) => {
                        if let Ok(stream) = acceptor.accept(tcp).await {
                            handle(stream, root).await;
                        }
                    }
                    None => handle(tcp, root).await,
                }
            });
        }
    });
    (addr, ())
}

async fn handle<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    mut stream: S,
    root: PathBuf,
) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head);
    let path = head
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("GET "))
        .and_then(|l| l.split(' ').next())
        .unwrap_or("")
        .trim_start_matches('/')
        .to_string();
    let file = (!path.split('/').any(|s| s == ".." || s.is_empty()))
        .then(|| std::fs::read(root.join(&path)).ok())
        .flatten();
    let Some(body) = file else {
        let _ = stream
            .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .await;
        return;
    };
    let header = format!(
        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\ncontent-type: application/octet-stream\r\nconnection: close\r\n\r\n",
        body.len()
    );
    if stream.write_all(header.as_bytes()).await.is_err() {
        return;
    }
    for piece in body.chunks(64 * 1024) {
        if stream.write_all(piece).await.is_err() {
            return;
        }
        let _ = stream.flush().await;
    }
    let _ = stream.shutdown().await;
}

/// Fetches `entry`, checking the progress callback saw a sane sequence.
async fn fetch_observed(
    source: &RegistrySource,
    entry: &IndexEntry,
) -> Result<Fetched, IndexError> {
    let mut calls: Vec<(u64, Option<u64>)> = Vec::new();
    let result = index::fetch(source, entry, &mut |done, total| calls.push((done, total))).await;
    if result.is_ok() {
        assert!(calls.len() >= 2, "{}: progress calls {calls:?}", entry.name);
        assert!(
            calls.windows(2).all(|w| w[0].0 <= w[1].0),
            "progress goes forward: {calls:?}"
        );
        assert!(calls.iter().all(|c| c.1 == Some(entry.size)), "{calls:?}");
        assert_eq!(calls.last().map(|c| c.0), Some(entry.size));
    }
    result
}

async fn check_fetches(source: &RegistrySource, dir: &Path, key: &SecretKey, index: &Index) {
    for entry in &index.entries {
        let got = fetch_observed(source, entry)
            .await
            .unwrap_or_else(|e| panic!("{source} {}: {e}", entry.name));
        assert_eq!(got.wasm, std::fs::read(dir.join(&entry.wasm)).unwrap());
        assert_eq!(got.digest, entry.digest);
        assert_eq!(
            got.manifest_text,
            std::fs::read_to_string(dir.join(&entry.manifest)).unwrap()
        );
        // What was fetched verifies, with the signing key trusted.
        let manifest = ironclaw::registry::Manifest::parse(&got.manifest_text, "m").unwrap();
        let sig = trust::SignatureFile::parse(got.signature_text.as_deref().unwrap(), "s").unwrap();
        let verified =
            trust::verify(&got.wasm, &manifest, &sig, &trust::TrustStore::empty()).unwrap();
        assert_eq!(verified.key_id, key.public.id);
    }
}

#[tokio::test]
async fn index_loads_and_fetches_from_a_dir_and_a_loopback_url() {
    let (dir, key, index) = built_registry();
    assert_eq!(index.entries.len(), 4);
    let text = std::fs::read_to_string(dir.join(index::INDEX_FILE)).unwrap();
    assert!(text.contains(INDEX_FORMAT), "{text}");
    let echo = index.get("echo").expect("echo listed");
    assert_eq!(echo.kind.as_str(), "tool");
    assert_eq!(echo.wasm, "echo.wasm");
    assert_eq!(echo.manifest, "echo.toml");
    assert_eq!(echo.signature.as_deref(), Some("echo.sig"));
    assert_eq!(
        echo.digest,
        blake3::hash(&std::fs::read(dir.join("echo.wasm")).unwrap())
    );

    let from_dir = RegistrySource::parse(dir.to_str().unwrap()).unwrap();
    assert!(matches!(from_dir, RegistrySource::Dir(_)));
    assert_eq!(Index::load(&from_dir).await.unwrap(), index);
    check_fetches(&from_dir, &dir, &key, &index).await;

    let url = serve(dir.clone()).await;
    let from_url = RegistrySource::parse(&format!("{url}/")).unwrap();
    assert_eq!(from_url, RegistrySource::Url(url.clone()));
    assert_eq!(Index::load(&from_url).await.unwrap(), index);
    check_fetches(&from_url, &dir, &key, &index).await;
}

#[tokio::test]
async fn a_tampered_wasm_is_refused_before_anything_else() {
    let (dir, _key, index) = built_registry();
    let url = serve(dir.clone()).await;
    // Flip one byte after the index was built, and remove the manifest and
    // signature: the digest must be what refuses it, before they are read.
    let wasm = dir.join("json.wasm");
    let mut bytes = std::fs::read(&wasm).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&wasm, &bytes).unwrap();
    std::fs::remove_file(dir.join("json.toml")).unwrap();
    std::fs::remove_file(dir.join("json.sig")).unwrap();
    let entry = index.get("json").unwrap();
    for source in [
        RegistrySource::Dir(dir.clone()),
        RegistrySource::Url(url.clone()),
    ] {
        match fetch_observed(&source, entry).await {
            Err(IndexError::DigestMismatch {
                name,
                expected,
                actual,
            }) => {
                assert_eq!(name, "json");
                assert_eq!(expected, entry.digest.to_hex().as_str());
                assert_eq!(actual, blake3::hash(&bytes).to_hex().as_str());
            }
            other => panic!("{source}: wanted a digest mismatch, got {other:?}"),
        }
    }

    // A longer .wasm than the index says is cut off while downloading.
    let mut longer = std::fs::read(dir.join("echo.wasm")).unwrap();
    longer.push(0);
    std::fs::write(dir.join("echo.wasm"), &longer).unwrap();
    let entry = index.get("echo").unwrap();
    for source in [RegistrySource::Dir(dir.clone()), RegistrySource::Url(url)] {
        let err = fetch_observed(&source, entry).await.unwrap_err();
        assert_eq!(err.code(), "too-large", "{source}: {err}");
    }
}

#[tokio::test]
async fn manifests_that_disagree_with_the_index_are_refused() {
    let (dir, _key, index) = built_registry();
    let toml = dir.join("time.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(
        &toml,
        text.replacen("\nversion = \"0.1.0\"", "\nversion = \"9.0.0\"", 1),
    )
    .unwrap();
    let err = index::fetch(
        &RegistrySource::Dir(dir),
        index.get("time").unwrap(),
        &mut |_, _| {},
    )
    .await
    .unwrap_err();
    assert!(matches!(err, IndexError::EntryMismatch { .. }), "{err}");
}

/// `index.json` with `edit` applied to the entry for echo.
fn write_index_with(dir: &Path, edit: impl Fn(&mut serde_json::Value)) {
    let path = dir.join(index::INDEX_FILE);
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut v["components"][0]);
    std::fs::write(&path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

#[tokio::test]
async fn paths_that_leave_the_registry_are_refused() {
    let (dir, _key, index) = built_registry();
    // A file outside the registry that a traversal would reach.
    let outside = dir.parent().unwrap().join("outside.wasm");
    std::fs::write(&outside, b"not yours").unwrap();
    let url = serve(dir.clone()).await;
    let good = std::fs::read_to_string(dir.join(index::INDEX_FILE)).unwrap();
    for (field, bad) in [
        ("wasm", "../outside.wasm"),
        ("wasm", "a/../../outside.wasm"),
        ("manifest", "/etc/passwd"),
        ("signature", "..\\echo.sig"),
        ("wasm", "%2e%2e/outside.wasm"),
        ("wasm", "./echo.wasm"),
        ("manifest", ""),
    ] {
        std::fs::write(dir.join(index::INDEX_FILE), &good).unwrap();
        write_index_with(&dir, |e| e[field] = bad.into());
        for source in [
            RegistrySource::Dir(dir.clone()),
            RegistrySource::Url(url.clone()),
        ] {
            match Index::load(&source).await {
                Err(IndexError::UnsafePath { name, path }) => {
                    assert_eq!((name.as_str(), path.as_str()), ("echo", bad));
                }
                other => panic!("{field} = {bad:?} from {source}: {other:?}"),
            }
        }
    }

    // An entry built by hand is checked again at fetch time.
    let mut entry = index.get("echo").unwrap().clone();
    entry.wasm = "../outside.wasm".into();
    let err = index::fetch(&RegistrySource::Dir(dir.clone()), &entry, &mut |_, _| {})
        .await
        .unwrap_err();
    assert!(matches!(err, IndexError::UnsafePath { .. }), "{err}");

    // A symlink inside a directory registry that leads out of it.
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&outside, dir.join("link.wasm")).unwrap();
        let mut entry = index.get("echo").unwrap().clone();
        entry.wasm = "link.wasm".into();
        let err = index::fetch(&RegistrySource::Dir(dir.clone()), &entry, &mut |_, _| {})
            .await
            .unwrap_err();
        assert!(matches!(err, IndexError::UnsafePath { .. }), "{err}");
    }
}

#[tokio::test]
async fn malformed_indexes_have_specific_errors() {
    let (dir, _key, _index) = built_registry();
    let source = RegistrySource::Dir(dir.clone());
    let path = dir.join(index::INDEX_FILE);
    let good = std::fs::read_to_string(&path).unwrap();
    let load = || async { Index::load(&source).await.unwrap_err() };

    std::fs::write(&path, "{ not json").unwrap();
    assert_eq!(load().await.code(), "malformed-index");

    std::fs::write(&path, [0xff, 0xfe, 0x00]).unwrap();
    assert_eq!(load().await.code(), "malformed-index");

    std::fs::write(
        &path,
        good.replace(INDEX_FORMAT, "ironclaw-registry-index-v9"),
    )
    .unwrap();
    let err = load().await;
    assert!(
        matches!(&err, IndexError::UnsupportedFormat { found, .. } if found == "ironclaw-registry-index-v9"),
        "{err}"
    );

    std::fs::write(&path, r#"{"components": []}"#).unwrap();
    assert_eq!(load().await.code(), "malformed-index");

    let cases: [(&str, serde_json::Value, &str); 6] = [
        ("digest", "abc".into(), "digest must be 64 hex"),
        ("digest", "zz".repeat(32).into(), "digest must be 64 hex"),
        ("name", "Echo!".into(), "is not a component name"),
        ("kind", "daemon".into(), "unknown variant"),
        ("version", "one".into(), ""),
        ("size", (1u64 << 40).into(), "over the"),
    ];
    for (field, value, says) in cases {
        std::fs::write(&path, &good).unwrap();
        write_index_with(&dir, |e| e[field] = value.clone());
        let err = load().await;
        assert_eq!(err.code(), "malformed-index", "{field}: {err}");
        assert!(err.to_string().contains(says), "{field}: {err}");
    }

    std::fs::write(&path, &good).unwrap();
    write_index_with(&dir, |e| e["extra"] = 1.into());
    assert_eq!(load().await.code(), "malformed-index");

    std::fs::write(&path, &good).unwrap();
    write_index_with(&dir, |e| e["name"] = "json".into());
    assert!(matches!(load().await, IndexError::DuplicateName(n) if n == "json"));

    std::fs::remove_file(&path).unwrap();
    assert_eq!(load().await.code(), "not-found");

    // Over HTTP: a missing index is not-found.
    let url = serve(dir.clone()).await;
    let err = Index::load(&RegistrySource::Url(url)).await.unwrap_err();
    assert_eq!(err.code(), "not-found", "{err}");
}

/// An https:// registry: refused while its certificate is not trusted,
/// served once the owner's extra CA file names it; downloads are checked
/// against the index digest as over http.
#[tokio::test(flavor = "multi_thread")]
async fn an_https_registry_needs_a_trusted_certificate() {
    let (dir, _key, index) = built_registry();
    let (url, ca) = serve_tls(dir.clone()).await;
    let source = RegistrySource::parse(&url).unwrap();
    let err = Index::load(&source).await.unwrap_err();
    assert!(
        err.to_string().contains("TLS"),
        "an unknown issuer is refused: {err}"
    );
    index::set_extra_ca(Some(ca.path().to_path_buf()));
    let loaded = Index::load(&source).await.unwrap();
    assert_eq!(loaded.entries.len(), index.entries.len());
    let entry = loaded.get("echo").expect("echo in the index");
    let fetched = fetch_observed(&source, entry).await.unwrap();
    assert_eq!(fetched.digest, entry.digest);
    assert_eq!(blake3::hash(&fetched.wasm), entry.digest);
}

#[test]
fn build_keeps_only_valid_signatures() {
    let (dir, key, _index) = built_registry();
    // Without --key, valid signatures are kept…
    let index = index::build(&dir, None, &mut |b| {
        assert!(!b.signed_now);
        assert_eq!(b.key_id.as_deref(), Some(key.public.id.as_str()));
    })
    .unwrap();
    assert!(index.entries.iter().all(|e| e.signature.is_some()));
    // …and a stale one is an error, never listed or dropped silently.
    let toml = dir.join("echo.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(&toml, text.replace("Echoes", "Echoes (edited)")).unwrap();
    let err = index::build(&dir, None, &mut |_| {}).unwrap_err();
    assert_eq!(err.code(), "stale-signature", "{err}");
    assert!(err.to_string().contains("echo.sig"), "{err}");
    // Unsigned components are listed without a signature.
    std::fs::remove_file(dir.join("echo.sig")).unwrap();
    let index = index::build(&dir, None, &mut |_| {}).unwrap();
    assert_eq!(index.get("echo").unwrap().signature, None);
    assert!(index.get("json").unwrap().signature.is_some());
}

fn ironclaw(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ironclaw"))
        .args(args)
        .env("IRONCLAW_HOME", home)
        .env_remove("IRONCLAW_LOG")
        .env_remove("DATABASE_URL")
        .output()
        .expect("run ironclaw")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn cli_registry_build_signs_so_that_verify_passes_once_trusted() {
    let dir = registry_copy();
    let home = dir.parent().unwrap().join(format!(
        "{}-home",
        dir.file_name().unwrap().to_str().unwrap()
    ));
    let d = dir.to_str().unwrap();

    let o = ironclaw(
        &home,
        &["keys", "generate", "--name", "publisher", "--json"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&o.stdout).trim()).unwrap();
    let id = v["id"].as_str().unwrap().to_string();
    let public = v["public_key_file"].as_str().unwrap().to_string();

    // Without a key: indexed, unsigned, and said so.
    let o = ironclaw(&home, &["registry", "build", d]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("unsigned"), "{}", text(&o));

    let o = ironclaw(&home, &["registry", "build", d, "--key", "publisher"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    for name in NAMES {
        assert!(
            out.contains(&format!("{name} 0.1.0 (tool)"))
                && out.contains(&format!("signed by {id}")),
            "{out}"
        );
        assert!(dir.join(format!("{name}.sig")).is_file());
    }
    assert!(out.contains("4 components, 4 signed"), "{out}");
    let index = Index::parse(
        &std::fs::read_to_string(dir.join("index.json")).unwrap(),
        "index.json",
    )
    .unwrap();
    assert_eq!(index.entries.len(), 4);

    // Valid but not yet trusted: verify refuses; trusted: exit 0.
    let echo = dir.join("echo.wasm");
    let o = ironclaw(&home, &["component", "verify", echo.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("untrusted key"), "{}", text(&o));
    let o = ironclaw(&home, &["keys", "trust", &public]);
    assert!(o.status.success(), "{}", text(&o));
    for name in NAMES {
        let wasm = dir.join(format!("{name}.wasm"));
        let o = ironclaw(&home, &["component", "verify", wasm.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", text(&o));
    }
    assert!(
        trust::TrustStore::load(&Home::at(&home))
            .unwrap()
            .is_trusted(
                &trust::find_secret(&Home::at(&home), &id)
                    .unwrap()
                    .public
                    .key
            )
    );

    // Bad input is exit 2 with one line: an empty dir, an unknown key.
    let empty = dir.join("empty");
    std::fs::create_dir(&empty).unwrap();
    let o = ironclaw(&home, &["registry", "build", empty.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("no components"), "{}", text(&o));
    let o = ironclaw(&home, &["registry", "build", d, "--key", "nobody"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

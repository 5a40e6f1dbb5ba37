//! The two servers under test, each a child process killed on drop: the
//! real `ironclaw run` (home prepared, secrets stored, the gateway address
//! read from its stderr) and `wasmtime serve` with the wasi:http guest, plus
//! the callback sink the webhook channel would answer to.

use super::*;

// ---------------------------------------------------------------- servers

/// A server process under test; killed on drop.
pub(crate) struct Server {
    pub(crate) name: &'static str,
    pub(crate) child: Child,
    pub(crate) addr: SocketAddr,
    pub(crate) log: Arc<Mutex<String>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM first (ironclaw flushes and stops its channels).
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Collects a child's stderr lines into `log` on a thread.
pub(crate) fn watch(pipe: impl std::io::Read + Send + 'static) -> Arc<Mutex<String>> {
    let log = Arc::new(Mutex::new(String::new()));
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            let mut s = sink.lock().unwrap();
            s.push_str(&line);
            s.push('\n');
        }
    });
    log
}

pub(crate) fn ironclaw_command(bin: &Path, home: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(bin);
    c.args(args).env("IRONCLAW_HOME", home);
    for var in [
        "IRONCLAW_LOG",
        "DATABASE_URL",
        "LLM_BACKEND",
        "LLM_MODEL",
        "LLM_BASE_URL",
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "GEMINI_API_KEY",
        "IRONCLAW_MASTER_KEY",
    ] {
        c.env_remove(var);
    }
    c
}

pub(crate) fn ironclaw_ok(bin: &Path, home: &Path, args: &[&str], stdin: Option<&str>) {
    use std::io::Write;
    let mut child = ironclaw_command(bin, home, args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    let mut pipe = child.stdin.take().expect("stdin");
    if let Some(text) = stdin {
        pipe.write_all(text.as_bytes()).expect("stdin");
    }
    drop(pipe);
    let out = child.wait_with_output().expect("ironclaw");
    assert!(
        out.status.success(),
        "ironclaw {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The publisher key that signed target/components (scripts/sign-bundled).
pub(crate) fn publisher_key() -> PathBuf {
    let keys = repo().join("target/publisher-home/keys");
    std::fs::read_dir(&keys)
        .unwrap_or_else(|e| panic!("{}: {e}: run scripts/sign-bundled first", keys.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "pub"))
        .expect("a bundled-publisher public key")
}

pub(crate) fn start_ironclaw(home: &Path, callback: SocketAddr) -> Server {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_ironclaw"));
    // One precompiled-component cache across runs of this bench.
    let cache = repo().join("target/webhook_ingress/cache");
    std::fs::create_dir_all(&cache).expect("cache dir");
    #[cfg(unix)]
    std::os::unix::fs::symlink(&cache, home.join("cache")).expect("cache link");
    let key = publisher_key();
    ironclaw_ok(
        &bin,
        home,
        &["keys", "trust", key.to_str().expect("utf-8 path")],
        None,
    );
    std::fs::write(
        home.join("config.toml"),
        format!(
            "[network]\nallow-loopback = true\n\n[gateway]\nlisten = \"127.0.0.1:0\"\n\n\
             [channels.webhook]\nreply = \"callback\"\ncallback-url = \"http://{callback}/hooks/ironclaw\"\n\
             unknown-users = \"ignore\"\n"
        ),
    )
    .expect("config.toml");
    ironclaw_ok(
        &bin,
        home,
        &["secrets", "set", "webhook_secret"],
        Some(SECRET),
    );
    ironclaw_ok(
        &bin,
        home,
        &["secrets", "set", "webhook_callback_secret"],
        Some(CALLBACK_SECRET),
    );
    let mut child = ironclaw_command(&bin, home, &["run"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ironclaw run");
    let log = watch(child.stderr.take().expect("stderr"));
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let text = log.lock().unwrap().clone();
        if text.contains("\nready;") || text.starts_with("ready;") {
            let addr = text
                .lines()
                .find_map(|l| l.trim().strip_prefix("gateway: listening on http://"))
                .expect("the host reports its gateway address")
                .parse()
                .expect("gateway address");
            return Server {
                name: "ironclaw",
                child,
                addr,
                log,
            };
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("ironclaw run exited ({status}) before it was ready:\n{text}");
        }
        assert!(Instant::now() < deadline, "ironclaw run not ready:\n{text}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub(crate) fn wasmtime_bin() -> PathBuf {
    if let Ok(w) = std::env::var("WASMTIME") {
        return PathBuf::from(w);
    }
    if let Some(found) = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("wasmtime"))
            .find(|p| p.is_file())
    }) {
        return found;
    }
    let cargo_bin = dirs::home_dir()
        .map(|h| h.join(".cargo/bin/wasmtime"))
        .filter(|p| p.is_file());
    cargo_bin.expect("no wasmtime: `cargo install wasmtime-cli --locked` or set WASMTIME")
}

pub(crate) fn version(bin: &Path) -> String {
    Command::new(bin)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|e| format!("? ({e})"))
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

pub(crate) fn start_wasmtime(bin: &Path, wasm: &Path) -> Server {
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let extra = std::env::var("IRONCLAW_BENCH_WASMTIME_ARGS").unwrap_or_default();
    let mut child = Command::new(bin)
        .arg("serve")
        .arg(format!("--addr={addr}"))
        // wasi:cli beside wasi:http: a Rust std guest imports
        // wasi:cli/environment, which the proxy world alone lacks.
        .arg("-Scli")
        .args(extra.split_whitespace())
        .arg(wasm)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    let log = watch(child.stderr.take().expect("stderr"));
    let deadline = Instant::now() + Duration::from_secs(120);
    while std::net::TcpStream::connect(addr).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("wasmtime serve exited ({status}):\n{}", log.lock().unwrap());
        }
        assert!(
            Instant::now() < deadline,
            "wasmtime serve not listening:\n{}",
            log.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Server {
        name: "wasmtime serve",
        child,
        addr,
        log,
    }
}

/// The callback URL's loopback sink: answers 200 and counts (with
/// `unknown-users = "ignore"` nothing should arrive).
pub(crate) async fn callback_sink() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("sink");
    let addr = listener.local_addr().expect("sink addr");
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |_req| {
                    seen.fetch_add(1, Ordering::Relaxed);
                    async {
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                            Bytes::from_static(b"ok"),
                        )))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, count)
}

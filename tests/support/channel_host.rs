//! `ironclaw run` serving channels for a test: the real binary with a
//! gateway on a loopback port the OS picks, its stderr watched for what it
//! reports, a small HTTP/1.1 client to post webhooks, and the signatures
//! providers put on them.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::agent::AgentHome;

/// Stores `value` as secret `name` in the home's vault (`ironclaw secrets
/// set NAME`, value on stdin), before the host starts.
pub fn set_secret(home: &AgentHome, name: &str, value: &str) {
    let mut child = home
        .command(&["secrets", "set", name])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ironclaw secrets set");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(value.as_bytes())
        .expect("write secret");
    let out = child.wait_with_output().expect("secrets set");
    assert!(
        out.status.success(),
        "secrets set {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A running `ironclaw run` with a gateway.
pub struct ChannelHost {
    child: Option<Child>,
    pub addr: SocketAddr,
    stderr: Arc<Mutex<String>>,
}

/// An HTTP answer.
#[derive(Debug, Clone)]
pub struct HttpReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl ChannelHost {
    /// Starts `ironclaw run` for `home`, whose config must set
    /// `[gateway] listen = "127.0.0.1:0"`, and waits until it is ready.
    pub fn start(home: &AgentHome) -> ChannelHost {
        let mut child = home
            .command(&["run"])
            .env("IRONCLAW_LOG", "ironclaw=debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ironclaw run");
        let stderr = Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().expect("stderr");
        let sink = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let text = stderr.lock().unwrap().clone();
            if text.contains("\nready;") || text.starts_with("ready;") {
                let addr = text
                    .lines()
                    .find_map(|l| l.trim().strip_prefix("gateway: listening on http://"))
                    .expect("the host reports its gateway address")
                    .parse()
                    .expect("gateway address");
                return ChannelHost {
                    child: Some(child),
                    addr,
                    stderr,
                };
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("ironclaw run exited ({status}) before it was ready:\n{text}");
            }
            assert!(
                Instant::now() < deadline,
                "ironclaw run not ready after 120 s:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// What the host printed so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Sends a request to the gateway and reads the whole answer.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> HttpReply {
        http_request(self.addr, method, path, headers, body)
    }

    pub fn post_json(&self, path: &str, headers: &[(&str, &str)], body: &str) -> HttpReply {
        let mut all = vec![("content-type", "application/json")];
        all.extend_from_slice(headers);
        self.request("POST", path, &all, body.as_bytes())
    }

    /// Waits until `what` holds, polling; panics with the host's stderr.
    pub fn wait_for(&self, what: &str, mut check: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !check() {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; host stderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the host (SIGTERM) and returns everything it printed.
    pub fn stop(mut self) -> String {
        if let Some(mut child) = self.child.take() {
            terminate(&mut child);
        }
        self.stderr()
    }
}

fn terminate(child: &mut Child) {
    #[cfg(unix)]
    {
        // SIGTERM lets the host shut channels down and flush.
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

impl Drop for ChannelHost {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A minimal HTTP/1.1 client (one request per connection).
pub fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpReply {
    let mut stream = TcpStream::connect(addr).expect("connect to the gateway");
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .expect("timeout");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("\r\n");
    // The body may be refused before it is all sent (413): ignore the error.
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {text:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    HttpReply {
        status,
        headers,
        body: body.to_string(),
    }
}

/// Hex HMAC-SHA256 of the concatenated parts.
pub fn hmac_hex(key: &str, parts: &[&[u8]]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).expect("hmac key");
    for p in parts {
        mac.update(p);
    }
    hex::encode(mac.finalize().into_bytes())
}

/// Seconds since the Unix epoch, as providers put in timestamp headers.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// Slack's v0 signature headers for `body` at `timestamp`.
pub fn slack_headers(secret: &str, timestamp: u64, body: &str) -> (String, String) {
    let ts = timestamp.to_string();
    let sig = hmac_hex(secret, &[b"v0:", ts.as_bytes(), b":", body.as_bytes()]);
    (ts, format!("v0={sig}"))
}

/// WhatsApp's `X-Hub-Signature-256` for `body`.
pub fn hub_signature(app_secret: &str, body: &str) -> String {
    format!("sha256={}", hmac_hex(app_secret, &[body.as_bytes()]))
}

//! A loopback HTTP/1.1 server for tests: it records every request exactly as
//! it arrived (what a real provider would see) and answers by route. Small
//! and hand-written on purpose: the tests need to see raw requests.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone, Default)]
pub struct Seen {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    /// Lower-cased names.
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

/// What a route answers.
pub enum Reply {
    /// Status, extra headers, body.
    Full(u16, Vec<(String, String)>, Vec<u8>),
    /// The request as the server saw it, as JSON.
    Echo,
    /// Wait, then answer 200 "late".
    After(Duration),
}

type Routes = Arc<dyn Fn(&Seen) -> Reply + Send + Sync>;

pub struct TestServer {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl TestServer {
    pub async fn start(routes: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("addr");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let routes: Routes = Arc::new(routes);
        let task = {
            let seen = seen.clone();
            tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let (seen, routes) = (seen.clone(), routes.clone());
                    tokio::spawn(async move {
                        let _ = serve(stream, seen, routes).await;
                    });
                }
            })
        };
        TestServer { addr, seen, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.addr.port())
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    mut stream: TcpStream,
    seen: Arc<Mutex<Vec<Seen>>>,
    routes: Routes,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or("").split(' ');
    let mut request = Seen {
        method: first.next().unwrap_or("").to_string(),
        target: first.next().unwrap_or("").to_string(),
        ..Seen::default()
    };
    for line in lines.filter(|l| !l.is_empty()) {
        if let Some((k, v)) = line.split_once(':') {
            request
                .headers
                .insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let len: usize = request
        .headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    request.body = body;
    if let Ok(mut s) = seen.lock() {
        s.push(request.clone());
    }
    let (status, headers, body) = match routes(&request) {
        Reply::Full(status, headers, body) => (status, headers, body),
        Reply::Echo => {
            let json = serde_json::json!({
                "method": request.method,
                "target": request.target,
                "headers": request.headers,
                "body": String::from_utf8_lossy(&request.body),
            });
            (
                200,
                vec![("content-type".into(), "application/json".into())],
                json.to_string().into_bytes(),
            )
        }
        Reply::After(wait) => {
            tokio::time::sleep(wait).await;
            (200, Vec::new(), b"late".to_vec())
        }
    };
    let mut out = format!(
        "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    stream.write_all(out.as_bytes()).await?;
    stream.write_all(&body).await?;
    stream.shutdown().await
}

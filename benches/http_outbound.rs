//! Overhead of the mediated send path (allowlist, credential refusal, leak
//! scan of URL/headers/body, secret injection, address check, timeouts and
//! caps, response scan and redaction, audit record) versus a direct hyper
//! request to the same loopback server, 1 KiB bodies both ways, each
//! exchange on a new connection in both (the mediated path opens one per
//! request). Interleaved rounds so both see the same machine state; medians.
//!
//!   cargo bench --bench http_outbound [-- ROUNDS]

#[path = "../tests/support/http_server.rs"]
#[allow(dead_code)]
mod http_server;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use ironclaw::capabilities::audit::AuditSink;
use ironclaw::capabilities::http_outbound::{OutboundHttp, send_mediated};
use ironclaw::capabilities::live_secrets::LiveSecrets;
use ironclaw::capabilities::{Caller, Grants, HostServices};
use ironclaw::net::NetworkConfig;
use ironclaw::registry::Manifest;
use ironclaw::secrets::{MasterKey, SecretValue, Vault};
use ironclaw::store::{Database, DatabaseUrl};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn direct(url: &http::Uri, body: Bytes) -> usize {
    let addr = format!("{}:{}", url.host().unwrap(), url.port_u16().unwrap());
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let (mut send, conn) =
        hyper::client::conn::http1::handshake(wasmtime_wasi_http::io::TokioIo::new(tcp))
            .await
            .unwrap();
    let driver = tokio::spawn(conn);
    let req = http::Request::post(url.path())
        .header("host", url.authority().unwrap().as_str())
        .body(Full::new(body))
        .unwrap();
    let resp = send.send_request(req).await.unwrap();
    let n = resp.into_body().collect().await.unwrap().to_bytes().len();
    driver.abort();
    n
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);
    let server = http_server::TestServer::start(|_| {
        http_server::Reply::Full(
            200,
            vec![("content-type".into(), "text/plain".into())],
            vec![b'r'; 1024],
        )
    })
    .await;
    let url: http::Uri = server.url("/api/items").parse().unwrap();

    // A realistic host: 50 stored secrets in a real vault (the scanner
    // checks them all), one injected as a bearer token, audit to SQLite.
    let dir = tempfile::tempdir().unwrap();
    let db_url =
        DatabaseUrl::parse(&format!("sqlite://{}", dir.path().join("b.db").display())).unwrap();
    let db = Database::open_migrated(&db_url).await.unwrap();
    let vault = Vault::new(db.secrets(), MasterKey::generate());
    for i in 0..50 {
        vault
            .set(
                &format!("secret_{i}"),
                &SecretValue::new(format!("value-{i}-{}", "k".repeat(24))),
            )
            .await
            .unwrap();
    }
    let secrets = LiveSecrets::default();
    secrets.refresh(&vault).await.unwrap();
    let manifest = Manifest::parse(
        &format!(
            "name = \"bench\"\nversion = \"0.1.0\"\nkind = \"tool\"\nworld-version = \"0.1.0\"\n\
             [[capabilities.http.allow]]\nscheme = \"http\"\nhost = \"127.0.0.1\"\nport = {}\npath-prefix = \"/api\"\nmethods = [\"POST\"]\n\
             [[capabilities.secrets]]\nname = \"secret_7\"\nhosts = [\"127.0.0.1\"]\ninject = {{ kind = \"bearer\" }}\n",
            url.port_u16().unwrap()
        ),
        "bench",
    )
    .unwrap();
    let grants = Arc::new(Grants::requested_by(&manifest));
    let services = HostServices {
        secrets,
        http: Arc::new(OutboundHttp::new(NetworkConfig {
            allow_loopback: true,
            ..NetworkConfig::default()
        })),
        audit: AuditSink::spawn(db.audit()),
        ..HostServices::default()
    };
    let caller = Arc::new(Caller {
        name: "bench".into(),
        version: "0.1.0".into(),
        digest: "0".repeat(64),
    });
    let body = Bytes::from(vec![b'q'; 1024]);
    let mediated = || {
        let request = http::Request::post(url.clone())
            .header("content-type", "text/plain")
            .body(
                Full::new(body.clone())
                    .map_err(|e| match e {})
                    .boxed_unsync(),
            )
            .unwrap();
        send_mediated(caller.clone(), grants.clone(), services.clone(), request)
    };

    // Warm up both paths (connections, allocator, scanner tables).
    for _ in 0..200 {
        direct(&url, body.clone()).await;
        mediated().await.unwrap();
    }
    let (mut d, mut m) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
    for _ in 0..rounds {
        let t = Instant::now();
        let n = direct(&url, body.clone()).await;
        d.push(t.elapsed());
        assert_eq!(n, 1024);
        let t = Instant::now();
        let r = mediated().await.unwrap();
        let n = r.into_body().collect().await.unwrap().to_bytes().len();
        m.push(t.elapsed());
        assert_eq!(n, 1024);
    }
    services.audit.flush().await;
    let (dm, mm) = (median(d), median(m));
    println!(
        "rounds: {rounds} interleaved, 1 KiB request and response bodies, new connection each"
    );
    println!("direct hyper:   median {:>7.1} µs", dm.as_secs_f64() * 1e6);
    println!("mediated send:  median {:>7.1} µs", mm.as_secs_f64() * 1e6);
    println!(
        "added:          {:>7.1} µs ({:+.1} %)",
        (mm.as_secs_f64() - dm.as_secs_f64()) * 1e6,
        (mm.as_secs_f64() / dm.as_secs_f64() - 1.0) * 100.0
    );
}

//! Overhead of the mediated send path (allowlist, credential refusal, leak
//! scan of URL/headers/body, secret injection, address check, timeouts and
//! caps, response scan and redaction, audit record) versus a direct hyper
//! request to the same loopback server, 1 KiB bodies both ways, each
//! exchange on a new connection in all (the mediated path opens one per
//! request). A third row is the host's network client alone (address
//! check, timeouts, caps; no policy), to split the cost between the client
//! and the policy around it.
//!
//! Every round runs each path once, in a shuffled order: a request is
//! slower right after certain others (the previous one's teardown, the
//! audit writer), and a fixed order would hand that cost to one path.
//! Medians.
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
use ironclaw::net::{Exchange, NetworkConfig};
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

    let client = services.http.client().unwrap();
    let mut headers = http::HeaderMap::new();
    headers.insert("content-type", "text/plain".parse().unwrap());
    headers.insert(
        "authorization",
        "Bearer value-7-kkkkkkkkkkkkkkkkkkkkkkkk".parse().unwrap(),
    );
    let exchange = Exchange {
        method: http::Method::POST,
        url: url.clone(),
        headers,
        body: body.clone(),
    };
    let client_only = || {
        let deadline = tokio::time::Instant::now() + client.config().total_timeout();
        client.exchange(exchange.clone(), deadline)
    };

    // 200 warm-up rounds (connections, allocator, scanner tables), then
    // `rounds` measured ones.
    const PATHS: [&str; 3] = ["direct hyper:", "host client:", "mediated send:"];
    let mut times: [Vec<Duration>; 3] = Default::default();
    let mut order = [0, 1, 2];
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    for round in 0..200 + rounds {
        for i in (1..order.len()).rev() {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            order.swap(i, (rng % (i as u64 + 1)) as usize);
        }
        for path in order {
            let t = Instant::now();
            let n = match path {
                0 => direct(&url, body.clone()).await,
                1 => client_only().await.unwrap().body.len(),
                _ => {
                    let r = mediated().await.unwrap();
                    r.into_body().collect().await.unwrap().to_bytes().len()
                }
            };
            let took = t.elapsed();
            assert_eq!(n, 1024);
            if round >= 200 {
                times[path].push(took);
            }
        }
    }
    services.audit.flush().await;
    let medians = times.map(median);
    println!(
        "rounds: {rounds}, paths in shuffled order, 1 KiB request and response bodies, new connection each"
    );
    for (name, m) in PATHS.iter().zip(medians) {
        println!("{name:<15} median {:>7.1} µs", m.as_secs_f64() * 1e6);
    }
    let added = |m: Duration| {
        let (m, d) = (m.as_secs_f64(), medians[0].as_secs_f64());
        format!(
            "{:>7.1} µs ({:+.1} %)",
            (m - d) * 1e6,
            (m / d - 1.0) * 100.0
        )
    };
    println!("client added:   {}", added(medians[1]));
    println!("added:          {}", added(medians[2]));
}

//! Webhook ingress throughput: the real `ironclaw run` gateway with the
//! bundled `webhook` channel (HMAC verify, event-id dedupe, persisted inbox,
//! the component's `on-http-request`, `emit` persisted, the owner's policy)
//! against `wasmtime serve` running a minimal wasi:http component that
//! parses the same JSON (benches/wasi_http_echo), side by side in one run:
//! same client, same bodies, same bounded concurrency.
//!
//! The agent is stubbed out by policy: `[channels.webhook] unknown-users =
//! "ignore"` drops every message after it is persisted, before any agent
//! turn, and `reply = "callback"` answers `202` at once (the callback sink
//! here never gets a request). Every request has a unique `id` (no dedupe
//! hit) and a valid signature; only 2xx count as done.
//!
//! The client: one tokio current-thread runtime in this process, one
//! HTTP/1.1 keep-alive connection per in-flight slot, requests built and
//! signed before the clock starts. Per level and side: a number of
//! requests (after a warm-up of both servers), rounds alternating which side
//! goes first; medians over rounds and each round's ratio. Server CPU time
//! and context switches per request come from /proc/<pid>.
//!
//!   scripts/bench-webhook            (builds the guest, installs wasmtime-cli)
//!   cargo bench --bench webhook_ingress
//!
//! Knobs (environment): IRONCLAW_BENCH_REQUESTS (5000 per side per level
//! per round), IRONCLAW_BENCH_WARMUP (1000), IRONCLAW_BENCH_CONCURRENCY
//! ("8,32"), IRONCLAW_BENCH_ROUNDS (5), WASMTIME (the `wasmtime` binary;
//! else PATH, else ~/.cargo/bin), WASI_HTTP_ECHO (the guest .wasm; else
//! target/wasi_http_echo/wasm32-wasip2/release/wasi_http_echo.wasm),
//! IRONCLAW_BENCH_WASMTIME_ARGS (extra `wasmtime serve` flags beside
//! `-Scli`, split on spaces), IRONCLAW_BENCH_KEEP=1 (keep the IronClaw home
//! and print it). TMPDIR moves the IronClaw home (e.g. to a tmpfs).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use wasmtime_wasi_http::io::TokioIo;

const SECRET: &str = "whsec-bench-0123456789abcdef";
const CALLBACK_SECRET: &str = "whsec-bench-callback-fedcba9876543210";
const PATH: &str = "/webhook/webhook";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// User + system CPU time of a process (and its threads), from /proc.
fn cpu_time(pid: u32) -> Duration {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return Duration::ZERO;
    };
    // Fields after the `(comm)`, which may hold spaces.
    let rest = stat.rsplit_once(") ").map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 (1-based), i.e. 11 and 12 here.
    let ticks: u64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    // USER_HZ is 100 on Linux.
    Duration::from_millis(ticks * 10)
}

/// Context switches (voluntary + involuntary) of all a process's threads.
fn context_switches(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(|t| t.ok())
        .filter_map(|t| std::fs::read_to_string(t.path().join("status")).ok())
        .flat_map(|status| {
            status
                .lines()
                .filter(|l| l.contains("ctxt_switches:"))
                .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                .collect::<Vec<_>>()
        })
        .sum()
}

mod servers;
use servers::*;

// ---------------------------------------------------------------- client

/// One request, built and signed before the clock starts.
struct Prepared {
    body: Bytes,
    timestamp: String,
    signature: String,
}

fn hmac_hex(key: &str, parts: &[&[u8]]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).expect("hmac key");
    for p in parts {
        mac.update(p);
    }
    hex::encode(mac.finalize().into_bytes())
}

/// `n` bodies of about 300 bytes with ids unique across the whole run.
fn prepare(tag: &str, n: usize) -> Vec<Prepared> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        .to_string();
    (0..n)
        .map(|i| {
            let text = "Turn off the lights in the living room and the hallway, lock the \
                        front door, set the thermostat to 19 degrees for the night and \
                        remind me at seven to water the plants on the balcony. And start the dishwasher at ten.";
            let body = serde_json::json!({
                "id": format!("evt-{tag}-{i:08}-{}", uuid::Uuid::new_v4().simple()),
                "user": "u1",
                "text": text,
            })
            .to_string();
            let signature = format!(
                "sha256={}",
                hmac_hex(SECRET, &[now.as_bytes(), b".", body.as_bytes()])
            );
            Prepared {
                body: Bytes::from(body),
                timestamp: now.clone(),
                signature,
            }
        })
        .collect()
}

async fn connect(addr: SocketAddr) -> std::io::Result<SendRequest<Full<Bytes>>> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .map_err(std::io::Error::other)?;
    tokio::spawn(conn);
    Ok(send)
}

#[derive(Default)]
struct Outcome {
    latencies: Vec<Duration>,
    ok: usize,
    non_2xx: usize,
    transport_errors: usize,
    first_error: Option<String>,
}

struct Measured {
    requests: usize,
    ok: usize,
    errors: usize,
    first_error: Option<String>,
    elapsed: Duration,
    p50: Duration,
    p95: Duration,
    p99: Duration,
    server_cpu: Duration,
    /// Server context switches during the batch (threads that exited
    /// meanwhile are not counted).
    server_switches: u64,
    load: String,
}

impl Measured {
    fn rps(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }
    fn switches_per_request(&self) -> f64 {
        self.server_switches as f64 / self.ok.max(1) as f64
    }
    fn cpu_us_per_request(&self) -> f64 {
        self.server_cpu.as_secs_f64() * 1e6 / self.ok.max(1) as f64
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Sends `requests` through `concurrency` keep-alive connections, each slot
/// taking the next request when its previous answer is in.
async fn drive(server: &Server, concurrency: usize, requests: Vec<Prepared>) -> Measured {
    let requests = Arc::new(requests);
    let n = requests.len();
    let next = Arc::new(AtomicUsize::new(0));
    let authority = server.addr.to_string();
    let mut senders = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        senders.push(connect(server.addr).await.expect("connect"));
    }
    let load_before = load_average();
    let cpu_before = cpu_time(server.child.id());
    let switches_before = context_switches(server.child.id());
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(concurrency);
    for mut send in senders {
        let requests = requests.clone();
        let next = next.clone();
        let authority = authority.clone();
        let addr = server.addr;
        tasks.push(tokio::spawn(async move {
            let mut out = Outcome {
                latencies: Vec::with_capacity(n / concurrency + 1),
                ..Outcome::default()
            };
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let r = &requests[i];
                let request = hyper::Request::post(PATH)
                    .header("host", authority.as_str())
                    .header("content-type", "application/json")
                    .header("x-webhook-timestamp", r.timestamp.as_str())
                    .header("x-webhook-signature", r.signature.as_str())
                    .body(Full::new(r.body.clone()))
                    .expect("request");
                let t0 = Instant::now();
                let result = async {
                    send.ready().await?;
                    let response = send.send_request(request).await?;
                    let status = response.status();
                    let body = response.into_body().collect().await?.to_bytes();
                    Ok::<_, hyper::Error>((status, body))
                }
                .await;
                let took = t0.elapsed();
                match result {
                    Ok((status, _)) if status.is_success() => {
                        out.ok += 1;
                        out.latencies.push(took);
                    }
                    Ok((status, body)) => {
                        out.non_2xx += 1;
                        out.first_error.get_or_insert_with(|| {
                            format!("{status}: {}", String::from_utf8_lossy(&body))
                        });
                    }
                    Err(e) => {
                        out.transport_errors += 1;
                        out.first_error.get_or_insert_with(|| e.to_string());
                        match connect(addr).await {
                            Ok(s) => send = s,
                            Err(_) => break,
                        }
                    }
                }
            }
            out
        }));
    }
    let mut all = Outcome::default();
    for t in tasks {
        let o = t.await.expect("client task");
        all.ok += o.ok;
        all.non_2xx += o.non_2xx;
        all.transport_errors += o.transport_errors;
        all.latencies.extend(o.latencies);
        if all.first_error.is_none() {
            all.first_error = o.first_error;
        }
    }
    let elapsed = start.elapsed();
    let server_cpu = cpu_time(server.child.id()).saturating_sub(cpu_before);
    let server_switches = context_switches(server.child.id()).saturating_sub(switches_before);
    let load = format!("{load_before} → {}", load_average());
    all.latencies.sort();
    Measured {
        requests: n,
        ok: all.ok,
        // Non-2xx, transport errors, and requests a broken slot never sent.
        errors: n - all.ok,
        first_error: all.first_error,
        elapsed,
        p50: percentile(&all.latencies, 0.50),
        p95: percentile(&all.latencies, 0.95),
        p99: percentile(&all.latencies, 0.99),
        server_cpu,
        server_switches,
        load,
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}

fn median_f(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn median_d(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// How many rows the run left in the IronClaw database, by table and state.
fn persisted(db: &Path) -> String {
    let Ok(conn) =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
    else {
        return "(database not readable)".into();
    };
    let mut out = Vec::new();
    for table in ["channel_inbox", "channel_messages"] {
        let sql = format!("SELECT state, COUNT(*) FROM {table} GROUP BY state ORDER BY state");
        let rows: Vec<String> = conn
            .prepare(&sql)
            .and_then(|mut s| {
                s.query_map([], |r| {
                    Ok(format!(
                        "{}={}",
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)?
                    ))
                })?
                .collect()
            })
            .unwrap_or_else(|e| vec![format!("({e})")]);
        out.push(format!("{table}: {}", rows.join(", ")));
    }
    out.join("; ")
}

fn main() {
    let requests = env_usize("IRONCLAW_BENCH_REQUESTS", 5000);
    let warmup = env_usize("IRONCLAW_BENCH_WARMUP", 1000);
    let rounds = env_usize("IRONCLAW_BENCH_ROUNDS", 5).max(1);
    let levels: Vec<usize> = std::env::var("IRONCLAW_BENCH_CONCURRENCY")
        .unwrap_or_else(|_| "8,32".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .filter(|&c| c > 0)
        .collect();
    let wasmtime = wasmtime_bin();
    let wasm = std::env::var("WASI_HTTP_ECHO")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            repo().join("target/wasi_http_echo/wasm32-wasip2/release/wasi_http_echo.wasm")
        });
    assert!(
        wasm.is_file(),
        "{}: build benches/wasi_http_echo first (scripts/bench-webhook does)",
        wasm.display()
    );

    // The client (and the callback sink) on one thread.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (sink_addr, callbacks) = rt.block_on(callback_sink());

    let home = tempfile::Builder::new()
        .prefix("ironclaw-bench-webhook-")
        .tempdir()
        .expect("home");
    let ironclaw = start_ironclaw(home.path(), sink_addr);
    let wasmtime_server = start_wasmtime(&wasmtime, &wasm);

    println!(
        "webhook ingress: ironclaw run (webhook channel, reply = callback, unknown-users = ignore)"
    );
    println!("              vs wasmtime serve {}", wasm.display());
    println!(
        "  ironclaw: {} at {}",
        version(Path::new(env!("CARGO_BIN_EXE_ironclaw"))),
        ironclaw.addr
    );
    println!(
        "  wasmtime: {} at {}",
        version(&wasmtime),
        wasmtime_server.addr
    );
    println!(
        "  {requests} requests per side per level per round, {rounds} rounds, warm-up {warmup} per side, concurrency {levels:?}"
    );
    println!(
        "  cores: {}, load average at start: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average()
    );

    let sizes: Vec<usize> = prepare("size", 1).iter().map(|p| p.body.len()).collect();
    println!("  body: {} bytes", sizes[0]);

    let servers = [&ironclaw, &wasmtime_server];
    let warm_c = levels.iter().copied().max().unwrap_or(8);
    for s in servers {
        let w = rt.block_on(drive(
            s,
            warm_c,
            prepare(&format!("warm-{}", s.child.id()), warmup),
        ));
        println!(
            "  warm-up {}: {} ok, {} errors, {:.0} req/s{}",
            s.name,
            w.ok,
            w.errors,
            w.rps(),
            w.first_error
                .map(|e| format!(" (first error: {e})"))
                .unwrap_or_default()
        );
    }

    // results[level][side] = one Measured per round
    let mut results: Vec<[Vec<Measured>; 2]> = levels.iter().map(|_| [vec![], vec![]]).collect();
    println!();
    println!(
        "| round | concurrency | server | ok | errors | req/s | p50 ms | p95 ms | p99 ms | server CPU µs/req | server ctx switches/req | load avg (before → after) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for round in 0..rounds {
        for (li, &c) in levels.iter().enumerate() {
            // Alternate which side goes first, so neither always follows the
            // other's aftermath (WAL checkpoints, freed memory).
            let order = if (round + li) % 2 == 0 {
                [0, 1]
            } else {
                [1, 0]
            };
            for side in order {
                let s = servers[side];
                let batch = prepare(&format!("r{round}-c{c}-s{side}"), requests);
                let m = rt.block_on(drive(s, c, batch));
                println!(
                    "| {} | {c} | {} | {} | {} | {:.0} | {} | {} | {} | {:.0} | {:.1} | {} |",
                    round + 1,
                    s.name,
                    m.ok,
                    m.errors,
                    m.rps(),
                    ms(m.p50),
                    ms(m.p95),
                    ms(m.p99),
                    m.cpu_us_per_request(),
                    m.switches_per_request(),
                    m.load
                );
                if let Some(e) = &m.first_error {
                    println!("  first error from {}: {e}", s.name);
                }
                results[li][side].push(m);
            }
        }
    }

    println!();
    println!("Medians over {rounds} rounds:");
    println!();
    println!(
        "| concurrency | server | req/s | p50 ms | p95 ms | p99 ms | server CPU µs/req | ctx switches/req | errors (all rounds) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut ratios = Vec::new();
    for (li, &c) in levels.iter().enumerate() {
        let mut rps = [0.0; 2];
        for side in 0..2 {
            let ms_ = &results[li][side];
            rps[side] = median_f(ms_.iter().map(Measured::rps).collect());
            let errors: usize = ms_.iter().map(|m| m.errors).sum();
            let total: usize = ms_.iter().map(|m| m.requests).sum();
            println!(
                "| {c} | {} | {:.0} | {} | {} | {} | {:.0} | {:.1} | {errors} of {total} |",
                servers[side].name,
                rps[side],
                ms(median_d(ms_.iter().map(|m| m.p50).collect())),
                ms(median_d(ms_.iter().map(|m| m.p95).collect())),
                ms(median_d(ms_.iter().map(|m| m.p99).collect())),
                median_f(ms_.iter().map(Measured::cpu_us_per_request).collect()),
                median_f(ms_.iter().map(Measured::switches_per_request).collect()),
            );
        }
        // Each round's two batches ran back to back under the same outside
        // load: their ratio is steadier than a ratio of medians.
        let per_round: Vec<f64> = results[li][0]
            .iter()
            .zip(&results[li][1])
            .map(|(a, b)| a.rps() / b.rps())
            .collect();
        ratios.push((c, rps[0] / rps[1], per_round));
    }
    println!();
    for (c, r, per_round) in &ratios {
        let min = per_round.iter().copied().fold(f64::INFINITY, f64::min);
        let max = per_round.iter().copied().fold(0.0, f64::max);
        println!(
            "ratio ironclaw / wasmtime serve at concurrency {c}: {r:.2}x of medians; per round median {:.2}x, range {min:.2}–{max:.2}x (goal >= 1.0x)",
            median_f(per_round.clone())
        );
    }
    println!("load average at the end: {}", load_average());

    // Let the policy drops finish before counting what was kept.
    std::thread::sleep(Duration::from_secs(2));
    println!(
        "ironclaw database: {}",
        persisted(&home.path().join("ironclaw.db"))
    );
    println!(
        "callbacks received by the sink: {} (expected 0: the policy drops every message)",
        callbacks.load(Ordering::Relaxed)
    );
    let log = ironclaw.log.lock().unwrap().clone();
    let warnings: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        .take(5)
        .collect();
    if !warnings.is_empty() {
        println!("ironclaw warnings (first 5):\n{}", warnings.join("\n"));
    }
    drop(ironclaw);
    drop(wasmtime_server);
    if std::env::var("IRONCLAW_BENCH_KEEP").is_ok_and(|v| v == "1") {
        println!("kept the home: {}", home.keep().display());
    }
}

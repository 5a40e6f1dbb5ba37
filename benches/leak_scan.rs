//! The leak scanner on the hot path of every outbound request.
//!
//! Payloads of 1 KiB and 64 KiB (JSON-ish English text), clean and with a
//! hit (one stored secret, base64-encoded, and one GitHub token in the
//! middle), and base64 of random bytes (an upload), scanned by:
//! - `regexset_only`: a scanner with no stored values, `contains_leak` —
//!   the cost of the pattern `RegexSet` alone;
//! - `contains_leak`: 50 stored secrets + a canary, the fast yes/no path;
//! - `scan`: the same scanner, every finding with positions;
//! - `check_block` (hit only): `check` under the Block policy, as the
//!   outbound request path will call it.
//!
//! Plus a clean 1 KiB form-encoded body (`%` escapes force the decoded
//! view) and the cost of building a scanner with 50 secrets.
//!
//! Results: BENCHMARKS.md, "Leak scanning".

use std::hint::black_box;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ironclaw::leak::{Canary, LeakPolicy, LeakScanner};

const SECRETS: usize = 50;

/// SplitMix64: deterministic payloads and secrets on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }

    fn token(&mut self, len: usize) -> String {
        const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        (0..len)
            .map(|_| char::from(ALNUM[(self.next() % ALNUM.len() as u64) as usize]))
            .collect()
    }
}

const WORDS: &[&str] = &[
    "the",
    "weather",
    "in",
    "Lisbon",
    "tomorrow",
    "is",
    "sunny",
    "with",
    "a",
    "light",
    "breeze",
    "please",
    "summarise",
    "this",
    "thread",
    "for",
    "me",
    "and",
    "list",
    "open",
    "questions",
    "meeting",
    "at",
    "10:30",
    "room",
    "4B",
    "agenda",
    "budget",
    "review",
    "version",
    "2.1.0",
    "user_id",
    "42",
    "status",
    "ok",
    "null",
    "true",
    "items",
    "count",
    "https://example.com/a/b",
];

/// `len` bytes of JSON-ish text with no credentials in it.
fn clean_payload(len: usize, rng: &mut Rng) -> Vec<u8> {
    let mut out = String::from("{\"messages\":[{\"role\":\"user\",\"content\":\"");
    while out.len() < len - 4 {
        out.push_str(rng.pick(WORDS));
        out.push(' ');
    }
    out.truncate(len - 4);
    out.push_str("\"}]}");
    out.into_bytes()
}

/// `len` bytes of a URL-encoded form: clean, but full of `%` escapes.
fn clean_form(len: usize, rng: &mut Rng) -> Vec<u8> {
    let mut out = String::new();
    while out.len() < len {
        out.push_str(&format!(
            "{}={}%20{}%2C%20{}&",
            rng.pick(WORDS).replace(['/', ':'], ""),
            rng.pick(WORDS),
            rng.pick(WORDS),
            rng.pick(WORDS)
        ));
    }
    out.truncate(len);
    out.into_bytes()
}

/// `len` bytes of base64 of random bytes, as in a file upload: long runs
/// of token characters keep many patterns' automata busy.
fn base64_blob(len: usize, rng: &mut Rng) -> Vec<u8> {
    let raw: Vec<u8> = (0..len * 3 / 4).map(|_| rng.next() as u8).collect();
    let mut out = STANDARD.encode(raw).into_bytes();
    out.truncate(len);
    out
}

/// The clean payload with, in the middle, one stored secret base64-encoded
/// and one GitHub token the scanner was not told about.
fn hit_payload(len: usize, secret: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut out = clean_payload(len, rng);
    let middle = len / 2;
    let planted = format!(" {} ghp_{} ", STANDARD.encode(secret), rng.token(36));
    out.splice(middle..middle + planted.len(), planted.bytes());
    out
}

fn secrets(rng: &mut Rng) -> Vec<(String, Vec<u8>)> {
    (0..SECRETS)
        .map(|i| {
            let len = 16 + (rng.next() % 49) as usize;
            (format!("SECRET_{i:02}"), rng.token(len).into_bytes())
        })
        .collect()
}

fn scanners(secrets: &[(String, Vec<u8>)]) -> (LeakScanner, LeakScanner) {
    let patterns = LeakScanner::new(Vec::<(String, Vec<u8>)>::new(), None::<Canary>)
        .unwrap_or_else(|e| panic!("patterns-only scanner: {e}"));
    let canary = Canary::generate().unwrap_or_else(|e| panic!("canary: {e}"));
    let full = LeakScanner::new(secrets.iter().cloned(), Some(canary))
        .unwrap_or_else(|e| panic!("full scanner: {e}"));
    (patterns, full)
}

fn bench(c: &mut Criterion) {
    let mut rng = Rng(0x1EA4);
    let secrets = secrets(&mut rng);
    let (patterns, full) = scanners(&secrets);

    for (size, label) in [(1024, "1KiB"), (64 * 1024, "64KiB")] {
        let clean = clean_payload(size, &mut rng);
        let hit = hit_payload(size, &secrets[17].1, &mut rng);
        assert!(!full.contains_leak(&clean), "clean payload has a finding");
        assert_eq!(
            full.scan(&hit).len(),
            2,
            "hit payload should have two findings"
        );

        let mut group = c.benchmark_group(format!("leak_scan/{label}"));
        group.throughput(Throughput::Bytes(size as u64));
        let blob = base64_blob(size, &mut rng);
        assert!(!full.contains_leak(&blob), "base64 blob has a finding");
        for (kind, payload) in [("clean", &clean), ("hit", &hit), ("base64_blob", &blob)] {
            group.bench_with_input(BenchmarkId::new("regexset_only", kind), payload, |b, p| {
                b.iter(|| patterns.contains_leak(black_box(p)))
            });
            group.bench_with_input(BenchmarkId::new("contains_leak", kind), payload, |b, p| {
                b.iter(|| full.contains_leak(black_box(p)))
            });
            group.bench_with_input(BenchmarkId::new("scan", kind), payload, |b, p| {
                b.iter(|| full.scan(black_box(p)))
            });
        }
        group.bench_with_input(BenchmarkId::new("check_block", "hit"), &hit, |b, p| {
            b.iter(|| {
                full.check(black_box(p), LeakPolicy::Block, "request body")
                    .is_err()
            })
        });
        group.finish();
    }

    let form = clean_form(1024, &mut rng);
    assert!(!full.contains_leak(&form), "clean form has a finding");
    let mut group = c.benchmark_group("leak_scan/1KiB_form");
    group.bench_function("contains_leak", |b| {
        b.iter(|| full.contains_leak(black_box(&form)))
    });
    group.bench_function("scan", |b| b.iter(|| full.scan(black_box(&form))));
    group.finish();

    c.bench_function("leak_scan/build_50_secrets", |b| {
        b.iter(|| scanners(black_box(&secrets)))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(100)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);

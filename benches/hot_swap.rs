//! Hot swap: from a file change to the new version serving, for echo
//! (~100 KB) and json (~1.3 MB), and the swap itself.
//!
//! Each round writes a new version (the component with a custom section
//! appended, so its digest is new and it must be compiled) by rename, and
//! polls until the live set serves that digest. Reported separately:
//! - change→serving: watcher debounce + read + compile + smoke test + swap;
//! - rescan: the same without the watcher (compile + smoke test + swap);
//! - swap: the atomic pointer store alone.
//!
//! Needs `scripts/build-components`. Results: BENCHMARKS.md.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ironclaw::config::{Config, Home};
use ironclaw::registry::reload::{Admit, Reloader, admit_fn};
use ironclaw::runtime::Runtime;
use ironclaw::runtime::live::LiveSet;

const ROUNDS: usize = 7;

/// `bytes` with a custom section appended (a valid component, new digest).
fn variant(bytes: &[u8], round: usize) -> Vec<u8> {
    let name = b"ironclaw-bench";
    let payload = format!("round {round}");
    let body_len = 1 + name.len() + payload.len();
    let mut out = bytes.to_vec();
    out.push(0); // custom section id
    out.push(u8::try_from(body_len).expect("short section"));
    out.push(u8::try_from(name.len()).expect("short name"));
    out.extend_from_slice(name);
    out.extend_from_slice(payload.as_bytes());
    out
}

fn replace(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("partial");
    std::fs::write(&tmp, bytes).expect("write");
    std::fs::rename(&tmp, path).expect("rename");
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn bench(name: &str) {
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/components");
    let original = std::fs::read(built.join(format!("{name}.wasm")))
        .expect("run scripts/build-components first");
    let dir = tempfile::tempdir().expect("temp dir");
    let home = tempfile::tempdir().expect("temp dir");
    std::fs::copy(
        built.join(format!("{name}.toml")),
        dir.path().join(format!("{name}.toml")),
    )
    .expect("copy manifest");
    let wasm = dir.path().join(format!("{name}.wasm"));
    std::fs::write(&wasm, &original).expect("copy wasm");
    // No precompiled cache: every new version is a real compile.
    let mut config = Config::default();
    config.runtime.cache = false;
    let runtime =
        Arc::new(Runtime::new(&config, &Home::at(home.path().to_path_buf())).expect("runtime"));
    let rt = runtime.clone();
    let admit: Admit = admit_fn(move |b, _| Ok(rt.grants_as_requested(&b.manifest)));
    let live = Arc::new(LiveSet::new());
    let reloader = Arc::new(Reloader::new(
        runtime,
        live.clone(),
        vec![dir.path().to_path_buf()],
        admit,
    ));
    reloader.rescan().await;

    let mut rescans = Vec::new();
    for round in 0..ROUNDS {
        replace(&wasm, &variant(&original, 1000 + round));
        let start = Instant::now();
        let report = reloader.rescan().await;
        rescans.push(start.elapsed());
        assert_eq!(report.swapped, [name]);
    }

    let watch = reloader.clone().watch().expect("watch");
    let mut changes = Vec::new();
    for round in 0..ROUNDS {
        let bytes = variant(&original, round);
        let digest = blake3::hash(&bytes);
        let start = Instant::now();
        replace(&wasm, &bytes);
        while live.get(name).is_none_or(|c| c.digest != digest) {
            assert!(start.elapsed() < Duration::from_secs(60), "no swap");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        changes.push(start.elapsed());
    }
    drop(watch);

    let current = live.get(name).expect("serving");
    let n = 100_000;
    let start = Instant::now();
    for _ in 0..n {
        live.swap_in(current.clone());
    }
    let swap = start.elapsed() / n;

    // Verification as the admission policy does it: hash the bytes, check
    // digest and manifest, ed25519 verify_strict (untrusted store: the
    // trust lookup is a comparison, the signature check is the cost).
    let key = ironclaw::trust::SecretKey::generate("bench").expect("key");
    let manifest = live.get(name).expect("serving").manifest.clone();
    let sig = ironclaw::trust::sign(&original, &manifest, &key);
    let store = ironclaw::trust::TrustStore::empty();
    let mut verifies = Vec::new();
    for _ in 0..50 {
        let start = Instant::now();
        let v = ironclaw::trust::verify(&original, &manifest, &sig, &store).expect("verifies");
        verifies.push(start.elapsed());
        assert!(!v.trusted);
    }

    println!(
        "{name:<5} verify {:>7.3} ms",
        median(verifies).as_secs_f64() * 1e3
    );
    println!(
        "{name:<5} {:>7.1} KB  change->serving {:>8.1} ms  rescan {:>8.1} ms  swap {:>6.0} ns",
        original.len() as f64 / 1024.0,
        median(changes).as_secs_f64() * 1e3,
        median(rescans).as_secs_f64() * 1e3,
        swap.as_nanos() as f64
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio");
    rt.block_on(async {
        println!("medians of {ROUNDS} rounds");
        bench("echo").await;
        bench("json").await;
    });
}

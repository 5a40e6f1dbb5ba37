//! Hot reload against a loop of real calls: a new version serves without a
//! restart and without one failed call; a broken version never serves.

mod support;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ironclaw::config::Config;
use ironclaw::registry::reload::{Admit, Reloader, admit_fn};
use ironclaw::runtime::Runtime;
use ironclaw::runtime::live::LiveSet;

/// Replaces `path` the way authors should: write aside, then rename.
fn replace(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("partial");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

struct Harness {
    dir: tempfile::TempDir,
    runtime: Arc<Runtime>,
    reloader: Arc<Reloader>,
}

async fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    for f in ["echo.wasm", "echo.toml"] {
        std::fs::copy(support::components_dir().join(f), dir.path().join(f)).unwrap();
    }
    let runtime = Arc::new(support::runtime_with(&Config::default()));
    let rt = runtime.clone();
    let admit: Admit =
        admit_fn(move |bundle, _digest| Ok(rt.grants_as_requested(&bundle.manifest)));
    let reloader = Arc::new(
        Reloader::new(
            runtime.clone(),
            Arc::new(LiveSet::new()),
            vec![dir.path().to_path_buf()],
            admit,
        )
        .with_status_file(dir.path().join("status/components.json")),
    );
    let first = reloader.rescan().await;
    assert_eq!(first.swapped, ["echo"], "{first:?}");
    Harness {
        dir,
        runtime,
        reloader,
    }
}

/// Calls echo in a loop until `stop`; counts calls, failures and the
/// versions that answered.
fn call_loop(
    h: &Harness,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<(usize, Vec<String>, Vec<String>)> {
    let (runtime, live) = (h.runtime.clone(), h.reloader.live().clone());
    tokio::spawn(async move {
        let (mut calls, mut failures, mut versions) = (0, Vec::new(), Vec::new());
        // Bounded: stops on the flag, or after 30 s whatever happens. (Not
        // a call count: with warm pooling slots an echo call takes ~15 µs,
        // and 20,000 calls ended the loop before the swap it must see.)
        let deadline = Instant::now() + Duration::from_secs(30);
        while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
            let Some(c) = live.get("echo") else {
                failures.push("echo not serving".to_string());
                continue;
            };
            match runtime
                .call_tool(&c, "echo", r#"{"text":"x"}"#, &Default::default())
                .await
            {
                Ok(out) if out.output == r#"{"text":"x"}"# => {}
                Ok(out) => failures.push(format!("wrong output {}", out.output)),
                Err(e) => failures.push(e.to_string()),
            }
            let v = c.manifest.version.to_string();
            if versions.last() != Some(&v) {
                versions.push(v);
            }
            calls += 1;
        }
        (calls, failures, versions)
    })
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    start.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_version_swaps_in_under_load_with_no_failed_call() {
    let h = harness().await;
    let _watch = h.reloader.clone().watch().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let calls = call_loop(&h, stop.clone());
    tokio::time::sleep(Duration::from_millis(200)).await;

    let manifest = std::fs::read_to_string(h.dir.path().join("echo.toml")).unwrap();
    replace(
        &h.dir.path().join("echo.toml"),
        manifest
            .replace("\nversion = \"0.1.0\"", "\nversion = \"0.2.0\"")
            .as_bytes(),
    );
    let live = h.reloader.live().clone();
    let took = wait_for("0.2.0 to serve", || {
        live.get("echo")
            .is_some_and(|c| c.manifest.version.to_string() == "0.2.0")
    })
    .await;
    eprintln!("file change to new version serving: {took:?}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    let (n, failures, versions) = calls.await.unwrap();
    assert!(
        failures.is_empty(),
        "{} failed of {n}: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert!(n > 50, "the loop ran ({n} calls)");
    assert_eq!(
        versions,
        ["0.1.0", "0.2.0"],
        "calls after the swap see the new version"
    );
    let status = live.status();
    assert_eq!(
        (status[0].swaps, status[0].last_error.as_deref()),
        (1, None)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_version_never_serves_and_says_why() {
    let h = harness().await;
    let _watch = h.reloader.clone().watch().unwrap();
    let serving = h.reloader.live().get("echo").unwrap().digest;
    let stop = Arc::new(AtomicBool::new(false));
    let calls = call_loop(&h, stop.clone());
    tokio::time::sleep(Duration::from_millis(100)).await;

    replace(
        &h.dir.path().join("echo.wasm"),
        b"\0asm this is not a component",
    );
    let live = h.reloader.live().clone();
    wait_for("the failure to be recorded", || {
        live.status()
            .first()
            .is_some_and(|s| s.last_error.is_some())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.store(true, Ordering::Relaxed);
    let (n, failures, versions) = calls.await.unwrap();
    assert!(
        failures.is_empty(),
        "{} failed of {n}: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert_eq!(versions, ["0.1.0"]);
    assert_eq!(
        live.get("echo").unwrap().digest,
        serving,
        "the old version still serves"
    );

    // The reason is visible to `component list` through the status file.
    let status: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(h.dir.path().join("status/components.json")).unwrap(),
    )
    .unwrap();
    let error = status[0]["last_error"].as_str().unwrap();
    assert!(error.contains("echo.wasm"), "{error}");

    // Putting a good file back swaps again.
    std::fs::copy(
        support::components_dir().join("echo.wasm"),
        h.dir.path().join("echo.wasm.partial"),
    )
    .unwrap();
    std::fs::rename(
        h.dir.path().join("echo.wasm.partial"),
        h.dir.path().join("echo.wasm"),
    )
    .unwrap();
    wait_for("the good version to clear the error", || {
        live.status()
            .first()
            .is_some_and(|s| s.last_error.is_none())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_in_flight_finishes_on_the_version_it_started_with() {
    let h = harness().await;
    let old = h.reloader.live().get("echo").unwrap();
    let manifest = std::fs::read_to_string(h.dir.path().join("echo.toml")).unwrap();
    replace(
        &h.dir.path().join("echo.toml"),
        manifest
            .replace("\nversion = \"0.1.0\"", "\nversion = \"0.3.0\"")
            .as_bytes(),
    );
    let report = h.reloader.rescan().await;
    assert_eq!(report.swapped, ["echo"], "{report:?}");
    // The old version is out of service but still callable by whoever holds it.
    let out = h
        .runtime
        .call_tool(&old, "echo", r#"{"text":"old"}"#, &Default::default())
        .await
        .unwrap();
    assert_eq!(out.output, r#"{"text":"old"}"#);
    assert_eq!(
        h.reloader
            .live()
            .get("echo")
            .unwrap()
            .manifest
            .version
            .to_string(),
        "0.3.0"
    );
    let unchanged = h.reloader.rescan().await;
    assert_eq!(
        (unchanged.swapped.len(), unchanged.unchanged),
        (0, 1),
        "nothing to do twice"
    );
}

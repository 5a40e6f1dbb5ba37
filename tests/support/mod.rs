//! Shared helpers for the integration tests: the real host runtime and the
//! real components built by `scripts/build-components --fixtures`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use ironclaw::config::{Config, Home};
use ironclaw::registry::Manifest;
use ironclaw::runtime::{LoadedComponent, Runtime};

pub mod agent;
pub mod backends;
pub mod channel_host;
pub mod channel_run;
pub mod docker;
pub mod fake_llm;
pub mod fake_slack;
pub mod fake_telegram;
pub mod fake_whatsapp;
pub mod http_server;
pub mod loopback;
pub mod wat_component;
pub mod webhook_sink;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn built(dir: &str) -> PathBuf {
    let path = repo().join("target").join(dir);
    assert!(
        path.is_dir(),
        "{} is missing: run `scripts/build-components --fixtures` first (the README's test command does)",
        path.display()
    );
    path
}

/// `target/components`: the bundled components.
pub fn components_dir() -> PathBuf {
    built("components")
}

/// `target/fixtures`: the hostile fixtures.
pub fn fixtures_dir() -> PathBuf {
    built("fixtures")
}

/// A fresh data directory that lives as long as the test process.
pub fn temp_home() -> Home {
    let dir = tempfile::Builder::new()
        .prefix("ironclaw-test-")
        .tempdir()
        .expect("temp dir");
    Home::at(dir.keep())
}

/// A fresh data directory whose owner trusts the key that signed the
/// bundled set (`scripts/sign-bundled`), as `scripts/run` arranges for a
/// real owner: without it the host refuses the bundled components.
pub fn owner_home() -> Home {
    let home = temp_home();
    let keys = repo().join("target/publisher-home/keys");
    let public = std::fs::read_dir(&keys)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e}: run scripts/sign-bundled first (the README's test command does)",
                keys.display()
            )
        })
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "pub"))
        .expect("a bundled-publisher public key");
    let key = ironclaw::trust::PublicKey::load(&public).expect("publisher key");
    ironclaw::trust::trust_key(&home, &key).expect("trust the publisher key");
    home
}

/// One runtime per test binary (its precompiled cache is shared by the tests).
pub fn runtime() -> &'static Runtime {
    static RUNTIME: LazyLock<Runtime> =
        LazyLock::new(|| Runtime::new(&Config::default(), &temp_home()).expect("runtime"));
    &RUNTIME
}

pub fn runtime_with(config: &Config) -> Runtime {
    Runtime::new(config, &temp_home()).expect("runtime")
}

pub fn manifest(dir: &Path, name: &str) -> Manifest {
    Manifest::load(&dir.join(format!("{name}.toml"))).expect("manifest")
}

/// Loads `<dir>/<name>.wasm`, granted what it requests.
pub async fn load_in(runtime: &Runtime, dir: &Path, name: &str) -> Arc<LoadedComponent> {
    let manifest = manifest(dir, name);
    let grants = runtime.grants_as_requested(&manifest);
    runtime
        .load(&dir.join(format!("{name}.wasm")), manifest, grants)
        .await
        .unwrap_or_else(|e| panic!("loading {name}: {e}"))
}

pub async fn component(name: &str) -> Arc<LoadedComponent> {
    load_in(runtime(), &components_dir(), name).await
}

pub async fn fixture(name: &str) -> Arc<LoadedComponent> {
    load_in(runtime(), &fixtures_dir(), name).await
}

/// Calls a tool and parses its JSON output; panics with the error otherwise.
pub async fn call_json(
    component: &LoadedComponent,
    tool: &str,
    params: serde_json::Value,
) -> serde_json::Value {
    let out = runtime()
        .call_tool(component, tool, &params.to_string(), &Default::default())
        .await
        .unwrap_or_else(|e| panic!("{tool}({params}): {e}"));
    serde_json::from_str(&out.output)
        .unwrap_or_else(|e| panic!("{tool} output {:?}: {e}", out.output))
}

/// The proof that the host still serves after an attack: a normal call succeeds.
pub async fn echo_still_works() {
    let echo = component("echo").await;
    let out = call_json(&echo, "echo", serde_json::json!({"text": "still here"})).await;
    assert_eq!(out, serde_json::json!({"text": "still here"}));
}

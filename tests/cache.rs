//! Compile once per digest, precompiled artifacts on disk, and the engine's
//! allocator fallback.

mod support;

use ironclaw::config::{Config, PoolingMode};
use ironclaw::runtime::{Allocator, CacheOutcome, LoadError, Runtime};
use support::{components_dir, load_in, temp_home};

fn artifacts(home: &ironclaw::config::Home) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(home.cache_dir())
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn compiles_once_then_loads_from_memory_and_disk() {
    let home = temp_home();
    let config = Config::default();
    let rt = Runtime::new(&config, &home).unwrap();
    let first = load_in(&rt, &components_dir(), "echo").await;
    assert_eq!(first.report.cache, CacheOutcome::Compiled);
    let files = artifacts(&home);
    assert_eq!(files.len(), 1);
    let name = files[0].file_name().unwrap().to_str().unwrap().to_string();
    assert!(
        name.starts_with(&first.digest.to_hex().to_string()),
        "{name}"
    );
    assert!(name.contains(rt.cache().fingerprint()), "{name}");

    let again = load_in(&rt, &components_dir(), "echo").await;
    assert_eq!(again.report.cache, CacheOutcome::Memory);

    let rt2 = Runtime::new(&config, &home).unwrap();
    let from_disk = load_in(&rt2, &components_dir(), "echo").await;
    assert_eq!(from_disk.report.cache, CacheOutcome::Disk);
    let out = rt2
        .call_tool(
            &from_disk,
            "echo",
            r#"{"text":"cached"}"#,
            &Default::default(),
        )
        .await
        .unwrap();
    assert_eq!(out.output, r#"{"text":"cached"}"#);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(home.cache_dir())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o700, "the cache holds native code: owner-only");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_corrupt_artifact_is_recompiled_not_trusted() {
    let home = temp_home();
    let rt = Runtime::new(&Config::default(), &home).unwrap();
    load_in(&rt, &components_dir(), "echo").await;
    let file = artifacts(&home).pop().unwrap();
    std::fs::write(&file, b"definitely not a precompiled component").unwrap();

    let rt2 = Runtime::new(&Config::default(), &home).unwrap();
    let c = load_in(&rt2, &components_dir(), "echo").await;
    assert_eq!(c.report.cache, CacheOutcome::Compiled);
    assert!(
        std::fs::read(&file).unwrap().len() > 1000,
        "artifact rewritten"
    );
    rt2.call_tool(&c, "echo", r#"{"text":"ok"}"#, &Default::default())
        .await
        .unwrap();
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn an_artifact_others_could_write_is_not_loaded() {
    use std::os::unix::fs::PermissionsExt;
    let home = temp_home();
    let rt = Runtime::new(&Config::default(), &home).unwrap();
    load_in(&rt, &components_dir(), "echo").await;
    let file = artifacts(&home).pop().unwrap();
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();

    let rt2 = Runtime::new(&Config::default(), &home).unwrap();
    let c = load_in(&rt2, &components_dir(), "echo").await;
    assert_eq!(
        c.report.cache,
        CacheOutcome::Compiled,
        "recompiled, not trusted"
    );
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cache_can_be_disabled() {
    let home = temp_home();
    let mut config = Config::default();
    config.runtime.cache = false;
    let rt = Runtime::new(&config, &home).unwrap();
    let c = load_in(&rt, &components_dir(), "echo").await;
    assert_eq!(c.report.cache, CacheOutcome::Compiled);
    assert!(artifacts(&home).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn pooling_and_on_demand_allocators_both_serve_calls() {
    for (mode, expected) in [
        (PoolingMode::On, Allocator::Pooling),
        (PoolingMode::Off, Allocator::OnDemand),
    ] {
        let mut config = Config::default();
        config.runtime.pooling = mode;
        let rt = support::runtime_with(&config);
        assert_eq!(rt.allocator(), expected);
        let c = load_in(&rt, &components_dir(), "echo").await;
        let out = rt
            .call_tool(&c, "echo", r#"{"text":"pool"}"#, &Default::default())
            .await
            .unwrap();
        assert_eq!(out.output, r#"{"text":"pool"}"#);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn auto_pooling_falls_back_when_the_machine_refuses_the_pool() {
    // A pool this large cannot be reserved in any address space.
    let mut config = Config::default();
    config.runtime.pool_instances = 10_000_000;
    let rt = support::runtime_with(&config);
    assert_eq!(rt.allocator(), Allocator::OnDemand);
    let c = load_in(&rt, &components_dir(), "echo").await;
    let out = rt
        .call_tool(&c, "echo", r#"{"text":"fallback"}"#, &Default::default())
        .await
        .unwrap();
    assert_eq!(out.output, r#"{"text":"fallback"}"#);

    config.runtime.pooling = PoolingMode::On;
    let err = Runtime::new(&config, &temp_home())
        .err()
        .expect("pooling = on must not fall back");
    assert!(
        err.to_string().contains("pooling allocator refused"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_and_wrong_world_components_are_refused_clearly() {
    let rt = support::runtime();
    let m = support::manifest(&components_dir(), "echo");
    let grants = rt.grants_as_requested(&m);
    let e = rt
        .load_bytes(
            b"\0asm garbage",
            std::path::Path::new("garbage.wasm"),
            m.clone(),
            grants.clone(),
        )
        .await
        .err()
        .unwrap();
    assert!(matches!(e, LoadError::Compile { .. }), "{e}");

    let empty = wat::parse_str("(component)").unwrap();
    let e = rt
        .load_bytes(
            &empty,
            std::path::Path::new("empty.wasm"),
            m.clone(),
            grants.clone(),
        )
        .await
        .err()
        .unwrap();
    assert!(matches!(e, LoadError::World { .. }), "{e}");
    assert!(e.to_string().contains("tool-component"), "{e}");

    let mut channel = m.clone();
    channel.kind = ironclaw::registry::ComponentKind::Channel;
    let e = rt
        .load(&components_dir().join("echo.wasm"), channel, grants)
        .await
        .err()
        .unwrap();
    // Channels load now; echo is not one, and the error names the world.
    assert!(matches!(e, LoadError::World { .. }), "{e}");
    assert!(e.to_string().contains("channel-component"), "{e}");
}

//! The call path of a tool component, against wasmtime's own floor.
//!
//! (a) raw wasmtime: pooled instantiate of the echo component + one `execute`
//!     call, on an engine with no fuel or epochs and a bare WASI context;
//! (b) the same call through IronClaw's full path: grants, fresh store with
//!     four budgets, locked-down WASI, capped stdio, usage record.
//! Plus cold compile time and the load time of a precompiled artifact.
//!
//! Needs `scripts/build-components` first. Results: BENCHMARKS.md.

use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use ironclaw::config::{Config, Home};
use ironclaw::registry::Manifest;
use ironclaw::runtime::Runtime;
use ironclaw::runtime::bindings::tool::ToolComponentPre;
use ironclaw::runtime::bindings::tool::exports::ironclaw::host::tool::CallContext;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{
    Config as WasmConfig, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store,
};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

const PARAMS: &str = r#"{"text":"hi"}"#;

fn components() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/components");
    assert!(
        dir.join("echo.wasm").is_file(),
        "run scripts/build-components first"
    );
    dir
}

struct Raw {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for Raw {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

fn raw_engine() -> Engine {
    let mut c = WasmConfig::new();
    c.wasm_component_model(true).concurrency_support(false);
    c.allocation_strategy(InstanceAllocationStrategy::Pooling(
        PoolingAllocationConfig::default(),
    ));
    Engine::new(&c).expect("pooling engine")
}

fn context() -> CallContext {
    CallContext {
        call_id: "bench".into(),
        user_id: None,
        channel: None,
        thread_id: None,
    }
}

fn call_path(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let wasm = std::fs::read(components().join("echo.wasm")).unwrap();

    // (a) raw wasmtime.
    let engine = raw_engine();
    let component = Component::new(&engine, &wasm).unwrap();
    let mut linker: Linker<Raw> = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).unwrap();
    let pre = ToolComponentPre::new(linker.instantiate_pre(&component).unwrap()).unwrap();
    let ctx = context();
    let mut group = c.benchmark_group("echo");
    group
        .sample_size(200)
        .measurement_time(Duration::from_secs(5));
    group.bench_function("a_raw_wasmtime_instantiate_and_call", |b| {
        b.to_async(&rt).iter(|| async {
            let mut store = Store::new(
                &engine,
                Raw {
                    wasi: WasiCtx::builder().build(),
                    table: ResourceTable::new(),
                },
            );
            let instance = pre.instantiate_async(&mut store).await.unwrap();
            let out = instance
                .ironclaw_host_tool()
                .call_execute(&mut store, "echo", PARAMS, &ctx)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(out.len(), PARAMS.len());
        })
    });

    // (b) IronClaw's full call path.
    let home = Home::at(tempfile::tempdir().unwrap().keep());
    let runtime = Runtime::new(&Config::default(), &home).unwrap();
    let manifest = Manifest::load(&components().join("echo.toml")).unwrap();
    let grants = runtime.grants_as_requested(&manifest);
    let echo = rt
        .block_on(runtime.load(&components().join("echo.wasm"), manifest, grants))
        .unwrap();
    let call_ctx = ironclaw::runtime::tool::CallContext::default();
    group.bench_function("b_ironclaw_call_tool", |b| {
        b.to_async(&rt).iter(|| async {
            let out = runtime
                .call_tool(&echo, "echo", PARAMS, &call_ctx)
                .await
                .unwrap();
            assert_eq!(out.output.len(), PARAMS.len());
        })
    });
    group.finish();
}

fn loading(c: &mut Criterion) {
    let engine = raw_engine();
    let mut group = c.benchmark_group("load");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    for name in ["echo", "json"] {
        let wasm = std::fs::read(components().join(format!("{name}.wasm"))).unwrap();
        group.bench_function(format!("cold_compile_{name}"), |b| {
            b.iter(|| Component::new(&engine, &wasm).unwrap())
        });
        let artifact = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(artifact.path(), engine.precompile_component(&wasm).unwrap()).unwrap();
        group.bench_function(format!("precompiled_load_{name}"), |b| {
            // SAFETY: written just above by this engine.
            b.iter(|| unsafe { Component::deserialize_file(&engine, artifact.path()) }.unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, call_path, loading);
criterion_main!(benches);

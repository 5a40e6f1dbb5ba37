//! The one `Engine` (DESIGN §4) and its epoch ticker.

use std::hash::{Hash, Hasher};
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::config::{PoolingMode, RuntimeConfig};

use super::limits::Limits;

/// Which instance allocator the engine ended up with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Allocator {
    Pooling,
    /// On-demand allocation: pooling was off, or the OS refused its reservation.
    OnDemand,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot create the WebAssembly engine: {0}")]
    Create(String),
}

/// Builds the engine: component model, fuel, epochs, async host calls,
/// concurrency support off (it triples per-call cost), pooling if possible.
pub fn build(config: &RuntimeConfig, max: &Limits) -> Result<(Engine, Allocator), EngineError> {
    let want_pooling = config.pooling != PoolingMode::Off;
    if want_pooling {
        match Engine::new(&base_config(config, Some(pooling(config, max)))) {
            Ok(engine) => return Ok((engine, Allocator::Pooling)),
            Err(e) if config.pooling == PoolingMode::On => {
                return Err(EngineError::Create(format!(
                    "pooling allocator refused (runtime.pooling = \"on\"): {e:#}"
                )));
            }
            Err(e) => tracing::warn!(
                error = %format!("{e:#}"),
                "pooling allocator refused by this machine; using on-demand allocation"
            ),
        }
    }
    Engine::new(&base_config(config, None))
        .map(|engine| (engine, Allocator::OnDemand))
        .map_err(|e| EngineError::Create(format!("{e:#}")))
}

fn base_config(runtime: &RuntimeConfig, pool: Option<PoolingAllocationConfig>) -> Config {
    let mut c = Config::new();
    c.wasm_component_model(true)
        .concurrency_support(false)
        .consume_fuel(true)
        .epoch_interruption(true)
        .max_wasm_stack(runtime.max_wasm_stack_kib * 1024)
        .wasm_backtrace_max_frames(std::num::NonZeroUsize::new(20))
        .parallel_compilation(true);
    if let Some(pool) = pool {
        c.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    c
}

fn pooling(runtime: &RuntimeConfig, max: &Limits) -> PoolingAllocationConfig {
    let n = runtime.pool_instances;
    let mut p = PoolingAllocationConfig::default();
    // A Rust guest is one component instance with a handful of core
    // instances, one or two memories and a few tables.
    p.total_component_instances(n)
        .total_core_instances(n * 8)
        .total_memories(n * 2)
        .total_tables(n * 4)
        .total_stacks(n)
        .max_memories_per_component(2)
        .max_memory_size(max.memory_bytes)
        .table_elements(max.table_elements)
        // A freed slot is reset by rewriting the pages the instance touched
        // (found with PAGEMAP_SCAN where the kernel has it, 6.7+) instead
        // of `madvise`, so the next instance of the same component — a
        // webhook, a tool call — does not fault its first pages in again.
        // Above this much, memory is still returned to the kernel.
        .pagemap_scan(wasmtime::Enabled::Auto)
        .linear_memory_keep_resident(KEEP_RESIDENT)
        .table_keep_resident(KEEP_RESIDENT / 4)
        // What is still decommitted goes in batches: each `madvise` of a
        // shared mapping shoots down the other cores' TLBs.
        .decommit_batch_size(DECOMMIT_BATCH);
    p
}

/// Bytes of each linear memory kept resident across instances.
const KEEP_RESIDENT: usize = 1 << 20;
const DECOMMIT_BATCH: usize = 16;

/// Identifies everything that makes a precompiled artifact valid for this
/// engine: wasmtime's own compatibility hash plus our crate version.
pub fn fingerprint(engine: &Engine) -> String {
    struct Blake(blake3::Hasher);
    impl Hasher for Blake {
        fn finish(&self) -> u64 {
            0
        }
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
    }
    let mut h = Blake(blake3::Hasher::new());
    engine.precompile_compatibility_hash().hash(&mut h);
    h.write(env!("CARGO_PKG_VERSION").as_bytes());
    h.0.finalize().to_hex()[..16].to_string()
}

/// Advances the engine's epoch every `tick` on one thread, until the engine
/// is dropped. Epoch deadlines stop guests that compute past their wall budget.
pub fn start_epoch_ticker(engine: &Engine, tick: Duration) {
    let weak = engine.weak();
    let spawned = std::thread::Builder::new()
        .name("ironclaw-epoch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(tick);
                match weak.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => break,
                }
            }
        });
    if let Err(e) = spawned {
        // Without the ticker, the tokio timeout still bounds every call.
        tracing::error!(error = %e, "cannot start the epoch ticker thread");
    }
}

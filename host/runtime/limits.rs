//! Per-call budgets (fuel, memory, tables, wall clock, output) and the
//! resource limiter that enforces memory and tables while recording peaks.

use std::time::Duration;

use serde::Serialize;
use wasmtime::ResourceLimiter;

use crate::config::{LimitValues, LimitsConfig};
use crate::registry::manifest::RequestedLimits;

/// Effective budgets for one component's calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limits {
    pub fuel: u64,
    pub memory_bytes: usize,
    #[serde(with = "millis")]
    pub wall: Duration,
    pub output_bytes: usize,
    pub table_elements: usize,
}

mod millis {
    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }
}

const MIB: u64 = 1024 * 1024;

/// Used when neither the manifest nor the owner's config says.
pub const BUILTIN_DEFAULT: LimitValues = LimitValues {
    fuel: Some(1_000_000_000),
    memory_mib: Some(64),
    wall_ms: Some(10_000),
    output_kib: Some(1024),
    table_elements: Some(20_000),
};

/// The host's ceiling unless the owner's config sets another.
pub const BUILTIN_MAX: LimitValues = LimitValues {
    fuel: Some(20_000_000_000),
    memory_mib: Some(512),
    wall_ms: Some(300_000),
    output_kib: Some(16 * 1024),
    table_elements: Some(100_000),
};

fn pick(values: [Option<u64>; 3]) -> u64 {
    values.into_iter().flatten().next().unwrap_or(1)
}

impl Limits {
    /// The host maxima: owner config, else built-in.
    pub fn max(config: &LimitsConfig) -> Limits {
        let m = &config.max;
        let b = &BUILTIN_MAX;
        Limits::from_values(
            pick([m.fuel, b.fuel, None]),
            pick([m.memory_mib, b.memory_mib, None]),
            pick([m.wall_ms, b.wall_ms, None]),
            pick([m.output_kib, b.output_kib, None]),
            pick([m.table_elements, b.table_elements, None]),
        )
    }

    /// Manifest request, else owner default, else built-in default — each
    /// clamped to the maxima.
    pub fn resolve(requested: &RequestedLimits, config: &LimitsConfig) -> Limits {
        let d = &config.default;
        let b = &BUILTIN_DEFAULT;
        let max = Limits::max(config);
        let wanted = Limits::from_values(
            pick([requested.fuel, d.fuel, b.fuel]),
            pick([requested.memory_mib, d.memory_mib, b.memory_mib]),
            pick([requested.wall_ms, d.wall_ms, b.wall_ms]),
            pick([requested.output_kib, d.output_kib, b.output_kib]),
            pick([None, d.table_elements, b.table_elements]),
        );
        Limits {
            fuel: wanted.fuel.min(max.fuel),
            memory_bytes: wanted.memory_bytes.min(max.memory_bytes),
            wall: wanted.wall.min(max.wall),
            output_bytes: wanted.output_bytes.min(max.output_bytes),
            table_elements: wanted.table_elements.min(max.table_elements),
        }
    }

    fn from_values(
        fuel: u64,
        memory_mib: u64,
        wall_ms: u64,
        output_kib: u64,
        tables: u64,
    ) -> Limits {
        let bytes =
            |v: u64, unit: u64| usize::try_from(v.saturating_mul(unit)).unwrap_or(usize::MAX);
        Limits {
            fuel,
            memory_bytes: bytes(memory_mib, MIB),
            wall: Duration::from_millis(wall_ms),
            output_bytes: bytes(output_kib, 1024),
            table_elements: bytes(tables, 1),
        }
    }
}

/// Enforces one call's memory and table budgets across all of the
/// component's memories and tables, and remembers what it refused so a
/// resulting trap can be reported as the limit it really was.
#[derive(Debug)]
pub struct CallLimiter {
    memory_limit: usize,
    table_limit: usize,
    memory_now: usize,
    memory_peak: usize,
    pub memory_refused: bool,
    pub table_refused: bool,
}

impl CallLimiter {
    pub fn new(limits: &Limits) -> CallLimiter {
        CallLimiter {
            memory_limit: limits.memory_bytes,
            table_limit: limits.table_elements,
            memory_now: 0,
            memory_peak: 0,
            memory_refused: false,
            table_refused: false,
        }
    }

    pub fn peak_memory(&self) -> usize {
        self.memory_peak
    }
}

impl ResourceLimiter for CallLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self
            .memory_now
            .saturating_add(desired.saturating_sub(current));
        if total > self.memory_limit {
            self.memory_refused = true;
            return Ok(false);
        }
        self.memory_now = total;
        self.memory_peak = self.memory_peak.max(total);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.table_limit {
            self.table_refused = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        100
    }

    fn tables(&self) -> usize {
        100
    }

    fn memories(&self) -> usize {
        16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_requests_are_clamped_to_the_maxima() {
        let mut config = LimitsConfig::default();
        config.max.memory_mib = Some(32);
        let req = RequestedLimits {
            fuel: Some(5),
            memory_mib: Some(1024),
            wall_ms: None,
            output_kib: None,
        };
        let l = Limits::resolve(&req, &config);
        assert_eq!(l.fuel, 5);
        assert_eq!(l.memory_bytes, 32 * 1024 * 1024);
        assert_eq!(l.wall, Duration::from_millis(10_000));
        config.default.wall_ms = Some(250);
        assert_eq!(
            Limits::resolve(&req, &config).wall,
            Duration::from_millis(250)
        );
    }

    #[test]
    fn limiter_counts_all_memories_and_keeps_the_peak() {
        let mut limits = Limits::resolve(&RequestedLimits::default(), &LimitsConfig::default());
        limits.memory_bytes = 3 * 65536;
        let mut l = CallLimiter::new(&limits);
        assert!(l.memory_growing(0, 2 * 65536, None).unwrap());
        assert!(l.memory_growing(0, 65536, None).unwrap());
        assert!(!l.memory_growing(65536, 2 * 65536, None).unwrap());
        assert!(l.memory_refused);
        assert_eq!(l.peak_memory(), 3 * 65536);
    }
}

//! What a call used: every call reports it, success or failure.

use std::time::Duration;

use serde::Serialize;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    pub fuel_used: u64,
    #[serde(serialize_with = "micros")]
    pub wall_time_us: Duration,
    pub peak_memory_bytes: usize,
    pub log_lines: u32,
    pub log_lines_refused: u32,
}

fn micros<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

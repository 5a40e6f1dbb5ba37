//! Percentiles and rates for the memory search benchmark's tables.

use super::*;

// --------------------------------------------------------------- figures ---

/// Nearest-rank percentile of sorted samples.
pub(super) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[derive(Default, Clone)]
pub(super) struct Latency {
    pub(super) p50: Duration,
    pub(super) p95: Duration,
    pub(super) p99: Duration,
    pub(super) max: Duration,
    pub(super) mean: Duration,
}

impl Latency {
    pub(super) fn of(mut samples: Vec<Duration>) -> Latency {
        samples.sort();
        let n = samples.len().max(1) as u32;
        Latency {
            p50: percentile(&samples, 50.0),
            p95: percentile(&samples, 95.0),
            p99: percentile(&samples, 99.0),
            max: samples.last().copied().unwrap_or_default(),
            mean: samples.iter().sum::<Duration>() / n,
        }
    }
}

pub(super) fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

#[derive(Default, Clone, Copy)]
pub(super) struct Rate {
    pub(super) docs: usize,
    pub(super) chunks: usize,
    pub(super) secs: f64,
}

impl Rate {
    pub(super) fn chunks_per_s(&self) -> f64 {
        self.chunks as f64 / self.secs.max(1e-9)
    }
    pub(super) fn docs_per_s(&self) -> f64 {
        self.docs as f64 / self.secs.max(1e-9)
    }
    pub(super) fn show(&self) -> String {
        if self.docs == 0 {
            return "—".into();
        }
        format!(
            "{:.0} chunks/s ({:.1} docs/s)",
            self.chunks_per_s(),
            self.docs_per_s()
        )
    }
}

#[derive(Default)]
pub(super) struct Report {
    pub(super) backend: &'static str,
    pub(super) version: String,
    pub(super) chunks: i64,
    pub(super) docs: i64,
    pub(super) size_mb: f64,
    pub(super) bulk: Rate,
    pub(super) single: Rate,
    pub(super) concurrent: Rate,
    pub(super) writers: usize,
    pub(super) hybrid: Latency,
    pub(super) fts: Latency,
    pub(super) vector: Latency,
    /// SQLite: sqlite-vec's KNN, the vector half before the in-memory copy.
    pub(super) vector_before: Option<Latency>,
    pub(super) first_search: Duration,
    pub(super) first_search_rss_mb: f64,
    pub(super) empty_results: usize,
    pub(super) mean_text_matches: f64,
    pub(super) similarity: Option<[f64; 4]>,
    pub(super) recall: Option<f64>,
}

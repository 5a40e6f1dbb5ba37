//! Time and randomness for the chain, injected so the retry timing, the
//! breaker, cache expiry and the budget's day boundary can be tested
//! exactly: [`SystemClock`] and [`RandomJitter`] in production,
//! [`ManualClock`] and [`FixedJitter`] in tests (public, so integration
//! tests can drive a chain too).
//!
//! A hand-driven clock rather than `tokio::time::pause()`: pausing needs
//! tokio's `test-util` feature, which would make every test build compile
//! tokio and all that depends on it a second time.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

pub trait Clock: Send + Sync {
    /// Monotonic time, for intervals (breaker, cache expiry).
    fn now(&self) -> Instant;
    /// Wall-clock milliseconds since the Unix epoch, for records and the
    /// budget's UTC day.
    fn unix_ms(&self) -> i64;
    fn sleep(&self, duration: Duration) -> Sleep;
}

/// tokio's clock and the system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn unix_ms(&self) -> i64 {
        crate::store::now_ms()
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A clock that moves only when told to or when something sleeps on it:
/// a sleep returns at once, having advanced the clock by its length and
/// noted it in [`ManualClock::sleeps`].
#[derive(Debug)]
pub struct ManualClock {
    start: Instant,
    start_unix_ms: i64,
    state: Mutex<ManualState>,
}

#[derive(Debug, Default)]
struct ManualState {
    elapsed: Duration,
    sleeps: Vec<Duration>,
}

impl ManualClock {
    /// A clock that reads `unix_ms` now.
    pub fn new(unix_ms: i64) -> ManualClock {
        ManualClock {
            start: Instant::now(),
            start_unix_ms: unix_ms,
            state: Mutex::new(ManualState::default()),
        }
    }

    pub fn advance(&self, by: Duration) {
        self.lock().elapsed += by;
    }

    /// Every sleep so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.lock().sleeps.clone()
    }

    /// How far the clock has moved since it was made.
    pub fn elapsed(&self) -> Duration {
        self.lock().elapsed
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ManualState> {
        // The state is two plain values; a panic elsewhere cannot leave them
        // half-written, so a poisoned lock is still good.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.start + self.lock().elapsed
    }

    fn unix_ms(&self) -> i64 {
        let elapsed = i64::try_from(self.lock().elapsed.as_millis()).unwrap_or(i64::MAX);
        self.start_unix_ms.saturating_add(elapsed)
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        let mut state = self.lock();
        state.elapsed += duration;
        state.sleeps.push(duration);
        Box::pin(std::future::ready(()))
    }
}

/// The random part of a backoff.
pub trait Jitter: Send + Sync {
    /// A number in `[-1, 1]`; the backoff is scaled by `1 + spread × it`.
    fn sample(&self) -> f64;
}

/// SplitMix64 seeded from the OS. Backoff jitter only needs to spread
/// clients apart, not to be unpredictable, so a small generator suffices.
#[derive(Debug)]
pub struct RandomJitter {
    state: AtomicU64,
}

impl RandomJitter {
    pub fn new() -> RandomJitter {
        let mut seed = [0u8; 8];
        // Without OS randomness, the time still differs between processes,
        // which is all jitter is for.
        let seed = match getrandom::fill(&mut seed) {
            Ok(()) => u64::from_le_bytes(seed),
            Err(_) => crate::store::now_ms().unsigned_abs(),
        };
        RandomJitter {
            state: AtomicU64::new(seed),
        }
    }
}

impl Default for RandomJitter {
    fn default() -> Self {
        RandomJitter::new()
    }
}

impl Jitter for RandomJitter {
    fn sample(&self) -> f64 {
        const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut z = self
            .state
            .fetch_add(GAMMA, Ordering::Relaxed)
            .wrapping_add(GAMMA);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        // The top 53 bits as a fraction in [0, 1), then mapped to [-1, 1).
        let unit = (z >> 11) as f64 / (1u64 << 53) as f64;
        unit * 2.0 - 1.0
    }
}

/// Always the same sample: `FixedJitter(0.0)` gives the nominal backoff.
#[derive(Debug, Clone, Copy)]
pub struct FixedJitter(pub f64);

impl Jitter for FixedJitter {
    fn sample(&self) -> f64 {
        self.0.clamp(-1.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_jitter_stays_in_range_and_spreads() {
        let j = RandomJitter::new();
        let samples: Vec<f64> = (0..10_000).map(|_| j.sample()).collect();
        assert!(samples.iter().all(|s| (-1.0..1.0).contains(s)));
        let below = samples.iter().filter(|s| **s < 0.0).count();
        assert!((4_000..6_000).contains(&below), "{below} of 10000 below 0");
    }

    #[test]
    fn a_manual_clock_moves_only_when_told_or_slept_on() {
        let clock = ManualClock::new(1_000);
        let t0 = clock.now();
        assert_eq!(clock.now(), t0);
        clock.advance(Duration::from_millis(1_500));
        // Sleeping returns at once (this test has no runtime to wait in).
        drop(clock.sleep(Duration::from_secs(2)));
        assert_eq!(clock.now() - t0, Duration::from_millis(3_500));
        assert_eq!(clock.unix_ms(), 4_500);
        assert_eq!(clock.sleeps(), [Duration::from_secs(2)]);
    }
}

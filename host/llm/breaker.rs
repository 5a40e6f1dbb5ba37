//! A circuit breaker per provider, so a provider that is down costs one
//! fast refusal instead of three slow attempts on every turn.
//!
//! Closed: calls go through; `failures` consecutive transient failures
//! (`LlmError::is_transient`) open it. Open: calls are refused at once for
//! `open_for`. Then half-open: up to `probes` calls go through at a time; the
//! first to succeed closes it, the first to fail transiently opens it again.
//!
//! Only transient failures count. Any other answer — even an error such as
//! `Auth` or `InvalidRequest` — shows the provider is up and reachable, so
//! it counts as a success for the breaker.
//!
//! Each call holds a [`Permit`] tagged with the breaker's generation (bumped
//! on every state change), so the late result of a call that started before
//! a change cannot undo it, and a probe that is dropped unfinished (the turn
//! was cancelled) frees its slot.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use super::chain_config::ResilienceConfig;
use super::clock::Clock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Consecutive transient failures that open the breaker (≥ 1).
    pub failures: u32,
    pub open_for: Duration,
    /// Calls let through at once while half-open (≥ 1).
    pub probes: u32,
}

impl BreakerConfig {
    pub fn from_config(c: &ResilienceConfig) -> BreakerConfig {
        BreakerConfig {
            failures: c.breaker_failures.max(1),
            open_for: Duration::from_secs(c.breaker_open_secs),
            probes: c.half_open_probes.max(1),
        }
    }
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig::from_config(&ResilienceConfig::default())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

/// The breaker as `ironclaw status` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BreakerSnapshot {
    pub state: BreakerState,
    pub consecutive_failures: u32,
    /// While open: milliseconds until probes are let through.
    pub probe_in_ms: Option<u64>,
}

#[derive(Debug, Clone, Copy)]
enum State {
    Closed,
    Open { until: Instant },
    HalfOpen { in_flight: u32 },
}

#[derive(Debug)]
struct Inner {
    state: State,
    consecutive: u32,
    generation: u64,
}

pub struct Breaker {
    config: BreakerConfig,
    clock: Arc<dyn Clock>,
    inner: Mutex<Inner>,
}

/// Why a call was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Open: probes start after this long.
    Open(Duration),
    /// Half-open with every probe slot taken.
    Probing,
}

/// Leave to make one call; report how it went with [`Permit::succeeded`]
/// or [`Permit::failed`].
#[must_use = "a permit reports the call's outcome to the breaker"]
pub struct Permit<'a> {
    breaker: &'a Breaker,
    generation: u64,
    probe: bool,
    reported: bool,
}

impl Breaker {
    pub fn new(config: BreakerConfig, clock: Arc<dyn Clock>) -> Breaker {
        Breaker {
            config,
            clock,
            inner: Mutex::new(Inner {
                state: State::Closed,
                consecutive: 0,
                generation: 0,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every update below leaves the state whole before it can panic, so
        // a poisoned lock still holds a consistent breaker.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Open → half-open once the open period has passed.
    fn settle(&self, inner: &mut Inner) {
        if let State::Open { until } = inner.state
            && self.clock.now() >= until
        {
            inner.state = State::HalfOpen { in_flight: 0 };
            inner.generation += 1;
        }
    }

    pub fn acquire(&self) -> Result<Permit<'_>, Refused> {
        let mut inner = self.lock();
        self.settle(&mut inner);
        let probe = match &mut inner.state {
            State::Closed => false,
            State::Open { until } => {
                return Err(Refused::Open(
                    until.saturating_duration_since(self.clock.now()),
                ));
            }
            State::HalfOpen { in_flight } => {
                if *in_flight >= self.config.probes {
                    return Err(Refused::Probing);
                }
                *in_flight += 1;
                true
            }
        };
        Ok(Permit {
            breaker: self,
            generation: inner.generation,
            probe,
            reported: false,
        })
    }

    /// Refusing calls right now (open, its period not yet over).
    pub fn is_open(&self) -> bool {
        let mut inner = self.lock();
        self.settle(&mut inner);
        matches!(inner.state, State::Open { .. })
    }

    pub fn snapshot(&self) -> BreakerSnapshot {
        let mut inner = self.lock();
        self.settle(&mut inner);
        let (state, probe_in_ms) = match inner.state {
            State::Closed => (BreakerState::Closed, None),
            State::HalfOpen { .. } => (BreakerState::HalfOpen, None),
            State::Open { until } => {
                let left = until.saturating_duration_since(self.clock.now());
                (
                    BreakerState::Open,
                    Some(u64::try_from(left.as_millis()).unwrap_or(u64::MAX)),
                )
            }
        };
        BreakerSnapshot {
            state,
            consecutive_failures: inner.consecutive,
            probe_in_ms,
        }
    }

    fn open(&self, inner: &mut Inner) {
        inner.state = State::Open {
            until: self.clock.now() + self.config.open_for,
        };
        inner.generation += 1;
    }

    fn report(&self, generation: u64, probe: bool, transient_failure: bool) {
        let mut inner = self.lock();
        if inner.generation != generation {
            // The state changed while this call ran; its result is about
            // the old state and must not undo the new one.
            return;
        }
        match (inner.state, transient_failure) {
            (State::Closed, false) => inner.consecutive = 0,
            (State::Closed, true) => {
                inner.consecutive += 1;
                if inner.consecutive >= self.config.failures {
                    self.open(&mut inner);
                }
            }
            (State::HalfOpen { .. }, false) if probe => {
                inner.state = State::Closed;
                inner.consecutive = 0;
                inner.generation += 1;
            }
            (State::HalfOpen { .. }, true) if probe => {
                inner.consecutive = inner.consecutive.saturating_add(1);
                self.open(&mut inner);
            }
            // A permit of this generation is a probe exactly when the state
            // is half-open, and none is issued while open.
            _ => {}
        }
    }

    fn release(&self, generation: u64) {
        let mut inner = self.lock();
        if inner.generation == generation
            && let State::HalfOpen { in_flight } = &mut inner.state
        {
            *in_flight = in_flight.saturating_sub(1);
        }
    }
}

impl Permit<'_> {
    /// The provider answered (with anything but a transient error).
    pub fn succeeded(mut self) {
        self.reported = true;
        self.breaker.report(self.generation, self.probe, false);
    }

    /// The call failed transiently.
    pub fn failed(mut self) {
        self.reported = true;
        self.breaker.report(self.generation, self.probe, true);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.reported && self.probe {
            self.breaker.release(self.generation);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::clock::ManualClock;

    fn breaker() -> (Arc<ManualClock>, Breaker) {
        let clock = Arc::new(ManualClock::new(0));
        let b = Breaker::new(BreakerConfig::default(), clock.clone());
        (clock, b)
    }

    fn fail(b: &Breaker, n: u32) {
        for _ in 0..n {
            b.acquire().unwrap().failed();
        }
    }

    #[test]
    fn opens_after_five_consecutive_transient_failures() {
        let (_, b) = breaker();
        fail(&b, 4);
        assert_eq!(b.snapshot().state, BreakerState::Closed);
        assert_eq!(b.snapshot().consecutive_failures, 4);
        // A success in between starts the count again.
        b.acquire().unwrap().succeeded();
        fail(&b, 4);
        assert_eq!(b.snapshot().state, BreakerState::Closed);
        fail(&b, 1);
        let s = b.snapshot();
        assert_eq!(s.state, BreakerState::Open);
        assert_eq!(s.probe_in_ms, Some(30_000));
        assert!(b.is_open());
        assert_eq!(
            b.acquire().err(),
            Some(Refused::Open(Duration::from_secs(30)))
        );
    }

    #[test]
    fn half_open_admits_two_probes_and_a_success_closes() {
        let (clock, b) = breaker();
        fail(&b, 5);
        clock.advance(Duration::from_secs(29));
        assert!(matches!(b.acquire(), Err(Refused::Open(_))));
        clock.advance(Duration::from_secs(1));
        assert!(!b.is_open());
        let first = b.acquire().unwrap();
        let second = b.acquire().unwrap();
        assert_eq!(b.acquire().err(), Some(Refused::Probing));
        assert_eq!(b.snapshot().state, BreakerState::HalfOpen);
        first.succeeded();
        assert_eq!(b.snapshot().state, BreakerState::Closed);
        assert_eq!(b.snapshot().consecutive_failures, 0);
        // The other probe's late failure is about the old state: ignored.
        second.failed();
        assert_eq!(b.snapshot().state, BreakerState::Closed);
        assert_eq!(b.snapshot().consecutive_failures, 0);
    }

    #[test]
    fn a_failed_probe_reopens_for_another_period() {
        let (clock, b) = breaker();
        fail(&b, 5);
        clock.advance(Duration::from_secs(30));
        b.acquire().unwrap().failed();
        assert_eq!(b.snapshot().state, BreakerState::Open);
        assert_eq!(b.snapshot().probe_in_ms, Some(30_000));
        clock.advance(Duration::from_secs(30));
        b.acquire().unwrap().succeeded();
        assert_eq!(b.snapshot().state, BreakerState::Closed);
    }

    #[test]
    fn a_dropped_probe_frees_its_slot() {
        let (clock, b) = breaker();
        fail(&b, 5);
        clock.advance(Duration::from_secs(30));
        let a = b.acquire().unwrap();
        let c = b.acquire().unwrap();
        assert_eq!(b.acquire().err(), Some(Refused::Probing));
        drop(a);
        let d = b.acquire().unwrap();
        drop((c, d));
        assert_eq!(b.snapshot().state, BreakerState::HalfOpen);
    }

    #[test]
    fn non_transient_answers_count_as_signs_of_life() {
        let (_, b) = breaker();
        fail(&b, 4);
        // e.g. `Auth`: the chain reports it as `succeeded`.
        b.acquire().unwrap().succeeded();
        fail(&b, 4);
        assert_eq!(b.snapshot().state, BreakerState::Closed);
    }
}

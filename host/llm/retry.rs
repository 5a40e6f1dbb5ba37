//! What the chain does after one provider's attempt fails: try the same
//! provider again after a pause, go to the next provider, or give up.
//!
//! - `Transient` and `RateLimited` without a hint: retried, up to
//!   `attempts` in all, after `base × 2ⁿ` (n = retries so far) scaled by
//!   ± 25 % jitter so clients that failed together do not return together.
//! - `RateLimited(Some(s))`: the provider said when; wait exactly `s`
//!   seconds. When `s` is beyond `retry_after_max`, waiting would stall the
//!   turn, so the next provider is tried instead.
//! - `Auth`, `NotAvailable`, `Failed`, `CircuitOpen`: not retried — the
//!   same provider would answer the same — but the next provider may differ
//!   (another key, another adapter, another service), so fail over.
//! - `InvalidRequest`, `ContextTooLong`, `Denied`, `BudgetExhausted`: the
//!   request itself or the owner's policy is the problem; every provider
//!   would refuse it alike, so stop and return the error unchanged (the
//!   agent acts on `ContextTooLong` by compacting, for one).

use std::time::Duration;

use super::chain_config::ResilienceConfig;
use super::clock::Jitter;
use super::types::LlmError;

/// The jitter spread: a backoff is scaled by a factor in `[0.75, 1.25]`.
pub const JITTER_SPREAD: f64 = 0.25;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per provider, the first included (≥ 1).
    pub attempts: u32,
    /// The pause before the first retry.
    pub base: Duration,
    /// The longest `Retry-After` honoured.
    pub retry_after_max: Duration,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Try the same provider again after this pause.
    Retry(Duration),
    /// Go to the next provider.
    FailOver,
    /// Return this error: no provider would do better.
    Stop,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy::from_config(&ResilienceConfig::default())
    }
}

impl RetryPolicy {
    pub fn from_config(c: &ResilienceConfig) -> RetryPolicy {
        RetryPolicy {
            attempts: c.retry_attempts.max(1),
            base: Duration::from_millis(c.retry_base_ms),
            retry_after_max: Duration::from_secs(c.retry_after_max_secs),
        }
    }

    /// The pause after failed attempt number `attempt` (1-based):
    /// `base × 2^(attempt-1) × (1 + 0.25 × jitter)`.
    pub fn backoff(&self, attempt: u32, jitter: &dyn Jitter) -> Duration {
        // 2^20 × base is already far beyond any sane pause; cap the shift
        // so a large configured attempt count cannot overflow.
        let doubling = 1u32 << attempt.saturating_sub(1).min(20);
        let nominal = self.base.saturating_mul(doubling);
        let factor = 1.0 + JITTER_SPREAD * jitter.sample().clamp(-1.0, 1.0);
        // Not `mul_f64`, which panics past `Duration::MAX`.
        Duration::try_from_secs_f64(nominal.as_secs_f64() * factor).unwrap_or(Duration::MAX)
    }

    /// What follows failed attempt number `attempt` (1-based) with `error`.
    pub fn next(&self, error: &LlmError, attempt: u32, jitter: &dyn Jitter) -> Next {
        match error {
            LlmError::RateLimited(Some(secs)) if *secs > 0 => {
                let wait = Duration::from_secs(u64::from(*secs));
                if wait > self.retry_after_max || attempt >= self.attempts {
                    Next::FailOver
                } else {
                    Next::Retry(wait)
                }
            }
            LlmError::Transient(_) | LlmError::RateLimited(_) => {
                if attempt >= self.attempts {
                    Next::FailOver
                } else {
                    Next::Retry(self.backoff(attempt, jitter))
                }
            }
            LlmError::Auth(_)
            | LlmError::NotAvailable(_)
            | LlmError::Failed(_)
            | LlmError::CircuitOpen(_) => Next::FailOver,
            LlmError::InvalidRequest(_)
            | LlmError::ContextTooLong(_)
            | LlmError::Denied(_)
            | LlmError::BudgetExhausted(_) => Next::Stop,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::clock::FixedJitter;

    const NONE: FixedJitter = FixedJitter(0.0);

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn backoff_doubles_from_one_second_within_a_quarter() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(1, &NONE), secs(1.0));
        assert_eq!(p.backoff(2, &NONE), secs(2.0));
        assert_eq!(p.backoff(3, &NONE), secs(4.0));
        assert_eq!(p.backoff(2, &FixedJitter(1.0)), secs(2.5));
        assert_eq!(p.backoff(2, &FixedJitter(-1.0)), secs(1.5));
        // Out-of-range samples are clamped to the spread.
        assert_eq!(p.backoff(1, &FixedJitter(7.0)), secs(1.25));
        // Absurd attempt numbers saturate rather than overflow.
        assert!(p.backoff(u32::MAX, &NONE) >= secs(1_000_000.0));
    }

    #[test]
    fn transient_errors_retry_until_the_attempts_are_spent() {
        let p = RetryPolicy::default();
        let e = LlmError::Transient("502".into());
        assert_eq!(p.next(&e, 1, &NONE), Next::Retry(secs(1.0)));
        assert_eq!(p.next(&e, 2, &NONE), Next::Retry(secs(2.0)));
        assert_eq!(p.next(&e, 3, &NONE), Next::FailOver);
        let hintless = LlmError::RateLimited(None);
        assert_eq!(p.next(&hintless, 1, &NONE), Next::Retry(secs(1.0)));
    }

    #[test]
    fn retry_after_is_waited_exactly_unless_too_long() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.next(&LlmError::RateLimited(Some(7)), 1, &FixedJitter(1.0)),
            Next::Retry(secs(7.0))
        );
        assert_eq!(
            p.next(&LlmError::RateLimited(Some(60)), 2, &NONE),
            Next::Retry(secs(60.0))
        );
        assert_eq!(
            p.next(&LlmError::RateLimited(Some(61)), 1, &NONE),
            Next::FailOver
        );
        assert_eq!(
            p.next(&LlmError::RateLimited(Some(5)), 3, &NONE),
            Next::FailOver
        );
        // `Retry-After: 0` means "now": the ordinary backoff still spaces it.
        assert_eq!(
            p.next(&LlmError::RateLimited(Some(0)), 1, &NONE),
            Next::Retry(secs(1.0))
        );
    }

    #[test]
    fn other_errors_fail_over_or_stop_without_retrying() {
        let p = RetryPolicy::default();
        for e in [
            LlmError::Auth("bad key".into()),
            LlmError::NotAvailable("not installed".into()),
            LlmError::Failed("trap".into()),
            LlmError::CircuitOpen("x".into()),
        ] {
            assert_eq!(p.next(&e, 1, &NONE), Next::FailOver, "{e}");
        }
        for e in [
            LlmError::InvalidRequest("bad".into()),
            LlmError::ContextTooLong("200k".into()),
            LlmError::Denied("no grant".into()),
            LlmError::BudgetExhausted("spent".into()),
        ] {
            assert_eq!(p.next(&e, 1, &NONE), Next::Stop, "{e}");
        }
    }
}

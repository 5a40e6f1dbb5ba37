//! The chain the agent and `llm`-granted components complete through: an
//! ordered list of providers (primary first) behind retries, a circuit
//! breaker each, failover, a response cache, accounting and the daily
//! budget (DESIGN §6). It is itself a [`Provider`], so callers never know
//! how many providers stand behind it.
//!
//! A completion goes: cache (tool-free requests only; a hit is streamed to
//! the sink whole, recorded as cached, and allowed even when the budget is
//! spent, since nothing is sent) → budget check (nothing is sent once
//! today's spend reaches the limit) → each provider in order, each behind
//! its breaker, retried and failed over as `retry` decides → usage recorded
//! → answer cached.
//!
//! Streaming: once any text of this call has reached the caller's sink, a
//! failure is returned as it is — no retry, no failover. The caller has
//! already shown that text, and a second answer appended to half of the
//! first would be nonsense; the caller decides whether to ask again.
//!
//! The final error, when every provider failed, names what each said
//! (`a: …; b: …`). Its kind is `Auth` or `NotAvailable` when every provider
//! failed that way, `Transient` when any failure may pass with time (so the
//! caller may try again later), `Failed` otherwise. With one provider its
//! error comes back unchanged. An error that stops the chain (see `retry`)
//! comes back unchanged too.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;

use super::breaker::{Breaker, BreakerConfig, BreakerState, Refused};
use super::budget::Accounting;
use super::chain_config::{ChainConfigError, ResilienceConfig};
use super::clock::{Clock, Jitter, RandomJitter, SystemClock};
use super::provider::{Provider, StreamSink};
use super::response_cache::{CacheStats, ResponseCache};
use super::retry::{Next, RetryPolicy};
use super::types::{Completion, CompletionRequest, LlmError, ModelInfo};

/// The provider name cached answers are recorded under.
pub const CACHE_PROVIDER: &str = "cache";

/// One provider as `ironclaw status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProviderStatus {
    pub name: String,
    pub breaker: BreakerState,
    /// Transient failures in a row (what opens the breaker).
    pub consecutive_failures: u32,
    /// While the breaker is open: milliseconds until it lets probes through.
    pub probe_in_ms: Option<u64>,
    /// Attempts sent to this provider since start.
    pub calls: u64,
    /// Attempts that failed, for any reason.
    pub failures: u64,
    pub last_error: Option<String>,
}

#[derive(Debug, Default)]
struct Stats {
    calls: u64,
    failures: u64,
    last_error: Option<String>,
}

struct Member {
    provider: Arc<dyn Provider>,
    breaker: Breaker,
    stats: Mutex<Stats>,
}

impl Member {
    fn stats(&self) -> std::sync::MutexGuard<'_, Stats> {
        // Counters only: a poisoned lock holds usable numbers.
        self.stats.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One attempt's future, borrowing the request.
type Attempt<'a, T> = Pin<Box<dyn Future<Output = Result<T, LlmError>> + Send + 'a>>;

pub struct Chain {
    name: String,
    members: Vec<Member>,
    retry: RetryPolicy,
    cache: Option<ResponseCache>,
    accounting: Option<Arc<Accounting>>,
    clock: Arc<dyn Clock>,
    jitter: Arc<dyn Jitter>,
}

/// Builds a [`Chain`]; `Chain::builder(providers, &config)…build()`.
pub struct ChainBuilder {
    providers: Vec<Arc<dyn Provider>>,
    config: ResilienceConfig,
    accounting: Option<Arc<Accounting>>,
    clock: Arc<dyn Clock>,
    jitter: Arc<dyn Jitter>,
}

impl ChainBuilder {
    /// Records usage and enforces the daily budget (without it, neither).
    pub fn accounting(mut self, accounting: Arc<Accounting>) -> ChainBuilder {
        self.accounting = Some(accounting);
        self
    }

    /// The clock for pauses, breakers and cache expiry (tests).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> ChainBuilder {
        self.clock = clock;
        self
    }

    /// The randomness of the backoff (tests).
    pub fn jitter(mut self, jitter: Arc<dyn Jitter>) -> ChainBuilder {
        self.jitter = jitter;
        self
    }

    pub fn build(self) -> Result<Chain, ChainConfigError> {
        self.config.validate()?;
        if self.providers.is_empty() {
            return Err(ChainConfigError("no LLM provider is configured".into()));
        }
        let names: Vec<&str> = self.providers.iter().map(|p| p.name()).collect();
        let name = format!("chain:{}", names.join(","));
        let breaker = BreakerConfig::from_config(&self.config);
        let members = self
            .providers
            .into_iter()
            .map(|provider| Member {
                provider,
                breaker: Breaker::new(breaker, self.clock.clone()),
                stats: Mutex::new(Stats::default()),
            })
            .collect();
        Ok(Chain {
            name,
            members,
            retry: RetryPolicy::from_config(&self.config),
            cache: ResponseCache::from_config(&self.config.cache, self.clock.clone()),
            accounting: self.accounting,
            clock: self.clock,
            jitter: self.jitter,
        })
    }
}

impl Chain {
    /// `providers` in order of preference, the primary first.
    pub fn builder(providers: Vec<Arc<dyn Provider>>, config: &ResilienceConfig) -> ChainBuilder {
        ChainBuilder {
            providers,
            config: config.clone(),
            accounting: None,
            clock: Arc::new(SystemClock),
            jitter: Arc::new(RandomJitter::new()),
        }
    }

    /// A chain on the system clock, with accounting when given.
    pub fn new(
        providers: Vec<Arc<dyn Provider>>,
        config: &ResilienceConfig,
        accounting: Option<Arc<Accounting>>,
    ) -> Result<Chain, ChainConfigError> {
        let builder = Chain::builder(providers, config);
        match accounting {
            Some(a) => builder.accounting(a).build(),
            None => builder.build(),
        }
    }

    pub fn status(&self) -> Vec<ProviderStatus> {
        self.members
            .iter()
            .map(|m| {
                let breaker = m.breaker.snapshot();
                let stats = m.stats();
                ProviderStatus {
                    name: m.provider.name().to_string(),
                    breaker: breaker.state,
                    consecutive_failures: breaker.consecutive_failures,
                    probe_in_ms: breaker.probe_in_ms,
                    calls: stats.calls,
                    failures: stats.failures,
                    last_error: stats.last_error.clone(),
                }
            })
            .collect()
    }

    /// `None` when the cache is disabled.
    pub fn cache_stats(&self) -> Option<CacheStats> {
        self.cache.as_ref().map(ResponseCache::stats)
    }

    pub fn accounting(&self) -> Option<&Arc<Accounting>> {
        self.accounting.as_ref()
    }

    /// Runs `call` against each of `members` in turn as the module doc
    /// says; the index of the provider that answered, and its answer.
    /// `streamed` is set once text of this call has reached the caller.
    async fn run<'a, T>(
        &self,
        members: &[Member],
        streamed: Option<&AtomicBool>,
        call: impl Fn(Arc<dyn Provider>) -> Attempt<'a, T> + Send + Sync,
    ) -> Result<(usize, T), LlmError> {
        let mut failures: Vec<(String, LlmError)> = Vec::new();
        for (index, member) in members.iter().enumerate() {
            let name = member.provider.name();
            let mut attempt = 0;
            loop {
                attempt += 1;
                let permit = match member.breaker.acquire() {
                    Ok(permit) => permit,
                    Err(refused) => {
                        failures.push((name.to_string(), circuit_open(name, refused)));
                        break;
                    }
                };
                member.stats().calls += 1;
                let error = match call(member.provider.clone()).await {
                    Ok(answer) => {
                        permit.succeeded();
                        return Ok((index, answer));
                    }
                    Err(error) => error,
                };
                if error.is_transient() {
                    permit.failed();
                } else {
                    permit.succeeded();
                }
                {
                    let mut stats = member.stats();
                    stats.failures += 1;
                    stats.last_error = Some(error.to_string());
                }
                if streamed.is_some_and(|s| s.load(Ordering::Acquire)) {
                    tracing::warn!(provider = name, "LLM call failed after streaming: {error}");
                    return Err(error);
                }
                match self.retry.next(&error, attempt, &*self.jitter) {
                    // No pause when this very failure opened the breaker:
                    // the retry would be refused anyway.
                    Next::Retry(pause) if !member.breaker.is_open() => {
                        tracing::info!(
                            provider = name,
                            attempt,
                            pause_ms = u64::try_from(pause.as_millis()).unwrap_or(u64::MAX),
                            "retrying LLM call: {error}"
                        );
                        self.clock.sleep(pause).await;
                    }
                    Next::Retry(_) | Next::FailOver => {
                        tracing::warn!(
                            provider = name,
                            "LLM provider failed, failing over: {error}"
                        );
                        failures.push((name.to_string(), error));
                        break;
                    }
                    Next::Stop => return Err(error),
                }
            }
        }
        Err(exhausted(failures))
    }
}

fn circuit_open(name: &str, refused: Refused) -> LlmError {
    LlmError::CircuitOpen(match refused {
        Refused::Open(left) => format!(
            "{name} (probing again in {} s)",
            left.as_millis().div_ceil(1000)
        ),
        Refused::Probing => format!("{name} (half-open, probe calls in flight)"),
    })
}

/// The error when every provider failed; see the module doc.
fn exhausted(mut failures: Vec<(String, LlmError)>) -> LlmError {
    if failures.len() <= 1 {
        return failures.pop().map_or_else(
            || LlmError::NotAvailable("no LLM provider is configured".into()),
            |(_, e)| e,
        );
    }
    let said: Vec<String> = failures
        .iter()
        .map(|(name, e)| format!("{name}: {e}"))
        .collect();
    let text = format!("every LLM provider failed — {}", said.join("; "));
    let all = |f: fn(&LlmError) -> bool| failures.iter().all(|(_, e)| f(e));
    if all(|e| matches!(e, LlmError::Auth(_))) {
        LlmError::Auth(text)
    } else if all(|e| matches!(e, LlmError::NotAvailable(_))) {
        LlmError::NotAvailable(text)
    } else if failures
        .iter()
        .any(|(_, e)| e.is_transient() || matches!(e, LlmError::CircuitOpen(_)))
    {
        LlmError::Transient(text)
    } else {
        LlmError::Failed(text)
    }
}

#[async_trait::async_trait]
impl Provider for Chain {
    fn name(&self) -> &str {
        &self.name
    }

    async fn complete(
        &self,
        request: &CompletionRequest,
        stream: Option<StreamSink>,
    ) -> Result<Completion, LlmError> {
        let key = match &self.cache {
            Some(_) => ResponseCache::key(&self.name, request),
            None => None,
        };
        if let (Some(cache), Some(key)) = (&self.cache, &key)
            && let Some(hit) = cache.get(key)
        {
            if let Some(sink) = &stream
                && !hit.content.is_empty()
            {
                sink(&hit.content);
            }
            if let Some(accounting) = &self.accounting {
                accounting.record(CACHE_PROVIDER, &hit, true).await;
            }
            return Ok(hit);
        }
        if let Some(accounting) = &self.accounting {
            accounting.check().await?;
        }
        let streamed = Arc::new(AtomicBool::new(false));
        let sink: Option<StreamSink> = stream.map(|inner| {
            let streamed = streamed.clone();
            Arc::new(move |chunk: &str| {
                if !chunk.is_empty() {
                    streamed.store(true, Ordering::Release);
                }
                inner(chunk);
            }) as StreamSink
        });
        let (index, completion) = self
            .run(&self.members, Some(&streamed), |p| {
                let sink = sink.clone();
                Box::pin(async move { p.complete(request, sink).await }) as Attempt<'_, _>
            })
            .await?;
        if let Some(accounting) = &self.accounting {
            let name = self.members.get(index).map_or("", |m| m.provider.name());
            accounting.record(name, &completion, false).await;
        }
        if let (Some(cache), Some(key)) = (&self.cache, key) {
            cache.put(key, &completion);
        }
        Ok(completion)
    }

    /// Embeddings come from the primary only, with its retries and
    /// breaker but no failover: another provider's vectors belong to another
    /// model's space and would silently corrupt an index built with the
    /// primary's. Refused once the budget is spent; not recorded, as the
    /// trait reports no usage for them.
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, LlmError> {
        if let Some(accounting) = &self.accounting {
            accounting.check().await?;
        }
        let primary = self.members.get(..1).unwrap_or_default();
        self.run(primary, None, |p| {
            Box::pin(async move { p.embed(texts).await }) as Attempt<'_, _>
        })
        .await
        .map(|(_, vectors)| vectors)
    }

    /// The first provider that can describe itself, skipping those whose
    /// breaker is open: the model callers get while the primary is healthy.
    /// Describing is local to an adapter (no provider traffic), so it goes
    /// around the breakers and retries: its success must not close a
    /// breaker that real failures opened.
    async fn describe(&self) -> Result<ModelInfo, LlmError> {
        let mut failures: Vec<(String, LlmError)> = Vec::new();
        for member in &self.members {
            let name = member.provider.name();
            if member.breaker.is_open() {
                failures.push((name.to_string(), LlmError::CircuitOpen(name.to_string())));
                continue;
            }
            match member.provider.describe().await {
                Ok(info) => return Ok(info),
                Err(e) => failures.push((name.to_string(), e)),
            }
        }
        Err(exhausted(failures))
    }
}

#[cfg(test)]
#[path = "chain_tests.rs"]
mod tests;

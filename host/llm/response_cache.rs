//! Answers to repeated tool-free requests, kept in memory for a while so an
//! identical question (a routine re-run, a retried turn) costs nothing.
//!
//! Only requests without tool definitions are cached: with tools, the answer
//! may be a tool call whose effect the caller expects to happen again. The
//! key is blake3 over the chain's identity and a canonical serialisation of
//! the whole request (messages, model, temperature, limits), so any change
//! misses. Entries expire after `ttl`; beyond `capacity` the least recently
//! used goes. Only finished answers (`Stop`, `Length`) are kept: a filtered
//! or odd ending is worth asking again.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::chain_config::CacheConfig;
use super::clock::Clock;
use super::types::{Completion, CompletionRequest, FinishReason};

pub type CacheKey = [u8; 32];

struct Entry {
    completion: Completion,
    stored: Instant,
    /// Position in the recency order: larger is more recent.
    used: u64,
}

#[derive(Default)]
struct Lru {
    entries: HashMap<CacheKey, Entry>,
    /// `used` → key, oldest first.
    order: BTreeMap<u64, CacheKey>,
    tick: u64,
}

impl Lru {
    fn remove(&mut self, key: &CacheKey) {
        if let Some(e) = self.entries.remove(key) {
            self.order.remove(&e.used);
        }
    }
}

/// Hits and misses since start, for status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CacheStats {
    pub entries: usize,
    pub hits: u64,
    pub misses: u64,
}

pub struct ResponseCache {
    ttl: Duration,
    capacity: usize,
    clock: Arc<dyn Clock>,
    inner: Mutex<(Lru, CacheStats)>,
}

impl ResponseCache {
    /// `None` when the config disables the cache.
    pub fn from_config(config: &CacheConfig, clock: Arc<dyn Clock>) -> Option<ResponseCache> {
        config.enabled.then(|| {
            ResponseCache::new(Duration::from_secs(config.ttl_secs), config.entries, clock)
        })
    }

    pub fn new(ttl: Duration, capacity: usize, clock: Arc<dyn Clock>) -> ResponseCache {
        ResponseCache {
            ttl,
            capacity: capacity.max(1),
            clock,
            inner: Mutex::new((Lru::default(), CacheStats::default())),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (Lru, CacheStats)> {
        // Each operation below finishes its changes before anything that
        // could panic, so a poisoned lock still holds a usable cache.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The key of `request` sent through the chain named `chain`; `None`
    /// when the request may not be cached (it offers tools).
    pub fn key(chain: &str, request: &CompletionRequest) -> Option<CacheKey> {
        if !request.tools.is_empty() {
            return None;
        }
        // Serialising plain data cannot fail; should it ever, the request
        // simply goes uncached.
        let body = serde_json::to_vec(request).ok()?;
        let mut hasher = blake3::Hasher::new();
        hasher.update(b"ironclaw llm response cache v1\0");
        hasher.update(&(chain.len() as u64).to_le_bytes());
        hasher.update(chain.as_bytes());
        hasher.update(&body);
        Some(*hasher.finalize().as_bytes())
    }

    pub fn get(&self, key: &CacheKey) -> Option<Completion> {
        let now = self.clock.now();
        let mut guard = self.lock();
        let (lru, stats) = &mut *guard;
        let fresh = lru
            .entries
            .get(key)
            .map(|e| now.saturating_duration_since(e.stored) < self.ttl);
        match fresh {
            Some(true) => {
                lru.tick += 1;
                let tick = lru.tick;
                let entry = lru.entries.get_mut(key)?;
                lru.order.remove(&entry.used);
                entry.used = tick;
                lru.order.insert(tick, *key);
                stats.hits += 1;
                Some(entry.completion.clone())
            }
            Some(false) => {
                lru.remove(key);
                stats.misses += 1;
                None
            }
            None => {
                stats.misses += 1;
                None
            }
        }
    }

    /// Keeps `completion` if it is a finished answer without tool calls.
    pub fn put(&self, key: CacheKey, completion: &Completion) {
        let cacheable = matches!(
            completion.finish_reason,
            FinishReason::Stop | FinishReason::Length
        ) && completion.tool_calls.is_empty();
        if !cacheable {
            return;
        }
        let now = self.clock.now();
        let mut guard = self.lock();
        let lru = &mut guard.0;
        lru.remove(&key);
        while lru.entries.len() >= self.capacity {
            let Some((_, oldest)) = lru.order.pop_first() else {
                break;
            };
            lru.entries.remove(&oldest);
        }
        lru.tick += 1;
        let used = lru.tick;
        lru.order.insert(used, key);
        lru.entries.insert(
            key,
            Entry {
                completion: completion.clone(),
                stored: now,
                used,
            },
        );
    }

    pub fn stats(&self) -> CacheStats {
        let guard = self.lock();
        CacheStats {
            entries: guard.0.entries.len(),
            ..guard.1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::clock::ManualClock;
    use crate::llm::types::{Message, TokenUsage, ToolCall, ToolDefinition};

    fn request(text: &str) -> CompletionRequest {
        CompletionRequest {
            messages: vec![Message::user(text)],
            ..Default::default()
        }
    }

    fn answer(text: &str) -> Completion {
        Completion {
            content: text.into(),
            tool_calls: vec![],
            finish_reason: FinishReason::Stop,
            usage: TokenUsage::default(),
            model: "m".into(),
        }
    }

    fn cache(capacity: usize) -> (Arc<ManualClock>, ResponseCache) {
        let clock = Arc::new(ManualClock::new(0));
        let c = ResponseCache::new(Duration::from_secs(3_600), capacity, clock.clone());
        (clock, c)
    }

    #[test]
    fn keys_differ_by_chain_and_every_request_field_and_tools_are_uncacheable() {
        let k = |chain, r: &CompletionRequest| ResponseCache::key(chain, r).unwrap();
        let base = request("hi");
        assert_eq!(k("a", &base), k("a", &request("hi")));
        assert_ne!(k("a", &base), k("b", &base));
        assert_ne!(k("a", &base), k("a", &request("hi!")));
        let warmer = CompletionRequest {
            temperature: Some(0.7),
            ..request("hi")
        };
        assert_ne!(k("a", &base), k("a", &warmer));
        let other_model = CompletionRequest {
            model: Some("x".into()),
            ..request("hi")
        };
        assert_ne!(k("a", &base), k("a", &other_model));
        let with_tools = CompletionRequest {
            tools: vec![ToolDefinition {
                name: "t".into(),
                description: String::new(),
                parameters_schema: "{}".into(),
            }],
            ..request("hi")
        };
        assert_eq!(ResponseCache::key("a", &with_tools), None);
    }

    #[test]
    fn hits_until_the_ttl_passes() {
        let (clock, c) = cache(10);
        let key = ResponseCache::key("a", &request("hi")).unwrap();
        assert_eq!(c.get(&key), None);
        c.put(key, &answer("hello"));
        assert_eq!(c.get(&key).unwrap().content, "hello");
        clock.advance(Duration::from_secs(3_599));
        assert!(c.get(&key).is_some());
        clock.advance(Duration::from_secs(1));
        assert_eq!(c.get(&key), None);
        assert_eq!(
            c.stats(),
            CacheStats {
                entries: 0,
                hits: 2,
                misses: 2
            }
        );
    }

    #[test]
    fn the_least_recently_used_entry_goes_first() {
        let (_, c) = cache(2);
        let [a, b, d] = ["a", "b", "d"].map(|t| ResponseCache::key("x", &request(t)).unwrap());
        c.put(a, &answer("A"));
        c.put(b, &answer("B"));
        // Reading `a` makes `b` the least recently used.
        assert!(c.get(&a).is_some());
        c.put(d, &answer("D"));
        assert!(c.get(&b).is_none());
        assert!(c.get(&a).is_some());
        assert!(c.get(&d).is_some());
        // Replacing an entry does not evict another.
        c.put(d, &answer("D2"));
        assert_eq!(c.get(&d).unwrap().content, "D2");
        assert!(c.get(&a).is_some());
        assert_eq!(c.stats().entries, 2);
    }

    #[test]
    fn unfinished_answers_and_tool_calls_are_not_kept() {
        let (_, c) = cache(10);
        let key = ResponseCache::key("a", &request("hi")).unwrap();
        let filtered = Completion {
            finish_reason: FinishReason::ContentFilter,
            ..answer("x")
        };
        c.put(key, &filtered);
        assert!(c.get(&key).is_none());
        let calls = Completion {
            tool_calls: vec![ToolCall {
                id: "1".into(),
                name: "t".into(),
                arguments: "{}".into(),
            }],
            ..answer("x")
        };
        c.put(key, &calls);
        assert!(c.get(&key).is_none());
    }
}

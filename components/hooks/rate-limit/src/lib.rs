//! `rate-limit`: at most N inbound messages per (channel, user) — and, if
//! asked, N calls of a tool per (channel, user, tool) — in a sliding window.
//! Inert until `max-messages` or `max-tool-calls` is set under
//! `[components.settings.rate-limit]`; see README.md.
//!
//! State lives in the `db` capability (a fresh instance serves every call):
//! one key per (channel, user[, tool]) holding the admitted events' times,
//! compactly encoded ([`window`]). Stale keys are swept at most once per
//! window. The logic ([`settings`], [`window`], [`plan`], [`reason`]) is
//! pure and unit-tested natively; the glue at the bottom is wasm-only.

pub mod settings;
pub mod window;

use ironclaw_sdk::hook::{EventKind, HookEvent};

use settings::{Limit, Settings};
use window::Secs;

/// What one event is counted against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Counted {
    Messages,
    Tool(String),
}

/// The check an event needs: its key and limit, or none at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    Skip,
    Check {
        key: String,
        limit: Limit,
        counted: Counted,
    },
}

/// What to check for `event` under `settings` (pure).
pub fn plan(settings: &Settings, event: &HookEvent) -> Plan {
    if settings.is_exempt(&event.channel, &event.user_id) {
        return Plan::Skip;
    }
    match event.kind {
        EventKind::BeforeInbound => match settings.messages {
            Some(limit) => Plan::Check {
                key: window::message_key(&event.channel, &event.user_id),
                limit,
                counted: Counted::Messages,
            },
            None => Plan::Skip,
        },
        EventKind::BeforeToolCall => {
            let tool = event.tool_name.as_deref().unwrap_or_default();
            match settings.tool_calls {
                Some(limit) if !tool.is_empty() && settings.limits_tool(tool) => Plan::Check {
                    key: window::tool_key(&event.channel, &event.user_id, tool),
                    limit,
                    counted: Counted::Tool(tool.to_string()),
                },
                _ => Plan::Skip,
            }
        }
        _ => Plan::Skip,
    }
}

/// The refusal the user (or, for a tool, the model) reads.
pub fn reason(counted: &Counted, limit: Limit, retry_after: Secs) -> String {
    let per = window::human(limit.window);
    let wait = window::human(retry_after);
    let plural = |n: u32, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    match counted {
        Counted::Messages => format!(
            "Rate limit reached: at most {} per {per}. Try again in {wait}.",
            plural(limit.max, "message", "messages")
        ),
        Counted::Tool(tool) => format!(
            "Rate limit reached for tool `{tool}`: at most {} per {per}. Try again in {wait}.",
            plural(limit.max, "call", "calls")
        ),
    }
}

/// Whether a sweep of stale keys is due: at most once per `window` (and at
/// most once a minute), so its cost is spread thin.
pub fn sweep_due(last: Option<Secs>, now: Secs, window: Secs) -> bool {
    match last {
        None => true,
        Some(t) => now.saturating_sub(t) >= window.max(60),
    }
}

#[cfg(target_arch = "wasm32")]
mod component {
    use std::time::{SystemTime, UNIX_EPOCH};

    use ironclaw_sdk::error::CapabilityError;
    use ironclaw_sdk::hook::{Guest, HookEvent, HookResult, Registration};
    use ironclaw_sdk::{config, db, log};

    use crate::settings::{self, DEFAULT_PRIORITY, Settings};
    use crate::window::{self, Decision, Secs};
    use crate::{Plan, plan, reason, sweep_due};

    fn setting(key: &str) -> Option<String> {
        config::get(key)
            .ok()
            .flatten()
            .filter(|v| !v.trim().is_empty())
    }

    fn now() -> Result<Secs, String> {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .map_err(|_| "the clock is before 1970".to_string())
    }

    fn db_err(op: &str, e: CapabilityError) -> String {
        format!("db {op}: {}", e.detail())
    }

    fn history(key: &str) -> Result<Vec<Secs>, String> {
        let stored = db::get(key).map_err(|e| db_err("get", e))?;
        // Undecodable bytes: start afresh (forgives a few events at worst).
        Ok(stored.and_then(|b| window::decode(&b)).unwrap_or_default())
    }

    /// Deletes keys whose every event has left `window`; one `list-keys` per
    /// prefix and one `get` per key. A failure here is logged, never fatal:
    /// sweeping is housekeeping.
    fn sweep(now: Secs, window: Secs) {
        for prefix in [window::MESSAGES, window::TOOLS] {
            let keys = match db::list_keys(prefix) {
                Ok(keys) => keys,
                Err(e) => {
                    log::warn(&format!("rate-limit sweep: {}", db_err("list-keys", e)));
                    continue;
                }
            };
            for key in keys {
                let stale = history(&key).is_ok_and(|h| window::expired(&h, now, window));
                if stale {
                    let _ = db::delete(&key);
                }
            }
        }
        if let Err(e) = db::set(window::SWEEP, &window::encode(&[now])) {
            log::warn(&format!("rate-limit sweep: {}", db_err("set", e)));
        }
    }

    fn maybe_sweep(now: Secs, window: Secs) {
        let last = history(window::SWEEP).ok().and_then(|h| h.last().copied());
        if sweep_due(last, now, window) {
            sweep(now, window);
        }
    }

    fn check(s: &Settings, event: &HookEvent) -> Result<HookResult, String> {
        let Plan::Check {
            key,
            limit,
            counted,
        } = plan(s, event)
        else {
            return Ok(HookResult::Continue);
        };
        let now = now()?;
        let longest = s.longest_window();
        match window::decide(&history(&key)?, now, limit.max, limit.window) {
            Decision::Deny { retry_after } => {
                Ok(HookResult::Reject(reason(&counted, limit, retry_after)))
            }
            Decision::Allow(kept) => {
                let bytes = window::encode(&kept);
                match db::set(&key, &bytes) {
                    Ok(()) => {}
                    // Over quota: free what has expired, then try once more.
                    // Still failing, the error skips this hook (fail open):
                    // a full store must not silence the assistant.
                    Err(CapabilityError::Limited(_)) => {
                        sweep(now, longest);
                        db::set(&key, &bytes).map_err(|e| db_err("set", e))?;
                    }
                    Err(e) => return Err(db_err("set", e)),
                }
                maybe_sweep(now, longest);
                Ok(HookResult::Continue)
            }
        }
    }

    struct RateLimit;

    impl Guest for RateLimit {
        fn register() -> Registration {
            match settings::parse(&setting) {
                Ok(Some(s)) => Registration {
                    events: s.events(),
                    priority: s.priority,
                },
                Ok(None) => Registration {
                    events: Vec::new(),
                    priority: DEFAULT_PRIORITY,
                },
                Err(e) => {
                    log::warn(&format!("rate-limit is off: {e}"));
                    Registration {
                        events: Vec::new(),
                        priority: DEFAULT_PRIORITY,
                    }
                }
            }
        }

        fn on_event(event: HookEvent) -> Result<HookResult, String> {
            match settings::parse(&setting)? {
                Some(s) => check(&s, &event),
                None => Ok(HookResult::Continue),
            }
        }
    }

    ironclaw_sdk::hook::export!(RateLimit);
}

#[cfg(test)]
mod tests;

//! `profanity-filter`: masks profanity in messages ("fuck" → "f***"), or
//! refuses them, on the events the owner picks. Inert until the owner
//! switches it on (`enabled = "true"` or `events = "…"` under
//! `[components.settings.profanity-filter]`); see README.md.
//!
//! The logic ([`settings`], [`words`]) does not touch the SDK's imports and
//! is unit-tested natively (`cargo test --target x86_64-unknown-linux-gnu
//! -p profanity-filter`); the component glue below is wasm-only.

pub mod settings;
pub mod words;

use ironclaw_sdk::hook::{EventKind, HookEvent, HookResult, Modification};

use settings::{Mode, Settings};

/// What the hook answers for one event under `settings` (pure).
pub fn judge(settings: &Settings, event: &HookEvent) -> HookResult {
    if !settings.events.contains(&event.kind) {
        return HookResult::Continue;
    }
    let Some(text) = event.content.as_deref() else {
        return HookResult::Continue;
    };
    match settings.mode {
        Mode::Mask => match settings.words.mask(text) {
            Some(masked) => HookResult::Modify(Modification::Content(masked)),
            None => HookResult::Continue,
        },
        Mode::Reject if settings.words.contains(text) => {
            HookResult::Reject(reject_reason(event.kind).to_string())
        }
        Mode::Reject => HookResult::Continue,
    }
}

fn reject_reason(kind: EventKind) -> &'static str {
    match kind {
        EventKind::BeforeInbound => "Your message was not processed: it contains profanity.",
        _ => "The reply was withheld: it contains profanity.",
    }
}

#[cfg(target_arch = "wasm32")]
mod component {
    use ironclaw_sdk::config;
    use ironclaw_sdk::hook::{Guest, HookEvent, HookResult, Registration};
    use ironclaw_sdk::log;

    use crate::settings::{self, DEFAULT_PRIORITY, Settings};

    fn setting(key: &str) -> Option<String> {
        config::get(key)
            .ok()
            .flatten()
            .filter(|v| !v.trim().is_empty())
    }

    fn load() -> Result<Option<Settings>, String> {
        settings::parse(&setting)
    }

    struct ProfanityFilter;

    impl Guest for ProfanityFilter {
        fn register() -> Registration {
            match load() {
                Ok(Some(s)) => Registration {
                    events: s.events,
                    priority: s.priority,
                },
                Ok(None) => Registration {
                    events: Vec::new(),
                    priority: DEFAULT_PRIORITY,
                },
                Err(e) => {
                    // A misconfigured filter stays off, loudly, rather than
                    // guessing what the owner meant.
                    log::warn(&format!("profanity-filter is off: {e}"));
                    Registration {
                        events: Vec::new(),
                        priority: DEFAULT_PRIORITY,
                    }
                }
            }
        }

        fn on_event(event: HookEvent) -> Result<HookResult, String> {
            match load()? {
                Some(s) => Ok(crate::judge(&s, &event)),
                None => Ok(HookResult::Continue),
            }
        }
    }

    ironclaw_sdk::hook::export!(ProfanityFilter);
}

#[cfg(test)]
mod tests;

//! `sensitive-data-redactor`: replaces personal data with placeholders —
//! e-mail addresses `[email]`, phone numbers `[phone]`, payment card
//! numbers `[card]` (Luhn-checked), IBANs `[iban]` (mod-97-checked) and US
//! SSNs `[ssn]` — in messages, and in the string values of a tool call's
//! JSON parameters. Inert until switched on under
//! `[components.settings.sensitive-data-redactor]`; see README.md.
//!
//! The logic ([`settings`], [`scan`], [`checks`], [`judge`]) is pure and
//! unit-tested natively; the glue at the bottom is wasm-only.

pub mod checks;
pub mod scan;
pub mod settings;

use ironclaw_sdk::hook::{EventKind, HookEvent, HookResult, Modification};
use serde_json::Value;

use scan::Kind;
use settings::Settings;

/// What the hook answers for one event under `settings` (pure).
pub fn judge(settings: &Settings, event: &HookEvent) -> HookResult {
    if !settings.events.contains(&event.kind) {
        return HookResult::Continue;
    }
    let changed = match event.kind {
        EventKind::BeforeToolCall => event
            .tool_params
            .as_deref()
            .and_then(|p| redact_params(p, &settings.kinds))
            .map(Modification::Params),
        _ => event
            .content
            .as_deref()
            .and_then(|c| scan::redact(c, &settings.kinds))
            .map(Modification::Content),
    };
    changed.map_or(HookResult::Continue, HookResult::Modify)
}

/// The parameters with every string value redacted (keys are names chosen
/// by the tool's schema, not data), re-serialized; `None` when nothing
/// changed or the text is not JSON (the host validates parameters itself;
/// this hook only ever makes them smaller, never invalid).
pub fn redact_params(params: &str, kinds: &[Kind]) -> Option<String> {
    let mut value: Value = serde_json::from_str(params).ok()?;
    redact_value(&mut value, kinds).then(|| value.to_string())
}

fn redact_value(value: &mut Value, kinds: &[Kind]) -> bool {
    match value {
        Value::String(s) => match scan::redact(s, kinds) {
            Some(r) => {
                *s = r;
                true
            }
            None => false,
        },
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |changed, v| redact_value(v, kinds) | changed),
        Value::Object(map) => map
            .values_mut()
            .fold(false, |changed, v| redact_value(v, kinds) | changed),
        _ => false,
    }
}

#[cfg(target_arch = "wasm32")]
mod component {
    use ironclaw_sdk::hook::{Guest, HookEvent, HookResult, Registration};
    use ironclaw_sdk::{config, log};

    use crate::settings::{self, DEFAULT_PRIORITY};

    fn setting(key: &str) -> Option<String> {
        config::get(key)
            .ok()
            .flatten()
            .filter(|v| !v.trim().is_empty())
    }

    struct Redactor;

    impl Guest for Redactor {
        fn register() -> Registration {
            let (events, priority) = match settings::parse(&setting) {
                Ok(Some(s)) => (s.events, s.priority),
                Ok(None) => (Vec::new(), DEFAULT_PRIORITY),
                Err(e) => {
                    // Off, loudly, rather than redacting something other
                    // than what the owner asked for.
                    log::warn(&format!("sensitive-data-redactor is off: {e}"));
                    (Vec::new(), DEFAULT_PRIORITY)
                }
            };
            Registration { events, priority }
        }

        fn on_event(event: HookEvent) -> Result<HookResult, String> {
            match settings::parse(&setting)? {
                Some(s) => Ok(crate::judge(&s, &event)),
                None => Ok(HookResult::Continue),
            }
        }
    }

    ironclaw_sdk::hook::export!(Redactor);
}

#[cfg(test)]
mod tests;

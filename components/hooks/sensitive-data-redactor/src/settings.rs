//! The owner's settings (`[components.settings.sensitive-data-redactor]`),
//! parsed from a lookup function so that the parsing is tested natively.
//! Values are strings; lists are comma-separated.

use ironclaw_sdk::hook::{EventKind, parse_events};
use ironclaw_sdk::settings::{flag, list};

use crate::scan::Kind;

/// Last of the bundled hooks: it should see the final text, after any other
/// hook has rewritten it.
pub const DEFAULT_PRIORITY: i32 = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub events: Vec<EventKind>,
    pub kinds: Vec<Kind>,
    pub priority: i32,
}

/// `Ok(None)` while the redactor is off. It is on when `enabled = "true"`,
/// or when `events` or `kinds` is set; `enabled = "false"` keeps it off.
pub fn parse(get: &dyn Fn(&str) -> Option<String>) -> Result<Option<Settings>, String> {
    let events_setting = get("events");
    let kinds_setting = get("kinds");
    let enabled = match get("enabled") {
        Some(v) => flag("enabled", &v)?,
        None => events_setting.is_some() || kinds_setting.is_some(),
    };
    if !enabled {
        return Ok(None);
    }
    let events = match events_setting {
        Some(v) => parse_events(
            &v,
            &[
                EventKind::BeforeInbound,
                EventKind::TransformResponse,
                EventKind::BeforeOutbound,
                EventKind::BeforeToolCall,
            ],
        )?,
        // What leaves the assistant: the answer about to be sent.
        None => vec![EventKind::BeforeOutbound],
    };
    let kinds = match kinds_setting {
        Some(v) => kinds(&v)?,
        None => Kind::ALL.to_vec(),
    };
    let priority = match get("priority") {
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| format!("`priority` must be an integer, not {v:?}"))?,
        None => DEFAULT_PRIORITY,
    };
    Ok(Some(Settings {
        events,
        kinds,
        priority,
    }))
}

fn kinds(value: &str) -> Result<Vec<Kind>, String> {
    let mut out = Vec::new();
    for name in list(value) {
        let kind = Kind::from_name(&name.to_ascii_lowercase()).ok_or_else(|| {
            format!("`kinds`: {name:?} is not one of email, phone, card, iban, ssn")
        })?;
        if !out.contains(&kind) {
            out.push(kind);
        }
    }
    if out.is_empty() {
        return Err("`kinds` names no kind".to_string());
    }
    Ok(out)
}

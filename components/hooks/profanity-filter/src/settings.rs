//! The owner's settings (`[components.settings.profanity-filter]`), parsed
//! from a lookup function so that the parsing is tested natively.
//!
//! Every value is a string (the host's config is string-valued); lists are
//! comma-separated.

use ironclaw_sdk::hook::{EventKind, parse_events};
use ironclaw_sdk::settings::{flag, list};

use crate::words::WordList;

/// Runs after the gatekeeping hooks (quiet-hours, rate-limit) and before the
/// sensitive-data redactor, so that the redactor sees the final text.
pub const DEFAULT_PRIORITY: i32 = 50;

/// What to do with a message that contains profanity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Replace every letter but the first with `*`.
    Mask,
    /// Refuse the whole message.
    Reject,
}

#[derive(Debug)]
pub struct Settings {
    pub events: Vec<EventKind>,
    pub priority: i32,
    pub mode: Mode,
    pub words: WordList,
}

/// `Ok(None)` when the owner has not switched the filter on: the hook then
/// registers for nothing and costs nothing. It is on when `enabled = "true"`
/// or when `events` is set; `enabled = "false"` keeps it off regardless.
pub fn parse(get: &dyn Fn(&str) -> Option<String>) -> Result<Option<Settings>, String> {
    let events_setting = get("events");
    let enabled = match get("enabled") {
        Some(v) => flag("enabled", &v)?,
        None => events_setting.is_some(),
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
            ],
        )?,
        // The assistant's own answers: the most common reason to want a
        // filter is a shared channel the assistant writes to.
        None => vec![EventKind::BeforeOutbound],
    };
    let priority = match get("priority") {
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| format!("`priority` must be an integer, not {v:?}"))?,
        None => DEFAULT_PRIORITY,
    };
    let mode = match get("mode").as_deref().map(str::trim) {
        None | Some("mask") => Mode::Mask,
        Some("reject") => Mode::Reject,
        Some(other) => return Err(format!("`mode` must be `mask` or `reject`, not {other:?}")),
    };
    let extra = get("extra-words").map(|v| list(&v)).unwrap_or_default();
    let allow = get("allow-words").map(|v| list(&v)).unwrap_or_default();
    Ok(Some(Settings {
        events,
        priority,
        mode,
        words: WordList::new(&extra, &allow),
    }))
}

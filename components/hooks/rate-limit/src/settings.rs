//! The owner's settings (`[components.settings.rate-limit]`), parsed from a
//! lookup function so that the parsing is tested natively. Values are
//! strings; lists are comma-separated.

use ironclaw_sdk::hook::EventKind;
use ironclaw_sdk::settings::list;

/// Early: a refused message should cost no other hook anything. After
/// `quiet-hours` (-100), so that messages refused for quiet hours do not use
/// up the sender's allowance.
pub const DEFAULT_PRIORITY: i32 = -90;
pub const DEFAULT_WINDOW: u64 = 60;
/// 30 days: longer windows would keep histories around for no purpose.
const MAX_WINDOW: u64 = 30 * 86_400;
/// Bounds one key's stored history (a few bytes per event).
const MAX_COUNT: u32 = 10_000;

/// `max` events per `window` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: u32,
    pub window: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Inbound messages per (channel, user).
    pub messages: Option<Limit>,
    /// Tool calls per (channel, user, tool).
    pub tool_calls: Option<Limit>,
    /// Tools the tool limit applies to; empty = every tool.
    pub tools: Vec<String>,
    /// `user` (on any channel) or `channel:user`.
    pub exempt: Vec<String>,
    pub priority: i32,
}

impl Settings {
    pub fn events(&self) -> Vec<EventKind> {
        let mut events = Vec::new();
        if self.messages.is_some() {
            events.push(EventKind::BeforeInbound);
        }
        if self.tool_calls.is_some() {
            events.push(EventKind::BeforeToolCall);
        }
        events
    }

    pub fn is_exempt(&self, channel: &str, user: &str) -> bool {
        // A bare entry is tried whole first: user ids may contain `:`
        // themselves (Matrix's `@alice:example.org`).
        self.exempt.iter().any(|e| {
            e == user
                || e.split_once(':')
                    .is_some_and(|(c, u)| c == channel && u == user)
        })
    }

    pub fn limits_tool(&self, tool: &str) -> bool {
        self.tools.is_empty() || self.tools.iter().any(|t| t == tool)
    }

    /// The longest window in use: how long a history can matter.
    pub fn longest_window(&self) -> u64 {
        [self.messages, self.tool_calls]
            .iter()
            .flatten()
            .map(|l| l.window)
            .max()
            .unwrap_or(DEFAULT_WINDOW)
    }
}

/// `Ok(None)` when neither `max-messages` nor `max-tool-calls` is set: the
/// hook then registers for nothing.
pub fn parse(get: &dyn Fn(&str) -> Option<String>) -> Result<Option<Settings>, String> {
    let max_messages = get("max-messages")
        .map(|v| number("max-messages", &v, 1, u64::from(MAX_COUNT)))
        .transpose()?;
    let max_tool_calls = get("max-tool-calls")
        .map(|v| number("max-tool-calls", &v, 1, u64::from(MAX_COUNT)))
        .transpose()?;
    if max_messages.is_none() && max_tool_calls.is_none() {
        return Ok(None);
    }
    let window = match get("window-seconds") {
        Some(v) => number("window-seconds", &v, 1, MAX_WINDOW)?,
        None => DEFAULT_WINDOW,
    };
    let tool_window = match get("tool-window-seconds") {
        Some(v) => number("tool-window-seconds", &v, 1, MAX_WINDOW)?,
        None => window,
    };
    let priority = match get("priority") {
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| format!("`priority` must be an integer, not {v:?}"))?,
        None => DEFAULT_PRIORITY,
    };
    // `number` bounds both counts by MAX_COUNT, so they fit a u32.
    let limit = |max: u64, window| Limit {
        max: u32::try_from(max).unwrap_or(MAX_COUNT),
        window,
    };
    Ok(Some(Settings {
        messages: max_messages.map(|m| limit(m, window)),
        tool_calls: max_tool_calls.map(|m| limit(m, tool_window)),
        tools: get("tools").map(|v| list(&v)).unwrap_or_default(),
        exempt: get("exempt-users").map(|v| list(&v)).unwrap_or_default(),
        priority,
    }))
}

fn number(key: &str, value: &str, min: u64, max: u64) -> Result<u64, String> {
    match value.trim().parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!(
            "`{key}` must be a whole number from {min} to {max}, not {value:?}"
        )),
    }
}

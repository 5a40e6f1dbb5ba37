//! `quiet-hours`: refuses inbound messages between `start` and `end` local
//! time (the span may wrap midnight), with a message saying when to come
//! back. Inert until `start` and `end` are set under
//! `[components.settings.quiet-hours]`; see README.md.
//!
//! Local time is UTC plus a fixed offset (`utc-offset`): no time-zone
//! database is compiled in (every call starts a fresh instance, and the tz
//! data would be most of the component), so daylight saving time means
//! changing the offset twice a year.
//!
//! Everything but the clock and the config lookup is pure and unit-tested
//! natively; the glue at the bottom is wasm-only.

use ironclaw_sdk::hook::{EventKind, HookEvent};
use ironclaw_sdk::settings::list;

/// First of the hooks: a message refused for quiet hours should cost
/// nothing else, nor use up a rate limit (`rate-limit` runs at -90).
pub const DEFAULT_PRIORITY: i32 = -100;
const DAY_MINUTES: u32 = 24 * 60;
/// The widest offsets in use (UTC-12:00 to UTC+14:00), rounded out.
const MAX_OFFSET_MINUTES: i32 = 14 * 60;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Minutes after local midnight.
    pub start: u32,
    pub end: u32,
    /// Local time minus UTC, in minutes.
    pub offset: i32,
    /// `user` (any channel) or `channel:user`.
    pub exempt: Vec<String>,
    /// With `{start}` and `{end}` substituted.
    pub message: String,
    pub priority: i32,
}

/// `Ok(None)` until both `start` and `end` are set.
pub fn parse(get: &dyn Fn(&str) -> Option<String>) -> Result<Option<Settings>, String> {
    let (Some(start), Some(end)) = (get("start"), get("end")) else {
        if get("start").is_some() || get("end").is_some() {
            return Err("set both `start` and `end`".to_string());
        }
        return Ok(None);
    };
    let start = clock("start", &start)?;
    let end = clock("end", &end)?;
    if start == end {
        return Err(format!(
            "`start` and `end` are both {}: that is no span at all",
            hhmm(start)
        ));
    }
    let offset = match (get("utc-offset"), get("timezone")) {
        (Some(_), Some(_)) => return Err("set `utc-offset` or `timezone`, not both".to_string()),
        (Some(v), None) => utc_offset("utc-offset", &v)?,
        (None, Some(v)) => timezone(&v)?,
        (None, None) => 0,
    };
    let priority = match get("priority") {
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| format!("`priority` must be an integer, not {v:?}"))?,
        None => DEFAULT_PRIORITY,
    };
    let template = get("message").unwrap_or_else(|| {
        "Quiet hours ({start}–{end}): your message was not processed; try again after {end}."
            .to_string()
    });
    Ok(Some(Settings {
        start,
        end,
        offset,
        exempt: get("exempt-users").map(|v| list(&v)).unwrap_or_default(),
        message: template
            .replace("{start}", &hhmm(start))
            .replace("{end}", &hhmm(end)),
        priority,
    }))
}

/// "22:00", "7:30", "07:30" → minutes after midnight. "24:00" is accepted
/// as an `end` of midnight.
pub fn clock(key: &str, value: &str) -> Result<u32, String> {
    let bad = || format!("`{key}` must be a time of day like \"22:00\", not {value:?}");
    let (h, m) = value.trim().split_once(':').ok_or_else(bad)?;
    let digits = |s: &str, max_len| {
        !s.is_empty() && s.len() <= max_len && s.bytes().all(|b| b.is_ascii_digit())
    };
    if !digits(h, 2) || !digits(m, 2) || m.len() != 2 {
        return Err(bad());
    }
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    match (h, m) {
        (24, 0) => Ok(0),
        (0..=23, 0..=59) => Ok(h * 60 + m),
        _ => Err(bad()),
    }
}

/// "+01:00", "-05:30", "+0530", "+1", "UTC+2", "Z", "UTC" → minutes.
pub fn utc_offset(key: &str, value: &str) -> Result<i32, String> {
    let bad = || format!("`{key}` must be an offset like \"+01:00\" or \"-05:30\", not {value:?}");
    let v = value.trim();
    let v = v
        .strip_prefix("UTC")
        .or_else(|| v.strip_prefix("GMT"))
        .unwrap_or(v);
    if v.is_empty() || v == "Z" {
        return Ok(0);
    }
    let (sign, rest) = if let Some(r) = v.strip_prefix('+') {
        (1, r)
    } else if let Some(r) = v.strip_prefix('-') {
        (-1, r)
    } else {
        return Err(bad());
    };
    // ASCII only from here, so splitting at a byte index is safe.
    if !rest.bytes().all(|b| b.is_ascii_digit() || b == b':') {
        return Err(bad());
    }
    let (h, m) = match rest.split_once(':') {
        Some((h, m)) => (h, m),
        None if rest.len() == 4 => rest.split_at(2),
        None => (rest, "0"),
    };
    let ok = |s: &str| (1..=2).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    if !ok(h) || !ok(m) {
        return Err(bad());
    }
    let (h, m): (i32, i32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    let minutes = h * 60 + m;
    if m > 59 || minutes > MAX_OFFSET_MINUTES {
        return Err(bad());
    }
    Ok(sign * minutes)
}

/// Only what needs no tz database: "UTC" and its aliases, or an offset.
fn timezone(value: &str) -> Result<i32, String> {
    match value.trim() {
        "UTC" | "Etc/UTC" | "GMT" | "Etc/GMT" | "Z" => Ok(0),
        v if v.starts_with(['+', '-']) || v.starts_with("UTC") || v.starts_with("GMT") => {
            utc_offset("timezone", v)
        }
        v => Err(format!(
            "`timezone` {v:?}: named time zones are not supported (no tz database is \
             compiled in); set `utc-offset` instead, e.g. \"+01:00\""
        )),
    }
}

pub fn hhmm(minutes: u32) -> String {
    format!("{:02}:{:02}", minutes / 60 % 24, minutes % 60)
}

/// The local minute of the day at `unix_secs` (seconds since 1970, UTC).
pub fn local_minute(unix_secs: i64, offset_minutes: i32) -> u32 {
    let local = unix_secs.div_euclid(60) + i64::from(offset_minutes);
    // rem_euclid of a positive modulus is in 0..1440, so the cast is exact.
    local.rem_euclid(i64::from(DAY_MINUTES)) as u32
}

/// Whether `minute` falls in [start, end), wrapping midnight when
/// `start > end` (22:00–07:00 covers 22:00 to 06:59).
pub fn in_span(minute: u32, start: u32, end: u32) -> bool {
    if start <= end {
        (start..end).contains(&minute)
    } else {
        minute >= start || minute < end
    }
}

impl Settings {
    pub fn events(&self) -> Vec<EventKind> {
        vec![EventKind::BeforeInbound]
    }

    pub fn is_exempt(&self, channel: &str, user: &str) -> bool {
        // A bare entry is tried whole first: user ids may contain `:`.
        self.exempt.iter().any(|e| {
            e == user
                || e.split_once(':')
                    .is_some_and(|(c, u)| c == channel && u == user)
        })
    }

    /// The refusal for `event` at `unix_secs`, if quiet hours apply (pure).
    pub fn refusal(&self, event: &HookEvent, unix_secs: i64) -> Option<&str> {
        let applies = event.kind == EventKind::BeforeInbound
            && !self.is_exempt(&event.channel, &event.user_id)
            && in_span(local_minute(unix_secs, self.offset), self.start, self.end);
        applies.then_some(self.message.as_str())
    }
}

#[cfg(target_arch = "wasm32")]
mod component {
    use std::time::{SystemTime, UNIX_EPOCH};

    use ironclaw_sdk::hook::{Guest, HookEvent, HookResult, Registration};
    use ironclaw_sdk::{config, log};

    use crate::{DEFAULT_PRIORITY, parse};

    fn setting(key: &str) -> Option<String> {
        config::get(key)
            .ok()
            .flatten()
            .filter(|v| !v.trim().is_empty())
    }

    struct QuietHours;

    impl Guest for QuietHours {
        fn register() -> Registration {
            let (events, priority) = match parse(&setting) {
                Ok(Some(s)) => (s.events(), s.priority),
                Ok(None) => (Vec::new(), DEFAULT_PRIORITY),
                Err(e) => {
                    log::warn(&format!("quiet-hours is off: {e}"));
                    (Vec::new(), DEFAULT_PRIORITY)
                }
            };
            Registration { events, priority }
        }

        fn on_event(event: HookEvent) -> Result<HookResult, String> {
            let Some(s) = parse(&setting)? else {
                return Ok(HookResult::Continue);
            };
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_err(|_| "the clock is before 1970".to_string())?;
            let secs = i64::try_from(now.as_secs()).map_err(|_| "the clock is past 2^63 s")?;
            Ok(match s.refusal(&event, secs) {
                Some(message) => HookResult::Reject(message.to_string()),
                None => HookResult::Continue,
            })
        }
    }

    ironclaw_sdk::hook::export!(QuietHours);
}

#[cfg(test)]
mod tests;

//! The tools' logic, free of the SDK bindings so it runs in native unit tests.
//!
//! Every function here takes the current time as an argument instead of
//! reading a clock, and returns [`Error`] rather than panicking on any input.

use std::fmt::{Display, Write as _};
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::format::{Item, StrftimeItems};
use chrono::{
    DateTime, FixedOffset, LocalResult, NaiveDateTime, Offset, SecondsFormat, TimeZone, Utc,
};
use chrono_tz::Tz;
use ironclaw_sdk::params::type_name;
use serde::Deserialize;
use serde_json::{Value, json};

/// Why a call failed; `lib.rs` maps each to the WIT `tool-error` of the same name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    InvalidParams(String),
    UnknownTool(String),
    Failed(String),
}

fn invalid(message: impl Into<String>) -> Error {
    Error::InvalidParams(message.into())
}

/// A tool this component offers: name, description, JSON Schema of its parameters.
pub struct ToolSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub schema: Value,
}

const TIMEZONE_DESCRIPTION: &str = "IANA time zone name, e.g. \"UTC\", \"Europe/Paris\", \"Asia/Kolkata\" (matched case-insensitively)";
const FORMAT_DESCRIPTION: &str = "strftime format string (chrono syntax), e.g. \"%Y-%m-%d %H:%M:%S %Z\" or \"%A %-d %B %Y\"; \
     use %% for a literal %";

/// The three tools, in the order `describe` lists them.
pub fn tools() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: "time_now",
            description: "Returns the current time in a time zone (default UTC): RFC 3339 with \
                 milliseconds, unix milliseconds, and optionally a strftime-formatted string.",
            schema: json!({
                "type": "object",
                "properties": {
                    "timezone": { "type": "string", "description": TIMEZONE_DESCRIPTION, "default": "UTC" },
                    "format": { "type": "string", "description": FORMAT_DESCRIPTION }
                },
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "time_format",
            description: "Formats a timestamp with a strftime format. The time is shown in \
                 `timezone` when given; otherwise an RFC 3339 timestamp keeps its own offset \
                 and unix seconds are shown in UTC.",
            schema: json!({
                "type": "object",
                "properties": {
                    "timestamp": {
                        "type": ["string", "number"],
                        "description": "RFC 3339 timestamp (e.g. \"2024-05-01T12:00:00+02:00\") or unix seconds (number, fractions allowed)"
                    },
                    "format": { "type": "string", "description": FORMAT_DESCRIPTION },
                    "timezone": { "type": "string", "description": TIMEZONE_DESCRIPTION }
                },
                "required": ["timestamp", "format"],
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "time_convert",
            description: "Converts a time to another time zone. `timestamp` is RFC 3339 (its offset \
                 is used and `from` is ignored) or a local wall-clock time \"YYYY-MM-DD HH:MM[:SS]\" \
                 in zone `from`. An offset with seconds (local mean time, before about 1900) is written \
                 \"+HH:MM:SS\" rather than rounded. A local time that is ambiguous (clocks go back) or does not exist \
                 (clocks go forward) in `from` is an error listing the alternatives; nothing is guessed.",
            schema: json!({
                "type": "object",
                "properties": {
                    "timestamp": {
                        "type": "string",
                        "description": "RFC 3339 timestamp with offset, or local time \"YYYY-MM-DD HH:MM\" / \"YYYY-MM-DD HH:MM:SS\" (a 'T' separator is accepted too)"
                    },
                    "from": {
                        "type": "string",
                        "description": "IANA zone the local timestamp is in; required when the timestamp has no offset, ignored when it has one"
                    },
                    "to": { "type": "string", "description": "IANA zone to convert to" }
                },
                "required": ["timestamp", "to"],
                "additionalProperties": false
            }),
        },
    ]
}

/// Runs tool `name` with JSON `params`, `now` being the current time.
pub fn execute(name: &str, params: &str, now: DateTime<Utc>) -> Result<Value, Error> {
    match name {
        "time_now" => time_now(parse(params)?, now),
        "time_format" => time_format(parse(params)?),
        "time_convert" => time_convert(parse(params)?),
        other => Err(Error::UnknownTool(other.to_string())),
    }
}

fn parse<T: serde::de::DeserializeOwned>(params: &str) -> Result<T, Error> {
    serde_json::from_str(params).map_err(|e| invalid(format!("parameters: {e}")))
}

/// The current time from the system clock (wasi:clocks/wall-clock in a component).
pub fn now_from(t: SystemTime) -> Result<DateTime<Utc>, Error> {
    let since = t
        .duration_since(UNIX_EPOCH)
        .map_err(|_| Error::Failed("the system clock is before 1970".to_string()))?;
    i64::try_from(since.as_secs())
        .ok()
        .and_then(|secs| DateTime::from_timestamp(secs, since.subsec_nanos()))
        .ok_or_else(|| Error::Failed("the system clock is out of range".to_string()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NowParams {
    #[serde(default)]
    timezone: Option<String>,
    #[serde(default)]
    format: Option<String>,
}

fn time_now(p: NowParams, now: DateTime<Utc>) -> Result<Value, Error> {
    let tz = match &p.timezone {
        Some(name) => parse_zone(name)?,
        None => Tz::UTC,
    };
    let items = p.format.as_deref().map(parse_format).transpose()?;
    let local = now.with_timezone(&tz);
    let mut out = json!({
        "iso": iso(&local, SecondsFormat::Millis),
        "unix_ms": now.timestamp_millis(),
        "timezone": tz.name(),
    });
    if let Some(items) = items {
        out["formatted"] = Value::String(format_items(&local, &items)?);
    }
    Ok(out)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FormatParams {
    timestamp: Value,
    format: String,
    #[serde(default)]
    timezone: Option<String>,
}

fn time_format(p: FormatParams) -> Result<Value, Error> {
    let items = parse_format(&p.format)?;
    let (instant, had_offset) = parse_instant(&p.timestamp)?;
    let formatted = match (&p.timezone, had_offset) {
        (Some(name), _) => format_items(&instant.with_timezone(&parse_zone(name)?), &items)?,
        (None, true) => format_items(&instant, &items)?,
        (None, false) => format_items(&instant.with_timezone(&Tz::UTC), &items)?,
    };
    Ok(json!({ "formatted": formatted }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConvertParams {
    timestamp: String,
    #[serde(default)]
    from: Option<String>,
    to: String,
}

fn time_convert(p: ConvertParams) -> Result<Value, Error> {
    let to = parse_zone(&p.to)?;
    // An unknown `from` is reported even when the timestamp's offset makes it unused.
    let from = p.from.as_deref().map(parse_zone).transpose()?;
    let text = p.timestamp.trim();
    let instant = match DateTime::parse_from_rfc3339(text) {
        Ok(dt) => dt.with_timezone(&Utc),
        Err(rfc_err) => {
            let Some(naive) = parse_local(text) else {
                return Err(invalid(format!(
                    "timestamp \"{text}\" is neither RFC 3339 ({rfc_err}) nor a local time \
                     \"YYYY-MM-DD HH:MM[:SS]\""
                )));
            };
            let Some(from) = from else {
                return Err(invalid(format!(
                    "timestamp \"{text}\" has no UTC offset: give \"from\" (the IANA zone it is \
                     local to) or an RFC 3339 timestamp with an offset"
                )));
            };
            resolve_local(&naive, from)?
        }
    };
    let converted = instant.with_timezone(&to);
    Ok(json!({
        "iso": iso(&converted, SecondsFormat::AutoSi),
        "timezone": to.name(),
        "utc_offset": offset_string(converted.offset().fix().local_minus_utc()),
    }))
}

/// Looks up an IANA zone: exact name first, then ignoring ASCII case.
pub fn parse_zone(name: &str) -> Result<Tz, Error> {
    let name = name.trim();
    if let Ok(tz) = name.parse::<Tz>() {
        return Ok(tz);
    }
    chrono_tz::TZ_VARIANTS
        .iter()
        .find(|tz| tz.name().eq_ignore_ascii_case(name))
        .copied()
        .ok_or_else(|| {
            invalid(format!(
                "unknown time zone \"{name}\": expected an IANA name such as \"UTC\", \
                 \"Europe/Paris\" or \"America/New_York\""
            ))
        })
}

/// Parses a strftime format; an unknown or incomplete specifier is an error, never a panic.
pub fn parse_format(format: &str) -> Result<Vec<Item<'_>>, Error> {
    StrftimeItems::new(format).parse().map_err(|_| {
        let detail = match bad_specifier(format) {
            Some(spec) => format!("unknown or incomplete specifier \"{spec}\""),
            None => "unknown or incomplete specifier".to_string(),
        };
        invalid(format!(
            "invalid strftime format \"{format}\": {detail} (use %% for a literal %)"
        ))
    })
}

/// The first `%…` specifier chrono rejects, for the error message.
fn bad_specifier(format: &str) -> Option<String> {
    let starts: Vec<usize> = format.match_indices('%').map(|(i, _)| i).collect();
    let mut k = 0;
    while k < starts.len() {
        let start = starts[k];
        if format[start + 1..].starts_with('%') {
            k += 2;
            continue;
        }
        let end = starts.get(k + 1).copied().unwrap_or(format.len());
        let segment = &format[start..end];
        if StrftimeItems::new(segment).parse().is_err() {
            // The specifier itself: '%', padding/width modifiers, then one character.
            let modifiers = segment[1..]
                .chars()
                .take_while(|c| "-_0123456789.:#".contains(*c))
                .count();
            let spec: String = segment.chars().take(modifiers + 2).collect();
            return Some(spec);
        }
        k += 1;
    }
    None
}

fn format_items<Z>(dt: &DateTime<Z>, items: &[Item<'_>]) -> Result<String, Error>
where
    Z: TimeZone,
    Z::Offset: Display,
{
    let mut out = String::new();
    write!(out, "{}", dt.format_with_items(items.iter()))
        .map_err(|_| invalid("the format could not be applied to this time"))?;
    Ok(out)
}

/// Reads `timestamp` as RFC 3339 or unix seconds; the flag says whether it carried an offset.
fn parse_instant(value: &Value) -> Result<(DateTime<FixedOffset>, bool), Error> {
    match value {
        Value::Number(n) => {
            let dt = if let Some(secs) = n.as_i64() {
                DateTime::from_timestamp(secs, 0)
            } else {
                n.as_f64().and_then(from_unix_f64)
            };
            dt.map(|dt| (dt.fixed_offset(), false))
                .ok_or_else(|| invalid(format!("timestamp {n} is out of range")))
        }
        Value::String(s) => {
            let s = s.trim();
            match DateTime::parse_from_rfc3339(s) {
                Ok(dt) => Ok((dt, true)),
                Err(e) => match s.parse::<f64>() {
                    Ok(secs)
                        if !s.is_empty()
                            && s.bytes()
                                .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-') =>
                    {
                        let dt = match s.parse::<i64>() {
                            Ok(secs) => DateTime::from_timestamp(secs, 0),
                            Err(_) => from_unix_f64(secs),
                        };
                        dt.map(|dt| (dt.fixed_offset(), false))
                            .ok_or_else(|| invalid(format!("timestamp {s} is out of range")))
                    }
                    _ => Err(invalid(format!(
                        "timestamp \"{s}\" is not RFC 3339 (e.g. \"2024-05-01T12:00:00Z\"): {e}"
                    ))),
                },
            }
        }
        other => Err(invalid(format!(
            "timestamp must be an RFC 3339 string or unix seconds, not {}",
            type_name(other)
        ))),
    }
}

fn from_unix_f64(secs: f64) -> Option<DateTime<Utc>> {
    // chrono's range is about ±262,000 years (~8.3e12 s); this also rejects NaN and infinities.
    if !secs.is_finite() || secs.abs() >= 1e14 {
        return None;
    }
    let whole = secs.floor();
    let nanos = ((secs - whole) * 1e9).round().clamp(0.0, 999_999_999.0) as u32;
    DateTime::from_timestamp(whole as i64, nanos)
}

/// "YYYY-MM-DD HH:MM[:SS[.fff]]", with ' ' or 'T' between date and time.
fn parse_local(text: &str) -> Option<NaiveDateTime> {
    const FORMATS: [&str; 4] = [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ];
    FORMATS
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
}

/// The instant a local wall-clock time in `zone` denotes; DST folds and gaps are errors.
fn resolve_local(naive: &NaiveDateTime, zone: Tz) -> Result<DateTime<Utc>, Error> {
    match zone.from_local_datetime(naive) {
        LocalResult::Single(dt) => Ok(dt.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, b) => Err(invalid(format!(
            "local time {naive} is ambiguous in {zone} (the clocks go back then): it is either \
             {} ({}) or {} ({}); pass one of these RFC 3339 timestamps instead",
            iso(&a, SecondsFormat::AutoSi),
            a.format("%Z"),
            iso(&b, SecondsFormat::AutoSi),
            b.format("%Z"),
        ))),
        LocalResult::None => Err(invalid(format!(
            "local time {naive} does not exist in {zone}: the clocks skip over it (daylight-saving \
             change); pass an RFC 3339 timestamp with an explicit offset instead"
        ))),
    }
}

/// RFC 3339 with a numeric offset. RFC 3339 offsets have no seconds and chrono
/// rounds them to the minute, which would name another instant; an offset with
/// seconds (local mean time, before about 1900) is written in full instead.
fn iso<Z: TimeZone>(dt: &DateTime<Z>, precision: SecondsFormat) -> String {
    let text = dt.to_rfc3339_opts(precision, false);
    let offset = dt.offset().fix().local_minus_utc();
    if offset % 60 == 0 {
        return text;
    }
    match text.len().checked_sub("+00:00".len()) {
        Some(cut) if text.is_char_boundary(cut) => {
            format!("{}{}", &text[..cut], offset_string(offset))
        }
        _ => text,
    }
}

/// "+05:30"; "+00:53:28" when the offset has seconds (old local mean times).
pub fn offset_string(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let abs = seconds.unsigned_abs();
    let (h, m, s) = (abs / 3600, abs % 3600 / 60, abs % 60);
    if s == 0 {
        format!("{sign}{h:02}:{m:02}")
    } else {
        format!("{sign}{h:02}:{m:02}:{s:02}")
    }
}

#[cfg(test)]
mod tests;

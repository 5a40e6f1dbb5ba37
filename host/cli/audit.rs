//! `ironclaw audit`: read the audit trail (DESIGN §5) — every outbound
//! request, db write, denial and leak block, with the component that did it.
//!
//! Records print oldest first (the newest `--limit` of those that match), one
//! line each: time (UTC), actor, action, and the detail summarised per action
//! (`GET host/path → 200` for an HTTP request, the key and size for a db
//! write). `--json` prints the same records as one JSON array, with the
//! detail parsed. Guest-chosen text (db keys, paths) is printed with control
//! characters escaped, so a record cannot rewrite the owner's terminal.

use clap::Args;
use serde_json::{Value, json};

use super::{CliError, Context};
use crate::store::domains::AuditRecord;
use crate::store::domains::audit::AuditQuery;
use crate::store::now_ms;

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only records of this actor: a component's name, `owner` or `host`.
    #[arg(long, value_name = "NAME")]
    pub component: Option<String>,
    /// Only records at or after T: an RFC 3339 time (2026-11-21T08:00:00Z),
    /// a date (2026-11-21, from midnight UTC), or an age (90s, 30m, 1h, 7d, 2w).
    #[arg(long, value_name = "T")]
    pub since: Option<String>,
    /// Only actions starting with A (`db.`, `http.request`, `db.leak-blocked`).
    #[arg(long, value_name = "A")]
    pub action: Option<String>,
    /// At most this many records (the newest).
    #[arg(long, value_name = "N", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub limit: u32,
    /// Print the records as a JSON array.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(ctx: &Context, args: AuditArgs) -> Result<(), CliError> {
    let since_ms = args
        .since
        .as_deref()
        .map(|t| parse_since(t, now_ms()))
        .transpose()
        .map_err(CliError::Usage)?;
    let db = super::db::open(ctx).await?;
    db.migrate()
        .await
        .map_err(|e| CliError::Failed(e.to_string()))?;
    let query = AuditQuery {
        actor: args.component.as_deref(),
        since_ms,
        action_prefix: args.action.as_deref(),
        limit: args.limit as usize,
    };
    let mut records = db
        .audit()
        .query(&query)
        .await
        .map_err(|e| CliError::Failed(e.to_string()))?;
    // The store answers newest first (so the limit keeps the newest); a
    // trail reads oldest first.
    records.reverse();
    if args.json {
        let rows: Vec<Value> = records.iter().map(as_json).collect();
        println!("{}", Value::Array(rows));
        return Ok(());
    }
    if records.is_empty() {
        eprintln!("no audit records match");
    }
    for r in &records {
        println!(
            "{}  {:<16} {:<22} {}",
            format_utc(r.at),
            printable(&r.actor),
            printable(&r.action),
            summary(&r.action, &r.detail)
        );
    }
    Ok(())
}

fn as_json(r: &AuditRecord) -> Value {
    let detail = serde_json::from_str::<Value>(&r.detail).unwrap_or_else(|_| json!(r.detail));
    json!({
        "id": r.id,
        "at": r.at,
        "time": format_utc(r.at),
        "actor": r.actor,
        "action": r.action,
        "detail": detail,
    })
}

/// A field of the detail as text, for a summary.
fn field(detail: &Value, name: &str) -> String {
    match detail.get(name) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => printable(s),
        Some(other) => printable(&other.to_string()),
    }
}

/// One line for people: the detail's fields that matter for `action`.
/// Unknown actions (and details that are not JSON objects) print their
/// fields as `name=value`, without the version and digest every component
/// record carries.
fn summary(action: &str, detail: &str) -> String {
    let Ok(d @ Value::Object(_)) = serde_json::from_str::<Value>(detail) else {
        return printable(detail);
    };
    let f = |name| field(&d, name);
    let place = format!("{}{}", f("host"), f("path"));
    match action {
        "http.request" => {
            let outcome = match (f("status"), f("error")) {
                (status, _) if !status.is_empty() => status,
                (_, error) if !error.is_empty() => format!("failed: {error}"),
                _ => "no response".to_string(),
            };
            let mut line = format!("{} {place} → {outcome}", f("method"));
            let secrets = f("secrets");
            if !secrets.is_empty() && secrets != "[]" {
                line.push_str(&format!(" (secrets {secrets})"));
            }
            line
        }
        "http.denied" | "http.leak-blocked" => format!("{place}: {}", f("reason")),
        "http.response-redacted" => place,
        "db.set" => format!("{} ({} bytes)", f("key"), f("bytes")),
        "db.delete" => {
            let existed = if f("existed") == "true" {
                "existed"
            } else {
                "absent"
            };
            format!("{} ({existed})", f("key"))
        }
        "db.denied" | "db.leak-blocked" => format!("{}: {}", f("op"), f("reason")),
        "db.limited" => format!("{} bytes needed, quota {}", f("needed"), f("quota")),
        _ => generic(&d),
    }
}

fn generic(detail: &Value) -> String {
    let Value::Object(map) = detail else {
        return printable(&detail.to_string());
    };
    map.iter()
        .filter(|(k, _)| k.as_str() != "version" && k.as_str() != "digest")
        .map(|(k, _)| format!("{}={}", printable(k), field(detail, k)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `text` with control characters escaped (`\u{1b}`), so that what a guest
/// chose (a db key, a URL path) cannot move the cursor or recolour the
/// owner's terminal.
fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

const DAY_MS: i64 = 86_400_000;

/// `--since` as milliseconds since the epoch; `now` is the current time
/// (a parameter so tests can fix it). The error says which forms work.
fn parse_since(text: &str, now: i64) -> Result<i64, String> {
    let t = text.trim();
    let parsed = age(t)
        .map(|ms| now.saturating_sub(ms))
        .or_else(|| date(t).map(|days| days * DAY_MS))
        .or_else(|| rfc3339(t));
    parsed.ok_or_else(|| {
        format!(
            "--since `{}`: expected an RFC 3339 time (2026-11-21T08:00:00Z), a date \
             (2026-11-21) or an age such as 90s, 30m, 1h, 7d, 2w",
            printable(text)
        )
    })
}

/// `30m`, `1h`, `7d`: milliseconds.
fn age(t: &str) -> Option<i64> {
    let unit_at = t.find(|c: char| !c.is_ascii_digit())?;
    let (digits, unit) = t.split_at(unit_at);
    let n: i64 = digits.parse().ok()?;
    let unit_ms = match unit {
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => DAY_MS,
        "w" => 7 * DAY_MS,
        _ => return None,
    };
    n.checked_mul(unit_ms)
}

/// `YYYY-MM-DD`: days since the epoch.
fn date(t: &str) -> Option<i64> {
    let b = t.as_bytes();
    // ASCII only, so the slices below fall on character boundaries.
    if !t.is_ascii() || b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = number(&t[0..4])?;
    let month = number(&t[5..7])?;
    let day = number(&t[8..10])?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    Some(crate::civil::days_from_civil(year, month, day))
}

/// `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)` (`t` or a space for `T`, `z`
/// for `Z`, as RFC 3339 allows): milliseconds since the epoch.
fn rfc3339(t: &str) -> Option<i64> {
    let days = date(t.get(..10)?)?;
    let rest = t.get(10..)?;
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    let b = rest.as_bytes();
    // ASCII only, so the slices below fall on character boundaries.
    if !rest.is_ascii() || b.len() < 9 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let (hour, minute, second) = (
        number(&rest[0..2])?,
        number(&rest[3..5])?,
        number(&rest[6..8])?,
    );
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &rest[8..];
    let mut millis = 0;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(frac.len());
        if digits == 0 {
            return None;
        }
        // Milliseconds: the first three digits, padded.
        let ms: String = frac[..digits].chars().chain("00".chars()).take(3).collect();
        millis = number(&ms)?;
        rest = &frac[digits..];
    }
    let offset_min = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.get(..1)? {
                "+" => 1,
                "-" => -1,
                _ => return None,
            };
            let b = rest.as_bytes();
            if b.len() != 6 || b[3] != b':' {
                return None;
            }
            let (h, m) = (number(&rest[1..3])?, number(&rest[4..6])?);
            if h > 23 || m > 59 {
                return None;
            }
            sign * (h * 60 + m)
        }
    };
    // A leap second counts as the last second of its minute.
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second.min(59) - offset_min * 60;
    Some(seconds * 1000 + millis)
}

/// Digits only (no sign, no spaces).
fn number(t: &str) -> Option<i64> {
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `YYYY-MM-DD HH:MM:SSZ` (UTC) from milliseconds since the epoch.
fn format_utc(ms: i64) -> String {
    let (date, rem) = crate::civil::utc_date_and_seconds(ms);
    format!(
        "{date} {:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_763_739_000_000; // 2025-11-21 15:30:00Z

    #[test]
    fn ages_count_back_from_now() {
        assert_eq!(parse_since("90s", NOW), Ok(NOW - 90_000));
        assert_eq!(parse_since("30m", NOW), Ok(NOW - 1_800_000));
        assert_eq!(parse_since("1h", NOW), Ok(NOW - 3_600_000));
        assert_eq!(parse_since("7d", NOW), Ok(NOW - 7 * DAY_MS));
        assert_eq!(parse_since("2w", NOW), Ok(NOW - 14 * DAY_MS));
        for bad in [
            "h",
            "1",
            "1y",
            "-1h",
            "1.5h",
            "1h30m",
            "",
            "99999999999999999999d",
        ] {
            assert!(parse_since(bad, NOW).is_err(), "{bad}");
        }
    }

    #[test]
    fn dates_start_at_midnight_utc() {
        assert_eq!(parse_since("1970-01-01", NOW), Ok(0));
        assert_eq!(parse_since("2000-02-29", NOW), Ok(951_782_400_000));
        assert_eq!(
            parse_since("2025-11-21", NOW),
            Ok(NOW - 15 * 3_600_000 - 1_800_000)
        );
        for bad in [
            "2025-02-29",
            "2025-13-01",
            "2025-00-10",
            "2025-1-01",
            "25-11-21",
        ] {
            assert!(parse_since(bad, NOW).is_err(), "{bad}");
        }
    }

    #[test]
    fn rfc3339_times_with_offsets_and_fractions() {
        assert_eq!(parse_since("2025-11-21T15:30:00Z", NOW), Ok(NOW));
        assert_eq!(parse_since("2025-11-21t15:30:00z", NOW), Ok(NOW));
        assert_eq!(parse_since("2025-11-21 15:30:00Z", NOW), Ok(NOW));
        assert_eq!(parse_since("2025-11-21T17:30:00+02:00", NOW), Ok(NOW));
        assert_eq!(parse_since("2025-11-21T10:00:00-05:30", NOW), Ok(NOW));
        assert_eq!(parse_since("2025-11-21T15:30:00.25Z", NOW), Ok(NOW + 250));
        assert_eq!(
            parse_since("2025-11-21T15:30:00.123456Z", NOW),
            Ok(NOW + 123)
        );
        for bad in [
            "2025-11-21T15:30:00",
            "2025-11-21T25:00:00Z",
            "2025-11-21T15:30Z",
            "2025-11-21T15:30:00.Z",
            "2025-11-21T15:30:00+0200",
        ] {
            assert!(parse_since(bad, NOW).is_err(), "{bad}");
        }
    }

    #[test]
    fn times_print_in_utc_to_the_second() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00Z");
        assert_eq!(format_utc(NOW + 59_999), "2025-11-21 15:30:59Z");
        assert_eq!(format_utc(951_782_400_000), "2000-02-29 00:00:00Z");
        for days in [-1000, 0, 11_016, 20_413, 100_000] {
            let t = days * DAY_MS;
            assert_eq!(parse_since(&format_utc(t)[..10], NOW), Ok(t));
        }
    }

    #[test]
    fn summaries_pick_the_fields_that_matter() {
        let http = r#"{"method":"GET","host":"api.example.com","path":"/v1/x","status":200,"secrets":["API_KEY"],"version":"1","digest":"d"}"#;
        assert_eq!(
            summary("http.request", http),
            r#"GET api.example.com/v1/x → 200 (secrets ["API_KEY"])"#
        );
        let failed = r#"{"method":"POST","host":"h","path":"/","status":null,"error":"timed out","secrets":[]}"#;
        assert_eq!(
            summary("http.request", failed),
            "POST h/ → failed: timed out"
        );
        assert_eq!(summary("db.set", r#"{"key":"a","bytes":5}"#), "a (5 bytes)");
        assert_eq!(
            summary("db.delete", r#"{"key":"a","existed":false}"#),
            "a (absent)"
        );
        assert_eq!(
            summary(
                "component.install",
                r#"{"name":"x","version":"1","digest":"d"}"#
            ),
            "name=x"
        );
        assert_eq!(summary("odd", "not json"), "not json");
    }

    #[test]
    fn control_characters_are_escaped() {
        let key = "evil\u{1b}[2J\nkey";
        let line = summary("db.set", &json!({"key": key, "bytes": 1}).to_string());
        assert!(!line.chars().any(char::is_control), "{line:?}");
        assert!(line.contains("\\u{1b}[2J\\nkey"), "{line}");
    }
}

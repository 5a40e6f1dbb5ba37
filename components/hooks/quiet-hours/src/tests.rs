use std::collections::BTreeMap;

use ironclaw_sdk::hook::{EventKind, HookEvent};

use crate::{DEFAULT_PRIORITY, Settings, clock, hhmm, in_span, local_minute, parse, utc_offset};

fn settings(pairs: &[(&str, &str)]) -> Result<Option<Settings>, String> {
    let map: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    parse(&|k| map.get(k).cloned())
}

fn on(pairs: &[(&str, &str)]) -> Settings {
    settings(pairs).unwrap().expect("enabled")
}

fn inbound(channel: &str, user: &str) -> HookEvent {
    HookEvent {
        kind: EventKind::BeforeInbound,
        channel: channel.into(),
        user_id: user.into(),
        thread_id: None,
        content: Some("hello".into()),
        tool_name: None,
        tool_params: None,
    }
}

/// Unix seconds of 2025-01-15 at `h:m` UTC.
fn at(h: i64, m: i64) -> i64 {
    1_736_899_200 + h * 3600 + m * 60
}

#[test]
fn inert_without_start_and_end() {
    assert_eq!(settings(&[]).unwrap(), None);
    assert_eq!(
        settings(&[("utc-offset", "+01:00"), ("message", "shh")]).unwrap(),
        None
    );
    assert!(settings(&[("start", "22:00")]).is_err());
    assert!(settings(&[("end", "07:00")]).is_err());
}

#[test]
fn defaults() {
    let s = on(&[("start", "22:00"), ("end", "7:00")]);
    assert_eq!((s.start, s.end, s.offset), (22 * 60, 7 * 60, 0));
    assert_eq!(s.priority, DEFAULT_PRIORITY);
    assert_eq!(s.events(), vec![EventKind::BeforeInbound]);
    assert_eq!(
        s.message,
        "Quiet hours (22:00–07:00): your message was not processed; try again after 07:00."
    );
}

#[test]
fn custom_message_with_placeholders() {
    let s = on(&[
        ("start", "23:30"),
        ("end", "06:15"),
        (
            "message",
            "Sleeping until {end} (since {start}). {unknown} stays.",
        ),
    ]);
    assert_eq!(
        s.message,
        "Sleeping until 06:15 (since 23:30). {unknown} stays."
    );
}

#[test]
fn clock_parsing() {
    assert_eq!(clock("start", "00:00"), Ok(0));
    assert_eq!(clock("start", "7:05"), Ok(425));
    assert_eq!(clock("start", " 23:59 "), Ok(1439));
    assert_eq!(clock("end", "24:00"), Ok(0));
    for bad in [
        "", "7", "7:5", "24:01", "25:00", "12:60", "-1:00", "12:00:00", "ab:cd", "+1:00", "007:00",
    ] {
        assert!(clock("start", bad).is_err(), "{bad:?}");
    }
    assert_eq!(hhmm(425), "07:05");
}

#[test]
fn offset_parsing() {
    for (text, minutes) in [
        ("+01:00", 60),
        ("-05:30", -330),
        ("+0530", 330),
        ("+1", 60),
        ("-11", -660),
        ("UTC+2", 120),
        ("GMT-03:00", -180),
        ("UTC", 0),
        ("Z", 0),
        ("+00:00", 0),
        ("+14:00", 840),
    ] {
        assert_eq!(utc_offset("utc-offset", text), Ok(minutes), "{text}");
    }
    for bad in [
        "01:00",
        "+15:00",
        "+01:60",
        "+1é1",
        "+",
        "++1",
        "+123",
        "Europe/Paris",
        "+01:00:00",
    ] {
        assert!(utc_offset("utc-offset", bad).is_err(), "{bad:?}");
    }
}

#[test]
fn timezone_setting() {
    let base = [("start", "22:00"), ("end", "07:00")];
    let with = |k: &'static str, v: &'static str| {
        let mut p = base.to_vec();
        p.push((k, v));
        settings(&p)
    };
    assert_eq!(with("timezone", "UTC").unwrap().unwrap().offset, 0);
    assert_eq!(with("timezone", "+02:00").unwrap().unwrap().offset, 120);
    let err = with("timezone", "Europe/Paris").unwrap_err();
    assert!(err.contains("utc-offset"), "{err}");
    let mut both = base.to_vec();
    both.extend([("timezone", "UTC"), ("utc-offset", "+01:00")]);
    assert!(settings(&both).is_err());
}

#[test]
fn bad_settings_are_errors() {
    assert!(settings(&[("start", "22:00"), ("end", "22:00")]).is_err());
    assert!(settings(&[("start", "late"), ("end", "07:00")]).is_err());
    assert!(settings(&[("start", "22:00"), ("end", "07:00"), ("priority", "x")]).is_err());
}

#[test]
fn span_wrapping_midnight() {
    let (s, e) = (22 * 60, 7 * 60);
    for (minute, quiet) in [
        (21 * 60 + 59, false),
        (22 * 60, true),
        (23 * 60 + 59, true),
        (0, true),
        (3 * 60, true),
        (6 * 60 + 59, true),
        (7 * 60, false),
        (12 * 60, false),
    ] {
        assert_eq!(in_span(minute, s, e), quiet, "{}", hhmm(minute));
    }
}

#[test]
fn span_within_a_day() {
    let (s, e) = (13 * 60, 14 * 60 + 30);
    assert!(!in_span(12 * 60 + 59, s, e));
    assert!(in_span(13 * 60, s, e));
    assert!(in_span(14 * 60 + 29, s, e));
    assert!(!in_span(14 * 60 + 30, s, e));
    // Ending at midnight ("24:00" or "00:00").
    assert!(in_span(23 * 60 + 59, 20 * 60, 0));
    assert!(!in_span(0, 20 * 60, 0));
    // Starting at midnight.
    assert!(in_span(0, 0, 6 * 60));
    assert!(!in_span(6 * 60, 0, 6 * 60));
}

#[test]
fn local_minute_with_offsets() {
    assert_eq!(local_minute(at(21, 30), 0), 21 * 60 + 30);
    assert_eq!(local_minute(at(21, 30), 60), 22 * 60 + 30);
    // Across midnight both ways.
    assert_eq!(local_minute(at(23, 30), 90), 60);
    assert_eq!(local_minute(at(0, 30), -60), 23 * 60 + 30);
    assert_eq!(local_minute(at(5, 0), -330), 23 * 60 + 30);
    // Seconds within a minute do not matter; before 1970 still works.
    assert_eq!(local_minute(at(10, 0) + 59, 0), 600);
    assert_eq!(local_minute(-60, 0), 23 * 60 + 59);
}

#[test]
fn refusal_during_quiet_hours_only() {
    let s = on(&[
        ("start", "22:00"),
        ("end", "07:00"),
        ("utc-offset", "+01:00"),
    ]);
    let e = inbound("telegram", "42");
    // 21:30 UTC is 22:30 local: quiet.
    assert_eq!(s.refusal(&e, at(21, 30)), Some(s.message.as_str()));
    // 20:59 UTC is 21:59 local: not yet.
    assert_eq!(s.refusal(&e, at(20, 59)), None);
    // 05:59 UTC is 06:59 local: still quiet; 06:00 UTC is 07:00: over.
    assert!(s.refusal(&e, at(5, 59)).is_some());
    assert_eq!(s.refusal(&e, at(6, 0)), None);
    // Only inbound messages are refused.
    let mut out = inbound("telegram", "42");
    out.kind = EventKind::BeforeOutbound;
    assert_eq!(s.refusal(&out, at(23, 0)), None);
}

#[test]
fn exempt_users_are_never_refused() {
    let s = on(&[
        ("start", "00:00"),
        ("end", "23:59"),
        ("exempt-users", "owner, slack:U1, @a:example.org"),
    ]);
    let t = at(12, 0);
    assert_eq!(s.refusal(&inbound("telegram", "owner"), t), None);
    assert_eq!(s.refusal(&inbound("slack", "U1"), t), None);
    assert!(s.refusal(&inbound("telegram", "U1"), t).is_some());
    assert_eq!(s.refusal(&inbound("matrix", "@a:example.org"), t), None);
    assert!(s.refusal(&inbound("telegram", "42"), t).is_some());
}

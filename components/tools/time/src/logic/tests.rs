use super::*;
use std::time::Duration;

fn now() -> DateTime<Utc> {
    // 2024-03-10T12:34:56.789Z
    DateTime::from_timestamp(1_710_074_096, 789_000_000).unwrap()
}

fn run(name: &str, params: Value) -> Result<Value, Error> {
    execute(name, &params.to_string(), now())
}

fn invalid_message(r: Result<Value, Error>) -> String {
    match r {
        Err(Error::InvalidParams(m)) => m,
        other => panic!("expected InvalidParams, got {other:?}"),
    }
}

#[test]
fn tools_have_closed_object_schemas() {
    let tools = tools();
    let names: Vec<_> = tools.iter().map(|t| t.name).collect();
    assert_eq!(names, ["time_now", "time_format", "time_convert"]);
    for t in &tools {
        assert_eq!(t.schema["type"], "object", "{}", t.name);
        assert_eq!(t.schema["additionalProperties"], false, "{}", t.name);
        for (prop, spec) in t.schema["properties"].as_object().unwrap() {
            assert!(spec["description"].is_string(), "{}.{prop}", t.name);
        }
    }
}

#[test]
fn unknown_tool() {
    assert_eq!(
        run("time_travel", json!({})),
        Err(Error::UnknownTool("time_travel".into()))
    );
}

#[test]
fn zones_exact_and_case_insensitive() {
    assert_eq!(parse_zone("Europe/Paris"), Ok(Tz::Europe__Paris));
    assert_eq!(parse_zone("europe/paris"), Ok(Tz::Europe__Paris));
    assert_eq!(parse_zone(" utc "), Ok(Tz::UTC));
    assert_eq!(
        parse_zone("America/Argentina/Buenos_Aires"),
        Ok(Tz::America__Argentina__Buenos_Aires)
    );
    let m = invalid_message(parse_zone("Mars/Olympus_Mons").map(|_| Value::Null));
    assert!(m.contains("\"Mars/Olympus_Mons\""), "{m}");
}

#[test]
fn formats_validated_without_panicking() {
    assert!(parse_format("%Y-%m-%d %H:%M:%S%.3f %Z %z %:z %A %-d %B").is_ok());
    assert!(parse_format("100%% done").is_ok());
    assert!(parse_format("").is_ok());
    for (bad, spec) in [
        ("%Q", "%Q"),
        ("%Y-%m-%", "%"),
        ("a %-Q b", "%-Q"),
        ("%%%", "%"),
        ("%Y %5", "%5"),
        ("%é", "%é"),
    ] {
        let m = invalid_message(parse_format(bad).map(|_| Value::Null));
        assert!(m.contains(&format!("specifier \"{spec}\"")), "{bad}: {m}");
    }
}

#[test]
fn now_default_utc() {
    let out = run("time_now", json!({})).unwrap();
    assert_eq!(
        out,
        json!({"iso": "2024-03-10T12:34:56.789+00:00", "unix_ms": 1_710_074_096_789_i64, "timezone": "UTC"})
    );
}

#[test]
fn now_in_zone_with_format() {
    let out = run(
        "time_now",
        json!({"timezone": "asia/kolkata", "format": "%d/%m/%Y %H:%M %Z"}),
    )
    .unwrap();
    assert_eq!(out["iso"], "2024-03-10T18:04:56.789+05:30");
    assert_eq!(out["timezone"], "Asia/Kolkata");
    assert_eq!(out["formatted"], "10/03/2024 18:04 IST");
    assert_eq!(out["unix_ms"], 1_710_074_096_789_i64);
}

#[test]
fn now_rejects_bad_input() {
    let m = invalid_message(run("time_now", json!({"timezone": "Nowhere"})));
    assert!(m.contains("\"Nowhere\""), "{m}");
    let m = invalid_message(run("time_now", json!({"format": "%Q"})));
    assert!(m.contains("%Q"), "{m}");
    let m = invalid_message(run("time_now", json!({"tz": "UTC"})));
    assert!(m.contains("unknown field `tz`"), "{m}");
    let m = invalid_message(execute("time_now", "not json", now()));
    assert!(m.starts_with("parameters:"), "{m}");
}

#[test]
fn format_unix_seconds() {
    let f = |params| run("time_format", params).map(|v| v["formatted"].clone());
    assert_eq!(
        f(json!({"timestamp": 0, "format": "%Y-%m-%dT%H:%M:%S %Z"})),
        Ok(json!("1970-01-01T00:00:00 UTC"))
    );
    assert_eq!(
        f(json!({"timestamp": -1, "format": "%Y-%m-%d %H:%M:%S"})),
        Ok(json!("1969-12-31 23:59:59"))
    );
    assert_eq!(
        f(json!({"timestamp": 1.5, "format": "%S%.3f"})),
        Ok(json!("01.500"))
    );
    assert_eq!(
        f(json!({"timestamp": "86400", "format": "%F"})),
        Ok(json!("1970-01-02"))
    );
    assert_eq!(
        f(
            json!({"timestamp": 1_710_074_096, "format": "%H:%M %Z", "timezone": "America/New_York"})
        ),
        Ok(json!("08:34 EDT"))
    );
}

#[test]
fn format_rfc3339_keeps_offset_unless_zone_given() {
    let f = |params| run("time_format", params).map(|v| v["formatted"].clone());
    assert_eq!(
        f(json!({"timestamp": "2024-05-01T12:00:00+02:00", "format": "%H:%M %:z"})),
        Ok(json!("12:00 +02:00"))
    );
    assert_eq!(
        f(
            json!({"timestamp": "2024-05-01T12:00:00+02:00", "format": "%H:%M %Z", "timezone": "Asia/Tokyo"})
        ),
        Ok(json!("19:00 JST"))
    );
    assert_eq!(
        f(json!({"timestamp": "2024-05-01T12:00:00Z", "format": "%A %-d %B %Y"})),
        Ok(json!("Wednesday 1 May 2024"))
    );
}

#[test]
fn format_rejects_bad_timestamps() {
    for (ts, needle) in [
        (json!("yesterday"), "not RFC 3339"),
        (json!("2024-13-01T00:00:00Z"), "not RFC 3339"),
        (json!(true), "not a boolean"),
        (json!(null), "not null"),
        (json!(1e300), "out of range"),
        (json!(u64::MAX), "out of range"),
        (json!("-9999999999999999"), "out of range"),
    ] {
        let m = invalid_message(run("time_format", json!({"timestamp": ts, "format": "%F"})));
        assert!(m.contains(needle), "{ts}: {m}");
    }
    let m = invalid_message(run("time_format", json!({"timestamp": 0})));
    assert!(m.contains("missing field `format`"), "{m}");
    let m = invalid_message(run(
        "time_format",
        json!({"timestamp": 0, "format": "%F", "timezone": "X"}),
    ));
    assert!(m.contains("\"X\""), "{m}");
}

#[test]
fn convert_rfc3339() {
    let out = run(
        "time_convert",
        json!({"timestamp": "2024-05-01T12:00:00Z", "to": "Asia/Kolkata"}),
    )
    .unwrap();
    assert_eq!(
        out,
        json!({"iso": "2024-05-01T17:30:00+05:30", "timezone": "Asia/Kolkata", "utc_offset": "+05:30"})
    );
    // The offset wins over `from`.
    let out = run(
        "time_convert",
        json!({"timestamp": "2024-05-01T12:00:00.250-03:00", "from": "Asia/Tokyo", "to": "UTC"}),
    )
    .unwrap();
    assert_eq!(out["iso"], "2024-05-01T15:00:00.250+00:00");
    assert_eq!(out["utc_offset"], "+00:00");
}

#[test]
fn convert_local_time() {
    let out = run(
        "time_convert",
        json!({"timestamp": "2024-07-01 09:00", "from": "America/New_York", "to": "Europe/London"}),
    )
    .unwrap();
    assert_eq!(
        out,
        json!({"iso": "2024-07-01T14:00:00+01:00", "timezone": "Europe/London", "utc_offset": "+01:00"})
    );
    let out = run(
        "time_convert",
        json!({"timestamp": "2024-01-15T23:59:30", "from": "Asia/Kathmandu", "to": "America/St_Johns"}),
    )
    .unwrap();
    assert_eq!(out["iso"], "2024-01-15T14:44:30-03:30");
    assert_eq!(out["utc_offset"], "-03:30");
}

#[test]
fn convert_requires_from_for_local_time() {
    let m = invalid_message(run(
        "time_convert",
        json!({"timestamp": "2024-07-01 09:00", "to": "UTC"}),
    ));
    assert!(
        m.contains("has no UTC offset") && m.contains("\"from\""),
        "{m}"
    );
    let m = invalid_message(run(
        "time_convert",
        json!({"timestamp": "July 1st", "from": "UTC", "to": "UTC"}),
    ));
    assert!(m.contains("neither RFC 3339"), "{m}");
    let m = invalid_message(run(
        "time_convert",
        json!({"timestamp": "2024-07-01T09:00:00Z", "from": "Atlantis", "to": "UTC"}),
    ));
    assert!(m.contains("\"Atlantis\""), "{m}");
}

#[test]
fn convert_ambiguous_local_time_is_an_error() {
    let m = invalid_message(run(
        "time_convert",
        json!({"timestamp": "2024-11-03 01:30", "from": "America/New_York", "to": "UTC"}),
    ));
    assert!(m.contains("ambiguous"), "{m}");
    assert!(m.contains("2024-11-03T01:30:00-04:00 (EDT)"), "{m}");
    assert!(m.contains("2024-11-03T01:30:00-05:00 (EST)"), "{m}");
}

#[test]
fn convert_nonexistent_local_time_is_an_error() {
    let m = invalid_message(run(
        "time_convert",
        json!({"timestamp": "2024-03-31 02:30:00", "from": "Europe/Paris", "to": "UTC"}),
    ));
    assert!(m.contains("does not exist in Europe/Paris"), "{m}");
}

#[test]
fn offsets_with_seconds() {
    assert_eq!(offset_string(0), "+00:00");
    assert_eq!(offset_string(19_800), "+05:30");
    assert_eq!(offset_string(-12_600), "-03:30");
    assert_eq!(offset_string(1_172), "+00:19:32");
    // Brussels' local mean time before 1880.
    let out = run(
        "time_convert",
        json!({"timestamp": "1800-01-01T00:00:00Z", "to": "Europe/Brussels"}),
    )
    .unwrap();
    assert_eq!(out["utc_offset"], "+00:17:30");
    assert_eq!(out["iso"], "1800-01-01T00:17:30+00:17:30");
}

#[test]
fn now_from_system_time() {
    let t = UNIX_EPOCH + Duration::from_millis(1_500);
    assert_eq!(now_from(t).unwrap().timestamp_millis(), 1_500);
    assert!(matches!(
        now_from(UNIX_EPOCH - Duration::from_secs(1)),
        Err(Error::Failed(_))
    ));
}

use std::collections::BTreeMap;

use ironclaw_sdk::hook::{EventKind, HookEvent, HookResult, Modification};
use serde_json::{Value, json};

use crate::checks::{iban_length, iban_mod97, luhn, ssn};
use crate::scan::{Kind, redact};
use crate::settings::{self, DEFAULT_PRIORITY, Settings};

fn parse(pairs: &[(&str, &str)]) -> Result<Option<Settings>, String> {
    let map: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    settings::parse(&|k| map.get(k).cloned())
}

fn on(pairs: &[(&str, &str)]) -> Settings {
    parse(pairs).unwrap().expect("enabled")
}

/// Everything redacted, as text (unchanged text comes back as it was).
fn all(text: &str) -> String {
    redact(text, &Kind::ALL).unwrap_or_else(|| text.to_string())
}

/// `HookResult` (generated) has no `PartialEq`: compare through this.
#[derive(Debug, PartialEq)]
enum Out {
    Continue,
    Content(String),
    Params(String),
    Reject(String),
}

fn judge(s: &Settings, e: &HookEvent) -> Out {
    match crate::judge(s, e) {
        HookResult::Continue => Out::Continue,
        HookResult::Modify(Modification::Content(c)) => Out::Content(c),
        HookResult::Modify(Modification::Params(p)) => Out::Params(p),
        HookResult::Reject(r) => Out::Reject(r),
    }
}

fn event(kind: EventKind, content: Option<&str>, params: Option<&str>) -> HookEvent {
    HookEvent {
        kind,
        channel: "telegram".into(),
        user_id: "42".into(),
        thread_id: None,
        content: content.map(str::to_string),
        tool_name: params.map(|_| "http_fetch".to_string()),
        tool_params: params.map(str::to_string),
    }
}

// ------------------------------------------------------------ settings

#[test]
fn inert_without_settings() {
    assert_eq!(parse(&[]).unwrap(), None);
    assert_eq!(parse(&[("priority", "3")]).unwrap(), None);
    assert_eq!(
        parse(&[("enabled", "false"), ("kinds", "email")]).unwrap(),
        None
    );
}

#[test]
fn enabled_defaults_and_switches() {
    let s = on(&[("enabled", "true")]);
    assert_eq!(s.events, vec![EventKind::BeforeOutbound]);
    assert_eq!(s.kinds, Kind::ALL.to_vec());
    assert_eq!(s.priority, DEFAULT_PRIORITY);
    let s = on(&[("kinds", "email, CARD,email")]);
    assert_eq!(s.kinds, vec![Kind::Email, Kind::Card]);
    assert_eq!(s.events, vec![EventKind::BeforeOutbound]);
    let s = on(&[("events", "before-inbound,before-tool-call")]);
    assert_eq!(
        s.events,
        vec![EventKind::BeforeInbound, EventKind::BeforeToolCall]
    );
}

#[test]
fn bad_settings_are_errors() {
    for bad in [
        &[("enabled", "perhaps")][..],
        &[("events", "session-start")],
        &[("events", ",")],
        &[("kinds", "passport")],
        &[("kinds", "")],
        &[("enabled", "true"), ("priority", "last")],
    ] {
        assert!(parse(bad).is_err(), "{bad:?}");
    }
}

// ------------------------------------------------------------ checks

#[test]
fn luhn_and_card_checks() {
    for good in [
        "4111111111111111",
        "5555555555554444",
        "378282246310005",
        "6011111111111117",
        "79927398713",
    ] {
        assert!(luhn(good.as_bytes()), "{good}");
    }
    for bad in ["4111111111111112", "1234567812345678", "", "4111-1111"] {
        assert!(!luhn(bad.as_bytes()), "{bad}");
    }
}

#[test]
fn iban_checks() {
    for good in [
        "DE89370400440532013000",
        "GB82WEST12345698765432",
        "FR1420041010050500013M02606",
        "NL91ABNA0417164300",
        "NO9386011117947",
        "BE68539007547034",
        "CH9300762011623852957",
    ] {
        let country = &good.as_bytes()[..2];
        assert_eq!(iban_length(country), Some(good.len()), "{good}");
        assert!(iban_mod97(good.as_bytes()), "{good}");
    }
    assert!(!iban_mod97(b"DE89370400440532013001"));
    assert!(!iban_mod97(b"GB82WEST12345698765433"));
    assert!(!iban_mod97(b"de89370400440532013000")); // callers uppercase first
    assert_eq!(iban_length(b"US"), None);
}

#[test]
fn ssn_checks() {
    assert!(ssn(b"123", b"45", b"6789"));
    assert!(ssn(b"078", b"05", b"1120"));
    for (a, g, s) in [
        ("000", "12", "3456"),
        ("666", "12", "3456"),
        ("900", "12", "3456"),
        ("123", "00", "4567"),
        ("123", "45", "0000"),
    ] {
        assert!(
            !ssn(a.as_bytes(), g.as_bytes(), s.as_bytes()),
            "{a}-{g}-{s}"
        );
    }
}

// ------------------------------------------------------------ corpus

#[test]
fn emails() {
    for (input, want) in [
        ("mail jane.doe@example.com today", "mail [email] today"),
        ("<john+tag@mail.example.co.uk>", "<[email]>"),
        ("Write to o'brien@example.ie.", "Write to [email]."),
        ("a@b.io, c_d@e-f.org", "[email], [email]"),
        ("UPPER@EXAMPLE.COM", "[email]"),
        (
            "mailto:x@example.org?subject=hi",
            "mailto:[email]?subject=hi",
        ),
    ] {
        assert_eq!(all(input), want, "{input}");
    }
    for keep in [
        "@handle",
        "user@localhost",
        "a@b.c",
        "x@-bad.com",
        "me@ 例え.jp",
        "2@3.45",
        "name@",
        "@example.com",
    ] {
        assert_eq!(redact(keep, &[Kind::Email]), None, "{keep}");
    }
}

#[test]
fn phones() {
    for (input, want) in [
        ("call +44 20 7946 0958 now", "call [phone] now"),
        ("+1 (555) 123-4567", "[phone]"),
        ("+33612345678", "[phone]"),
        ("+44 (0)20 7946 0958", "[phone]"),
        ("(555) 123-4567", "[phone]"),
        ("555-123-4567.", "[phone]."),
        ("555.123.4567", "[phone]"),
        ("555 123 4567", "[phone]"),
        ("020 7946 0958", "[phone]"),
        ("07700 900123", "[phone]"),
        ("06 12 34 56 78", "[phone]"),
        ("1-800-555-0199", "[phone]"),
        ("tel:+49 30 901820", "tel:[phone]"),
        ("(555-123-4567)", "([phone])"),
        ("ring 0049 30 12345678!", "ring [phone]!"),
        ("call 555-123-4567 2 times", "call [phone] 2 times"),
        ("josé.garcía@correo.es", "[email]"),
    ] {
        assert_eq!(all(input), want, "{input}");
    }
    for keep in [
        "2024-01-15 10:30",
        "2024-01-15 10",
        "on 15.01.2024 at 9",
        "12/05/2023",
        "01-15-2024 20",
        "10:30",
        "order 1234567890",
        "1700000000 seconds",
        "population 1 234 567 890",
        "1.234.567.890 units",
        "192.168.100.20",
        "version 1.2.3.4567",
        "coords 48.8566 2.3522",
        "3+4=7",
        "+5 points",
        "room 12, floor 3",
        "page 555-123",
        "x555-123-4567",
        "1234-5678-90ab",
        "price 12 345 678",
        "ISBN 978-3-16-148410-0",
        "5551234567_id",
        "55 % 12 34 56 78",
    ] {
        assert_eq!(redact(keep, &[Kind::Phone]), None, "{keep}");
    }
}

#[test]
fn cards() {
    for (input, want) in [
        (
            "card 4111 1111 1111 1111 exp 12/27",
            "card [card] exp 12/27",
        ),
        ("4111-1111-1111-1111", "[card]"),
        ("4242424242424242", "[card]"),
        ("Amex 3782 822463 10005.", "Amex [card]."),
        ("5555 5555 5555 4444, 6011111111111117", "[card], [card]"),
        ("ref 1234 4111 1111 1111 1111", "ref 1234 [card]"),
    ] {
        assert_eq!(all(input), want, "{input}");
    }
    for keep in [
        "4111 1111 1111 1112",     // Luhn fails
        "1234567812345670",        // Luhn passes, no card network starts with 1
        "41111111111111111234",    // glued to more digits
        "order 4111111111111111a", // glued to a word
        "v4111111111111111",
        "0.4111111111111111", // a decimal
        "-4111111111111111",
        "4111 1111", // too short
    ] {
        assert_eq!(redact(keep, &[Kind::Card]), None, "{keep}");
    }
}

#[test]
fn ibans() {
    for (input, want) in [
        ("IBAN: DE89 3704 0044 0532 0130 00.", "IBAN: [iban]."),
        ("GB82WEST12345698765432", "[iban]"),
        (
            "pay fr14 2004 1010 0505 0001 3m02 606 please",
            "pay [iban] please",
        ),
        (
            "NO93 8601 1117 947 and BE68 5390 0754 7034",
            "[iban] and [iban]",
        ),
    ] {
        assert_eq!(all(input), want, "{input}");
    }
    for keep in [
        "DE89 3704 0044 0532 0130 01",   // mod-97 fails
        "DE89 3704 0044 0532 0130",      // too short
        "DE89 3704 0044 0532 0130 0012", // too long
        "XDE89370400440532013000",       // glued
        "US12 3456 7890 1234",           // no IBANs in the US
        "AB12CDEF",
    ] {
        assert_eq!(redact(keep, &[Kind::Iban]), None, "{keep}");
    }
}

#[test]
fn ssns() {
    for (input, want) in [
        ("SSN 123-45-6789.", "SSN [ssn]."),
        ("078-05-1120", "[ssn]"),
        ("(123 45 6789)", "([ssn])"),
    ] {
        assert_eq!(all(input), want, "{input}");
    }
    for keep in [
        "000-12-3456",
        "666-12-3456",
        "912-34-5678",
        "123-00-4567",
        "123-45-0000",
        "123456789",
        "1123-45-6789",
        "123-45-67890",
        "123-45-6789-1",
        "123-45 6789",
    ] {
        assert_eq!(redact(keep, &[Kind::Ssn]), None, "{keep}");
    }
}

#[test]
fn mixed_text_and_kind_selection() {
    let text = "Jane (jane@example.com, +1 555 123 4567) paid with 4111 1111 1111 1111 \
                from DE89 3704 0044 0532 0130 00; SSN 123-45-6789. Meeting 2024-01-15 10:30.";
    assert_eq!(
        all(text),
        "Jane ([email], [phone]) paid with [card] from [iban]; SSN [ssn]. Meeting 2024-01-15 10:30."
    );
    assert_eq!(
        redact(text, &[Kind::Email, Kind::Ssn]).unwrap(),
        "Jane ([email], +1 555 123 4567) paid with 4111 1111 1111 1111 from DE89 3704 0044 0532 \
         0130 00; SSN [ssn]. Meeting 2024-01-15 10:30."
    );
    // Overlaps: the digits of an address are not a phone number.
    assert_eq!(all("+15551234567@example.com"), "[email]");
    // Non-ASCII around finds survives intact.
    assert_eq!(
        all("Écrivez à zoé@example.fr ou élise@example.fr — merci ✓"),
        "Écrivez à [email] ou [email] — merci ✓"
    );
    assert_eq!(redact("nothing to see here, 42 apples", &Kind::ALL), None);
}

// ------------------------------------------------------------ judge

#[test]
fn judge_content_events() {
    let s = on(&[
        ("events", "before-inbound,before-outbound"),
        ("kinds", "email"),
    ]);
    assert_eq!(
        judge(
            &s,
            &event(EventKind::BeforeOutbound, Some("x@example.com"), None)
        ),
        Out::Content("[email]".into())
    );
    assert_eq!(
        judge(&s, &event(EventKind::BeforeOutbound, Some("clean"), None)),
        Out::Continue
    );
    assert_eq!(
        judge(
            &s,
            &event(EventKind::TransformResponse, Some("x@example.com"), None)
        ),
        Out::Continue
    );
    assert_eq!(
        judge(&s, &event(EventKind::BeforeInbound, None, None)),
        Out::Continue
    );
}

#[test]
fn judge_tool_params_stay_valid_json() {
    let s = on(&[("events", "before-tool-call")]);
    let params = json!({
        "url": "https://example.com/?email=jane@example.com",
        "body": {"note": "call 555-123-4567", "cards": ["4111111111111111", 4111111111111111u64]},
        "n": 5,
        "email@example.com": true,
        "quote": "say \"hi\" to bob@example.org\n"
    })
    .to_string();
    let Out::Params(out) = judge(&s, &event(EventKind::BeforeToolCall, None, Some(&params))) else {
        panic!("expected params");
    };
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["url"], "https://example.com/?email=[email]");
    assert_eq!(v["body"]["note"], "call [phone]");
    assert_eq!(v["body"]["cards"], json!(["[card]", 4111111111111111u64]));
    assert_eq!(v["n"], 5);
    assert_eq!(v["email@example.com"], true); // keys are names, not data
    assert_eq!(v["quote"], "say \"hi\" to [email]\n");
    // Nothing to redact, not JSON, or no parameters: continue.
    for p in [r#"{"q": "weather"}"#, "not json", "{"] {
        assert_eq!(
            judge(&s, &event(EventKind::BeforeToolCall, None, Some(p))),
            Out::Continue,
            "{p}"
        );
    }
    assert_eq!(
        judge(&s, &event(EventKind::BeforeToolCall, None, None)),
        Out::Continue
    );
    let _ = Out::Reject(String::new());
}

#[test]
fn pathological_input_stays_linear() {
    let text = "a".repeat(100_000) + &"@".repeat(20_000) + &"@x".repeat(20_000);
    assert_eq!(redact(&text, &Kind::ALL), None);
    let local = "b".repeat(70) + "@example.com";
    assert_eq!(redact(&local, &[Kind::Email]), None); // local part over 64 bytes
}

#[test]
fn long_input_is_linear_enough() {
    let text = "jane@example.com 555-123-4567 1234567890 ".repeat(3000) + &"9".repeat(50_000);
    let out = all(&text);
    assert_eq!(out.matches("[email]").count(), 3000);
    assert_eq!(out.matches("[phone]").count(), 3000);
}

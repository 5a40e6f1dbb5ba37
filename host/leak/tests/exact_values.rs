//! Stored secret values and canaries, in every encoding the scanner
//! claims to cover.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

use super::*;
use crate::leak::{Encoding, IgnoreReason, MIN_SECRET_LEN};

/// A value with bytes that need percent-encoding and that give distinct
/// standard and URL-safe base64.
const VALUE: &[u8] = b"pa$$ w0rd/with+odd?bytes&\xfb\xff";

fn scanner_with(value: &[u8]) -> Result<LeakScanner, BuildError> {
    LeakScanner::new([("BANK_PASSWORD", value.to_vec())], None::<Canary>)
}

/// The one finding for the stored secret in `text`: its encoding and the
/// bytes it covers.
fn found(scanner: &LeakScanner, text: &[u8]) -> Vec<(Encoding, Vec<u8>)> {
    scanner
        .scan_exact(text)
        .iter()
        .filter(|f| f.label() == "BANK_PASSWORD")
        .map(|f| (f.encoding, covered(text, f).to_vec()))
        .collect()
}

fn embed(encoded: &[u8]) -> Vec<u8> {
    let mut text = b"GET /upload?data=".to_vec();
    text.extend_from_slice(encoded);
    text.extend_from_slice(b" HTTP/1.1");
    text
}

#[test]
fn raw_value_is_found_in_text_and_binary() -> Result<(), BuildError> {
    let scanner = scanner_with(VALUE)?;
    assert_eq!(
        found(&scanner, &embed(VALUE)),
        vec![(Encoding::Raw, VALUE.to_vec())]
    );
    let mut binary = vec![0u8, 0xff, 0x80];
    binary.extend_from_slice(VALUE);
    binary.push(0xc0);
    assert!(scanner.contains_leak(&binary));
    Ok(())
}

#[test]
fn hex_in_either_case_is_found() -> Result<(), BuildError> {
    let scanner = scanner_with(VALUE)?;
    for encoded in [hex::encode(VALUE), hex::encode_upper(VALUE)] {
        let text = embed(encoded.as_bytes());
        assert_eq!(
            found(&scanner, &text),
            vec![(Encoding::Hex, encoded.into_bytes())]
        );
    }
    Ok(())
}

#[test]
fn base64_in_every_alphabet_and_padding_is_found_whole() -> Result<(), BuildError> {
    let scanner = scanner_with(VALUE)?;
    for engine in [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD] {
        let encoded = engine.encode(VALUE);
        let text = embed(encoded.as_bytes());
        assert_eq!(
            found(&scanner, &text),
            vec![(Encoding::Base64, encoded.into_bytes())]
        );
    }
    Ok(())
}

#[test]
fn base64_inside_a_larger_encoded_body_is_found_at_any_alignment() -> Result<(), BuildError> {
    let scanner = scanner_with(VALUE)?;
    for prefix in ["", "a", "ab", "{\"k\":\"", "{\"key\":\""] {
        let mut body = prefix.as_bytes().to_vec();
        body.extend_from_slice(VALUE);
        body.extend_from_slice(b"\"}");
        for encoded in [STANDARD.encode(&body), URL_SAFE_NO_PAD.encode(&body)] {
            let hits = found(&scanner, &embed(encoded.as_bytes()));
            assert_eq!(hits.len(), 1, "prefix {prefix:?}");
            assert_eq!(hits[0].0, Encoding::Base64);
        }
    }
    Ok(())
}

#[test]
fn percent_encoding_of_any_style_is_found_and_mapped_back() -> Result<(), BuildError> {
    let scanner = scanner_with(VALUE)?;
    let every_byte_upper: String = VALUE.iter().map(|b| format!("%{b:02X}")).collect();
    let every_byte_lower: String = VALUE.iter().map(|b| format!("%{b:02x}")).collect();
    let reserved_only = "pa%24%24%20w0rd%2Fwith%2Bodd%3Fbytes%26%FB%FF";
    let form_style = "pa%24%24+w0rd%2fwith%2bodd%3fbytes%26%fb%ff";
    for encoded in [
        every_byte_upper.as_str(),
        every_byte_lower.as_str(),
        reserved_only,
        form_style,
    ] {
        let text = embed(encoded.as_bytes());
        assert_eq!(
            found(&scanner, &text),
            vec![(Encoding::Percent, encoded.as_bytes().to_vec())],
            "{encoded}"
        );
    }
    Ok(())
}

#[test]
fn percent_encoded_base64_is_found() -> Result<(), BuildError> {
    let scanner = scanner_with(VALUE)?;
    let encoded = STANDARD
        .encode(VALUE)
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    assert!(encoded.contains('%'));
    let hits = found(&scanner, &embed(encoded.as_bytes()));
    assert_eq!(hits, vec![(Encoding::Base64, encoded.into_bytes())]);
    Ok(())
}

#[test]
fn short_values_are_ignored_with_a_reason() -> Result<(), BuildError> {
    let scanner = LeakScanner::new(
        [
            ("PIN", b"1234".to_vec()),
            ("EMPTY", Vec::new()),
            ("OK", b"longenough".to_vec()),
        ],
        None::<Canary>,
    )?;
    let ignored: Vec<_> = scanner
        .ignored()
        .iter()
        .map(|i| (&*i.name, i.reason))
        .collect();
    assert_eq!(
        ignored,
        vec![
            (
                "PIN",
                IgnoreReason::TooShort {
                    len: 4,
                    min: MIN_SECRET_LEN
                }
            ),
            (
                "EMPTY",
                IgnoreReason::TooShort {
                    len: 0,
                    min: MIN_SECRET_LEN
                }
            ),
        ]
    );
    assert!(!scanner.contains_leak(b"my pin is 1234, year 2024"));
    assert!(scanner.contains_leak(b"...longenough..."));
    // The reason names lengths, never the value.
    let reason = ignored[0].1.to_string();
    assert!(reason.contains('4') && !reason.contains("1234"));
    Ok(())
}

#[test]
fn values_of_exactly_the_minimum_length_are_kept() -> Result<(), BuildError> {
    let value = vec![b'q'; MIN_SECRET_LEN];
    let scanner = scanner_with(&value)?;
    assert!(scanner.ignored().is_empty());
    assert!(scanner.contains_leak(b"xx qqqqqq xx"));
    assert!(!scanner.contains_leak(b"xx qqqqq xx"));
    Ok(())
}

#[test]
fn several_secrets_are_told_apart_by_name() -> Result<(), BuildError> {
    let scanner = LeakScanner::new(
        [
            ("ONE", b"first-secret-value".to_vec()),
            ("TWO", b"second-secret-value".to_vec()),
        ],
        None::<Canary>,
    )?;
    let text = format!(
        "a=second-secret-value&b={}",
        hex::encode("first-secret-value")
    );
    let labels: Vec<String> = scanner
        .scan(text.as_bytes())
        .iter()
        .map(|f| format!("{}:{:?}", f.label(), f.encoding))
        .collect();
    assert_eq!(labels, vec!["TWO:Raw", "ONE:Hex"]);
    Ok(())
}

#[test]
fn canary_is_found_raw_encoded_and_by_shape() -> Result<(), BuildError> {
    let canary = Canary::generate().map_err(|e| BuildError::Automaton(e.to_string()))?;
    let value = canary.value().as_bytes().to_vec();
    let scanner = LeakScanner::new(Vec::<(String, Vec<u8>)>::new(), Some(canary))?;
    for encoded in [
        value.clone(),
        hex::encode(&value).into_bytes(),
        STANDARD.encode(&value).into_bytes(),
        URL_SAFE_NO_PAD.encode(&value).into_bytes(),
        value
            .iter()
            .map(|b| format!("%{b:02x}"))
            .collect::<String>()
            .into_bytes(),
    ] {
        let findings = scanner.scan_exact(&embed(&encoded));
        assert!(
            !findings.is_empty() && findings.iter().all(|f| f.is_canary()),
            "{findings:?}"
        );
    }
    // A canary this scanner was not built with (say, from an earlier run) is
    // still recognised by its shape, with or without patterns.
    let stranger = format!("env LEAK=ironclaw-canary-{}", random(HEX, 32, 200));
    assert!(
        scanner
            .scan(stranger.as_bytes())
            .iter()
            .any(|f| f.is_canary())
    );
    assert!(
        scanner
            .scan_exact(stranger.as_bytes())
            .iter()
            .any(|f| f.is_canary())
    );
    Ok(())
}

#[test]
fn exact_scan_ignores_patterns() -> Result<(), BuildError> {
    let scanner = scanner_with(VALUE)?;
    let token = format!("ghp_{}", random(ALNUM, 36, 201));
    assert!(scanner.scan_exact(token.as_bytes()).is_empty());
    assert_eq!(pattern_ids(&scanner, token.as_bytes()), vec!["github_pat"]);
    Ok(())
}

#[test]
fn a_stored_value_that_is_also_a_known_format_is_reported_both_ways() -> Result<(), BuildError> {
    let token = format!("ghp_{}", random(ALNUM, 36, 202));
    let scanner = LeakScanner::new(
        [("GITHUB_TOKEN", token.clone().into_bytes())],
        None::<Canary>,
    )?;
    let text = format!("Authorization: token {token}");
    let labels: Vec<String> = scanner
        .scan(text.as_bytes())
        .iter()
        .map(|f| f.label().to_owned())
        .collect();
    assert_eq!(labels, vec!["GITHUB_TOKEN", "github_pat"]);
    assert_eq!(
        scanner.redact(text.as_bytes()).as_ref(),
        b"Authorization: token [REDACTED:GITHUB_TOKEN]"
    );
    Ok(())
}

#[test]
fn a_value_inside_a_json_string_is_found_escaped() -> Result<(), BuildError> {
    let value = "he said \"hi\"\\ then/left\n";
    let scanner = scanner_with(value.as_bytes())?;
    let plain = serde_json::json!({ "note": value }).to_string();
    let escaped = serde_json::to_string(value).map_err(|e| BuildError::Automaton(e.to_string()))?;
    let inner = escaped.trim_matches('"');
    assert_eq!(
        found(&scanner, plain.as_bytes()),
        vec![(Encoding::JsonEscaped, inner.as_bytes().to_vec())]
    );
    // Serializers that also escape '/'.
    let slashed = plain.replace('/', "\\/");
    assert_eq!(found(&scanner, slashed.as_bytes()).len(), 1);
    // A control byte other than \n, \r, \t is written as \u00XX.
    let bell = scanner_with(b"ring\x07the-bell")?;
    assert_eq!(found(&bell, br#"{"x":"ring\u0007the-bell"}"#).len(), 1);
    Ok(())
}

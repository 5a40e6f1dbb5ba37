//! Unit tests and the shared corpus (`testdata/corpus.tsv`).

use super::*;

const CORPUS: &str = include_str!("../testdata/corpus.tsv");

fn none(_: &str) -> Result<Option<String>, String> {
    Ok(None)
}

fn with(
    pairs: &'static [(&'static str, &'static str)],
) -> impl Fn(&str) -> Result<Option<String>, String> {
    move |k| {
        Ok(pairs
            .iter()
            .find(|(key, _)| *key == k)
            .map(|(_, v)| v.to_string()))
    }
}

/// Decodes the corpus escapes: `\n`, `\t`, `\r`, `\\`, `\u{XXXX}`.
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('\\') => out.push('\\'),
            Some('u') => {
                assert_eq!(it.next(), Some('{'));
                let hex: String = it.by_ref().take_while(|&c| c != '}').collect();
                let code = u32::from_str_radix(&hex, 16).expect("hex escape");
                out.push(char::from_u32(code).expect("a char"));
            }
            other => panic!("bad escape {other:?} in {s}"),
        }
    }
    out
}

#[test]
fn corpus() {
    let mut n = 0;
    for line in CORPUS
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let mut cols = line.split('\t');
        let want = cols.next().expect("verdict");
        let input = unescape(cols.next().expect("input"));
        let expected = cols.next().map(unescape);
        let got = inspect(Stage::InboundMessage, &input, &none).expect("no error");
        match (want, got) {
            ("allow", Verdict::Allow) => {}
            ("warn", Verdict::Warn(_)) => {}
            ("redact", Verdict::Redact(out)) => {
                assert_eq!(Some(&out), expected.as_ref(), "{line}");
                // Cleaning is idempotent: the result passes as it is.
                assert!(matches!(
                    inspect(Stage::InboundMessage, &out, &none),
                    Ok(Verdict::Allow)
                ));
            }
            (want, got) => panic!("{line}: want {want}, got {got:?}"),
        }
        n += 1;
    }
    assert!(n > 20);
}

#[test]
fn size_limits_per_stage_and_settings() {
    let big = "a".repeat(300 * 1024);
    match inspect(Stage::InboundMessage, &big, &none) {
        Ok(Verdict::Block(why)) => {
            assert_eq!(
                why,
                "content is 307200 bytes; the limit at inbound-message is 262144 bytes"
            )
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        inspect(Stage::ToolOutput, &big, &none),
        Ok(Verdict::Allow)
    ));
    let all = with(&[("max-bytes", "1KiB")]);
    assert!(matches!(
        inspect(Stage::ToolOutput, &big, &all),
        Ok(Verdict::Block(_))
    ));
    let stage_beats_all = with(&[("max-bytes", "1KiB"), ("max-bytes.tool-output", "off")]);
    assert!(matches!(
        inspect(Stage::ToolOutput, &big, &stage_beats_all),
        Ok(Verdict::Allow)
    ));
    let mib = with(&[("max-bytes.inbound-message", "1MiB")]);
    assert!(matches!(
        inspect(Stage::InboundMessage, &big, &mib),
        Ok(Verdict::Allow)
    ));
    let bad = with(&[("max-bytes", "lots")]);
    let err = inspect(Stage::ToolOutput, "x", &bad).unwrap_err();
    assert!(err.contains("max-bytes") && err.contains("lots"), "{err}");
}

#[test]
fn long_lines_warn_only_when_asked() {
    let line = "x".repeat(5000);
    assert!(matches!(
        inspect(Stage::ToolOutput, &line, &none),
        Ok(Verdict::Allow)
    ));
    let s = with(&[("max-line-bytes", "4096")]);
    assert!(matches!(
        inspect(Stage::ToolOutput, &line, &s),
        Ok(Verdict::Warn(_))
    ));
}

#[test]
fn host_error_fails_closed() {
    let broken = |_: &str| Err("denied".to_string());
    assert!(inspect(Stage::ToolOutput, "hello", &broken).is_err());
}

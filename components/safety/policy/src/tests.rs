//! Unit tests; the sample rules and cases are in `testdata/` for reuse.

use super::*;

const RULES: &str = include_str!("../testdata/rules.txt");
const CASES: &str = include_str!("../testdata/cases.tsv");

fn with(rules: &'static str) -> impl Fn(&str) -> Result<Option<String>, String> {
    move |k| Ok((k == "rules").then(|| rules.to_string()))
}

fn stage(name: &str) -> Stage {
    rules::ALL_STAGES
        .into_iter()
        .find(|&s| rules::stage_name(s) == name)
        .expect("a stage name")
}

#[test]
fn cases() {
    let s = with(RULES);
    for line in CASES
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let cols: Vec<&str> = line.split('\t').collect();
        let got = inspect(stage(cols[0]), cols[2], &s).expect("rules compile");
        let expect = cols.get(3).copied().unwrap_or("");
        match (cols[1], &got) {
            ("allow", Verdict::Allow) => {}
            ("redact", Verdict::Redact(out)) => assert_eq!(out, expect, "{line}"),
            ("warn", Verdict::Warn(why)) | ("block", Verdict::Block(why)) => {
                assert!(why.contains(expect), "{line}: {why}")
            }
            (want, got) => panic!("{line}: want {want}, got {got:?}"),
        }
    }
}

#[test]
fn no_rules_no_stages() {
    let none = |_: &str| Ok(None);
    assert!(stages(&none).is_empty());
    assert!(stages(&with("# only a comment\n\n")).is_empty());
    assert!(matches!(
        inspect(Stage::ToolOutput, "x", &none),
        Ok(Verdict::Allow)
    ));
}

#[test]
fn stages_are_the_union_of_the_rules() {
    let s = with("warn tool-output: a\nblock outbound-http-body,tool-output: b");
    assert_eq!(stages(&s), [Stage::ToolOutput, Stage::OutboundHttpBody]);
    assert_eq!(stages(&with(RULES)), rules::ALL_STAGES);
}

#[test]
fn bad_regex_reports_the_rule_but_stages_work() {
    let s = with("warn: fine\nblock regex inbound-message: (unclosed");
    assert_eq!(stages(&s), rules::ALL_STAGES);
    // Reported at any stage: the owner hears of it at the first call.
    let err = inspect(Stage::ToolOutput, "anything", &s).unwrap_err();
    assert!(
        err.contains("rule 2 (line 2") && err.contains("(unclosed"),
        "{err}"
    );
}

#[test]
fn bad_header_names_the_line() {
    for (rules, want) in [
        ("blok: x", "`blok` is not an action"),
        ("block high low: x", "`low` repeats"),
        ("high keyword: x", "no action"),
        ("block", "no `:`"),
        ("block:   ", "pattern is empty"),
        ("warn tool-output,nowhere: x", "`tool-output,nowhere`"),
    ] {
        let s = with(rules);
        assert_eq!(stages(&s), rules::ALL_STAGES, "{rules}");
        let err = inspect(Stage::InboundMessage, "x", &s).unwrap_err();
        assert!(
            err.contains("rule 1 (line 1)") && err.contains(want),
            "{rules}: {err}"
        );
    }
}

#[test]
fn header_words_in_any_order_and_defaults() {
    let r = rules::parse("regex tool-output high REDACT: a+b").expect("parses");
    assert_eq!(r[0].action, Action::Redact);
    assert_eq!(r[0].severity, "high");
    assert_eq!(r[0].kind, Kind::Regex);
    assert_eq!(r[0].stages, [Stage::ToolOutput]);
    let r = rules::parse("warn: key: with colon").expect("parses");
    assert_eq!((r[0].severity, r[0].kind), ("medium", Kind::Keyword));
    assert_eq!(r[0].pattern, "key: with colon");
    assert_eq!(r[0].stages, rules::ALL_STAGES);
}

#[test]
fn redact_with_setting_and_overlaps() {
    let s = |k: &str| {
        Ok(match k {
            "rules" => Some("redact: abc\nredact: bcd".to_string()),
            "redact-with" => Some("***".to_string()),
            _ => None,
        })
    };
    match inspect(Stage::OutboundResponse, "xabcdy abc", &s) {
        Ok(Verdict::Redact(out)) => assert_eq!(out, "x***y ***"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn host_error_fails_closed() {
    let broken = |_: &str| Err("denied".to_string());
    assert!(inspect(Stage::ToolOutput, "x", &broken).is_err());
    assert_eq!(stages(&broken), rules::ALL_STAGES);
}

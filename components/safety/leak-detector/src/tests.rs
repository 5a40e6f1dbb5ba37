//! Unit tests and the shared corpus (`testdata/corpus.tsv`).

use super::*;

const CORPUS: &str = include_str!("../testdata/corpus.tsv");

const STAGES: [Stage; 4] = [
    Stage::InboundMessage,
    Stage::ToolOutput,
    Stage::OutboundResponse,
    Stage::OutboundHttpBody,
];

fn none(_: &str) -> Result<Option<String>, String> {
    Ok(None)
}

/// `(expected id or "-", text)` per corpus line.
fn corpus() -> Vec<(&'static str, String)> {
    CORPUS
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (id, text) = l.split_once('\t').expect("corpus line has a tab");
            (id, text.replace("\\n", "\n"))
        })
        .collect()
}

fn ids(text: &str) -> Vec<&'static str> {
    let mut found = patterns::scan(text);
    found.sort_by_key(|f| f.start);
    found.into_iter().map(|f| f.id).collect()
}

#[test]
fn corpus_covers_every_pattern() {
    let corpus = corpus();
    for id in patterns::IDS {
        assert!(
            corpus.iter().any(|(c, _)| c == id),
            "no corpus line for {id}"
        );
    }
}

#[test]
fn corpus_verdicts() {
    for (id, text) in corpus() {
        for stage in STAGES {
            let verdict = inspect(stage, &text, &none).expect("no settings error");
            match (id, default_action(id, stage), &verdict) {
                ("-", _, Verdict::Allow) => {}
                ("-", _, v) => panic!(
                    "false positive {v:?} at {stage:?}: {text:?} ({:?})",
                    ids(&text)
                ),
                (_, Action::Redact, Verdict::Redact(out)) => {
                    assert!(out.contains(&format!("[REDACTED:{id}]")), "{id}: {out}");
                    assert!(
                        patterns::scan(out).iter().all(|f| f.id == GENERIC),
                        "{id}: still leaks: {out}"
                    );
                }
                (_, Action::Block, Verdict::Block(why)) => {
                    assert!(why.contains(id), "{id}: {why}");
                }
                (_, Action::Warn, Verdict::Warn(why)) => assert!(why.contains(id), "{why}"),
                (_, want, got) => {
                    panic!("{id} at {stage:?}: want {want:?}, got {got:?} for {text:?}")
                }
            }
        }
    }
}

#[test]
fn corpus_positives_match_only_their_pattern() {
    for (id, text) in corpus().into_iter().filter(|(id, _)| *id != "-") {
        let mut found = patterns::scan(&text);
        let specific: Vec<_> = found.iter().filter(|f| f.id != GENERIC).cloned().collect();
        found.retain(|f| {
            f.id != GENERIC || !specific.iter().any(|s| f.start < s.end && s.start < f.end)
        });
        let got: Vec<_> = found.iter().map(|f| f.id).collect();
        assert_eq!(got, vec![id], "{text:?}");
    }
}

#[test]
fn block_and_reason_never_echo_the_secret() {
    let key = "ghp_aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6";
    let Ok(Verdict::Block(why)) = inspect(Stage::OutboundHttpBody, key, &none) else {
        panic!("expected block");
    };
    assert!(!why.contains("aB3dE6"), "{why}");
    assert!(why.contains("github-token") && why.contains("outbound-http-body"));
}

#[test]
fn redaction_keeps_the_rest_of_the_text() {
    let text = "x ghp_aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6 y postgres://u:S3cretPw9@h/db z";
    let Ok(Verdict::Redact(out)) = inspect(Stage::ToolOutput, text, &none) else {
        panic!("expected redact");
    };
    assert_eq!(
        out,
        "x [REDACTED:github-token] y postgres://u:[REDACTED:connection-string]@h/db z"
    );
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

#[test]
fn owner_overrides_per_pattern_and_for_all() {
    let text = "sk-aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6kL9n and AKIAIOSFODNN7EXAMPLE";
    let off = with(&[
        ("action.openai-key", "off"),
        ("action.aws-access-key-id", "warn"),
    ]);
    match inspect(Stage::OutboundHttpBody, text, &off) {
        Ok(Verdict::Warn(why)) => assert_eq!(why, "possible credential: aws-access-key-id"),
        other => panic!("{other:?}"),
    }
    let all_block = with(&[("action", "BLOCK")]);
    assert!(matches!(
        inspect(Stage::InboundMessage, text, &all_block),
        Ok(Verdict::Block(_))
    ));
    // A per-pattern setting beats the default-for-all.
    let mixed = with(&[
        ("action", "block"),
        ("action.openai-key", "redact"),
        ("action.aws-access-key-id", "off"),
    ]);
    match inspect(Stage::InboundMessage, text, &mixed) {
        Ok(Verdict::Redact(out)) => assert!(out.starts_with("[REDACTED:openai-key] and AKIA")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn block_wins_over_redact_over_warn() {
    let text = "pw: password=Zx9!qq77 and ghp_aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6";
    assert!(matches!(
        inspect(Stage::InboundMessage, text, &none),
        Ok(Verdict::Redact(_))
    ));
    let s = with(&[("action.generic-secret", "block")]);
    assert!(matches!(
        inspect(Stage::InboundMessage, text, &s),
        Ok(Verdict::Block(_))
    ));
}

#[test]
fn bad_setting_and_host_error_fail_closed() {
    let text = "AKIAIOSFODNN7EXAMPLE";
    let bad = with(&[("action.aws-access-key-id", "nuke")]);
    let err = inspect(Stage::ToolOutput, text, &bad).unwrap_err();
    assert!(
        err.contains("action.aws-access-key-id") && err.contains("nuke"),
        "{err}"
    );
    let broken = |_: &str| Err("denied".to_string());
    assert!(inspect(Stage::ToolOutput, text, &broken).is_err());
    // Clean content reads no setting at all.
    assert!(matches!(
        inspect(Stage::ToolOutput, "hello", &broken),
        Ok(Verdict::Allow)
    ));
}

#[test]
fn truncated_and_edge_positions() {
    for text in [
        "sk-",
        "AKIA",
        "-----BEGIN ",
        "eyJ",
        "SG.",
        "xoxb-",
        "12345678:",
        ".",
        ":",
        "hf_",
        "",
    ] {
        assert!(ids(text).is_empty(), "{text:?}");
    }
    // At the very end and start of the text.
    assert_eq!(ids("AKIAIOSFODNN7EXAMPLE"), ["aws-access-key-id"]);
    assert_eq!(ids("keyAKIAIOSFODNN7EXAMPLE"), Vec::<&str>::new());
    assert_eq!(ids("AKIAIOSFODNN7EXAMPLEX"), Vec::<&str>::new());
    // Non-ASCII around a key does not break the boundaries.
    assert_eq!(
        ids("clé: «ghp_aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6»"),
        ["github-token"]
    );
}

#[test]
fn two_keys_redacted_in_one_pass() {
    let k = "AKIAIOSFODNN7EXAMPLE";
    let text = format!("{k}\n{k}");
    let Ok(Verdict::Redact(out)) = inspect(Stage::OutboundResponse, &text, &none) else {
        panic!()
    };
    assert_eq!(
        out,
        "[REDACTED:aws-access-key-id]\n[REDACTED:aws-access-key-id]"
    );
}

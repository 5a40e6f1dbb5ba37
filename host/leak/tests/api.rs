//! The public surface: redaction, policies, errors, and that nothing this
//! module prints ever contains a secret.

use std::borrow::Cow;

use super::*;
use crate::leak::{Encoding, LeakBlocked, LeakPolicy, LeakSite};

const OPENAI_VALUE: &str = "not-a-real-key-but-stored-0123456789";

fn scanner() -> Result<(LeakScanner, Canary), BuildError> {
    let canary = Canary::generate().map_err(|e| BuildError::Automaton(e.to_string()))?;
    let scanner = LeakScanner::new(
        [
            (
                "OPENAI_API_KEY".to_owned(),
                OPENAI_VALUE.as_bytes().to_vec(),
            ),
            (
                "SMTP_PASSWORD".to_owned(),
                b"correct horse battery".to_vec(),
            ),
        ],
        Some(canary.clone()),
    )?;
    Ok((scanner, canary))
}

fn blocked<T: std::fmt::Debug>(result: Result<T, LeakBlocked>) -> LeakBlocked {
    match result {
        Err(e) => e,
        Ok(v) => panic!("expected LeakBlocked, got {v:?}"),
    }
}

#[test]
fn clean_bytes_pass_every_policy_borrowed() -> Result<(), BuildError> {
    let (scanner, _) = scanner()?;
    let body = b"{\"query\":\"weather in Lisbon\"}";
    for policy in [LeakPolicy::Block, LeakPolicy::Redact, LeakPolicy::Warn] {
        let out = scanner.check(body, policy, "request body");
        assert!(matches!(out, Ok(Cow::Borrowed(b)) if b == body));
    }
    assert!(matches!(scanner.redact(body), Cow::Borrowed(_)));
    assert!(scanner.scan(body).is_empty());
    Ok(())
}

#[test]
fn redact_replaces_every_kind_of_finding() -> Result<(), BuildError> {
    let (scanner, canary) = scanner()?;
    let token = format!("ghp_{}", random(ALNUM, 36, 300));
    let text = format!(
        "key={OPENAI_VALUE} pw={} gh={token} c={} end",
        hex::encode("correct horse battery"),
        canary.value()
    );
    let out = scanner.redact(text.as_bytes());
    assert_eq!(
        String::from_utf8_lossy(&out),
        "key=[REDACTED:OPENAI_API_KEY] pw=[REDACTED:SMTP_PASSWORD] gh=[REDACTED:github_pat] \
         c=[REDACTED:canary] end"
    );
    assert!(!scanner.contains_leak(&out));
    Ok(())
}

#[test]
fn redact_handles_non_utf8_bodies() -> Result<(), BuildError> {
    let (scanner, _) = scanner()?;
    let mut body = vec![0xff, 0x00];
    body.extend_from_slice(OPENAI_VALUE.as_bytes());
    body.extend_from_slice(&[0xfe, 0x80]);
    let mut expected = vec![0xff, 0x00];
    expected.extend_from_slice(b"[REDACTED:OPENAI_API_KEY]");
    expected.extend_from_slice(&[0xfe, 0x80]);
    assert_eq!(scanner.redact(&body).as_ref(), expected.as_slice());
    Ok(())
}

#[test]
fn block_policy_names_what_and_where_but_not_the_value() -> Result<(), BuildError> {
    let (scanner, _) = scanner()?;
    let body = format!("{{\"k\":\"{OPENAI_VALUE}\"}}");
    let err = blocked(scanner.check(body.as_bytes(), LeakPolicy::Block, "request header x-foo"));
    assert_eq!(err.location, "request header x-foo");
    assert!(!err.is_canary());
    let shown = err.to_string();
    assert_eq!(
        shown,
        "possible secret leak blocked in request header x-foo: secret OPENAI_API_KEY"
    );
    assert!(!format!("{err:?}").contains(OPENAI_VALUE));
    Ok(())
}

#[test]
fn redact_policy_redacts_and_warn_policy_passes_through() -> Result<(), BuildError> {
    let (scanner, _) = scanner()?;
    let body = format!("token {OPENAI_VALUE}");
    let redacted = scanner.check(body.as_bytes(), LeakPolicy::Redact, "log line");
    assert!(matches!(&redacted, Ok(Cow::Owned(b)) if b == b"token [REDACTED:OPENAI_API_KEY]"));
    let warned = scanner.check(body.as_bytes(), LeakPolicy::Warn, "log line");
    assert!(matches!(warned, Ok(Cow::Borrowed(b)) if b == body.as_bytes()));
    Ok(())
}

#[test]
fn a_canary_blocks_under_every_policy_and_site() -> Result<(), BuildError> {
    let (scanner, canary) = scanner()?;
    let body = format!("env: FAKE_KEY={}", canary.value());
    for policy in [LeakPolicy::Block, LeakPolicy::Redact, LeakPolicy::Warn] {
        let err = blocked(scanner.check(body.as_bytes(), policy, "channel message"));
        assert!(err.is_canary());
        assert!(!err.to_string().contains(canary.value()));
        assert!(!format!("{err:?}").contains(canary.value()));
    }
    for site in [LeakSite::InboundResponse, LeakSite::Log] {
        assert!(blocked(scanner.check_at(body.as_bytes(), site, "x")).is_canary());
    }
    Ok(())
}

#[test]
fn sites_have_the_documented_policies() {
    assert_eq!(LeakSite::OutboundRequest.policy(), LeakPolicy::Block);
    assert_eq!(LeakSite::InboundResponse.policy(), LeakPolicy::Redact);
    assert_eq!(LeakSite::Log.policy(), LeakPolicy::Redact);
    assert_eq!(LeakSite::DbWrite.policy(), LeakPolicy::Block);
    assert_eq!(LeakSite::ChannelMessage.policy(), LeakPolicy::Block);
}

#[test]
fn responses_redact_stored_values_but_leave_tokens_the_guest_asked_for() -> Result<(), BuildError> {
    let (scanner, _) = scanner()?;
    let issued = format!("gho_{}", random(ALNUM, 36, 301));
    let body = format!("{{\"access_token\":\"{issued}\",\"echo\":\"{OPENAI_VALUE}\"}}");
    let out = scanner.check_at(body.as_bytes(), LeakSite::InboundResponse, "response body");
    let expected =
        format!("{{\"access_token\":\"{issued}\",\"echo\":\"[REDACTED:OPENAI_API_KEY]\"}}");
    assert!(matches!(out, Ok(Cow::Owned(b)) if b == expected.as_bytes()));
    // The same token going out is blocked.
    let err = blocked(scanner.check_at(issued.as_bytes(), LeakSite::OutboundRequest, "body"));
    assert_eq!(
        err.to_string(),
        "possible secret leak blocked in body: pattern github_oauth_token"
    );
    Ok(())
}

#[test]
fn debug_and_display_of_findings_never_contain_the_match() -> Result<(), BuildError> {
    let (scanner, canary) = scanner()?;
    let token = format!("sk-proj-{}", random(ALNUM_DASH, 80, 302));
    let pieces = [
        OPENAI_VALUE.to_owned(),
        hex::encode(OPENAI_VALUE),
        token.clone(),
        canary.value().to_owned(),
    ];
    let text = pieces.join(" | ");
    let findings = scanner.scan(text.as_bytes());
    assert_eq!(findings.len(), 4, "{findings:?}");
    let err = blocked(scanner.check(text.as_bytes(), LeakPolicy::Block, "db write"));
    let mut shown = vec![format!("{err}"), format!("{err:?}"), format!("{scanner:?}")];
    for f in &findings {
        shown.push(format!("{f}"));
        shown.push(format!("{f:?}"));
    }
    for s in &shown {
        for piece in &pieces {
            assert!(!s.contains(piece.as_str()), "{s}");
        }
        // Not even a fragment long enough to matter.
        assert!(
            !s.contains(&OPENAI_VALUE[..12]) && !s.contains(&token[..16]),
            "{s}"
        );
    }
    let display: Vec<String> = findings.iter().map(|f| f.to_string()).collect();
    assert_eq!(
        display,
        vec![
            "secret OPENAI_API_KEY at bytes 0..36",
            "secret OPENAI_API_KEY (hex) at bytes 39..111",
            format!(
                "pattern openai_project_key at bytes 114..{}",
                114 + token.len()
            )
            .as_str(),
            format!("canary at bytes {}..{}", text.len() - 48, text.len()).as_str(),
        ]
    );
    Ok(())
}

#[test]
fn clones_share_tables_and_agree() -> Result<(), BuildError> {
    let (scanner, _) = scanner()?;
    let clone = scanner.clone();
    let handle = std::thread::spawn(move || clone.contains_leak(OPENAI_VALUE.as_bytes()));
    assert!(matches!(handle.join(), Ok(true)));
    assert!(scanner.contains_leak(OPENAI_VALUE.as_bytes()));
    Ok(())
}

#[test]
fn contains_leak_agrees_with_scan() -> Result<(), BuildError> {
    let (scanner, canary) = scanner()?;
    let inputs: Vec<Vec<u8>> = vec![
        b"nothing here".to_vec(),
        b"100% clean %zz".to_vec(),
        b"correct+horse+battery".to_vec(),
        b"correct%20horse%20battery".to_vec(),
        b"aws_secret_access_key%3D"
            .iter()
            .chain(random(BASE64, 40, 303).as_bytes())
            .copied()
            .collect(),
        hex::encode_upper(canary.value()).into_bytes(),
        random(BASE64, 3000, 304).into_bytes(),
    ];
    for input in inputs {
        assert_eq!(
            scanner.contains_leak(&input),
            !scanner.scan(&input).is_empty(),
            "{}",
            String::from_utf8_lossy(&input)
        );
    }
    Ok(())
}

#[test]
fn percent_encoded_findings_are_labelled_as_such() -> Result<(), BuildError> {
    let (scanner, _) = scanner()?;
    let findings = scanner.scan(b"q=correct%20horse%20battery");
    let got: Vec<_> = findings
        .iter()
        .map(|f| (f.label(), f.encoding, f.range.clone()))
        .collect();
    assert_eq!(got, vec![("SMTP_PASSWORD", Encoding::Percent, 2..27)]);
    Ok(())
}

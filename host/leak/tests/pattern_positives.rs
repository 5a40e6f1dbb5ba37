//! Every pattern finds a realistic sample, reports the right id, and covers
//! exactly the credential (not its surroundings).

use super::*;
use crate::leak::{Severity, patterns};

/// (pattern id, sample credential, the part the finding must cover).
fn samples() -> Vec<(&'static str, String, String)> {
    let same = |id: &'static str, token: String| (id, token.clone(), token);
    let aws_secret = random(BASE64, 40, 5);
    let telegram = format!("{}:AA{}", random(DIGITS, 10, 6), random(ALNUM_DASH, 33, 7));
    let db_password = random(ALNUM, 16, 8);
    vec![
        same("openai_api_key", format!("sk-{}", random(ALNUM, 48, 1))),
        same(
            "openai_api_key",
            format!(
                "sk-{}T3BlbkFJ{}",
                random(ALNUM, 20, 2),
                random(ALNUM, 20, 3)
            ),
        ),
        same(
            "openai_project_key",
            format!("sk-proj-{}", random(ALNUM_DASH, 120, 4)),
        ),
        same(
            "openai_project_key",
            format!("sk-svcacct-{}", random(ALNUM_DASH, 64, 9)),
        ),
        same(
            "anthropic_api_key",
            format!("sk-ant-api03-{}AA", random(ALNUM_DASH, 93, 10)),
        ),
        same(
            "aws_access_key_id",
            format!("AKIA{}", random(UPPER_DIGITS, 16, 11)),
        ),
        same(
            "aws_access_key_id",
            format!("ASIA{}", random(UPPER_DIGITS, 16, 12)),
        ),
        (
            "aws_secret_access_key",
            format!("AWS_SECRET_ACCESS_KEY={aws_secret}\n"),
            aws_secret.clone(),
        ),
        (
            "aws_secret_access_key",
            format!("{{\"SecretAccessKey\": \"{aws_secret}\"}}"),
            aws_secret.clone(),
        ),
        (
            "aws_secret_access_key",
            format!("aws_secret_key = '{aws_secret}'"),
            aws_secret,
        ),
        same("github_pat", format!("ghp_{}", random(ALNUM, 36, 13))),
        same(
            "github_oauth_token",
            format!("gho_{}", random(ALNUM, 36, 14)),
        ),
        same(
            "github_user_token",
            format!("ghu_{}", random(ALNUM, 36, 15)),
        ),
        same(
            "github_server_token",
            format!("ghs_{}", random(ALNUM, 36, 16)),
        ),
        same(
            "github_refresh_token",
            format!("ghr_{}", random(ALNUM, 76, 17)),
        ),
        same(
            "github_fine_grained_pat",
            format!(
                "github_pat_{}_{}",
                random(ALNUM, 22, 18),
                random(ALNUM, 59, 19)
            ),
        ),
        same(
            "gitlab_pat",
            format!("glpat-{}", random(ALNUM_DASH, 20, 20)),
        ),
        same(
            "slack_token",
            format!(
                "xoxb-{}-{}-{}",
                random(DIGITS, 12, 21),
                random(DIGITS, 13, 22),
                random(ALNUM, 24, 23)
            ),
        ),
        same(
            "slack_token",
            format!(
                "xoxp-{}-{}-{}-{}",
                random(DIGITS, 12, 24),
                random(DIGITS, 12, 25),
                random(DIGITS, 13, 26),
                random(HEX, 32, 27)
            ),
        ),
        same(
            "slack_app_token",
            format!(
                "xapp-1-A{}-{}-{}",
                random(UPPER_DIGITS, 10, 28),
                random(DIGITS, 13, 29),
                random(HEX, 64, 30)
            ),
        ),
        same(
            "slack_webhook_url",
            format!(
                "https://hooks.slack.com/services/T{}/B{}/{}",
                random(UPPER_DIGITS, 8, 31),
                random(UPPER_DIGITS, 10, 32),
                random(ALNUM, 24, 33)
            ),
        ),
        same("telegram_bot_token", telegram),
        same(
            "google_api_key",
            format!("AIza{}", random(ALNUM_DASH, 35, 34)),
        ),
        same(
            "google_oauth_client_secret",
            format!("GOCSPX-{}", random(ALNUM_DASH, 28, 35)),
        ),
        same(
            "stripe_live_secret_key",
            format!("sk_live_{}", random(ALNUM, 99, 36)),
        ),
        same(
            "stripe_restricted_key",
            format!("rk_live_{}", random(ALNUM, 24, 37)),
        ),
        same(
            "stripe_test_secret_key",
            format!("sk_test_{}", random(ALNUM, 24, 38)),
        ),
        same("twilio_api_key", format!("SK{}", random(HEX, 32, 39))),
        same(
            "sendgrid_api_key",
            format!(
                "SG.{}.{}",
                random(ALNUM_DASH, 22, 40),
                random(ALNUM_DASH, 43, 41)
            ),
        ),
        same("npm_token", format!("npm_{}", random(ALNUM, 36, 42))),
        same(
            "pypi_token",
            format!("pypi-AgEIcHlwaS5vcmc{}", random(ALNUM_DASH, 120, 43)),
        ),
        same("huggingface_token", format!("hf_{}", random(ALNUM, 34, 44))),
        same(
            "discord_bot_token",
            format!(
                "MT{}.{}.{}",
                random(ALNUM_DASH, 24, 45),
                random(ALNUM_DASH, 6, 46),
                random(ALNUM_DASH, 38, 47)
            ),
        ),
        same(
            "private_key_pem",
            format!(
                "-----BEGIN RSA PRIVATE KEY-----\n{}\n{}\n-----END RSA PRIVATE KEY-----",
                random(BASE64, 64, 48),
                random(BASE64, 40, 49)
            ),
        ),
        same(
            "private_key_pem",
            format!(
                "-----BEGIN OPENSSH PRIVATE KEY-----\n{}\n-----END OPENSSH PRIVATE KEY-----",
                random(BASE64, 70, 50)
            ),
        ),
        same(
            "age_secret_key",
            format!(
                "AGE-SECRET-KEY-1{}",
                random(b"QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", 58, 51)
            ),
        ),
        same(
            "jwt",
            format!(
                "eyJhbGciOiJIUzI1NiJ9.eyJ{}.{}",
                random(ALNUM_DASH, 40, 52),
                random(ALNUM_DASH, 43, 53)
            ),
        ),
        (
            "postgres_url_password",
            format!("postgres://app:{db_password}@db.internal:5432/main"),
            db_password.clone(),
        ),
        (
            "postgres_url_password",
            format!("postgresql+psycopg2://app:{db_password}@db/main"),
            db_password.clone(),
        ),
        (
            "mysql_url_password",
            format!("mysql://root:{db_password}@localhost/shop"),
            db_password.clone(),
        ),
        (
            "mongodb_url_password",
            format!("mongodb+srv://u:{db_password}@cluster0.example.net/x"),
            db_password.clone(),
        ),
        (
            "redis_url_password",
            format!("rediss://:{db_password}@cache:6380/0"),
            db_password,
        ),
    ]
}

#[test]
fn every_sample_is_found_with_its_id_and_exact_range() -> Result<(), BuildError> {
    let scanner = patterns_only()?;
    for (id, sample, secret) in samples() {
        let text = format!("config says: {sample} -- end of line");
        let findings = scanner.scan(text.as_bytes());
        let hit = findings.iter().find(|f| f.label() == id);
        let Some(hit) = hit else {
            panic!("{id} not found; found {findings:?}");
        };
        assert_eq!(covered(text.as_bytes(), hit), secret.as_bytes(), "{id}");
        assert!(scanner.contains_leak(text.as_bytes()), "{id}");
    }
    Ok(())
}

#[test]
fn samples_are_found_at_the_edges_of_the_input() -> Result<(), BuildError> {
    let scanner = patterns_only()?;
    for (id, sample, _) in samples() {
        assert!(
            pattern_ids(&scanner, sample.as_bytes()).contains(&id),
            "{id} alone"
        );
        let quoted = format!("\"{sample}\"");
        assert!(
            pattern_ids(&scanner, quoted.as_bytes()).contains(&id),
            "{id} quoted"
        );
    }
    Ok(())
}

#[test]
fn every_pattern_has_a_sample() {
    let sampled: Vec<&str> = samples().iter().map(|(id, _, _)| *id).collect();
    for info in patterns() {
        if info.id == "ironclaw_canary" {
            continue;
        }
        assert!(sampled.contains(&info.id), "no sample for {}", info.id);
    }
}

#[test]
fn the_catalogue_is_large_with_unique_ids_and_names() {
    let all: Vec<_> = patterns().collect();
    assert!(all.len() >= 24, "{} patterns", all.len());
    for (i, a) in all.iter().enumerate() {
        assert!(!a.name.is_empty());
        assert!(
            a.id.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_'),
            "{}",
            a.id
        );
        assert!(
            all[i + 1..].iter().all(|b| b.id != a.id),
            "duplicate {}",
            a.id
        );
    }
    let critical = all
        .iter()
        .filter(|p| p.severity == Severity::Critical)
        .count();
    assert!(critical > 0 && critical < all.len());
}

#[test]
fn tokens_are_found_in_non_utf8_bytes() -> Result<(), BuildError> {
    let scanner = patterns_only()?;
    let token = format!("ghp_{}", random(ALNUM, 36, 60));
    let mut body = vec![0xff, 0xfe, 0x00, 0xc3];
    body.extend_from_slice(token.as_bytes());
    body.extend_from_slice(&[0x80, 0x81]);
    assert_eq!(pattern_ids(&scanner, &body), vec!["github_pat"]);
    Ok(())
}

#[test]
fn a_pem_key_without_end_line_is_covered_through_its_body() -> Result<(), BuildError> {
    let scanner = patterns_only()?;
    let body = random(BASE64, 64, 61);
    let text = format!("-----BEGIN PRIVATE KEY-----\n{body}\n(truncated) thanks");
    let findings = scanner.scan(text.as_bytes());
    assert_eq!(findings.len(), 1);
    let covered = String::from_utf8_lossy(covered(text.as_bytes(), &findings[0])).into_owned();
    assert!(covered.contains(&body));
    assert!(!covered.contains("truncated"));
    Ok(())
}

#[test]
fn a_pem_block_redaction_stops_at_its_end_line() -> Result<(), BuildError> {
    let scanner = patterns_only()?;
    let text = format!(
        "before\n-----BEGIN EC PRIVATE KEY-----\n{}\n-----END EC PRIVATE KEY-----\nAfter the key",
        random(BASE64, 64, 62)
    );
    let out = scanner.redact(text.as_bytes());
    assert_eq!(
        out.as_ref(),
        b"before\n[REDACTED:private_key_pem]\nAfter the key"
    );
    Ok(())
}

#[test]
fn a_connection_string_keeps_everything_but_the_password() -> Result<(), BuildError> {
    let scanner = patterns_only()?;
    let text = format!(
        "DATABASE_URL=postgres://app:{}@db:5432/main",
        random(ALNUM, 20, 63)
    );
    let out = scanner.redact(text.as_bytes());
    assert_eq!(
        out.as_ref(),
        b"DATABASE_URL=postgres://app:[REDACTED:postgres_url_password]@db:5432/main"
    );
    Ok(())
}

//! Ordinary text and code must pass: a scanner that blocks legitimate
//! traffic gets switched off.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::*;

fn assert_clean(scanner: &LeakScanner, text: &str) {
    let findings = scanner.scan(text.as_bytes());
    assert!(findings.is_empty(), "{text:?} -> {findings:?}");
    assert!(!scanner.contains_leak(text.as_bytes()), "{text:?}");
}

#[test]
fn ordinary_english_is_clean() -> Result<(), BuildError> {
    let scanner = patterns_only()?;
    for text in [
        "The quick brown fox jumps over the lazy dog.",
        "Please send the quarterly report to the finance team by Friday, 5 pm.",
        "Secret: we are planning a surprise party. The password is in the cake.",
        "My AWS bill went up; the AKIA prefix marks long-term access keys.",
        "Use sk-learn (scikit-learn) for the regression and numpy for arrays.",
        "She said: \"ghp tokens expire\" and walked off; hf_hub_download is a function.",
        "Look at -----BEGIN CERTIFICATE----- blocks, they are public.",
        "Call me at 555-0100 or +1 (415) 555-0199; order #123456789: shipped.",
        "xoxo, see you soon! sk- and rk_ are just prefixes.",
    ] {
        assert_clean(&scanner, text);
    }
    Ok(())
}

#[test]
fn identifiers_hashes_and_uuids_are_clean() -> Result<(), BuildError> {
    let scanner = patterns_only()?;
    let sha1 = random(HEX, 40, 100);
    let sha256 = random(HEX, 64, 101);
    let uuid = format!(
        "{}-{}-4{}-a{}-{}",
        random(HEX, 8, 102),
        random(HEX, 4, 103),
        random(HEX, 3, 104),
        random(HEX, 3, 105),
        random(HEX, 12, 106)
    );
    for text in [
        format!("commit {sha1}\nMerge: {}", &sha1[..7]),
        format!("sha256:{sha256}"),
        format!("request id {uuid} failed"),
        format!(
            "{{\"id\":\"{uuid}\",\"etag\":\"{}\"}}",
            random(HEX, 32, 107)
        ),
        "let sk_live_mode = config.sk_live_enabled; // see ghp_docs".to_owned(),
        "fn hf_tokenizer_load(path: &Path) -> Result<Tokenizer, Error>".to_owned(),
        "postgres://localhost:5432/app and mysql://db/shop".to_owned(),
        "DATABASE_URL=postgres://app:${DB_PASSWORD}@db:5432/main".to_owned(),
        "redis://:<password>@cache:6379 or mongodb://u:****@host".to_owned(),
        "ssh git@github.com:owner/repo.git and user@example.com".to_owned(),
        "AKIA1234".to_owned(),
        "AIzaSy-short".to_owned(),
        format!(
            "eyJhbGciOiJIUzI1NiJ9 is just a header; {}",
            random(ALNUM, 30, 108)
        ),
        "1234567:abc".to_owned(),
    ] {
        assert_clean(&scanner, &text);
    }
    Ok(())
}

#[test]
fn base64_of_harmless_text_is_clean() -> Result<(), BuildError> {
    let scanner = patterns_only()?;
    for text in [
        "hello world, this is a perfectly harmless sentence to encode",
        "{\"user\":\"alice\",\"role\":\"reader\",\"theme\":\"dark\"}",
        "The rain in Spain stays mainly in the plain.",
    ] {
        assert_clean(&scanner, &STANDARD.encode(text));
    }
    // A data URI with a sizeable random payload.
    let blob = random(BASE64, 4096, 109);
    assert_clean(&scanner, &format!("data:image/png;base64,{blob}"));
    Ok(())
}

#[test]
fn near_misses_on_length_or_charset_are_clean() -> Result<(), BuildError> {
    let scanner = patterns_only()?;
    for text in [
        // One character short.
        format!("ghp_{}", random(ALNUM, 35, 110)),
        format!("npm_{}", random(ALNUM, 35, 111)),
        format!("AKIA{}", random(UPPER_DIGITS, 15, 112)),
        format!("sk-{}", random(ALNUM, 47, 113)),
        // Too long for a fixed-length format.
        format!("ghp_{}", random(ALNUM, 40, 114)),
        format!("AIza{}", random(ALNUM, 36, 115)),
        // Embedded in a longer identifier.
        format!("xghp_{}", random(ALNUM, 36, 116)),
        format!("my_npm_{}", random(ALNUM, 36, 117)),
        // Lowercase where uppercase is required.
        format!("akia{}", random(UPPER_DIGITS, 16, 118).to_ascii_lowercase()),
        // A Telegram-like pair without the AA marker.
        format!("{}:{}", random(DIGITS, 9, 119), random(ALNUM, 35, 120)),
    ] {
        assert_clean(&scanner, &text);
    }
    Ok(())
}

#[test]
fn random_prose_like_noise_is_clean() -> Result<(), BuildError> {
    let scanner = patterns_only()?;
    let words = [
        "alpha",
        "bravo",
        "token",
        "secret",
        "key",
        "api",
        "sk",
        "hf",
        "pat",
        "aws",
        "=",
        ":",
        "Bearer",
        "https://example.com/path?q=1",
        "0x1f",
        "42",
    ];
    let mut text = String::new();
    for i in 0..2000u64 {
        let pick = random(DIGITS, 2, i).parse::<usize>().unwrap_or(0) % words.len();
        text.push_str(words[pick]);
        text.push(' ');
    }
    assert_clean(&scanner, &text);
    Ok(())
}

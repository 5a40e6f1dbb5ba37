//! Webhook verification as a channel's manifest declares it, run by the
//! host before the component sees anything. Every comparison of secret
//! material is constant-time; every refusal says what was wrong without
//! echoing what was sent.

use base64::Engine as _;
use subtle::ConstantTimeEq;

use crate::registry::channel_manifest::{Challenge, HmacVerify, SignatureEncoding, Verify};

/// Why a request was refused (the text goes to the log and the health
/// record, a short form to the provider).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the `{0}` header is missing")]
    MissingHeader(String),
    #[error("the `{0}` header does not match")]
    Mismatch(String),
    #[error("the timestamp in `{header}` is not a Unix time in seconds")]
    BadTimestamp { header: String },
    #[error("the timestamp is {age} s away from now, outside the {window} s window")]
    Stale { age: u64, window: u64 },
    #[error("the verification secret `{0}` is not set (`ironclaw secrets set {0}`)")]
    SecretNotSet(String),
}

/// Looks up a header by name, case-insensitively.
pub type Headers<'a> = &'a [(String, String)];

fn header<'a>(headers: Headers<'a>, name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    // Lengths are not secret (they are fixed by the format); contents are.
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Checks `verify` against a request; `secret` is the vault value it names.
pub fn verify(
    verify: &Verify,
    secret: Option<&str>,
    headers: Headers<'_>,
    body: &[u8],
    now_secs: u64,
) -> Result<(), VerifyError> {
    let secret = secret.ok_or_else(|| VerifyError::SecretNotSet(verify.secret().to_string()))?;
    match verify {
        Verify::HeaderSecret { header: name, .. } => {
            let got =
                header(headers, name).ok_or_else(|| VerifyError::MissingHeader(name.clone()))?;
            if ct_eq(got.as_bytes(), secret.as_bytes()) {
                Ok(())
            } else {
                Err(VerifyError::Mismatch(name.clone()))
            }
        }
        Verify::HmacSha256(h) => verify_hmac(h, secret, headers, body, now_secs),
    }
}

fn verify_hmac(
    h: &HmacVerify,
    secret: &str,
    headers: Headers<'_>,
    body: &[u8],
    now_secs: u64,
) -> Result<(), VerifyError> {
    let signature = header(headers, &h.signature_header)
        .ok_or_else(|| VerifyError::MissingHeader(h.signature_header.clone()))?;
    let timestamp = match &h.timestamp_header {
        Some(name) => {
            let raw =
                header(headers, name).ok_or_else(|| VerifyError::MissingHeader(name.clone()))?;
            let ts: u64 = raw.trim().parse().map_err(|_| VerifyError::BadTimestamp {
                header: name.clone(),
            })?;
            let age = now_secs.abs_diff(ts);
            if age > h.window_secs {
                return Err(VerifyError::Stale {
                    age,
                    window: h.window_secs,
                });
            }
            Some(raw.trim())
        }
        None => None,
    };
    let expected = signature_of(h, secret, timestamp, body);
    let got = signature
        .strip_prefix(h.signature_prefix.as_str())
        .unwrap_or("");
    // Hex is compared case-insensitively (providers send lower case).
    let matches = match h.encoding {
        SignatureEncoding::Hex => ct_eq(got.to_ascii_lowercase().as_bytes(), expected.as_bytes()),
        SignatureEncoding::Base64 => ct_eq(got.as_bytes(), expected.as_bytes()),
    };
    if matches {
        Ok(())
    } else {
        Err(VerifyError::Mismatch(h.signature_header.clone()))
    }
}

/// The signature the recipe gives for this request, encoded.
pub fn signature_of(h: &HmacVerify, secret: &str, timestamp: Option<&str>, body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    // The recipe is text around `{body}`; only `{timestamp}` is substituted.
    let (before, after) = h
        .signed_payload
        .split_once("{body}")
        .unwrap_or((h.signed_payload.as_str(), ""));
    let ts = timestamp.unwrap_or("");
    mac.update(before.replace("{timestamp}", ts).as_bytes());
    mac.update(body);
    mac.update(after.replace("{timestamp}", ts).as_bytes());
    let bytes = mac.finalize().into_bytes();
    match h.encoding {
        SignatureEncoding::Hex => hex::encode(bytes),
        SignatureEncoding::Base64 => base64::engine::general_purpose::STANDARD.encode(bytes),
    }
}

/// What a GET challenge gets: `Some(challenge)` to echo when the mode and
/// verify token match, `None` to refuse.
pub fn challenge<'q>(
    c: &Challenge,
    secret: Option<&str>,
    query: &'q [(String, String)],
) -> Result<&'q str, VerifyError> {
    let secret = secret.ok_or_else(|| VerifyError::SecretNotSet(c.secret.clone()))?;
    let get = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let mode =
        get(&c.mode_param).ok_or_else(|| VerifyError::MissingHeader(c.mode_param.clone()))?;
    if mode != c.mode_value {
        return Err(VerifyError::Mismatch(c.mode_param.clone()));
    }
    let token =
        get(&c.token_param).ok_or_else(|| VerifyError::MissingHeader(c.token_param.clone()))?;
    if !ct_eq(token.as_bytes(), secret.as_bytes()) {
        return Err(VerifyError::Mismatch(c.token_param.clone()));
    }
    get(&c.challenge_param).ok_or_else(|| VerifyError::MissingHeader(c.challenge_param.clone()))
}

/// `a=1&b=x%20y` → pairs, percent- and plus-decoded.
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'+', _, _) => out.push(b' '),
            (b'%', Some(hi), Some(lo)) => {
                out.push(hi << 4 | lo);
                i += 2;
            }
            (b, _, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slack() -> HmacVerify {
        HmacVerify {
            secret: "slack_signing_secret".into(),
            signature_header: "X-Slack-Signature".into(),
            signature_prefix: "v0=".into(),
            encoding: SignatureEncoding::Hex,
            timestamp_header: Some("X-Slack-Request-Timestamp".into()),
            window_secs: 300,
            signed_payload: "v0:{timestamp}:{body}".into(),
        }
    }

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn slacks_documented_example_verifies() {
        // The example from Slack's "Verifying requests from Slack" page.
        let secret = "8f742231b10e8888abcd99yyyzzz85a5";
        let body = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        let headers = h(&[
            ("x-slack-request-timestamp", "1531420618"),
            (
                "x-slack-signature",
                "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
            ),
        ]);
        let v = Verify::HmacSha256(slack());
        verify(&v, Some(secret), &headers, body, 1531420618 + 10).unwrap();
        // Stale.
        let e = verify(&v, Some(secret), &headers, body, 1531420618 + 301).unwrap_err();
        assert!(matches!(e, VerifyError::Stale { .. }), "{e}");
        // One byte of the body changed.
        let mut forged = body.to_vec();
        forged[0] = b'T';
        let e = verify(&v, Some(secret), &headers, &forged, 1531420618).unwrap_err();
        assert_eq!(e, VerifyError::Mismatch("X-Slack-Signature".into()));
        // No secret stored: refused, naming it.
        let e = verify(&v, None, &headers, body, 1531420618).unwrap_err();
        assert!(
            e.to_string()
                .contains("ironclaw secrets set slack_signing_secret")
        );
    }

    #[test]
    fn header_secret_and_missing_headers() {
        let v = Verify::HeaderSecret {
            header: "X-Telegram-Bot-Api-Secret-Token".into(),
            secret: "telegram_webhook_secret".into(),
        };
        let ok = h(&[("x-telegram-bot-api-secret-token", "s3cret")]);
        verify(&v, Some("s3cret"), &ok, b"{}", 0).unwrap();
        let bad = h(&[("x-telegram-bot-api-secret-token", "s3creT")]);
        assert!(verify(&v, Some("s3cret"), &bad, b"{}", 0).is_err());
        let e = verify(&v, Some("s3cret"), &[], b"{}", 0).unwrap_err();
        assert!(matches!(e, VerifyError::MissingHeader(_)));
    }

    #[test]
    fn whatsapp_style_body_signature() {
        let hv = HmacVerify {
            secret: "whatsapp_app_secret".into(),
            signature_header: "X-Hub-Signature-256".into(),
            signature_prefix: "sha256=".into(),
            encoding: SignatureEncoding::Hex,
            timestamp_header: None,
            window_secs: 300,
            signed_payload: "{body}".into(),
        };
        let sig = signature_of(&hv, "appsecret", None, b"{\"a\":1}");
        let headers = h(&[("X-Hub-Signature-256", &format!("sha256={sig}"))]);
        verify(
            &Verify::HmacSha256(hv.clone()),
            Some("appsecret"),
            &headers,
            b"{\"a\":1}",
            0,
        )
        .unwrap();
        let no_prefix = h(&[("X-Hub-Signature-256", &sig)]);
        assert!(
            verify(
                &Verify::HmacSha256(hv),
                Some("appsecret"),
                &no_prefix,
                b"{\"a\":1}",
                0
            )
            .is_err()
        );
    }

    #[test]
    fn challenges_need_the_mode_and_the_token() {
        let c = Challenge {
            mode_param: "hub.mode".into(),
            mode_value: "subscribe".into(),
            token_param: "hub.verify_token".into(),
            challenge_param: "hub.challenge".into(),
            secret: "whatsapp_verify_token".into(),
        };
        let q =
            parse_query("hub.mode=subscribe&hub.verify_token=tok%20en&hub.challenge=1158201444");
        assert_eq!(challenge(&c, Some("tok en"), &q).unwrap(), "1158201444");
        assert!(challenge(&c, Some("token"), &q).is_err());
        let q = parse_query("hub.mode=unsubscribe&hub.verify_token=tok%20en&hub.challenge=1");
        assert!(challenge(&c, Some("tok en"), &q).is_err());
        assert!(challenge(&c, None, &q).is_err());
    }
}

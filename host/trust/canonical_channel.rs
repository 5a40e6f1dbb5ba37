//! The canonical form of a manifest's `[channel]` section: the webhook
//! verification it declares is part of what the publisher signs, so a
//! tampered recipe (a weaker check, another secret) breaks the signature.

use super::canonical::{Canon, obj, opt, str};
use crate::registry::channel_manifest::{Challenge, ChannelSection, Dedupe, HmacVerify, Verify};

pub(super) fn section_value(section: &ChannelSection) -> Canon {
    let ChannelSection {
        base_url_key,
        base_url,
        verify,
        challenge,
        dedupe,
    } = section;
    obj([
        ("base-url-key", opt(base_url_key, |s| str(s))),
        ("base-url", opt(base_url, |s| str(s))),
        ("verify", opt(verify, verify_value)),
        ("challenge", opt(challenge, challenge_value)),
        (
            "dedupe",
            opt(dedupe, |Dedupe { event_id }| {
                obj([("event-id", str(event_id))])
            }),
        ),
    ])
}

fn verify_value(verify: &Verify) -> Canon {
    match verify {
        Verify::HeaderSecret { header, secret } => obj([
            ("kind", str("header-secret")),
            ("header", str(header)),
            ("secret", str(secret)),
        ]),
        Verify::HmacSha256(HmacVerify {
            secret,
            signature_header,
            signature_prefix,
            encoding,
            timestamp_header,
            window_secs,
            signed_payload,
        }) => obj([
            ("kind", str("hmac-sha256")),
            ("secret", str(secret)),
            ("signature-header", str(signature_header)),
            ("signature-prefix", str(signature_prefix)),
            ("encoding", str(encoding.as_str())),
            ("timestamp-header", opt(timestamp_header, |s| str(s))),
            ("window-secs", Canon::Num(*window_secs)),
            ("signed-payload", str(signed_payload)),
        ]),
    }
}

fn challenge_value(c: &Challenge) -> Canon {
    let Challenge {
        mode_param,
        mode_value,
        token_param,
        challenge_param,
        secret,
    } = c;
    obj([
        ("mode-param", str(mode_param)),
        ("mode-value", str(mode_value)),
        ("token-param", str(token_param)),
        ("challenge-param", str(challenge_param)),
        ("secret", str(secret)),
    ])
}

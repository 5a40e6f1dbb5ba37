//! Credentials belong to the host. A guest may not set credential headers
//! itself; the host injects the granted secrets where the manifest says —
//! bearer, basic, a header with a prefix, a query parameter, or a
//! placeholder in the URL path — and only for the hosts the grant names.

use base64::Engine as _;
use http::header::{AUTHORIZATION, HeaderName, HeaderValue};
use http::{HeaderMap, Uri};

use super::rules::host_matches;
use crate::capabilities::live_secrets::SecretSet;
use crate::registry::manifest::{Injection, SecretRequest};

/// Headers that carry credentials; a guest setting one is refused.
const CREDENTIAL_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "x-api-key",
    "api-key",
    "x-goog-api-key",
    "x-auth-token",
    "x-access-token",
    "private-token",
    "x-vault-token",
    "x-amz-security-token",
    "x-csrf-token",
];

/// Why the guest's own headers are refused, if they are.
pub fn refuse_guest_credentials(
    headers: &HeaderMap,
    secrets: &[SecretRequest],
) -> Result<(), String> {
    for name in headers.keys() {
        let n = name.as_str();
        let injected_here = secrets.iter().any(
            |s| matches!(&s.inject, Injection::Header { name, .. } | Injection::HmacSha256 { header: name, .. } if name.eq_ignore_ascii_case(n)),
        );
        if CREDENTIAL_HEADERS.contains(&n) || injected_here {
            return Err(format!(
                "the component set the credential header `{n}`; credentials are injected by the host from granted secrets"
            ));
        }
    }
    Ok(())
}

/// Where a secret went, for the audit trail (names only).
pub type Injected = Vec<String>;

/// Injects every granted secret whose hosts include `url`'s host. A
/// granted secret that is not set fails the request (fail closed, and the
/// guest can ask `secrets.exists` first).
pub fn inject(
    secrets: &[SecretRequest],
    set: &SecretSet,
    url: &Uri,
    headers: &mut HeaderMap,
    body: &[u8],
) -> Result<(Uri, Injected), String> {
    let host = url.host().unwrap_or("");
    let mut url = url.clone();
    let mut injected = Vec::new();
    let path = url.path().to_string();
    for request in secrets.iter().filter(|s| {
        s.hosts.iter().any(|h| host_matches(h, host))
            && (s.paths.is_empty() || s.paths.iter().any(|p| path_matches(p, &path)))
    }) {
        let Some(value) = set.get(&request.name) else {
            return Err(format!(
                "secret `{}` is granted but not set (`ironclaw secrets set {}`)",
                request.name, request.name
            ));
        };
        let value = value.expose();
        let header = |text: String| {
            let mut v = HeaderValue::from_str(&text)
                .map_err(|_| format!("secret `{}` is not valid in a header", request.name))?;
            v.set_sensitive(true);
            Ok::<_, String>(v)
        };
        match &request.inject {
            Injection::Bearer => {
                headers.insert(AUTHORIZATION, header(format!("Bearer {value}"))?);
            }
            Injection::Basic { username } => {
                let pair =
                    base64::engine::general_purpose::STANDARD.encode(format!("{username}:{value}"));
                headers.insert(AUTHORIZATION, header(format!("Basic {pair}"))?);
            }
            Injection::Header { name, prefix } => {
                let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                    format!("secret `{}`: invalid header name `{name}`", request.name)
                })?;
                headers.insert(name, header(format!("{prefix}{value}"))?);
            }
            Injection::Query { param } => {
                url = with_query_param(&url, param, value)?;
            }
            Injection::Path { placeholder } => {
                url = with_path_value(&url, placeholder, value).ok_or_else(|| {
                    format!(
                        "secret `{}`: the URL path has no `{placeholder}` placeholder",
                        request.name
                    )
                })??;
            }
            Injection::HmacSha256 {
                header: name,
                prefix,
                timestamp_header,
            } => {
                let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                    format!("secret `{}`: invalid header name `{name}`", request.name)
                })?;
                let signature = match timestamp_header {
                    Some(ts_name) => {
                        let ts_name = HeaderName::from_bytes(ts_name.as_bytes()).map_err(|_| {
                            format!("secret `{}`: invalid header name `{ts_name}`", request.name)
                        })?;
                        let now = std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map(|d| d.as_secs())
                            .unwrap_or(0)
                            .to_string();
                        let signature = hmac_hex(value.as_bytes(), &[now.as_bytes(), b".", body]);
                        headers.insert(
                            ts_name,
                            HeaderValue::from_str(&now).map_err(|e| e.to_string())?,
                        );
                        signature
                    }
                    None => hmac_hex(value.as_bytes(), &[body]),
                };
                headers.insert(name, header(format!("{prefix}{signature}"))?);
            }
        }
        injected.push(request.name.clone());
    }
    Ok((url, injected))
}

/// Hex HMAC-SHA256 of the concatenated `parts`.
pub fn hmac_hex(key: &[u8], parts: &[&[u8]]) -> String {
    use hmac::{Hmac, Mac};
    // HMAC takes keys of any length; this cannot fail.
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(key) else {
        return String::new();
    };
    for part in parts {
        mac.update(part);
    }
    hex::encode(mac.finalize().into_bytes())
}

/// `*` matches any run of characters within one path segment.
pub fn path_matches(pattern: &str, path: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == path,
        Some((head, tail)) => {
            let Some(rest) = path.strip_prefix(head) else {
                return false;
            };
            let segment = rest.find('/').unwrap_or(rest.len());
            (0..=segment).any(|n| rest.is_char_boundary(n) && path_matches(tail, &rest[n..]))
        }
    }
}

fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn rebuild(url: &Uri, path_and_query: &str) -> Result<Uri, String> {
    let mut parts = url.clone().into_parts();
    parts.path_and_query = Some(
        path_and_query
            .parse()
            .map_err(|_| "the URL cannot carry the injected secret".to_string())?,
    );
    Uri::from_parts(parts).map_err(|_| "the URL cannot carry the injected secret".to_string())
}

fn with_query_param(url: &Uri, param: &str, value: &str) -> Result<Uri, String> {
    let path = url.path();
    let pair = format!("{}={}", percent_encode(param), percent_encode(value));
    let pq = match url.query() {
        Some(q) if !q.is_empty() => format!("{path}?{q}&{pair}"),
        _ => format!("{path}?{pair}"),
    };
    rebuild(url, &pq)
}

/// `None` when the path lacks the placeholder.
fn with_path_value(url: &Uri, placeholder: &str, value: &str) -> Option<Result<Uri, String>> {
    let path = url.path();
    if !path.contains(placeholder) {
        return None;
    }
    let path = path.replace(placeholder, &percent_encode(value));
    let pq = match url.query() {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    Some(rebuild(url, &pq))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::secrets::SecretValue;

    fn set() -> SecretSet {
        let mut values = BTreeMap::new();
        values.insert(
            "tok".to_string(),
            SecretValue::new("s3cr3t/value".to_string()),
        );
        SecretSet::new(values, None, Vec::new())
    }

    fn req(inject: Injection) -> Vec<SecretRequest> {
        vec![SecretRequest {
            name: "tok".into(),
            hosts: vec!["api.example.com".into()],
            inject,
            paths: Vec::new(),
        }]
    }

    fn run(inject: Injection, url: &str) -> (Uri, HeaderMap) {
        let mut headers = HeaderMap::new();
        let (url, names) = inject_ok(&req(inject), url, &mut headers);
        assert_eq!(names, ["tok"]);
        (url, headers)
    }

    fn inject_ok(reqs: &[SecretRequest], url: &str, headers: &mut HeaderMap) -> (Uri, Injected) {
        inject(reqs, &set(), &url.parse().unwrap(), headers, b"").unwrap()
    }

    #[test]
    fn each_placement() {
        let (_, h) = run(Injection::Bearer, "https://api.example.com/");
        assert_eq!(h["authorization"], "Bearer s3cr3t/value");
        assert!(h["authorization"].is_sensitive());
        let (_, h) = run(
            Injection::Basic {
                username: "me".into(),
            },
            "https://api.example.com/",
        );
        assert_eq!(h["authorization"], "Basic bWU6czNjcjN0L3ZhbHVl");
        let (_, h) = run(
            Injection::Header {
                name: "X-Key".into(),
                prefix: "Token ".into(),
            },
            "https://api.example.com/",
        );
        assert_eq!(h["x-key"], "Token s3cr3t/value");
        let (u, _) = run(
            Injection::Query {
                param: "key".into(),
            },
            "https://api.example.com/a?x=1",
        );
        assert_eq!(
            u.to_string(),
            "https://api.example.com/a?x=1&key=s3cr3t%2Fvalue"
        );
        let (u, _) = run(
            Injection::Path {
                placeholder: "BOT_TOKEN".into(),
            },
            "https://api.example.com/botBOT_TOKEN/send?q=1",
        );
        assert_eq!(
            u.to_string(),
            "https://api.example.com/bots3cr3t%2Fvalue/send?q=1"
        );
    }

    #[test]
    fn paths_limit_where_a_secret_goes() {
        assert!(path_matches("/bot*/setWebhook", "/bot{tok}/setWebhook"));
        assert!(!path_matches("/bot*/setWebhook", "/bot{tok}/sendMessage"));
        assert!(!path_matches("/bot*/setWebhook", "/bot/x/setWebhook"));
        assert!(path_matches("/hooks", "/hooks"));
        assert!(!path_matches("/hooks", "/hooks/x"));
        let mut reqs = req(Injection::Query {
            param: "secret_token".into(),
        });
        reqs[0].paths = vec!["/bot*/setWebhook".into()];
        let mut h = HeaderMap::new();
        let (u, injected) = inject_ok(&reqs, "https://api.example.com/bot1/sendMessage", &mut h);
        assert!(injected.is_empty());
        assert_eq!(u.query(), None);
        let (u, _) = inject_ok(&reqs, "https://api.example.com/bot1/setWebhook", &mut h);
        assert_eq!(u.query(), Some("secret_token=s3cr3t%2Fvalue"));
        // Not required where it does not apply, even when unset.
        reqs[0].name = "missing".into();
        inject_ok(&reqs, "https://api.example.com/bot1/sendMessage", &mut h);
    }

    #[test]
    fn hmac_signs_the_body() {
        let reqs = req(Injection::HmacSha256 {
            header: "x-signature".into(),
            prefix: "sha256=".into(),
            timestamp_header: None,
        });
        let mut h = HeaderMap::new();
        let url: Uri = "https://api.example.com/cb".parse().unwrap();
        inject(&reqs, &set(), &url, &mut h, b"{\"a\":1}").unwrap();
        let expected = format!("sha256={}", hmac_hex(b"s3cr3t/value", &[b"{\"a\":1}"]));
        assert_eq!(h["x-signature"], expected.as_str());
        // RFC 4231 test case 2.
        assert_eq!(
            hmac_hex(b"Jefe", &[b"what do ya want ", b"for nothing?"]),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn only_for_the_granted_hosts() {
        let mut h = HeaderMap::new();
        let (u, names) = inject_ok(
            &req(Injection::Bearer),
            "https://other.example.com/",
            &mut h,
        );
        assert!(names.is_empty() && h.is_empty());
        assert_eq!(u.to_string(), "https://other.example.com/");
    }

    #[test]
    fn a_granted_but_unset_secret_fails_closed() {
        let mut reqs = req(Injection::Bearer);
        reqs[0].name = "missing".into();
        let e = inject(
            &reqs,
            &set(),
            &"https://api.example.com/".parse().unwrap(),
            &mut HeaderMap::new(),
            b"",
        )
        .unwrap_err();
        assert!(e.contains("ironclaw secrets set missing"), "{e}");
    }

    #[test]
    fn guest_credential_headers_are_refused() {
        for name in [
            "authorization",
            "cookie",
            "proxy-authorization",
            "x-api-key",
            "x-goog-api-key",
        ] {
            let mut h = HeaderMap::new();
            h.insert(HeaderName::from_static(name), HeaderValue::from_static("x"));
            assert!(refuse_guest_credentials(&h, &[]).is_err(), "{name}");
        }
        let mut h = HeaderMap::new();
        h.insert("x-key", HeaderValue::from_static("x"));
        let reqs = req(Injection::Header {
            name: "X-Key".into(),
            prefix: String::new(),
        });
        assert!(
            refuse_guest_credentials(&h, &reqs).is_err(),
            "the injected header is the host's"
        );
        let mut h = HeaderMap::new();
        h.insert("accept", HeaderValue::from_static("*/*"));
        assert!(refuse_guest_credentials(&h, &reqs).is_ok());
    }
}

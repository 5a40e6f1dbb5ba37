//! The grant's allowlist: a request must match one rule on scheme, host
//! (exact, `*.example.com` for subdomains, or `*` for any public host),
//! port, path prefix (on a segment boundary, dot segments refused) and
//! method. A refusal says which part did not match.

use http::{Method, Uri};

use crate::registry::manifest::{HttpRequest, HttpRule};

/// `host` matches `pattern`: exact (case-insensitive, trailing dot
/// ignored), `*.example.com` (any subdomain, not the apex), or `*`.
pub fn host_matches(pattern: &str, host: &str) -> bool {
    let host = host.trim_end_matches('.');
    let pattern = pattern.trim_end_matches('.');
    if pattern == "*" {
        return true;
    }
    match pattern.strip_prefix("*.") {
        // `host` ends with `.suffix` and has at least one byte before it.
        Some(suffix) => {
            host.len() > suffix.len() + 1
                && host.as_bytes()[host.len() - suffix.len() - 1] == b'.'
                && host.as_bytes()[host.len() - suffix.len()..]
                    .eq_ignore_ascii_case(suffix.as_bytes())
        }
        None => host.eq_ignore_ascii_case(pattern),
    }
}

/// A path with `.`/`..` segments (literal or percent-encoded) could leave
/// the granted prefix once the server normalises it. Segments split on `/`
/// and `\`; `%2e` in either case is a dot; `%2f` and `%5c` (encoded
/// slashes) anywhere refuse the path too.
fn has_dot_segments(path: &str) -> bool {
    let bytes = path.as_bytes();
    let encoded_slash = bytes
        .windows(3)
        .any(|w| w.eq_ignore_ascii_case(b"%2f") || w.eq_ignore_ascii_case(b"%5c"));
    encoded_slash
        || bytes
            .split(|&b| b == b'/' || b == b'\\')
            .any(|seg| matches!(dots(seg), Some(1 | 2)))
}

/// How many dots `seg` is when it is made only of `.` and `%2e`.
fn dots(mut seg: &[u8]) -> Option<usize> {
    let mut n = 0;
    while !seg.is_empty() {
        if seg[0] == b'.' {
            seg = &seg[1..];
        } else if seg.len() >= 3 && seg[..3].eq_ignore_ascii_case(b"%2e") {
            seg = &seg[3..];
        } else {
            return None;
        }
        n += 1;
    }
    Some(n)
}

fn path_within(prefix: &str, path: &str) -> bool {
    if prefix.is_empty() || prefix == "/" {
        return true;
    }
    match path.strip_prefix(prefix) {
        Some(rest) => prefix.ends_with('/') || rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

pub fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "https" => Some(443),
        "http" => Some(80),
        _ => None,
    }
}

/// The rule allowing `method url`, or why none does.
pub fn find_rule<'a>(
    grant: &'a HttpRequest,
    method: &Method,
    url: &Uri,
) -> Result<&'a HttpRule, String> {
    let scheme = url.scheme_str().unwrap_or("");
    let implied = if scheme.eq_ignore_ascii_case("https") {
        default_port("https")
    } else if scheme.eq_ignore_ascii_case("http") {
        default_port("http")
    } else {
        None
    };
    let Some(port) = url.port_u16().or(implied) else {
        return Err(format!(
            "scheme `{}` is not allowed (http or https only)",
            scheme.to_ascii_lowercase()
        ));
    };
    let path = url.path();
    if has_dot_segments(path) {
        return Err(format!("path {path} has dot segments or encoded slashes"));
    }
    let host = url.host().unwrap_or("");
    let mut hosts = grant
        .allow
        .iter()
        .filter(|r| host_matches(&r.host, host))
        .peekable();
    if hosts.peek().is_none() {
        return Err(format!("host {host} is not in the component's HTTP grant"));
    }
    let mut why = String::new();
    for rule in hosts {
        let rule_port = rule.port.or_else(|| default_port(&rule.scheme));
        if !rule.scheme.eq_ignore_ascii_case(scheme) {
            why = format!(
                "{}:// is not allowed for {host} (only {}://)",
                scheme.to_ascii_lowercase(),
                rule.scheme
            );
        } else if rule_port != Some(port) {
            why = format!("port {port} is not allowed for {host}");
        } else if !path_within(&rule.path_prefix, path) {
            why = format!("path {path} is outside {} on {host}", rule.path_prefix);
        } else if !rule
            .methods
            .iter()
            .any(|m| m == "*" || m.eq_ignore_ascii_case(method.as_str()))
        {
            why = format!(
                "method {method} is not allowed for {host}{} (allowed: {})",
                rule.path_prefix,
                rule.methods.join(", ")
            );
        } else {
            return Ok(rule);
        }
    }
    Err(why)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant() -> HttpRequest {
        HttpRequest {
            allow: vec![
                HttpRule {
                    scheme: "https".into(),
                    host: "api.example.com".into(),
                    port: None,
                    path_prefix: "/v1".into(),
                    methods: vec!["GET".into(), "POST".into()],
                },
                HttpRule {
                    scheme: "https".into(),
                    host: "*.cdn.example.net".into(),
                    port: None,
                    path_prefix: "/".into(),
                    methods: vec!["GET".into()],
                },
            ],
        }
    }

    fn check(method: &str, url: &str) -> Result<(), String> {
        find_rule(&grant(), &method.parse().unwrap(), &url.parse().unwrap()).map(|_| ())
    }

    #[test]
    fn matching_requests_pass() {
        check("GET", "https://api.example.com/v1/models").unwrap();
        check("POST", "https://API.example.com./v1").unwrap();
        check("GET", "https://api.example.com:443/v1?x=1").unwrap();
        check("GET", "https://img.cdn.example.net/a.png").unwrap();
    }

    #[test]
    fn each_mismatch_says_why() {
        let e = check("GET", "https://evil.com/v1").unwrap_err();
        assert!(e.contains("host evil.com is not in"), "{e}");
        let e = check("GET", "http://api.example.com/v1").unwrap_err();
        assert!(e.contains("http:// is not allowed"), "{e}");
        let e = check("GET", "https://api.example.com:8443/v1").unwrap_err();
        assert!(e.contains("port 8443"), "{e}");
        let e = check("GET", "https://api.example.com/v2/x").unwrap_err();
        assert!(e.contains("outside /v1"), "{e}");
        let e = check("GET", "https://api.example.com/v1evil").unwrap_err();
        assert!(e.contains("outside /v1"), "segment boundary: {e}");
        let e = check("DELETE", "https://api.example.com/v1/x").unwrap_err();
        assert!(e.contains("method DELETE"), "{e}");
        let e = check("GET", "https://cdn.example.net/").unwrap_err();
        assert!(e.contains("not in"), "a wildcard is not the apex: {e}");
    }

    #[test]
    fn dot_segments_and_encoded_slashes_are_refused() {
        for p in [
            "/v1/../admin",
            "/v1/%2e%2e/admin",
            "/v1/%2E./x",
            "/v1/.",
            "/v1%2f..%2fadmin",
        ] {
            let e = check("GET", &format!("https://api.example.com{p}")).unwrap_err();
            assert!(e.contains("dot segments"), "{p}: {e}");
        }
    }

    /// The allocating forms these replaced, kept as the reference.
    fn old_dot_segments(path: &str) -> bool {
        let lowered = path.to_ascii_lowercase().replace("%2e", ".");
        lowered
            .split(['/', '\\'])
            .any(|seg| seg == "." || seg == "..")
            || lowered.contains("%2f")
            || lowered.contains("%5c")
    }

    fn old_host_matches(pattern: &str, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let pattern = pattern.trim_end_matches('.').to_ascii_lowercase();
        if pattern == "*" {
            return true;
        }
        match pattern.strip_prefix("*.") {
            Some(suffix) => host.len() > suffix.len() + 1 && host.ends_with(&format!(".{suffix}")),
            None => host == pattern,
        }
    }

    #[test]
    fn dot_segment_check_agrees_with_the_reference_on_every_short_path() {
        let alphabet = b"./\\%2eEfF5cCa";
        let mut path = Vec::new();
        fn each(path: &mut Vec<u8>, alphabet: &[u8], left: usize) {
            let s = std::str::from_utf8(path).unwrap();
            assert_eq!(has_dot_segments(s), old_dot_segments(s), "{s:?}");
            if left == 0 {
                return;
            }
            for &b in alphabet {
                path.push(b);
                each(path, alphabet, left - 1);
                path.pop();
            }
        }
        each(&mut path, alphabet, 5);
    }

    #[test]
    fn host_match_agrees_with_the_reference() {
        let names = [
            "*", "*.", "*.a.b", "*.A.b.", "a.b", "A.B.", "x.a.b", "X.A.B", "xa.b", ".a.b", "b", "",
            ".", "*.b", "a..b", "x.y.a.b.", "é.a.b", "É.A.B",
        ];
        for p in names {
            for h in names {
                assert_eq!(host_matches(p, h), old_host_matches(p, h), "{p:?} {h:?}");
            }
        }
    }

    #[test]
    fn star_matches_any_host() {
        assert!(host_matches("*", "anything.example"));
        assert!(host_matches("*.a.b", "x.y.a.b"));
        assert!(!host_matches("*.a.b", "a.b"));
        assert!(!host_matches("*.a.b", "xa.b"));
    }
}

//! What a component asks for, in plain words: shown by `component verify`
//! and to the owner before an install is approved.
//!
//! Everything quoted from a manifest goes through [`printable`]: a manifest
//! is written by the component's author, and a control character in a host
//! name or description must not be able to repaint the owner's terminal
//! (e.g. print a fake "trusted" over the real prompt).

use crate::registry::manifest::{
    HttpRule, Injection, LlmRequest, Manifest, MemoryRequest, SecretRequest,
};

/// `text` with control characters (and other non-printing ones) escaped.
pub fn printable(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escape = c.is_control() || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
            let shown: Vec<char> = if escape {
                c.escape_unicode().collect()
            } else {
                vec![c]
            };
            shown
        })
        .collect()
}

/// One line per thing the component asks for, then one for its limits.
pub fn describe_requests(manifest: &Manifest) -> Vec<String> {
    let caps = &manifest.capabilities;
    let mut lines = Vec::new();
    if caps.logging {
        lines.push("write log lines (rate-limited by the host)".to_string());
    }
    if let Some(http) = &caps.http {
        for rule in &http.allow {
            lines.push(describe_rule(rule));
        }
    }
    for secret in &caps.secrets {
        lines.push(describe_secret(secret));
    }
    if let Some(db) = &caps.db {
        lines.push(format!(
            "keep up to {} in its own key-value store",
            bytes(db.quota_bytes)
        ));
    }
    if let Some(memory) = &caps.memory {
        lines.extend(describe_memory(memory));
    }
    if let Some(llm) = &caps.llm {
        lines.extend(describe_llm(llm));
    }
    if lines.is_empty() {
        lines.push("nothing: no logging, network, secrets, storage, memory or LLM".to_string());
    }
    lines.push(describe_limits(manifest));
    lines
}

fn describe_rule(rule: &HttpRule) -> String {
    let methods = rule
        .methods
        .iter()
        .map(|m| printable(m))
        .collect::<Vec<_>>()
        .join(", ");
    let host = match rule.host.strip_prefix("*.") {
        Some(domain) => format!("any subdomain of {}", printable(domain)),
        None => printable(&rule.host),
    };
    let port = rule.port.map(|p| format!(" port {p}")).unwrap_or_default();
    let path = if rule.path_prefix == "/" {
        "any path".to_string()
    } else {
        format!("paths under {}", printable(&rule.path_prefix))
    };
    format!(
        "send HTTP {methods} requests over {} to {host}{port}, {path}",
        printable(&rule.scheme)
    )
}

fn describe_secret(secret: &SecretRequest) -> String {
    let how = match &secret.inject {
        Injection::Bearer => "as a bearer token".to_string(),
        Injection::Basic { username } => {
            format!(
                "as the basic-auth password of user `{}`",
                printable(username)
            )
        }
        Injection::Header { name, prefix } if prefix.is_empty() => {
            format!("in the `{}` header", printable(name))
        }
        Injection::Header { name, prefix } => format!(
            "in the `{}` header after `{}`",
            printable(name),
            printable(prefix)
        ),
        Injection::Query { param } => format!("as the `{}` query parameter", printable(param)),
        Injection::Path { placeholder } => {
            format!("in place of `{}` in the URL path", printable(placeholder))
        }
        Injection::HmacSha256 { header, .. } => format!(
            "as the key of an HMAC-SHA256 signature of the body in the `{}` header",
            printable(header)
        ),
    };
    let hosts = secret
        .hosts
        .iter()
        .map(|h| printable(h))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "use the secret `{}` (the host injects it {how} into requests to {hosts}; \
         the component never reads it)",
        printable(&secret.name)
    )
}

fn prefixes(entries: &[String]) -> String {
    if entries.iter().any(String::is_empty) {
        return "the whole workspace".to_string();
    }
    entries
        .iter()
        .map(|e| printable(e))
        .collect::<Vec<_>>()
        .join(", ")
}

fn describe_memory(memory: &MemoryRequest) -> Vec<String> {
    let mut lines = Vec::new();
    if !memory.read.is_empty() {
        lines.push(format!(
            "read and search workspace memory: {}",
            prefixes(&memory.read)
        ));
    }
    if !memory.write.is_empty() {
        lines.push(format!(
            "write and delete workspace memory: {}",
            prefixes(&memory.write)
        ));
    }
    lines
}

fn describe_llm(llm: &LlmRequest) -> Option<String> {
    match (llm.complete, llm.embed) {
        (true, true) => Some("ask the LLM for completions and embeddings".to_string()),
        (true, false) => Some("ask the LLM for completions".to_string()),
        (false, true) => Some("ask the LLM for embeddings".to_string()),
        (false, false) => None,
    }
}

fn describe_limits(manifest: &Manifest) -> String {
    let l = &manifest.limits;
    let parts: Vec<String> = [
        l.fuel.map(|f| format!("fuel {}", thousands(f))),
        l.memory_mib.map(|m| format!("memory {m} MiB")),
        l.wall_ms.map(|w| format!("wall clock {w} ms")),
        l.output_kib.map(|o| format!("output {o} KiB")),
    ]
    .into_iter()
    .flatten()
    .collect();
    if parts.is_empty() {
        "limits per call: the host's defaults".to_string()
    } else {
        format!(
            "limits per call: {} (the host's defaults for the rest; its maxima always apply)",
            parts.join(", ")
        )
    }
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn bytes(n: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    for (unit, size) in UNITS {
        if n >= size && n.is_multiple_of(size) {
            return format!("{} {unit}", n / size);
        }
    }
    format!("{n} bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn describe(text: &str) -> Vec<String> {
        let base =
            "name = \"x\"\nversion = \"0.1.0\"\nkind = \"tool\"\nworld-version = \"0.1.0\"\n";
        describe_requests(&Manifest::parse(&format!("{base}{text}"), "x.toml").unwrap())
    }

    #[test]
    fn a_quiet_component_asks_for_logging_only() {
        assert_eq!(
            describe("[limits]\nfuel = 10_000_000\nmemory-mib = 16\n"),
            [
                "write log lines (rate-limited by the host)",
                "limits per call: fuel 10,000,000, memory 16 MiB (the host's defaults for the rest; its maxima always apply)"
            ]
        );
        assert_eq!(
            describe("[capabilities]\nlogging = false\n"),
            [
                "nothing: no logging, network, secrets, storage, memory or LLM",
                "limits per call: the host's defaults"
            ]
        );
    }

    #[test]
    fn every_capability_is_put_in_words() {
        let lines = describe(
            "[capabilities]\nlogging = false\n\
             db = { quota-bytes = 65536 }\n\
             memory = { read = [\"\"], write = [\"notes/\", \"MEMORY.md\"] }\n\
             llm = { embed = true }\n\
             [capabilities.http]\nallow = [{ host = \"*.example.com\", port = 8443, path-prefix = \"/v1/\", methods = [\"GET\", \"POST\"] }]\n\
             [[capabilities.secrets]]\nname = \"TOKEN\"\nhosts = [\"api.example.com\"]\ninject = { kind = \"bearer\" }\n",
        );
        assert_eq!(
            lines[..6],
            [
                "send HTTP GET, POST requests over https to any subdomain of example.com port 8443, paths under /v1/",
                "use the secret `TOKEN` (the host injects it as a bearer token into requests to api.example.com; the component never reads it)",
                "keep up to 64 KiB in its own key-value store",
                "read and search workspace memory: the whole workspace",
                "write and delete workspace memory: notes/, MEMORY.md",
                "ask the LLM for completions and embeddings",
            ]
        );
    }

    #[test]
    fn control_characters_are_escaped() {
        let lines = describe(
            "[capabilities.http]\nallow = [{ host = \"evil.example\\u001b[2K\\rtrusted\" }]\n",
        );
        assert!(!lines[1].contains('\u{1b}'), "{}", lines[1]);
        assert!(lines[1].contains("\\u{1b}"), "{}", lines[1]);
        assert_eq!(printable("a\u{202e}b"), "a\\u{202e}b");
    }
}

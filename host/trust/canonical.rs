//! The bytes a component signature covers.
//!
//! Canonical JSON of the parsed manifest: objects with sorted keys, no
//! whitespace, strings with only `"`, `\` and control characters escaped,
//! unsigned integers in decimal, absent options as `null` (so adding a value
//! changes the bytes). It is written by hand rather than through
//! `serde_json::Value` or `#[derive(Serialize)]` so that the bytes depend on
//! neither serde_json's features (`preserve_order` changes key order) nor on
//! someone reordering or renaming a struct field. Every manifest struct is
//! destructured exhaustively: a new field is a compile error here until it is
//! signed.

use std::collections::BTreeMap;

use crate::registry::manifest::{
    Capabilities, DbRequest, HttpRequest, HttpRule, Injection, LlmRequest, Manifest, MemoryRequest,
    RequestedLimits, SecretRequest,
};

/// Domain separation: these bytes can never be mistaken for another message
/// signed with the same key (a future format bumps the version).
pub const DOMAIN: &str = "ironclaw-component-signature-v1\n";

/// The message an ed25519 signature covers: [`DOMAIN`] followed by
/// `{"manifest":<canonical manifest>,"wasm-digest":"<blake3 hex>"}`.
pub fn signed_message(manifest: &Manifest, wasm_digest: &blake3::Hash) -> Vec<u8> {
    let mut top = BTreeMap::new();
    top.insert("manifest", manifest_value(manifest));
    top.insert("wasm-digest", Canon::Str(wasm_digest.to_hex().to_string()));
    let mut out = DOMAIN.as_bytes().to_vec();
    Canon::Obj(top).write(&mut out);
    out
}

/// The canonical JSON of the manifest alone.
pub fn manifest_bytes(manifest: &Manifest) -> Vec<u8> {
    let mut out = Vec::new();
    manifest_value(manifest).write(&mut out);
    out
}

/// blake3 of [`manifest_bytes`]: recorded in the signature file so that
/// `verify` can say "manifest changed" rather than only "invalid".
pub fn manifest_digest(manifest: &Manifest) -> blake3::Hash {
    blake3::hash(&manifest_bytes(manifest))
}

pub(super) enum Canon {
    Null,
    Bool(bool),
    Num(u64),
    Str(String),
    List(Vec<Canon>),
    Obj(BTreeMap<&'static str, Canon>),
}

impl Canon {
    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Canon::Null => out.extend_from_slice(b"null"),
            Canon::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Canon::Num(n) => out.extend_from_slice(n.to_string().as_bytes()),
            Canon::Str(s) => write_str(s, out),
            Canon::List(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    item.write(out);
                }
                out.push(b']');
            }
            Canon::Obj(fields) => {
                out.push(b'{');
                // BTreeMap iterates in byte order of the keys: sorted.
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_str(key, out);
                    out.push(b':');
                    value.write(out);
                }
                out.push(b'}');
            }
        }
    }
}

fn write_str(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes())
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

pub(super) fn obj<const N: usize>(fields: [(&'static str, Canon); N]) -> Canon {
    Canon::Obj(fields.into_iter().collect())
}

pub(super) fn str(s: impl ToString) -> Canon {
    Canon::Str(s.to_string())
}

pub(super) fn strs(items: &[String]) -> Canon {
    Canon::List(items.iter().map(str).collect())
}

pub(super) fn opt<T>(value: &Option<T>, f: impl FnOnce(&T) -> Canon) -> Canon {
    value.as_ref().map_or(Canon::Null, f)
}

fn manifest_value(m: &Manifest) -> Canon {
    let Manifest {
        name,
        version,
        kind,
        world_version,
        description,
        capabilities,
        limits,
        channel,
    } = m;
    let mut value = obj([
        ("name", str(name)),
        ("version", str(version)),
        ("kind", str(kind.as_str())),
        ("world-version", str(world_version)),
        ("description", str(description)),
        ("capabilities", capabilities_value(capabilities)),
        ("limits", limits_value(limits)),
    ]);
    // Present only when declared, so manifests without it keep the
    // canonical form (and signatures) they had before the section existed.
    if let (Canon::Obj(fields), Some(section)) = (&mut value, channel) {
        fields.insert("channel", super::canonical_channel::section_value(section));
    }
    value
}

fn capabilities_value(c: &Capabilities) -> Canon {
    let Capabilities {
        logging,
        http,
        secrets,
        db,
        memory,
        llm,
    } = c;
    obj([
        ("logging", Canon::Bool(*logging)),
        (
            "http",
            opt(http, |HttpRequest { allow }| {
                obj([("allow", Canon::List(allow.iter().map(rule_value).collect()))])
            }),
        ),
        (
            "secrets",
            Canon::List(secrets.iter().map(secret_value).collect()),
        ),
        (
            "db",
            opt(db, |DbRequest { quota_bytes }| {
                obj([("quota-bytes", Canon::Num(*quota_bytes))])
            }),
        ),
        (
            "memory",
            opt(memory, |MemoryRequest { read, write }| {
                obj([("read", strs(read)), ("write", strs(write))])
            }),
        ),
        (
            "llm",
            opt(llm, |LlmRequest { complete, embed }| {
                obj([
                    ("complete", Canon::Bool(*complete)),
                    ("embed", Canon::Bool(*embed)),
                ])
            }),
        ),
    ])
}

fn rule_value(rule: &HttpRule) -> Canon {
    let HttpRule {
        scheme,
        host,
        port,
        path_prefix,
        methods,
    } = rule;
    obj([
        ("scheme", str(scheme)),
        ("host", str(host)),
        ("port", opt(port, |p| Canon::Num(u64::from(*p)))),
        ("path-prefix", str(path_prefix)),
        ("methods", strs(methods)),
    ])
}

fn secret_value(secret: &SecretRequest) -> Canon {
    let SecretRequest {
        name,
        hosts,
        inject,
        paths,
    } = secret;
    let inject = match inject {
        Injection::Bearer => obj([("kind", str("bearer"))]),
        Injection::Basic { username } => obj([("kind", str("basic")), ("username", str(username))]),
        Injection::Header { name, prefix } => obj([
            ("kind", str("header")),
            ("name", str(name)),
            ("prefix", str(prefix)),
        ]),
        Injection::Query { param } => obj([("kind", str("query")), ("param", str(param))]),
        Injection::Path { placeholder } => {
            obj([("kind", str("path")), ("placeholder", str(placeholder))])
        }
        Injection::HmacSha256 {
            header,
            prefix,
            timestamp_header,
        } => obj([
            ("kind", str("hmac-sha256")),
            ("header", str(header)),
            ("prefix", str(prefix)),
            ("timestamp-header", opt(timestamp_header, |s| str(s))),
        ]),
    };
    let mut value = obj([
        ("name", str(name)),
        ("hosts", strs(hosts)),
        ("inject", inject),
    ]);
    if let (Canon::Obj(fields), false) = (&mut value, paths.is_empty()) {
        fields.insert("paths", strs(paths));
    }
    value
}

fn limits_value(l: &RequestedLimits) -> Canon {
    let RequestedLimits {
        fuel,
        memory_mib,
        wall_ms,
        output_kib,
    } = l;
    let num = |v: &Option<u64>| opt(v, |n| Canon::Num(*n));
    obj([
        ("fuel", num(fuel)),
        ("memory-mib", num(memory_mib)),
        ("wall-ms", num(wall_ms)),
        ("output-kib", num(output_kib)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    const ECHO: &str = r#"name = "echo"
version = "0.1.0"
kind = "tool"
world-version = "0.1.0"
description = "Echoes its input back."

[capabilities]
logging = true

[limits]
fuel = 10_000_000
memory-mib = 16
wall-ms = 1000
"#;

    fn parse(text: &str) -> Manifest {
        Manifest::parse(text, "test.toml").unwrap()
    }

    /// The exact bytes are part of the signature format: existing signatures
    /// stop verifying if this changes. Change it only with a new DOMAIN.
    #[test]
    fn canonical_bytes_are_pinned() {
        let m = parse(ECHO);
        let expected = concat!(
            r#"{"capabilities":{"db":null,"http":null,"llm":null,"logging":true,"memory":null,"secrets":[]},"#,
            r#""description":"Echoes its input back.","kind":"tool","#,
            r#""limits":{"fuel":10000000,"memory-mib":16,"output-kib":null,"wall-ms":1000},"#,
            r#""name":"echo","version":"0.1.0","world-version":"0.1.0"}"#
        );
        assert_eq!(String::from_utf8(manifest_bytes(&m)).unwrap(), expected);
        let digest = blake3::hash(b"wasm");
        let msg = String::from_utf8(signed_message(&m, &digest)).unwrap();
        assert_eq!(
            msg,
            format!(
                "ironclaw-component-signature-v1\n{{\"manifest\":{expected},\"wasm-digest\":\"{}\"}}",
                digest.to_hex()
            )
        );
    }

    #[test]
    fn every_capability_kind_is_pinned() {
        let text = format!(
            "{ECHO}output-kib = 64\n\
             [capabilities.http]\nallow = [{{ host = \"api.example.com\", port = 8443, path-prefix = \"/v1/\", methods = [\"GET\", \"POST\"] }}]\n\
             [capabilities.db]\nquota-bytes = 65536\n\
             [capabilities.memory]\nread = [\"\"]\nwrite = [\"notes/\"]\n\
             [capabilities.llm]\nembed = true\n\
             [[capabilities.secrets]]\nname = \"TOKEN\"\nhosts = [\"api.example.com\"]\ninject = {{ kind = \"header\", name = \"x-api-key\" }}\n\
             [[capabilities.secrets]]\nname = \"PW\"\nhosts = [\"h\"]\ninject = {{ kind = \"basic\", username = \"u\" }}\n"
        );
        let bytes = String::from_utf8(manifest_bytes(&parse(&text))).unwrap();
        let caps = concat!(
            r#"{"db":{"quota-bytes":65536},"#,
            r#""http":{"allow":[{"host":"api.example.com","methods":["GET","POST"],"path-prefix":"/v1/","port":8443,"scheme":"https"}]},"#,
            r#""llm":{"complete":true,"embed":true},"logging":true,"#,
            r#""memory":{"read":[""],"write":["notes/"]},"#,
            r#""secrets":[{"hosts":["api.example.com"],"inject":{"kind":"header","name":"x-api-key","prefix":""},"name":"TOKEN"},"#,
            r#"{"hosts":["h"],"inject":{"kind":"basic","username":"u"},"name":"PW"}]}"#
        );
        assert!(
            bytes.starts_with(&format!("{{\"capabilities\":{caps},")),
            "{bytes}"
        );
        assert!(bytes.contains(r#""output-kib":64"#), "{bytes}");
    }

    #[test]
    fn comments_whitespace_order_and_spelled_out_defaults_do_not_matter() {
        let base = manifest_bytes(&parse(ECHO));
        let reworded = r#"
# a comment
world-version   = "0.1.0"
kind = "tool"   # trailing comment
name = "echo"
version = "0.1.0"
description = "Echoes its input back."
[limits]
wall-ms = 1_000
memory-mib = 16
fuel = 10000000
"#;
        assert_eq!(manifest_bytes(&parse(reworded)), base);
    }

    #[test]
    fn every_field_that_matters_changes_the_bytes() {
        let base = manifest_bytes(&parse(ECHO));
        let edits: &[(&str, &str)] = &[
            ("name = \"echo\"", "name = \"echo2\""),
            ("version = \"0.1.0\"\nkind", "version = \"0.1.1\"\nkind"),
            ("kind = \"tool\"", "kind = \"hook\""),
            (
                "world-version = \"0.1.0\"",
                "world-version = \"0.1.0-rc.1\"",
            ),
            ("back.\"", "back!\""),
            ("logging = true", "logging = false"),
            (
                "logging = true",
                "logging = true\nsecrets = [{ name = \"K\", hosts = [\"h\"], inject = { kind = \"bearer\" } }]",
            ),
            ("logging = true", "logging = true\ndb = { quota-bytes = 1 }"),
            ("logging = true", "logging = true\nllm = {}"),
            (
                "logging = true",
                "logging = true\nmemory = { read = [\"notes/\"] }",
            ),
            (
                "logging = true",
                "logging = true\nhttp = { allow = [{ host = \"a.example\" }] }",
            ),
            ("fuel = 10_000_000", "fuel = 10_000_001"),
            ("memory-mib = 16", "memory-mib = 17"),
            ("wall-ms = 1000", "wall-ms = 1001"),
            ("wall-ms = 1000", "wall-ms = 1000\noutput-kib = 1"),
            ("fuel = 10_000_000\n", ""),
        ];
        for (from, to) in edits {
            let text = ECHO.replacen(from, to, 1);
            assert_ne!(text, ECHO, "edit {from:?} did not apply");
            assert_ne!(manifest_bytes(&parse(&text)), base, "{from:?} -> {to:?}");
        }
    }

    #[test]
    fn injections_and_http_details_are_distinguished() {
        let with = |extra: &str| manifest_bytes(&parse(&format!("{ECHO}{extra}")));
        let secret = |inject: &str| {
            with(&format!(
                "[[capabilities.secrets]]\nname = \"K\"\nhosts = [\"h\"]\ninject = {inject}\n"
            ))
        };
        let all = [
            secret("{ kind = \"bearer\" }"),
            secret("{ kind = \"basic\", username = \"u\" }"),
            secret("{ kind = \"header\", name = \"x\" }"),
            secret("{ kind = \"header\", name = \"x\", prefix = \"Token \" }"),
            secret("{ kind = \"query\", param = \"x\" }"),
            secret("{ kind = \"path\", placeholder = \"x\" }"),
        ];
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a, b);
            }
        }
        let rule = |r: &str| with(&format!("[capabilities.http]\nallow = [{r}]\n"));
        let rules = [
            rule("{ host = \"a.example\" }"),
            rule("{ host = \"a.example\", scheme = \"http\" }"),
            rule("{ host = \"a.example\", port = 1 }"),
            rule("{ host = \"a.example\", path-prefix = \"/x\" }"),
            rule("{ host = \"a.example\", methods = [\"POST\"] }"),
            rule("{ host = \"b.example\" }"),
        ];
        for (i, a) in rules.iter().enumerate() {
            for b in &rules[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn strings_are_escaped_unambiguously() {
        let m = parse(&ECHO.replace(
            "Echoes its input back.",
            "quote \\\" backslash \\\\ newline \\n tab \\t é",
        ));
        let bytes = String::from_utf8(manifest_bytes(&m)).unwrap();
        assert!(
            bytes.contains(r#""description":"quote \" backslash \\ newline \u000a tab \u0009 é""#),
            "{bytes}"
        );
        // Still valid JSON that reads back to the same text.
        let v: serde_json::Value = serde_json::from_str(&bytes).unwrap();
        assert_eq!(v["description"], m.description);
    }

    #[test]
    fn the_wasm_digest_is_part_of_the_message() {
        let m = parse(ECHO);
        assert_ne!(
            signed_message(&m, &blake3::hash(b"a")),
            signed_message(&m, &blake3::hash(b"b"))
        );
    }
}

//! Does a new version ask for more than the owner approved for the old one?
//! (DESIGN §3: same or fewer capabilities replace silently; more waits for
//! `ironclaw component approve`.)
//!
//! Conservative by design: anything not provably covered by the approved
//! grant counts as an escalation. An HTTP rule or a secret must appear in the
//! approved grant as it is; a memory prefix must lie inside an approved one;
//! a db quota may shrink but not grow.

use super::memory_scope::Scope;
use crate::registry::manifest::{Capabilities, ComponentKind};

/// What `new` asks for beyond `approved`, in plain words; empty when it
/// asks for the same or less.
pub fn escalations(
    new_kind: ComponentKind,
    new: &Capabilities,
    approved_kind: ComponentKind,
    approved: &Capabilities,
) -> Vec<String> {
    let mut more = Vec::new();
    if new_kind != approved_kind {
        more.push(format!(
            "it is now a {} component (was {})",
            new_kind.as_str(),
            approved_kind.as_str()
        ));
    }
    if new.logging && !approved.logging {
        more.push("logging".into());
    }
    let approved_rules = approved.http.as_ref().map_or(&[][..], |h| &h.allow[..]);
    for rule in new.http.iter().flat_map(|h| &h.allow) {
        if !approved_rules.contains(rule) {
            more.push(format!(
                "HTTP {} {}://{}{}",
                rule.methods.join("/"),
                rule.scheme,
                rule.host,
                rule.path_prefix
            ));
        }
    }
    for secret in &new.secrets {
        if !approved.secrets.contains(secret) {
            more.push(format!("the secret `{}`", secret.name));
        }
    }
    match (&new.db, &approved.db) {
        (Some(n), Some(a)) if n.quota_bytes > a.quota_bytes => more.push(format!(
            "{} bytes of storage (approved {})",
            n.quota_bytes, a.quota_bytes
        )),
        (Some(n), None) => more.push(format!("{} bytes of storage", n.quota_bytes)),
        _ => {}
    }
    let (no_prefixes, approved_memory) = (Vec::new(), approved.memory.as_ref());
    let approved_read = approved_memory.map_or(&no_prefixes, |m| &m.read);
    let approved_write = approved_memory.map_or(&no_prefixes, |m| &m.write);
    if let Some(memory) = &new.memory {
        for p in &memory.read {
            if !within(approved_read, p) {
                more.push(format!("reading memory under `{p}`"));
            }
        }
        for p in &memory.write {
            if !within(approved_write, p) {
                more.push(format!("writing memory under `{p}`"));
            }
        }
    }
    if let Some(llm) = &new.llm {
        let a = approved.llm.as_ref();
        if llm.complete && !a.is_some_and(|a| a.complete) {
            more.push("LLM completions".into());
        }
        if llm.embed && !a.is_some_and(|a| a.embed) {
            more.push("LLM embeddings".into());
        }
    }
    more
}

/// A requested prefix lies inside the approved entries when it is one of
/// them, or when the approved scope covers everything it could reach: the
/// paths under it and, for an entry without a trailing '/', the path itself.
fn within(approved: &[String], prefix: &str) -> bool {
    let scope = Scope::new(approved);
    if scope.is_everything() || approved.iter().any(|a| a == prefix) {
        return true;
    }
    if prefix.is_empty() {
        return false;
    }
    let base = prefix.trim_end_matches('/');
    // A probe path under the prefix: covered only if the whole directory is.
    let under = scope.covers(&format!("{base}/\u{1}probe"));
    under && (prefix.ends_with('/') || scope.covers(base))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Manifest;

    fn caps(extra: &str) -> Capabilities {
        let text = format!(
            "name = \"x\"\nversion = \"0.1.0\"\nkind = \"tool\"\nworld-version = \"0.1.0\"\n{extra}"
        );
        Manifest::parse(&text, "x.toml").unwrap().capabilities
    }

    const T: ComponentKind = ComponentKind::Tool;

    #[test]
    fn same_or_fewer_is_no_escalation() {
        let approved = caps(
            "[capabilities]\ndb = { quota-bytes = 100 }\n[capabilities.memory]\nread = [\"notes/\"]\nwrite = [\"notes/\"]\n",
        );
        assert!(escalations(T, &approved, T, &approved).is_empty());
        let fewer = caps("[capabilities]\ndb = { quota-bytes = 50 }\n");
        assert!(escalations(T, &fewer, T, &approved).is_empty());
        let narrower = caps("[capabilities.memory]\nread = [\"notes/a/\"]\n");
        assert!(escalations(T, &narrower, T, &approved).is_empty());
        let file_and_dir = caps("[capabilities.memory]\nread = [\"notes\"]\n");
        assert_eq!(
            escalations(T, &file_and_dir, T, &approved).len(),
            1,
            "`notes` also names the document `notes`, outside `notes/`"
        );
    }

    #[test]
    fn more_is_named() {
        let approved = caps("[capabilities]\ndb = { quota-bytes = 100 }\n");
        let more = caps(
            "[capabilities]\ndb = { quota-bytes = 200 }\n[capabilities.http]\nallow = [{ host = \"api.example.com\" }]\n[capabilities.memory]\nread = [\"\"]\n",
        );
        let e = escalations(T, &more, T, &approved);
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(e[0].contains("api.example.com"), "{e:?}");
        assert!(
            !escalations(ComponentKind::Hook, &approved, T, &approved).is_empty(),
            "a change of kind is an escalation"
        );
    }
}

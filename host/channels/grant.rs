//! The grant a channel runs with: its HTTP egress and the hosts its
//! secrets are injected into follow the base URL the owner configured
//! (`api-base-url`, or the key `[channel] base-url-key` names), never
//! wider. Without one, the grant it was admitted with.

use crate::capabilities::Grants;
use crate::llm::adapter_grant::parse_base;
use crate::registry::manifest::{HttpRequest, HttpRule, Manifest};

pub fn channel_grant(manifest: &Manifest, base: &Grants) -> Result<Grants, String> {
    let section = manifest.channel.clone().unwrap_or_default();
    let key = section.base_url_key();
    let Some(url) = base.settings.get(key).filter(|u| !u.trim().is_empty()) else {
        return Ok(base.clone());
    };
    let (scheme, host, port, path) =
        parse_base(url.trim()).map_err(|e| format!("channels.{}.{key}: {e}", manifest.name))?;
    // The path the manifest's rules were written under, when it says.
    let default_path = match &section.base_url {
        Some(d) => Some(
            parse_base(d)
                .map_err(|e| format!("{}: [channel] base-url: {e}", manifest.name))?
                .3,
        ),
        None => None,
    };
    let moved = |written: &str| -> String {
        match &default_path {
            Some(d) => match strip_path(written, d) {
                Some(rest) => join(&path, rest),
                // A rule outside the provider's base stays under the
                // owner's path, never beside it.
                None => join(&path, written),
            },
            None => path.clone(),
        }
    };
    let mut grants = base.clone();
    let mut rules: Vec<HttpRule> = Vec::new();
    for rule in base.http.iter().flat_map(|h| h.allow.iter()) {
        let rebased = HttpRule {
            scheme: scheme.clone(),
            host: host.clone(),
            port,
            path_prefix: moved(&rule.path_prefix),
            methods: rule.methods.clone(),
        };
        if !rules.contains(&rebased) {
            rules.push(rebased);
        }
    }
    if rules.is_empty() {
        rules.push(HttpRule {
            scheme,
            host: host.clone(),
            port,
            path_prefix: path.clone(),
            methods: vec!["POST".into()],
        });
    }
    grants.http = Some(HttpRequest { allow: rules });
    for secret in &mut grants.secrets {
        secret.hosts = vec![host.clone()];
        if default_path.is_some() {
            secret.paths = secret.paths.iter().map(|p| moved(p)).collect();
        }
    }
    Ok(grants)
}

/// `written` below `base` (both absolute paths): the rest, `""` for the
/// base itself.
fn strip_path<'a>(written: &'a str, base: &str) -> Option<&'a str> {
    let base = base.trim_end_matches('/');
    let rest = written.strip_prefix(base)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

/// `base` + `rest`, one slash between, `/` at least.
fn join(base: &str, rest: &str) -> String {
    let joined = format!("{}{rest}", base.trim_end_matches('/'));
    if joined.is_empty() {
        "/".into()
    } else {
        joined
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest::parse(
            "name = \"slack\"\nversion = \"0.1.0\"\nkind = \"channel\"\nworld-version = \"0.1.0\"\n\
             [[capabilities.http.allow]]\nhost = \"slack.com\"\npath-prefix = \"/api\"\nmethods = [\"POST\", \"GET\"]\n\
             [[capabilities.secrets]]\nname = \"slack_bot_token\"\nhosts = [\"slack.com\"]\ninject = { kind = \"bearer\" }\n",
            "slack",
        )
        .unwrap()
    }

    #[test]
    fn the_base_url_moves_egress_and_secrets_together() {
        let m = manifest();
        let mut base = Grants::requested_by(&m);
        assert_eq!(channel_grant(&m, &base).unwrap(), base);
        base.settings
            .insert("api-base-url".into(), "http://127.0.0.1:4000/api".into());
        let g = channel_grant(&m, &base).unwrap();
        let rule = &g.http.as_ref().unwrap().allow[0];
        assert_eq!(
            (
                rule.scheme.as_str(),
                rule.host.as_str(),
                rule.port,
                rule.path_prefix.as_str()
            ),
            ("http", "127.0.0.1", Some(4000), "/api")
        );
        assert_eq!(g.secrets[0].hosts, ["127.0.0.1"]);
        base.settings
            .insert("api-base-url".into(), "ftp://x".into());
        assert!(
            channel_grant(&m, &base)
                .unwrap_err()
                .contains("channels.slack.api-base-url")
        );
    }

    #[test]
    fn with_the_providers_base_the_paths_stay_below_the_owners() {
        let m = Manifest::parse(
            "name = \"telegram\"\nversion = \"0.1.0\"\nkind = \"channel\"\nworld-version = \"0.1.0\"\n\
             [channel]\nbase-url = \"https://api.telegram.org\"\n\
             [[capabilities.http.allow]]\nhost = \"api.telegram.org\"\npath-prefix = \"/bot\"\nmethods = [\"POST\"]\n\
             [[capabilities.secrets]]\nname = \"hook\"\nhosts = [\"api.telegram.org\"]\ninject = { kind = \"query\", param = \"secret_token\" }\npaths = [\"/bot*/setWebhook\"]\n",
            "telegram",
        )
        .unwrap();
        let mut base = Grants::requested_by(&m);
        base.settings
            .insert("api-base-url".into(), "https://proxy.example/tg/".into());
        let g = channel_grant(&m, &base).unwrap();
        assert_eq!(g.http.as_ref().unwrap().allow[0].path_prefix, "/tg/bot");
        assert_eq!(g.secrets[0].paths, ["/tg/bot*/setWebhook"]);
        base.settings
            .insert("api-base-url".into(), "http://127.0.0.1:9".into());
        let g = channel_grant(&m, &base).unwrap();
        assert_eq!(g.http.as_ref().unwrap().allow[0].path_prefix, "/bot");
        assert_eq!(g.secrets[0].paths, ["/bot*/setWebhook"]);
    }
}

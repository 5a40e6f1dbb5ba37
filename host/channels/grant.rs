//! The grant a channel runs with: its HTTP egress and the hosts its
//! secrets are injected into follow the base URL the owner configured
//! (`api-base-url`, or the key `[channel] base-url-key` names), never
//! wider. Without one, the grant it was admitted with.

use crate::capabilities::Grants;
use crate::llm::adapter_grant::parse_base;
use crate::registry::manifest::{HttpRequest, HttpRule, Manifest};

pub fn channel_grant(manifest: &Manifest, base: &Grants) -> Result<Grants, String> {
    let key = manifest
        .channel
        .as_ref()
        .map_or("api-base-url", |c| c.base_url_key());
    let Some(url) = base.settings.get(key).filter(|u| !u.trim().is_empty()) else {
        return Ok(base.clone());
    };
    let (scheme, host, port, path_prefix) =
        parse_base(url.trim()).map_err(|e| format!("channels.{}.{key}: {e}", manifest.name))?;
    let mut grants = base.clone();
    let methods = base
        .http
        .as_ref()
        .map(|h| {
            let mut m: Vec<String> = h.allow.iter().flat_map(|r| r.methods.clone()).collect();
            m.sort();
            m.dedup();
            m
        })
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| vec!["POST".into()]);
    grants.http = Some(HttpRequest {
        allow: vec![HttpRule {
            scheme,
            host: host.clone(),
            port,
            path_prefix,
            methods,
        }],
    });
    for secret in &mut grants.secrets {
        secret.hosts = vec![host.clone()];
    }
    Ok(grants)
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
}

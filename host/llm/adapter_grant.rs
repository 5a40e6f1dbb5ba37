//! The grant an LLM adapter runs with: its HTTP egress and secret injection
//! follow the base URL and secret name the owner configured, never wider.
//! The manifest's own rule is only the default shape (methods, how the key
//! is injected).

use std::collections::BTreeMap;

use crate::capabilities::Grants;
use crate::registry::manifest::{HttpRequest, HttpRule, Manifest};

/// One configured use of an adapter component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterSettings {
    /// The adapter component's name (`openai`, `anthropic`, `gemini`, …).
    pub adapter: String,
    /// `None`: the adapter's default, i.e. the manifest's own rule.
    pub base_url: Option<String>,
    pub model: Option<String>,
    /// `None`: the manifest's secret name; `Some("")`: no key at all (a
    /// local OpenAI-compatible server).
    pub api_key_secret: Option<String>,
    /// More settings the adapter reads through `config` (`stream`,
    /// `context-window`, `embedding-model`, …).
    pub extra: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdapterGrantError {
    #[error("LLM base URL `{url}`: {why}")]
    BaseUrl { url: String, why: String },
    #[error(
        "adapter `{adapter}` requests more than one secret; the host cannot tell which one `api-key-secret` names"
    )]
    AmbiguousSecret { adapter: String },
}

/// `(scheme, host, port, path prefix)` of an `http(s)://host[:port]/path`.
pub(crate) fn parse_base(
    url: &str,
) -> Result<(String, String, Option<u16>, String), AdapterGrantError> {
    let bad = |why: &str| AdapterGrantError::BaseUrl {
        url: url.to_string(),
        why: why.to_string(),
    };
    let uri: http::Uri = url.parse().map_err(|_| bad("not a valid URL"))?;
    let scheme = match uri.scheme_str() {
        Some(s @ ("http" | "https")) => s.to_string(),
        _ => {
            return Err(bad(
                "must start with https:// (or http:// for a local server)",
            ));
        }
    };
    let authority = uri.authority().ok_or_else(|| bad("has no host"))?;
    if authority.as_str().contains('@') {
        return Err(bad(
            "must not carry user info; keys go in the secrets vault",
        ));
    }
    if uri.query().is_some() {
        return Err(bad("must not carry a query; keys go in the secrets vault"));
    }
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    let path = uri.path().trim_end_matches('/');
    let prefix = if path.is_empty() { "/" } else { path };
    if prefix.split('/').any(|seg| seg == ".." || seg == ".") {
        return Err(bad("must not contain dot segments"));
    }
    Ok((scheme, host, uri.port_u16(), prefix.to_string()))
}

/// The grant for `settings` given the adapter's `manifest` and the grant it
/// was admitted with (`base`).
pub fn adapter_grant(
    manifest: &Manifest,
    base: &Grants,
    settings: &AdapterSettings,
) -> Result<Grants, AdapterGrantError> {
    let mut grants = base.clone();
    grants.llm_stream = true;
    let mut config = base.settings.clone();
    config.extend(settings.extra.clone());
    if let Some(model) = &settings.model {
        config.insert("model".into(), model.clone());
    }
    if let Some(url) = &settings.base_url {
        let (scheme, host, port, path_prefix) = parse_base(url)?;
        let methods = manifest
            .capabilities
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
        config.insert("base-url".into(), url.trim_end_matches('/').to_string());
    }
    match settings.api_key_secret.as_deref() {
        None => {}
        Some("") => {
            grants.secrets.clear();
            config.insert("api-key-secret".into(), String::new());
        }
        Some(name) => {
            if grants.secrets.len() > 1 {
                return Err(AdapterGrantError::AmbiguousSecret {
                    adapter: settings.adapter.clone(),
                });
            }
            for secret in &mut grants.secrets {
                secret.name = name.to_string();
            }
            config.insert("api-key-secret".into(), name.to_string());
        }
    }
    grants.settings = config;
    Ok(grants)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest::parse(
            "name = \"openai\"\nversion = \"0.1.0\"\nkind = \"llm-adapter\"\nworld-version = \"0.1.0\"\n\
             [[capabilities.http.allow]]\nhost = \"api.openai.com\"\npath-prefix = \"/v1\"\nmethods = [\"POST\", \"GET\"]\n\
             [[capabilities.secrets]]\nname = \"openai_api_key\"\nhosts = [\"api.openai.com\"]\ninject = { kind = \"bearer\" }\n",
            "openai",
        )
        .unwrap()
    }

    fn settings(url: Option<&str>, secret: Option<&str>) -> AdapterSettings {
        AdapterSettings {
            adapter: "openai".into(),
            base_url: url.map(Into::into),
            model: Some("m".into()),
            api_key_secret: secret.map(Into::into),
            extra: BTreeMap::new(),
        }
    }

    #[test]
    fn the_grant_follows_the_configured_base_url_and_no_further() {
        let m = manifest();
        let g = adapter_grant(
            &m,
            &Grants::requested_by(&m),
            &settings(Some("http://127.0.0.1:8080/proxy/v1/"), Some("router_key")),
        )
        .unwrap();
        let rule = &g.http.as_ref().unwrap().allow[0];
        assert_eq!(g.http.as_ref().unwrap().allow.len(), 1);
        assert_eq!(
            (rule.scheme.as_str(), rule.host.as_str(), rule.port),
            ("http", "127.0.0.1", Some(8080))
        );
        assert_eq!(rule.path_prefix, "/proxy/v1");
        assert_eq!(rule.methods, vec!["GET".to_string(), "POST".to_string()]);
        assert_eq!(g.secrets[0].name, "router_key");
        assert_eq!(g.secrets[0].hosts, vec!["127.0.0.1".to_string()]);
        assert_eq!(g.settings["base-url"], "http://127.0.0.1:8080/proxy/v1");
        assert_eq!(g.settings["model"], "m");
        assert!(g.llm_stream);
    }

    #[test]
    fn without_a_base_url_the_manifest_rule_stands() {
        let m = manifest();
        let g = adapter_grant(&m, &Grants::requested_by(&m), &settings(None, None)).unwrap();
        assert_eq!(g.http, m.capabilities.http);
        assert_eq!(g.secrets[0].name, "openai_api_key");
    }

    #[test]
    fn an_empty_secret_name_means_no_key() {
        let m = manifest();
        let g = adapter_grant(
            &m,
            &Grants::requested_by(&m),
            &settings(Some("http://127.0.0.1:11434/v1"), Some("")),
        )
        .unwrap();
        assert!(g.secrets.is_empty());
    }

    #[test]
    fn bad_base_urls_are_refused_with_the_reason() {
        let m = manifest();
        for (url, why) in [
            ("ftp://x/v1", "https://"),
            ("https://user:pw@x/v1", "user info"),
            ("https://x/v1?key=abc", "query"),
            ("https://x/v1/../admin", "dot segments"),
            ("not a url", "valid URL"),
        ] {
            let e = adapter_grant(&m, &Grants::requested_by(&m), &settings(Some(url), None))
                .unwrap_err();
            assert!(e.to_string().contains(why), "{url}: {e}");
        }
    }
}

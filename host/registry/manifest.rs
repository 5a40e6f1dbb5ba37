//! `component.toml`: what a component is and what it asks for (DESIGN §3).
//!
//! Parsing is strict (`deny_unknown_fields`): a typo in a capability name must
//! be an error, not a silently dropped request.

use std::path::Path;

use semver::Version;
use serde::{Deserialize, Serialize};

use crate::toml_file::{self, TomlFileError};

/// The WIT package version this host implements.
pub const WIT_VERSION: &str = "0.1.0";

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error(transparent)]
    File(#[from] TomlFileError),
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ComponentKind {
    Tool,
    Channel,
    LlmAdapter,
    SafetyFilter,
    Hook,
}

impl ComponentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ComponentKind::Tool => "tool",
            ComponentKind::Channel => "channel",
            ComponentKind::LlmAdapter => "llm-adapter",
            ComponentKind::SafetyFilter => "safety-filter",
            ComponentKind::Hook => "hook",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Manifest {
    pub name: String,
    pub version: Version,
    pub kind: ComponentKind,
    pub world_version: Version,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub capabilities: Capabilities,
    #[serde(default)]
    pub limits: RequestedLimits,
    /// Channel components only: webhook verification, challenge, dedupe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<super::channel_manifest::ChannelSection>,
}

/// What a component asks the owner for. Everything defaults to "nothing"
/// except logging.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Capabilities {
    #[serde(default = "default_true")]
    pub logging: bool,
    #[serde(default)]
    pub http: Option<HttpRequest>,
    #[serde(default)]
    pub secrets: Vec<SecretRequest>,
    #[serde(default)]
    pub db: Option<DbRequest>,
    #[serde(default)]
    pub memory: Option<MemoryRequest>,
    #[serde(default)]
    pub llm: Option<LlmRequest>,
}

impl Default for Capabilities {
    fn default() -> Self {
        Capabilities {
            logging: true,
            http: None,
            secrets: Vec::new(),
            db: None,
            memory: None,
            llm: None,
        }
    }
}

fn default_true() -> bool {
    true
}

/// HTTP egress: every request must match one rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct HttpRequest {
    pub allow: Vec<HttpRule>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct HttpRule {
    #[serde(default = "default_https")]
    pub scheme: String,
    /// Exact host, `*.example.com`, or `*` alone for any host. Even `*`
    /// leaves the host's address check in force: private, loopback,
    /// link-local and metadata addresses are refused whatever the rule says.
    pub host: String,
    pub port: Option<u16>,
    #[serde(default = "default_root")]
    pub path_prefix: String,
    #[serde(default = "default_methods")]
    pub methods: Vec<String>,
}

fn default_https() -> String {
    "https".into()
}
fn default_root() -> String {
    "/".into()
}
fn default_methods() -> Vec<String> {
    vec!["GET".into()]
}

/// A secret the host may inject into requests to the named hosts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SecretRequest {
    pub name: String,
    pub hosts: Vec<String>,
    pub inject: Injection,
    /// Inject only into requests whose path matches one of these (`*`
    /// matches within one segment: `/bot*/setWebhook`). Empty: every path.
    /// A secret whose paths do not match is neither injected nor required.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    rename_all = "kebab-case",
    rename_all_fields = "kebab-case",
    tag = "kind",
    deny_unknown_fields
)]
pub enum Injection {
    Bearer,
    Basic {
        username: String,
    },
    Header {
        name: String,
        #[serde(default)]
        prefix: String,
    },
    Query {
        param: String,
    },
    Path {
        placeholder: String,
    },
    /// An HMAC-SHA256 of the request body keyed with the secret, in
    /// `header` after `prefix`, hex (a signed callback). With
    /// `timestamp-header`, the host sets that header to the Unix time and
    /// signs `{timestamp}.{body}`.
    HmacSha256 {
        header: String,
        #[serde(default)]
        prefix: String,
        #[serde(default)]
        timestamp_header: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct DbRequest {
    pub quota_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct MemoryRequest {
    #[serde(default)]
    pub read: Vec<String>,
    #[serde(default)]
    pub write: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct LlmRequest {
    #[serde(default = "default_true")]
    pub complete: bool,
    #[serde(default)]
    pub embed: bool,
}

/// Budgets the component asks for; the host clamps them to its maxima.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RequestedLimits {
    pub fuel: Option<u64>,
    pub memory_mib: Option<u64>,
    pub wall_ms: Option<u64>,
    pub output_kib: Option<u64>,
}

impl Manifest {
    /// Reads and validates `component.toml` at `path`.
    pub fn load(path: &Path) -> Result<Manifest, ManifestError> {
        let text = toml_file::read(path)?;
        Manifest::parse(&text, &path.display().to_string())
    }

    /// Parses and validates manifest text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Manifest, ManifestError> {
        let manifest: Manifest = toml_file::parse(text, origin)?;
        manifest.validate(origin)?;
        Ok(manifest)
    }

    fn validate(&self, origin: &str) -> Result<(), ManifestError> {
        let invalid = |message: String| ManifestError::Invalid {
            path: origin.to_string(),
            message,
        };
        if !is_component_name(&self.name) {
            return Err(invalid(format!(
                "name `{}` must be 1-64 characters of a-z, 0-9 and '-', starting with a letter",
                self.name
            )));
        }
        let host = Version::parse(WIT_VERSION).map_err(|e| invalid(e.to_string()))?;
        if !world_compatible(&host, &self.world_version) {
            return Err(invalid(format!(
                "world-version {} is not compatible with this host's WIT {host} \
                 (0.x versions must share major and minor, and not be newer)",
                self.world_version
            )));
        }
        for (field, value) in [
            ("fuel", self.limits.fuel),
            ("memory-mib", self.limits.memory_mib),
            ("wall-ms", self.limits.wall_ms),
            ("output-kib", self.limits.output_kib),
        ] {
            if value == Some(0) {
                return Err(invalid(format!("limits.{field} must be greater than 0")));
            }
        }
        if let Some(http) = &self.capabilities.http {
            for rule in &http.allow {
                if rule.scheme != "https" && rule.scheme != "http" {
                    return Err(invalid(format!(
                        "capabilities.http: scheme `{}` must be http or https",
                        rule.scheme
                    )));
                }
                if rule.host.is_empty() || rule.host.contains('/') {
                    return Err(invalid(format!(
                        "capabilities.http: host `{}` is not a host name",
                        rule.host
                    )));
                }
                if !rule.path_prefix.starts_with('/') {
                    return Err(invalid(format!(
                        "capabilities.http: path-prefix `{}` must start with '/'",
                        rule.path_prefix
                    )));
                }
            }
        }
        if let Some(memory) = &self.capabilities.memory {
            if memory.read.is_empty() && memory.write.is_empty() {
                return Err(invalid(
                    "capabilities.memory: names no read or write prefixes (\"\" is the whole workspace)"
                        .to_string(),
                ));
            }
            for (half, entries) in [("read", &memory.read), ("write", &memory.write)] {
                for entry in entries {
                    crate::capabilities::memory_scope::validate_entry(entry)
                        .map_err(|m| invalid(format!("capabilities.memory.{half}: {m}")))?;
                }
            }
        }
        match (&self.channel, self.kind) {
            (Some(_), k) if k != ComponentKind::Channel => {
                return Err(invalid(format!(
                    "[channel] is for channel components; this one is a {}",
                    k.as_str()
                )));
            }
            (Some(section), _) => section.validate().map_err(invalid)?,
            _ => {}
        }
        for secret in &self.capabilities.secrets {
            if let Some(bad) = secret.paths.iter().find(|p| !p.starts_with('/')) {
                return Err(invalid(format!(
                    "capabilities.secrets: `{}` path `{bad}` must start with '/'",
                    secret.name
                )));
            }
            if secret.hosts.is_empty() {
                return Err(invalid(format!(
                    "capabilities.secrets: `{}` names no hosts to inject into",
                    secret.name
                )));
            }
        }
        Ok(())
    }
}

/// `[a-z][a-z0-9-]{0,63}`.
pub fn is_component_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z'))
        && name.len() <= 64
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '-'))
}

/// A host of 0.x.y loads components built against 0.x.z with z ≤ y (DESIGN §2);
/// from 1.0 on, the same major and a minor no newer than the host's.
pub fn world_compatible(host: &Version, component: &Version) -> bool {
    if host.major == 0 {
        component.major == 0 && component.minor == host.minor && component.patch <= host.patch
    } else {
        component.major == host.major && component.minor <= host.minor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ECHO: &str = r#"
name = "echo"
version = "0.1.0"
kind = "tool"
world-version = "0.1.0"
[limits]
fuel = 1000
"#;

    #[test]
    fn parses_a_minimal_manifest() {
        let m = Manifest::parse(ECHO, "echo.toml").unwrap();
        assert_eq!(m.name, "echo");
        assert_eq!(m.kind, ComponentKind::Tool);
        assert!(m.capabilities.logging);
        assert_eq!(m.limits.fuel, Some(1000));
        assert!(m.capabilities.db.is_none());
    }

    #[test]
    fn unknown_fields_are_errors() {
        let text = ECHO.replace("[limits]", "[capabilities]\ndatabase = true\n[limits]");
        let err = Manifest::parse(&text, "x.toml").unwrap_err().to_string();
        assert!(err.contains("database"), "{err}");
    }

    #[test]
    fn bad_names_and_versions_are_refused() {
        let err = Manifest::parse(&ECHO.replace("\"echo\"", "\"Echo!\""), "x").unwrap_err();
        assert!(err.to_string().contains("name `Echo!`"), "{err}");
        let err = Manifest::parse(
            &ECHO.replace("world-version = \"0.1.0\"", "world-version = \"0.2.0\""),
            "x",
        )
        .unwrap_err();
        assert!(err.to_string().contains("world-version 0.2.0"), "{err}");
        let err = Manifest::parse(&ECHO.replace("fuel = 1000", "fuel = 0"), "x").unwrap_err();
        assert!(err.to_string().contains("limits.fuel"), "{err}");
    }

    #[test]
    fn world_compatibility_follows_semver() {
        let v = |s: &str| Version::parse(s).unwrap();
        assert!(world_compatible(&v("0.1.3"), &v("0.1.0")));
        assert!(!world_compatible(&v("0.1.0"), &v("0.1.1")));
        assert!(!world_compatible(&v("0.1.0"), &v("0.2.0")));
        assert!(world_compatible(&v("1.4.0"), &v("1.2.9")));
        assert!(!world_compatible(&v("1.4.0"), &v("2.0.0")));
    }

    #[test]
    fn memory_prefixes_are_checked_at_parse_time() {
        let with = |memory: &str| {
            Manifest::parse(
                &ECHO.replace(
                    "[limits]",
                    &format!("[capabilities.memory]\n{memory}\n[limits]"),
                ),
                "x",
            )
        };
        let m = with("read = [\"\"]\nwrite = [\"notes/\", \"MEMORY.md\"]").unwrap();
        assert_eq!(
            m.capabilities.memory.unwrap().write,
            ["notes/", "MEMORY.md"]
        );
        for (bad, says) in [
            ("read = [\"../x/\"]", "capabilities.memory.read"),
            ("write = [\"/etc/\"]", "capabilities.memory.write"),
            ("read = [\"*\"]", "whole workspace"),
            ("read = []", "names no read or write prefixes"),
        ] {
            let err = with(bad).unwrap_err().to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn secrets_and_http_rules_parse() {
        let text = format!(
            "{ECHO}\n[capabilities.http]\nallow = [{{ host = \"api.example.com\", methods = [\"POST\"] }}]\n\
             [[capabilities.secrets]]\nname = \"KEY\"\nhosts = [\"api.example.com\"]\ninject = {{ kind = \"header\", name = \"x-api-key\" }}\n"
        )
        .replace("[limits]\nfuel = 1000\n", "");
        let m = Manifest::parse(&text, "x").unwrap();
        let http = m.capabilities.http.unwrap();
        assert_eq!(http.allow[0].scheme, "https");
        assert_eq!(http.allow[0].path_prefix, "/");
        assert_eq!(
            m.capabilities.secrets[0].inject,
            Injection::Header {
                name: "x-api-key".into(),
                prefix: String::new()
            }
        );
    }

    #[test]
    fn hmac_injection_fields_are_kebab_case() {
        let text = format!(
            "{ECHO}\n[[capabilities.secrets]]\nname = \"k\"\nhosts = [\"h\"]\n\
             inject = {{ kind = \"hmac-sha256\", header = \"X-Sig\", timestamp-header = \"X-Ts\" }}\n"
        )
        .replace("[limits]\nfuel = 1000\n", "");
        let m = Manifest::parse(&text, "x").unwrap();
        assert_eq!(
            m.capabilities.secrets[0].inject,
            Injection::HmacSha256 {
                header: "X-Sig".into(),
                prefix: String::new(),
                timestamp_header: Some("X-Ts".into())
            }
        );
    }

    #[test]
    fn a_bare_star_host_means_any_host() {
        let text = format!(
            "{ECHO}\n[[capabilities.http.allow]]\nscheme = \"https\"\nhost = \"*\"\nmethods = [\"GET\"]\n"
        )
        .replace("[limits]\nfuel = 1000\n", "");
        let m = Manifest::parse(&text, "x").unwrap();
        assert_eq!(m.capabilities.http.unwrap().allow[0].host, "*");
        let err = Manifest::parse(&text.replace("\"*\"", "\"\""), "x").unwrap_err();
        assert!(err.to_string().contains("is not a host name"), "{err}");
    }
}

//! What a component may use in a call: the owner's grant (DESIGN §3).
//!
//! Every import checks its capability here first; an un-granted capability
//! answers a typed `denied` naming it, never a trap.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::registry::manifest::{
    ComponentKind, DbRequest, HttpRequest, LlmRequest, Manifest, MemoryRequest, SecretRequest,
};

/// The host capabilities a component can be granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Capability {
    Logging,
    Config,
    Secrets,
    Db,
    Memory,
    Llm,
    HttpOutbound,
    ChannelHost,
    LlmStream,
}

impl Capability {
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Logging => "logging",
            Capability::Config => "config",
            Capability::Secrets => "secrets",
            Capability::Db => "db",
            Capability::Memory => "memory",
            Capability::Llm => "llm",
            Capability::HttpOutbound => "http-outbound",
            Capability::ChannelHost => "channel-host",
            Capability::LlmStream => "llm-stream",
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The granted capabilities of one loaded component version.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Grants {
    pub logging: bool,
    pub http: Option<HttpRequest>,
    pub secrets: Vec<SecretRequest>,
    pub db: Option<DbRequest>,
    pub memory: Option<MemoryRequest>,
    pub llm: Option<LlmRequest>,
    /// Only channel components may emit inbound messages.
    pub channel_host: bool,
    /// Only LLM adapters may stream completion text.
    pub llm_stream: bool,
    /// Owner settings readable through `config`.
    pub settings: BTreeMap<String, String>,
}

impl Grants {
    /// Nothing but `config` (the owner's own settings for the component),
    /// not even logging.
    pub fn none() -> Grants {
        Grants::default()
    }

    /// Everything the manifest requests (the development path, and the
    /// bundled set until recorded grants arrive with signed installs).
    pub fn requested_by(manifest: &Manifest) -> Grants {
        let caps = &manifest.capabilities;
        Grants {
            logging: caps.logging,
            http: caps.http.clone(),
            secrets: caps.secrets.clone(),
            db: caps.db.clone(),
            memory: caps.memory.clone(),
            llm: caps.llm.clone(),
            channel_host: manifest.kind == ComponentKind::Channel,
            llm_stream: manifest.kind == ComponentKind::LlmAdapter,
            settings: BTreeMap::new(),
        }
    }

    pub fn with_settings(mut self, settings: BTreeMap<String, String>) -> Grants {
        self.settings = settings;
        self
    }

    pub fn allows(&self, capability: Capability) -> bool {
        match capability {
            Capability::Logging => self.logging,
            Capability::Config => true,
            Capability::Secrets => !self.secrets.is_empty(),
            Capability::Db => self.db.is_some(),
            Capability::Memory => self.memory.is_some(),
            Capability::Llm => self.llm.is_some(),
            Capability::HttpOutbound => self.http.is_some(),
            Capability::ChannelHost => self.channel_host,
            Capability::LlmStream => self.llm_stream,
        }
    }

    /// The granted capabilities, for `tool call` output and audit.
    pub fn list(&self) -> Vec<Capability> {
        [
            Capability::Logging,
            Capability::Config,
            Capability::Secrets,
            Capability::Db,
            Capability::Memory,
            Capability::Llm,
            Capability::HttpOutbound,
            Capability::ChannelHost,
            Capability::LlmStream,
        ]
        .into_iter()
        .filter(|c| self.allows(*c))
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(kind: &str, extra: &str) -> Manifest {
        Manifest::parse(
            &format!("name = \"x\"\nversion = \"0.1.0\"\nkind = \"{kind}\"\nworld-version = \"0.1.0\"\n{extra}"),
            "x",
        )
        .unwrap()
    }

    #[test]
    fn a_grant_is_what_the_manifest_requests_and_no_more() {
        let g = Grants::requested_by(&manifest("tool", "[capabilities.db]\nquota-bytes = 10\n"));
        assert_eq!(
            g.list(),
            [Capability::Logging, Capability::Config, Capability::Db]
        );
        assert!(!g.allows(Capability::HttpOutbound));
        assert!(!g.allows(Capability::ChannelHost), "only channels emit");
        assert!(!g.allows(Capability::LlmStream), "only adapters stream");
    }

    #[test]
    fn kind_decides_channel_host_and_llm_stream() {
        assert!(Grants::requested_by(&manifest("channel", "")).allows(Capability::ChannelHost));
        assert!(Grants::requested_by(&manifest("llm-adapter", "")).allows(Capability::LlmStream));
    }

    #[test]
    fn logging_can_be_declined_and_none_grants_nothing_but_config() {
        let g = Grants::requested_by(&manifest("tool", "[capabilities]\nlogging = false\n"));
        assert!(!g.allows(Capability::Logging));
        assert_eq!(Grants::none().list(), [Capability::Config]);
    }
}

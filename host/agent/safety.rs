//! `[safety]` in config.toml: which installed filters and hooks run, in
//! what order, and which filters may fail open; and the filters' seat on
//! the outbound HTTP door (the `outbound-http-body` stage).
//!
//! ```toml
//! [safety]
//! order = ["validator", "leak-detector"]  # these filters first, in this order; the rest by name
//! disabled = ["profanity-filter"]         # filters and hooks that never run
//! fail-open = ["policy"]                  # a failure of these lets content through (reported)
//! ```
//!
//! The host floor (exact secret values, the canary, tool output wrapped and
//! capped) is not a filter and cannot be disabled here.

use std::sync::{Arc, Weak};

use serde::{Deserialize, Serialize};

use super::pipeline::Pipeline;
use crate::capabilities::HttpBodyScreen;
use crate::runtime::Runtime;
use crate::runtime::live::LiveSet;
use crate::runtime::safety::{InspectionContext, Stage};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SafetyConfig {
    /// Filters named here run first, in this order; the others follow by
    /// name. Names not installed are ignored. The default puts the
    /// validator first, so the others judge text without hidden characters.
    #[serde(default = "default_order")]
    pub order: Vec<String>,
    /// Filters and hooks that are loaded but never run.
    #[serde(default)]
    pub disabled: Vec<String>,
    /// Filters whose failure (a trap, a spent budget, a reported error)
    /// lets the content through with a warning instead of blocking it.
    #[serde(default)]
    pub fail_open: Vec<String>,
}

fn default_order() -> Vec<String> {
    ["validator", "leak-detector", "injection-guard", "policy"]
        .map(String::from)
        .to_vec()
}

impl Default for SafetyConfig {
    fn default() -> Self {
        SafetyConfig {
            order: default_order(),
            disabled: Vec::new(),
            fail_open: Vec::new(),
        }
    }
}

impl SafetyConfig {
    pub fn is_disabled(&self, name: &str) -> bool {
        self.disabled.iter().any(|n| n == name)
    }

    pub fn fails_open(&self, name: &str) -> bool {
        self.fail_open.iter().any(|n| n == name)
    }
}

/// The `outbound-http-body` stage as the HTTP door calls it: the filters
/// serving at the moment of the request, in the owner's order.
pub struct FilterBodyScreen {
    /// Weak: the runtime owns the door that owns this screen.
    runtime: Weak<Runtime>,
    live: Arc<LiveSet>,
    config: SafetyConfig,
}

impl FilterBodyScreen {
    pub fn new(runtime: &Arc<Runtime>, live: Arc<LiveSet>, config: SafetyConfig) -> Self {
        FilterBodyScreen {
            runtime: Arc::downgrade(runtime),
            live,
            config,
        }
    }

    /// Serves the stage for every later request of `runtime`'s components.
    pub fn install(runtime: &Arc<Runtime>, live: Arc<LiveSet>, config: SafetyConfig) {
        let screen = Arc::new(FilterBodyScreen::new(runtime, live, config));
        let _ = runtime.services().http_body_screen.set(screen);
    }
}

#[async_trait::async_trait]
impl HttpBodyScreen for FilterBodyScreen {
    async fn screen(
        &self,
        caller: &str,
        destination: &str,
        body: &str,
    ) -> Result<Option<String>, String> {
        let Some(runtime) = self.runtime.upgrade() else {
            return Err("the host is shutting down".into());
        };
        let pipeline = Pipeline::new(runtime, self.live.all(), &self.config);
        if !pipeline.screens(Stage::OutboundHttpBody) {
            return Ok(None);
        }
        let context = InspectionContext {
            tool_name: Some(caller.to_string()),
            destination: Some(destination.to_string()),
            ..InspectionContext::default()
        };
        match pipeline
            .filter(Stage::OutboundHttpBody, body.to_string(), &context)
            .await
        {
            Ok(text) if text == body => Ok(None),
            Ok(text) => Ok(Some(text)),
            Err(stopped) => Err(stopped.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_section_reads_kebab_case_and_refuses_unknown_keys() {
        let c: SafetyConfig =
            toml::from_str("order = [\"a\"]\ndisabled = [\"b\"]\nfail-open = [\"c\"]\n").unwrap();
        assert!(c.is_disabled("b") && !c.is_disabled("a"));
        assert!(c.fails_open("c") && !c.fails_open("a"));
        assert_eq!(c.order, ["a"]);
        assert!(toml::from_str::<SafetyConfig>("fail_open = []\n").is_err());
    }
}

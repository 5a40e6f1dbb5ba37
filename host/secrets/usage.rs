//! Which components ask for which secrets, so the owner can see what a
//! stored secret is for, and what is asked for but not set.
//!
//! Three grounds, strongest first:
//! - `approved`: the owner's active grant for the installed release;
//! - `pending`: a grant waiting for `ironclaw component approve`;
//! - `manifest`: a component found on the search path outside the
//!   installed directory, which is loaded as its manifest requests.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::{Config, Home};
use crate::registry::discovery;
use crate::registry::install::ApprovedGrant;
use crate::registry::manifest::SecretRequest;
use crate::store::StoreError;
use crate::store::domains::{ComponentStore, GrantStatus};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Grounds {
    Approved,
    Pending,
    Manifest,
}

impl Grounds {
    pub fn as_str(self) -> &'static str {
        match self {
            Grounds::Approved => "approved",
            Grounds::Pending => "pending",
            Grounds::Manifest => "manifest",
        }
    }
}

/// One component's use of one secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretUse {
    pub component: String,
    /// The hosts the secret may be sent to.
    pub hosts: Vec<String>,
    pub grounds: Grounds,
}

#[derive(Debug, Default)]
pub struct Usage {
    /// Secret name → the components that may use it.
    pub by_secret: BTreeMap<String, Vec<SecretUse>>,
    /// Records or manifests that could not be read (reported, not fatal).
    pub warnings: Vec<String>,
}

impl Usage {
    fn add(&mut self, component: &str, grounds: Grounds, requests: &[SecretRequest]) {
        for r in requests {
            self.by_secret
                .entry(r.name.clone())
                .or_default()
                .push(SecretUse {
                    component: component.to_string(),
                    hosts: r.hosts.clone(),
                    grounds,
                });
        }
    }

    fn sort(&mut self) {
        for uses in self.by_secret.values_mut() {
            uses.sort_by(|a, b| (a.grounds, &a.component).cmp(&(b.grounds, &b.component)));
            uses.dedup();
        }
    }
}

/// Reads the installed components' grants from `store` and the manifests
/// on the rest of the search path.
pub async fn secret_usage(
    config: &Config,
    home: &Home,
    store: &dyn ComponentStore,
) -> Result<Usage, StoreError> {
    let mut usage = Usage::default();
    for component in store.components().await? {
        for grant in store.grants(&component.name).await? {
            let grounds = match grant.status {
                // Only the serving release's grant counts; older ones are history.
                GrantStatus::Active if grant.digest == component.digest => Grounds::Approved,
                GrantStatus::Pending => Grounds::Pending,
                _ => continue,
            };
            match ApprovedGrant::parse(&grant.grant_json) {
                Ok(g) => usage.add(&component.name, grounds, &g.capabilities.secrets),
                Err(e) => usage.warnings.push(format!("{}: {e}", component.name)),
            }
        }
    }
    // The bundles that would serve, in search-path order (the first of a
    // name wins); those in the installed directory are covered by grants.
    let installed = canonical(&home.components_dir());
    let (bundles, errors) = discovery::discover(&discovery::search_path(config, home));
    usage
        .warnings
        .extend(errors.into_iter().map(|e| e.to_string()));
    for bundle in bundles {
        if bundle.wasm.parent().map(canonical) != Some(installed.clone()) {
            usage.add(
                &bundle.manifest.name,
                Grounds::Manifest,
                &bundle.manifest.capabilities.secrets,
            );
        }
    }
    usage.sort();
    Ok(usage)
}

fn canonical(p: &std::path::Path) -> std::path::PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

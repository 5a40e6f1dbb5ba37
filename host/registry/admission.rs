//! Who may serve: the owner's admission policy, applied to every version the
//! host is about to load (at start and on hot reload). Fails closed.
//!
//! A component in `IRONCLAW_HOME/components` serves only when
//! - the owner approved exactly this digest (an active grant), and the
//!   manifest asks for exactly what was approved;
//! - its signature verifies with a trusted key, unless the owner installed
//!   this very digest with `--allow-unsigned`.
//!
//! A signed, trusted new version dropped in by hand that asks for the same
//! or less than the approved version is approved on the spot (the upgrade
//! rule); one asking for more is refused until installed and approved.
//!
//! The bundled set beside the binary serves only when signed by a key the
//! owner trusts (the machine's bundled-publisher key, which `scripts/run`
//! trusts, or a release key); it is then granted what it requests without
//! questions — that key is the owner's yes. Unsigned or untrusted bundled
//! components are refused.
//!
//! The owner's own directories (`components.paths`) and the builds of
//! `ironclaw component dev` (`IRONCLAW_HOME/dev`) are the development path:
//! granted what they request, with a warning on every load, because only the
//! owner writes there.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::discovery::Bundle;
use super::install::ApprovedGrant;
use super::reload::Admission;
use crate::capabilities::Grants;
use crate::capabilities::escalation::escalations;
use crate::config::Home;
use crate::store::domains::{ComponentStore, GrantRecord, GrantStatus};
use crate::trust::{SignatureFile, TrustStore};

type Settings = BTreeMap<String, BTreeMap<String, String>>;

pub struct InstalledPolicy {
    home: Home,
    installed: PathBuf,
    /// The bundled set's directory, when the binary has one beside it.
    bundled: Option<PathBuf>,
    /// `None` when the database could not be opened: installed components
    /// are then refused (fail closed), the rest still load.
    store: Option<Arc<dyn ComponentStore>>,
    /// The owner's `[components.settings.<name>]`, readable via `config`.
    settings: Settings,
}

impl InstalledPolicy {
    pub fn new(
        home: Home,
        store: Option<Arc<dyn ComponentStore>>,
        settings: Settings,
    ) -> InstalledPolicy {
        InstalledPolicy {
            installed: home.components_dir(),
            bundled: super::discovery::bundled_dir(),
            home,
            store,
            settings,
        }
    }

    /// Whether `wasm` sits in the installed directory (so this policy
    /// needs the database for it).
    pub fn governs(&self, wasm: &Path) -> bool {
        self.is_installed_dir(wasm)
    }

    fn grants(&self, manifest: &crate::registry::Manifest) -> Grants {
        Grants::requested_by(manifest).with_settings(
            self.settings
                .get(&manifest.name)
                .cloned()
                .unwrap_or_default(),
        )
    }

    fn store(&self) -> Result<&Arc<dyn ComponentStore>, String> {
        self.store
            .as_ref()
            .ok_or_else(|| "the database is unavailable, so no grant can be checked".to_string())
    }

    /// The policy for another bundled directory (tests; a packaged layout).
    pub fn with_bundled_dir(mut self, dir: Option<PathBuf>) -> InstalledPolicy {
        self.bundled = dir;
        self
    }

    fn is_installed_dir(&self, wasm: &Path) -> bool {
        in_dir(wasm, &self.installed)
    }

    fn is_bundled_dir(&self, wasm: &Path) -> bool {
        self.bundled.as_deref().is_some_and(|d| in_dir(wasm, d))
    }

    /// A bundled component: its signature must verify with a trusted key.
    fn bundled(&self, bundle: &Bundle, digest: &blake3::Hash) -> Result<Grants, String> {
        let trust = TrustStore::load(&self.home).map_err(|e| format!("trust store: {e}"))?;
        let refuse = |why: String| {
            format!(
                "bundled component refused: {why}; trust the key that signed the bundled set \
                 (`ironclaw keys trust \"$(scripts/sign-bundled --pub)\"`, which scripts/run does)"
            )
        };
        let (sig, _) =
            SignatureFile::read_sidecar(&bundle.wasm).map_err(|e| refuse(e.to_string()))?;
        let verified = crate::trust::verify_digest(*digest, &bundle.manifest, &sig, &trust)
            .and_then(|v| v.require_trusted())
            .map_err(|e| refuse(e.to_string()))?;
        tracing::debug!(component = %bundle.manifest.name, key = %verified.key_id, "bundled component signed by a trusted key");
        Ok(self.grants(&bundle.manifest))
    }

    async fn installed(&self, bundle: &Bundle, digest: &blake3::Hash) -> Result<Grants, String> {
        let manifest = &bundle.manifest;
        let name = &manifest.name;
        // Grants are bound to the release (manifest + .wasm), not the .wasm alone.
        let hex = super::install::release_digest(manifest, digest);
        let store_err = |e: crate::store::StoreError| format!("grant lookup failed: {e}");
        let trust = TrustStore::load(&self.home).map_err(|e| format!("trust store: {e}"))?;
        let signed = || -> Result<crate::trust::Verified, String> {
            let (sig, _) = SignatureFile::read_sidecar(&bundle.wasm).map_err(|e| e.to_string())?;
            crate::trust::verify_digest(*digest, manifest, &sig, &trust)
                .and_then(|v| v.require_trusted())
                .map_err(|e| e.to_string())
        };
        let grant = self.store()?.grant(name, &hex).await.map_err(store_err)?;
        let approved = match grant {
            Some(g) if g.status == GrantStatus::Active => {
                ApprovedGrant::parse(&g.grant_json).map_err(|e| e.to_string())?
            }
            Some(g) if g.status == GrantStatus::Pending => {
                return Err(format!(
                    "version {} waits for approval: `ironclaw component approve {name}`",
                    manifest.version
                ));
            }
            _ => self.upgrade_in_place(bundle, &hex, signed()?).await?,
        };
        if !approved.unsigned {
            let _verified = signed()?;
        }
        if approved.kind != manifest.kind || approved.capabilities != manifest.capabilities {
            return Err("the manifest asks for something other than what was approved".into());
        }
        Ok(self.grants(manifest))
    }

    /// A version nobody installed: admitted only as a signed, trusted
    /// upgrade asking for no more than the approved version.
    async fn upgrade_in_place(
        &self,
        bundle: &Bundle,
        hex: &str,
        verified: crate::trust::Verified,
    ) -> Result<ApprovedGrant, String> {
        let manifest = &bundle.manifest;
        let name = &manifest.name;
        let not_installed = || {
            format!(
                "not installed (no approved grant for this digest): `ironclaw component install {}`",
                bundle.wasm.display()
            )
        };
        let store = self.store()?;
        let current = store
            .component(name)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(not_installed)?;
        let old = store
            .grant(name, &current.digest)
            .await
            .map_err(|e| e.to_string())?
            .filter(|g| g.status == GrantStatus::Active)
            .ok_or_else(not_installed)?;
        let old = ApprovedGrant::parse(&old.grant_json).map_err(|e| e.to_string())?;
        let more = escalations(
            manifest.kind,
            &manifest.capabilities,
            old.kind,
            &old.capabilities,
        );
        if !more.is_empty() {
            return Err(format!(
                "asks for more than approved ({}): install it with `ironclaw component install` to approve",
                more.join("; ")
            ));
        }
        // The record keeps the manifest as installed; it was just parsed,
        // so a read failure here means the files are changing: refuse.
        let manifest_text = super::discovery::manifest_path_for(&bundle.wasm)
            .and_then(|p| std::fs::read_to_string(p).ok())
            .ok_or_else(|| {
                "the manifest could not be read again; retrying on the next change".to_string()
            })?;
        let grant = ApprovedGrant {
            kind: manifest.kind,
            capabilities: manifest.capabilities.clone(),
            unsigned: false,
            signer: Some(verified.key_id.to_string()),
        };
        let json = serde_json::to_string(&grant).map_err(|e| e.to_string())?;
        store
            .put_grant(&GrantRecord {
                component: name.clone(),
                digest: hex.to_string(),
                grant_json: json,
                status: GrantStatus::Active,
                approved_at: Some(crate::store::now_ms()),
            })
            .await
            .map_err(|e| e.to_string())?;
        store
            .record_install(&super::install::component_record(
                manifest,
                &manifest_text,
                hex,
            ))
            .await
            .map_err(|e| e.to_string())?;
        tracing::info!(component = %name, version = %manifest.version, "upgrade approved: it asks for no more than the approved version");
        Ok(grant)
    }
}

#[async_trait::async_trait]
impl Admission for InstalledPolicy {
    async fn admit(
        &self,
        bundle: &Bundle,
        _wasm: &[u8],
        digest: &blake3::Hash,
    ) -> Result<Grants, String> {
        if self.is_installed_dir(&bundle.wasm) {
            return self.installed(bundle, digest).await;
        }
        if self.is_bundled_dir(&bundle.wasm) {
            return self.bundled(bundle, digest);
        }
        // The development path: the owner's own directories and
        // `component dev` builds. Loud on every load, by design.
        tracing::warn!(
            component = %bundle.manifest.name,
            path = %bundle.wasm.display(),
            "development component: not signature-checked, granted what it requests"
        );
        Ok(self.grants(&bundle.manifest))
    }
}

fn in_dir(wasm: &Path, dir: &Path) -> bool {
    let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    wasm.parent().map(canon) == Some(canon(dir))
}

//! Installing, approving and removing components (DESIGN §3).
//!
//! An installed component is three files in `IRONCLAW_HOME/components`
//! (`<name>.wasm`, `<name>.toml`, `<name>.sig`) plus two records: the
//! install (name, version, kind, digest, manifest) and the owner's grant,
//! bound to that digest. A version waiting for approval lives in
//! `IRONCLAW_HOME/pending/<name>/` and its grant is `pending`: the watched
//! directory only ever holds approved versions, so the old version keeps
//! serving (and survives a restart) until the owner approves.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::capabilities::escalation::escalations;
use crate::config::Home;
use crate::registry::Manifest;
use crate::registry::manifest::Capabilities;
use crate::store::StoreError;
use crate::store::domains::{ComponentRecord, ComponentStore, GrantRecord, GrantStatus};
use crate::trust::{SignatureFile, TrustStore, Verified, VerifyError};

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("{0}")]
    Source(String),
    #[error(transparent)]
    Verify(#[from] VerifyError),
    #[error(
        "{name} {candidate} is older than the installed {installed}; pass --allow-downgrade to install it anyway"
    )]
    Downgrade {
        name: String,
        candidate: String,
        installed: String,
    },
    #[error("`{0}` is not installed")]
    NotInstalled(String),
    #[error("`{0}` has no version waiting for approval")]
    NothingPending(String),
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The digest installs and grants are bound to: blake3 of exactly what a
/// signature covers (the canonical manifest and the `.wasm` digest). A new
/// `.wasm` or any change to what the manifest asks for is a new release,
/// even when the other half is unchanged.
pub fn release_digest(manifest: &Manifest, wasm_digest: &blake3::Hash) -> String {
    blake3::hash(&crate::trust::canonical::signed_message(
        manifest,
        wasm_digest,
    ))
    .to_hex()
    .to_string()
}

/// What the owner approved for one digest (the grant record's JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ApprovedGrant {
    pub kind: crate::registry::ComponentKind,
    pub capabilities: Capabilities,
    /// Installed with `--allow-unsigned`: this digest runs without a
    /// signature, and only this digest.
    #[serde(default)]
    pub unsigned: bool,
    /// The key that signed it, when signed.
    #[serde(default)]
    pub signer: Option<String>,
}

impl ApprovedGrant {
    pub fn parse(json: &str) -> Result<ApprovedGrant, StoreError> {
        serde_json::from_str(json)
            .map_err(|e| StoreError::Database(format!("malformed grant record: {e}")))
    }
}

/// A component about to be installed: the bytes, the manifest and the
/// signature, as read from a directory or fetched from a registry.
pub struct Candidate {
    pub manifest: Manifest,
    pub manifest_text: String,
    pub wasm: Vec<u8>,
    pub signature_text: Option<String>,
    /// Where it came from, for messages.
    pub origin: String,
}

impl Candidate {
    /// `<dir>/<name>.wasm` with its manifest and (optional) `.sig` beside it.
    pub fn from_path(wasm: &Path) -> Result<Candidate, InstallError> {
        let read = |p: &Path| {
            std::fs::read(p)
                .map_err(|e| InstallError::Source(format!("cannot read {}: {e}", p.display())))
        };
        let manifest_path = super::discovery::manifest_path_for(wasm).ok_or_else(|| {
            InstallError::Source(format!(
                "{}: no manifest beside it (<name>.toml or component.toml)",
                wasm.display()
            ))
        })?;
        let manifest_text = String::from_utf8(read(&manifest_path)?)
            .map_err(|_| InstallError::Source(format!("{}: not UTF-8", manifest_path.display())))?;
        let manifest = Manifest::parse(&manifest_text, &manifest_path.display().to_string())
            .map_err(|e| InstallError::Source(e.to_string()))?;
        let sig_path = SignatureFile::sidecar_path(wasm);
        let signature_text = match std::fs::read_to_string(&sig_path) {
            Ok(t) => Some(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(InstallError::Source(format!(
                    "cannot read {}: {e}",
                    sig_path.display()
                )));
            }
        };
        Ok(Candidate {
            manifest,
            manifest_text,
            wasm: read(wasm)?,
            signature_text,
            origin: wasm.display().to_string(),
        })
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct InstallOptions {
    pub allow_unsigned: bool,
    pub allow_downgrade: bool,
}

/// What installing would do, for the owner's decision.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub name: String,
    pub version: String,
    pub digest: String,
    /// `None` when unsigned (and allowed).
    pub signer: Option<String>,
    pub replaces: Option<String>,
    /// blake3 of the `.wasm`.
    pub wasm_digest: String,
    /// Everything it asks for, in plain words.
    pub requests: Vec<String>,
    /// What it asks for beyond the grant of the version it replaces; when
    /// empty and it replaces something, no approval is needed.
    pub escalations: Vec<String>,
    pub needs_approval: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case", tag = "outcome")]
pub enum Outcome {
    Installed {
        plan: Plan,
    },
    /// Waiting for `ironclaw component approve NAME`.
    Pending {
        plan: Plan,
    },
    AlreadyInstalled {
        name: String,
        digest: String,
    },
}

/// Where the approved and the waiting versions live.
pub struct Layout {
    pub installed: PathBuf,
    pub pending: PathBuf,
}

impl Layout {
    pub fn of(home: &Home) -> Layout {
        Layout {
            installed: home.components_dir(),
            pending: home.root().join("pending"),
        }
    }

    fn files(dir: &Path, name: &str) -> [PathBuf; 3] {
        ["wasm", "toml", "sig"].map(|ext| dir.join(format!("{name}.{ext}")))
    }
}

/// Verifies `candidate` and works out what installing it means.
pub async fn plan(
    candidate: &Candidate,
    trust: &TrustStore,
    store: &dyn ComponentStore,
    options: InstallOptions,
) -> Result<Plan, InstallError> {
    let manifest = &candidate.manifest;
    let digest = blake3::hash(&candidate.wasm);
    let verified: Option<Verified> = match &candidate.signature_text {
        Some(text) => {
            let sig = SignatureFile::parse(text, &candidate.origin)?;
            Some(crate::trust::verify_digest(digest, manifest, &sig, trust)?.require_trusted()?)
        }
        None if options.allow_unsigned => None,
        None => {
            return Err(VerifyError::Unsigned {
                path: format!(
                    "{} (pass --allow-unsigned to install it anyway)",
                    candidate.origin
                ),
            }
            .into());
        }
    };
    let installed = store.component(&manifest.name).await?;
    if let Some(old) = &installed
        && let Ok(old_version) = semver::Version::parse(&old.version)
        && manifest.version < old_version
        && !options.allow_downgrade
    {
        return Err(InstallError::Downgrade {
            name: manifest.name.clone(),
            candidate: manifest.version.to_string(),
            installed: old.version.clone(),
        });
    }
    let approved = match &installed {
        Some(old) => store
            .grant(&old.name, &old.digest)
            .await?
            .filter(|g| g.status == GrantStatus::Active)
            .map(|g| ApprovedGrant::parse(&g.grant_json))
            .transpose()?,
        None => None,
    };
    let escalations = match &approved {
        Some(a) => escalations(
            manifest.kind,
            &manifest.capabilities,
            a.kind,
            &a.capabilities,
        ),
        None => Vec::new(),
    };
    Ok(Plan {
        name: manifest.name.clone(),
        version: manifest.version.to_string(),
        digest: release_digest(manifest, &digest),
        wasm_digest: digest.to_hex().to_string(),
        signer: verified.map(|v| match v.key_name {
            Some(n) => format!("{} ({n})", v.key_id),
            None => v.key_id.to_string(),
        }),
        replaces: installed.map(|o| o.version),
        requests: crate::trust::describe_requests(manifest),
        needs_approval: approved.is_none() || !escalations.is_empty(),
        escalations,
    })
}

/// Installs a planned candidate. `approved` is the owner's answer (or
/// `--yes`); a plan that needs approval and did not get it is stored as
/// pending and the serving version stays.
pub async fn install(
    home: &Home,
    store: &dyn ComponentStore,
    candidate: &Candidate,
    plan: Plan,
    approved: bool,
    options: InstallOptions,
) -> Result<Outcome, InstallError> {
    let layout = Layout::of(home);
    let name = candidate.manifest.name.clone();
    if let Some(current) = store.component(&name).await?
        && current.digest == plan.digest
        && store
            .grant(&name, &plan.digest)
            .await?
            .is_some_and(|g| g.status == GrantStatus::Active)
    {
        return Ok(Outcome::AlreadyInstalled {
            name,
            digest: plan.digest,
        });
    }
    let grant = ApprovedGrant {
        kind: candidate.manifest.kind,
        capabilities: candidate.manifest.capabilities.clone(),
        unsigned: candidate.signature_text.is_none() && options.allow_unsigned,
        signer: plan.signer.clone(),
    };
    let grant_json = serde_json::to_string(&grant)
        .map_err(|e| StoreError::Database(format!("cannot encode the grant: {e}")))?;
    let active = approved || !plan.needs_approval;
    let dir = if active {
        layout.installed.clone()
    } else {
        layout.pending.join(&name)
    };
    write_files(&dir, candidate)?;
    store
        .put_grant(&GrantRecord {
            component: name.clone(),
            digest: plan.digest.clone(),
            grant_json,
            status: if active {
                GrantStatus::Active
            } else {
                GrantStatus::Pending
            },
            approved_at: active.then(crate::store::now_ms),
        })
        .await?;
    if !active {
        return Ok(Outcome::Pending { plan });
    }
    record_install(store, candidate, &plan.digest).await?;
    let _ = std::fs::remove_dir_all(layout.pending.join(&name));
    Ok(Outcome::Installed { plan })
}

/// The install record of a release (also written by the admission policy
/// when it approves an upgrade in place).
pub(crate) fn component_record(
    manifest: &Manifest,
    manifest_text: &str,
    release_digest: &str,
) -> ComponentRecord {
    ComponentRecord {
        name: manifest.name.clone(),
        version: manifest.version.to_string(),
        kind: manifest.kind.as_str().to_string(),
        digest: release_digest.to_string(),
        manifest: manifest_text.to_string(),
        installed_at: crate::store::now_ms(),
    }
}

async fn record_install(
    store: &dyn ComponentStore,
    candidate: &Candidate,
    digest: &str,
) -> Result<(), InstallError> {
    store
        .record_install(&component_record(
            &candidate.manifest,
            &candidate.manifest_text,
            digest,
        ))
        .await?;
    Ok(())
}

/// The signature is written last: a watcher that sees the new `.wasm`
/// before it refuses it (digest mismatch) and takes it on the final rename.
fn write_files(dir: &Path, candidate: &Candidate) -> Result<(), InstallError> {
    let name = &candidate.manifest.name;
    crate::config::create_private_dir(dir).map_err(|source| InstallError::Write {
        path: dir.display().to_string(),
        source,
    })?;
    let [wasm, toml, sig] = Layout::files(dir, name);
    let write = |path: &Path, bytes: &[u8]| {
        crate::trust::write_file_atomic(path, bytes).map_err(|source| InstallError::Write {
            path: path.display().to_string(),
            source,
        })
    };
    write(&wasm, &candidate.wasm)?;
    write(&toml, candidate.manifest_text.as_bytes())?;
    match &candidate.signature_text {
        Some(text) => write(&sig, text.as_bytes())?,
        None => {
            let _ = std::fs::remove_file(&sig);
        }
    }
    Ok(())
}

/// Approves the version waiting for `name`: its files move into the watched
/// directory (a running host swaps it in) and its grant becomes active.
pub async fn approve(
    home: &Home,
    store: &dyn ComponentStore,
    trust: &TrustStore,
    name: &str,
) -> Result<Plan, InstallError> {
    let layout = Layout::of(home);
    let wasm = layout.pending.join(name).join(format!("{name}.wasm"));
    if !wasm.is_file() {
        return Err(InstallError::NothingPending(name.to_string()));
    }
    let candidate = Candidate::from_path(&wasm)?;
    let digest = release_digest(&candidate.manifest, &blake3::hash(&candidate.wasm));
    let grant = store
        .grant(name, &digest)
        .await?
        .filter(|g| g.status == GrantStatus::Pending)
        .ok_or_else(|| InstallError::NothingPending(name.to_string()))?;
    let unsigned = ApprovedGrant::parse(&grant.grant_json)?.unsigned;
    // Verified again: the pending files sat on disk since the install.
    let options = InstallOptions {
        allow_unsigned: unsigned,
        allow_downgrade: true,
    };
    let plan = plan(&candidate, trust, store, options).await?;
    write_files(&layout.installed, &candidate)?;
    store
        .set_grant_status(name, &digest, GrantStatus::Active)
        .await?;
    record_install(store, &candidate, &digest).await?;
    let _ = std::fs::remove_dir_all(layout.pending.join(name));
    Ok(plan)
}

/// Removes `name`: its files, its install record and every grant. Its
/// stored data (the `db` namespace) is the caller's decision.
pub async fn remove(
    home: &Home,
    store: &dyn ComponentStore,
    name: &str,
) -> Result<(), InstallError> {
    let layout = Layout::of(home);
    if store.component(name).await?.is_none() && !layout.pending.join(name).exists() {
        return Err(InstallError::NotInstalled(name.to_string()));
    }
    for path in Layout::files(&layout.installed, name) {
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(InstallError::Write {
                    path: path.display().to_string(),
                    source,
                });
            }
        }
    }
    let _ = std::fs::remove_dir_all(layout.pending.join(name));
    store.remove(name).await?;
    Ok(())
}

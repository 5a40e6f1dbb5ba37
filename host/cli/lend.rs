//! What `run` and `tool call` lend the runtime from the owner's database:
//! the `db` store, the audit trail, and the decrypted secrets (with the
//! leak scanner over them). Secrets that exist but cannot be decrypted stop
//! the host: running without them would also mean not scanning for them.

use std::sync::Arc;
use std::time::Duration;

use super::{CliError, Context};
use crate::capabilities::audit::AuditSink;
use crate::capabilities::live_secrets::LiveSecrets;
use crate::runtime::Runtime;
use crate::secrets::{MasterKey, Vault};
use crate::store::Database;

/// How often a running host looks for secrets changed by another process.
pub const SECRETS_POLL: Duration = Duration::from_secs(2);

pub struct Lent {
    pub audit: AuditSink,
    pub secrets: LiveSecrets,
    pub vault: Option<Arc<Vault>>,
}

pub async fn lend(ctx: &Context, db: &Database, runtime: &mut Runtime) -> Result<Lent, CliError> {
    runtime.set_kv(db.kv());
    let audit = AuditSink::spawn(db.audit());
    runtime.set_audit(audit.clone());
    let secrets = LiveSecrets::default();
    let stored = db
        .secrets()
        .list()
        .await
        .map_err(|e| CliError::Failed(format!("cannot list secrets: {e}")))?;
    let key = MasterKey::load(&ctx.home).map_err(|e| CliError::Failed(e.to_string()))?;
    let vault = match key {
        Some(key) => Some(Arc::new(Vault::new(db.secrets(), key))),
        None if stored.is_empty() => None,
        None => {
            return Err(CliError::Failed(format!(
                "{} secrets are stored but no master key is available (IRONCLAW_MASTER_KEY or {})",
                stored.len(),
                crate::secrets::key_file(&ctx.home).display()
            )));
        }
    };
    if let Some(vault) = &vault {
        secrets
            .refresh(vault)
            .await
            .map_err(|e| CliError::Failed(format!("cannot load the secrets: {e}")))?;
    }
    runtime.set_secrets(secrets.clone());
    Ok(Lent {
        audit,
        secrets,
        vault,
    })
}

impl Lent {
    /// Keeps the secrets current while the host runs (`ironclaw secrets set`
    /// from another terminal takes effect within [`SECRETS_POLL`]). A
    /// failed reload keeps the previous set and says why.
    pub fn watch_secrets(&self) -> Option<tokio::task::JoinHandle<()>> {
        let vault = self.vault.clone()?;
        let secrets = self.secrets.clone();
        Some(tokio::spawn(async move {
            let mut last_error = None;
            loop {
                tokio::time::sleep(SECRETS_POLL).await;
                match secrets.refresh(&vault).await {
                    Ok(true) => tracing::info!("secrets reloaded"),
                    Ok(false) => {}
                    Err(e) => {
                        let e = e.to_string();
                        if last_error.as_ref() != Some(&e) {
                            tracing::error!(error = %e, "secrets reload failed; the previous set stays");
                            last_error = Some(e);
                        }
                    }
                }
            }
        }))
    }
}

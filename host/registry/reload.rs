//! Hot reload: the running host watches its component directories and puts
//! each new version in service without a restart (DESIGN §4).
//!
//! For every bundle whose bytes or manifest differ from the version serving:
//! admit it (signature and grant policy, decided by the caller) → compile
//! off the call path → smoke-instantiate (`describe`) → one atomic swap in
//! the [`LiveSet`]. Calls in flight finish on the old version. A new version
//! that fails any step never serves: the old one keeps serving and the
//! reason is recorded (`component list`, logs).
//!
//! Authors should replace files atomically (write elsewhere, then rename);
//! a half-copied file simply fails to compile and is retried on the next
//! change event.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::Watcher;
use serde::Serialize;

use super::discovery::{self, Bundle};
use crate::capabilities::Grants;
use crate::runtime::live::{LiveSet, SlotStatus};
use crate::runtime::{LoadedComponent, Runtime};

/// Quiet time after the last file event before a rescan: an editor or a
/// copy produces bursts of events for one change.
pub const DEBOUNCE: Duration = Duration::from_millis(150);

/// Decides whether a bundle may serve, and with which grants. `Err` is the
/// reason it may not (unsigned, untrusted, capability escalation pending…).
/// It sees the exact bytes that will be compiled.
#[async_trait::async_trait]
pub trait Admission: Send + Sync {
    async fn admit(
        &self,
        bundle: &Bundle,
        wasm: &[u8],
        digest: &blake3::Hash,
    ) -> Result<Grants, String>;
}

/// A plain function is an admission policy (tests, the development path).
#[async_trait::async_trait]
impl<F> Admission for F
where
    F: Fn(&Bundle, &blake3::Hash) -> Result<Grants, String> + Send + Sync,
{
    async fn admit(
        &self,
        bundle: &Bundle,
        _wasm: &[u8],
        digest: &blake3::Hash,
    ) -> Result<Grants, String> {
        self(bundle, digest)
    }
}

pub type Admit = Arc<dyn Admission>;

/// `admit_fn(|bundle, digest| …)`: a closure as an [`Admit`].
pub fn admit_fn<F>(f: F) -> Admit
where
    F: Fn(&Bundle, &blake3::Hash) -> Result<Grants, String> + Send + Sync + 'static,
{
    Arc::new(f)
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct RescanReport {
    /// Names put in service (new or replaced).
    pub swapped: Vec<String>,
    /// Names whose new version was refused, with the reason.
    pub failed: Vec<(String, String)>,
    pub unchanged: usize,
    /// Names taken out of service because their files are gone.
    pub removed: Vec<String>,
}

pub struct Reloader {
    runtime: Arc<Runtime>,
    live: Arc<LiveSet>,
    dirs: Vec<PathBuf>,
    admit: Admit,
    /// Where the status of every slot is written after each rescan, for
    /// `ironclaw component list` in another process.
    status_file: Option<PathBuf>,
    /// Serialises rescans (a watcher event during a rescan queues another).
    lock: tokio::sync::Mutex<BTreeMap<String, String>>,
}

impl Reloader {
    pub fn new(
        runtime: Arc<Runtime>,
        live: Arc<LiveSet>,
        dirs: Vec<PathBuf>,
        admit: Admit,
    ) -> Reloader {
        Reloader {
            runtime,
            live,
            dirs,
            admit,
            status_file: None,
            lock: tokio::sync::Mutex::new(BTreeMap::new()),
        }
    }

    pub fn with_status_file(mut self, path: PathBuf) -> Reloader {
        self.status_file = Some(path);
        self
    }

    pub fn live(&self) -> &Arc<LiveSet> {
        &self.live
    }

    /// Looks at every bundle once and swaps in what changed.
    pub async fn rescan(&self) -> RescanReport {
        let mut refused = self.lock.lock().await;
        let mut report = RescanReport::default();
        let (bundles, errors) = discovery::discover(&self.dirs);
        for e in errors {
            tracing::warn!(error = %e, "component skipped");
            report.failed.push((String::new(), e.to_string()));
        }
        for bundle in bundles {
            let name = bundle.manifest.name.clone();
            match self.consider(bundle).await {
                Ok(Some(c)) => {
                    let old = self.live.swap_in(c.clone());
                    refused.remove(&name);
                    tracing::info!(
                        component = %name,
                        version = %c.manifest.version,
                        digest = %c.digest.to_hex(),
                        replaced = old.is_some(),
                        "component serving"
                    );
                    report.swapped.push(name);
                }
                Ok(None) => {
                    // Disk matches what serves again: an earlier refusal is moot.
                    refused.remove(&name);
                    self.live.record_failure(&name, None);
                    report.unchanged += 1;
                }
                Err(reason) => {
                    // Logged once per distinct reason, not on every event.
                    if refused.get(&name) != Some(&reason) {
                        tracing::warn!(component = %name, %reason, "new version refused; the serving version stays");
                        refused.insert(name.clone(), reason.clone());
                    }
                    self.live.record_failure(&name, Some(reason.clone()));
                    report.failed.push((name, reason));
                }
            }
        }
        // A component whose file is gone (removed) goes out of service;
        // calls in flight finish. A broken file is not "gone": its old
        // version keeps serving.
        for c in self.live.all() {
            if !c.source.exists() {
                self.live.remove(&c.name);
                refused.remove(c.name.as_ref());
                tracing::info!(component = %c.name, "component removed from service");
                report.removed.push(c.name.to_string());
            }
        }
        self.write_status(&refused);
        report
    }

    /// `Ok(None)`: the serving version is this bundle already.
    async fn consider(&self, bundle: Bundle) -> Result<Option<Arc<LoadedComponent>>, String> {
        let bytes = tokio::fs::read(&bundle.wasm)
            .await
            .map_err(|e| format!("cannot read {}: {e}", bundle.wasm.display()))?;
        let digest = blake3::hash(&bytes);
        if let Some(current) = self.live.get(&bundle.manifest.name)
            && current.digest == digest
            && current.manifest == bundle.manifest
        {
            return Ok(None);
        }
        let grants = self.admit.admit(&bundle, &bytes, &digest).await?;
        let loaded = self
            .runtime
            .load_bytes(&bytes, &bundle.wasm, bundle.manifest, grants)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Some(loaded))
    }

    fn write_status(&self, refused: &BTreeMap<String, String>) {
        let Some(path) = &self.status_file else {
            return;
        };
        let mut status = self.live.status();
        // Names that never served but were refused still show, with why.
        for (name, reason) in refused {
            if !status.iter().any(|s| &s.name == name) {
                status.push(SlotStatus {
                    name: name.clone(),
                    version: String::new(),
                    digest: String::new(),
                    tools: Vec::new(),
                    serving_since: 0,
                    swaps: 0,
                    last_error: Some(reason.clone()),
                });
            }
        }
        if let Err(e) = write_json_atomically(path, &status) {
            tracing::warn!(path = %path.display(), error = %e, "cannot write component status");
        }
    }

    /// Watches the directories and rescans after each burst of changes,
    /// until the returned handle is dropped.
    pub fn watch(self: Arc<Self>) -> Result<WatchHandle, notify::Error> {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                if event.is_ok_and(|e| !e.kind.is_access()) {
                    let _ = tx.send(());
                }
            })?;
        for dir in &self.dirs {
            if dir.is_dir() {
                watcher.watch(dir, notify::RecursiveMode::NonRecursive)?;
            }
        }
        let task = tokio::spawn(async move {
            while rx.recv().await.is_some() {
                // Debounce: wait until the directory has been quiet.
                while let Ok(Some(())) = tokio::time::timeout(DEBOUNCE, rx.recv()).await {}
                self.rescan().await;
            }
        });
        Ok(WatchHandle {
            _watcher: watcher,
            task,
        })
    }
}

/// Stops watching when dropped.
pub struct WatchHandle {
    _watcher: notify::RecommendedWatcher,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for WatchHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn write_json_atomically<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".status.{}.tmp", uuid::Uuid::new_v4().simple()));
    std::fs::write(&tmp, json)?;
    std::fs::rename(&tmp, path)
}

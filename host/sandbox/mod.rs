//! Docker jobs (DESIGN §6): what a component cannot do — run a shell, edit
//! files in a project — runs in a fresh container per job, never in the
//! host process.
//!
//! Every job is a row in the `jobs` table (pending → running → completed,
//! failed, timed-out or cancelled, with events) and one labelled container
//! that is always removed: when the job ends, when its future is dropped,
//! and — after a host crash — by the reaper at the next start, which finds
//! it by label and sees that the process that made it is gone.
//!
//! A container gets the workspace (read-only or read-write by policy), a
//! read-only root, a small /tmp, no network unless the owner chose
//! `full-access`, no capabilities, a non-root user, memory / CPU / pid
//! limits, a deadline, and an environment of its own: nothing from the
//! host's environment (where the owner's keys may sit) is passed in.

pub mod config;
pub mod docker;
pub mod image;
mod job;
pub mod output;
pub mod owner;
pub mod patch;
pub mod paths;
pub mod policy;
pub mod reaper;
pub mod tools;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bollard::Docker;

pub use config::SandboxConfig;
pub use job::{JobOutcome, remove as remove_container};
pub use policy::{JobSpec, Limits, Policy};

use crate::store::StoreError;
use crate::store::domains::JobStore;

/// Labels on every container the sandbox makes.
pub mod labels {
    /// Marks a container as a sandbox job.
    pub const SANDBOX: &str = "ironclaw.sandbox";
    /// Which IronClaw home made it (a digest of its path): the reaper of
    /// one home never touches another's jobs.
    pub const SCOPE: &str = "ironclaw.scope";
    pub const JOB: &str = "ironclaw.job";
    /// The process that runs the job, so the reaper can tell a live job
    /// from an orphan: pid, its start time, and the boot it belongs to.
    pub const OWNER: &str = "ironclaw.owner";
    /// Milliseconds since the epoch after which the owner would have
    /// killed it: past this, a container is an orphan whoever made it.
    pub const DEADLINE: &str = "ironclaw.deadline";
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error(
        "the Docker daemon does not answer at {endpoint}: {message} (start it, or set DOCKER_HOST; scripts/services/docker starts one for the tests)"
    )]
    Unreachable { endpoint: String, message: String },
    #[error("docker: {0}")]
    Docker(String),
    #[error(
        "the sandbox image `{image}` is not built: run `ironclaw sandbox build` (no registry needed)"
    )]
    NoImage { image: String },
    #[error("image build failed: {0}")]
    Build(String),
    #[error("path `{path}` refused: {reason}")]
    PathRefused { path: String, reason: String },
    #[error("workspace {path}: {message}")]
    Workspace { path: String, message: String },
    #[error(
        "policy `{asked}` is above what the owner allows (`{allowed}`); set [sandbox] policy in config.toml to allow it"
    )]
    PolicyRefused { asked: String, allowed: String },
    #[error("{0}")]
    InvalidInput(String),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

impl SandboxError {
    pub(crate) fn docker(e: bollard::errors::Error) -> SandboxError {
        SandboxError::Docker(e.to_string())
    }
}

/// Everything a job needs besides its spec, resolved from `[sandbox]` and
/// the owner's home.
#[derive(Debug, Clone)]
pub struct Settings {
    pub image: String,
    pub workspace: PathBuf,
    /// `uid:gid` inside the container (never root).
    pub user: String,
    /// The most a job may ask for, and what it gets by default.
    pub policy: Policy,
    pub limits: Limits,
    pub full_access_network: String,
    pub require_approval: bool,
    /// Label value that scopes containers to one IronClaw home.
    pub scope: String,
}

impl Settings {
    /// Resolves `[sandbox]` for `home`, creating the default workspace on
    /// first use (owned by the job user, so jobs can write to it).
    pub fn resolve(
        config: &SandboxConfig,
        home: &crate::config::Home,
    ) -> Result<Settings, SandboxError> {
        config.validate().map_err(SandboxError::InvalidInput)?;
        let workspace = config.workspace_dir(home);
        if config.workspace.is_none() && !workspace.exists() {
            create_default_workspace(&workspace)?;
        }
        let workspace = workspace
            .canonicalize()
            .map_err(|e| SandboxError::Workspace {
                path: workspace.display().to_string(),
                message: format!("{e} (set [sandbox] workspace to an existing directory)"),
            })?;
        if !workspace.is_dir() {
            return Err(SandboxError::Workspace {
                path: workspace.display().to_string(),
                message: "not a directory".into(),
            });
        }
        let user = config::job_user(config.user.as_deref(), &workspace)
            .map_err(SandboxError::InvalidInput)?;
        Ok(Settings {
            image: config.image.clone(),
            scope: scope_of(home.root()),
            workspace,
            user,
            policy: config.policy,
            limits: config.limits(),
            full_access_network: config.full_access_network.clone(),
            require_approval: config.require_approval,
        })
    }
}

fn create_default_workspace(dir: &std::path::Path) -> Result<(), SandboxError> {
    let failed = |e: std::io::Error| SandboxError::Workspace {
        path: dir.display().to_string(),
        message: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(failed)?;
    #[cfg(unix)]
    {
        // Created by root, it would be unwritable for the job user.
        use std::os::unix::fs::MetadataExt;
        let root_owned = std::fs::metadata(dir).map_err(failed)?.uid() == 0;
        if root_owned && let Ok((uid, gid)) = config::parse_user(config::DEFAULT_USER) {
            std::os::unix::fs::chown(dir, Some(uid), Some(gid)).map_err(failed)?;
        }
    }
    Ok(())
}

/// A short digest of the home's path: the scope label of its containers.
pub fn scope_of(home: &std::path::Path) -> String {
    let path = home.canonicalize().unwrap_or_else(|_| home.to_path_buf());
    blake3::hash(path.to_string_lossy().as_bytes()).to_hex()[..16].to_string()
}

/// The sandbox of one host process: a Docker client, the job store, and
/// the settings. Cheap to share behind an `Arc`.
pub struct Sandbox {
    docker: Docker,
    jobs: Arc<dyn JobStore>,
    settings: Settings,
    owner: owner::Owner,
    /// The reaper runs once per process, before the first job.
    reaped: tokio::sync::OnceCell<()>,
}

/// How long a connect may wait for the daemon's first answer.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

impl Sandbox {
    /// Connects to the daemon; fails when it does not answer.
    pub async fn connect(
        settings: Settings,
        jobs: Arc<dyn JobStore>,
    ) -> Result<Sandbox, SandboxError> {
        let docker = docker::connect(CONNECT_TIMEOUT).await?;
        Ok(Sandbox::with_docker(docker, settings, jobs))
    }

    pub fn with_docker(docker: Docker, settings: Settings, jobs: Arc<dyn JobStore>) -> Sandbox {
        Sandbox {
            docker,
            jobs,
            settings,
            owner: owner::Owner::current(),
            reaped: tokio::sync::OnceCell::new(),
        }
    }

    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn jobs(&self) -> &Arc<dyn JobStore> {
        &self.jobs
    }

    /// Removes what a crashed host left behind, once per process; a failure
    /// is logged, not fatal (the next start tries again).
    pub async fn reap_once(&self) {
        self.reaped
            .get_or_init(|| async {
                match reaper::reap(self).await {
                    Ok(report) if !report.is_empty() => {
                        tracing::info!(
                            containers = report.containers.len(),
                            jobs = report.jobs.len(),
                            "sandbox: reaped what a stopped host left behind"
                        );
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "sandbox: reaper failed"),
                }
            })
            .await;
    }
}

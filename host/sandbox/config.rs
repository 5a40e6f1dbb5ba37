//! `[sandbox]` in config.toml: the image, the workspace mounted into every
//! job, the policy ceiling and the default limits.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::policy::{Limits, Policy};

/// The tag `ironclaw sandbox build` writes and jobs run by default.
pub const DEFAULT_IMAGE: &str = "ironclaw-sandbox:latest";

/// The uid:gid a job runs as when the workspace belongs to root.
pub const DEFAULT_USER: &str = "1000:1000";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SandboxConfig {
    /// Offer the container tools (`shell`, `read_file`, …) to the agent.
    #[serde(default = "default_true")]
    pub enabled: bool,
    #[serde(default = "default_image")]
    pub image: String,
    /// The host directory mounted at /workspace. Default:
    /// `IRONCLAW_HOME/sandbox-workspace`.
    #[serde(default)]
    pub workspace: Option<PathBuf>,
    /// Both the default and the most a job may ask for: `read-only`,
    /// `workspace-write`, or `full-access` (the owner's explicit opt-in to
    /// a network and a writable workspace).
    #[serde(default = "default_policy")]
    pub policy: Policy,
    /// `uid:gid` inside the container. Default: the workspace's owner, or
    /// 1000:1000 when root owns it. Never root.
    #[serde(default)]
    pub user: Option<String>,
    /// The Docker network of a `full-access` job (others get `none`).
    #[serde(default = "default_full_access_network")]
    pub full_access_network: String,
    /// Container tools ask the owner before every run.
    #[serde(default = "default_true")]
    pub require_approval: bool,
    #[serde(default = "default_memory_mb")]
    pub memory_mb: u64,
    /// Relative CPU weight (Docker's default is 1024).
    #[serde(default = "default_cpu_shares")]
    pub cpu_shares: u64,
    #[serde(default = "default_pids")]
    pub pids: u64,
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// stdout and stderr kept per job, together; the rest is counted and
    /// the result says it was cut.
    #[serde(default = "default_output_kib")]
    pub output_kib: u64,
}

fn default_true() -> bool {
    true
}
fn default_image() -> String {
    DEFAULT_IMAGE.to_string()
}
fn default_policy() -> Policy {
    Policy::WorkspaceWrite
}
fn default_full_access_network() -> String {
    "bridge".into()
}
fn default_memory_mb() -> u64 {
    2048
}
fn default_cpu_shares() -> u64 {
    512
}
fn default_pids() -> u64 {
    256
}
fn default_timeout_secs() -> u64 {
    120
}
fn default_output_kib() -> u64 {
    64
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            enabled: true,
            image: default_image(),
            workspace: None,
            policy: default_policy(),
            user: None,
            full_access_network: default_full_access_network(),
            require_approval: true,
            memory_mb: default_memory_mb(),
            cpu_shares: default_cpu_shares(),
            pids: default_pids(),
            timeout_secs: default_timeout_secs(),
            output_kib: default_output_kib(),
        }
    }
}

impl SandboxConfig {
    /// Checks what serde cannot: non-zero limits, a non-root user.
    pub fn validate(&self) -> Result<(), String> {
        for (name, value) in [
            ("memory-mb", self.memory_mb),
            ("cpu-shares", self.cpu_shares),
            ("pids", self.pids),
            ("timeout-secs", self.timeout_secs),
            ("output-kib", self.output_kib),
        ] {
            if value == 0 {
                return Err(format!("sandbox.{name} must be greater than 0"));
            }
        }
        // Docker refuses less than 6 MB; a job needs a little more to start.
        if self.memory_mb < 8 {
            return Err("sandbox.memory-mb must be at least 8".into());
        }
        if self.cpu_shares < 2 {
            return Err("sandbox.cpu-shares must be at least 2".into());
        }
        if self.image.trim().is_empty() {
            return Err("sandbox.image must not be empty".into());
        }
        if let Some(user) = &self.user {
            parse_user(user)?;
        }
        Ok(())
    }

    /// The limits a job gets unless it asks for less.
    pub fn limits(&self) -> Limits {
        Limits {
            memory_mb: self.memory_mb,
            cpu_shares: self.cpu_shares,
            pids: self.pids,
            timeout_secs: self.timeout_secs,
            output_bytes: self.output_kib.saturating_mul(1024),
        }
    }

    pub fn workspace_dir(&self, home: &crate::config::Home) -> PathBuf {
        self.workspace
            .clone()
            .unwrap_or_else(|| home.root().join("sandbox-workspace"))
    }
}

/// `uid:gid` (numbers only), refusing root: a job never runs as uid 0 or
/// in group 0.
pub fn parse_user(user: &str) -> Result<(u32, u32), String> {
    let bad = || format!("sandbox.user must be `uid:gid` in numbers, not `{user}`");
    let (uid, gid) = user.split_once(':').ok_or_else(bad)?;
    let uid: u32 = uid.parse().map_err(|_| bad())?;
    let gid: u32 = gid.parse().map_err(|_| bad())?;
    if uid == 0 || gid == 0 {
        return Err(format!(
            "sandbox.user `{user}` is root: jobs never run as root"
        ));
    }
    Ok((uid, gid))
}

/// The user a job runs as: the configured one, else the workspace's owner
/// (so files the job writes stay the owner's), else [`DEFAULT_USER`].
pub fn job_user(configured: Option<&str>, workspace: &Path) -> Result<String, String> {
    if let Some(user) = configured {
        parse_user(user)?;
        return Ok(user.to_string());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let Ok(meta) = std::fs::metadata(workspace)
            && meta.uid() != 0
            && meta.gid() != 0
        {
            return Ok(format!("{}:{}", meta.uid(), meta.gid()));
        }
    }
    let _ = workspace;
    Ok(DEFAULT_USER.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_issue() {
        let c = SandboxConfig::default();
        assert_eq!(c.memory_mb, 2048);
        assert_eq!(c.timeout_secs, 120);
        assert_eq!(c.limits().output_bytes, 64 * 1024);
        assert_eq!(c.policy, Policy::WorkspaceWrite);
        assert!(c.require_approval);
        c.validate().unwrap();
    }

    #[test]
    fn root_is_refused() {
        assert!(parse_user("0:0").unwrap_err().contains("never run as root"));
        assert!(parse_user("1000:0").is_err());
        assert!(parse_user("root").is_err());
        assert_eq!(parse_user("1000:1000").unwrap(), (1000, 1000));
    }

    #[test]
    fn zero_limits_are_refused() {
        let c = SandboxConfig {
            timeout_secs: 0,
            ..SandboxConfig::default()
        };
        assert!(c.validate().unwrap_err().contains("timeout-secs"));
    }

    #[test]
    fn parses_from_toml() {
        let c: SandboxConfig =
            toml::from_str("policy = \"read-only\"\nmemory-mb = 64\noutput-kib = 1\n").unwrap();
        assert_eq!(c.policy, Policy::ReadOnly);
        assert_eq!(c.memory_mb, 64);
        assert!(toml::from_str::<SandboxConfig>("memroy-mb = 1").is_err());
    }
}

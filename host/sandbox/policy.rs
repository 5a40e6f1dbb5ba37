//! What a job may touch (its policy) and how much it may use (its limits).

use serde::{Deserialize, Serialize};

/// How the workspace is mounted and whether there is a network. Ordered:
/// a job may ask for the configured policy or anything below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Policy {
    /// Workspace mounted read-only, no network.
    ReadOnly,
    /// Workspace mounted read-write, no network.
    WorkspaceWrite,
    /// Workspace read-write and the configured network; only when the owner
    /// set `[sandbox] policy = "full-access"`.
    FullAccess,
}

impl Policy {
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::ReadOnly => "read-only",
            Policy::WorkspaceWrite => "workspace-write",
            Policy::FullAccess => "full-access",
        }
    }

    pub fn parse(s: &str) -> Option<Policy> {
        Some(match s {
            "read-only" => Policy::ReadOnly,
            "workspace-write" => Policy::WorkspaceWrite,
            "full-access" => Policy::FullAccess,
            _ => return None,
        })
    }

    pub fn writes_workspace(self) -> bool {
        self != Policy::ReadOnly
    }
}

/// A job's budgets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    pub memory_mb: u64,
    pub cpu_shares: u64,
    pub pids: u64,
    pub timeout_secs: u64,
    /// stdout + stderr kept; what follows is counted, not kept.
    pub output_bytes: u64,
}

impl Limits {
    /// Each value no higher than `ceiling`'s (a job can ask for less, never
    /// more, than the owner configured).
    pub fn within(self, ceiling: Limits) -> Limits {
        Limits {
            memory_mb: self.memory_mb.min(ceiling.memory_mb),
            cpu_shares: self.cpu_shares.min(ceiling.cpu_shares),
            pids: self.pids.min(ceiling.pids),
            timeout_secs: self.timeout_secs.min(ceiling.timeout_secs),
            output_bytes: self.output_bytes.min(ceiling.output_bytes),
        }
    }
}

/// One job: a command (argv, no host shell involved) with optional input.
#[derive(Debug, Clone)]
pub struct JobSpec {
    /// What the job is for, stored as the job's kind (`shell`, `read_file`…).
    pub kind: String,
    /// argv inside the container.
    pub command: Vec<String>,
    /// Fed to the command's stdin, then closed.
    pub stdin: Option<Vec<u8>>,
    pub policy: Policy,
    /// `None` takes the configured limits.
    pub limits: Option<Limits>,
    /// A short summary kept with the job (the command, the path).
    pub summary: String,
}

impl JobSpec {
    pub fn shell(command: &str, policy: Policy) -> JobSpec {
        JobSpec {
            kind: "shell".into(),
            command: vec!["/bin/sh".into(), "-c".into(), command.into()],
            stdin: None,
            policy,
            limits: None,
            summary: command.into(),
        }
    }

    pub fn with_limits(mut self, limits: Limits) -> JobSpec {
        self.limits = Some(limits);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_are_ordered_and_parse() {
        assert!(Policy::ReadOnly < Policy::WorkspaceWrite);
        assert!(Policy::WorkspaceWrite < Policy::FullAccess);
        for p in [Policy::ReadOnly, Policy::WorkspaceWrite, Policy::FullAccess] {
            assert_eq!(Policy::parse(p.as_str()), Some(p));
        }
        assert_eq!(Policy::parse("root"), None);
    }

    #[test]
    fn limits_never_exceed_the_ceiling() {
        let ceiling = Limits {
            memory_mb: 100,
            cpu_shares: 512,
            pids: 10,
            timeout_secs: 5,
            output_bytes: 10,
        };
        let asked = Limits {
            memory_mb: 1000,
            cpu_shares: 2,
            pids: 100,
            timeout_secs: 1,
            output_bytes: 100,
        };
        let got = asked.within(ceiling);
        assert_eq!(got.memory_mb, 100);
        assert_eq!(got.cpu_shares, 2);
        assert_eq!(got.timeout_secs, 1);
        assert_eq!(got.output_bytes, 10);
    }
}

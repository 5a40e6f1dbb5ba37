//! Which process runs a job, written on its container and its job row, so
//! that the reaper can tell a job whose host is alive from one whose host
//! crashed: the pid, the pid's start time (a reused pid has another), and
//! the boot (after a reboot no old pid is alive).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    pub pid: u32,
    /// Clock ticks since boot at which the process started (field 22 of
    /// /proc/PID/stat); empty where /proc is not available.
    pub start: String,
    pub boot: String,
}

impl Owner {
    pub fn current() -> Owner {
        let pid = std::process::id();
        Owner {
            pid,
            start: start_time(pid).unwrap_or_default(),
            boot: boot_id(),
        }
    }

    /// `pid:start:boot`, the container label's value.
    pub fn label(&self) -> String {
        format!("{}:{}:{}", self.pid, self.start, self.boot)
    }

    pub fn parse(label: &str) -> Option<Owner> {
        let mut parts = label.splitn(3, ':');
        let pid = parts.next()?.parse().ok()?;
        Some(Owner {
            pid,
            start: parts.next()?.to_string(),
            boot: parts.next()?.to_string(),
        })
    }

    /// Whether this process still runs. Unknown (no /proc) counts as
    /// alive: the deadline label still lets the reaper act.
    pub fn is_alive(&self) -> bool {
        let here = boot_id();
        if !self.boot.is_empty() && !here.is_empty() && self.boot != here {
            return false;
        }
        if !std::path::Path::new("/proc/self/stat").exists() {
            return true;
        }
        match start_time(self.pid) {
            None => false,
            Some(start) => self.start.is_empty() || start == self.start,
        }
    }
}

fn start_time(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count
    // fields after its last ')'. starttime is field 22, the 20th after it.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19).map(str::to_string)
}

fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_round_trips() {
        let me = Owner::current();
        assert!(me.is_alive());
        assert_eq!(Owner::parse(&me.label()), Some(me.clone()));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_reused_pid_or_another_boot_is_not_the_owner() {
        let me = Owner::current();
        let reused = Owner {
            start: "1".into(),
            ..me.clone()
        };
        assert!(!reused.is_alive());
        let rebooted = Owner {
            boot: "another-boot".into(),
            ..me
        };
        assert!(!rebooted.is_alive());
        // A pid above the kernel's maximum never runs.
        let gone = Owner {
            pid: u32::MAX,
            start: String::new(),
            boot: String::new(),
        };
        assert!(!gone.is_alive());
    }
}

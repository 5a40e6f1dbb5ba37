//! One job, start to end: the job row, a labelled container (create →
//! attach → start), its output under the cap, its exit under the deadline,
//! the container removed, the row finished.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bollard::container::LogOutput;
use bollard::models::{ContainerCreateBody, HostConfig, HostConfigLogConfig, Mount, MountType};
use bollard::query_parameters::{
    AttachContainerOptions, CreateContainerOptions, RemoveContainerOptions, WaitContainerOptions,
};
use futures_util::StreamExt;
use serde::Serialize;
use tokio::io::AsyncWriteExt;

use super::output::Capped;
use super::policy::{JobSpec, Limits, Policy};
use super::{Sandbox, SandboxError, labels, paths};
use crate::store::StoreError;
use crate::store::domains::JobState;

/// What a job did.
#[derive(Debug, Clone, Serialize)]
pub struct JobOutcome {
    pub job_id: String,
    pub state: JobState,
    /// The command's exit code; `None` when it never exited on its own
    /// (timed out, cancelled).
    pub exit_code: Option<i64>,
    pub stdout: String,
    pub stderr: String,
    pub truncated: bool,
    pub omitted_bytes: u64,
    /// Why the job stopped before its command finished, if it did.
    pub reason: Option<String>,
    pub duration_ms: u64,
}

/// The environment of every job: a fixed set, never the host's.
const JOB_ENV: &[&str] = &[
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME=/tmp",
    "TMPDIR=/tmp",
    "LANG=C.UTF-8",
];

/// A container the job still owns. Dropped without `disarm` (the job's
/// future was dropped mid-way), it removes the container in the background.
struct Removal {
    docker: bollard::Docker,
    id: String,
    armed: bool,
}

impl Removal {
    async fn remove(mut self) -> Result<(), SandboxError> {
        self.armed = false;
        remove(&self.docker, &self.id).await
    }
}

impl Drop for Removal {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let (docker, id) = (self.docker.clone(), self.id.clone());
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                if let Err(e) = remove(&docker, &id).await {
                    tracing::warn!(container = %id, error = %e, "sandbox: container not removed");
                }
            });
        }
    }
}

/// Force-removes a container (killing it if it runs); gone already is fine.
pub async fn remove(docker: &bollard::Docker, id: &str) -> Result<(), SandboxError> {
    let options = RemoveContainerOptions {
        force: true,
        v: true,
        link: false,
    };
    match docker.remove_container(id, Some(options)).await {
        Ok(()) => Ok(()),
        Err(e) if super::docker::is_not_found(&e) => Ok(()),
        // A removal already under way (a cancel racing the job) is fine.
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 409, ..
        }) => Ok(()),
        Err(e) => Err(SandboxError::docker(e)),
    }
}

/// How the command ended, before the job row says so.
struct Ended {
    exit_code: Option<i64>,
    timed_out: bool,
    oom_killed: bool,
}

impl Sandbox {
    /// Runs `spec` in a fresh container and returns what it did; the job's
    /// state and events are stored as it goes. An error means the job could
    /// not run at all (it is recorded as failed when it got a row).
    pub async fn run(&self, spec: JobSpec) -> Result<JobOutcome, SandboxError> {
        self.reap_once().await;
        if spec.policy > self.settings.policy {
            return Err(SandboxError::PolicyRefused {
                asked: spec.policy.as_str().into(),
                allowed: self.settings.policy.as_str().into(),
            });
        }
        if spec.command.is_empty() {
            return Err(SandboxError::InvalidInput("a job needs a command".into()));
        }
        let limits = spec
            .limits
            .unwrap_or(self.settings.limits)
            .within(self.settings.limits);
        let stored = serde_json::json!({
            "summary": spec.summary,
            "command": spec.command,
            "stdin_bytes": spec.stdin.as_ref().map(Vec::len),
            "policy": spec.policy,
            "limits": limits,
            "image": self.settings.image,
            "workspace": self.settings.workspace,
            "owner": self.owner.label(),
        });
        let job = self.jobs.create(&spec.kind, &stored.to_string()).await?;
        let started = Instant::now();
        match self.run_container(&job.id, &spec, limits, started).await {
            Ok(outcome) => Ok(outcome),
            Err(e) => {
                let detail = serde_json::json!({ "error": e.to_string() }).to_string();
                if let Err(store) = self
                    .jobs
                    .transition(&job.id, JobState::Failed, Some(&detail))
                    .await
                {
                    tracing::warn!(job = %job.id, error = %store, "sandbox: failure not recorded");
                }
                Err(e)
            }
        }
    }

    async fn run_container(
        &self,
        job_id: &str,
        spec: &JobSpec,
        limits: Limits,
        started: Instant,
    ) -> Result<JobOutcome, SandboxError> {
        let body = self.container_body(job_id, spec, limits);
        let options = CreateContainerOptions {
            name: Some(format!("ironclaw-job-{job_id}")),
            platform: String::new(),
        };
        let created = self
            .docker
            .create_container(Some(options), body)
            .await
            .map_err(|e| {
                if super::docker::is_not_found(&e) {
                    SandboxError::NoImage {
                        image: self.settings.image.clone(),
                    }
                } else {
                    SandboxError::docker(e)
                }
            })?;
        let removal = Removal {
            docker: self.docker.clone(),
            id: created.id.clone(),
            armed: true,
        };
        self.jobs
            .record_event(job_id, "container", &created.id)
            .await?;
        let attach = AttachContainerOptions {
            stdin: spec.stdin.is_some(),
            stdout: true,
            stderr: true,
            stream: true,
            logs: false,
            detach_keys: None,
        };
        let attached = self
            .docker
            .attach_container(&created.id, Some(attach))
            .await
            .map_err(SandboxError::docker)?;
        if let Err(e) = self.docker.start_container(&created.id, None).await {
            removal.remove().await?;
            return Err(SandboxError::docker(e));
        }
        match self.jobs.transition(job_id, JobState::Running, None).await {
            Ok(_) => {}
            // Cancelled while it was being created.
            Err(StoreError::Conflict(_)) => {
                removal.remove().await?;
                let empty = Capped::new(0).finish();
                let outcome = JobOutcome {
                    job_id: job_id.to_string(),
                    state: JobState::Cancelled,
                    exit_code: None,
                    stdout: empty.stdout,
                    stderr: empty.stderr,
                    truncated: false,
                    omitted_bytes: 0,
                    reason: None,
                    duration_ms: started.elapsed().as_millis() as u64,
                };
                return self.changed_meanwhile(outcome).await;
            }
            Err(e) => return Err(e.into()),
        }
        let writer = spec.stdin.clone().map(|input| {
            let mut sink = attached.input;
            // Written beside the reader: a command that answers while it
            // reads would otherwise fill its pipe and stall both sides.
            tokio::spawn(async move {
                let _ = sink.write_all(&input).await;
                let _ = sink.shutdown().await;
            })
        });
        let mut output = Capped::new(limits.output_bytes);
        let ended = self
            .collect(&created.id, attached.output, &mut output, limits)
            .await;
        if let Some(w) = writer {
            w.abort();
        }
        removal.remove().await?;
        let ended = ended?;
        let state = if ended.timed_out {
            JobState::TimedOut
        } else if ended.oom_killed || ended.exit_code != Some(0) {
            JobState::Failed
        } else {
            JobState::Completed
        };
        let reason = if ended.timed_out {
            Some(format!(
                "timed out after {} s: the container was killed",
                limits.timeout_secs
            ))
        } else if ended.oom_killed {
            Some(format!(
                "killed: the memory limit of {} MB was reached",
                limits.memory_mb
            ))
        } else {
            None
        };
        let out = output.finish();
        let outcome = JobOutcome {
            job_id: job_id.to_string(),
            state,
            exit_code: ended.exit_code,
            stdout: out.stdout,
            stderr: out.stderr,
            truncated: out.truncated,
            omitted_bytes: out.omitted_bytes,
            reason,
            duration_ms: started.elapsed().as_millis() as u64,
        };
        let result = serde_json::to_string(&outcome).unwrap_or_default();
        match self.jobs.transition(job_id, state, Some(&result)).await {
            Ok(_) => Ok(outcome),
            // Cancelled meanwhile: the output so far still goes back.
            Err(StoreError::Conflict(_)) => self.changed_meanwhile(outcome).await,
            Err(e) => Err(e.into()),
        }
    }

    /// Reads the output until the command exits or the deadline passes,
    /// then learns the exit code (and, for a failure, whether the kernel's
    /// OOM killer ended it).
    async fn collect(
        &self,
        id: &str,
        mut stream: std::pin::Pin<
            Box<dyn futures_util::Stream<Item = Result<LogOutput, bollard::errors::Error>> + Send>,
        >,
        output: &mut Capped,
        limits: Limits,
    ) -> Result<Ended, SandboxError> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(limits.timeout_secs);
        let timed_out = Ended {
            exit_code: None,
            timed_out: true,
            oom_killed: false,
        };
        loop {
            let item = match tokio::time::timeout_at(deadline, stream.next()).await {
                Ok(item) => item,
                Err(_) => return Ok(timed_out),
            };
            match item {
                Some(Ok(LogOutput::StdOut { message })) => output.stdout(&message),
                Some(Ok(LogOutput::StdErr { message })) => output.stderr(&message),
                Some(Ok(_)) => {}
                // The stream ends (or breaks) when the command's stdio
                // closes; the exit code comes from the daemon either way.
                Some(Err(_)) | None => break,
            }
        }
        let wait = WaitContainerOptions {
            condition: "not-running".into(),
        };
        let mut waiter = self.docker.wait_container(id, Some(wait));
        let exit_code = match tokio::time::timeout_at(deadline, waiter.next()).await {
            Err(_) => return Ok(timed_out),
            Ok(Some(Ok(r))) => Some(r.status_code),
            Ok(Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. }))) => {
                Some(code)
            }
            // Removed under us (a cancel): no exit code to report.
            Ok(Some(Err(e))) if super::docker::is_not_found(&e) => None,
            Ok(Some(Err(e))) => return Err(SandboxError::docker(e)),
            Ok(None) => None,
        };
        let oom_killed = if exit_code.is_some_and(|c| c != 0) {
            match self.docker.inspect_container(id, None).await {
                Ok(info) => info.state.and_then(|s| s.oom_killed).unwrap_or(false),
                Err(e) if super::docker::is_not_found(&e) => false,
                Err(e) => return Err(SandboxError::docker(e)),
            }
        } else {
            false
        };
        Ok(Ended {
            exit_code,
            timed_out: false,
            oom_killed,
        })
    }

    /// The job's row changed under the runner (a cancel): `outcome` with
    /// the state the row has.
    async fn changed_meanwhile(&self, mut outcome: JobOutcome) -> Result<JobOutcome, SandboxError> {
        outcome.state = self
            .jobs
            .job(&outcome.job_id)
            .await?
            .map(|j| j.state)
            .unwrap_or(JobState::Cancelled);
        outcome.reason = Some(format!("the job was {} meanwhile", outcome.state.as_str()));
        Ok(outcome)
    }

    fn container_body(&self, job_id: &str, spec: &JobSpec, limits: Limits) -> ContainerCreateBody {
        let s = &self.settings;
        let network = if spec.policy == Policy::FullAccess {
            s.full_access_network.clone()
        } else {
            "none".to_string()
        };
        let deadline = crate::store::now_ms()
            .saturating_add((limits.timeout_secs as i64).saturating_mul(1000))
            .saturating_add(60_000);
        let labels = HashMap::from([
            (labels::SANDBOX.to_string(), "1".to_string()),
            (labels::SCOPE.to_string(), s.scope.clone()),
            (labels::JOB.to_string(), job_id.to_string()),
            (labels::OWNER.to_string(), self.owner.label()),
            (labels::DEADLINE.to_string(), deadline.to_string()),
        ]);
        let mib = 1024 * 1024;
        let memory = i64::try_from(limits.memory_mb.saturating_mul(mib)).unwrap_or(i64::MAX);
        let host_config = HostConfig {
            mounts: Some(vec![Mount {
                typ: Some(MountType::BIND),
                source: Some(s.workspace.display().to_string()),
                target: Some(paths::MOUNT.to_string()),
                read_only: Some(!spec.policy.writes_workspace()),
                ..Default::default()
            }]),
            network_mode: Some(network.clone()),
            memory: Some(memory),
            // Equal to memory: no swap on top of the limit.
            memory_swap: Some(memory),
            cpu_shares: Some(i64::try_from(limits.cpu_shares).unwrap_or(1024)),
            pids_limit: Some(i64::try_from(limits.pids).unwrap_or(i64::MAX)),
            readonly_rootfs: Some(true),
            tmpfs: Some(HashMap::from([(
                "/tmp".to_string(),
                "rw,nosuid,nodev,size=64m,mode=1777".to_string(),
            )])),
            cap_drop: Some(vec!["ALL".into()]),
            security_opt: Some(vec!["no-new-privileges".into()]),
            // Output is read from the attach stream; the daemon keeps no
            // log file that a chatty job could grow.
            log_config: Some(HostConfigLogConfig {
                typ: Some("none".into()),
                config: None,
            }),
            auto_remove: Some(false),
            ..Default::default()
        };
        ContainerCreateBody {
            image: Some(s.image.clone()),
            cmd: Some(spec.command.clone()),
            user: Some(s.user.clone()),
            env: Some(JOB_ENV.iter().map(|v| v.to_string()).collect()),
            working_dir: Some(paths::MOUNT.to_string()),
            attach_stdin: Some(spec.stdin.is_some()),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            open_stdin: Some(spec.stdin.is_some()),
            stdin_once: Some(spec.stdin.is_some()),
            tty: Some(false),
            network_disabled: Some(network == "none"),
            labels: Some(labels),
            host_config: Some(host_config),
            ..Default::default()
        }
    }
}

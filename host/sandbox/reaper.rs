//! After a host crash: containers of this home whose owner process is gone
//! (or whose deadline passed) are removed, and their jobs, still `pending`
//! or `running` in the store, are marked failed.

use std::collections::HashMap;

use bollard::query_parameters::ListContainersOptions;
use serde::Serialize;

use super::owner::Owner;
use super::{Sandbox, SandboxError, labels};
use crate::store::StoreError;
use crate::store::domains::JobState;

#[derive(Debug, Default, Clone, Serialize)]
pub struct ReapReport {
    /// Container ids removed.
    pub containers: Vec<String>,
    /// Job ids marked failed.
    pub jobs: Vec<String>,
}

impl ReapReport {
    pub fn is_empty(&self) -> bool {
        self.containers.is_empty() && self.jobs.is_empty()
    }
}

/// A live container of this home: its id, job and whether its owner runs.
#[derive(Debug, Clone, Serialize)]
pub struct LabelledContainer {
    pub id: String,
    pub job: String,
    pub state: String,
    pub orphaned: bool,
}

/// The containers carrying this home's scope label.
pub async fn containers(sandbox: &Sandbox) -> Result<Vec<LabelledContainer>, SandboxError> {
    let filters = HashMap::from([(
        "label".to_string(),
        vec![format!("{}={}", labels::SCOPE, sandbox.settings().scope)],
    )]);
    let options = ListContainersOptions {
        all: true,
        limit: None,
        size: false,
        filters: Some(filters),
    };
    let list = sandbox
        .docker()
        .list_containers(Some(options))
        .await
        .map_err(SandboxError::docker)?;
    let now = crate::store::now_ms();
    Ok(list
        .into_iter()
        .filter_map(|c| {
            let labels = c.labels.unwrap_or_default();
            let owner_alive = labels
                .get(labels::OWNER)
                .and_then(|o| Owner::parse(o))
                .is_some_and(|o| o.is_alive());
            let past_deadline = labels
                .get(labels::DEADLINE)
                .and_then(|d| d.parse::<i64>().ok())
                .is_some_and(|d| d < now);
            Some(LabelledContainer {
                id: c.id?,
                job: labels.get(labels::JOB).cloned().unwrap_or_default(),
                state: c.state.map(|s| s.to_string()).unwrap_or_default(),
                orphaned: !owner_alive || past_deadline,
            })
        })
        .collect())
}

/// Removes orphaned containers and fails jobs whose owner is gone.
pub async fn reap(sandbox: &Sandbox) -> Result<ReapReport, SandboxError> {
    let mut report = ReapReport::default();
    for c in containers(sandbox).await? {
        if !c.orphaned {
            continue;
        }
        super::job::remove(sandbox.docker(), &c.id).await?;
        report.containers.push(c.id);
    }
    let jobs = sandbox.jobs();
    let mut open = jobs.list(Some(JobState::Running), 1000).await?;
    open.extend(jobs.list(Some(JobState::Pending), 1000).await?);
    for job in open {
        let owner = serde_json::from_str::<serde_json::Value>(&job.spec)
            .ok()
            .and_then(|v| v["owner"].as_str().and_then(Owner::parse));
        // A job without an owner label was not made by the sandbox.
        let Some(owner) = owner else { continue };
        if owner.is_alive() {
            continue;
        }
        let detail = serde_json::json!({
            "reason": "the host stopped before the job finished; its container was removed at the next start",
        })
        .to_string();
        match jobs
            .transition(&job.id, JobState::Failed, Some(&detail))
            .await
        {
            Ok(_) => report.jobs.push(job.id),
            // Finished or cancelled meanwhile.
            Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(report)
}

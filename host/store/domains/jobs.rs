//! Jobs (sandboxed shell and file work) with a guarded state machine and an
//! append-only event log per job.

use serde::Serialize;

use super::SqlStore;
use crate::sql_params;
use crate::store::sql::{Row, Stmt};
use crate::store::{StoreError, now_ms};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum JobState {
    Pending,
    Running,
    Completed,
    Failed,
    TimedOut,
    Cancelled,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Running => "running",
            JobState::Completed => "completed",
            JobState::Failed => "failed",
            JobState::TimedOut => "timed-out",
            JobState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<JobState> {
        Some(match s {
            "pending" => JobState::Pending,
            "running" => JobState::Running,
            "completed" => JobState::Completed,
            "failed" => JobState::Failed,
            "timed-out" => JobState::TimedOut,
            "cancelled" => JobState::Cancelled,
            _ => return None,
        })
    }

    pub fn is_terminal(self) -> bool {
        !matches!(self, JobState::Pending | JobState::Running)
    }

    /// The states a job may move to `self` from (at most two).
    fn allowed_from(self) -> [JobState; 2] {
        match self {
            JobState::Pending => [JobState::Pending, JobState::Pending], // never a target
            JobState::Running => [JobState::Pending, JobState::Pending],
            JobState::Completed | JobState::TimedOut => [JobState::Running, JobState::Running],
            // A job can fail before it runs: no image, a daemon error, or
            // its host stopped while it was being set up.
            JobState::Failed => [JobState::Pending, JobState::Running],
            JobState::Cancelled => [JobState::Pending, JobState::Running],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Job {
    pub id: String,
    pub kind: String,
    pub state: JobState,
    pub spec: String,
    pub result: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobEvent {
    pub id: i64,
    pub job_id: String,
    pub at: i64,
    pub event: String,
    pub detail: String,
}

#[async_trait::async_trait]
pub trait JobStore: Send + Sync {
    /// A new `pending` job with a `created` event.
    async fn create(&self, kind: &str, spec: &str) -> Result<Job, StoreError>;
    async fn job(&self, id: &str) -> Result<Option<Job>, StoreError>;
    /// Moves the job to `to` and records the event, atomically; `Conflict`
    /// when its current state does not allow it (a finished job stays
    /// finished), `NotFound` when there is no such job.
    async fn transition(
        &self,
        id: &str,
        to: JobState,
        result: Option<&str>,
    ) -> Result<Job, StoreError>;
    /// Records progress or output; the job's state does not change.
    async fn record_event(&self, id: &str, event: &str, detail: &str) -> Result<(), StoreError>;
    async fn events(&self, id: &str) -> Result<Vec<JobEvent>, StoreError>;
    /// Newest first, optionally only those in `state`.
    async fn list(&self, state: Option<JobState>, limit: usize) -> Result<Vec<Job>, StoreError>;
}

fn job(r: &Row) -> Result<Job, StoreError> {
    let state = r.text(2)?;
    Ok(Job {
        id: r.text(0)?,
        kind: r.text(1)?,
        state: JobState::parse(&state)
            .ok_or_else(|| StoreError::Database(format!("unknown job state `{state}`")))?,
        spec: r.text(3)?,
        result: r.opt_text(4)?,
        created_at: r.int(5)?,
        updated_at: r.int(6)?,
    })
}

const EVENT_INSERT: &str =
    "INSERT INTO job_events (job_id, at, event, detail) VALUES ($1, $2, $3, $4)";

#[async_trait::async_trait]
impl JobStore for SqlStore {
    async fn create(&self, kind: &str, spec: &str) -> Result<Job, StoreError> {
        let id = uuid::Uuid::new_v4().to_string();
        let now = now_ms();
        self.sql
            .batch(vec![
                Stmt::new(
                    "INSERT INTO jobs (id, kind, state, spec, created_at, updated_at) VALUES ($1, $2, 'pending', $3, $4, $4)",
                    sql_params![id.as_str(), kind, spec, now],
                ),
                Stmt::new(EVENT_INSERT, sql_params![id.as_str(), now, "created", ""]),
            ])
            .await?;
        self.job(&id).await?.ok_or(StoreError::NotFound {
            what: "job",
            key: id,
        })
    }

    async fn job(&self, id: &str) -> Result<Option<Job>, StoreError> {
        self.sql
            .query_opt(
                "SELECT id, kind, state, spec, result, created_at, updated_at FROM jobs WHERE id = $1",
                sql_params![id],
            )
            .await?
            .as_ref()
            .map(job)
            .transpose()
    }

    async fn transition(
        &self,
        id: &str,
        to: JobState,
        result: Option<&str>,
    ) -> Result<Job, StoreError> {
        let now = now_ms();
        let [a, b] = to.allowed_from();
        let applied = self
            .sql
            .batch(vec![
                Stmt::guarded(
                    "UPDATE jobs SET state = $2, result = COALESCE($3, result), updated_at = $4
                     WHERE id = $1 AND state IN ($5, $6) AND $2 <> 'pending'",
                    sql_params![id, to.as_str(), result, now, a.as_str(), b.as_str()],
                ),
                Stmt::new(
                    EVENT_INSERT,
                    sql_params![id, now, to.as_str(), result.unwrap_or("")],
                ),
            ])
            .await?;
        let current = self.job(id).await?.ok_or_else(|| StoreError::NotFound {
            what: "job",
            key: id.to_string(),
        })?;
        if !applied {
            return Err(StoreError::Conflict(format!(
                "job {id} is {}; it cannot become {}",
                current.state.as_str(),
                to.as_str()
            )));
        }
        Ok(current)
    }

    async fn record_event(&self, id: &str, event: &str, detail: &str) -> Result<(), StoreError> {
        if self.job(id).await?.is_none() {
            return Err(StoreError::NotFound {
                what: "job",
                key: id.to_string(),
            });
        }
        self.sql
            .execute(EVENT_INSERT, sql_params![id, now_ms(), event, detail])
            .await?;
        Ok(())
    }

    async fn events(&self, id: &str) -> Result<Vec<JobEvent>, StoreError> {
        self.sql
            .query(
                "SELECT id, job_id, at, event, detail FROM job_events WHERE job_id = $1 ORDER BY id",
                sql_params![id],
            )
            .await?
            .iter()
            .map(|r| {
                Ok(JobEvent {
                    id: r.int(0)?,
                    job_id: r.text(1)?,
                    at: r.int(2)?,
                    event: r.text(3)?,
                    detail: r.text(4)?,
                })
            })
            .collect()
    }

    async fn list(&self, state: Option<JobState>, limit: usize) -> Result<Vec<Job>, StoreError> {
        self.sql
            .query(
                "SELECT id, kind, state, spec, result, created_at, updated_at FROM jobs
                 WHERE CAST($1 AS TEXT) IS NULL OR state = $1
                 ORDER BY created_at DESC, id LIMIT $2",
                sql_params![state.map(JobState::as_str), limit as i64],
            )
            .await?
            .iter()
            .map(job)
            .collect()
    }
}

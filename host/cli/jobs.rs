//! `ironclaw jobs list|show|cancel`: the sandbox's jobs as the store keeps
//! them (state, spec, result, events).

use clap::{Args, Subcommand};

use super::{CliError, Context};
use crate::store::StoreError;
use crate::store::domains::{Job, JobState};

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// The newest jobs first.
    List(ListArgs),
    /// One job with its spec, result and events.
    Show(ShowArgs),
    /// Stop a pending or running job (its container is removed).
    Cancel(CancelArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only jobs in this state: pending, running, completed, failed,
    /// timed-out, cancelled.
    #[arg(long)]
    pub state: Option<String>,
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    pub id: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CancelArgs {
    pub id: String,
}

pub async fn run(ctx: &Context, cmd: JobsCommand) -> Result<(), CliError> {
    let db = super::db::open(ctx).await?;
    db.migrate()
        .await
        .map_err(|e| CliError::Failed(e.to_string()))?;
    let jobs = db.jobs();
    let store = |e: StoreError| CliError::Failed(e.to_string());
    match cmd {
        JobsCommand::List(args) => {
            let state = match &args.state {
                None => None,
                Some(s) => Some(JobState::parse(s).ok_or_else(|| {
                    CliError::Usage(format!(
                        "unknown state `{s}`: use pending, running, completed, failed, timed-out or cancelled"
                    ))
                })?),
            };
            let list = jobs.list(state, args.limit).await.map_err(store)?;
            if args.json {
                let rows: Vec<serde_json::Value> = list.iter().map(row).collect();
                println!("{}", serde_json::Value::Array(rows));
            } else if list.is_empty() {
                println!("no jobs");
            } else {
                for j in &list {
                    println!(
                        "{}  {:<11} {:<10} {}  {}",
                        j.id,
                        j.kind,
                        j.state.as_str(),
                        when(j.created_at),
                        summary(j)
                    );
                }
            }
            Ok(())
        }
        JobsCommand::Show(args) => {
            let job = jobs
                .job(&args.id)
                .await
                .map_err(store)?
                .ok_or_else(|| CliError::Usage(format!("no job `{}`", args.id)))?;
            let events = jobs.events(&job.id).await.map_err(store)?;
            if args.json {
                let mut v = row(&job);
                v["events"] = serde_json::to_value(&events).unwrap_or_default();
                println!("{v}");
                return Ok(());
            }
            println!("job      {}", job.id);
            println!("kind     {}", job.kind);
            println!("state    {}", job.state.as_str());
            println!("created  {}", when(job.created_at));
            println!("spec     {}", job.spec);
            if let Some(result) = &job.result {
                println!("result   {result}");
            }
            for e in &events {
                println!("  {}  {:<10} {}", when(e.at), e.event, e.detail);
            }
            Ok(())
        }
        JobsCommand::Cancel(args) => {
            let job = jobs
                .transition(&args.id, JobState::Cancelled, None)
                .await
                .map_err(|e| match e {
                    StoreError::NotFound { .. } => CliError::Usage(format!("no job `{}`", args.id)),
                    StoreError::Conflict(m) => CliError::Usage(format!("{m}: nothing to cancel")),
                    other => store(other),
                })?;
            // The runner (maybe another process) sees its container go and
            // reports the job as cancelled.
            let removed = remove_containers(ctx, &job.id).await;
            match removed {
                Ok(0) => println!("cancelled job {}", job.id),
                Ok(n) => println!("cancelled job {} ({n} container removed)", job.id),
                Err(e) => println!(
                    "cancelled job {} (its container was not removed now: {e}; the reaper removes it at the next start)",
                    job.id
                ),
            }
            Ok(())
        }
    }
}

async fn remove_containers(ctx: &Context, job: &str) -> Result<usize, CliError> {
    use std::collections::HashMap;

    let scope = crate::sandbox::scope_of(ctx.home.root());
    let docker = crate::sandbox::docker::connect(std::time::Duration::from_secs(3))
        .await
        .map_err(|e| CliError::Failed(e.to_string()))?;
    let filters = HashMap::from([(
        "label".to_string(),
        vec![
            format!("{}={scope}", crate::sandbox::labels::SCOPE),
            format!("{}={job}", crate::sandbox::labels::JOB),
        ],
    )]);
    let list = docker
        .list_containers(Some(bollard::query_parameters::ListContainersOptions {
            all: true,
            limit: None,
            size: false,
            filters: Some(filters),
        }))
        .await
        .map_err(|e| CliError::Failed(e.to_string()))?;
    let mut n = 0;
    for c in list {
        if let Some(id) = c.id {
            crate::sandbox::remove_container(&docker, &id)
                .await
                .map_err(|e| CliError::Failed(e.to_string()))?;
            n += 1;
        }
    }
    Ok(n)
}

fn row(j: &Job) -> serde_json::Value {
    let parse = |s: &str| serde_json::from_str(s).unwrap_or(serde_json::Value::String(s.into()));
    serde_json::json!({
        "id": j.id,
        "kind": j.kind,
        "state": j.state,
        "created_at": j.created_at,
        "updated_at": j.updated_at,
        "spec": parse(&j.spec),
        "result": j.result.as_deref().map(parse),
    })
}

fn summary(j: &Job) -> String {
    let spec: serde_json::Value = serde_json::from_str(&j.spec).unwrap_or_default();
    let mut s = spec["summary"]
        .as_str()
        .unwrap_or_default()
        .replace('\n', " ");
    if s.chars().count() > 60 {
        s = s.chars().take(59).collect::<String>() + "…";
    }
    s
}

fn when(ms: i64) -> String {
    let (date, secs) = crate::civil::utc_date_and_seconds(ms);
    format!(
        "{date} {:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

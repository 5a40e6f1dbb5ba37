//! `ironclaw sandbox build|status`, and opening the sandbox for the other
//! commands (`tool call shell`, `jobs cancel`, the agent).

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Subcommand};

use super::{CliError, Context};
use crate::sandbox::tools::ContainerTools;
use crate::sandbox::{Sandbox, SandboxError, Settings, docker, image, reaper};
use crate::store::Database;

#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Build the job image: by default FROM scratch with this machine's
    /// static busybox (no registry needed); --dockerfile builds a directory
    /// such as sandbox/ (Debian slim, needs a registry).
    Build(BuildArgs),
    /// Whether the daemon answers, the image, workspace, policy, limits and
    /// the job containers of this home (reaping those a stopped host left).
    Status(StatusArgs),
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// A directory with a Dockerfile to build instead of the busybox image.
    #[arg(long, value_name = "DIR", conflicts_with = "busybox")]
    pub dockerfile: Option<PathBuf>,
    /// The static busybox to put in the image (default: /bin/busybox).
    #[arg(long, value_name = "PATH")]
    pub busybox: Option<PathBuf>,
    /// Image tag (default: [sandbox] image, ironclaw-sandbox:latest).
    #[arg(long)]
    pub tag: Option<String>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[arg(long)]
    pub json: bool,
}

pub async fn run(ctx: &Context, cmd: SandboxCommand) -> Result<(), CliError> {
    match cmd {
        SandboxCommand::Build(args) => build(ctx, args).await,
        SandboxCommand::Status(args) => status(ctx, args).await,
    }
}

fn failed(e: SandboxError) -> CliError {
    match e {
        SandboxError::InvalidInput(_)
        | SandboxError::PathRefused { .. }
        | SandboxError::PolicyRefused { .. }
        | SandboxError::Workspace { .. } => CliError::Usage(e.to_string()),
        other => CliError::Failed(other.to_string()),
    }
}

/// `[sandbox]` resolved for this home.
pub(super) fn settings(ctx: &Context) -> Result<Settings, CliError> {
    Settings::resolve(&ctx.config.sandbox, &ctx.home).map_err(failed)
}

/// The migrated database and a connected sandbox (which reaps what a
/// stopped host left behind before its first job).
pub(super) async fn open(ctx: &Context) -> Result<(Database, Arc<Sandbox>), CliError> {
    let settings = settings(ctx)?;
    let db = super::db::open(ctx).await?;
    db.migrate()
        .await
        .map_err(|e| CliError::Failed(e.to_string()))?;
    let sandbox = Sandbox::connect(settings, db.jobs())
        .await
        .map_err(failed)?;
    Ok((db, Arc::new(sandbox)))
}

/// The container tools for the agent, unless `[sandbox] enabled = false`
/// or the settings are unusable (said on stderr). They connect to the
/// daemon on first use; meanwhile a background task reaps what a stopped
/// host left behind, if the daemon answers.
pub(super) fn container_tools(ctx: &Context, db: &Database) -> Option<Arc<ContainerTools>> {
    if !ctx.config.sandbox.enabled {
        return None;
    }
    let settings = match settings(ctx) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("warning: container tools not offered: {e}");
            return None;
        }
    };
    let tools = Arc::new(ContainerTools::new(settings, db.jobs()));
    let warm = tools.clone();
    tokio::spawn(async move { warm.warm_up().await });
    Some(tools)
}

async fn build(ctx: &Context, args: BuildArgs) -> Result<(), CliError> {
    let tag = args.tag.unwrap_or_else(|| ctx.config.sandbox.image.clone());
    let docker = docker::connect(crate::sandbox::CONNECT_TIMEOUT)
        .await
        .map_err(failed)?;
    let (what, log) = match &args.dockerfile {
        Some(dir) => {
            let context = image::directory_context(dir).map_err(failed)?;
            (
                format!("{}/Dockerfile", dir.display()),
                image::build(&docker, &tag, context).await,
            )
        }
        None => (
            "a static busybox FROM scratch".to_string(),
            image::build_busybox(&docker, &tag, args.busybox.as_deref()).await,
        ),
    };
    let log = log.map_err(failed)?;
    for line in &log {
        eprintln!("  {line}");
    }
    let status = image::status(&docker, &tag).await.map_err(failed)?;
    println!(
        "built {tag} from {what} ({} KiB)",
        status.size_bytes.unwrap_or(0) / 1024
    );
    Ok(())
}

async fn status(ctx: &Context, args: StatusArgs) -> Result<(), CliError> {
    let settings = settings(ctx)?;
    let mut report = serde_json::json!({
        "enabled": ctx.config.sandbox.enabled,
        "endpoint": docker::endpoint(),
        "image": settings.image,
        "workspace": settings.workspace,
        "user": settings.user,
        "policy": settings.policy,
        "limits": settings.limits,
        "require_approval": settings.require_approval,
    });
    let answered = match open(ctx).await {
        Ok((_db, sandbox)) => {
            let reaped = reaper::reap(&sandbox).await.map_err(failed)?;
            let daemon = docker::describe(sandbox.docker()).await.map_err(failed)?;
            let image = image::status(sandbox.docker(), &settings.image)
                .await
                .map_err(failed)?;
            let containers = reaper::containers(&sandbox).await.map_err(failed)?;
            report["daemon"] = serde_json::to_value(daemon).unwrap_or_default();
            report["image_status"] = serde_json::to_value(image).unwrap_or_default();
            report["containers"] = serde_json::to_value(containers).unwrap_or_default();
            report["reaped"] = serde_json::to_value(reaped).unwrap_or_default();
            Ok(())
        }
        Err(e) => {
            report["error"] = e.to_string().into();
            Err(e)
        }
    };
    if args.json {
        println!("{report}");
    } else {
        print_status(&report);
    }
    answered
}

fn print_status(r: &serde_json::Value) {
    let s = |v: &serde_json::Value| {
        v.as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string())
    };
    match r.get("daemon") {
        Some(d) => println!(
            "daemon     Docker {} (API {}) at {}",
            s(&d["version"]),
            s(&d["api_version"]),
            s(&r["endpoint"])
        ),
        None => println!("daemon     not answering at {}", s(&r["endpoint"])),
    }
    if let Some(i) = r.get("image_status") {
        if i["present"] == true {
            println!(
                "image      {} ({} KiB)",
                s(&r["image"]),
                i["size_bytes"].as_i64().unwrap_or(0) / 1024
            );
        } else {
            println!(
                "image      {} not built: run `ironclaw sandbox build`",
                s(&r["image"])
            );
        }
    }
    println!("workspace  {} (as {})", s(&r["workspace"]), s(&r["user"]));
    let l = &r["limits"];
    println!(
        "policy     {}; memory {} MB, cpu-shares {}, pids {}, timeout {} s, output {} KiB; approval {}",
        s(&r["policy"]),
        l["memory_mb"],
        l["cpu_shares"],
        l["pids"],
        l["timeout_secs"],
        l["output_bytes"].as_u64().unwrap_or(0) / 1024,
        if r["require_approval"] == true {
            "required"
        } else {
            "not required"
        }
    );
    if let Some(reaped) = r.get("reaped") {
        let n = reaped["containers"].as_array().map_or(0, Vec::len);
        let j = reaped["jobs"].as_array().map_or(0, Vec::len);
        if n + j > 0 {
            println!("reaped     {n} container(s) and {j} job(s) a stopped host left behind");
        }
    }
    if let Some(list) = r.get("containers").and_then(|c| c.as_array()) {
        println!("containers {} running for this home", list.len());
        for c in list {
            println!(
                "  {} job {} ({})",
                &s(&c["id"])[..12.min(s(&c["id"]).len())],
                s(&c["job"]),
                s(&c["state"])
            );
        }
    }
    if let Some(e) = r.get("error") {
        println!("error      {}", s(e));
    }
}

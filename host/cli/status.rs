//! `ironclaw status [--json]`: whether a host runs for this home, the LLM
//! it is configured with, and each channel's health — last inbound and
//! outbound, last error, poller state, what waits and what failed — as the
//! running host recorded it in the database.

use std::collections::BTreeMap;

use clap::Args;
use serde_json::{Value, json};

use super::{CliError, Context};
use crate::registry::{ComponentKind, discovery};

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[arg(long)]
    pub json: bool,
}

/// Where `run` writes its process id while it serves.
pub(crate) fn pid_file(ctx: &Context) -> std::path::PathBuf {
    ctx.home.root().join("run").join("host.pid")
}

fn running_pid(ctx: &Context) -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(pid_file(ctx))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    // A stale file (the host was killed) names a process that is gone.
    std::path::Path::new(&format!("/proc/{pid}"))
        .exists()
        .then_some(pid)
}

fn when(ms: Option<i64>) -> String {
    match ms {
        None => "never".into(),
        Some(ms) => {
            let now = crate::store::now_ms();
            let secs = (now - ms).max(0) / 1000;
            match secs {
                0..=59 => format!("{secs} s ago"),
                60..=3599 => format!("{} min ago", secs / 60),
                3600..=86399 => format!("{} h ago", secs / 3600),
                _ => format!("{} days ago", secs / 86400),
            }
        }
    }
}

/// Every channel configured, installed or with a health record.
async fn channels(ctx: &Context) -> Result<Vec<Value>, CliError> {
    let db = super::db::open(ctx).await?;
    db.migrate()
        .await
        .map_err(|e| CliError::Failed(e.to_string()))?;
    let health = db
        .channels()
        .health()
        .await
        .map_err(|e| CliError::Failed(e.to_string()))?;
    let (bundles, _) = discovery::discover(&discovery::search_path(&ctx.config, &ctx.home));
    let installed: BTreeMap<String, String> = bundles
        .into_iter()
        .filter(|b| b.manifest.kind == ComponentKind::Channel)
        .map(|b| (b.manifest.name.clone(), b.manifest.version.to_string()))
        .collect();
    let mut names: Vec<String> = ctx.config.channels.keys().cloned().collect();
    names.extend(installed.keys().cloned());
    names.extend(health.iter().map(|h| h.channel.clone()));
    names.sort();
    names.dedup();
    Ok(names
        .iter()
        .map(|name| {
            super::channels::channel_json(
                name,
                ctx.config.channels.contains_key(name),
                installed.get(name).cloned(),
                health.iter().find(|h| &h.channel == name),
            )
        })
        .collect())
}

fn print_channel(c: &Value) {
    let name = c["channel"].as_str().unwrap_or("?");
    let state = match (c["configured"].as_bool(), c["installed"].as_str()) {
        (Some(true), Some(v)) => format!("configured, version {v}"),
        (Some(true), None) => "configured but NOT installed".into(),
        (_, Some(v)) => format!("installed ({v}), not configured"),
        _ => "not installed, not configured".into(),
    };
    println!("  {name}: {state}");
    println!(
        "    last inbound {}, last outbound {}",
        when(c["last_inbound_at"].as_i64()),
        when(c["last_outbound_at"].as_i64())
    );
    if let Some(p) = c["poller"].as_str() {
        println!("    poller: {p}");
    }
    let (pending, failed) = (
        c["pending"].as_i64().unwrap_or(0),
        c["failed"].as_i64().unwrap_or(0),
    );
    if pending > 0 || failed > 0 {
        println!("    waiting: {pending}, failed: {failed}");
    }
    if let Some(e) = c["last_error"].as_str() {
        println!(
            "    last error ({}): {e}",
            when(c["last_error_at"].as_i64())
        );
    }
}

pub(crate) async fn print_channels(ctx: &Context, as_json: bool) -> Result<(), CliError> {
    let list = channels(ctx).await?;
    if as_json {
        println!("{}", Value::Array(list));
        return Ok(());
    }
    if list.is_empty() {
        println!("no channels configured or installed");
    }
    for c in &list {
        print_channel(c);
    }
    Ok(())
}

pub async fn run(ctx: &Context, args: StatusArgs) -> Result<(), CliError> {
    let pid = running_pid(ctx);
    let llm = ctx
        .config
        .llm
        .clone()
        .with_env(|name| std::env::var(name).ok())
        .0
        .providers()
        .into_iter()
        .map(|p| {
            json!({
                "adapter": p.adapter,
                "model": p.model,
                "base_url": p.base_url,
            })
        })
        .collect::<Vec<_>>();
    let channels = channels(ctx).await?;
    if args.json {
        println!(
            "{}",
            json!({
                "home": ctx.home.root().display().to_string(),
                "running": pid.is_some(),
                "pid": pid,
                "gateway": ctx.config.gateway.listen,
                "llm": llm,
                "channels": channels,
            })
        );
        return Ok(());
    }
    println!("home: {}", ctx.home.root().display());
    match pid {
        Some(pid) => println!("host: running (pid {pid})"),
        None => println!("host: not running"),
    }
    match &ctx.config.gateway.listen {
        Some(l) => println!("gateway: {l}"),
        None => println!("gateway: off ([gateway] listen not set)"),
    }
    if llm.is_empty() {
        println!("llm: none configured");
    }
    for p in &llm {
        println!(
            "llm: {} {}",
            p["adapter"].as_str().unwrap_or("?"),
            p["model"].as_str().unwrap_or("(adapter default model)")
        );
    }
    println!("channels:");
    if channels.is_empty() {
        println!("  none configured or installed");
    }
    for c in &channels {
        print_channel(c);
    }
    Ok(())
}

//! `ironclaw run`: start the host on the embedded default.
//!
//! Today this opens the database (migrating it and seeding the workspace's
//! identity files on first run) and hands the workspace to the runtime's
//! `memory` capability, loads (and so compiles, caches and smoke-tests) every
//! component on the search path, watches those directories to hot-swap new
//! versions, and serves until Ctrl-C or SIGTERM; the agent loop, channels and
//! the gateway attach here as they land.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use super::{CliError, Context};
use crate::registry::admission::InstalledPolicy;
use crate::registry::discovery;
use crate::registry::reload::Reloader;
use crate::runtime::live::LiveSet;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Load everything, report, and exit instead of serving (for scripts).
    #[arg(long)]
    pub check: bool,
}

pub async fn run(ctx: &Context, args: RunArgs) -> Result<(), CliError> {
    let (db, memory) = super::memory::open_with_db(ctx).await?;
    let documents = memory
        .tree("")
        .await
        .map_err(|e| CliError::Failed(e.to_string()))?
        .len();
    let mut runtime = ctx.runtime()?;
    // Watched below: both must exist now, or a first install or `component
    // dev` build would go unseen until a restart.
    for dir in [ctx.home.components_dir(), ctx.home.dev_dir()] {
        crate::config::create_private_dir(&dir)
            .map_err(|e| CliError::Failed(format!("cannot create {}: {e}", dir.display())))?;
    }
    runtime.set_memory(memory.clone());
    let lent = super::lend::lend(ctx, &db, &mut runtime).await?;
    let runtime = Arc::new(runtime);
    let reloader = Arc::new(
        Reloader::new(
            runtime.clone(),
            Arc::new(LiveSet::new()),
            discovery::search_path(&ctx.config, &ctx.home),
            Arc::new(InstalledPolicy::new(
                ctx.home.clone(),
                Some(db.components()),
                ctx.config.components.settings.clone(),
            )),
        )
        .with_status_file(status_file(ctx)),
    );
    let first = reloader.rescan().await;
    for (name, reason) in &first.failed {
        let name = if name.is_empty() { "component" } else { name };
        eprintln!("warning: {name} not loaded: {reason}");
    }
    eprintln!(
        "ironclaw {} — home {}, {:?} allocator",
        env!("CARGO_PKG_VERSION"),
        ctx.home.root().display(),
        runtime.allocator()
    );
    eprintln!(
        "  workspace: {documents} documents in {}",
        memory.location()
    );
    let components = reloader.live().all();
    for c in &components {
        let tools: Vec<&str> = c.tools.iter().map(|t| t.name.as_str()).collect();
        eprintln!(
            "  {} {} [{}] ({:?}, {:.1} ms): {}",
            c.name,
            c.manifest.version,
            c.manifest.kind.as_str(),
            c.report.cache,
            c.report.compile_ms.as_secs_f64() * 1000.0,
            tools.join(", ")
        );
    }
    if components.is_empty() {
        eprintln!("  no components found; run scripts/build-components");
    }
    if args.check {
        lent.audit.flush().await;
        return Ok(());
    }
    let _secrets_watch = lent.watch_secrets();
    // Hot reload: new versions dropped into a component directory serve
    // without a restart; a broken one is refused and the old one stays.
    let _watch = reloader
        .clone()
        .watch()
        .map_err(|e| CliError::Failed(format!("cannot watch the component directories: {e}")))?;
    eprintln!(
        "ready; try `ironclaw tool call echo --params '{{\"text\":\"hi\"}}'` in another terminal. Ctrl-C stops."
    );
    shutdown_signal().await;
    eprintln!("stopping");
    lent.audit.flush().await;
    Ok(())
}

/// Where a running host publishes the state of its components, for
/// `ironclaw component list` in another process.
pub(crate) fn status_file(ctx: &Context) -> PathBuf {
    ctx.home.root().join("run").join("components.json")
}

pub(crate) async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

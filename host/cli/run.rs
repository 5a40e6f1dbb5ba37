//! `ironclaw run`: start the host on the embedded default.
//!
//! Today this opens the database (migrating it and seeding the workspace's
//! identity files on first run) and hands the workspace to the runtime's
//! `memory` capability, loads (and so compiles, caches and smoke-tests) every
//! component on the search path, and serves until Ctrl-C
//! or SIGTERM; the agent loop, channels and the gateway attach here as they land.

use clap::Args;

use super::{CliError, Context, load_all};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Load everything, report, and exit instead of serving (for scripts).
    #[arg(long)]
    pub check: bool,
}

pub async fn run(ctx: &Context, args: RunArgs) -> Result<(), CliError> {
    let memory = super::memory::open(ctx).await?;
    let documents = memory
        .tree("")
        .await
        .map_err(|e| CliError::Failed(e.to_string()))?
        .len();
    let mut runtime = ctx.runtime()?;
    runtime.set_memory(memory.clone());
    let components = load_all(ctx, &runtime).await;
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
        return Ok(());
    }
    eprintln!(
        "ready; try `ironclaw tool call echo --params '{{\"text\":\"hi\"}}'` in another terminal. Ctrl-C stops."
    );
    shutdown_signal().await;
    eprintln!("stopping");
    Ok(())
}

async fn shutdown_signal() {
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

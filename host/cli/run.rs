//! `ironclaw run`: start the host on the embedded default.
//!
//! Opens the database (migrating it and seeding the workspace's identity
//! files on first run), loads (compiles, caches, smoke-tests) every
//! component on the search path, builds the LLM chain and the agent, watches
//! the component directories to hot-swap new versions, and serves: the REPL
//! when stdin is a terminal (or `--repl`), else until Ctrl-C or SIGTERM. With
//! no LLM configured it says how to configure one and serves the rest.
//! Configured channels start here, with the gateway when `[gateway] listen`
//! is set (host/cli/channels.rs).

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Args;

use super::{CliError, Context};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Load everything, report, and exit instead of serving (for scripts).
    #[arg(long)]
    pub check: bool,
    /// Talk to the assistant on stdin/stdout even when stdin is not a
    /// terminal (the REPL starts by itself on a terminal).
    #[arg(long)]
    pub repl: bool,
}

pub async fn run(ctx: &Context, args: RunArgs) -> Result<(), CliError> {
    let host = super::agent_host::start(ctx).await?;
    let documents = host
        .memory
        .tree("")
        .await
        .map_err(|e| CliError::Failed(e.to_string()))?
        .len();
    for (name, reason) in &host.first_scan.failed {
        let name = if name.is_empty() { "component" } else { name };
        eprintln!("warning: {name} not loaded: {reason}");
    }
    eprintln!(
        "ironclaw {} — home {}, {:?} allocator",
        env!("CARGO_PKG_VERSION"),
        ctx.home.root().display(),
        host.runtime.allocator()
    );
    eprintln!(
        "  workspace: {documents} documents in {}",
        host.memory.location()
    );
    let components = host.reloader.live().all();
    for c in &components {
        let tools: Vec<&str> = c.tools.iter().map(|t| t.name.as_str()).collect();
        eprintln!(
            "  {} {} [{}] ({:?}, {:.1} ms){}{}",
            c.name,
            c.manifest.version,
            c.manifest.kind.as_str(),
            c.report.cache,
            c.report.compile_ms.as_secs_f64() * 1000.0,
            if tools.is_empty() { "" } else { ": " },
            tools.join(", ")
        );
    }
    if components.is_empty() {
        eprintln!("  no components found; run scripts/build-components");
    }
    match &host.chain {
        Some(chain) => eprintln!("  llm: {}", crate::llm::Provider::name(chain.as_ref())),
        None => eprintln!(
            "  llm: none configured — {}",
            crate::agent::AgentError::NoLlm {
                config: ctx.home.config_file().display().to_string()
            }
        ),
    }
    if args.check {
        host.lent.audit.flush().await;
        return Ok(());
    }
    let _secrets_watch = host.lent.watch_secrets();
    let channels = super::channels::serve(ctx, &host).await?;
    let pid_file = super::status::pid_file(ctx);
    if let Err(e) = pid_file
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(&pid_file, std::process::id().to_string()))
    {
        eprintln!("warning: cannot write {}: {e}", pid_file.display());
    }
    // Hot reload: new versions dropped into a component directory serve
    // without a restart; a broken one is refused and the old one stays.
    let _watch =
        host.reloader.clone().watch().map_err(|e| {
            CliError::Failed(format!("cannot watch the component directories: {e}"))
        })?;
    if args.repl || std::io::stdin().is_terminal() {
        let history = ctx.home.root().join("repl_history");
        tokio::select! {
            _ = super::repl::serve(host.agent.clone(), history) => {}
            _ = shutdown_signal() => {}
        }
    } else {
        eprintln!(
            "ready; try `ironclaw chat -m hello` or `ironclaw tool call echo --params '{{\"text\":\"hi\"}}'` in another terminal. Ctrl-C stops."
        );
        shutdown_signal().await;
    }
    eprintln!("stopping");
    channels.stop().await;
    let _ = std::fs::remove_file(&pid_file);
    host.lent.audit.flush().await;
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

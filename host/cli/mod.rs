//! The `ironclaw` command line: one file per command group.

mod agent_host;
mod audit;
mod channels;
mod chat;
mod component;
mod component_dev;
mod component_install;
mod component_new;
mod db;
mod doctor;
mod jobs;
mod keys;
mod lend;
mod memory;
mod registry;
mod repl;
mod run;
mod safety;
mod sandbox;
mod secrets;
mod skills;
mod status;
mod tool;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::{Config, Home};

#[derive(Debug, Parser)]
#[command(
    name = "ironclaw",
    version,
    about = "A secure personal AI assistant whose parts are WebAssembly components"
)]
pub struct Cli {
    /// Data directory (default: $IRONCLAW_HOME, else ~/.ironclaw).
    #[arg(long, global = true, value_name = "DIR")]
    pub home: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the host: load the components and serve until Ctrl-C.
    Run(run::RunArgs),
    /// One conversation turn with the assistant (for scripts).
    Chat(chat::ChatArgs),
    /// Work with tool components.
    #[command(subcommand)]
    Tool(tool::ToolCommand),
    /// Whether the host runs, its LLM, and each channel's health.
    Status(status::StatusArgs),
    /// Channels: list them with their health, approve pairing codes.
    #[command(subcommand)]
    Channels(channels::ChannelsCommand),
    /// Check the toolchain, data directory, cache and components.
    Doctor(doctor::DoctorArgs),
    /// Database migrations.
    #[command(subcommand)]
    Db(db::DbCommand),
    /// The workspace memory.
    #[command(subcommand)]
    Memory(memory::MemoryCommand),
    /// Publisher keys and the keys this host trusts.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Create, sign and verify components.
    #[command(subcommand)]
    Component(component::ComponentCommand),
    /// Build registry indexes (index.json over signed components).
    #[command(subcommand)]
    Registry(registry::RegistryCommand),
    /// The secrets vault: values components may send, encrypted at rest.
    #[command(subcommand)]
    Secrets(secrets::SecretsCommand),
    /// The audit trail: outbound requests, db writes, denials, leak blocks.
    Audit(audit::AuditArgs),
    /// Safety filters: list them, test text against them at one stage.
    #[command(subcommand)]
    Safety(safety::SafetyCommand),
    /// Hooks: list them with their events and priority.
    #[command(subcommand)]
    Hooks(safety::HooksCommand),
    /// Skills: SKILL.md guidance selected per turn; list, install, remove.
    #[command(subcommand)]
    Skills(skills::SkillsCommand),
    /// Sandbox jobs (shell and file work in Docker): list, show, cancel.
    #[command(subcommand)]
    Jobs(jobs::JobsCommand),
    /// The Docker sandbox: build its image, see its status.
    #[command(subcommand)]
    Sandbox(sandbox::SandboxCommand),
}

/// How a command failed: `Usage` for bad input or configuration (exit 2),
/// `Failed` for work that ran and failed (exit 1). Both print one line.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Failed(String),
}

impl CliError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Failed(_) => 1,
        }
    }
}

/// The owner's home and configuration, resolved once per command.
pub struct Context {
    pub home: Home,
    pub config: Config,
}

impl Context {
    fn load(home: Option<PathBuf>) -> Result<Context, CliError> {
        let home = match home {
            Some(dir) => Home::at(dir),
            None => Home::from_env().map_err(|e| CliError::Usage(e.to_string()))?,
        };
        let config =
            Config::load(&home.config_file()).map_err(|e| CliError::Usage(e.to_string()))?;
        Ok(Context { home, config })
    }

    fn runtime(&self) -> Result<crate::runtime::Runtime, CliError> {
        self.home.ensure().map_err(|e| {
            CliError::Failed(format!("cannot create {}: {e}", self.home.root().display()))
        })?;
        crate::runtime::Runtime::new(&self.config, &self.home)
            .map_err(|e| CliError::Failed(e.to_string()))
    }
}

pub async fn main(cli: Cli) -> Result<(), CliError> {
    let ctx = Context::load(cli.home)?;
    match cli.command {
        Command::Run(args) => run::run(&ctx, args).await,
        Command::Chat(args) => chat::run(&ctx, args).await,
        Command::Tool(cmd) => tool::run(&ctx, cmd).await,
        Command::Status(args) => status::run(&ctx, args).await,
        Command::Channels(cmd) => channels::run(&ctx, cmd).await,
        Command::Doctor(args) => doctor::run(&ctx, args).await,
        Command::Db(cmd) => db::run(&ctx, cmd).await,
        Command::Memory(cmd) => memory::run(&ctx, cmd).await,
        Command::Keys(cmd) => keys::run(&ctx, cmd).await,
        Command::Component(cmd) => component::run(&ctx, cmd).await,
        Command::Registry(cmd) => registry::run(&ctx, cmd).await,
        Command::Secrets(cmd) => secrets::run(&ctx, cmd).await,
        Command::Audit(args) => audit::run(&ctx, args).await,
        Command::Skills(cmd) => skills::run(&ctx, cmd).await,
        Command::Jobs(cmd) => jobs::run(&ctx, cmd).await,
        Command::Sandbox(cmd) => sandbox::run(&ctx, cmd).await,
        Command::Safety(cmd) => safety::run_safety(&ctx, cmd).await,
        Command::Hooks(cmd) => safety::run_hooks(&ctx, cmd).await,
    }
}

/// The owner's admission policy; opens the database only when an installed
/// component needs its grant checked.
async fn admission(
    ctx: &Context,
    bundles: &[crate::registry::Bundle],
) -> crate::registry::admission::InstalledPolicy {
    use crate::registry::admission::InstalledPolicy;
    let settings = ctx.config.components.settings.clone();
    let probe = InstalledPolicy::new(ctx.home.clone(), None, settings.clone());
    if !bundles.iter().any(|b| probe.governs(&b.wasm)) {
        return probe;
    }
    let store = match db::open(ctx).await {
        Ok(db) => match db.migrate().await {
            Ok(_) => Some(db.components()),
            Err(e) => {
                eprintln!("warning: {e}");
                None
            }
        },
        Err(e) => {
            eprintln!("warning: {e}");
            None
        }
    };
    InstalledPolicy::new(ctx.home.clone(), store, settings)
}

/// Loads every component found on the search path that the owner's policy
/// admits (signature, grant). Refused and broken ones are reported on
/// stderr and skipped, so one bad file does not take the others down.
async fn load_all(
    ctx: &Context,
    runtime: &crate::runtime::Runtime,
) -> Vec<std::sync::Arc<crate::runtime::LoadedComponent>> {
    use crate::registry::reload::Admission;
    let dirs = crate::registry::discovery::search_path(&ctx.config, &ctx.home);
    let (bundles, errors) = crate::registry::discovery::discover(&dirs);
    for e in errors {
        eprintln!("warning: skipping component: {e}");
    }
    let policy = admission(ctx, &bundles).await;
    let mut loaded = Vec::new();
    for bundle in bundles {
        let name = bundle.manifest.name.clone();
        let bytes = match tokio::fs::read(&bundle.wasm).await {
            Ok(b) => b,
            Err(e) => {
                eprintln!(
                    "warning: skipping component: cannot read {}: {e}",
                    bundle.wasm.display()
                );
                continue;
            }
        };
        let digest = blake3::hash(&bytes);
        let grants = match policy.admit(&bundle, &bytes, &digest).await {
            Ok(g) => g,
            Err(reason) => {
                eprintln!("warning: {name} not loaded: {reason}");
                continue;
            }
        };
        match runtime
            .load_bytes(&bytes, &bundle.wasm, bundle.manifest, grants)
            .await
        {
            Ok(c) => loaded.push(c),
            Err(e) => eprintln!("warning: skipping component: {e}"),
        }
    }
    loaded
}

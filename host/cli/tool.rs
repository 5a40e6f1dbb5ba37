//! `ironclaw tool call|list`.

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Subcommand};

use super::{CliError, Context, load_all};
use crate::capabilities::Capability;
use crate::registry::Manifest;
use crate::registry::discovery::manifest_path_for;
use crate::runtime::LoadedComponent;
use crate::runtime::tool::CallContext;

#[derive(Debug, Subcommand)]
pub enum ToolCommand {
    /// Run one tool call and print its result as JSON.
    Call(CallArgs),
    /// List the tools of every component found.
    List(ListArgs),
}

#[derive(Debug, Args)]
pub struct CallArgs {
    /// Tool name (or the name of a component offering exactly one tool).
    pub name: String,
    /// Parameters as a JSON object.
    #[arg(long, default_value = "{}")]
    pub params: String,
    /// Run this .wasm file, granted what the manifest beside it requests
    /// (a development path).
    #[arg(long, value_name = "PATH")]
    pub wasm: Option<PathBuf>,
    /// Print the output with the usage record and component details.
    #[arg(long)]
    pub verbose: bool,
    /// Approve a tool that asks before it runs (for scripts; on a terminal
    /// the owner is asked instead).
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[arg(long)]
    pub json: bool,
}

pub async fn run(ctx: &Context, cmd: ToolCommand) -> Result<(), CliError> {
    match cmd {
        ToolCommand::Call(args) => call(ctx, args).await,
        ToolCommand::List(args) => list(ctx, args).await,
    }
}

async fn call(ctx: &Context, args: CallArgs) -> Result<(), CliError> {
    if args.wasm.is_none()
        && ctx.config.sandbox.enabled
        && crate::sandbox::tools::NAMES.contains(&args.name.as_str())
    {
        return call_container(ctx, &args).await;
    }
    let mut runtime = ctx.runtime()?;
    let component = match &args.wasm {
        Some(wasm) => load_dev(&runtime, wasm).await?,
        None => find_tool(&load_all(ctx, &runtime).await, &args.name)?,
    };
    // The database is opened (and migrated) only for a component that may
    // use what it holds: `tool call echo` never touches it.
    let lent = lend_what_is_granted(ctx, &component, &mut runtime).await?;
    let tool = resolve_tool_name(&component, &args.name)?;
    if component
        .tools
        .iter()
        .any(|t| t.name == tool && t.requires_approval)
    {
        approve(&tool, &args.params, args.yes)?;
    }
    let context = CallContext {
        call_id: format!("cli-{}", std::process::id()),
        channel: Some("cli".into()),
        ..CallContext::default()
    };
    let result = runtime
        .call_tool(&component, &tool, &args.params, &context)
        .await;
    // The process exits right after: what the call did must be on record
    // first.
    if let Some(lent) = &lent {
        lent.audit.flush().await;
    }
    match result {
        Ok(out) => {
            let output = as_json(&out.output);
            let printed = if args.verbose {
                serde_json::json!({
                    "tool": tool,
                    "component": &*component.name,
                    "version": component.manifest.version.to_string(),
                    "digest": component.digest.to_hex().to_string(),
                    "output": output,
                    "usage": out.usage,
                })
            } else {
                output
            };
            println!("{printed}");
            Ok(())
        }
        Err(e) => {
            if args.verbose
                && let Some(usage) = &e.usage
            {
                eprintln!(
                    "usage: {}",
                    serde_json::to_string(usage).unwrap_or_default()
                );
            }
            Err(CliError::Failed(e.to_string()))
        }
    }
}

/// A container tool (`shell`, `read_file`, …): one job in the sandbox.
async fn call_container(ctx: &Context, args: &CallArgs) -> Result<(), CliError> {
    if !matches!(
        serde_json::from_str::<serde_json::Value>(&args.params),
        Ok(serde_json::Value::Object(_))
    ) {
        return Err(CliError::Usage(format!(
            "--params must be a JSON object, not `{}`",
            args.params
        )));
    }
    if ctx.config.sandbox.require_approval {
        approve(&args.name, &args.params, args.yes)?;
    }
    let (_db, sandbox) = super::sandbox::open(ctx).await?;
    let tools = crate::sandbox::tools::ContainerTools::over(sandbox);
    let result = tools.call(&args.name, &args.params).await;
    if !result.is_error {
        println!("{}", as_json(&result.output));
        return Ok(());
    }
    // A job that ran and failed prints its result like one that succeeded.
    match serde_json::from_str::<serde_json::Value>(&result.output) {
        Ok(v @ serde_json::Value::Object(_)) => {
            println!("{v}");
            let why = v["reason"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| format!("exit code {}", v["exit_code"]));
            Err(CliError::Failed(format!(
                "job {} {}: {why}",
                v["job"].as_str().unwrap_or("?"),
                v["state"].as_str().unwrap_or("failed")
            )))
        }
        _ => Err(CliError::Failed(result.output)),
    }
}

/// Asks the owner on a terminal before a tool that needs approval runs;
/// without a terminal only `--yes` lets it run.
fn approve(tool: &str, params: &str, yes: bool) -> Result<(), CliError> {
    use std::io::{BufRead, IsTerminal, Write};
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::Usage(format!(
            "tool `{tool}` needs approval: run it on a terminal to be asked, or pass --yes"
        )));
    }
    eprint!("Run tool `{tool}` with {params}? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| CliError::Failed(format!("cannot read the answer: {e}")))?;
    match answer.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Ok(()),
        _ => Err(CliError::Failed(format!(
            "not approved: tool `{tool}` did not run"
        ))),
    }
}

/// Opens the database for a component granted what lives there: the
/// workspace (seeded on first use) for `memory`; the `db` store, the audit
/// trail and the decrypted secrets with their leak scanner for `db`,
/// `http-outbound` and `secrets`.
async fn lend_what_is_granted(
    ctx: &Context,
    component: &LoadedComponent,
    runtime: &mut crate::runtime::Runtime,
) -> Result<Option<super::lend::Lent>, CliError> {
    let grants = &component.grants;
    let mut db = None;
    if grants.allows(Capability::Memory) {
        let (opened, memory) = super::memory::open_with_db(ctx).await?;
        runtime.set_memory(memory);
        db = Some(opened);
    }
    let lends = [
        Capability::Db,
        Capability::HttpOutbound,
        Capability::Secrets,
    ];
    if !lends.iter().any(|c| grants.allows(*c)) {
        return Ok(None);
    }
    let db = match db {
        Some(db) => db,
        None => {
            let db = super::db::open(ctx).await?;
            db.migrate()
                .await
                .map_err(|e| CliError::Failed(e.to_string()))?;
            db
        }
    };
    super::lend::lend(ctx, &db, runtime).await.map(Some)
}

/// The tool's output as JSON: parsed when it is JSON, else a JSON string.
fn as_json(output: &str) -> serde_json::Value {
    serde_json::from_str(output).unwrap_or_else(|_| serde_json::Value::String(output.to_string()))
}

async fn load_dev(
    runtime: &crate::runtime::Runtime,
    wasm: &std::path::Path,
) -> Result<Arc<LoadedComponent>, CliError> {
    let manifest_path = manifest_path_for(wasm).ok_or_else(|| {
        CliError::Usage(format!(
            "no manifest beside {}: expected {}.toml or component.toml in the same directory",
            wasm.display(),
            wasm.file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("<name>")
        ))
    })?;
    let manifest = Manifest::load(&manifest_path).map_err(|e| CliError::Usage(e.to_string()))?;
    let grants = runtime.grants_as_requested(&manifest);
    let granted: Vec<&str> = grants.list().iter().map(|c| c.as_str()).collect();
    eprintln!(
        "development path: running {} unverified, granted what its manifest requests ({})",
        wasm.display(),
        granted.join(", ")
    );
    runtime
        .load(wasm, manifest, grants)
        .await
        .map_err(|e| CliError::Failed(e.to_string()))
}

fn find_tool(
    components: &[Arc<LoadedComponent>],
    name: &str,
) -> Result<Arc<LoadedComponent>, CliError> {
    if let Some(c) = components
        .iter()
        .find(|c| c.tools.iter().any(|t| t.name == name))
    {
        return Ok(c.clone());
    }
    if let Some(c) = components.iter().find(|c| &*c.name == name) {
        return Ok(c.clone());
    }
    let mut known: Vec<&str> = components
        .iter()
        .flat_map(|c| c.tools.iter().map(|t| t.name.as_str()))
        .collect();
    known.sort();
    Err(CliError::Usage(if known.is_empty() {
        format!(
            "no tool `{name}`: no components found (run scripts/build-components, or pass --wasm PATH)"
        )
    } else {
        format!("no tool `{name}`; known tools: {}", known.join(", "))
    }))
}

/// A tool name, or a component name standing for its only tool.
fn resolve_tool_name(component: &LoadedComponent, name: &str) -> Result<String, CliError> {
    if component.tools.iter().any(|t| t.name == name) {
        return Ok(name.to_string());
    }
    match component.tools.as_slice() {
        [only] => Ok(only.name.clone()),
        tools => Err(CliError::Usage(format!(
            "component `{}` offers several tools; name one of: {}",
            component.name,
            tools
                .iter()
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

async fn list(ctx: &Context, args: ListArgs) -> Result<(), CliError> {
    let runtime = ctx.runtime()?;
    let components = load_all(ctx, &runtime).await;
    let containers = if ctx.config.sandbox.enabled {
        crate::sandbox::tools::infos(ctx.config.sandbox.require_approval)
    } else {
        Vec::new()
    };
    if args.json {
        let mut rows: Vec<serde_json::Value> = containers
            .iter()
            .map(|t| {
                serde_json::json!({
                    "tool": t.name,
                    "description": t.description,
                    "requires_approval": t.requires_approval,
                    "parameters_schema": t.parameters_schema,
                    "component": "sandbox",
                })
            })
            .collect();
        let component_rows: Vec<serde_json::Value> = components
            .iter()
            .flat_map(|c| {
                c.tools.iter().map(move |t| {
                    serde_json::json!({
                        "tool": t.name,
                        "description": t.description,
                        "requires_approval": t.requires_approval,
                        "parameters_schema": t.parameters_schema,
                        "component": &*c.name,
                        "version": c.manifest.version.to_string(),
                        "source": c.source.display().to_string(),
                    })
                })
            })
            .collect();
        rows.extend(component_rows);
        println!("{}", serde_json::Value::Array(rows));
        return Ok(());
    }
    for t in &containers {
        let approval = if t.requires_approval {
            " (approval)"
        } else {
            ""
        };
        println!(
            "{:<20} {:<12} {}{approval}",
            t.name, "sandbox", t.description
        );
    }
    for c in &components {
        for t in &c.tools {
            let approval = if t.requires_approval {
                " (approval)"
            } else {
                ""
            };
            println!("{:<20} {:<12} {}{approval}", t.name, c.name, t.description);
        }
    }
    Ok(())
}

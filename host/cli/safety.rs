//! `ironclaw safety list|test` and `ironclaw hooks list`: the installed
//! safety filters and hooks as the agent would run them (the owner's
//! `[safety]` order, disabled and fail-open lists applied).

use std::io::Read;
use std::sync::Arc;

use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};

use super::{CliError, Context, load_all};
use crate::agent::pipeline::{Pipeline, Step};
use crate::capabilities::Capability;
use crate::registry::ComponentKind;
use crate::runtime::safety::{InspectionContext, Stage, Verdict};
use crate::runtime::{LoadedComponent, Runtime};

#[derive(Debug, Subcommand)]
pub enum SafetyCommand {
    /// The safety filters: order, stages, failure policy, state.
    List(ListArgs),
    /// Show TEXT (or stdin with `-`) to the filters at one stage and print
    /// each filter's verdict and the final one.
    Test(TestArgs),
}

#[derive(Debug, Subcommand)]
pub enum HooksCommand {
    /// The hooks: priority, events, state.
    List(ListArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StageArg {
    Inbound,
    ToolOutput,
    Outbound,
    HttpBody,
}

impl From<StageArg> for Stage {
    fn from(s: StageArg) -> Stage {
        match s {
            StageArg::Inbound => Stage::InboundMessage,
            StageArg::ToolOutput => Stage::ToolOutput,
            StageArg::Outbound => Stage::OutboundResponse,
            StageArg::HttpBody => Stage::OutboundHttpBody,
        }
    }
}

#[derive(Debug, Args)]
pub struct TestArgs {
    #[arg(long, value_enum)]
    pub stage: StageArg,
    /// The content; `-` reads it from stdin.
    pub text: String,
    /// The tool whose output this is (tool-output) or the component that
    /// sends the body (http-body), as filters see it in their context.
    #[arg(long)]
    pub tool: Option<String>,
    /// The destination host of an http-body.
    #[arg(long)]
    pub destination: Option<String>,
    #[arg(long)]
    pub json: bool,
}

pub async fn run_safety(ctx: &Context, cmd: SafetyCommand) -> Result<(), CliError> {
    match cmd {
        SafetyCommand::List(args) => list_filters(ctx, args).await,
        SafetyCommand::Test(args) => test(ctx, args).await,
    }
}

pub async fn run_hooks(ctx: &Context, cmd: HooksCommand) -> Result<(), CliError> {
    match cmd {
        HooksCommand::List(args) => list_hooks(ctx, args).await,
    }
}

/// Filters in run order: the enabled ones as the pipeline orders them, then
/// the disabled ones by name.
fn ordered<'a>(
    ctx: &Context,
    runtime: &Arc<Runtime>,
    loaded: &'a [Arc<LoadedComponent>],
    is_kind: impl Fn(&LoadedComponent) -> bool,
    order_of: impl Fn(&Pipeline) -> Vec<Arc<LoadedComponent>>,
) -> Vec<(Arc<LoadedComponent>, &'static str)> {
    let pipeline = Pipeline::new(runtime.clone(), loaded.to_vec(), &ctx.config.safety);
    let mut rows: Vec<(Arc<LoadedComponent>, &'static str)> = order_of(&pipeline)
        .into_iter()
        .map(|c| (c, "enabled"))
        .collect();
    let mut disabled: Vec<&'a Arc<LoadedComponent>> = loaded
        .iter()
        .filter(|c| is_kind(c) && ctx.config.safety.is_disabled(&c.name))
        .collect();
    disabled.sort_by(|a, b| a.name.cmp(&b.name));
    rows.extend(disabled.into_iter().map(|c| (c.clone(), "disabled")));
    rows
}

async fn list_filters(ctx: &Context, args: ListArgs) -> Result<(), CliError> {
    let runtime = Arc::new(ctx.runtime()?);
    let loaded = load_all(ctx, &runtime).await;
    let mut rows = ordered(
        ctx,
        &runtime,
        &loaded,
        |c| !c.stages.is_empty(),
        |p| p.filters().to_vec(),
    );
    // Filters that asked for no stage (unconfigured) never run; show them.
    let mut idle: Vec<&Arc<LoadedComponent>> = loaded
        .iter()
        .filter(|c| matches!(c.manifest.kind, ComponentKind::SafetyFilter) && c.stages.is_empty())
        .collect();
    idle.sort_by(|a, b| a.name.cmp(&b.name));
    rows.extend(idle.into_iter().map(|c| (c.clone(), "idle (no stages)")));
    let json_rows: Vec<Value> = rows
        .iter()
        .enumerate()
        .map(|(i, (c, state))| {
            json!({
                "position": i + 1,
                "name": &*c.name,
                "version": c.manifest.version.to_string(),
                "stages": c.stages.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
                "on-failure": if ctx.config.safety.fails_open(&c.name) { "allow" } else { "block" },
                "state": state,
                "source": c.source.display().to_string(),
            })
        })
        .collect();
    if args.json {
        println!("{}", Value::Array(json_rows));
        return Ok(());
    }
    if rows.is_empty() {
        println!(
            "No safety filters installed. The host floor (secret values, canary, tool output wrapped and capped) always applies."
        );
        return Ok(());
    }
    println!(
        "{:<3} {:<18} {:<8} {:<9} {:<10} STAGES",
        "#", "FILTER", "VERSION", "FAILURE", "STATE"
    );
    for r in &json_rows {
        let stages: Vec<&str> = r["stages"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        println!(
            "{:<3} {:<18} {:<8} {:<9} {:<10} {}",
            r["position"].as_u64().unwrap_or(0),
            r["name"].as_str().unwrap_or(""),
            r["version"].as_str().unwrap_or(""),
            r["on-failure"].as_str().unwrap_or(""),
            r["state"].as_str().unwrap_or(""),
            if stages.is_empty() {
                "-".to_string()
            } else {
                stages.join(", ")
            }
        );
    }
    println!(
        "The host floor (secret values, canary, tool output wrapped and capped) runs after them and cannot be disabled."
    );
    Ok(())
}

async fn list_hooks(ctx: &Context, args: ListArgs) -> Result<(), CliError> {
    let runtime = Arc::new(ctx.runtime()?);
    let loaded = load_all(ctx, &runtime).await;
    let mut rows = ordered(
        ctx,
        &runtime,
        &loaded,
        |c| c.hook.as_ref().is_some_and(|r| !r.events.is_empty()),
        |p| p.hooks_in_order().to_vec(),
    );
    let mut idle: Vec<&Arc<LoadedComponent>> = loaded
        .iter()
        .filter(|c| c.hook.as_ref().is_some_and(|r| r.events.is_empty()))
        .filter(|c| !ctx.config.safety.is_disabled(&c.name))
        .collect();
    idle.sort_by(|a, b| a.name.cmp(&b.name));
    rows.extend(idle.into_iter().map(|c| (c.clone(), "idle (no events)")));
    let json_rows: Vec<Value> = rows
        .iter()
        .map(|(c, state)| {
            let (priority, events) = c.hook.as_ref().map_or((0, Vec::new()), |r| {
                (r.priority, r.events.iter().map(|e| e.as_str()).collect())
            });
            json!({
                "name": &*c.name,
                "version": c.manifest.version.to_string(),
                "priority": priority,
                "events": events,
                "state": state,
                "source": c.source.display().to_string(),
            })
        })
        .collect();
    if args.json {
        println!("{}", Value::Array(json_rows));
        return Ok(());
    }
    if rows.is_empty() {
        println!("No hooks installed.");
        return Ok(());
    }
    println!(
        "{:<24} {:<8} {:>8} {:<18} EVENTS",
        "HOOK", "VERSION", "PRIORITY", "STATE"
    );
    for r in &json_rows {
        let events: Vec<&str> = r["events"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        println!(
            "{:<24} {:<8} {:>8} {:<18} {}",
            r["name"].as_str().unwrap_or(""),
            r["version"].as_str().unwrap_or(""),
            r["priority"].as_i64().unwrap_or(0),
            r["state"].as_str().unwrap_or(""),
            if events.is_empty() {
                "-".to_string()
            } else {
                events.join(", ")
            }
        );
    }
    Ok(())
}

fn read_text(text: String) -> Result<String, CliError> {
    if text != "-" {
        return Ok(text);
    }
    let mut buf = String::new();
    std::io::stdin()
        .read_to_string(&mut buf)
        .map_err(|e| CliError::Usage(format!("cannot read the text from stdin: {e}")))?;
    Ok(buf)
}

fn step_json(step: &Step) -> Value {
    let (verdict, detail) = match &step.outcome {
        Ok(Verdict::Allow) => ("allow", Value::Null),
        Ok(Verdict::Warn(r)) => ("warn", json!(r)),
        Ok(Verdict::Redact(with)) => ("redact", json!(with)),
        Ok(Verdict::Block(r)) => ("block", json!(r)),
        Err((e, true)) => ("failed (fails open)", json!(e)),
        Err((e, false)) => ("failed (blocks)", json!(e)),
    };
    json!({ "filter": step.filter, "verdict": verdict, "detail": detail, "micros": step.micros })
}

async fn test(ctx: &Context, args: TestArgs) -> Result<(), CliError> {
    let text = read_text(args.text)?;
    let stage = Stage::from(args.stage);
    let mut runtime = ctx.runtime()?;
    let loaded = load_all(ctx, &runtime).await;
    // A filter granted db or memory reads what the agent's would.
    if loaded.iter().any(|c| {
        !c.stages.is_empty()
            && (c.grants.allows(Capability::Db) || c.grants.allows(Capability::Memory))
    }) {
        let (db, memory) = super::memory::open_with_db(ctx).await?;
        runtime.set_memory(memory);
        super::lend::lend(ctx, &db, &mut runtime).await?;
    }
    let runtime = Arc::new(runtime);
    let pipeline = Pipeline::new(runtime, loaded, &ctx.config.safety);
    let context = InspectionContext {
        channel: Some("cli".into()),
        user_id: Some("owner".into()),
        tool_name: args.tool,
        destination: args.destination,
    };
    let mut trace = Vec::new();
    let result = pipeline
        .filter_traced(stage, text.clone(), &context, Some(&mut trace))
        .await;
    let (final_verdict, final_text) = match &result {
        Ok(out) if *out == text => ("allow", json!(out)),
        Ok(out) => ("redact", json!(out)),
        Err(stopped) => ("block", json!(stopped.to_string())),
    };
    let warned = trace
        .iter()
        .any(|s| matches!(s.outcome, Ok(Verdict::Warn(_))) || matches!(s.outcome, Err((_, true))));
    let final_verdict = if final_verdict == "allow" && warned {
        "warn"
    } else {
        final_verdict
    };
    if args.json {
        println!(
            "{}",
            json!({
                "stage": stage.as_str(),
                "filters": trace.iter().map(step_json).collect::<Vec<_>>(),
                "final": { "verdict": final_verdict, "content": final_text },
            })
        );
        return Ok(());
    }
    if trace.is_empty() {
        println!(
            "No safety filter looks at the {stage} stage: the text passes as it is (the host floor still applies)."
        );
        return Ok(());
    }
    for step in &trace {
        let j = step_json(step);
        let detail = match &j["detail"] {
            Value::String(s) => format!(": {s}"),
            _ => String::new(),
        };
        println!(
            "{:<18} {}{detail}  ({} µs)",
            step.filter,
            j["verdict"].as_str().unwrap_or(""),
            step.micros
        );
    }
    match &result {
        Ok(out) => println!("final: {final_verdict}\n{out}"),
        Err(stopped) => println!("final: block ({stopped})"),
    }
    Ok(())
}

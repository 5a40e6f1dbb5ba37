//! `ironclaw component install|approve|list|info|remove`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use super::{CliError, Context};
use crate::registry::index::{Index, RegistrySource, fetch};
use crate::registry::install::{self, Candidate, InstallError, InstallOptions, Outcome, Plan};
use crate::runtime::live::SlotStatus;
use crate::store::Database;
use crate::store::domains::GrantStatus;
use crate::trust::TrustStore;

#[derive(Debug, Args)]
pub struct InstallArgs {
    /// A `.wasm` (manifest and `.sig` beside it), or a component name in `--registry`.
    pub source: String,
    /// A registry: a directory or an http:// URL serving `index.json`.
    #[arg(long, value_name = "DIR|URL")]
    pub registry: Option<String>,
    /// Approve what it asks for without asking.
    #[arg(long)]
    pub yes: bool,
    /// Install even without a signature (this digest only).
    #[arg(long)]
    pub allow_unsigned: bool,
    /// Install even if it is older than the installed version.
    #[arg(long)]
    pub allow_downgrade: bool,
}

#[derive(Debug, Args)]
pub struct NameArgs {
    pub name: String,
}

#[derive(Debug, Args)]
pub struct RemoveArgs {
    pub name: String,
    /// Also delete the component's stored data (its `db` namespace).
    #[arg(long)]
    pub purge_data: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[arg(long)]
    pub json: bool,
}

fn failed(e: impl std::fmt::Display) -> CliError {
    CliError::Failed(e.to_string())
}

async fn open(ctx: &Context) -> Result<Database, CliError> {
    let db = super::db::open(ctx).await?;
    db.migrate().await.map_err(failed)?;
    Ok(db)
}

fn install_error(e: InstallError) -> CliError {
    match e {
        InstallError::Source(_) | InstallError::Downgrade { .. } => CliError::Usage(e.to_string()),
        other => CliError::Failed(other.to_string()),
    }
}

async fn candidate(ctx: &Context, args: &InstallArgs) -> Result<Candidate, CliError> {
    let Some(registry) = &args.registry else {
        return Candidate::from_path(&PathBuf::from(&args.source)).map_err(install_error);
    };
    let source = RegistrySource::parse(registry).map_err(|e| CliError::Usage(e.to_string()))?;
    crate::registry::index::set_extra_ca(ctx.config.network.extra_ca_file.clone());
    let index = Index::load(&source).await.map_err(failed)?;
    let entry = index.get(&args.source).ok_or_else(|| {
        CliError::Usage(format!(
            "`{}` is not in the registry {registry}",
            args.source
        ))
    })?;
    let mut last = 0u64;
    let fetched = fetch(&source, entry, &mut |done, total| {
        // A line per MiB (or at the end), on stderr.
        if done - last >= 1 << 20 || Some(done) == total {
            last = done;
            match total {
                Some(t) => eprintln!("  downloading {}: {done} / {t} bytes", entry.name),
                None => eprintln!("  downloading {}: {done} bytes", entry.name),
            }
        }
    })
    .await
    .map_err(failed)?;
    let manifest = crate::registry::Manifest::parse(&fetched.manifest_text, &entry.manifest)
        .map_err(failed)?;
    Ok(Candidate {
        manifest,
        manifest_text: fetched.manifest_text,
        wasm: fetched.wasm,
        signature_text: fetched.signature_text,
        origin: source.describe(&entry.wasm),
    })
}

fn show(plan: &Plan) {
    eprintln!(
        "{} {} (blake3 {})",
        plan.name,
        plan.version,
        &plan.digest[..16]
    );
    match &plan.signer {
        Some(s) => eprintln!("  signed by {s} (trusted)"),
        None => eprintln!("  UNSIGNED (installed with --allow-unsigned)"),
    }
    if let Some(old) = &plan.replaces {
        eprintln!("  replaces version {old}");
    }
    eprintln!("  it asks for:");
    for r in &plan.requests {
        eprintln!("    - {r}");
    }
    if !plan.escalations.is_empty() {
        eprintln!("  more than the version it replaces:");
        for r in &plan.escalations {
            eprintln!("    + {r}");
        }
    }
}

/// Asks on the terminal; no terminal means no (it stays pending).
fn ask(question: &str) -> bool {
    if !std::io::stdin().is_terminal() {
        return false;
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).is_ok() && matches!(line.trim(), "y" | "Y" | "yes")
}

pub async fn install_cmd(ctx: &Context, args: InstallArgs) -> Result<(), CliError> {
    let db = open(ctx).await?;
    let store = db.components();
    let trust = TrustStore::load(&ctx.home).map_err(failed)?;
    let options = InstallOptions {
        allow_unsigned: args.allow_unsigned,
        allow_downgrade: args.allow_downgrade,
    };
    let candidate = candidate(ctx, &args).await?;
    let plan = install::plan(&candidate, &trust, store.as_ref(), options)
        .await
        .map_err(install_error)?;
    show(&plan);
    let approved = !plan.needs_approval || args.yes || ask("Grant these and install?");
    let outcome = install::install(
        &ctx.home,
        store.as_ref(),
        &candidate,
        plan,
        approved,
        options,
    )
    .await
    .map_err(install_error)?;
    match outcome {
        Outcome::Installed { plan } => {
            eprintln!("installed {} {}", plan.name, plan.version);
        }
        Outcome::Pending { plan } => {
            eprintln!(
                "{} {} waits for approval: `ironclaw component approve {}` (the installed version, if any, keeps serving)",
                plan.name, plan.version, plan.name
            );
        }
        Outcome::AlreadyInstalled { name, .. } => eprintln!("{name}: already installed"),
    }
    Ok(())
}

pub async fn approve_cmd(ctx: &Context, args: NameArgs) -> Result<(), CliError> {
    let db = open(ctx).await?;
    let trust = TrustStore::load(&ctx.home).map_err(failed)?;
    let plan = install::approve(&ctx.home, db.components().as_ref(), &trust, &args.name)
        .await
        .map_err(install_error)?;
    eprintln!("approved {} {}", plan.name, plan.version);
    Ok(())
}

pub async fn remove_cmd(ctx: &Context, args: RemoveArgs) -> Result<(), CliError> {
    let db = open(ctx).await?;
    install::remove(&ctx.home, db.components().as_ref(), &args.name)
        .await
        .map_err(install_error)?;
    if args.purge_data {
        let kv = db.kv();
        let mut removed = 0;
        loop {
            let keys = kv.list_keys(&args.name, "", 1000).await.map_err(failed)?;
            if keys.is_empty() {
                break;
            }
            for key in keys {
                kv.delete(&args.name, &key).await.map_err(failed)?;
                removed += 1;
            }
        }
        eprintln!("removed {} and {removed} stored entries", args.name);
    } else {
        eprintln!(
            "removed {} (its stored data stays; --purge-data deletes it)",
            args.name
        );
    }
    Ok(())
}

#[derive(Debug, Serialize)]
struct Row {
    name: String,
    version: String,
    kind: String,
    digest: String,
    grant: String,
    pending: Option<String>,
    /// From a running host: serving, or why its newest version was refused.
    serving: Option<bool>,
    last_error: Option<String>,
}

fn live_status(ctx: &Context) -> Vec<SlotStatus> {
    std::fs::read_to_string(super::run::status_file(ctx))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

async fn rows(ctx: &Context, db: &Database) -> Result<Vec<Row>, CliError> {
    let store = db.components();
    let live = live_status(ctx);
    let mut rows = Vec::new();
    for c in store.components().await.map_err(failed)? {
        let grants = store.grants(&c.name).await.map_err(failed)?;
        let grant = grants
            .iter()
            .find(|g| g.digest == c.digest)
            .map_or("none", |g| g.status.as_str());
        let pending = grants
            .iter()
            .find(|g| g.status == GrantStatus::Pending)
            .map(|g| g.digest.clone());
        let slot = live.iter().find(|s| s.name == c.name);
        rows.push(Row {
            grant: grant.to_string(),
            pending,
            serving: slot.map(|s| s.digest == c.digest),
            last_error: slot.and_then(|s| s.last_error.clone()),
            name: c.name,
            version: c.version,
            kind: c.kind,
            digest: c.digest,
        });
    }
    Ok(rows)
}

pub async fn list_cmd(ctx: &Context, args: ListArgs) -> Result<(), CliError> {
    let db = open(ctx).await?;
    let rows = rows(ctx, &db).await?;
    if args.json {
        println!("{}", serde_json::to_string(&rows).map_err(failed)?);
        return Ok(());
    }
    if rows.is_empty() {
        println!("no installed components (`ironclaw component install PATH`)");
    }
    for r in rows {
        let state = match (r.serving, &r.last_error) {
            (_, Some(e)) => format!("refused newest version: {e}"),
            (Some(true), None) => "serving".into(),
            (Some(false), None) => "installed (another version serving)".into(),
            (None, None) => "installed".into(),
        };
        let pending = if r.pending.is_some() {
            ", an upgrade awaits approval"
        } else {
            ""
        };
        println!(
            "{:<16} {:<10} {:<14} grant {}{pending} — {state}",
            r.name, r.version, r.kind, r.grant
        );
    }
    Ok(())
}

pub async fn info_cmd(ctx: &Context, args: NameArgs) -> Result<(), CliError> {
    let db = open(ctx).await?;
    let store = db.components();
    let record = store
        .component(&args.name)
        .await
        .map_err(failed)?
        .ok_or_else(|| CliError::Failed(format!("`{}` is not installed", args.name)))?;
    let manifest =
        crate::registry::Manifest::parse(&record.manifest, &record.name).map_err(failed)?;
    println!("{} {} ({})", record.name, record.version, record.kind);
    println!("  digest  blake3 {}", record.digest);
    println!("  {}", crate::trust::printable(&manifest.description));
    println!("  asks for:");
    for r in crate::trust::describe_requests(&manifest) {
        println!("    - {r}");
    }
    for g in store.grants(&record.name).await.map_err(failed)? {
        println!(
            "  grant {} for {}",
            g.status.as_str(),
            &g.digest[..16.min(g.digest.len())]
        );
    }
    if let Some(row) = rows(ctx, &db)
        .await?
        .into_iter()
        .find(|r| r.name == record.name)
        && let Some(e) = row.last_error
    {
        println!("  newest version refused: {e}");
    }
    Ok(())
}

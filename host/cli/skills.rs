//! `ironclaw skills list|install|remove`.

use clap::{Args, Subcommand};
use serde_json::json;

use super::{CliError, Context};
use crate::registry::index::{Index, IndexError, RegistrySource};
use crate::skills::catalog;
use crate::skills::install::{self, InstallError};
use crate::trust::TrustStore;

#[derive(Debug, Subcommand)]
pub enum SkillsCommand {
    /// Trusted and installed skills, and the files that did not load.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Installs a signed skill from a registry.
    Install(InstallArgs),
    /// Removes an installed skill (trusted ones are the owner's files).
    Remove { name: String },
}

#[derive(Debug, Args)]
pub struct InstallArgs {
    /// The skill's name in the registry index.
    pub name: String,
    /// A registry: a directory or an http:// URL serving `index.json`.
    #[arg(long, value_name = "DIR|URL")]
    pub registry: String,
    /// Install even if its signer is not a key this host trusts.
    #[arg(long)]
    pub allow_untrusted: bool,
}

pub async fn run(ctx: &Context, cmd: SkillsCommand) -> Result<(), CliError> {
    match cmd {
        SkillsCommand::List { json } => list(ctx, json),
        SkillsCommand::Install(args) => install_cmd(ctx, args).await,
        SkillsCommand::Remove { name } => {
            let dir = install::remove(&ctx.home, &name).map_err(install_error)?;
            println!("removed skill {name} ({})", dir.display());
            Ok(())
        }
    }
}

/// Refusals and bad input are exit 2; failing to read or write is exit 1.
fn install_error(e: InstallError) -> CliError {
    match &e {
        InstallError::Write { .. } => CliError::Failed(e.to_string()),
        InstallError::Index(
            IndexError::Read { .. }
            | IndexError::Http { .. }
            | IndexError::HttpStatus { .. }
            | IndexError::Timeout { .. },
        ) => CliError::Failed(e.to_string()),
        _ => CliError::Usage(e.to_string()),
    }
}

fn list(ctx: &Context, as_json: bool) -> Result<(), CliError> {
    let snapshot = catalog::load(&ctx.home);
    if as_json {
        let skills: Vec<serde_json::Value> = snapshot
            .skills
            .iter()
            .map(|s| {
                json!({
                    "name": s.file.name,
                    "source": s.source,
                    "version": s.file.version.as_ref().map(|v| v.to_string()),
                    "description": s.file.description,
                    "keywords": s.file.keywords,
                    "tags": s.file.tags,
                    "patterns": s.file.patterns,
                    "requires_tools": s.file.requires_tools,
                    "path": s.path,
                    "origin": s.origin,
                    "tokens": crate::skills::select::estimate_tokens(s),
                })
            })
            .collect();
        let out = json!({ "skills": skills, "errors": snapshot.broken });
        println!("{out}");
        return Ok(());
    }
    if snapshot.skills.is_empty() && snapshot.broken.is_empty() {
        println!(
            "no skills: write {}/<name>/SKILL.md, or `ironclaw skills install NAME --registry DIR|URL`",
            catalog::trusted_dir(&ctx.home).display()
        );
        return Ok(());
    }
    for s in &snapshot.skills {
        let version = s
            .file
            .version
            .as_ref()
            .map(|v| format!(" {v}"))
            .unwrap_or_default();
        println!(
            "{}{version} ({}): {}",
            s.file.name,
            s.source.as_str(),
            s.file.description
        );
        if !s.file.keywords.is_empty() {
            println!("  keywords: {}", s.file.keywords.join(", "));
        }
        if !s.file.tags.is_empty() {
            println!("  tags: {}", s.file.tags.join(", "));
        }
        if let Some(o) = &s.origin {
            println!("  from {} signed by {}", o.registry, o.signer);
        }
    }
    for b in &snapshot.broken {
        println!(
            "{} ({}): NOT LOADED: {}",
            b.name,
            b.source.as_str(),
            b.error
        );
    }
    Ok(())
}

async fn install_cmd(ctx: &Context, args: InstallArgs) -> Result<(), CliError> {
    let source =
        RegistrySource::parse(&args.registry).map_err(|e| CliError::Usage(e.to_string()))?;
    crate::registry::index::set_extra_ca(ctx.config.network.extra_ca_file.clone());
    let index = Index::load(&source)
        .await
        .map_err(|e| install_error(e.into()))?;
    let entry = index
        .skills
        .iter()
        .find(|s| s.name == args.name)
        .ok_or_else(|| {
            CliError::Usage(format!(
                "no skill `{}` in the registry {}",
                args.name, args.registry
            ))
        })?;
    let fetched = crate::skills::registry::fetch(&source, entry)
        .await
        .map_err(|e| install_error(e.into()))?;
    let trust = TrustStore::load(&ctx.home).map_err(|e| CliError::Failed(e.to_string()))?;
    let done = install::install(
        &ctx.home,
        &source.to_string(),
        entry,
        &fetched,
        &trust,
        args.allow_untrusted,
    )
    .map_err(install_error)?;
    let version = done
        .skill
        .version
        .as_ref()
        .map(|v| format!(" {v}"))
        .unwrap_or_default();
    if done.signer.trusted {
        eprintln!("  signed by {} (trusted)", done.signer.key_id);
    } else {
        eprintln!(
            "WARNING: {} is signed by {}, a key this host does NOT trust; installed only because of --allow-untrusted",
            done.skill.name, done.signer.key_id
        );
    }
    if let Some(old) = &done.replaced {
        eprintln!("  replaces version {}", old.as_deref().unwrap_or("(none)"));
    }
    println!(
        "installed skill {}{version} ({}); while it is active in a turn, only read-only tools are offered",
        done.skill.name,
        done.path.display()
    );
    Ok(())
}

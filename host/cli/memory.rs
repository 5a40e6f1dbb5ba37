//! `ironclaw memory write|read|tree|search|delete|reindex`.

use std::io::Read;
use std::sync::Arc;

use clap::{Args, Subcommand};

use super::{CliError, Context};
use crate::memory::embedder::LocalEmbedder;
use crate::memory::{MemoryStore, identity};

#[derive(Debug, Subcommand)]
pub enum MemoryCommand {
    /// Write a document; the content comes from stdin.
    Write { path: String },
    /// Print a document.
    Read { path: String },
    /// List document paths under a prefix.
    Tree(TreeArgs),
    /// Hybrid (full-text + vector) search.
    Search(SearchArgs),
    /// Delete a document.
    Delete { path: String },
    /// Re-chunk and re-embed every document with the current embedder.
    Reindex,
}

#[derive(Debug, Args)]
pub struct TreeArgs {
    #[arg(default_value = "")]
    pub prefix: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    pub query: String,
    #[arg(long, default_value_t = 5)]
    pub limit: usize,
    #[arg(long)]
    pub json: bool,
}

/// Opens (migrating) the database and the workspace, seeding identity files
/// on first use.
pub(crate) async fn open(ctx: &Context) -> Result<Arc<dyn MemoryStore>, CliError> {
    Ok(open_with_db(ctx).await?.1)
}

/// [`open`], also handing back the database for the other stores.
pub(crate) async fn open_with_db(
    ctx: &Context,
) -> Result<(crate::store::Database, Arc<dyn MemoryStore>), CliError> {
    let db = super::db::open(ctx).await?;
    db.migrate()
        .await
        .map_err(|e| CliError::Failed(e.to_string()))?;
    let memory = db.memory(Arc::new(LocalEmbedder::default()));
    identity::seed(memory.as_ref(), &identity::today_utc())
        .await
        .map_err(|e| CliError::Failed(e.to_string()))?;
    Ok((db, memory))
}

fn failed(e: crate::memory::MemoryError) -> CliError {
    match e {
        crate::memory::MemoryError::InvalidPath { .. } => CliError::Usage(e.to_string()),
        other => CliError::Failed(other.to_string()),
    }
}

pub async fn run(ctx: &Context, cmd: MemoryCommand) -> Result<(), CliError> {
    let memory = open(ctx).await?;
    match cmd {
        MemoryCommand::Write { path } => {
            let mut content = String::new();
            std::io::stdin()
                .read_to_string(&mut content)
                .map_err(|e| CliError::Usage(format!("reading stdin: {e}")))?;
            let outcome = memory.write(&path, &content).await.map_err(failed)?;
            eprintln!(
                "{path}: {}",
                serde_json::to_string(&outcome)
                    .unwrap_or_default()
                    .trim_matches('"')
            );
        }
        MemoryCommand::Read { path } => match memory.read(&path).await.map_err(failed)? {
            Some(doc) => print!("{}", doc.content),
            None => return Err(CliError::Failed(format!("no document `{path}`"))),
        },
        MemoryCommand::Tree(args) => {
            let paths = memory.tree(&args.prefix).await.map_err(failed)?;
            if args.json {
                println!("{}", serde_json::to_string(&paths).unwrap_or_default());
            } else {
                for p in paths {
                    println!("{p}");
                }
            }
        }
        MemoryCommand::Search(args) => {
            let hits = memory
                .search(&args.query, args.limit)
                .await
                .map_err(failed)?;
            if args.json {
                println!("{}", serde_json::to_string(&hits).unwrap_or_default());
            } else {
                for h in hits {
                    let first = h
                        .snippet
                        .lines()
                        .find(|l| !l.trim().is_empty())
                        .unwrap_or("");
                    println!(
                        "{:.4}  {}  {}",
                        h.score,
                        h.path,
                        first.chars().take(100).collect::<String>()
                    );
                }
            }
        }
        MemoryCommand::Delete { path } => {
            if !memory.delete(&path).await.map_err(failed)? {
                return Err(CliError::Failed(format!("no document `{path}`")));
            }
        }
        MemoryCommand::Reindex => {
            let n = memory.reindex().await.map_err(failed)?;
            eprintln!("reindexed {n} documents");
        }
    }
    Ok(())
}

//! `ironclaw db migrate|status`.

use clap::{Args, Subcommand};

use super::{CliError, Context};
use crate::store::{Database, DatabaseUrl};

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Apply pending migrations (applying twice is a no-op).
    Migrate,
    /// Show applied and pending migrations.
    Status(StatusArgs),
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[arg(long)]
    pub json: bool,
}

/// Opens the configured database (without migrating it).
pub(crate) async fn open(ctx: &Context) -> Result<Database, CliError> {
    let url = DatabaseUrl::resolve(ctx.config.database.url.as_deref(), &ctx.home)
        .map_err(|e| CliError::Usage(e.to_string()))?;
    if let DatabaseUrl::Sqlite(_) = url {
        ctx.home.ensure().map_err(|e| {
            CliError::Failed(format!("cannot create {}: {e}", ctx.home.root().display()))
        })?;
    }
    Database::open(&url)
        .await
        .map_err(|e| CliError::Failed(e.to_string()))
}

pub async fn run(ctx: &Context, cmd: DbCommand) -> Result<(), CliError> {
    let db = open(ctx).await?;
    match cmd {
        DbCommand::Migrate => {
            let applied = db
                .migrate()
                .await
                .map_err(|e| CliError::Failed(e.to_string()))?;
            if applied.is_empty() {
                eprintln!("{}: up to date", db.display());
            } else {
                let list: Vec<String> = applied.iter().map(u32::to_string).collect();
                eprintln!("{}: applied migration(s) {}", db.display(), list.join(", "));
            }
            Ok(())
        }
        DbCommand::Status(args) => {
            let status = db
                .migration_status()
                .await
                .map_err(|e| CliError::Failed(e.to_string()))?;
            if args.json {
                println!("{}", serde_json::to_string(&status).unwrap_or_default());
            } else {
                println!("{}", db.display());
                for m in &status {
                    let state = match m.applied_at {
                        Some(at) => format!("applied {at}"),
                        None => "pending".to_string(),
                    };
                    println!("  {:04} {:<24} {state}", m.version, m.name);
                }
            }
            Ok(())
        }
    }
}

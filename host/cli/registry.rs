//! `ironclaw registry build DIR [--key KEY]`: signs the components in a
//! directory and writes its `index.json` (see [`crate::registry::index`] and
//! `registry/README.md`).

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::keys::key_error;
use super::{CliError, Context};
use crate::registry::index::{self, INDEX_FILE, IndexError};
use crate::trust::{self, SignError};

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Index every <name>.wasm + <name>.toml (and skills/<name>.md) in DIR
    /// into DIR/index.json, signing each (<name>.sig) when --key is given.
    Build(BuildArgs),
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The registry directory: <name>.wasm beside <name>.toml (and <name>.sig).
    pub dir: PathBuf,
    /// Sign every component with this key: a key id or name from
    /// `ironclaw keys list`, or a path to a secret key file. Without it,
    /// existing signatures are kept (and must still be valid).
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
}

pub async fn run(ctx: &Context, cmd: RegistryCommand) -> Result<(), CliError> {
    match cmd {
        RegistryCommand::Build(args) => build(ctx, args),
    }
}

/// Bad input (a missing or broken component, a stale signature, an unsafe
/// file name) is exit 2; failing to read or write is exit 1.
fn index_error(e: IndexError) -> CliError {
    match e {
        IndexError::Sign(SignError::Key(e)) => key_error(e),
        IndexError::Sign(SignError::Read { .. } | SignError::Write { .. })
        | IndexError::Read { .. }
        | IndexError::Write { .. } => CliError::Failed(e.to_string()),
        _ => CliError::Usage(e.to_string()),
    }
}

fn build(ctx: &Context, args: BuildArgs) -> Result<(), CliError> {
    if !args.dir.is_dir() {
        return Err(CliError::Usage(format!(
            "{} is not a directory",
            args.dir.display()
        )));
    }
    let key = match &args.key {
        Some(spec) => Some(trust::find_secret(&ctx.home, spec).map_err(key_error)?),
        None => None,
    };
    if let Some(key) = &key {
        println!(
            "signing with key {} ({})",
            key.public.id,
            trust::printable(&key.public.name)
        );
    }
    let mut unsigned = Vec::new();
    let built = index::build(&args.dir, key.as_ref(), &mut |b| {
        let e = b.entry;
        let signature = match (&b.key_id, b.signed_now) {
            (Some(id), true) => format!("signed by {id}"),
            (Some(id), false) => format!("signature by {id} kept"),
            (None, _) => "unsigned".to_string(),
        };
        println!(
            "{} {} ({}): {} bytes, blake3 {}, {signature}",
            e.name,
            e.version,
            e.kind.as_str(),
            e.size,
            e.digest.to_hex()
        );
        if b.key_id.is_none() {
            unsigned.push(e.name.clone());
        }
    })
    .map_err(index_error)?;
    let signed = built
        .entries
        .iter()
        .filter(|e| e.signature.is_some())
        .count();
    for s in &built.skills {
        println!(
            "skill {} {}: {} bytes, blake3 {}, {}",
            s.name,
            s.version
                .as_ref()
                .map(|v| v.to_string())
                .unwrap_or_default(),
            s.size,
            s.digest.to_hex(),
            if s.signature.is_some() {
                "signed"
            } else {
                "unsigned"
            }
        );
        if s.signature.is_none() {
            unsigned.push(format!("skill {}", s.name));
        }
    }
    println!(
        "wrote {}: {} components, {signed} signed",
        args.dir.join(INDEX_FILE).display(),
        built.entries.len()
    );
    if !built.skills.is_empty() {
        let signed = built
            .skills
            .iter()
            .filter(|s| s.signature.is_some())
            .count();
        println!("  and {} skills, {signed} signed", built.skills.len());
    }
    if !unsigned.is_empty() {
        eprintln!(
            "note: unsigned ({}): installs refuse them unless --allow-unsigned; sign with --key KEY",
            unsigned.join(", ")
        );
    }
    Ok(())
}

//! `ironclaw keys generate|trust|list|untrust`: publisher keys and the
//! owner's trust store (see [`crate::trust`]).

use std::path::Path;

use clap::{Args, Subcommand};

use super::{CliError, Context};
use crate::trust::{self, KeyError, KeyId, PublicKey, TrustStore};

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create an ed25519 key pair for signing components (not trusted unless --trust).
    Generate(GenerateArgs),
    /// Trust components signed by a public key (a .pub file, or the id of one of your own keys).
    Trust(TrustArgs),
    /// List your own keys and the keys this host trusts.
    List(ListArgs),
    /// Stop trusting a key.
    Untrust(UntrustArgs),
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// A name for people (letters, digits, space, '.', '_', '@', '-').
    #[arg(long, default_value = "publisher")]
    pub name: String,
    /// Also trust the new key on this host.
    #[arg(long)]
    pub trust: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct TrustArgs {
    /// A public key file (`<id>.pub`), or the id of one of your own keys.
    pub key: String,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct UntrustArgs {
    /// The key id (16 hex characters, from `ironclaw keys list`).
    pub id: String,
}

pub async fn run(ctx: &Context, cmd: KeysCommand) -> Result<(), CliError> {
    match cmd {
        KeysCommand::Generate(args) => generate(ctx, args),
        KeysCommand::Trust(args) => trust_key(ctx, args),
        KeysCommand::List(args) => list(ctx, args),
        KeysCommand::Untrust(args) => untrust(ctx, args),
    }
}

/// Bad names and malformed or loose files are the caller's input (exit 2);
/// failing to read or write is the work failing (exit 1).
pub(super) fn key_error(e: KeyError) -> CliError {
    match e {
        KeyError::Read { .. } | KeyError::Write { .. } | KeyError::Random(_) => {
            CliError::Failed(e.to_string())
        }
        _ => CliError::Usage(e.to_string()),
    }
}

fn generate(ctx: &Context, args: GenerateArgs) -> Result<(), CliError> {
    let made = trust::generate_key(&ctx.home, &args.name, args.trust).map_err(key_error)?;
    if args.json {
        let out = serde_json::json!({
            "id": made.key.id.as_str(),
            "name": made.key.name,
            "trusted": made.trusted,
            "public_key_file": made.public_path.display().to_string(),
            "secret_key_file": made.secret_path.display().to_string(),
        });
        println!("{out}");
        return Ok(());
    }
    println!("generated key {} ({})", made.key.id, made.key.name);
    println!("public key: {}", made.public_path.display());
    println!(
        "secret key: {} (mode 0600; never share it)",
        made.secret_path.display()
    );
    if made.trusted {
        println!("trusted on this host");
    } else {
        println!(
            "not trusted on this host; to trust it: ironclaw keys trust {}",
            made.key.id
        );
    }
    Ok(())
}

fn trust_key(ctx: &Context, args: TrustArgs) -> Result<(), CliError> {
    let key = resolve_public(ctx, &args.key)?;
    let added = trust::trust_key(&ctx.home, &key).map_err(key_error)?;
    let state = if added { "trusted" } else { "already trusted" };
    println!("{state}: {} ({})", key.id, key.name);
    Ok(())
}

/// A public key file, else the id of one of the owner's own keys.
fn resolve_public(ctx: &Context, spec: &str) -> Result<PublicKey, CliError> {
    let path = Path::new(spec);
    if path.exists() {
        return PublicKey::load(path).map_err(key_error);
    }
    if let Some(id) = KeyId::parse(spec) {
        let store = TrustStore::load(&ctx.home).map_err(key_error)?;
        if let Some(own) = store.own().iter().find(|k| k.key.id == id) {
            return Ok(own.key.clone());
        }
    }
    Err(CliError::Usage(format!(
        "no public key file or own key `{spec}`"
    )))
}

fn load_store(ctx: &Context) -> Result<TrustStore, CliError> {
    let store = TrustStore::load(&ctx.home).map_err(key_error)?;
    for problem in store.problems() {
        eprintln!("warning: {problem}");
    }
    Ok(store)
}

fn list(ctx: &Context, args: ListArgs) -> Result<(), CliError> {
    let rows = load_store(ctx)?.list();
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&rows).map_err(|e| CliError::Failed(e.to_string()))?
        );
        return Ok(());
    }
    if rows.is_empty() {
        println!(
            "no keys: `ironclaw keys generate` makes one, `ironclaw keys trust FILE` trusts one"
        );
        return Ok(());
    }
    println!("{:<16}  {:<7}  {:<6}  NAME", "ID", "TRUSTED", "SECRET");
    for r in rows {
        let yes = |b: bool| if b { "yes" } else { "no" };
        println!(
            "{:<16}  {:<7}  {:<6}  {}",
            r.id,
            yes(r.trusted),
            yes(r.has_secret),
            r.name
        );
    }
    Ok(())
}

fn untrust(ctx: &Context, args: UntrustArgs) -> Result<(), CliError> {
    let id = KeyId::parse(&args.id).ok_or_else(|| {
        CliError::Usage(format!(
            "`{}` is not a key id (16 hex characters, from `ironclaw keys list`)",
            trust::printable(&args.id)
        ))
    })?;
    if trust::untrust_key(&ctx.home, &id).map_err(key_error)? {
        println!("no longer trusted: {id}");
        Ok(())
    } else {
        Err(CliError::Failed(format!("key {id} is not trusted")))
    }
}

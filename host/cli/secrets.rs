//! `ironclaw secrets set|list|remove|check`.
//!
//! A value never travels through argv (other users see it in `ps`, shells
//! keep it in history): `set` reads it from stdin or a hidden prompt, and a
//! stray value argument is refused without being echoed back.

use std::ffi::OsString;
use std::io::{IsTerminal, Read};
use std::sync::Arc;

use clap::{Args, Subcommand};
use serde::Serialize;
use zeroize::Zeroizing;

use super::{CliError, Context};
use crate::secrets::usage::{SecretUse, secret_usage};
use crate::secrets::{
    KeySource, MASTER_KEY_ENV, MAX_VALUE_BYTES, MasterKey, SecretValue, Vault, VaultError,
    key_file, validate_name,
};
use crate::store::Database;

#[derive(Subcommand)]
pub enum SecretsCommand {
    /// Store a secret: the value is read from stdin when it is piped,
    /// else asked for twice at a hidden prompt. Never pass it as an argument.
    Set(SetArgs),
    /// Secret names, dates, and the components that may use each one
    /// (also those asked for but not set). Never values.
    List(ListArgs),
    /// Delete a secret.
    Remove { name: String },
    /// Decrypt every secret with the current master key (values not shown).
    Check,
    /// Anything else: caught so that clap does not echo the word (a value
    /// typed in the wrong place would land on the terminal).
    #[command(external_subcommand)]
    Unknown(Vec<OsString>),
}

#[derive(Args)]
pub struct SetArgs {
    /// e.g. openai_api_key: 1-64 characters of A-Z a-z 0-9 _ . -
    pub name: String,
    /// Anything after the name: caught here so clap does not echo it in
    /// its "unexpected argument" error (it is probably the value).
    #[arg(hide = true, num_args = 0.., trailing_var_arg = true, allow_hyphen_values = true)]
    pub stray: Vec<OsString>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[arg(long)]
    pub json: bool,
}

/// By hand, because the stray and unknown arguments may be a value: their
/// count is shown, never their text.
impl std::fmt::Debug for SecretsCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretsCommand::Set(args) => f
                .debug_struct("Set")
                .field("name", &args.name)
                .field("stray_arguments", &args.stray.len())
                .finish(),
            SecretsCommand::List(args) => f.debug_tuple("List").field(args).finish(),
            SecretsCommand::Remove { name } => {
                f.debug_struct("Remove").field("name", name).finish()
            }
            SecretsCommand::Check => f.write_str("Check"),
            SecretsCommand::Unknown(words) => f
                .debug_struct("Unknown")
                .field("arguments", &words.len())
                .finish(),
        }
    }
}

pub async fn run(ctx: &Context, cmd: SecretsCommand) -> Result<(), CliError> {
    // Refused before anything is opened or created.
    match &cmd {
        SecretsCommand::Unknown(_) => return Err(unknown_command()),
        SecretsCommand::Set(args) if !args.stray.is_empty() => return Err(stray_value()),
        SecretsCommand::Set(SetArgs { name, .. }) | SecretsCommand::Remove { name } => {
            validate_name(name).map_err(vault_err)?;
        }
        _ => {}
    }
    let db = open(ctx).await?;
    match cmd {
        SecretsCommand::Set(args) => set(ctx, &db, args).await,
        SecretsCommand::List(args) => list(ctx, &db, args).await,
        SecretsCommand::Remove { name } => {
            if db.secrets().delete(&name).await.map_err(failed)? {
                eprintln!("removed secret `{name}`");
                Ok(())
            } else {
                Err(CliError::Failed(format!("no secret `{name}`")))
            }
        }
        SecretsCommand::Check => check(ctx, &db).await,
        SecretsCommand::Unknown(_) => Err(unknown_command()),
    }
}

fn stray_value() -> CliError {
    CliError::Usage(
        "`secrets set` takes only a NAME: the value is read from stdin or a hidden prompt, \
         never from the command line (where `ps` and shell history would keep it). The extra \
         argument is not shown; if it was the value, clear it from your shell history"
            .into(),
    )
}

fn unknown_command() -> CliError {
    CliError::Usage("unknown `secrets` command (not shown): use set, list, remove or check".into())
}

async fn open(ctx: &Context) -> Result<Database, CliError> {
    let db = super::db::open(ctx).await?;
    db.migrate().await.map_err(failed)?;
    Ok(db)
}

fn failed(e: impl std::fmt::Display) -> CliError {
    CliError::Failed(e.to_string())
}

fn vault_err(e: VaultError) -> CliError {
    match e {
        VaultError::InvalidName { .. }
        | VaultError::EmptyValue { .. }
        | VaultError::TooLarge { .. } => CliError::Usage(e.to_string()),
        other => CliError::Failed(other.to_string()),
    }
}

/// `args` were checked by [`run`] (no stray value, a valid name).
async fn set(ctx: &Context, db: &Database, args: SetArgs) -> Result<(), CliError> {
    let store = db.secrets();
    let others: Vec<String> = store
        .list()
        .await
        .map_err(failed)?
        .into_iter()
        .map(|r| r.name)
        .filter(|n| *n != args.name)
        .collect();
    let key = match MasterKey::load(&ctx.home).map_err(failed)? {
        Some(key) => {
            // Storing under a key that cannot read the secrets already
            // there would split them across two keys.
            let vault = Vault::new(Arc::clone(&store), key);
            for name in &others {
                vault.get(name).await.map_err(|e| {
                    CliError::Failed(format!(
                        "{e}. Not storing `{}` under a key that cannot read the other secrets",
                        args.name
                    ))
                })?;
            }
            Some(vault)
        }
        // A new key while secrets exist would split them across two keys,
        // and the old ones would look lost: refuse instead.
        None if !others.is_empty() => {
            return Err(CliError::Failed(format!(
                "secrets are stored but there is no master key ({} is not set and {} does \
                 not exist): restore the key they were stored with",
                MASTER_KEY_ENV,
                key_file(&ctx.home).display()
            )));
        }
        None => None,
    };
    // Read before a key file is created, so a cancelled prompt leaves nothing.
    let value = read_value(&args.name)?;
    let vault = match key {
        Some(vault) => vault,
        None => {
            ctx.home.ensure().map_err(|e| {
                CliError::Failed(format!("cannot create {}: {e}", ctx.home.root().display()))
            })?;
            Vault::new(store, MasterKey::load_or_create(&ctx.home).map_err(failed)?)
        }
    };
    vault.set(&args.name, &value).await.map_err(vault_err)?;
    if vault.key().created()
        && let KeySource::File(path) = vault.key().source()
    {
        eprintln!(
            "created the master key {} (mode 0600). Back it up somewhere safe: \
             losing it loses every secret",
            path.display()
        );
    }
    eprintln!(
        "stored secret `{}` (encrypted with {})",
        args.name,
        vault.key().source()
    );
    Ok(())
}

/// The value from stdin when it is piped (one trailing newline removed),
/// else from a hidden prompt asked twice.
fn read_value(name: &str) -> Result<SecretValue, CliError> {
    let stdin = std::io::stdin();
    let mut text = if stdin.is_terminal() {
        prompt_twice(name)?
    } else {
        // Sized for the limit plus a line ending and one byte, so reading
        // never reallocates (which would leave unzeroized copies) and an
        // oversized value is noticed.
        let cap = MAX_VALUE_BYTES + 3;
        let mut bytes = Zeroizing::new(Vec::with_capacity(cap));
        stdin
            .lock()
            .take(cap as u64)
            .read_to_end(&mut bytes)
            .map_err(|e| CliError::Failed(format!("reading the value from stdin: {e}")))?;
        if bytes.ends_with(b"\r\n") {
            let n = bytes.len() - 2;
            bytes.truncate(n);
        } else if bytes.ends_with(b"\n") {
            let n = bytes.len() - 1;
            bytes.truncate(n);
        }
        if bytes.len() > MAX_VALUE_BYTES {
            return Err(CliError::Usage(format!(
                "secret `{name}`: the value is over the limit of {MAX_VALUE_BYTES} bytes"
            )));
        }
        let text = std::str::from_utf8(&bytes).map_err(|_| {
            CliError::Usage(format!("secret `{name}`: the value on stdin is not UTF-8"))
        })?;
        let mut owned = Zeroizing::new(String::with_capacity(text.len()));
        owned.push_str(text);
        owned
    };
    if text.is_empty() {
        return Err(CliError::Usage(format!(
            "secret `{name}`: an empty value is refused"
        )));
    }
    // Moved, not copied: the one buffer becomes the SecretValue.
    Ok(SecretValue::new(std::mem::take(&mut *text)))
}

fn prompt_twice(name: &str) -> Result<Zeroizing<String>, CliError> {
    let ask = |prompt: &str| {
        rpassword::prompt_password(prompt)
            .map(Zeroizing::new)
            .map_err(|e| CliError::Failed(format!("reading the value: {e}")))
    };
    let first = ask(&format!("Value for `{name}` (input hidden): "))?;
    let second = ask("Again, to confirm: ")?;
    if *first != *second {
        return Err(CliError::Usage(
            "the two values differ; nothing was stored".into(),
        ));
    }
    Ok(first)
}

/// One row of `secrets list`.
#[derive(Debug, Serialize)]
struct Row {
    name: String,
    /// `false`: a component asks for it but it is not stored.
    set: bool,
    created_at: Option<i64>,
    updated_at: Option<i64>,
    used_by: Vec<SecretUse>,
}

async fn list(ctx: &Context, db: &Database, args: ListArgs) -> Result<(), CliError> {
    let records = db.secrets().list().await.map_err(failed)?;
    let mut usage = secret_usage(&ctx.config, &ctx.home, db.components().as_ref())
        .await
        .map_err(failed)?;
    for w in &usage.warnings {
        eprintln!("warning: {w}");
    }
    let mut rows: Vec<Row> = records
        .into_iter()
        .map(|r| Row {
            used_by: usage.by_secret.remove(&r.name).unwrap_or_default(),
            name: r.name,
            set: true,
            created_at: Some(r.created_at),
            updated_at: Some(r.updated_at),
        })
        .collect();
    rows.extend(usage.by_secret.into_iter().map(|(name, used_by)| Row {
        name,
        set: false,
        created_at: None,
        updated_at: None,
        used_by,
    }));
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    if args.json {
        println!("{}", serde_json::to_string(&rows).map_err(failed)?);
        return Ok(());
    }
    if rows.is_empty() {
        eprintln!("no secrets stored, and no component asks for one");
        return Ok(());
    }
    let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    println!(
        "{:<width$}  {:<17}  {:<17}  USED BY",
        "NAME", "CREATED", "UPDATED"
    );
    for r in &rows {
        let when = |ms: Option<i64>| ms.map(format_utc).unwrap_or_else(|| "-".into());
        let (created, updated) = if r.set {
            (when(r.created_at), when(r.updated_at))
        } else {
            ("MISSING".into(), "-".into())
        };
        println!(
            "{:<width$}  {created:<17}  {updated:<17}  {}",
            r.name,
            describe_uses(&r.used_by)
        );
    }
    Ok(())
}

fn describe_uses(uses: &[SecretUse]) -> String {
    if uses.is_empty() {
        return "-".into();
    }
    uses.iter()
        .map(|u| {
            let note = match u.grounds {
                crate::secrets::usage::Grounds::Approved => "",
                crate::secrets::usage::Grounds::Pending => ", pending approval",
                crate::secrets::usage::Grounds::Manifest => ", not installed: as its manifest asks",
            };
            format!("{} ({}{note})", u.component, u.hosts.join(" "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

async fn check(ctx: &Context, db: &Database) -> Result<(), CliError> {
    let store = db.secrets();
    let records = store.list().await.map_err(failed)?;
    if records.is_empty() {
        eprintln!("no secrets stored");
        return Ok(());
    }
    let Some(key) = MasterKey::load(&ctx.home).map_err(failed)? else {
        return Err(CliError::Failed(format!(
            "{} secret(s) stored but there is no master key: {} is not set and {} does not exist",
            records.len(),
            MASTER_KEY_ENV,
            key_file(&ctx.home).display()
        )));
    };
    let vault = Vault::new(store, key);
    let mut bad = 0;
    for r in &records {
        match vault.get(&r.name).await {
            Ok(_) => println!("{}: ok", r.name),
            Err(e) => {
                bad += 1;
                eprintln!("error: {e}");
            }
        }
    }
    if bad > 0 {
        return Err(CliError::Failed(format!(
            "{bad} of {} secret(s) cannot be decrypted with {}",
            records.len(),
            vault.key().source()
        )));
    }
    Ok(())
}

/// `YYYY-MM-DD HH:MMZ` (UTC) from milliseconds since the epoch.
fn format_utc(ms: i64) -> String {
    let (date, rem) = crate::civil::utc_date_and_seconds(ms);
    format!("{date} {:02}:{:02}Z", rem / 3600, rem % 3600 / 60)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    #[test]
    fn parsed_arguments_never_print_a_stray_value() {
        for args in [
            vec!["ironclaw", "secrets", "set", "n", "sk-stray-1"],
            vec!["ironclaw", "secrets", "set", "n", "-sk-stray-1"],
            vec!["ironclaw", "secrets", "sk-stray-1"],
        ] {
            let cli = crate::cli::Cli::try_parse_from(&args).unwrap();
            let shown = format!("{cli:?}");
            assert!(!shown.contains("sk-stray"), "{shown}");
        }
        let err = crate::cli::Cli::try_parse_from([
            "ironclaw",
            "secrets",
            "set",
            "--value=sk-stray-1",
            "n",
        ])
        .unwrap_err()
        .to_string();
        assert!(!err.contains("sk-stray"), "{err}");
    }

    #[test]
    fn utc_dates() {
        assert_eq!(super::format_utc(0), "1970-01-01 00:00Z");
        assert_eq!(super::format_utc(951_782_400_000), "2000-02-29 00:00Z");
        assert_eq!(super::format_utc(1_763_739_000_000), "2025-11-21 15:30Z");
    }
}

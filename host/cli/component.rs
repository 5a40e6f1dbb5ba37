//! `ironclaw component sign|verify|new`: signatures over a component's
//! `.wasm` and manifest (see [`crate::trust`]); `new` lives in
//! `component_new.rs`.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use super::keys::key_error;
use super::{CliError, Context};
use crate::registry::Manifest;
use crate::registry::discovery::manifest_path_for;
use crate::trust::{self, SignError, SignatureFile, TrustStore, describe_requests, printable};

#[derive(Debug, Subcommand)]
pub enum ComponentCommand {
    /// Sign a component: writes <name>.sig beside <name>.wasm and its manifest.
    Sign(SignArgs),
    /// Check a component's signature: who signed it, whether that key is
    /// trusted, and what it asks for. Exit 0 only when verified and trusted.
    Verify(VerifyArgs),
    /// Create a new component crate (tool, channel, llm, safety or hook).
    New(super::component_new::NewArgs),
    /// Build a component crate and reload it into a running host on every
    /// source change (unsigned development build; Ctrl-C takes it away).
    Dev(super::component_dev::DevArgs),
    /// Verify, show what it asks for, ask the owner (or --yes), and install.
    Install(super::component_install::InstallArgs),
    /// Approve the version of a component that waits for approval.
    Approve(super::component_install::NameArgs),
    /// Installed components, their grants, and what a running host serves.
    List(super::component_install::ListArgs),
    /// One installed component: version, digest, requests, grants.
    Info(super::component_install::NameArgs),
    /// Uninstall (revokes its grants; --purge-data also deletes its data).
    Remove(super::component_install::RemoveArgs),
}

#[derive(Debug, Args)]
pub struct SignArgs {
    /// The component's .wasm; its manifest (<name>.toml or component.toml) is beside it.
    pub path: PathBuf,
    /// A key id or name from `ironclaw keys list`, or a path to a secret key file.
    #[arg(long, value_name = "KEY")]
    pub key: String,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The component's .wasm; its manifest and <name>.sig are beside it.
    pub path: PathBuf,
    #[arg(long)]
    pub json: bool,
}

pub async fn run(ctx: &Context, cmd: ComponentCommand) -> Result<(), CliError> {
    match cmd {
        ComponentCommand::Sign(args) => sign(ctx, args),
        ComponentCommand::Verify(args) => verify(ctx, args),
        ComponentCommand::New(args) => super::component_new::run(ctx, args).await,
        ComponentCommand::Dev(args) => super::component_dev::run(ctx, args).await,
        ComponentCommand::Install(args) => super::component_install::install_cmd(ctx, args).await,
        ComponentCommand::Approve(args) => super::component_install::approve_cmd(ctx, args).await,
        ComponentCommand::List(args) => super::component_install::list_cmd(ctx, args).await,
        ComponentCommand::Info(args) => super::component_install::info_cmd(ctx, args).await,
        ComponentCommand::Remove(args) => super::component_install::remove_cmd(ctx, args).await,
    }
}

fn sign(ctx: &Context, args: SignArgs) -> Result<(), CliError> {
    let key = trust::find_secret(&ctx.home, &args.key).map_err(key_error)?;
    let signed = trust::sign_file(&args.path, &key).map_err(|e| match e {
        SignError::Key(e) => key_error(e),
        SignError::Manifest(_) | SignError::NoManifest(_) => CliError::Usage(e.to_string()),
        _ => CliError::Failed(e.to_string()),
    })?;
    println!(
        "signed {} {} with key {} ({}): {}",
        signed.manifest.name,
        signed.manifest.version,
        key.public.id,
        key.public.name,
        signed.signature_path.display()
    );
    let trusted = TrustStore::load(&ctx.home).is_ok_and(|s| s.is_trusted(&key.public.key));
    if !trusted {
        eprintln!(
            "note: key {} is not trusted on this host (`ironclaw keys trust {}`)",
            key.public.id, key.public.id
        );
    }
    Ok(())
}

/// Who a signature names, whether or not it verified.
struct Signer {
    key_id: String,
    name: Option<String>,
    trusted: bool,
}

/// Everything `verify` found out, good or bad.
struct Report {
    wasm: PathBuf,
    manifest_path: Option<PathBuf>,
    manifest: Option<Manifest>,
    digest: Option<blake3::Hash>,
    /// Whether the `.wasm` digest and the manifest match what the signature
    /// file says was signed (authenticated only when the signature is valid).
    digest_matches: Option<bool>,
    manifest_matches: Option<bool>,
    signer: Option<Signer>,
    /// `None` when verified and trusted; else a code and a one-line reason.
    failure: Option<(&'static str, String)>,
}

impl Report {
    fn failed(mut self, code: &'static str, reason: String) -> Report {
        self.failure = Some((code, reason));
        self
    }
}

fn check(home: &crate::config::Home, wasm: &Path) -> Report {
    let report = Report {
        wasm: wasm.to_path_buf(),
        manifest_path: None,
        manifest: None,
        digest: None,
        digest_matches: None,
        manifest_matches: None,
        signer: None,
        failure: None,
    };
    let bytes = match std::fs::read(wasm) {
        Ok(bytes) => bytes,
        Err(e) => {
            return report.failed("unreadable", format!("cannot read {}: {e}", wasm.display()));
        }
    };
    let mut report = Report {
        digest: Some(blake3::hash(&bytes)),
        ..report
    };
    let Some(manifest_path) = manifest_path_for(wasm) else {
        let reason = format!(
            "no manifest beside {} (<name>.toml or component.toml)",
            wasm.display()
        );
        return report.failed("no-manifest", reason);
    };
    report.manifest_path = Some(manifest_path.clone());
    let manifest = match Manifest::load(&manifest_path) {
        Ok(m) => m,
        Err(e) => return report.failed("invalid-manifest", e.to_string()),
    };
    report.manifest = Some(manifest.clone());
    let store = match TrustStore::load(home) {
        Ok(store) => store,
        Err(e) => return report.failed("trust-store", e.to_string()),
    };
    for problem in store.problems() {
        eprintln!("warning: {problem}");
    }
    let sig = match SignatureFile::read_sidecar(wasm) {
        Ok((sig, _)) => sig,
        Err(e) => return report.failed(e.code(), e.to_string()),
    };
    report.digest_matches = report.digest.map(|d| d == sig.wasm_digest);
    report.manifest_matches =
        Some(trust::canonical::manifest_digest(&manifest) == sig.manifest_digest);
    // Named before verifying, so a refusal still says whose key it claims.
    report.signer = Some(Signer {
        key_id: sig.key_id.to_string(),
        name: store.name_of(&sig.public_key).map(str::to_string),
        trusted: store.is_trusted(&sig.public_key),
    });
    match trust::verify(&bytes, &manifest, &sig, &store).and_then(|v| v.require_trusted()) {
        Ok(_) => report,
        Err(e) => report.failed(e.code(), e.to_string()),
    }
}

fn verify(ctx: &Context, args: VerifyArgs) -> Result<(), CliError> {
    let report = check(&ctx.home, &args.path);
    if args.json {
        println!("{}", report_json(&report));
    } else {
        print_report(&report);
    }
    match report.failure {
        None => Ok(()),
        Some((_, reason)) => Err(CliError::Failed(reason)),
    }
}

fn report_json(r: &Report) -> serde_json::Value {
    let m = r.manifest.as_ref();
    serde_json::json!({
        "path": r.wasm.display().to_string(),
        "manifest_path": r.manifest_path.as_ref().map(|p| p.display().to_string()),
        "name": m.map(|m| m.name.clone()),
        "version": m.map(|m| m.version.to_string()),
        "kind": m.map(|m| m.kind.as_str()),
        "description": m.map(|m| m.description.clone()),
        "wasm_digest": r.digest.map(|d| d.to_hex().to_string()),
        "wasm_digest_matches": r.digest_matches,
        "manifest_matches": r.manifest_matches,
        "verified": r.failure.is_none(),
        "status": r.failure.as_ref().map_or("verified", |(code, _)| code),
        "reason": r.failure.as_ref().map(|(_, reason)| reason),
        "signer": r.signer.as_ref().map(|s| serde_json::json!({
            "key_id": s.key_id,
            "name": s.name,
            "trusted": s.trusted,
        })),
        "requests": m.map(describe_requests),
    })
}

fn print_report(r: &Report) {
    match &r.manifest {
        Some(m) => {
            let description = if m.description.is_empty() {
                String::new()
            } else {
                format!(": {}", printable(&m.description))
            };
            println!(
                "{} {} ({}){description}",
                m.name,
                m.version,
                m.kind.as_str()
            );
        }
        None => println!("{}", r.wasm.display()),
    }
    let matches = |m: Option<bool>| match m {
        Some(true) => ", matches the signature",
        Some(false) => ", DIFFERS from what was signed",
        None => "",
    };
    if let Some(d) = r.digest {
        println!(
            "  wasm:      {} (blake3 {}){}",
            r.wasm.display(),
            d.to_hex(),
            matches(r.digest_matches)
        );
    }
    if let Some(p) = &r.manifest_path {
        println!(
            "  manifest:  {}{}",
            p.display(),
            matches(r.manifest_matches)
        );
    }
    if let Some(s) = &r.signer {
        let name = s
            .name
            .as_deref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default();
        let trust = if s.trusted { "trusted" } else { "NOT trusted" };
        // A refused signature only claims a signer: say so.
        let verb = match &r.failure {
            None | Some(("untrusted-key", _)) => "signed by",
            Some(_) => "claims key",
        };
        println!("  {verb}: {}{name}, {trust} on this host", s.key_id);
    }
    match &r.failure {
        None => println!("  signature: valid"),
        Some((_, reason)) => println!("  refused:   {reason}"),
    }
    if let Some(m) = &r.manifest {
        println!("  requests:");
        for line in describe_requests(m) {
            println!("    - {line}");
        }
    }
}

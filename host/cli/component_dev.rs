//! `ironclaw component dev [PATH]`: the author's inner loop. Builds the crate
//! for wasm32-wasip2, places the build in `IRONCLAW_HOME/dev` (which a
//! running host watches, DESIGN §4 hot swap), says whether the host put it in
//! service, and does it again on every source change until Ctrl-C — then
//! takes the build away so the host goes back to the installed version.
//!
//! Development builds are unsigned: the host loads them with a warning and
//! grants what their manifest requests. Only the owner writes `dev/`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::Args;
use notify::Watcher;

use super::{CliError, Context};
use crate::registry::Manifest;
use crate::runtime::live::SlotStatus;

/// Quiet time after the last source change before a rebuild: one save is
/// a burst of file events.
const DEBOUNCE: Duration = Duration::from_millis(300);
/// How long to wait for a running host to report the new build.
const HOST_WAIT: Duration = Duration::from_secs(15);

#[derive(Debug, Args)]
pub struct DevArgs {
    /// The component crate: its Cargo.toml and component.toml.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Build and place once, then exit; the build stays in place.
    #[arg(long)]
    pub once: bool,
}

/// The build currently placed in `dev/`.
struct Placed {
    name: String,
    wasm: PathBuf,
    manifest: PathBuf,
}

impl Placed {
    fn take_away(&self) {
        let _ = std::fs::remove_file(&self.wasm);
        let _ = std::fs::remove_file(&self.manifest);
    }
}

pub async fn run(ctx: &Context, args: DevArgs) -> Result<(), CliError> {
    let krate = std::fs::canonicalize(&args.path)
        .map_err(|e| CliError::Usage(format!("{}: {e}", args.path.display())))?;
    for file in ["Cargo.toml", "component.toml"] {
        if !krate.join(file).is_file() {
            return Err(CliError::Usage(format!(
                "{} has no {file}: give the path of a component crate (`ironclaw component new` makes one)",
                krate.display()
            )));
        }
    }
    let dev_dir = ctx.home.dev_dir();
    crate::config::create_private_dir(&dev_dir)
        .map_err(|e| CliError::Failed(format!("cannot create {}: {e}", dev_dir.display())))?;

    let mut placed = cycle(ctx, &krate, None).await?;
    if args.once {
        return match placed {
            Some(_) => Ok(()),
            None => Err(CliError::Failed("the build failed".into())),
        };
    }

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let ignored = ignored_dirs(&krate);
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if event.kind.is_access() {
            return;
        }
        // Our own builds write under target/: never a reason to rebuild.
        if event
            .paths
            .iter()
            .any(|p| !ignored.iter().any(|d| p.starts_with(d)))
        {
            let _ = tx.send(());
        }
    })
    .map_err(|e| CliError::Failed(format!("cannot watch {}: {e}", krate.display())))?;
    watcher
        .watch(&krate, notify::RecursiveMode::Recursive)
        .map_err(|e| CliError::Failed(format!("cannot watch {}: {e}", krate.display())))?;
    eprintln!(
        "watching {} for changes; Ctrl-C stops and takes the dev build away",
        krate.display()
    );

    let stop = super::run::shutdown_signal();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            changed = rx.recv() => {
                if changed.is_none() {
                    break;
                }
                while let Ok(Some(())) = tokio::time::timeout(DEBOUNCE, rx.recv()).await {}
                match cycle(ctx, &krate, placed.as_ref()).await {
                    Ok(Some(p)) => placed = Some(p),
                    Ok(None) => {}
                    Err(e) => eprintln!("error: {e}"),
                }
            }
        }
    }
    if let Some(p) = placed {
        p.take_away();
        eprintln!(
            "stopped; {} dev build removed (an installed version serves again)",
            p.name
        );
    }
    Ok(())
}

/// Target directories whose changes never trigger a rebuild.
fn ignored_dirs(krate: &Path) -> Vec<PathBuf> {
    let mut dirs = vec![krate.join("target"), krate.join(".git")];
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        let t = PathBuf::from(t);
        let t = if t.is_absolute() { t } else { krate.join(t) };
        // A crate may live inside the target directory (generated crates
        // do); then only its own target/ is ignored.
        if !krate.starts_with(&t) {
            dirs.push(t);
        }
    }
    dirs
}

/// One build → place → report round. `Ok(None)`: the build failed and the
/// version already serving (if any) stays.
async fn cycle(
    ctx: &Context,
    krate: &Path,
    previous: Option<&Placed>,
) -> Result<Option<Placed>, CliError> {
    let manifest = Manifest::load(&krate.join("component.toml"))
        .map_err(|e| CliError::Usage(e.to_string()))?;
    eprintln!("==> building {} {}", manifest.name, manifest.version);
    let started = Instant::now();
    let krate_owned = krate.to_path_buf();
    let built = tokio::task::spawn_blocking(move || build(&krate_owned))
        .await
        .map_err(|e| CliError::Failed(format!("build task: {e}")))?;
    let wasm = match built {
        Ok(w) => w,
        Err(e) => {
            eprintln!("build failed: {e}; the version serving (if any) stays");
            return Ok(None);
        }
    };
    eprintln!("built in {:.1} s", started.elapsed().as_secs_f64());
    let bytes = std::fs::read(&wasm)
        .map_err(|e| CliError::Failed(format!("cannot read {}: {e}", wasm.display())))?;
    let placed_at = std::time::SystemTime::now();
    let placed = place(ctx, &manifest, krate, &bytes)?;
    if let Some(old) = previous
        && old.name != placed.name
    {
        old.take_away();
    }
    report(ctx, &placed.name, &blake3::hash(&bytes).to_hex(), placed_at).await;
    Ok(Some(placed))
}

/// `cargo build --release --target wasm32-wasip2`, with cargo's own progress
/// and diagnostics on stderr; returns the component it produced.
fn build(krate: &Path) -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(krate)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--message-format=json-render-diagnostics",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!("cargo exited with {}", out.status));
    }
    built_wasm(
        &String::from_utf8_lossy(&out.stdout),
        &krate.join("Cargo.toml"),
    )
    .ok_or_else(|| "cargo built no .wasm for this crate (is it a cdylib?)".to_string())
}

/// The crate's `.wasm` among cargo's JSON messages.
fn built_wasm(messages: &str, cargo_toml: &Path) -> Option<PathBuf> {
    messages
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact")
        .filter(|m| m["manifest_path"].as_str().map(Path::new) == Some(cargo_toml))
        .flat_map(|m| {
            m["filenames"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter_map(|f| f.as_str().map(PathBuf::from))
        })
        .rfind(|f| f.extension().is_some_and(|x| x == "wasm"))
}

/// Writes `<name>.toml` then `<name>.wasm` into `dev/`, each by rename, so
/// the watching host never reads a half-written file.
fn place(
    ctx: &Context,
    manifest: &Manifest,
    krate: &Path,
    wasm: &[u8],
) -> Result<Placed, CliError> {
    let dir = ctx.home.dev_dir();
    let name = &manifest.name;
    let placed = Placed {
        name: name.clone(),
        wasm: dir.join(format!("{name}.wasm")),
        manifest: dir.join(format!("{name}.toml")),
    };
    let toml = std::fs::read(krate.join("component.toml"))
        .map_err(|e| CliError::Failed(format!("cannot read component.toml: {e}")))?;
    write_by_rename(&placed.manifest, &toml)?;
    write_by_rename(&placed.wasm, wasm)?;
    Ok(placed)
}

fn write_by_rename(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let failed =
        |e: std::io::Error| CliError::Failed(format!("cannot write {}: {e}", path.display()));
    let file = path.file_name().and_then(|f| f.to_str()).unwrap_or("dev");
    let tmp = path.with_file_name(format!(".{file}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(failed)?;
    std::fs::rename(&tmp, path).map_err(failed)
}

/// Waits for a running host to report this digest: serving, or refused
/// (only a status written after `placed_at` counts, so an older refusal is
/// not mistaken for this build's).
async fn report(ctx: &Context, name: &str, digest: &str, placed_at: std::time::SystemTime) {
    let status_file = super::run::status_file(ctx);
    let deadline = Instant::now() + HOST_WAIT;
    loop {
        let fresh = std::fs::metadata(&status_file)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t >= placed_at);
        if let Some(slot) = read_status(&status_file)
            .into_iter()
            .find(|s| s.name == name)
        {
            if slot.digest == digest && slot.last_error.is_none() {
                eprintln!("serving {name} {} (digest {})", slot.version, &digest[..16]);
                return;
            }
            if fresh && let Some(reason) = slot.last_error {
                eprintln!("the running host refused this build and keeps the old one: {reason}");
                return;
            }
        }
        if Instant::now() >= deadline {
            eprintln!(
                "placed in {}; no running host reported it within {} s (start `ironclaw run` with this IRONCLAW_HOME: it loads dev builds at start and on change)",
                ctx.home.dev_dir().display(),
                HOST_WAIT.as_secs()
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn read_status(path: &Path) -> Vec<SlotStatus> {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crate_wasm_is_found_among_cargo_messages() {
        let toml = Path::new("/src/greeter/Cargo.toml");
        let messages = [
            r#"{"reason":"compiler-artifact","manifest_path":"/reg/serde/Cargo.toml","filenames":["/t/libserde.rlib"]}"#,
            "not json",
            r#"{"reason":"compiler-artifact","manifest_path":"/src/greeter/Cargo.toml","filenames":["/t/greeter.wasm","/t/libgreeter.rlib"]}"#,
            r#"{"reason":"build-finished","success":true}"#,
        ]
        .join("\n");
        assert_eq!(
            built_wasm(&messages, toml),
            Some(PathBuf::from("/t/greeter.wasm"))
        );
        assert_eq!(built_wasm(&messages, Path::new("/other/Cargo.toml")), None);
    }
}

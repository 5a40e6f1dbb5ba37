//! `ironclaw doctor`: is this machine ready?

use std::process::Command;

use clap::Args;
use serde::Serialize;

use super::{CliError, Context, load_all};

#[derive(Debug, Args)]
pub struct DoctorArgs {
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    Ok,
    Warn,
    Fail,
}

#[derive(Debug, Serialize)]
struct Check {
    name: &'static str,
    status: Status,
    detail: String,
}

fn check(name: &'static str, status: Status, detail: impl Into<String>) -> Check {
    Check {
        name,
        status,
        detail: detail.into(),
    }
}

pub async fn run(ctx: &Context, args: DoctorArgs) -> Result<(), CliError> {
    let mut checks = vec![toolchain_targets(), data_dir(ctx)];
    match ctx.runtime() {
        Ok(runtime) => {
            checks.push(check(
                "engine",
                Status::Ok,
                format!(
                    "wasmtime ready, {:?} instance allocator",
                    runtime.allocator()
                ),
            ));
            checks.push(cache(&runtime));
            let components = load_all(ctx, &runtime).await;
            let names: Vec<String> = components
                .iter()
                .map(|c| {
                    format!(
                        "{} {} ({} tools)",
                        c.name,
                        c.manifest.version,
                        c.tools.len()
                    )
                })
                .collect();
            checks.push(if components.is_empty() {
                check(
                    "components",
                    Status::Warn,
                    "none found; run scripts/build-components",
                )
            } else {
                check("components", Status::Ok, names.join(", "))
            });
        }
        Err(e) => checks.push(check("engine", Status::Fail, e.to_string())),
    }
    checks.push(docker(ctx).await);
    let failed = checks.iter().any(|c| c.status == Status::Fail);
    if args.json {
        println!("{}", serde_json::to_string(&checks).unwrap_or_default());
    } else {
        for c in &checks {
            let mark = match c.status {
                Status::Ok => "ok  ",
                Status::Warn => "warn",
                Status::Fail => "FAIL",
            };
            println!("{mark} {:<12} {}", c.name, c.detail);
        }
    }
    if failed {
        return Err(CliError::Failed("doctor found problems".into()));
    }
    Ok(())
}

/// Building components needs the wasm32-wasip2 target; running them does not.
fn toolchain_targets() -> Check {
    let out = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output();
    match out {
        Ok(o) if o.status.success() => {
            let installed = String::from_utf8_lossy(&o.stdout);
            if installed.lines().any(|l| l.trim() == "wasm32-wasip2") {
                check(
                    "toolchain",
                    Status::Ok,
                    "rustup target wasm32-wasip2 installed",
                )
            } else {
                check(
                    "toolchain",
                    Status::Warn,
                    "wasm32-wasip2 missing (needed to build components): rustup target add wasm32-wasip2",
                )
            }
        }
        _ => check(
            "toolchain",
            Status::Warn,
            "rustup not found; building components needs Rust with the wasm32-wasip2 target",
        ),
    }
}

fn data_dir(ctx: &Context) -> Check {
    let root = ctx.home.root();
    if let Err(e) = ctx.home.ensure() {
        return check("data-dir", Status::Fail, format!("{}: {e}", root.display()));
    }
    let probe = root.join(".doctor-probe");
    if let Err(e) = std::fs::write(&probe, b"ok") {
        return check(
            "data-dir",
            Status::Fail,
            format!("{} is not writable: {e}", root.display()),
        );
    }
    let _ = std::fs::remove_file(&probe);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(root)
            && meta.permissions().mode() & 0o077 != 0
        {
            return check(
                "data-dir",
                Status::Warn,
                format!(
                    "{} is readable by others (mode {:o})",
                    root.display(),
                    meta.permissions().mode() & 0o777
                ),
            );
        }
    }
    check("data-dir", Status::Ok, root.display().to_string())
}

fn cache(runtime: &crate::runtime::Runtime) -> Check {
    let Some(dir) = runtime.cache().dir() else {
        return check(
            "cache",
            Status::Warn,
            "precompiled cache disabled (runtime.cache = false)",
        );
    };
    let (count, bytes) = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
                .fold((0usize, 0u64), |(n, b), e| {
                    (n + 1, b + e.metadata().map(|m| m.len()).unwrap_or(0))
                })
        })
        .unwrap_or((0, 0));
    check(
        "cache",
        Status::Ok,
        format!(
            "{}: {count} precompiled artifacts, {} KiB, engine fingerprint {}",
            dir.display(),
            bytes / 1024,
            runtime.cache().fingerprint()
        ),
    )
}

/// Whether the Docker daemon answers (the container tools need it) and the
/// job image is built. Not answering is a warning: everything else works.
async fn docker(ctx: &Context) -> Check {
    use crate::sandbox::{docker, image};
    if !ctx.config.sandbox.enabled {
        return check(
            "docker",
            Status::Ok,
            "sandbox disabled ([sandbox] enabled = false)",
        );
    }
    let endpoint = docker::endpoint();
    let client = match docker::connect(std::time::Duration::from_secs(3)).await {
        Ok(c) => c,
        Err(e) => {
            return check(
                "docker",
                Status::Warn,
                format!("{e}; the container tools (shell, files) cannot run until it does"),
            );
        }
    };
    let daemon = match docker::describe(&client).await {
        Ok(d) => format!(
            "Docker {} (API {}) answers at {endpoint}",
            d.version, d.api_version
        ),
        Err(e) => return check("docker", Status::Warn, format!("{endpoint}: {e}")),
    };
    let tag = &ctx.config.sandbox.image;
    match image::status(&client, tag).await {
        Ok(i) if i.present => check("docker", Status::Ok, format!("{daemon}; image {tag} built")),
        Ok(_) => check(
            "docker",
            Status::Warn,
            format!("{daemon}; image {tag} not built: run `ironclaw sandbox build`"),
        ),
        Err(e) => check(
            "docker",
            Status::Warn,
            format!("{daemon}; image {tag}: {e}"),
        ),
    }
}

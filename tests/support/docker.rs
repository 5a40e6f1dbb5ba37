//! A real Docker daemon for the sandbox tests and the registry-free job
//! image built on it once (cached by a tag that names the build context's
//! digest, so a changed context builds a new image).
//!
//! The README's test command starts the daemon (scripts/services/docker);
//! without one answering, it is started here the same way. In CI
//! (`CI=true`) a daemon that cannot be reached fails the test; locally the
//! test is skipped with a loud message.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ironclaw::config::Home;
use ironclaw::sandbox::{Sandbox, SandboxConfig, Settings, image};
use ironclaw::store::Database;

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

fn start_with_script() -> Result<(), String> {
    let script = super::repo().join("scripts/services/docker");
    let out = std::process::Command::new(&script)
        .arg("start")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The daemon, or `None` after a loud message when none can be had
/// outside CI.
pub async fn daemon() -> Option<bollard::Docker> {
    let connect = || ironclaw::sandbox::docker::connect(Duration::from_secs(5));
    let first = match connect().await {
        Ok(d) => return Some(d),
        Err(e) => e,
    };
    let started = tokio::task::spawn_blocking(start_with_script)
        .await
        .expect("script thread");
    let why = match (started, connect().await) {
        (_, Ok(d)) => return Some(d),
        (Err(script), Err(e)) => format!("{first}; scripts/services/docker: {script}; then: {e}"),
        (Ok(()), Err(e)) => format!("{first}; started by the script, then: {e}"),
    };
    if in_ci() {
        panic!("CI needs a Docker daemon for the sandbox tests: {why}");
    }
    eprintln!(
        "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
         !!! SKIPPED: no Docker daemon for the sandbox tests: {why}\n\
         !!! run `scripts/services/docker start` (as root) or scripts/test\n\
         !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
    );
    None
}

/// The busybox image's tag for this build context.
pub fn image_tag() -> String {
    let busybox = image::find_busybox().expect(
        "a static busybox at /bin/busybox (scripts/services/docker installs busybox-static)",
    );
    let context = image::busybox_context(&busybox).expect("busybox build context");
    format!(
        "ironclaw-sandbox-test:{}",
        &blake3::hash(&context).to_hex()[..12]
    )
}

/// Builds the test image unless the daemon has it; its tag.
pub async fn image(docker: &bollard::Docker) -> String {
    static BUILT: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    BUILT
        .get_or_init(|| async {
            let tag = image_tag();
            let status = image::status(docker, &tag).await.expect("image status");
            if !status.present {
                image::build_busybox(docker, &tag, None)
                    .await
                    .unwrap_or_else(|e| panic!("building {tag}: {e}"));
            }
            tag
        })
        .await
        .clone()
}

/// A fresh workspace directory owned by the job user when the tests run
/// as root (as a project checkout belongs to its user).
pub fn workspace() -> PathBuf {
    let dir = tempfile::Builder::new()
        .prefix("ironclaw-ws-")
        .tempdir()
        .expect("workspace")
        .keep();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        if std::fs::metadata(&dir)
            .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
            .ok()
            == Some(0)
        {
            std::os::unix::fs::chown(&dir, Some(1000), Some(1000)).expect("chown workspace");
        }
    }
    dir
}

/// A connected sandbox over a fresh home, SQLite database and workspace.
pub struct Rig {
    pub sandbox: Arc<Sandbox>,
    pub db: Database,
    pub home: Home,
    pub workspace: PathBuf,
}

/// `[sandbox]` for a test: the test image and a fresh workspace, then
/// `tweak` applied.
pub async fn rig(tweak: impl FnOnce(&mut SandboxConfig)) -> Option<Rig> {
    let docker = daemon().await?;
    let image = image(&docker).await;
    let home = super::temp_home();
    home.ensure().expect("home");
    let workspace = workspace();
    let mut config = SandboxConfig {
        image,
        workspace: Some(workspace.clone()),
        ..SandboxConfig::default()
    };
    tweak(&mut config);
    let url = ironclaw::store::DatabaseUrl::Sqlite(home.root().join("ironclaw.db"));
    let db = Database::open_migrated(&url).await.expect("database");
    let settings = Settings::resolve(&config, &home).expect("settings");
    let sandbox = Sandbox::with_docker(docker, settings, db.jobs());
    Some(Rig {
        sandbox: Arc::new(sandbox),
        db,
        home,
        workspace,
    })
}

/// Containers carrying `label=value`, running or not.
pub async fn containers_labelled(
    docker: &bollard::Docker,
    label: &str,
    value: &str,
) -> Vec<String> {
    let filters =
        std::collections::HashMap::from([("label".to_string(), vec![format!("{label}={value}")])]);
    docker
        .list_containers(Some(bollard::query_parameters::ListContainersOptions {
            all: true,
            limit: None,
            size: false,
            filters: Some(filters),
        }))
        .await
        .expect("list containers")
        .into_iter()
        .filter_map(|c| c.id)
        .collect()
}

/// The `[sandbox]` section of a config.toml for the test image and `workspace`.
pub fn config_section(image: &str, workspace: &std::path::Path, extra: &str) -> String {
    format!(
        "[sandbox]\nimage = \"{image}\"\nworkspace = \"{}\"\n{extra}\n",
        workspace.display()
    )
}

//! The Docker Engine API client: the socket from `DOCKER_HOST` or the
//! platform default, with the API version agreed with the daemon (an older
//! daemon refuses requests that name a newer version than it speaks).

use std::time::Duration;

use bollard::Docker;
use serde::Serialize;

use super::SandboxError;

/// The daemon's socket when `DOCKER_HOST` is not set (bollard's default).
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// Where the client connects: `DOCKER_HOST`, else the default socket.
pub fn endpoint() -> String {
    std::env::var("DOCKER_HOST")
        .ok()
        .filter(|h| !h.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_HOST.to_string())
}

/// Connects and agrees on the API version; fails when the daemon does not
/// answer within `timeout`.
pub async fn connect(timeout: Duration) -> Result<Docker, SandboxError> {
    let host = endpoint();
    let docker = Docker::connect_with_host(&host).map_err(|e| SandboxError::Unreachable {
        endpoint: host.clone(),
        message: e.to_string(),
    })?;
    match tokio::time::timeout(timeout, docker.negotiate_version()).await {
        Ok(Ok(docker)) => Ok(docker),
        Ok(Err(e)) => Err(SandboxError::Unreachable {
            endpoint: host,
            message: e.to_string(),
        }),
        Err(_) => Err(SandboxError::Unreachable {
            endpoint: host,
            message: format!("no answer within {} ms", timeout.as_millis()),
        }),
    }
}

/// What `doctor` and `sandbox status` say about the daemon.
#[derive(Debug, Clone, Serialize)]
pub struct DaemonInfo {
    pub endpoint: String,
    pub version: String,
    pub api_version: String,
    pub os: String,
    pub arch: String,
}

pub async fn describe(docker: &Docker) -> Result<DaemonInfo, SandboxError> {
    let v = docker.version().await.map_err(SandboxError::docker)?;
    Ok(DaemonInfo {
        endpoint: endpoint(),
        version: v.version.unwrap_or_else(|| "?".into()),
        api_version: v.api_version.unwrap_or_else(|| "?".into()),
        os: v.os.unwrap_or_default(),
        arch: v.arch.unwrap_or_default(),
    })
}

/// Whether a daemon error means "no such object" (a container or image
/// that is already gone).
pub fn is_not_found(e: &bollard::errors::Error) -> bool {
    matches!(
        e,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

//! `[network]` in config.toml: the owner's policy for outbound traffic.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Set to `1` (or `true`) to allow loopback destinations, like
/// `[network] allow_loopback = true`.
pub const ALLOW_LOOPBACK_ENV: &str = "IRONCLAW_ALLOW_LOOPBACK";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct NetworkConfig {
    /// Allow 127.0.0.0/8 and ::1 (tests, a local model server). Private,
    /// link-local and metadata addresses stay refused regardless.
    #[serde(default, alias = "allow_loopback")]
    pub allow_loopback: bool,
    #[serde(default = "connect_ms", alias = "connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    /// From sending the request to the response's status line.
    #[serde(default = "first_byte_ms", alias = "first_byte_timeout_ms")]
    pub first_byte_timeout_ms: u64,
    /// The whole exchange, redirects included.
    #[serde(default = "total_ms", alias = "total_timeout_ms")]
    pub total_timeout_ms: u64,
    #[serde(default = "request_bytes", alias = "max_request_bytes")]
    pub max_request_bytes: u64,
    #[serde(default = "response_bytes", alias = "max_response_bytes")]
    pub max_response_bytes: u64,
    #[serde(default = "redirects", alias = "max_redirects")]
    pub max_redirects: u32,
    /// A PEM file of extra CA certificates to trust besides the public web
    /// roots (a company proxy, a test server).
    #[serde(default, alias = "extra_ca_file")]
    pub extra_ca_file: Option<PathBuf>,
}

fn connect_ms() -> u64 {
    10_000
}
fn first_byte_ms() -> u64 {
    30_000
}
fn total_ms() -> u64 {
    60_000
}
fn request_bytes() -> u64 {
    8 * 1024 * 1024
}
fn response_bytes() -> u64 {
    16 * 1024 * 1024
}
fn redirects() -> u32 {
    5
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            allow_loopback: false,
            connect_timeout_ms: connect_ms(),
            first_byte_timeout_ms: first_byte_ms(),
            total_timeout_ms: total_ms(),
            max_request_bytes: request_bytes(),
            max_response_bytes: response_bytes(),
            max_redirects: redirects(),
            extra_ca_file: None,
        }
    }
}

impl NetworkConfig {
    /// The config with `IRONCLAW_ALLOW_LOOPBACK` applied.
    pub fn with_env(mut self) -> NetworkConfig {
        if std::env::var(ALLOW_LOOPBACK_ENV)
            .is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
        {
            self.allow_loopback = true;
        }
        self
    }

    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }
    pub fn first_byte_timeout(&self) -> Duration {
        Duration::from_millis(self.first_byte_timeout_ms)
    }
    pub fn total_timeout(&self) -> Duration {
        Duration::from_millis(self.total_timeout_ms)
    }

    /// Zero timeouts or caps would make every request fail: refused early.
    pub fn validate(&self) -> Result<(), String> {
        for (field, v) in [
            ("connect-timeout-ms", self.connect_timeout_ms),
            ("first-byte-timeout-ms", self.first_byte_timeout_ms),
            ("total-timeout-ms", self.total_timeout_ms),
            ("max-request-bytes", self.max_request_bytes),
            ("max-response-bytes", self.max_response_bytes),
        ] {
            if v == 0 {
                return Err(format!("network.{field} must be greater than 0"));
            }
        }
        Ok(())
    }
}

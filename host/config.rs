//! The owner's configuration: `IRONCLAW_HOME/config.toml`.
//!
//! Every section is optional; a missing file means defaults. Unknown keys are
//! errors so a typo never silently loosens a limit.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::toml_file::{self, TomlFileError};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    File(#[from] TomlFileError),
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    #[error("cannot find a home directory: set IRONCLAW_HOME")]
    NoHome,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub runtime: RuntimeConfig,
    #[serde(default)]
    pub limits: LimitsConfig,
    #[serde(default)]
    pub logging: GuestLoggingConfig,
    /// Extra directories searched for `<name>.wasm` + `<name>.toml` bundles.
    #[serde(default)]
    pub components: ComponentsConfig,
    #[serde(default)]
    pub database: DatabaseConfig,
    /// Outbound network policy: loopback, timeouts, size caps, extra CA.
    #[serde(default)]
    pub network: crate::net::NetworkConfig,
    /// Which LLM adapters answer, with retries, failover, cache and budget.
    #[serde(default)]
    pub llm: crate::llm::config::LlmConfig,
    /// The turn loop: iteration cap, history, compaction.
    #[serde(default)]
    pub agent: crate::agent::AgentConfig,
    /// Which safety filters and hooks run, their order, which fail open.
    #[serde(default)]
    pub safety: crate::agent::safety::SafetyConfig,
    /// The webhook listener.
    #[serde(default)]
    pub gateway: crate::channels::config::GatewayConfig,
    /// One table per configured channel component (`[channels.telegram]`).
    #[serde(default)]
    pub channels: BTreeMap<String, toml::Table>,
    /// Docker jobs: image, workspace, policy, limits.
    #[serde(default)]
    pub sandbox: crate::sandbox::SandboxConfig,
    /// Skill selection: token budget, skills per turn.
    #[serde(default)]
    pub skills: crate::skills::SkillsConfig,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` or `postgres://…`; `DATABASE_URL` overrides it.
    /// Default: `sqlite://IRONCLAW_HOME/ironclaw.db`.
    pub url: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PoolingMode {
    /// Try the pooling allocator; fall back to on-demand if the OS refuses.
    #[default]
    Auto,
    On,
    Off,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RuntimeConfig {
    #[serde(default)]
    pub pooling: PoolingMode,
    /// Instances the pool holds at once (concurrent calls).
    #[serde(default = "default_pool_instances")]
    pub pool_instances: u32,
    /// Keep precompiled components on disk.
    #[serde(default = "default_true")]
    pub cache: bool,
    /// Epoch tick length; wall-clock deadlines are counted in ticks.
    #[serde(default = "default_epoch_ms")]
    pub epoch_tick_ms: u64,
    /// Bytes of a guest's stdout/stderr kept per call before it is stopped.
    #[serde(default = "default_stdio_bytes")]
    pub guest_stdio_bytes: usize,
    /// Native stack for guest code; deeper recursion traps as a stack overflow.
    #[serde(default = "default_stack_kib")]
    pub max_wasm_stack_kib: usize,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            pooling: PoolingMode::Auto,
            pool_instances: default_pool_instances(),
            cache: true,
            epoch_tick_ms: default_epoch_ms(),
            guest_stdio_bytes: default_stdio_bytes(),
            max_wasm_stack_kib: default_stack_kib(),
        }
    }
}

fn default_true() -> bool {
    true
}
fn default_pool_instances() -> u32 {
    64
}
fn default_epoch_ms() -> u64 {
    10
}
fn default_stdio_bytes() -> usize {
    64 * 1024
}
fn default_stack_kib() -> usize {
    512
}

/// One set of budgets. Absent values inherit from the level above.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct LimitValues {
    pub fuel: Option<u64>,
    pub memory_mib: Option<u64>,
    pub wall_ms: Option<u64>,
    pub output_kib: Option<u64>,
    pub table_elements: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct LimitsConfig {
    /// Used when a component's manifest does not ask for a value.
    #[serde(default)]
    pub default: LimitValues,
    /// No manifest can go above these.
    #[serde(default)]
    pub max: LimitValues,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct GuestLoggingConfig {
    /// Log lines one call may write; more are refused with `limited`.
    #[serde(default = "default_lines")]
    pub lines_per_call: u32,
    /// Sustained lines per second per component, across its calls
    /// (bursts up to `lines-per-call`).
    #[serde(default = "default_lines_per_second")]
    pub lines_per_second: u32,
    /// Longer lines are refused with `limited`.
    #[serde(default = "default_line_bytes")]
    pub max_line_bytes: usize,
}

impl Default for GuestLoggingConfig {
    fn default() -> Self {
        GuestLoggingConfig {
            lines_per_call: default_lines(),
            lines_per_second: default_lines_per_second(),
            max_line_bytes: default_line_bytes(),
        }
    }
}

fn default_lines() -> u32 {
    200
}
fn default_lines_per_second() -> u32 {
    50
}
fn default_line_bytes() -> usize {
    8 * 1024
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ComponentsConfig {
    #[serde(default)]
    pub paths: Vec<PathBuf>,
    /// Per-component settings readable through the `config` capability.
    #[serde(default)]
    pub settings: BTreeMap<String, BTreeMap<String, String>>,
}

impl Config {
    /// Loads `path` if it exists; defaults otherwise.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        match toml_file::read_optional(path)? {
            Some(text) => Config::parse(&text, &path.display().to_string()),
            None => Ok(Config::default()),
        }
    }

    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let config: Config = toml_file::parse(text, origin)?;
        let invalid = |message: String| ConfigError::Invalid {
            path: origin.to_string(),
            message,
        };
        if config.runtime.epoch_tick_ms == 0 || config.runtime.epoch_tick_ms > 1000 {
            return Err(invalid("runtime.epoch-tick-ms must be 1..=1000".into()));
        }
        if config.runtime.pool_instances == 0 {
            return Err(invalid("runtime.pool-instances must be at least 1".into()));
        }
        for (level, v) in [
            ("default", &config.limits.default),
            ("max", &config.limits.max),
        ] {
            for (field, value) in [
                ("fuel", v.fuel),
                ("memory-mib", v.memory_mib),
                ("wall-ms", v.wall_ms),
                ("output-kib", v.output_kib),
                ("table-elements", v.table_elements),
            ] {
                if value == Some(0) {
                    return Err(invalid(format!(
                        "limits.{level}.{field} must be greater than 0"
                    )));
                }
            }
        }
        config.network.validate().map_err(invalid)?;
        config.sandbox.validate().map_err(invalid)?;
        config.gateway.validate().map_err(invalid)?;
        let mut config = config;
        for (name, table) in &config.channels {
            let settings =
                crate::channels::config::ChannelSettings::parse(name, table).map_err(invalid)?;
            // The component reads its channel table through `config.get`,
            // over whatever `[components.settings.<name>]` says.
            config
                .components
                .settings
                .entry(name.clone())
                .or_default()
                .extend(settings.values);
        }
        Ok(config)
    }

    /// The configured channels, parsed (validated by `parse` already).
    pub fn channel_settings(&self) -> BTreeMap<String, crate::channels::config::ChannelSettings> {
        self.channels
            .iter()
            .filter_map(|(name, table)| {
                crate::channels::config::ChannelSettings::parse(name, table)
                    .ok()
                    .map(|s| (name.clone(), s))
            })
            .collect()
    }
}

/// Where IronClaw keeps its data: `IRONCLAW_HOME`, else `~/.ironclaw`.
#[derive(Debug, Clone)]
pub struct Home {
    root: PathBuf,
}

impl Home {
    pub fn from_env() -> Result<Home, ConfigError> {
        match std::env::var_os("IRONCLAW_HOME") {
            Some(dir) if !dir.is_empty() => Ok(Home { root: dir.into() }),
            _ => dirs::home_dir()
                .map(|h| Home {
                    root: h.join(".ironclaw"),
                })
                .ok_or(ConfigError::NoHome),
        }
    }

    pub fn at(root: impl Into<PathBuf>) -> Home {
        Home { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn config_file(&self) -> PathBuf {
        self.root.join("config.toml")
    }

    /// Precompiled components, keyed by digest and engine fingerprint.
    pub fn cache_dir(&self) -> PathBuf {
        self.root.join("cache")
    }

    /// Installed components.
    pub fn components_dir(&self) -> PathBuf {
        self.root.join("components")
    }

    /// Development builds placed by `ironclaw component dev`: unsigned,
    /// loaded with a warning, ahead of installed and bundled versions.
    pub fn dev_dir(&self) -> PathBuf {
        self.root.join("dev")
    }

    /// Creates the data directory (owner-only) if needed.
    pub fn ensure(&self) -> std::io::Result<()> {
        create_private_dir(&self.root)
    }
}

/// Creates `dir` and parents; the leaf is made owner-only (0700) because it
/// holds precompiled native code and, later, secrets.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_config_is_defaults() {
        let c = Config::parse("", "c").unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.runtime.guest_stdio_bytes, 64 * 1024);
    }

    #[test]
    fn typos_and_zero_limits_are_errors() {
        let err = Config::parse("[limits.max]\nfuell = 3\n", "c")
            .unwrap_err()
            .to_string();
        assert!(err.contains("fuell"), "{err}");
        let err = Config::parse("[limits.max]\nfuel = 0\n", "c")
            .unwrap_err()
            .to_string();
        assert!(err.contains("limits.max.fuel"), "{err}");
        let err = Config::parse("[runtime]\npooling = \"maybe\"\n", "c")
            .unwrap_err()
            .to_string();
        assert!(err.contains("maybe") || err.contains("pooling"), "{err}");
    }

    #[test]
    fn component_settings_parse() {
        let c = Config::parse("[components.settings.echo]\ngreeting = \"hi\"\n", "c").unwrap();
        assert_eq!(c.components.settings["echo"]["greeting"], "hi");
    }
}

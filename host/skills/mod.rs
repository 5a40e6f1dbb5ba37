//! Skills: `SKILL.md` files (a frontmatter and a markdown body) that the
//! host selects per turn from the user's message and injects into the
//! prompt (see the "Skills" section of the README).
//!
//! Two sources, told apart because they are not equally trusted:
//!
//! - **trusted**: `IRONCLAW_HOME/skills/<name>/SKILL.md`, written by the
//!   owner. They guide the model like the identity files do.
//! - **installed**: `IRONCLAW_HOME/skills-installed/<name>/`, fetched from
//!   a registry and signature-checked at install (`ironclaw skills
//!   install`). Someone else wrote them, so while one is active in a turn
//!   the model is offered only read-only tools ([`READ_ONLY_TOOLS`]) and
//!   the host refuses any other tool call of that turn: a skill that talks
//!   the model into `shell` or `http_fetch` finds nothing to call.

pub mod catalog;
pub mod install;
pub mod parse;
pub mod registry;
pub mod select;
pub mod sign;
pub mod tools;

use serde::{Deserialize, Serialize};

pub use catalog::{Catalog, Skill, SkillSource, Snapshot};
pub use select::{Selection, select};

/// Largest `SKILL.md`.
pub const MAX_SKILL_FILE_BYTES: usize = 64 * 1024;
/// Largest body (after the frontmatter).
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Most keywords, tags, patterns or required tools per skill.
pub const MAX_LIST_ITEMS: usize = 64;

/// The tools a turn offers while an installed skill is active: reading
/// the workspace, the clock, echo, JSON helpers and the skill list and
/// search (metadata only). Nothing that writes, reaches the network or
/// runs a command.
pub const READ_ONLY_TOOLS: &[&str] = &[
    "echo",
    "json_select",
    "json_transform",
    "memory_read",
    "memory_search",
    "memory_tree",
    "skill_list",
    "skill_search",
    "time_convert",
    "time_format",
    "time_now",
];

/// Whether `tool` may run in a turn with an installed skill active.
pub fn read_only(tool: &str) -> bool {
    READ_ONLY_TOOLS.contains(&tool)
}

/// `[skills]` in config.toml.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SkillsConfig {
    /// Skills on at all.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Tokens (bytes / 4) the injected skills may take per turn.
    #[serde(default = "default_budget")]
    pub token_budget: usize,
    /// Skills active in one turn at most.
    #[serde(default = "default_max_active")]
    pub max_active: usize,
}

fn default_true() -> bool {
    true
}
fn default_budget() -> usize {
    2000
}
fn default_max_active() -> usize {
    3
}

impl Default for SkillsConfig {
    fn default() -> Self {
        SkillsConfig {
            enabled: true,
            token_budget: default_budget(),
            max_active: default_max_active(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SkillError {
    #[error("{path}: `{field}`: {reason}")]
    Invalid {
        path: String,
        field: String,
        reason: String,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

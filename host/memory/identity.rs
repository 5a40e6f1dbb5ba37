//! Identity files seeded into a new workspace: who the assistant is, who it
//! serves and how it behaves, plus a daily log. Existing files are never
//! overwritten.

use super::workspace::{MemoryError, MemoryStore};

const FILES: &[(&str, &str)] = &[
    (
        "README.md",
        "# Workspace\n\nThis is the assistant's memory: markdown documents addressed by path. \
         The files below are read into every conversation; edit them to shape the assistant.\n\n\
         - IDENTITY.md — name and role\n- SOUL.md — values and tone\n- AGENTS.md — how to work\n\
         - USER.md — about the owner\n- MEMORY.md — long-term notes\n- HEARTBEAT.md — periodic checks\n\
         - daily/ — one log per day\n",
    ),
    (
        "IDENTITY.md",
        "# Identity\n\nName: IronClaw\nRole: a careful personal assistant.\n",
    ),
    (
        "SOUL.md",
        "# Soul\n\nBe honest about what you know and do not know. Protect the owner's secrets and \
         privacy. Prefer short, exact answers.\n",
    ),
    (
        "AGENTS.md",
        "# How to work\n\nUse tools when they help; ask before anything irreversible. Write what is \
         worth remembering to MEMORY.md or today's daily log.\n",
    ),
    ("USER.md", "# The owner\n\n(Nothing recorded yet.)\n"),
    (
        "MEMORY.md",
        "# Long-term memory\n\n(Nothing recorded yet.)\n",
    ),
    (
        "HEARTBEAT.md",
        "# Heartbeat\n\nChecks to run periodically. One per line, e.g. `- summarise unread mail`.\n",
    ),
];

/// Writes any missing identity file and today's daily log; returns the paths created.
pub async fn seed(memory: &dyn MemoryStore, today: &str) -> Result<Vec<String>, MemoryError> {
    let daily = format!("daily/{today}.md");
    let daily_text = format!("# {today}\n\n");
    let mut created = Vec::new();
    for (path, text) in FILES
        .iter()
        .copied()
        .chain([(daily.as_str(), daily_text.as_str())])
    {
        if memory.read(path).await?.is_none() {
            memory.write(path, text).await?;
            created.push(path.to_string());
        }
    }
    Ok(created)
}

/// Today's date (UTC) as `YYYY-MM-DD`.
pub fn today_utc() -> String {
    crate::civil::utc_date_and_seconds(crate::store::now_ms()).0
}

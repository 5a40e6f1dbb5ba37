//! `skill_list` and `skill_search`: host tools that let the model see which
//! skills exist (name, source, description, keywords, tags), read-only and
//! offered even while an installed skill attenuates the turn.
//!
//! They never return a skill's body: an installed skill's text reaches the
//! model only through selection, which is what attenuates the turn. A body
//! handed out by a tool would be installed text without the attenuation.

use std::sync::Arc;

use serde_json::{Value, json};

use super::catalog::{Catalog, Skill, Snapshot};
use super::select;
use crate::runtime::ToolInfo;

pub const LIST: &str = "skill_list";
pub const SEARCH: &str = "skill_search";

/// Results `skill_search` returns at most.
const MAX_RESULTS: usize = 20;

pub struct SkillTools {
    catalog: Arc<Catalog>,
}

impl SkillTools {
    pub fn new(catalog: Arc<Catalog>) -> SkillTools {
        SkillTools { catalog }
    }

    pub fn offers(&self, tool: &str) -> bool {
        tool == LIST || tool == SEARCH
    }

    pub fn infos(&self) -> Vec<ToolInfo> {
        vec![
            ToolInfo {
                name: LIST.into(),
                description: "List the skills available to you (name, trusted or installed, description, keywords, tags). Skills matching the user's message are added to your instructions automatically.".into(),
                parameters_schema: json!({ "type": "object", "properties": {}, "additionalProperties": false }),
                requires_approval: false,
            },
            ToolInfo {
                name: SEARCH.into(),
                description: "Find skills by words (matched against their keywords, tags, patterns, name and description), best first.".into(),
                parameters_schema: json!({
                    "type": "object",
                    "properties": { "query": { "type": "string", "description": "What the skill should be about" } },
                    "required": ["query"],
                    "additionalProperties": false
                }),
                requires_approval: false,
            },
        ]
    }

    /// Runs `tool`: `(output, is_error)`.
    pub async fn call(&self, tool: &str, arguments: &str) -> (String, bool) {
        let catalog = self.catalog.clone();
        // Reading the skill files is blocking work (at most every CATALOG_TTL).
        let snapshot = match tokio::task::spawn_blocking(move || catalog.snapshot()).await {
            Ok(s) => s,
            Err(e) => return (format!("the skills could not be read: {e}"), true),
        };
        match tool {
            LIST => (list(&snapshot).to_string(), false),
            SEARCH => match query(arguments) {
                Ok(q) => (search(&snapshot, &q).to_string(), false),
                Err(why) => (why, true),
            },
            other => (format!("no tool named `{other}` is available"), true),
        }
    }
}

fn query(arguments: &str) -> Result<String, String> {
    let args: Value = serde_json::from_str(if arguments.trim().is_empty() {
        "{}"
    } else {
        arguments
    })
    .map_err(|e| format!("the arguments are not JSON: {e}"))?;
    match args.get("query").and_then(Value::as_str) {
        Some(q) if !q.trim().is_empty() => Ok(q.to_string()),
        _ => Err("`query` (a non-empty string) is required".into()),
    }
}

fn summary(skill: &Skill) -> Value {
    json!({
        "name": skill.name(),
        "source": skill.source.as_str(),
        "description": skill.file.description,
        "keywords": skill.file.keywords,
        "tags": skill.file.tags,
    })
}

fn list(snapshot: &Snapshot) -> Value {
    Value::Array(snapshot.skills.iter().map(|s| summary(s)).collect())
}

/// Selection's score on the query, plus one per query word found in the
/// name or description, so a skill can be found by what it is about.
fn search(snapshot: &Snapshot, query: &str) -> Value {
    let words = select::words(query);
    let mut hits: Vec<(u32, &Arc<Skill>)> = snapshot
        .skills
        .iter()
        .map(|skill| {
            let about = select::words(&format!("{} {}", skill.name(), skill.file.description));
            let loose = words.iter().filter(|w| about.contains(w)).count() as u32;
            (select::score(skill, query, &words) + loose, skill)
        })
        .filter(|(score, _)| *score > 0)
        .collect();
    hits.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.name().cmp(b.1.name())));
    Value::Array(
        hits.into_iter()
            .take(MAX_RESULTS)
            .map(|(score, s)| {
                let mut v = summary(s);
                v["score"] = json!(score);
                v
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_is_required() {
        assert!(query("{}").is_err());
        assert!(query("").is_err());
        assert!(query(r#"{"query":"  "}"#).is_err());
        assert_eq!(query(r#"{"query":"notes"}"#).unwrap(), "notes");
    }
}

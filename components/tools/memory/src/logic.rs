//! The tools' logic, free of the host imports so it runs in native unit
//! tests: parameters in, a [`Workspace`] to work on, a JSON value out.
//!
//! The host is the authority on paths, sizes and the grant; this side checks
//! only what the schemas promise (types, `limit` range, `mode`) and turns the
//! host's answers into tool errors that say what went wrong.

use ironclaw_sdk::CapabilityError;
use ironclaw_sdk::memory::{Document, SearchHit};
use ironclaw_sdk::tool::ToolError;
use serde::Deserialize;
use serde_json::{Value, json};

/// Hits `memory_search` returns when `limit` is not given.
pub const DEFAULT_LIMIT: u32 = 5;
/// The most hits the host returns for one search.
pub const MAX_LIMIT: u32 = 50;

/// The four operations the tools need; the component implements it with
/// the host's `memory` import.
pub trait Workspace {
    fn read(&self, path: &str) -> Result<Option<Document>, CapabilityError>;
    fn write(&self, path: &str, content: &str) -> Result<(), CapabilityError>;
    fn tree(&self, prefix: &str) -> Result<Vec<String>, CapabilityError>;
    fn search(&self, query: &str, limit: u32) -> Result<Vec<SearchHit>, CapabilityError>;
}

/// A tool this component offers: name, description, JSON Schema of its parameters.
pub struct ToolSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub schema: Value,
}

const PATH_DESCRIPTION: &str = "Document path in the workspace, relative and '/'-separated, \
     e.g. \"notes/garden.md\", \"daily/2026-03-10.md\" or \"MEMORY.md\"";

/// The four tools, in the order `describe` lists them.
pub fn tools() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: "memory_search",
            description: "Searches the owner's workspace memory (notes, daily logs, MEMORY.md, \
                 identity files) by words and word forms, and returns the best-matching passages \
                 with their document paths, best first. Use it before answering questions about \
                 earlier conversations, the owner's preferences, plans or facts written down before.",
            schema: json!({
                "type": "object",
                "properties": {
                    "query": {
                        "type": "string",
                        "minLength": 1,
                        "description": "What to look for, in plain words (at most 4096 bytes)"
                    },
                    "limit": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": MAX_LIMIT,
                        "default": DEFAULT_LIMIT,
                        "description": "How many passages to return at most"
                    }
                },
                "required": ["query"],
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "memory_read",
            description: "Reads one whole document of the workspace memory by its path (as \
                 returned by memory_search or memory_tree). Answers found=false when there is no \
                 such document.",
            schema: json!({
                "type": "object",
                "properties": {
                    "path": { "type": "string", "minLength": 1, "description": PATH_DESCRIPTION }
                },
                "required": ["path"],
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "memory_write",
            description: "Writes a markdown document to the workspace memory, creating it if \
                 needed. mode \"replace\" (the default) sets the whole content; \"append\" adds the \
                 content at the end, on a new line. Use it to remember facts, decisions and notes \
                 for later. The owner's grant limits where this tool may write (by default under \
                 notes/ and daily/, and MEMORY.md); other paths are refused. At most 1 MiB per document.",
            schema: json!({
                "type": "object",
                "properties": {
                    "path": { "type": "string", "minLength": 1, "description": PATH_DESCRIPTION },
                    "content": { "type": "string", "description": "Markdown text to write" },
                    "mode": {
                        "type": "string",
                        "enum": ["replace", "append"],
                        "default": "replace",
                        "description": "\"replace\" the document's content, or \"append\" to it"
                    }
                },
                "required": ["path", "content"],
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "memory_tree",
            description: "Lists the paths of the workspace memory's documents that start with a \
                 prefix (e.g. \"notes/\" or \"daily/2026-\"), sorted. Without a prefix, lists \
                 every document this tool may read.",
            schema: json!({
                "type": "object",
                "properties": {
                    "prefix": {
                        "type": "string",
                        "default": "",
                        "description": "Path prefix; \"\" (the default) is the whole workspace"
                    }
                },
                "additionalProperties": false
            }),
        },
    ]
}

/// Runs tool `name` with JSON `params` against `workspace`.
pub fn execute(name: &str, params: &str, workspace: &dyn Workspace) -> Result<Value, ToolError> {
    match name {
        "memory_search" => search(parse(params)?, workspace),
        "memory_read" => read(parse(params)?, workspace),
        "memory_write" => write(parse(params)?, workspace),
        "memory_tree" => tree(parse(params)?, workspace),
        other => Err(ToolError::UnknownTool(other.to_string())),
    }
}

fn parse<T: serde::de::DeserializeOwned>(params: &str) -> Result<T, ToolError> {
    serde_json::from_str(params).map_err(|e| ToolError::InvalidParams(format!("parameters: {e}")))
}

/// The host's answer as a tool error: a malformed request (bad path, empty
/// query) is the caller's parameters; a refusal keeps the host's reason.
pub fn tool_error(e: CapabilityError) -> ToolError {
    match e {
        CapabilityError::Invalid(m) => ToolError::InvalidParams(m),
        CapabilityError::Denied(d) => ToolError::Denied(d),
        other => ToolError::Failed(other.describe()),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    pub query: String,
    #[serde(default)]
    pub limit: Option<u32>,
}

fn search(p: SearchParams, workspace: &dyn Workspace) -> Result<Value, ToolError> {
    let limit = p.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ToolError::InvalidParams(format!(
            "limit must be between 1 and {MAX_LIMIT}, got {limit}"
        )));
    }
    let hits = workspace.search(&p.query, limit).map_err(tool_error)?;
    let results: Vec<Value> = hits
        .into_iter()
        .map(|h| json!({ "path": h.path, "snippet": h.snippet, "score": h.score }))
        .collect();
    Ok(json!({ "query": p.query, "results": results }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadParams {
    pub path: String,
}

fn read(p: ReadParams, workspace: &dyn Workspace) -> Result<Value, ToolError> {
    Ok(match workspace.read(&p.path).map_err(tool_error)? {
        Some(doc) => json!({
            "path": doc.path,
            "found": true,
            "content": doc.content,
            "updated_at_ms": doc.updated_at,
        }),
        None => json!({ "path": p.path, "found": false }),
    })
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Replace,
    Append,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Mode::Replace => "replace",
            Mode::Append => "append",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WriteParams {
    pub path: String,
    pub content: String,
    #[serde(default)]
    pub mode: Mode,
}

/// `existing` followed by `addition`, on a new line when `existing` does not
/// end with one.
pub fn appended(existing: &str, addition: &str) -> String {
    let mut out = String::with_capacity(existing.len() + addition.len() + 1);
    out.push_str(existing);
    if !existing.is_empty() && !existing.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(addition);
    out
}

fn write(p: WriteParams, workspace: &dyn Workspace) -> Result<Value, ToolError> {
    // Append is read-modify-write: two calls at once could lose one
    // addition. Tool calls of one turn run one after another.
    let content = match p.mode {
        Mode::Replace => p.content,
        Mode::Append => match workspace.read(&p.path).map_err(tool_error)? {
            Some(doc) => appended(&doc.content, &p.content),
            None => p.content,
        },
    };
    workspace
        .write(&p.path, &content)
        .map_err(|e| match (p.mode, e) {
            (Mode::Append, CapabilityError::Limited(m)) => ToolError::Failed(format!(
                "appending would make `{}` {} bytes: limit reached: {m}",
                p.path,
                content.len()
            )),
            (_, e) => tool_error(e),
        })?;
    Ok(json!({ "path": p.path, "mode": p.mode.as_str(), "bytes": content.len() }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TreeParams {
    #[serde(default)]
    pub prefix: String,
}

fn tree(p: TreeParams, workspace: &dyn Workspace) -> Result<Value, ToolError> {
    let paths = workspace.tree(&p.prefix).map_err(tool_error)?;
    Ok(json!({ "prefix": p.prefix, "paths": paths }))
}

#[cfg(test)]
mod tests;

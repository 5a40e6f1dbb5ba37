//! The container tools the agent and `ironclaw tool call` offer beside the
//! component tools: `shell`, `read_file`, `write_file`, `list_dir` and
//! `apply_patch`. Each call is one job in a fresh container; every path is
//! confined to the workspace on the host first.

use std::sync::Arc;

use serde_json::{Value, json};

use super::paths::{self, WorkspacePath};
use super::policy::{JobSpec, Policy};
use super::{JobOutcome, Sandbox, SandboxError, Settings, patch};
use crate::runtime::ToolInfo;
use crate::store::domains::{JobState, JobStore};

pub const NAMES: [&str; 5] = [
    "shell",
    "read_file",
    "write_file",
    "list_dir",
    "apply_patch",
];

/// What a call produced; an error goes back to the model as well.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallResult {
    pub output: String,
    pub is_error: bool,
}

impl CallResult {
    fn ok(v: Value) -> CallResult {
        CallResult {
            output: v.to_string(),
            is_error: false,
        }
    }

    fn error(message: impl Into<String>) -> CallResult {
        CallResult {
            output: message.into(),
            is_error: true,
        }
    }
}

/// The tools, connected to the daemon on their first call (a host whose
/// daemon starts later still gets them).
pub struct ContainerTools {
    settings: Settings,
    jobs: Arc<dyn JobStore>,
    sandbox: tokio::sync::OnceCell<Arc<Sandbox>>,
}

impl ContainerTools {
    pub fn new(settings: Settings, jobs: Arc<dyn JobStore>) -> ContainerTools {
        ContainerTools {
            settings,
            jobs,
            sandbox: tokio::sync::OnceCell::new(),
        }
    }

    /// Tools over an already connected sandbox.
    pub fn over(sandbox: Arc<Sandbox>) -> ContainerTools {
        ContainerTools {
            settings: sandbox.settings().clone(),
            jobs: sandbox.jobs().clone(),
            sandbox: tokio::sync::OnceCell::new_with(Some(sandbox)),
        }
    }

    pub fn offers(&self, name: &str) -> bool {
        NAMES.contains(&name)
    }

    pub fn requires_approval(&self, name: &str) -> bool {
        self.offers(name) && self.settings.require_approval
    }

    pub fn infos(&self) -> Vec<ToolInfo> {
        infos(self.settings.require_approval)
    }

    /// Connects and reaps what a stopped host left behind, if the daemon
    /// answers; quiet otherwise (a call will say why it cannot run).
    pub async fn warm_up(&self) {
        match self.sandbox().await {
            Ok(sandbox) => sandbox.reap_once().await,
            Err(e) => tracing::debug!(error = %e, "sandbox: daemon not reachable at start"),
        }
    }

    async fn sandbox(&self) -> Result<&Arc<Sandbox>, SandboxError> {
        self.sandbox
            .get_or_try_init(|| async {
                Sandbox::connect(self.settings.clone(), self.jobs.clone())
                    .await
                    .map(Arc::new)
            })
            .await
    }

    /// Runs tool `name` with JSON `arguments`.
    pub async fn call(&self, name: &str, arguments: &str) -> CallResult {
        let args: Value = match serde_json::from_str(if arguments.trim().is_empty() {
            "{}"
        } else {
            arguments
        }) {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) => return CallResult::error(format!("`{name}` takes a JSON object")),
            Err(e) => return CallResult::error(format!("arguments are not JSON: {e}")),
        };
        let result = match name {
            "shell" => self.shell(&args).await,
            "read_file" => self.read_file(&args).await,
            "write_file" => self.write_file(&args).await,
            "list_dir" => self.list_dir(&args).await,
            "apply_patch" => self.apply_patch(&args).await,
            other => Err(SandboxError::InvalidInput(format!(
                "no container tool named `{other}`"
            ))),
        };
        result.unwrap_or_else(|e| CallResult::error(e.to_string()))
    }

    fn confine(&self, requested: &str) -> Result<WorkspacePath, SandboxError> {
        paths::confine(&self.settings.workspace, requested)
    }

    async fn shell(&self, args: &Value) -> Result<CallResult, SandboxError> {
        let command = string(args, "command")?;
        let policy = match args.get("policy").and_then(Value::as_str) {
            None => self.settings.policy,
            Some(p) => Policy::parse(p).ok_or_else(|| {
                SandboxError::InvalidInput(format!(
                    "policy must be read-only, workspace-write or full-access, not `{p}`"
                ))
            })?,
        };
        let mut spec = JobSpec::shell(command, policy);
        if let Some(t) = args.get("timeout_secs") {
            let secs = t.as_u64().filter(|s| *s > 0).ok_or_else(|| {
                SandboxError::InvalidInput("timeout_secs must be a positive integer".into())
            })?;
            let mut limits = self.settings.limits;
            limits.timeout_secs = secs;
            spec = spec.with_limits(limits);
        }
        let outcome = self.sandbox().await?.run(spec).await?;
        Ok(shell_result(&outcome))
    }

    async fn read_file(&self, args: &Value) -> Result<CallResult, SandboxError> {
        let path = self.confine(string(args, "path")?)?;
        if path.host.is_dir() {
            return Ok(CallResult::error(format!(
                "{} is a directory: use list_dir",
                path.display()
            )));
        }
        if !path.host.exists() {
            return Ok(CallResult::error(format!("no file at {}", path.display())));
        }
        let mut spec = job(
            "read_file",
            vec!["cat".into(), path.in_container()],
            Policy::ReadOnly,
        );
        spec.summary = path.display();
        let outcome = self.sandbox().await?.run(spec).await?;
        if outcome.state != JobState::Completed {
            return Ok(failure("read_file", &outcome));
        }
        Ok(CallResult::ok(json!({
            "path": path.display(),
            "content": outcome.stdout,
            "truncated": outcome.truncated,
        })))
    }

    async fn write_file(&self, args: &Value) -> Result<CallResult, SandboxError> {
        let path = self.confine(string(args, "path")?)?;
        let content = string(args, "content")?;
        if path.relative.as_os_str().is_empty() || path.host.is_dir() {
            return Ok(CallResult::error(format!(
                "{} is a directory, not a file",
                path.display()
            )));
        }
        let script = r#"mkdir -p "$(dirname "$1")" && cat > "$1""#;
        let mut spec = job(
            "write_file",
            vec![
                "/bin/sh".into(),
                "-c".into(),
                script.into(),
                "sh".into(),
                path.in_container(),
            ],
            Policy::WorkspaceWrite,
        );
        spec.stdin = Some(content.as_bytes().to_vec());
        spec.summary = path.display();
        let outcome = self.sandbox().await?.run(spec).await?;
        if outcome.state != JobState::Completed {
            return Ok(failure("write_file", &outcome));
        }
        Ok(CallResult::ok(json!({
            "path": path.display(),
            "bytes_written": content.len(),
        })))
    }

    async fn list_dir(&self, args: &Value) -> Result<CallResult, SandboxError> {
        let requested = args.get("path").and_then(Value::as_str).unwrap_or(".");
        let path = self.confine(requested)?;
        if !path.host.is_dir() {
            return Ok(CallResult::error(format!(
                "{} is not a directory",
                path.display()
            )));
        }
        let dir = path.in_container();
        let command = [
            "find",
            &dir,
            "-mindepth",
            "1",
            "-maxdepth",
            "1",
            "-exec",
            "stat",
            "-c",
            "%F|%s|%n",
            "{}",
            "+",
        ];
        let mut spec = job(
            "list_dir",
            command.iter().map(|s| s.to_string()).collect(),
            Policy::ReadOnly,
        );
        spec.summary = path.display();
        let outcome = self.sandbox().await?.run(spec).await?;
        if outcome.state != JobState::Completed {
            return Ok(failure("list_dir", &outcome));
        }
        let prefix = format!("{dir}/");
        let mut entries: Vec<Value> = outcome
            .stdout
            .lines()
            .filter_map(|line| {
                let mut parts = line.splitn(3, '|');
                let (kind, size, name) = (parts.next()?, parts.next()?, parts.next()?);
                let kind = if kind.contains("directory") {
                    "dir"
                } else if kind.contains("symbolic link") {
                    "symlink"
                } else if kind.contains("regular") {
                    "file"
                } else {
                    "other"
                };
                Some(json!({
                    "name": name.strip_prefix(&prefix).unwrap_or(name),
                    "kind": kind,
                    "size": size.parse::<u64>().unwrap_or(0),
                }))
            })
            .collect();
        entries.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
        Ok(CallResult::ok(json!({
            "path": path.display(),
            "entries": entries,
            "truncated": outcome.truncated,
        })))
    }

    async fn apply_patch(&self, args: &Value) -> Result<CallResult, SandboxError> {
        let diff = string(args, "patch")?;
        let plan = patch::plan(diff)?;
        let mut files = Vec::new();
        for f in &plan.files {
            files.push(self.confine(f)?.display());
        }
        let mut spec = job(
            "apply_patch",
            vec![
                "/bin/sh".into(),
                "-c".into(),
                patch::APPLY_SCRIPT.into(),
                "sh".into(),
                format!("-p{}", plan.strip),
            ],
            Policy::WorkspaceWrite,
        );
        spec.stdin = Some(diff.as_bytes().to_vec());
        spec.summary = files.join(", ");
        let outcome = self.sandbox().await?.run(spec).await?;
        if outcome.state != JobState::Completed {
            return Ok(failure("apply_patch", &outcome));
        }
        Ok(CallResult::ok(json!({
            "files": files,
            "output": outcome.stdout,
        })))
    }
}

/// The five tools' names, descriptions and parameter schemas.
pub fn infos(approval: bool) -> Vec<ToolInfo> {
    let info = |name: &str, description: &str, schema: Value| ToolInfo {
        name: name.into(),
        description: description.into(),
        parameters_schema: schema,
        requires_approval: approval,
    };
    let path = json!({"type": "string", "description": "Relative to the workspace (or absolute under /workspace)."});
    vec![
        info(
            "shell",
            "Run a shell command (busybox or Debian sh) in a fresh container with the project workspace at /workspace; no network unless the owner allows it. Returns stdout, stderr and the exit code.",
            json!({"type": "object", "properties": {
                "command": {"type": "string", "description": "Passed to /bin/sh -c."},
                "timeout_secs": {"type": "integer", "minimum": 1, "description": "At most the configured timeout."},
                "policy": {"type": "string", "enum": ["read-only", "workspace-write", "full-access"], "description": "Defaults to the owner's policy; never above it."}
            }, "required": ["command"], "additionalProperties": false}),
        ),
        info(
            "read_file",
            "Read a text file of the workspace.",
            json!({"type": "object", "properties": {"path": path}, "required": ["path"], "additionalProperties": false}),
        ),
        info(
            "write_file",
            "Create or replace a file of the workspace (parent directories are created).",
            json!({"type": "object", "properties": {"path": path, "content": {"type": "string"}}, "required": ["path", "content"], "additionalProperties": false}),
        ),
        info(
            "list_dir",
            "List a directory of the workspace: name, kind and size of each entry.",
            json!({"type": "object", "properties": {"path": path}, "additionalProperties": false}),
        ),
        info(
            "apply_patch",
            "Apply a unified diff (git-style a/ b/ paths or plain paths) to the workspace; nothing changes unless every hunk applies.",
            json!({"type": "object", "properties": {"patch": {"type": "string"}}, "required": ["patch"], "additionalProperties": false}),
        ),
    ]
}

fn job(kind: &str, command: Vec<String>, policy: Policy) -> JobSpec {
    JobSpec {
        kind: kind.into(),
        command,
        stdin: None,
        policy,
        limits: None,
        summary: String::new(),
    }
}

fn string<'a>(args: &'a Value, key: &str) -> Result<&'a str, SandboxError> {
    args.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| SandboxError::InvalidInput(format!("`{key}` (a string) is required")))
}

/// A shell job's result: an error for the model unless it completed.
pub fn shell_result(o: &JobOutcome) -> CallResult {
    let v = json!({
        "job": o.job_id,
        "state": o.state,
        "exit_code": o.exit_code,
        "stdout": o.stdout,
        "stderr": o.stderr,
        "truncated": o.truncated,
        "reason": o.reason,
    });
    CallResult {
        output: v.to_string(),
        is_error: o.state != JobState::Completed,
    }
}

fn failure(tool: &str, o: &JobOutcome) -> CallResult {
    let why = o
        .reason
        .clone()
        .unwrap_or_else(|| format!("exit code {}", o.exit_code.unwrap_or(-1)));
    let stderr = o.stderr.trim();
    CallResult::error(if stderr.is_empty() {
        format!("{tool} failed ({why}; job {})", o.job_id)
    } else {
        format!("{tool} failed ({why}; job {}): {stderr}", o.job_id)
    })
}

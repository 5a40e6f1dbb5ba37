//! The tools a turn may offer: every tool of every tool component serving
//! now, called through the runtime under each component's budgets.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::llm::ToolDefinition;
use crate::runtime::live::LiveSet;
use crate::runtime::tool::CallContext;
use crate::runtime::{Runtime, ToolInfo};
use crate::sandbox::tools::ContainerTools;
use crate::skills::tools::SkillTools;

pub struct ToolHost {
    runtime: Arc<Runtime>,
    live: Arc<LiveSet>,
    /// The sandbox's container tools (`shell`, `read_file`, …), offered
    /// beside the components' and ahead of any component tool of the same
    /// name.
    containers: Option<Arc<ContainerTools>>,
    /// `skill_list` and `skill_search`, when skills are on.
    skills: Option<Arc<SkillTools>>,
}

/// What one tool call produced, success or not: both go back to the model.
#[derive(Debug, Clone)]
pub struct ToolResult {
    pub output: String,
    pub is_error: bool,
    pub duration: Duration,
}

impl ToolHost {
    pub fn new(runtime: Arc<Runtime>, live: Arc<LiveSet>) -> ToolHost {
        ToolHost {
            runtime,
            live,
            containers: None,
            skills: None,
        }
    }

    pub fn with_skills(mut self, skills: Arc<SkillTools>) -> ToolHost {
        self.skills = Some(skills);
        self
    }

    pub fn with_containers(mut self, containers: Arc<ContainerTools>) -> ToolHost {
        self.containers = Some(containers);
        self
    }

    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    pub fn live(&self) -> &Arc<LiveSet> {
        &self.live
    }

    /// Every tool serving now, sorted by name.
    pub fn tools(&self) -> Vec<ToolInfo> {
        let mut tools: Vec<ToolInfo> = self
            .containers
            .as_ref()
            .map(|c| c.infos())
            .unwrap_or_default();
        if let Some(skills) = &self.skills {
            tools.extend(skills.infos());
        }
        tools.extend(self.live.all().iter().flat_map(|c| c.tools.clone()));
        // Stable: a container tool stays ahead of a component's namesake.
        tools.sort_by(|a, b| a.name.cmp(&b.name));
        tools.dedup_by(|a, b| a.name == b.name);
        tools
    }

    pub fn definitions(tools: &[ToolInfo]) -> Vec<ToolDefinition> {
        tools
            .iter()
            .map(|t| ToolDefinition {
                name: t.name.clone(),
                description: t.description.clone(),
                parameters_schema: t.parameters_schema.to_string(),
            })
            .collect()
    }

    pub fn requires_approval(&self, tool: &str) -> bool {
        if let Some(c) = self.containers.as_ref().filter(|c| c.offers(tool)) {
            return c.requires_approval(tool);
        }
        if self.skills.as_ref().is_some_and(|s| s.offers(tool)) {
            return false;
        }
        self.live
            .find_tool(tool)
            .and_then(|c| c.tools.iter().find(|t| t.name == tool).cloned())
            .is_some_and(|t| t.requires_approval)
    }

    /// Runs `tool`; a refusal, a trap or an unknown tool comes back as an
    /// error result for the model to read, never as a failed turn.
    pub async fn call(&self, tool: &str, arguments: &str, context: &CallContext) -> ToolResult {
        let started = Instant::now();
        if let Some(c) = self.containers.as_ref().filter(|c| c.offers(tool)) {
            let result = c.call(tool, arguments).await;
            return ToolResult {
                output: result.output,
                is_error: result.is_error,
                duration: started.elapsed(),
            };
        }
        if let Some(skills) = self.skills.as_ref().filter(|s| s.offers(tool)) {
            let (output, is_error) = skills.call(tool, arguments).await;
            return ToolResult {
                output,
                is_error,
                duration: started.elapsed(),
            };
        }
        let Some(component) = self.live.find_tool(tool) else {
            return ToolResult {
                output: format!("no tool named `{tool}` is available"),
                is_error: true,
                duration: started.elapsed(),
            };
        };
        // Models sometimes send "" for a tool without parameters.
        let arguments = if arguments.trim().is_empty() {
            "{}"
        } else {
            arguments
        };
        match self
            .runtime
            .call_tool(&component, tool, arguments, context)
            .await
        {
            Ok(out) => ToolResult {
                output: out.output,
                is_error: false,
                duration: started.elapsed(),
            },
            Err(e) => ToolResult {
                output: format!("{}: {}", e.kind, e.message),
                is_error: true,
                duration: started.elapsed(),
            },
        }
    }
}

//! The agent (DESIGN §6): one conversation per (channel, user, external
//! thread), a persisted turn state, the tool loop with approvals, commands,
//! compaction, and the host's floor on what goes in and out.

mod commands;
mod compaction;
pub mod context;
pub mod floor;
pub mod pipeline;
pub mod safety;
pub mod tools;
mod turn;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::UnboundedSender;

use crate::capabilities::live_secrets::LiveSecrets;
use crate::llm::Provider;
use crate::memory::MemoryStore;
use crate::store::StoreError;
use crate::store::domains::{AgentStore, Conversation, ConversationStore};

pub use tools::ToolHost;

/// `[agent]` in config.toml.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AgentConfig {
    /// Model calls per turn before the agent stops and says so.
    #[serde(default = "default_iterations")]
    pub max_iterations: u32,
    /// Messages replayed to the model at most (older ones are summarised
    /// by compaction first).
    #[serde(default = "default_history")]
    pub history_messages: usize,
    /// Compact when the conversation reaches this share of the model's
    /// context window.
    #[serde(default = "default_compact_at")]
    pub compact_at: f64,
    /// Turns kept verbatim when compacting.
    #[serde(default = "default_keep_turns")]
    pub keep_turns: i64,
    /// Tools that ask the owner before every run (besides those whose
    /// component says they need approval), e.g. `["memory_write"]`.
    #[serde(default)]
    pub require_approval: Vec<String>,
    /// `[safety]` (a section of its own in config.toml), copied in by
    /// whoever builds the agent.
    #[serde(skip)]
    pub safety: safety::SafetyConfig,
}

fn default_iterations() -> u32 {
    10
}
fn default_history() -> usize {
    400
}
fn default_compact_at() -> f64 {
    0.8
}
fn default_keep_turns() -> i64 {
    4
}

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig {
            max_iterations: default_iterations(),
            history_messages: default_history(),
            compact_at: default_compact_at(),
            keep_turns: default_keep_turns(),
            require_approval: Vec::new(),
            safety: safety::SafetyConfig::default(),
        }
    }
}

/// A message from someone on a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    pub channel: String,
    pub user_id: String,
    /// The channel's own thread id (a Slack `thread_ts`, a Telegram topic);
    /// `None` uses the user's current thread.
    pub thread: Option<String>,
    pub text: String,
}

/// What the channel shows while a turn runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum AgentEvent {
    Thinking,
    Chunk { text: String },
    ToolStarted { name: String, arguments: String },
    ToolFinished { name: String, ok: bool },
    ApprovalNeeded { tool: String, arguments: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReplyKind {
    /// The model's answer.
    Answer,
    /// A tool call waits for `/approve`, `/approve always` or `/deny`.
    ApprovalNeeded,
    /// The answer to a `/command`.
    Command,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reply {
    pub kind: ReplyKind,
    pub text: String,
    pub conversation_id: String,
    pub thread: Option<String>,
    pub turn: i64,
    pub tool_calls: u32,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error(
        "no LLM is configured. Set one in {config} under [llm] (backend = \"openai\" | \"anthropic\" | \"gemini\", model = \"…\", base-url = \"…\") \
         or with LLM_BACKEND / LLM_MODEL / LLM_BASE_URL, and store the API key with \
         `ironclaw secrets set openai_api_key` (or set OPENAI_API_KEY / ANTHROPIC_API_KEY / GEMINI_API_KEY once: it is moved into the vault)"
    )]
    NoLlm { config: String },
    #[error(transparent)]
    Llm(#[from] crate::llm::LlmError),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Blocked(#[from] floor::FloorError),
}

/// Everything a turn needs.
pub struct Agent {
    pub(crate) conversations: Arc<dyn ConversationStore>,
    pub(crate) store: Arc<dyn AgentStore>,
    pub(crate) llm: Option<Arc<dyn Provider>>,
    pub(crate) tools: Arc<ToolHost>,
    pub(crate) memory: Option<Arc<dyn MemoryStore>>,
    pub(crate) secrets: LiveSecrets,
    pub(crate) config: AgentConfig,
    /// Where the owner configures the LLM, for the "no LLM" message.
    pub(crate) config_path: String,
    /// One lock per conversation: its turns run one at a time, different
    /// conversations run concurrently.
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// The system prompt and when it was read: identity files are read at
    /// most every [`PROMPT_TTL`], not on every model call.
    pub(crate) prompt_cache: Mutex<Option<(std::time::Instant, Arc<str>)>>,
    /// Skills selected per turn from the user's message (none when unset).
    pub(crate) skills: Option<(Arc<crate::skills::Catalog>, crate::skills::SkillsConfig)>,
}

/// How long a read of the identity files serves: an edit to IDENTITY.md
/// or MEMORY.md shows in the system prompt within this time.
pub(crate) const PROMPT_TTL: std::time::Duration = std::time::Duration::from_secs(2);

pub struct AgentParts {
    pub conversations: Arc<dyn ConversationStore>,
    pub store: Arc<dyn AgentStore>,
    pub llm: Option<Arc<dyn Provider>>,
    pub tools: Arc<ToolHost>,
    pub memory: Option<Arc<dyn MemoryStore>>,
    pub secrets: LiveSecrets,
    pub config: AgentConfig,
    pub config_path: String,
}

impl Agent {
    pub fn new(parts: AgentParts) -> Agent {
        Agent {
            conversations: parts.conversations,
            store: parts.store,
            llm: parts.llm,
            tools: parts.tools,
            memory: parts.memory,
            secrets: parts.secrets,
            config: parts.config,
            config_path: parts.config_path,
            locks: Mutex::new(HashMap::new()),
            prompt_cache: Mutex::new(None),
            skills: None,
        }
    }

    /// Selects skills from `catalog` for every turn (see [`crate::skills`]).
    pub fn with_skills(
        mut self,
        catalog: Arc<crate::skills::Catalog>,
        config: crate::skills::SkillsConfig,
    ) -> Agent {
        self.skills = Some((catalog, config));
        self
    }

    pub fn has_llm(&self) -> bool {
        self.llm.is_some()
    }

    pub fn llm(&self) -> Option<&Arc<dyn Provider>> {
        self.llm.as_ref()
    }

    fn lock_for(&self, conversation_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = match self.locks.lock() {
            Ok(l) => l,
            Err(poisoned) => poisoned.into_inner(),
        };
        locks
            .entry(conversation_id.to_string())
            .or_default()
            .clone()
    }

    /// The conversation `inbound` belongs to: its channel thread when it
    /// names one, else the user's current thread (created on first use).
    pub async fn resolve(&self, inbound: &Inbound) -> Result<Conversation, AgentError> {
        if let Some(thread) = &inbound.thread {
            return Ok(self
                .conversations
                .find_or_create(&inbound.channel, &inbound.user_id, Some(thread))
                .await?);
        }
        if let Some(id) = self
            .store
            .current_thread(&inbound.channel, &inbound.user_id)
            .await?
            && let Some(c) = self.conversations.conversation(&id).await?
        {
            return Ok(c);
        }
        let c = self
            .conversations
            .find_or_create(&inbound.channel, &inbound.user_id, None)
            .await?;
        self.store
            .set_current_thread(&inbound.channel, &inbound.user_id, &c.id)
            .await?;
        Ok(c)
    }

    /// Handles one inbound message: a `/command`, or a turn with the model.
    /// `events` receives progress (chunks, tool calls) while it runs.
    pub async fn handle(
        &self,
        inbound: Inbound,
        events: Option<UnboundedSender<AgentEvent>>,
    ) -> Result<Reply, AgentError> {
        let conversation = self.resolve(&inbound).await?;
        let lock = self.lock_for(&conversation.id);
        let _turn_guard = lock.lock().await;
        let text = inbound.text.trim();
        if text.starts_with('/') {
            return self.command(&inbound, &conversation, text, events).await;
        }
        if let Some(pending) = self.store.pending_approval(&conversation.id).await? {
            return Ok(self.reply(
                ReplyKind::ApprovalNeeded,
                format!(
                    "Waiting for your decision on tool `{}` with {}: /approve, /approve always or /deny.",
                    pending.tool, pending.arguments
                ),
                &conversation,
                pending.turn,
            ));
        }
        self.user_turn(&conversation, &inbound, text, events).await
    }

    pub(crate) fn reply(
        &self,
        kind: ReplyKind,
        text: String,
        conversation: &Conversation,
        turn: i64,
    ) -> Reply {
        Reply {
            kind,
            text,
            conversation_id: conversation.id.clone(),
            thread: conversation.external_thread_id.clone(),
            turn,
            tool_calls: 0,
            input_tokens: 0,
            output_tokens: 0,
        }
    }
}

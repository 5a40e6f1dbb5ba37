//! The narrow per-domain storage traits (no god-trait) and their one
//! implementation, [`SqlStore`], written once against [`Sql`] so SQLite and
//! PostgreSQL run the same queries. Callers hold `Arc<dyn SettingsStore>`
//! and friends from [`crate::store::Database`], never the backend.

use std::sync::Arc;

use super::sql::Sql;

pub mod agent;
pub mod audit;
pub mod channels;
pub mod components;
pub mod conversations;
pub mod jobs;
pub mod kv;
pub mod llm_usage;
pub mod routines;
pub mod secrets;
pub mod settings;

pub use agent::{AgentStore, PendingApproval, ThreadSummary, ToolCallRecord, TurnMessage};
pub use audit::{AuditEntry, AuditLog, AuditRecord};
pub use channels::{ChannelHealth, ChannelStore, HealthEvent, MessageState, Queued};
pub use components::{ComponentRecord, ComponentStore, GrantRecord, GrantStatus};
pub use conversations::{Conversation, ConversationStore, Message, NewMessage};
pub use jobs::{Job, JobEvent, JobState, JobStore};
pub use kv::KvStore;
pub use llm_usage::{LlmUsageStore, ModelUsage, UsageRecord, UsageTotals};
pub use routines::{Routine, RoutineStore};
pub use secrets::{SecretRecord, SecretStore};
pub use settings::{Setting, SettingsStore};

/// Every domain store over one backend's [`Sql`].
#[derive(Clone)]
pub struct SqlStore {
    sql: Arc<dyn Sql>,
}

impl SqlStore {
    pub fn new(sql: Arc<dyn Sql>) -> SqlStore {
        SqlStore { sql }
    }
}

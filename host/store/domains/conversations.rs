//! Conversations (one per channel, user and thread) and their messages.

use serde::Serialize;

use super::SqlStore;
use crate::sql_params;
use crate::store::sql::Row;
use crate::store::{StoreError, now_ms};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conversation {
    pub id: String,
    pub channel: String,
    pub user_id: String,
    pub external_thread_id: Option<String>,
    pub state: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage<'a> {
    /// `user`, `assistant`, `tool` or `system`.
    pub role: &'a str,
    pub content: &'a str,
    /// The assistant's tool calls, as JSON.
    pub tool_calls: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    pub id: i64,
    pub conversation_id: String,
    pub role: String,
    pub content: String,
    pub tool_calls: Option<String>,
    pub created_at: i64,
}

#[async_trait::async_trait]
pub trait ConversationStore: Send + Sync {
    /// The conversation of this channel, user and thread, created (state
    /// `open`) if there is none. Concurrent callers get the same one.
    async fn find_or_create(
        &self,
        channel: &str,
        user_id: &str,
        thread: Option<&str>,
    ) -> Result<Conversation, StoreError>;
    async fn conversation(&self, id: &str) -> Result<Option<Conversation>, StoreError>;
    async fn set_state(&self, id: &str, state: &str) -> Result<bool, StoreError>;
    /// Appends a message; `NotFound` when the conversation does not exist.
    async fn append(
        &self,
        conversation_id: &str,
        message: NewMessage<'_>,
    ) -> Result<Message, StoreError>;
    /// The last `limit` messages, oldest first.
    async fn history(
        &self,
        conversation_id: &str,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError>;
}

pub(super) fn conversation(r: &Row) -> Result<Conversation, StoreError> {
    Ok(Conversation {
        id: r.text(0)?,
        channel: r.text(1)?,
        user_id: r.text(2)?,
        external_thread_id: r.opt_text(3)?,
        state: r.text(4)?,
        created_at: r.int(5)?,
        updated_at: r.int(6)?,
    })
}

pub(super) fn message(r: &Row) -> Result<Message, StoreError> {
    Ok(Message {
        id: r.int(0)?,
        conversation_id: r.text(1)?,
        role: r.text(2)?,
        content: r.text(3)?,
        tool_calls: r.opt_text(4)?,
        created_at: r.int(5)?,
    })
}

#[async_trait::async_trait]
impl ConversationStore for SqlStore {
    async fn find_or_create(
        &self,
        channel: &str,
        user_id: &str,
        thread: Option<&str>,
    ) -> Result<Conversation, StoreError> {
        let id = uuid::Uuid::new_v4().to_string();
        // A concurrent creator wins on the unique (channel, user, thread)
        // index; this insert then does nothing and the select finds theirs.
        self.sql
            .execute(
                "INSERT INTO conversations (id, channel, user_id, external_thread_id, state, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, 'open', $5, $5) ON CONFLICT DO NOTHING",
                sql_params![id, channel, user_id, thread, now_ms()],
            )
            .await?;
        self.sql
            .query_opt(
                "SELECT id, channel, user_id, external_thread_id, state, created_at, updated_at FROM conversations
                 WHERE channel = $1 AND user_id = $2 AND COALESCE(external_thread_id, '') = COALESCE(CAST($3 AS TEXT), '')",
                sql_params![channel, user_id, thread],
            )
            .await?
            .as_ref()
            .map(conversation)
            .transpose()?
            .ok_or_else(|| StoreError::Database("conversation vanished after insert".into()))
    }

    async fn conversation(&self, id: &str) -> Result<Option<Conversation>, StoreError> {
        self.sql
            .query_opt(
                "SELECT id, channel, user_id, external_thread_id, state, created_at, updated_at FROM conversations WHERE id = $1",
                sql_params![id],
            )
            .await?
            .as_ref()
            .map(conversation)
            .transpose()
    }

    async fn set_state(&self, id: &str, state: &str) -> Result<bool, StoreError> {
        let n = self
            .sql
            .execute(
                "UPDATE conversations SET state = $2, updated_at = $3 WHERE id = $1",
                sql_params![id, state, now_ms()],
            )
            .await?;
        Ok(n > 0)
    }

    async fn append(
        &self,
        conversation_id: &str,
        m: NewMessage<'_>,
    ) -> Result<Message, StoreError> {
        let now = now_ms();
        let touched = self
            .sql
            .execute(
                "UPDATE conversations SET updated_at = $2 WHERE id = $1",
                sql_params![conversation_id, now],
            )
            .await?;
        if touched == 0 {
            return Err(StoreError::NotFound {
                what: "conversation",
                key: conversation_id.to_string(),
            });
        }
        self.sql
            .query_opt(
                "INSERT INTO messages (conversation_id, role, content, tool_calls, created_at) VALUES ($1, $2, $3, $4, $5)
                 RETURNING id, conversation_id, role, content, tool_calls, created_at",
                sql_params![conversation_id, m.role, m.content, m.tool_calls, now],
            )
            .await?
            .as_ref()
            .map(message)
            .transpose()?
            .ok_or_else(|| StoreError::Database("message insert returned nothing".into()))
    }

    async fn history(
        &self,
        conversation_id: &str,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        let mut messages = self
            .sql
            .query(
                "SELECT id, conversation_id, role, content, tool_calls, created_at FROM messages
                 WHERE conversation_id = $1 ORDER BY id DESC LIMIT $2",
                sql_params![conversation_id, limit as i64],
            )
            .await?
            .iter()
            .map(message)
            .collect::<Result<Vec<_>, _>>()?;
        messages.reverse();
        Ok(messages)
    }
}

//! The agent's persistent turn state: messages by turn with undo/redo and
//! compaction, the pending approval of a conversation, "always" approvals,
//! each channel user's current thread, and the record of tool calls.

use serde::Serialize;

use super::SqlStore;
use super::conversations::{Conversation, Message};
use crate::sql_params;
use crate::store::sql::{Row, Stmt};
use crate::store::{StoreError, now_ms};

/// A message with its turn, as the agent replays it to the model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TurnMessage {
    pub message: Message,
    pub turn: i64,
}

/// A tool call waiting for the owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PendingApproval {
    pub conversation_id: String,
    pub turn: i64,
    pub tool_call_id: String,
    pub tool: String,
    pub arguments: String,
    pub created_at: i64,
}

/// One thread of a channel user, for `/thread list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ThreadSummary {
    pub conversation: Conversation,
    pub messages: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCallRecord<'a> {
    pub conversation_id: &'a str,
    pub turn: i64,
    pub tool_call_id: &'a str,
    pub tool: &'a str,
    pub arguments: &'a str,
    pub output: &'a str,
    /// `ok`, `error` or `denied`.
    pub outcome: &'a str,
    pub duration_ms: i64,
}

#[async_trait::async_trait]
pub trait AgentStore: Send + Sync {
    /// The next turn number: one past every turn ever used here (undone
    /// turns included, so a redo never collides).
    async fn next_turn(&self, conversation_id: &str) -> Result<i64, StoreError>;
    async fn append_turn_message(
        &self,
        conversation_id: &str,
        turn: i64,
        role: &str,
        content: &str,
        tool_calls: Option<&str>,
    ) -> Result<(), StoreError>;
    /// Opens turn `turn` with the user's message, in one transaction:
    /// undone turns are forgotten (a new branch), the conversation becomes
    /// `processing`, the message is stored.
    async fn start_turn(
        &self,
        conversation_id: &str,
        turn: i64,
        text: &str,
    ) -> Result<(), StoreError>;
    /// A tool's result as the model will see it (`role = tool`, `meta` in
    /// `tool_calls`) and the tool-call record, in one transaction.
    async fn append_tool_result(
        &self,
        call: ToolCallRecord<'_>,
        meta: Option<&str>,
    ) -> Result<(), StoreError>;
    /// The visible messages, oldest first, at most the last `limit`.
    async fn visible_history(
        &self,
        conversation_id: &str,
        limit: usize,
    ) -> Result<Vec<TurnMessage>, StoreError>;
    /// Marks the newest visible turn undone; its number, or `None`.
    async fn undo_turn(&self, conversation_id: &str) -> Result<Option<i64>, StoreError>;
    /// Makes the oldest undone turn visible again; its number, or `None`.
    async fn redo_turn(&self, conversation_id: &str) -> Result<Option<i64>, StoreError>;
    /// Forgets undone turns (a new message starts a new branch).
    async fn drop_undone(&self, conversation_id: &str) -> Result<u64, StoreError>;
    /// Hides every message and the summary (`/clear`).
    async fn clear(&self, conversation_id: &str) -> Result<u64, StoreError>;
    /// Hides visible messages of turns below `keep_from_turn` and stores
    /// `summary` in their place, in one transaction.
    async fn compact(
        &self,
        conversation_id: &str,
        keep_from_turn: i64,
        summary: &str,
    ) -> Result<u64, StoreError>;
    async fn summary(&self, conversation_id: &str) -> Result<Option<String>, StoreError>;

    /// Records the pending approval and the conversation's state
    /// `awaiting-approval` together.
    async fn set_pending_approval(&self, approval: &PendingApproval) -> Result<(), StoreError>;
    async fn pending_approval(
        &self,
        conversation_id: &str,
    ) -> Result<Option<PendingApproval>, StoreError>;
    /// Takes the pending approval away if it is still `tool_call_id` (two
    /// answers to one question: only the first wins).
    async fn take_pending_approval(
        &self,
        conversation_id: &str,
        tool_call_id: &str,
    ) -> Result<bool, StoreError>;
    async fn allow_always(
        &self,
        channel: &str,
        user_id: &str,
        tool: &str,
    ) -> Result<(), StoreError>;
    async fn is_always_allowed(
        &self,
        channel: &str,
        user_id: &str,
        tool: &str,
    ) -> Result<bool, StoreError>;

    async fn current_thread(
        &self,
        channel: &str,
        user_id: &str,
    ) -> Result<Option<String>, StoreError>;
    async fn set_current_thread(
        &self,
        channel: &str,
        user_id: &str,
        conversation_id: &str,
    ) -> Result<(), StoreError>;
    /// Every thread of a channel user, most recently active first.
    async fn threads(&self, channel: &str, user_id: &str)
    -> Result<Vec<ThreadSummary>, StoreError>;

    async fn record_tool_call(&self, call: ToolCallRecord<'_>) -> Result<(), StoreError>;
}

fn turn_message(r: &Row) -> Result<TurnMessage, StoreError> {
    // The message's own columns first, then its turn.
    Ok(TurnMessage {
        message: super::conversations::message(r)?,
        turn: r.int(6)?,
    })
}

fn approval(r: &Row) -> Result<PendingApproval, StoreError> {
    Ok(PendingApproval {
        conversation_id: r.text(0)?,
        turn: r.int(1)?,
        tool_call_id: r.text(2)?,
        tool: r.text(3)?,
        arguments: r.text(4)?,
        created_at: r.int(5)?,
    })
}

/// The row of one tool call, for `agent_tool_calls`.
fn tool_call_stmt(c: &ToolCallRecord<'_>, now: i64) -> Stmt {
    Stmt::new(
        "INSERT INTO agent_tool_calls (conversation_id, turn, tool_call_id, tool, arguments, output, outcome, duration_ms, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        sql_params![
            c.conversation_id,
            c.turn,
            c.tool_call_id,
            c.tool,
            c.arguments,
            c.output,
            c.outcome,
            c.duration_ms,
            now
        ],
    )
}

impl SqlStore {
    /// Runs `stmts` in one transaction whose guarded statement touches the
    /// conversation: when it changed nothing, the conversation is missing.
    async fn batch_for(&self, conversation_id: &str, stmts: Vec<Stmt>) -> Result<(), StoreError> {
        if self.sql.batch(stmts).await? {
            Ok(())
        } else {
            Err(StoreError::NotFound {
                what: "conversation",
                key: conversation_id.to_string(),
            })
        }
    }

    /// Undo and redo: `pick` chooses a turn (one row, one nullable
    /// column), `update` moves that turn's messages; the turn, or `None`.
    async fn flip_turn(
        &self,
        conversation_id: &str,
        pick: &'static str,
        update: &'static str,
    ) -> Result<Option<i64>, StoreError> {
        let row = self
            .sql
            .query_opt(pick, sql_params![conversation_id])
            .await?;
        let Some(turn) = row.map(|r| r.opt_int(0)).transpose()?.flatten() else {
            return Ok(None);
        };
        self.sql
            .execute(update, sql_params![conversation_id, turn])
            .await?;
        Ok(Some(turn))
    }
}

#[async_trait::async_trait]
impl AgentStore for SqlStore {
    async fn next_turn(&self, conversation_id: &str) -> Result<i64, StoreError> {
        let row = self
            .sql
            .query_opt(
                "SELECT COALESCE(MAX(turn), 0) FROM messages WHERE conversation_id = $1",
                sql_params![conversation_id],
            )
            .await?;
        Ok(row.map(|r| r.int(0)).transpose()?.unwrap_or(0) + 1)
    }

    async fn append_turn_message(
        &self,
        conversation_id: &str,
        turn: i64,
        role: &str,
        content: &str,
        tool_calls: Option<&str>,
    ) -> Result<(), StoreError> {
        // One transaction (one trip to the database): the conversation must
        // exist (guarded update) and the message goes in with it.
        let now = now_ms();
        let stmts = vec![
            Stmt::guarded(
                "UPDATE conversations SET updated_at = $2 WHERE id = $1",
                sql_params![conversation_id, now],
            ),
            Stmt::new(
                "INSERT INTO messages (conversation_id, role, content, tool_calls, created_at, turn)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                sql_params![conversation_id, role, content, tool_calls, now, turn],
            ),
        ];
        self.batch_for(conversation_id, stmts).await
    }

    async fn start_turn(
        &self,
        conversation_id: &str,
        turn: i64,
        text: &str,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let stmts = vec![
            Stmt::new(
                "UPDATE messages SET visibility = 'hidden' WHERE conversation_id = $1 AND visibility = 'undone'",
                sql_params![conversation_id],
            ),
            Stmt::guarded(
                "UPDATE conversations SET state = 'processing', updated_at = $2 WHERE id = $1",
                sql_params![conversation_id, now],
            ),
            Stmt::new(
                "INSERT INTO messages (conversation_id, role, content, tool_calls, created_at, turn)
                 VALUES ($1, 'user', $2, NULL, $3, $4)",
                sql_params![conversation_id, text, now, turn],
            ),
        ];
        self.batch_for(conversation_id, stmts).await
    }

    async fn append_tool_result(
        &self,
        c: ToolCallRecord<'_>,
        meta: Option<&str>,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let stmts = vec![
            Stmt::guarded(
                "UPDATE conversations SET updated_at = $2 WHERE id = $1",
                sql_params![c.conversation_id, now],
            ),
            Stmt::new(
                "INSERT INTO messages (conversation_id, role, content, tool_calls, created_at, turn)
                 VALUES ($1, 'tool', $2, $3, $4, $5)",
                sql_params![c.conversation_id, c.output, meta, now, c.turn],
            ),
            tool_call_stmt(&c, now),
        ];
        self.batch_for(c.conversation_id, stmts).await
    }

    async fn visible_history(
        &self,
        conversation_id: &str,
        limit: usize,
    ) -> Result<Vec<TurnMessage>, StoreError> {
        let mut rows = self
            .sql
            .query(
                "SELECT id, conversation_id, role, content, tool_calls, created_at, turn FROM messages
                 WHERE conversation_id = $1 AND visibility = 'visible' ORDER BY id DESC LIMIT $2",
                sql_params![conversation_id, limit as i64],
            )
            .await?
            .iter()
            .map(turn_message)
            .collect::<Result<Vec<_>, _>>()?;
        rows.reverse();
        Ok(rows)
    }

    async fn undo_turn(&self, conversation_id: &str) -> Result<Option<i64>, StoreError> {
        self.flip_turn(
            conversation_id,
            "SELECT MAX(turn) FROM messages WHERE conversation_id = $1 AND visibility = 'visible' AND turn > 0",
            "UPDATE messages SET visibility = 'undone' WHERE conversation_id = $1 AND turn = $2 AND visibility = 'visible'",
        )
        .await
    }

    async fn redo_turn(&self, conversation_id: &str) -> Result<Option<i64>, StoreError> {
        self.flip_turn(
            conversation_id,
            "SELECT MIN(turn) FROM messages WHERE conversation_id = $1 AND visibility = 'undone'",
            "UPDATE messages SET visibility = 'visible' WHERE conversation_id = $1 AND turn = $2 AND visibility = 'undone'",
        )
        .await
    }

    async fn drop_undone(&self, conversation_id: &str) -> Result<u64, StoreError> {
        self.sql
            .execute(
                "UPDATE messages SET visibility = 'hidden' WHERE conversation_id = $1 AND visibility = 'undone'",
                sql_params![conversation_id],
            )
            .await
    }

    async fn clear(&self, conversation_id: &str) -> Result<u64, StoreError> {
        let stmts = vec![
            Stmt::new(
                "UPDATE messages SET visibility = 'hidden' WHERE conversation_id = $1 AND visibility <> 'hidden'",
                sql_params![conversation_id],
            ),
            Stmt::new(
                "UPDATE conversations SET summary = NULL, updated_at = $2 WHERE id = $1",
                sql_params![conversation_id, now_ms()],
            ),
        ];
        self.sql.batch(stmts).await?;
        Ok(0)
    }

    async fn compact(
        &self,
        conversation_id: &str,
        keep_from_turn: i64,
        summary: &str,
    ) -> Result<u64, StoreError> {
        let hidden = self
            .sql
            .query_opt(
                "SELECT COUNT(*) FROM messages WHERE conversation_id = $1 AND visibility = 'visible' AND turn < $2",
                sql_params![conversation_id, keep_from_turn],
            )
            .await?
            .map(|r| r.int(0))
            .transpose()?
            .unwrap_or(0) as u64;
        let stmts = vec![
            Stmt::new(
                "UPDATE messages SET visibility = 'hidden' WHERE conversation_id = $1 AND visibility = 'visible' AND turn < $2",
                sql_params![conversation_id, keep_from_turn],
            ),
            Stmt::guarded(
                "UPDATE conversations SET summary = $2, updated_at = $3 WHERE id = $1",
                sql_params![conversation_id, summary, now_ms()],
            ),
        ];
        if !self.sql.batch(stmts).await? {
            return Err(StoreError::NotFound {
                what: "conversation",
                key: conversation_id.to_string(),
            });
        }
        Ok(hidden)
    }

    async fn summary(&self, conversation_id: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .sql
            .query_opt(
                "SELECT summary FROM conversations WHERE id = $1",
                sql_params![conversation_id],
            )
            .await?
            .map(|r| r.opt_text(0))
            .transpose()?
            .flatten())
    }

    async fn set_pending_approval(&self, a: &PendingApproval) -> Result<(), StoreError> {
        let stmts = vec![
            Stmt::new(
                "DELETE FROM agent_approvals WHERE conversation_id = $1",
                sql_params![a.conversation_id.as_str()],
            ),
            Stmt::new(
                "INSERT INTO agent_approvals (conversation_id, turn, tool_call_id, tool, arguments, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                sql_params![
                    a.conversation_id.as_str(),
                    a.turn,
                    a.tool_call_id.as_str(),
                    a.tool.as_str(),
                    a.arguments.as_str(),
                    a.created_at
                ],
            ),
            Stmt::guarded(
                "UPDATE conversations SET state = 'awaiting-approval', updated_at = $2 WHERE id = $1",
                sql_params![a.conversation_id.as_str(), now_ms()],
            ),
        ];
        self.batch_for(&a.conversation_id, stmts).await
    }

    async fn pending_approval(
        &self,
        conversation_id: &str,
    ) -> Result<Option<PendingApproval>, StoreError> {
        self.sql
            .query_opt(
                "SELECT conversation_id, turn, tool_call_id, tool, arguments, created_at FROM agent_approvals
                 WHERE conversation_id = $1",
                sql_params![conversation_id],
            )
            .await?
            .as_ref()
            .map(approval)
            .transpose()
    }

    async fn take_pending_approval(
        &self,
        conversation_id: &str,
        tool_call_id: &str,
    ) -> Result<bool, StoreError> {
        let n = self
            .sql
            .execute(
                "DELETE FROM agent_approvals WHERE conversation_id = $1 AND tool_call_id = $2",
                sql_params![conversation_id, tool_call_id],
            )
            .await?;
        Ok(n > 0)
    }

    async fn allow_always(
        &self,
        channel: &str,
        user_id: &str,
        tool: &str,
    ) -> Result<(), StoreError> {
        self.sql
            .execute(
                "INSERT INTO agent_tool_allow (channel, user_id, tool, created_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT DO NOTHING",
                sql_params![channel, user_id, tool, now_ms()],
            )
            .await?;
        Ok(())
    }

    async fn is_always_allowed(
        &self,
        channel: &str,
        user_id: &str,
        tool: &str,
    ) -> Result<bool, StoreError> {
        Ok(self
            .sql
            .query_opt(
                "SELECT 1 FROM agent_tool_allow WHERE channel = $1 AND user_id = $2 AND tool = $3",
                sql_params![channel, user_id, tool],
            )
            .await?
            .is_some())
    }

    async fn current_thread(
        &self,
        channel: &str,
        user_id: &str,
    ) -> Result<Option<String>, StoreError> {
        self.sql
            .query_opt(
                "SELECT conversation_id FROM agent_current_thread WHERE channel = $1 AND user_id = $2",
                sql_params![channel, user_id],
            )
            .await?
            .map(|r| r.text(0))
            .transpose()
    }

    async fn set_current_thread(
        &self,
        channel: &str,
        user_id: &str,
        conversation_id: &str,
    ) -> Result<(), StoreError> {
        let stmts = vec![
            Stmt::new(
                "DELETE FROM agent_current_thread WHERE channel = $1 AND user_id = $2",
                sql_params![channel, user_id],
            ),
            Stmt::new(
                "INSERT INTO agent_current_thread (channel, user_id, conversation_id) VALUES ($1, $2, $3)",
                sql_params![channel, user_id, conversation_id],
            ),
        ];
        self.sql.batch(stmts).await?;
        Ok(())
    }

    async fn threads(
        &self,
        channel: &str,
        user_id: &str,
    ) -> Result<Vec<ThreadSummary>, StoreError> {
        self.sql
            .query(
                "SELECT c.id, c.channel, c.user_id, c.external_thread_id, c.state, c.created_at, c.updated_at,
                        (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id AND m.visibility = 'visible')
                 FROM conversations c WHERE c.channel = $1 AND c.user_id = $2
                 ORDER BY c.updated_at DESC, c.id",
                sql_params![channel, user_id],
            )
            .await?
            .iter()
            .map(|r| {
                // The conversation's columns first, then the count.
                Ok(ThreadSummary {
                    conversation: super::conversations::conversation(r)?,
                    messages: r.int(7)?,
                })
            })
            .collect()
    }

    async fn record_tool_call(&self, c: ToolCallRecord<'_>) -> Result<(), StoreError> {
        self.sql.batch(vec![tool_call_stmt(&c, now_ms())]).await?;
        Ok(())
    }
}

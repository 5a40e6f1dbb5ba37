//! What the channel host keeps (migrations `*_channels.sql`): verified
//! webhook requests until their component handled them, provider event ids
//! for dedupe, inbound messages from `emit` to the delivered reply, paired
//! users, and per-channel health.

use serde::Serialize;

use super::SqlStore;
use crate::sql_params;
use crate::store::sql::Row;
use crate::store::{StoreError, now_ms};

/// A queued row, of the inbox or of the messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    pub id: i64,
    pub channel: String,
    /// The request or message, as JSON.
    pub payload: String,
    pub state: String,
    /// An answer waiting for delivery (messages only).
    pub reply: Option<String>,
    pub attempts: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageState {
    /// Waiting for (or in) its agent turn.
    Queued,
    /// Answered; the answer waits for delivery through the component.
    Replying,
    Done,
    /// Not run: user not allowed, group message without a mention.
    Dropped,
    /// Given up after its attempts; kept for the owner to see.
    Failed,
}

impl MessageState {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageState::Queued => "queued",
            MessageState::Replying => "replying",
            MessageState::Done => "done",
            MessageState::Dropped => "dropped",
            MessageState::Failed => "failed",
        }
    }
}

/// A channel's health as last recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChannelHealth {
    pub channel: String,
    /// Milliseconds since the Unix epoch.
    pub last_inbound_at: Option<i64>,
    pub last_outbound_at: Option<i64>,
    pub last_error: Option<String>,
    pub last_error_at: Option<i64>,
    /// `polling`, `backing off …`, `stopped`, or none for webhook channels.
    pub poller: Option<String>,
    /// Requests and messages still waiting for the component.
    pub pending: i64,
    /// Requests and messages given up on.
    pub failed: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthEvent<'a> {
    Inbound,
    Outbound,
    Error(&'a str),
    Poller(&'a str),
}

#[async_trait::async_trait]
pub trait ChannelStore: Send + Sync {
    /// Keeps a verified request. `None`: its event id was seen before.
    async fn inbox_insert(
        &self,
        channel: &str,
        event_id: Option<&str>,
        request: &str,
    ) -> Result<Option<i64>, StoreError>;
    /// Records one delivery attempt: handled (`error` none), failed and to
    /// be retried, or failed for good (`give_up`).
    async fn inbox_attempt(
        &self,
        id: i64,
        error: Option<&str>,
        give_up: bool,
    ) -> Result<(), StoreError>;
    async fn inbox_pending(&self) -> Result<Vec<Queued>, StoreError>;
    /// Queues an emitted message, or keeps it as dropped with why when the
    /// owner's policy already refuses it. `None`: its message id was seen
    /// before.
    async fn message_insert(
        &self,
        channel: &str,
        message_id: Option<&str>,
        message: &str,
        dropped: Option<&str>,
    ) -> Result<Option<i64>, StoreError>;
    async fn message_update(
        &self,
        id: i64,
        state: MessageState,
        reply: Option<&str>,
        error: Option<&str>,
    ) -> Result<(), StoreError>;
    /// Messages queued or replying (to resume after a restart).
    async fn message_pending(&self) -> Result<Vec<Queued>, StoreError>;
    /// The user's pairing: `(code, approved)`.
    async fn pairing(
        &self,
        channel: &str,
        user: &str,
    ) -> Result<Option<(String, bool)>, StoreError>;
    /// Records a pending pairing; returns the code stored (an earlier one wins).
    async fn pairing_request(
        &self,
        channel: &str,
        user: &str,
        code: &str,
    ) -> Result<String, StoreError>;
    /// Approves the pending pairing with `code`; the user it names.
    async fn pairing_approve(
        &self,
        channel: &str,
        code: &str,
    ) -> Result<Option<String>, StoreError>;
    /// Records `event` as happened at `at` (ms since the epoch).
    async fn health_record(
        &self,
        channel: &str,
        event: HealthEvent<'_>,
        at: i64,
    ) -> Result<(), StoreError>;
    async fn health(&self) -> Result<Vec<ChannelHealth>, StoreError>;
}

fn queued(r: &Row) -> Result<Queued, StoreError> {
    Ok(Queued {
        id: r.int(0)?,
        channel: r.text(1)?,
        payload: r.text(2)?,
        state: r.text(3)?,
        reply: r.opt_text(4)?,
        attempts: r.int(5)?,
    })
}

#[async_trait::async_trait]
impl ChannelStore for SqlStore {
    async fn inbox_insert(
        &self,
        channel: &str,
        event_id: Option<&str>,
        request: &str,
    ) -> Result<Option<i64>, StoreError> {
        let now = now_ms();
        let row = self
            .sql
            .query_opt(
                "INSERT INTO channel_inbox (channel, event_id, request, state, received_at, updated_at)
                 VALUES ($1, $2, $3, 'pending', $4, $4) ON CONFLICT DO NOTHING RETURNING id",
                sql_params![channel, event_id, request, now],
            )
            .await?;
        row.map(|r| r.int(0)).transpose()
    }

    async fn inbox_attempt(
        &self,
        id: i64,
        error: Option<&str>,
        give_up: bool,
    ) -> Result<(), StoreError> {
        let state = match (error, give_up) {
            (None, _) => "done",
            (Some(_), false) => "pending",
            (Some(_), true) => "failed",
        };
        // A handled request keeps its row (the event id stays seen) but not
        // its body: the message it carried lives on in channel_messages.
        self.sql
            .execute(
                "UPDATE channel_inbox SET state = $2, attempts = attempts + 1, last_error = $3,
                 request = CASE WHEN $2 = 'done' THEN '' ELSE request END, updated_at = $4 WHERE id = $1",
                sql_params![id, state, error, now_ms()],
            )
            .await?;
        Ok(())
    }

    async fn inbox_pending(&self) -> Result<Vec<Queued>, StoreError> {
        self.sql
            .query(
                "SELECT id, channel, request, state, NULL, attempts FROM channel_inbox
                 WHERE state = 'pending' ORDER BY id",
                vec![],
            )
            .await?
            .iter()
            .map(queued)
            .collect()
    }

    async fn message_insert(
        &self,
        channel: &str,
        message_id: Option<&str>,
        message: &str,
        dropped: Option<&str>,
    ) -> Result<Option<i64>, StoreError> {
        let now = now_ms();
        let state = match dropped {
            Some(_) => MessageState::Dropped,
            None => MessageState::Queued,
        };
        let row = self
            .sql
            .query_opt(
                "INSERT INTO channel_messages (channel, message_id, message, state, last_error, received_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT DO NOTHING RETURNING id",
                sql_params![channel, message_id, message, state.as_str(), dropped, now],
            )
            .await?;
        row.map(|r| r.int(0)).transpose()
    }

    async fn message_update(
        &self,
        id: i64,
        state: MessageState,
        reply: Option<&str>,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let attempt = i64::from(error.is_some());
        self.sql
            .execute(
                "UPDATE channel_messages SET state = $2, reply = COALESCE($3, reply),
                 last_error = $4, attempts = attempts + $5, updated_at = $6 WHERE id = $1",
                sql_params![id, state.as_str(), reply, error, attempt, now_ms()],
            )
            .await?;
        Ok(())
    }

    async fn message_pending(&self) -> Result<Vec<Queued>, StoreError> {
        self.sql
            .query(
                "SELECT id, channel, message, state, reply, attempts FROM channel_messages
                 WHERE state IN ('queued', 'replying') ORDER BY id",
                vec![],
            )
            .await?
            .iter()
            .map(queued)
            .collect()
    }

    async fn pairing(
        &self,
        channel: &str,
        user: &str,
    ) -> Result<Option<(String, bool)>, StoreError> {
        self.sql
            .query_opt(
                "SELECT code, approved FROM channel_pairing WHERE channel = $1 AND user_id = $2",
                sql_params![channel, user],
            )
            .await?
            .map(|r| Ok((r.text(0)?, r.bool(1)?)))
            .transpose()
    }

    async fn pairing_request(
        &self,
        channel: &str,
        user: &str,
        code: &str,
    ) -> Result<String, StoreError> {
        self.sql
            .execute(
                "INSERT INTO channel_pairing (channel, user_id, code, approved, created_at)
                 VALUES ($1, $2, $3, FALSE, $4) ON CONFLICT DO NOTHING",
                sql_params![channel, user, code, now_ms()],
            )
            .await?;
        match self.pairing(channel, user).await? {
            Some((stored, _)) => Ok(stored),
            None => Err(StoreError::Database(
                "the pairing request was not stored".into(),
            )),
        }
    }

    async fn pairing_approve(
        &self,
        channel: &str,
        code: &str,
    ) -> Result<Option<String>, StoreError> {
        self.sql
            .query_opt(
                "UPDATE channel_pairing SET approved = TRUE WHERE channel = $1 AND code = $2
                 RETURNING user_id",
                sql_params![channel, code],
            )
            .await?
            .map(|r| r.text(0))
            .transpose()
    }

    async fn health_record(
        &self,
        channel: &str,
        event: HealthEvent<'_>,
        at: i64,
    ) -> Result<(), StoreError> {
        let now = at;
        let (sql, params) = match event {
            HealthEvent::Inbound => (
                "INSERT INTO channel_health (channel, last_inbound_at, updated_at) VALUES ($1, $2, $2)
                 ON CONFLICT (channel) DO UPDATE SET last_inbound_at = $2, updated_at = $2",
                sql_params![channel, now],
            ),
            HealthEvent::Outbound => (
                "INSERT INTO channel_health (channel, last_outbound_at, updated_at) VALUES ($1, $2, $2)
                 ON CONFLICT (channel) DO UPDATE SET last_outbound_at = $2, updated_at = $2",
                sql_params![channel, now],
            ),
            HealthEvent::Error(e) => (
                "INSERT INTO channel_health (channel, last_error, last_error_at, updated_at) VALUES ($1, $3, $2, $2)
                 ON CONFLICT (channel) DO UPDATE SET last_error = $3, last_error_at = $2, updated_at = $2",
                sql_params![channel, now, e],
            ),
            HealthEvent::Poller(p) => (
                "INSERT INTO channel_health (channel, poller, updated_at) VALUES ($1, $3, $2)
                 ON CONFLICT (channel) DO UPDATE SET poller = $3, updated_at = $2",
                sql_params![channel, now, p],
            ),
        };
        self.sql.execute(sql, params).await?;
        Ok(())
    }

    async fn health(&self) -> Result<Vec<ChannelHealth>, StoreError> {
        let rows = self
            .sql
            .query(
                "SELECT h.channel, h.last_inbound_at, h.last_outbound_at, h.last_error, h.last_error_at, h.poller,
                   (SELECT COUNT(*) FROM channel_inbox i WHERE i.channel = h.channel AND i.state = 'pending')
                 + (SELECT COUNT(*) FROM channel_messages m WHERE m.channel = h.channel AND m.state IN ('queued', 'replying')),
                   (SELECT COUNT(*) FROM channel_inbox i WHERE i.channel = h.channel AND i.state = 'failed')
                 + (SELECT COUNT(*) FROM channel_messages m WHERE m.channel = h.channel AND m.state = 'failed')
                 FROM channel_health h ORDER BY h.channel",
                vec![],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(ChannelHealth {
                    channel: r.text(0)?,
                    last_inbound_at: r.opt_int(1)?,
                    last_outbound_at: r.opt_int(2)?,
                    last_error: r.opt_text(3)?,
                    last_error_at: r.opt_int(4)?,
                    poller: r.opt_text(5)?,
                    pending: r.int(6)?,
                    failed: r.int(7)?,
                })
            })
            .collect()
    }
}

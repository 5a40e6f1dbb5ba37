//! Channel health as `ironclaw status` shows it, written without costing
//! every message a database write.
//!
//! Errors and poller states are written when they happen. "Last inbound"
//! and "last outbound" change with every message: the first of a burst is
//! written at once, the rest of the same second are kept in memory and the
//! latest of them written when the second is over (with the time it really
//! happened), so a busy channel costs one health write a second instead of
//! two per message.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::store::domains::{ChannelStore, HealthEvent};

/// At most one write per channel and kind in this time.
const INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Mark {
    Inbound,
    Outbound,
}

impl Mark {
    fn event(self) -> HealthEvent<'static> {
        match self {
            Mark::Inbound => HealthEvent::Inbound,
            Mark::Outbound => HealthEvent::Outbound,
        }
    }
}

struct MarkState {
    written: Instant,
    /// The latest mark not yet written (ms since the epoch).
    pending: Option<i64>,
}

type Marks = Arc<Mutex<HashMap<(String, Mark), MarkState>>>;

pub(crate) struct HealthRecorder {
    store: Arc<dyn ChannelStore>,
    marks: Marks,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl HealthRecorder {
    pub(crate) fn new(store: Arc<dyn ChannelStore>) -> HealthRecorder {
        HealthRecorder {
            store,
            marks: Arc::default(),
        }
    }

    /// Records a health event; a failing database is logged, never fatal.
    pub(crate) async fn record(&self, channel: &str, event: HealthEvent<'_>) {
        let at = crate::store::now_ms();
        let mark = match event {
            HealthEvent::Inbound => Mark::Inbound,
            HealthEvent::Outbound => Mark::Outbound,
            other => return write(&*self.store, channel, other, at).await,
        };
        if self.write_now(channel, mark, at) {
            write(&*self.store, channel, mark.event(), at).await;
        }
    }

    /// Whether this mark is written now; if not, it is kept and a flush at
    /// the end of the interval is scheduled (once).
    fn write_now(&self, channel: &str, mark: Mark, at: i64) -> bool {
        let now = Instant::now();
        let key = (channel.to_string(), mark);
        let mut marks = lock(&self.marks);
        let state = match marks.get_mut(&key) {
            Some(s) if now.duration_since(s.written) < INTERVAL => s,
            _ => {
                marks.insert(
                    key,
                    MarkState {
                        written: now,
                        pending: None,
                    },
                );
                return true;
            }
        };
        let first = state.pending.is_none();
        state.pending = Some(at);
        if first {
            let delay = INTERVAL.saturating_sub(now.duration_since(state.written));
            let (store, marks) = (self.store.clone(), self.marks.clone());
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                flush_one(&*store, &marks, key).await;
            });
        }
        false
    }

    /// Writes every kept mark (at shutdown).
    pub(crate) async fn flush(&self) {
        let keys: Vec<(String, Mark)> = lock(&self.marks)
            .iter()
            .filter(|(_, s)| s.pending.is_some())
            .map(|(k, _)| k.clone())
            .collect();
        for key in keys {
            flush_one(&*self.store, &self.marks, key).await;
        }
    }
}

async fn flush_one(store: &dyn ChannelStore, marks: &Marks, key: (String, Mark)) {
    let at = {
        let mut marks = lock(marks);
        let Some(state) = marks.get_mut(&key) else {
            return;
        };
        state.written = Instant::now();
        state.pending.take()
    };
    if let Some(at) = at {
        write(store, &key.0, key.1.event(), at).await;
    }
}

async fn write(store: &dyn ChannelStore, channel: &str, event: HealthEvent<'_>, at: i64) {
    if let HealthEvent::Error(e) = event {
        tracing::warn!(channel, "{e}");
    }
    if let Err(e) = store.health_record(channel, event, at).await {
        tracing::warn!(channel, "cannot record channel health: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::database::Database;
    use crate::store::url::DatabaseUrl;

    async fn last_inbound(db: &Database) -> Option<i64> {
        let rows = db
            .executor()
            .query(
                "SELECT last_inbound_at FROM channel_health WHERE channel = 'c'",
                vec![],
            )
            .await
            .unwrap();
        rows.first().and_then(|r| r.opt_int(0).unwrap())
    }

    #[tokio::test]
    async fn a_burst_costs_one_write_now_and_one_after_the_second() {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::Sqlite(dir.path().join("h.db"));
        let db = Database::open_migrated(&url).await.unwrap();
        let health = HealthRecorder::new(db.channels());
        health.record("c", HealthEvent::Inbound).await;
        let first = last_inbound(&db)
            .await
            .expect("the first mark is written at once");
        tokio::time::sleep(Duration::from_millis(20)).await;
        health.record("c", HealthEvent::Inbound).await;
        health.record("c", HealthEvent::Inbound).await;
        assert_eq!(last_inbound(&db).await, Some(first), "kept in memory");
        tokio::time::sleep(INTERVAL + Duration::from_millis(300)).await;
        let later = last_inbound(&db).await.unwrap();
        assert!(later >= first + 20, "the latest mark, with its own time");
        // Shutdown writes what is still kept.
        health.record("c", HealthEvent::Inbound).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        health.record("c", HealthEvent::Inbound).await;
        health.flush().await;
        assert!(last_inbound(&db).await.unwrap() >= later + 20);
    }
}

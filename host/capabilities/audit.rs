//! The audit trail of capability use (DESIGN §5): every HTTP request, secret
//! injection, db write, denial and leak block, with the component's name,
//! version and digest. Records go through a channel to one writer task, so
//! a call never waits on the database; `flush` waits until everything sent
//! so far is written (a short-lived CLI process calls it before exiting).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

use super::services::Caller;
use crate::store::domains::audit::StampedEntry;
use crate::store::domains::{AuditEntry, AuditLog};
use crate::store::now_ms;

/// Records written per database round trip at most.
const BATCH: usize = 256;

/// Records one component may add per second. A guest looping on a denied
/// call inside one invocation could otherwise queue millions of rows; past
/// the budget records are counted, and the count is recorded once
/// (`audit.suppressed`) when the next second begins.
pub const PER_COMPONENT_PER_SECOND: u32 = 200;

#[derive(Default)]
struct Bucket {
    since: Option<Instant>,
    used: u32,
    suppressed: u64,
}

impl Bucket {
    /// Whether one more record fits, and how many were suppressed in the
    /// window that just ended (to be recorded first).
    fn take(&mut self, now: Instant) -> (bool, u64) {
        let mut ended = 0;
        if self
            .since
            .is_none_or(|t| now.duration_since(t) >= Duration::from_secs(1))
        {
            ended = std::mem::take(&mut self.suppressed);
            self.since = Some(now);
            self.used = 0;
        }
        if self.used < PER_COMPONENT_PER_SECOND {
            self.used += 1;
            (true, ended)
        } else {
            self.suppressed += 1;
            (false, ended)
        }
    }
}

struct Record {
    /// When it happened, not when the writer got to it.
    at: i64,
    actor: Arc<str>,
    action: &'static str,
    detail: String,
}

enum Message {
    Record(Record),
    Flush(oneshot::Sender<()>),
}

/// Writes `records` in one transaction and empties the list. A failed
/// batch is logged with what it held (actors and actions, never details)
/// and dropped: the writer must keep up with the calls.
async fn write(log: &dyn AuditLog, records: &mut Vec<Record>) {
    if records.is_empty() {
        return;
    }
    let entries: Vec<StampedEntry<'_>> = records
        .iter()
        .map(|r| StampedEntry {
            at: r.at,
            entry: AuditEntry {
                actor: &r.actor,
                action: r.action,
                detail: &r.detail,
            },
        })
        .collect();
    if let Err(e) = log.append_many(&entries).await {
        for r in records.iter() {
            tracing::error!(actor = %r.actor, action = r.action, error = %e, "audit record lost");
        }
    }
    drop(entries);
    records.clear();
}

/// `detail` as written to the log: the caller's version and digest added
/// to an object.
pub fn with_caller(caller: &Caller, mut detail: Value) -> String {
    if let Value::Object(map) = &mut detail {
        map.insert("version".into(), json!(caller.version));
        map.insert("digest".into(), json!(caller.digest));
    }
    detail.to_string()
}

/// Where audit records go; `AuditSink::default()` drops them (tests and
/// tools without a database).
#[derive(Clone, Default)]
pub struct AuditSink {
    tx: Option<mpsc::UnboundedSender<Message>>,
    budgets: Arc<Mutex<HashMap<Arc<str>, Bucket>>>,
}

impl AuditSink {
    /// Starts the writer task on the current tokio runtime.
    pub fn spawn(log: Arc<dyn AuditLog>) -> AuditSink {
        let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            let mut records = Vec::with_capacity(BATCH);
            while rx.recv_many(&mut batch, BATCH).await > 0 {
                for message in batch.drain(..) {
                    match message {
                        Message::Record(record) => records.push(record),
                        // Everything received before the flush is written
                        // before it is answered.
                        Message::Flush(done) => {
                            write(log.as_ref(), &mut records).await;
                            let _ = done.send(());
                        }
                    }
                }
                write(log.as_ref(), &mut records).await;
            }
        });
        AuditSink {
            tx: Some(tx),
            budgets: Arc::default(),
        }
    }

    /// Records `action` by `caller`; `detail` gets the caller's version and
    /// digest added. Never a secret value in `detail`: names only.
    pub fn record(&self, caller: &Caller, action: &'static str, detail: Value) {
        self.record_with(caller, action, || with_caller(caller, detail));
    }

    /// [`AuditSink::record`] for a hot path: `detail` writes the JSON object
    /// itself, holding the caller's `version` and `digest` with its keys in
    /// sorted order, as `record` would write them. It is called only when
    /// the record fits the caller's budget, so a suppressed record costs no
    /// serialization at all. The budget applies exactly as for `record`.
    pub fn record_with(
        &self,
        caller: &Caller,
        action: &'static str,
        detail: impl FnOnce() -> String,
    ) {
        let Some(tx) = self.admit(caller) else { return };
        let _ = tx.send(Message::Record(Record {
            at: now_ms(),
            actor: caller.name.clone(),
            action,
            detail: detail(),
        }));
    }

    /// The channel, when one more record by `caller` fits its budget;
    /// records the count of suppressed ones when a new second begins.
    fn admit(&self, caller: &Caller) -> Option<&mpsc::UnboundedSender<Message>> {
        let tx = self.tx.as_ref()?;
        let (fits, suppressed) = match self.budgets.lock() {
            Ok(mut b) => b
                .entry(caller.name.clone())
                .or_default()
                .take(Instant::now()),
            Err(_) => (true, 0),
        };
        if suppressed > 0 {
            let _ = tx.send(Message::Record(Record {
                at: now_ms(),
                actor: caller.name.clone(),
                action: "audit.suppressed",
                detail:
                    json!({ "records": suppressed, "budget_per_second": PER_COMPONENT_PER_SECOND })
                        .to_string(),
            }));
        }
        fits.then_some(tx)
    }

    /// Waits until every record sent before this call is written.
    pub async fn flush(&self) {
        let Some(tx) = &self.tx else { return };
        let (done, wait) = oneshot::channel();
        if tx.send(Message::Flush(done)).is_ok() {
            let _ = wait.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_is_capped_per_second_and_counted_once() {
        let mut b = Bucket::default();
        let t0 = Instant::now();
        for _ in 0..PER_COMPONENT_PER_SECOND {
            assert_eq!(b.take(t0), (true, 0));
        }
        for _ in 0..1000 {
            assert_eq!(b.take(t0), (false, 0));
        }
        let t1 = t0 + Duration::from_millis(1001);
        assert_eq!(
            b.take(t1),
            (true, 1000),
            "the next second reports what was dropped"
        );
        assert_eq!(b.take(t1), (true, 0));
    }
}

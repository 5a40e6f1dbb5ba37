//! The audit trail of capability use (DESIGN §5): every HTTP request, secret
//! injection, db write, denial and leak block, with the component's name,
//! version and digest. Records go through a channel to one writer task, so
//! a call never waits on the database; `flush` waits until everything sent
//! so far is written (a short-lived CLI process calls it before exiting).

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

use super::services::Caller;
use crate::store::domains::audit::StampedEntry;
use crate::store::domains::{AuditEntry, AuditLog};
use crate::store::now_ms;

/// Records written per database round trip at most.
const BATCH: usize = 256;

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

/// Where audit records go; `AuditSink::default()` drops them (tests and
/// tools without a database).
#[derive(Clone, Default)]
pub struct AuditSink {
    tx: Option<mpsc::UnboundedSender<Message>>,
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
        AuditSink { tx: Some(tx) }
    }

    /// Records `action` by `caller`; `detail` gets the caller's version and
    /// digest added. Never a secret value in `detail`: names only.
    pub fn record(&self, caller: &Caller, action: &'static str, mut detail: Value) {
        let Some(tx) = &self.tx else { return };
        if let Value::Object(map) = &mut detail {
            map.insert("version".into(), json!(caller.version));
            map.insert("digest".into(), json!(caller.digest));
        }
        let _ = tx.send(Message::Record(Record {
            at: now_ms(),
            actor: caller.name.clone(),
            action,
            detail: detail.to_string(),
        }));
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

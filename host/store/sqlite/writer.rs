//! One writer thread per database, committing in groups.
//!
//! SQLite admits one writer at a time. Sending every write of every task
//! through the blocking pool made each one a thread handoff and had the
//! pooled connections fight over the write lock (busy-handler sleeps of
//! 1–10 ms under load). Here one thread owns the writing connection: it
//! takes the first queued write, then whatever else is already queued, and
//! commits them together — one WAL append and one lock round for the
//! group, each write inside its own savepoint so one that fails (or a
//! guarded batch that changes nothing) is undone alone. Callers are
//! answered only after the commit, so a write acknowledged is a write kept.
//!
//! Checkpoints are mostly off this path: the writer connection never
//! checkpoints on commit; every so many commits it nudges a second thread
//! that copies the WAL back into the database (PASSIVE, so it never blocks
//! the writer). That copy can never finish by itself under steady writes —
//! frames keep arriving while it runs — and SQLite restarts the WAL from
//! its beginning only once every frame is copied, so the file would grow
//! without end (each commit then extends it: new page-cache pages and block
//! allocation on every write). So once the second thread is done, the
//! writer copies the few frames added since, at a moment when no write is
//! waiting, and its next commit starts the WAL over.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TryRecvError};

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::sql::{execute, query};
use crate::store::StoreError;
use crate::store::sql::{Row, Stmt, Value};

/// Most writes one transaction takes: bounds how long the first caller of
/// a busy group waits for the commit.
const MAX_GROUP: usize = 64;
/// Commits between two checkpoint nudges. A webhook writes 3–4 pages, so
/// this keeps the WAL near SQLite's default checkpoint size (1,000 pages).
const COMMITS_PER_CHECKPOINT: u32 = 256;

/// One write (or a read that must see the writer's state, such as
/// `INSERT … RETURNING`), with where its answer goes.
pub(super) enum Job {
    Execute {
        sql: &'static str,
        params: Vec<Value>,
        reply: oneshot::Sender<Result<u64, StoreError>>,
    },
    Query {
        sql: &'static str,
        params: Vec<Value>,
        reply: oneshot::Sender<Result<Vec<Row>, StoreError>>,
    },
    Batch {
        stmts: Vec<Stmt>,
        reply: oneshot::Sender<Result<bool, StoreError>>,
    },
}

/// A job's result, held until its group's commit decides what it is.
enum Done {
    Execute(
        oneshot::Sender<Result<u64, StoreError>>,
        Result<u64, StoreError>,
    ),
    Query(
        oneshot::Sender<Result<Vec<Row>, StoreError>>,
        Result<Vec<Row>, StoreError>,
    ),
    Batch(
        oneshot::Sender<Result<bool, StoreError>>,
        Result<bool, StoreError>,
    ),
}

impl Done {
    /// Whether the job's changes stay: failed writes and guarded batches
    /// that were not applied are rolled back.
    fn keeps(&self) -> bool {
        match self {
            Done::Execute(_, r) => r.is_ok(),
            Done::Query(_, r) => r.is_ok(),
            Done::Batch(_, r) => matches!(r, Ok(true)),
        }
    }

    fn send(self) {
        // A caller that stopped waiting is no error of the writer's.
        match self {
            Done::Execute(tx, r) => drop(tx.send(r)),
            Done::Query(tx, r) => drop(tx.send(r)),
            Done::Batch(tx, r) => drop(tx.send(r)),
        }
    }

    /// The commit failed: nothing of the group was kept.
    fn fail(self, error: &StoreError) {
        let e = || StoreError::Database(format!("commit failed: {error}"));
        match self {
            Done::Execute(tx, Ok(_)) => drop(tx.send(Err(e()))),
            Done::Query(tx, Ok(_)) => drop(tx.send(Err(e()))),
            Done::Batch(tx, Ok(true)) => drop(tx.send(Err(e()))),
            other => other.send(),
        }
    }
}

impl Job {
    fn fail(self, error: StoreError) {
        match self {
            Job::Execute { reply, .. } => drop(reply.send(Err(error))),
            Job::Query { reply, .. } => drop(reply.send(Err(error))),
            Job::Batch { reply, .. } => drop(reply.send(Err(error))),
        }
    }

    /// Runs the job on `conn`, inside whatever transaction is open.
    fn run(self, conn: &Connection) -> Done {
        match self {
            Job::Execute { sql, params, reply } => {
                Done::Execute(reply, execute(conn, sql, &params))
            }
            Job::Query { sql, params, reply } => Done::Query(reply, query(conn, sql, &params)),
            Job::Batch { stmts, reply } => Done::Batch(reply, run_batch(conn, &stmts)),
        }
    }
}

fn run_batch(conn: &Connection, stmts: &[Stmt]) -> Result<bool, StoreError> {
    for s in stmts {
        let changed = execute(conn, s.sql, &s.params)?;
        if s.must_change && changed == 0 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The handle the database keeps; the thread ends when the last clone of
/// the database (and so this sender) is dropped.
pub(super) struct Writer {
    jobs: Sender<Job>,
}

impl Writer {
    /// Opens the writing connection and starts its thread.
    pub(super) fn start(path: &Path) -> Result<Writer, StoreError> {
        let conn = super::connect(path)?;
        conn.execute_batch("PRAGMA wal_autocheckpoint = 0;")
            .map_err(|e| StoreError::Open {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
        let (jobs, rx) = mpsc::channel();
        let checkpoints = start_checkpointer(path.to_path_buf())?;
        std::thread::Builder::new()
            .name("ironclaw-sqlite-writer".into())
            .spawn(move || write_loop(conn, rx, checkpoints))
            .map_err(|e| StoreError::Worker(format!("cannot start the SQLite writer: {e}")))?;
        Ok(Writer { jobs })
    }

    pub(super) fn submit(&self, job: Job) {
        if let Err(mpsc::SendError(job)) = self.jobs.send(job) {
            job.fail(StoreError::Worker("the SQLite writer has stopped".into()));
        }
    }
}

fn write_loop(conn: Connection, rx: Receiver<Job>, checkpoints: Checkpointer) {
    let mut commits = 0u32;
    loop {
        let first = match rx.try_recv() {
            Ok(job) => job,
            Err(TryRecvError::Disconnected) => break,
            Err(TryRecvError::Empty) => {
                // Nothing waits: the moment to finish a checkpoint.
                if checkpoints.backfilled.swap(false, Ordering::AcqRel) {
                    checkpoint(&conn);
                }
                match rx.recv() {
                    Ok(job) => job,
                    Err(_) => break,
                }
            }
        };
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(job) => group.push(job),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        if group.len() == 1 {
            run_alone(&conn, group.remove(0));
        } else {
            run_group(&conn, group);
        }
        commits += 1;
        if commits >= COMMITS_PER_CHECKPOINT {
            commits = 0;
            // Full: a checkpoint is already due; nothing to add.
            let _ = checkpoints.nudge.try_send(());
        }
    }
}

fn checkpoint(conn: &Connection) {
    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
        tracing::warn!("WAL checkpoint failed: {e}");
    }
}

/// A lone write runs as it would on any connection: a statement in
/// autocommit, a batch in its own IMMEDIATE transaction.
fn run_alone(conn: &Connection, job: Job) {
    match job {
        Job::Batch { stmts, reply } => {
            let _ = reply.send(batch_transaction(conn, &stmts));
        }
        other => other.run(conn).send(),
    }
}

fn batch_transaction(conn: &Connection, stmts: &[Stmt]) -> Result<bool, StoreError> {
    exec(conn, "BEGIN IMMEDIATE")?;
    match run_batch(conn, stmts) {
        Ok(true) => match exec(conn, "COMMIT") {
            Ok(()) => Ok(true),
            Err(e) => {
                let _ = exec(conn, "ROLLBACK");
                Err(e)
            }
        },
        other => {
            let _ = exec(conn, "ROLLBACK");
            other
        }
    }
}

fn run_group(conn: &Connection, group: Vec<Job>) {
    let mut done: Vec<Done> = Vec::with_capacity(group.len());
    let mut open = false;
    for job in group {
        if !open {
            if let Err(e) = exec(conn, "BEGIN IMMEDIATE") {
                job.fail(e);
                continue;
            }
            open = true;
        }
        if let Err(e) = exec(conn, "SAVEPOINT job") {
            job.fail(e);
            continue;
        }
        let result = job.run(conn);
        if conn.is_autocommit() {
            // Some errors (a full disk, an I/O error) make SQLite roll back
            // the whole transaction: what the group did so far is gone.
            let why = StoreError::Database("SQLite rolled the transaction back".into());
            done.drain(..).for_each(|d| d.fail(&why));
            result.fail(&why);
            open = false;
            continue;
        }
        if !result.keeps() {
            let _ = exec(conn, "ROLLBACK TO job");
        }
        let _ = exec(conn, "RELEASE job");
        done.push(result);
    }
    if !open {
        return;
    }
    match exec(conn, "COMMIT") {
        Ok(()) => done.into_iter().for_each(Done::send),
        Err(e) => {
            let _ = exec(conn, "ROLLBACK");
            for d in done {
                d.fail(&e);
            }
        }
    }
}

fn exec(conn: &Connection, sql: &str) -> Result<(), StoreError> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

struct Checkpointer {
    nudge: SyncSender<()>,
    /// Set by the checkpoint thread when it has copied what it saw.
    backfilled: Arc<AtomicBool>,
}

/// The checkpoint thread: copies the WAL into the database when nudged,
/// with its own connection, and ends with the writer.
fn start_checkpointer(path: PathBuf) -> Result<Checkpointer, StoreError> {
    let (nudge, rx) = mpsc::sync_channel::<()>(1);
    let backfilled = Arc::new(AtomicBool::new(false));
    let done = backfilled.clone();
    std::thread::Builder::new()
        .name("ironclaw-sqlite-checkpoint".into())
        .spawn(move || {
            let mut conn: Option<Connection> = None;
            while rx.recv().is_ok() {
                if conn.is_none() {
                    conn = super::connect(&path)
                        .inspect_err(|e| tracing::warn!("cannot open for checkpoints: {e}"))
                        .ok();
                }
                if let Some(c) = &conn {
                    checkpoint(c);
                    done.store(true, Ordering::Release);
                }
            }
        })
        .map_err(|e| StoreError::Worker(format!("cannot start the SQLite checkpointer: {e}")))?;
    Ok(Checkpointer { nudge, backfilled })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql_params;

    fn writer() -> (tempfile::TempDir, Writer) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let conn = super::super::connect(&path).unwrap();
        conn.execute_batch("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)")
            .unwrap();
        (dir, Writer::start(&path).unwrap())
    }

    fn insert(w: &Writer, k: &str) -> oneshot::Receiver<Result<u64, StoreError>> {
        let (reply, rx) = oneshot::channel();
        w.submit(Job::Execute {
            sql: "INSERT INTO t (k, v) VALUES ($1, 1)",
            params: sql_params![k],
            reply,
        });
        rx
    }

    fn count(dir: &tempfile::TempDir) -> i64 {
        let conn = Connection::open(dir.path().join("w.db")).unwrap();
        conn.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .unwrap()
    }

    #[tokio::test]
    async fn a_failing_write_in_a_group_is_undone_alone() {
        let (dir, w) = writer();
        // Queued back to back, these land in one or a few groups; the
        // duplicate key fails, the guarded batch changes nothing.
        let mut answers = Vec::new();
        for i in 0..40 {
            answers.push(insert(&w, &format!("k{i}")));
        }
        let dup = insert(&w, "k3");
        let (reply, guarded) = oneshot::channel();
        w.submit(Job::Batch {
            stmts: vec![
                Stmt::new("INSERT INTO t (k, v) VALUES ('b1', 1)", vec![]),
                Stmt::guarded("UPDATE t SET v = 2 WHERE k = 'nobody'", vec![]),
            ],
            reply,
        });
        let (reply, returning) = oneshot::channel();
        w.submit(Job::Query {
            sql: "INSERT INTO t (k, v) VALUES ('r', 7) RETURNING v",
            params: vec![],
            reply,
        });
        for a in answers {
            assert_eq!(a.await.unwrap().unwrap(), 1);
        }
        assert!(dup.await.unwrap().is_err());
        assert!(
            !guarded.await.unwrap().unwrap(),
            "guarded batch not applied"
        );
        let rows = returning.await.unwrap().unwrap();
        assert_eq!(rows[0].int(0).unwrap(), 7);
        // 40 inserts + the RETURNING one; not the batch's row, not the duplicate.
        assert_eq!(count(&dir), 41);
    }

    #[tokio::test]
    async fn a_lone_batch_commits_or_rolls_back_whole() {
        let (dir, w) = writer();
        let (reply, ok) = oneshot::channel();
        w.submit(Job::Batch {
            stmts: vec![
                Stmt::new("INSERT INTO t (k, v) VALUES ('a', 1)", vec![]),
                Stmt::guarded("UPDATE t SET v = 2 WHERE k = 'a'", vec![]),
            ],
            reply,
        });
        assert!(ok.await.unwrap().unwrap());
        let (reply, failed) = oneshot::channel();
        w.submit(Job::Batch {
            stmts: vec![
                Stmt::new("INSERT INTO t (k, v) VALUES ('b', 1)", vec![]),
                Stmt::new("INSERT INTO t (k, v) VALUES ('a', 1)", vec![]),
            ],
            reply,
        });
        assert!(failed.await.unwrap().is_err());
        assert_eq!(count(&dir), 1);
    }

    /// How many times the WAL has started over: the checkpoint sequence
    /// number in its header (big-endian, bytes 12..16), which SQLite
    /// increments at every restart.
    fn wal_restarts(dir: &tempfile::TempDir) -> u32 {
        let wal = std::fs::read(dir.path().join("w.db-wal")).unwrap();
        u32::from_be_bytes(wal[12..16].try_into().unwrap())
    }

    #[tokio::test]
    async fn the_wal_starts_over_under_steady_writes() {
        let (dir, w) = writer();
        insert(&w, "first").await.unwrap().unwrap();
        let before = wal_restarts(&dir);
        // One commit after another, as a busy channel makes them: the WAL
        // must be copied back and restarted, not grow by every commit.
        // Without the writer's own last copy it started over at most once
        // in these 3,000 commits (and grew to 27 MB); with it, 6–11 times.
        // The file's size is no measure: it keeps its largest extent, and
        // how large that gets depends on when the checkpoint thread gets a
        // core.
        let i = 3000;
        for k in 0..i {
            insert(&w, &format!("k{k}")).await.unwrap().unwrap();
        }
        let restarts = wal_restarts(&dir) - before;
        assert!(
            restarts >= 2,
            "the WAL started over {restarts} times in {i} commits"
        );
        assert_eq!(count(&dir), i + 1);
    }
}

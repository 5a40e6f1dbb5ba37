//! [`Sql`] on SQLite: reads run on the blocking pool through
//! [`SqliteDb::call`]; everything else goes to the database's one writer
//! thread, which commits concurrent writes together (`writer.rs`).

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ToSql, params_from_iter};

use tokio::sync::oneshot;

use super::SqliteDb;
use super::writer::Job;
use crate::store::StoreError;
use crate::store::sql::{Dialect, Row, Sql, Stmt, Value, to_sqlite_placeholders};

impl ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Value::Real(v) => ToSqlOutput::Borrowed(ValueRef::Real(*v)),
            Value::Text(v) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
            Value::Blob(v) => ToSqlOutput::Borrowed(ValueRef::Blob(v)),
            Value::Bool(v) => ToSqlOutput::Borrowed(ValueRef::Integer(i64::from(*v))),
        })
    }
}

fn from_ref(v: ValueRef<'_>) -> Result<Value, StoreError> {
    Ok(match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(r) => Value::Real(r),
        ValueRef::Text(t) => Value::Text(
            std::str::from_utf8(t)
                .map_err(|e| StoreError::Database(format!("text column is not UTF-8: {e}")))?
                .to_string(),
        ),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    })
}

pub(super) fn execute(conn: &Connection, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
    let mut stmt = conn.prepare_cached(&to_sqlite_placeholders(sql))?;
    // `raw_execute` also accepts statements that return rows (RETURNING).
    for (i, p) in params.iter().enumerate() {
        stmt.raw_bind_parameter(i + 1, p)?;
    }
    stmt.raw_execute()?;
    Ok(conn.changes())
}

pub(super) fn query(
    conn: &Connection,
    sql: &str,
    params: &[Value],
) -> Result<Vec<Row>, StoreError> {
    let mut stmt = conn.prepare_cached(&to_sqlite_placeholders(sql))?;
    let width = stmt.column_count();
    let mut rows = stmt.query(params_from_iter(params.iter()))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let mut values = Vec::with_capacity(width);
        for i in 0..width {
            values.push(from_ref(r.get_ref(i)?)?);
        }
        out.push(Row(values));
    }
    Ok(out)
}

/// A statement that only reads: plain `SELECT`s run beside the writer on
/// the pooled connections. Anything else (including `WITH`, which may
/// front a write) goes to the writer.
fn is_read(sql: &str) -> bool {
    sql.trim_start()
        .get(..6)
        .is_some_and(|w| w.eq_ignore_ascii_case("select"))
}

fn stopped(_: oneshot::error::RecvError) -> StoreError {
    StoreError::Worker("the SQLite writer stopped before answering".into())
}

#[async_trait::async_trait]
impl Sql for SqliteDb {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    async fn execute(&self, sql: &'static str, params: Vec<Value>) -> Result<u64, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.writer.submit(Job::Execute { sql, params, reply });
        answer.await.map_err(stopped)?
    }

    async fn query(&self, sql: &'static str, params: Vec<Value>) -> Result<Vec<Row>, StoreError> {
        if is_read(sql) {
            return self.call(move |conn| query(conn, sql, &params)).await;
        }
        // `INSERT … RETURNING` and the like are writes.
        let (reply, answer) = oneshot::channel();
        self.writer.submit(Job::Query { sql, params, reply });
        answer.await.map_err(stopped)?
    }

    async fn batch(&self, stmts: Vec<Stmt>) -> Result<bool, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.writer.submit(Job::Batch { stmts, reply });
        answer.await.map_err(stopped)?
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_plain_selects_count_as_reads() {
        assert!(super::is_read("  select 1"));
        assert!(super::is_read("SELECT id FROM t"));
        assert!(!super::is_read("INSERT INTO t VALUES (1) RETURNING id"));
        assert!(!super::is_read("WITH x AS (SELECT 1) DELETE FROM t"));
        assert!(!super::is_read("SEL"));
    }
}

//! [`Sql`] on SQLite: statements run on the blocking pool through
//! [`SqliteDb::call`]; batches run in an IMMEDIATE (writer) transaction.

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ToSql, params_from_iter};

use super::SqliteDb;
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

fn execute(conn: &Connection, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
    let mut stmt = conn.prepare_cached(&to_sqlite_placeholders(sql))?;
    // `raw_execute` also accepts statements that return rows (RETURNING).
    for (i, p) in params.iter().enumerate() {
        stmt.raw_bind_parameter(i + 1, p)?;
    }
    stmt.raw_execute()?;
    Ok(conn.changes())
}

fn query(conn: &Connection, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
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

#[async_trait::async_trait]
impl Sql for SqliteDb {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    async fn execute(&self, sql: &'static str, params: Vec<Value>) -> Result<u64, StoreError> {
        self.call(move |conn| execute(conn, sql, &params)).await
    }

    async fn query(&self, sql: &'static str, params: Vec<Value>) -> Result<Vec<Row>, StoreError> {
        self.call(move |conn| query(conn, sql, &params)).await
    }

    async fn batch(&self, stmts: Vec<Stmt>) -> Result<bool, StoreError> {
        self.call(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            for s in &stmts {
                let changed = execute(&tx, s.sql, &s.params)?;
                if s.must_change && changed == 0 {
                    return Ok(false); // dropping `tx` rolls back
                }
            }
            tx.commit()?;
            Ok(true)
        })
        .await
    }
}

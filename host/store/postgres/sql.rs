//! [`Sql`] on PostgreSQL: cached prepared statements on pooled connections.

use bytes::BytesMut;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

use super::PgDb;
use crate::store::StoreError;
use crate::store::sql::{Dialect, Row, Sql, Stmt, Value};

type BoxError = Box<dyn std::error::Error + Sync + Send>;

/// Serialises `v` as `ty` when `T` can be that type, else says which
/// parameter type the server wanted (instead of sending the wrong bytes).
fn encode<T: ToSql>(v: &T, what: &str, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
    if T::accepts(ty) {
        v.to_sql(ty, out)
    } else {
        Err(format!("parameter of type {ty} was given {what}").into())
    }
}

impl ToSql for Value {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(v) if *ty == Type::INT4 => {
                encode(&i32::try_from(*v)?, "an integer", ty, out)
            }
            Value::Int(v) => encode(v, "an integer", ty, out),
            Value::Real(v) => encode(v, "a real", ty, out),
            Value::Text(v) => encode(v, "text", ty, out),
            Value::Blob(v) => encode(v, "bytes", ty, out),
            Value::Bool(v) => encode(v, "a boolean", ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn to_row(row: &tokio_postgres::Row) -> Result<Row, StoreError> {
    let mut values = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let ty = column.type_();
        let value = if *ty == Type::INT8 {
            row.try_get::<_, Option<i64>>(i)?.map(Value::Int)
        } else if *ty == Type::INT4 {
            row.try_get::<_, Option<i32>>(i)?
                .map(|v| Value::Int(v.into()))
        } else if *ty == Type::INT2 {
            row.try_get::<_, Option<i16>>(i)?
                .map(|v| Value::Int(v.into()))
        } else if *ty == Type::TEXT || *ty == Type::VARCHAR || *ty == Type::NAME {
            row.try_get::<_, Option<String>>(i)?.map(Value::Text)
        } else if *ty == Type::BYTEA {
            row.try_get::<_, Option<Vec<u8>>>(i)?.map(Value::Blob)
        } else if *ty == Type::BOOL {
            row.try_get::<_, Option<bool>>(i)?.map(Value::Bool)
        } else if *ty == Type::FLOAT8 {
            row.try_get::<_, Option<f64>>(i)?.map(Value::Real)
        } else {
            return Err(StoreError::Database(format!(
                "column `{}` has type {ty}, which the store does not read",
                column.name()
            )));
        };
        values.push(value.unwrap_or(Value::Null));
    }
    Ok(Row(values))
}

fn refs(params: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

#[async_trait::async_trait]
impl Sql for PgDb {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    async fn execute(&self, sql: &'static str, params: Vec<Value>) -> Result<u64, StoreError> {
        let client = self.pool().get().await?;
        let stmt = client.prepare_cached(sql).await?;
        Ok(client.execute(&stmt, &refs(&params)).await?)
    }

    async fn query(&self, sql: &'static str, params: Vec<Value>) -> Result<Vec<Row>, StoreError> {
        let client = self.pool().get().await?;
        let stmt = client.prepare_cached(sql).await?;
        let rows = client.query(&stmt, &refs(&params)).await?;
        rows.iter().map(to_row).collect()
    }

    async fn batch(&self, stmts: Vec<Stmt>) -> Result<bool, StoreError> {
        let mut client = self.pool().get().await?;
        let tx = client.transaction().await?;
        for s in &stmts {
            let stmt = tx.prepare_cached(s.sql).await?;
            let changed = tx.execute(&stmt, &refs(&s.params)).await?;
            if s.must_change && changed == 0 {
                tx.rollback().await?;
                return Ok(false);
            }
        }
        tx.commit().await?;
        Ok(true)
    }
}

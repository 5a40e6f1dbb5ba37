//! The small SQL surface the domain stores are written against, so each
//! domain's queries exist once for both backends. Statements use `$1, $2…`
//! placeholders (PostgreSQL's; SQLite receives them rewritten to `?1, ?2…`)
//! and only SQL both dialects accept: `ON CONFLICT … DO UPDATE`, `RETURNING`,
//! `CAST(… AS TEXT)`. Memory search is not here: FTS and vector search differ
//! too much and live in each backend's own module.

use super::StoreError;

/// A parameter or a column value. Integers are 64-bit everywhere (PostgreSQL
/// columns are BIGINT) so one value fits both backends.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
    Bool(bool),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Self {
        Value::Blob(v.to_vec())
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Blob(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// `params![a, b]` for [`Sql`]: a `Vec<Value>`.
#[macro_export]
macro_rules! sql_params {
    ($($v:expr),* $(,)?) => { vec![$($crate::store::sql::Value::from($v)),*] };
}

/// One result row, with typed accessors that fail with the column's index.
#[derive(Debug, Clone, PartialEq)]
pub struct Row(pub Vec<Value>);

fn column_error(index: usize, expected: &str, got: &Value) -> StoreError {
    StoreError::Database(format!(
        "column {index}: expected {expected}, found {got:?}"
    ))
}

impl Row {
    fn at(&self, i: usize) -> Result<&Value, StoreError> {
        self.0
            .get(i)
            .ok_or_else(|| StoreError::Database(format!("column {i} is missing")))
    }

    pub fn int(&self, i: usize) -> Result<i64, StoreError> {
        match self.at(i)? {
            Value::Int(v) => Ok(*v),
            other => Err(column_error(i, "an integer", other)),
        }
    }

    pub fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        match self.at(i)? {
            Value::Null => Ok(None),
            _ => self.int(i).map(Some),
        }
    }

    pub fn text(&self, i: usize) -> Result<String, StoreError> {
        match self.at(i)? {
            Value::Text(v) => Ok(v.clone()),
            other => Err(column_error(i, "text", other)),
        }
    }

    pub fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        match self.at(i)? {
            Value::Null => Ok(None),
            _ => self.text(i).map(Some),
        }
    }

    pub fn blob(&self, i: usize) -> Result<Vec<u8>, StoreError> {
        match self.at(i)? {
            Value::Blob(v) => Ok(v.clone()),
            other => Err(column_error(i, "bytes", other)),
        }
    }

    /// SQLite has no boolean type: 0 and 1 count.
    pub fn bool(&self, i: usize) -> Result<bool, StoreError> {
        match self.at(i)? {
            Value::Bool(v) => Ok(*v),
            Value::Int(v) => Ok(*v != 0),
            other => Err(column_error(i, "a boolean", other)),
        }
    }
}

/// One statement of a [`Sql::batch`].
#[derive(Debug, Clone)]
pub struct Stmt {
    pub sql: &'static str,
    pub params: Vec<Value>,
    /// When set and the statement changes no row, the whole batch is rolled
    /// back and reported as not applied (a guarded state transition).
    pub must_change: bool,
}

impl Stmt {
    pub fn new(sql: &'static str, params: Vec<Value>) -> Stmt {
        Stmt {
            sql,
            params,
            must_change: false,
        }
    }

    pub fn guarded(sql: &'static str, params: Vec<Value>) -> Stmt {
        Stmt {
            sql,
            params,
            must_change: true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// Executes statements on one backend. Implemented by `SqliteDb` (on the
/// blocking pool) and `PgDb` (pooled async connections).
#[async_trait::async_trait]
pub trait Sql: Send + Sync {
    fn dialect(&self) -> Dialect;
    /// Rows changed.
    async fn execute(&self, sql: &'static str, params: Vec<Value>) -> Result<u64, StoreError>;
    async fn query(&self, sql: &'static str, params: Vec<Value>) -> Result<Vec<Row>, StoreError>;
    /// Runs every statement in one transaction (a writer transaction on
    /// SQLite). `Ok(false)` when a guarded statement changed nothing and the
    /// batch was rolled back.
    async fn batch(&self, stmts: Vec<Stmt>) -> Result<bool, StoreError>;

    async fn query_opt(
        &self,
        sql: &'static str,
        params: Vec<Value>,
    ) -> Result<Option<Row>, StoreError> {
        Ok(self.query(sql, params).await?.into_iter().next())
    }
}

/// `$1` → `?1` outside string literals, for SQLite. (SQLite would read `$1`
/// as a *named* parameter numbered by first appearance, which breaks as soon
/// as a statement mentions `$2` before `$1`.)
pub fn to_sqlite_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut in_string = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            in_string = !in_string;
        }
        if c == '$' && !in_string && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_rewritten_outside_strings() {
        assert_eq!(
            to_sqlite_placeholders("SELECT '$1', $2 WHERE a = $10"),
            "SELECT '$1', ?2 WHERE a = ?10"
        );
    }

    #[test]
    fn rows_convert_and_name_the_column_on_error() {
        let row = Row(vec![Value::Int(1), Value::Null, Value::Text("x".into())]);
        assert!(row.bool(0).unwrap());
        assert_eq!(row.opt_text(1).unwrap(), None);
        let err = row.int(2).unwrap_err().to_string();
        assert!(err.contains("column 2"), "{err}");
        assert!(row.int(7).is_err());
    }
}

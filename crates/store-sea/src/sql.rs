//! The raw-SQL helpers the domain stores share: statements written once with `?`
//! placeholders (rewritten for PostgreSQL by [`crate::jobs::stmt`]), and driver errors mapped
//! to the domain's `StoreError` (a uniqueness violation is `Duplicate`, an unreachable
//! database `Unavailable`).

use crate::StoreError as DbStoreError;
use crate::jobs::stmt;
use accounts::StoreError;
use sea_orm::{ConnectionTrait, FromQueryResult, QueryResult, Value};

pub(crate) fn err(e: impl Into<DbStoreError>) -> StoreError {
    match e.into() {
        DbStoreError::Conflict(_) => StoreError::Duplicate,
        DbStoreError::Unavailable(m) => StoreError::Unavailable(m),
        other => StoreError::Other(other.to_string()),
    }
}

/// Runs one statement (SQL with `?` placeholders) and returns the rows it touched.
pub(crate) async fn exec<C: ConnectionTrait>(
    c: &C,
    sql: &str,
    values: Vec<Value>,
) -> Result<u64, StoreError> {
    c.execute_raw(stmt(c.get_database_backend(), sql, values))
        .await
        .map(|r| r.rows_affected())
        .map_err(err)
}

pub(crate) async fn one<C: ConnectionTrait>(
    c: &C,
    sql: &str,
    values: Vec<Value>,
) -> Result<Option<QueryResult>, StoreError> {
    c.query_one_raw(stmt(c.get_database_backend(), sql, values))
        .await
        .map_err(err)
}

pub(crate) async fn all<C: ConnectionTrait>(
    c: &C,
    sql: &str,
    values: Vec<Value>,
) -> Result<Vec<QueryResult>, StoreError> {
    c.query_all_raw(stmt(c.get_database_backend(), sql, values))
        .await
        .map_err(err)
}

/// Decodes every row with `T::from_query_result`, then converts it.
pub(crate) fn decode<T: FromQueryResult, U>(
    rows: &[QueryResult],
    convert: impl Fn(T) -> Result<U, StoreError>,
) -> Result<Vec<U>, StoreError> {
    rows.iter()
        .map(|r| T::from_query_result(r, "").map_err(err).and_then(&convert))
        .collect()
}

pub(crate) fn decode_one<T: FromQueryResult, U>(
    row: Option<QueryResult>,
    convert: impl Fn(T) -> Result<U, StoreError>,
) -> Result<Option<U>, StoreError> {
    row.map(|r| T::from_query_result(&r, "").map_err(err).and_then(convert))
        .transpose()
}

/// A single `COUNT(*)` (or other integer) column named `n`.
pub(crate) async fn count<C: ConnectionTrait>(
    c: &C,
    sql: &str,
    values: Vec<Value>,
) -> Result<usize, StoreError> {
    let n: i64 = match one(c, sql, values).await? {
        Some(r) => r.try_get("", "n").map_err(err)?,
        None => 0,
    };
    Ok(usize::try_from(n).unwrap_or(0))
}

//! One query interface over both engines, so each query is written once.
//!
//! SQL is written in the dialect both engines share, with `?N` parameters;
//! PostgreSQL gets it with `$N` (translated once and kept prepared). Values
//! cross as [`V`] and come back through [`R`], a row of either engine.
//! Where the engines differ (schema, bulk paths), callers ask [`Db::is_pg`].

use super::pg::PgConn;
use super::{Result, StoreError};
use std::cell::RefCell;

/// A parameter value.
#[derive(Clone, Copy, Debug)]
pub enum V<'a> {
    Null,
    I(i64),
    T(&'a str),
    B(&'a [u8]),
}

impl From<i64> for V<'_> {
    fn from(v: i64) -> Self {
        V::I(v)
    }
}
impl From<u32> for V<'_> {
    fn from(v: u32) -> Self {
        V::I(v as i64)
    }
}
impl<'a> From<&'a str> for V<'a> {
    fn from(v: &'a str) -> Self {
        V::T(v)
    }
}
impl<'a> From<&'a String> for V<'a> {
    fn from(v: &'a String) -> Self {
        V::T(v)
    }
}
impl<'a> From<&'a [u8]> for V<'a> {
    fn from(v: &'a [u8]) -> Self {
        V::B(v)
    }
}
impl<'a, T> From<Option<T>> for V<'a>
where
    T: Into<V<'a>>,
{
    fn from(v: Option<T>) -> Self {
        v.map_or(V::Null, Into::into)
    }
}
impl<'a> From<&'a Option<String>> for V<'a> {
    fn from(v: &'a Option<String>) -> Self {
        v.as_deref().map_or(V::Null, V::T)
    }
}

/// An owned parameter value, for lists built at run time.
#[derive(Clone, Debug)]
pub enum Owned {
    Null,
    I(i64),
    T(String),
}

impl Owned {
    pub fn v(&self) -> V<'_> {
        match self {
            Owned::Null => V::Null,
            Owned::I(i) => V::I(*i),
            Owned::T(s) => V::T(s),
        }
    }
}
impl From<i64> for Owned {
    fn from(v: i64) -> Self {
        Owned::I(v)
    }
}
impl From<String> for Owned {
    fn from(v: String) -> Self {
        Owned::T(v)
    }
}
impl From<Option<String>> for Owned {
    fn from(v: Option<String>) -> Self {
        v.map_or(Owned::Null, Owned::T)
    }
}
impl<'a> From<&'a Owned> for V<'a> {
    fn from(v: &'a Owned) -> Self {
        v.v()
    }
}

/// `p![a, b]`: a parameter list.
macro_rules! p {
    () => { &[] as &[$crate::store::db::V<'_>] };
    ($($x:expr),+ $(,)?) => { &[$($crate::store::db::V::from($x)),+][..] };
}
pub(crate) use p;

impl rusqlite::ToSql for V<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match *self {
            V::Null => ValueRef::Null,
            V::I(i) => ValueRef::Integer(i),
            V::T(s) => ValueRef::Text(s.as_bytes()),
            V::B(b) => ValueRef::Blob(b),
        }))
    }
}

impl postgres::types::ToSql for V<'_> {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>>
    {
        use postgres::types::{IsNull, Type};
        match *self {
            V::Null => Ok(IsNull::Yes),
            V::I(i) if *ty == Type::INT4 => i32::try_from(i)?.to_sql(ty, out),
            V::I(i) => i.to_sql(ty, out),
            V::T(s) => s.to_sql(ty, out),
            V::B(b) => b.to_sql(ty, out),
        }
    }
    fn accepts(_: &postgres::types::Type) -> bool {
        true
    }
    postgres::types::to_sql_checked!();
}

/// One row of either engine.
pub enum R<'a> {
    Lite(&'a rusqlite::Row<'a>),
    Pg(&'a postgres::Row),
}

/// A column that cannot be read as the type asked for (the row is in hand:
/// no I/O fails here).
fn pg_err(e: postgres::Error) -> StoreError {
    StoreError::Corrupt(format!("a stored value has the wrong type: {e}"))
}

impl R<'_> {
    pub fn opt_i64(&self, i: usize) -> Result<Option<i64>> {
        match self {
            R::Lite(r) => Ok(r.get_ref(i)?.as_i64_or_null()?),
            R::Pg(r) => {
                use postgres::types::Type;
                let ty = r.columns()[i].type_().clone();
                Ok(if ty == Type::INT4 {
                    r.try_get::<_, Option<i32>>(i)
                        .map_err(pg_err)?
                        .map(i64::from)
                } else if ty == Type::INT2 {
                    r.try_get::<_, Option<i16>>(i)
                        .map_err(pg_err)?
                        .map(i64::from)
                } else if ty == Type::BOOL {
                    r.try_get::<_, Option<bool>>(i)
                        .map_err(pg_err)?
                        .map(i64::from)
                } else {
                    r.try_get::<_, Option<i64>>(i).map_err(pg_err)?
                })
            }
        }
    }
    pub fn i64(&self, i: usize) -> Result<i64> {
        self.opt_i64(i)?.ok_or_else(|| null_in(i))
    }
    pub fn opt_str(&self, i: usize) -> Result<Option<&str>> {
        match self {
            R::Lite(r) => match r.get_ref(i)? {
                rusqlite::types::ValueRef::Null => Ok(None),
                v => Ok(Some(v.as_str()?)),
            },
            R::Pg(r) => r.try_get(i).map_err(pg_err),
        }
    }
    pub fn str(&self, i: usize) -> Result<&str> {
        self.opt_str(i)?.ok_or_else(|| null_in(i))
    }
    pub fn string(&self, i: usize) -> Result<String> {
        self.str(i).map(str::to_string)
    }
    pub fn opt_string(&self, i: usize) -> Result<Option<String>> {
        Ok(self.opt_str(i)?.map(str::to_string))
    }
    /// A BLOB (SQLite) or BYTEA (PostgreSQL) column.
    pub fn blob(&self, i: usize) -> Result<&[u8]> {
        match self {
            R::Lite(r) => Ok(r.get_ref(i)?.as_blob()?),
            R::Pg(r) => r.try_get(i).map_err(pg_err),
        }
    }
    /// A text or binary column's bytes.
    pub fn bytes(&self, i: usize) -> Result<&[u8]> {
        match self {
            R::Lite(r) => Ok(r.get_ref(i)?.as_bytes()?),
            R::Pg(r) => match r.try_get::<_, &str>(i) {
                Ok(s) => Ok(s.as_bytes()),
                Err(_) => r.try_get::<_, &[u8]>(i).map_err(pg_err),
            },
        }
    }
}

fn null_in(i: usize) -> StoreError {
    StoreError::Corrupt(format!("column {i} is unexpectedly NULL"))
}

/// The summary a record writer computed, handed to the summary read of the
/// same transaction (see `RecordReads::snapshot_summary`).
pub type Pending = RefCell<Option<(i64, super::RecordsSummary)>>;

/// A connection or transaction of either engine.
#[derive(Clone, Copy)]
pub struct Db<'a> {
    pub e: Engine<'a>,
    pub pending: &'a Pending,
}

#[derive(Clone, Copy)]
pub enum Engine<'a> {
    Lite(&'a rusqlite::Connection),
    Pg(&'a PgConn),
}

impl<'a> Db<'a> {
    pub fn is_pg(&self) -> bool {
        matches!(self.e, Engine::Pg(_))
    }

    /// The SQLite connection, for the paths written for it alone.
    pub fn lite(&self) -> Option<&'a rusqlite::Connection> {
        match self.e {
            Engine::Lite(c) => Some(c),
            Engine::Pg(_) => None,
        }
    }

    pub fn pg(&self) -> Option<&'a PgConn> {
        match self.e {
            Engine::Pg(c) => Some(c),
            Engine::Lite(_) => None,
        }
    }

    /// Runs a statement; returns the rows it changed.
    pub fn exec(&self, sql: &str, params: &[V<'_>]) -> Result<u64> {
        match self.e {
            Engine::Lite(c) => {
                Ok(c.prepare_cached(sql)?
                    .execute(rusqlite::params_from_iter(params))? as u64)
            }
            Engine::Pg(c) => c.exec(sql, params),
        }
    }

    /// Runs statements without parameters (DDL, temporary tables).
    pub fn batch(&self, sql: &str) -> Result<()> {
        match self.e {
            Engine::Lite(c) => Ok(c.execute_batch(sql)?),
            Engine::Pg(c) => c.batch(sql),
        }
    }

    /// The first row, if any.
    pub fn opt<T>(
        &self,
        sql: &str,
        params: &[V<'_>],
        f: impl FnOnce(&R<'_>) -> Result<T>,
    ) -> Result<Option<T>> {
        match self.e {
            Engine::Lite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
                match rows.next()? {
                    Some(r) => Ok(Some(f(&R::Lite(r))?)),
                    None => Ok(None),
                }
            }
            Engine::Pg(c) => match c.query_opt(sql, params)? {
                Some(r) => Ok(Some(f(&R::Pg(&r))?)),
                None => Ok(None),
            },
        }
    }

    /// The first row, which must exist.
    pub fn one<T>(
        &self,
        sql: &str,
        params: &[V<'_>],
        f: impl FnOnce(&R<'_>) -> Result<T>,
    ) -> Result<T> {
        self.opt(sql, params, f)?
            .ok_or_else(|| StoreError::Corrupt(format!("no row where one was expected: {sql}")))
    }

    /// Every row, in order, each handed to `f` (which may stop the walk with
    /// its own error). Memory does not grow with the result: SQLite steps
    /// the statement, PostgreSQL reads a cursor in batches. `f` may query.
    pub fn each<E: From<StoreError>>(
        &self,
        sql: &str,
        params: &[V<'_>],
        mut f: impl FnMut(&R<'_>) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        match self.e {
            Engine::Lite(c) => {
                let mut stmt = c.prepare(sql).map_err(StoreError::from)?;
                let mut rows = stmt
                    .query(rusqlite::params_from_iter(params))
                    .map_err(StoreError::from)?;
                while let Some(r) = rows.next().map_err(StoreError::from)? {
                    f(&R::Lite(r))?;
                }
                Ok(())
            }
            Engine::Pg(c) => c.each(sql, params, |r| f(&R::Pg(r))),
        }
    }

    /// Every row mapped and collected.
    pub fn all<T>(
        &self,
        sql: &str,
        params: &[V<'_>],
        mut f: impl FnMut(&R<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        if let Engine::Pg(c) = self.e {
            // Collected anyway, so in one round trip: a cursor would add
            // three (declare, close, and a fetch a batch), and outside a
            // transaction two more (the BEGIN and COMMIT it needs).
            return c.query(sql, params)?.iter().map(|r| f(&R::Pg(r))).collect();
        }
        let mut out = Vec::new();
        self.each(sql, params, |r| {
            out.push(f(r)?);
            Ok::<_, StoreError>(())
        })?;
        Ok(out)
    }
}

/// `?N` placeholders as PostgreSQL's `$N`, outside quoted text.
pub(crate) fn dollar_params(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quoted = false;
    for c in sql.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                out.push(c);
            }
            '?' if !quoted => out.push('$'),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_dollars_outside_quotes() {
        assert_eq!(
            dollar_params("SELECT a FROM t WHERE b = ?1 AND c LIKE '?x' AND d = ?12"),
            "SELECT a FROM t WHERE b = $1 AND c LIKE '?x' AND d = $12"
        );
    }
}

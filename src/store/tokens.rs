//! API tokens. Only each token's BLAKE3 hash is stored, never the token.

use super::{Queries, Result, StoreError, WriteTx};
use crate::domain::time::{fmt_ts, parse_ts};
use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Row};

/// One stored token (its hash, never the token itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRow {
    pub name: String,
    /// `viewer`, `operator` or `admin`.
    pub role: String,
    /// `b3:` + BLAKE3 of the token.
    pub hash: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_by: Option<String>,
}

const COLUMNS: &str = "name, role, hash, created_at, created_by, revoked_at, revoked_by";

fn from_row(r: &Row<'_>) -> rusqlite::Result<TokenRow> {
    let bad = |col: usize| {
        rusqlite::Error::FromSqlConversionFailure(
            col,
            rusqlite::types::Type::Text,
            "unreadable token timestamp".into(),
        )
    };
    let created: String = r.get(3)?;
    let revoked: Option<String> = r.get(5)?;
    Ok(TokenRow {
        name: r.get(0)?,
        role: r.get(1)?,
        hash: r.get(2)?,
        created_at: parse_ts(&created).map_err(|_| bad(3))?,
        created_by: r.get(4)?,
        revoked_at: revoked
            .map(|s| parse_ts(&s))
            .transpose()
            .map_err(|_| bad(5))?,
        revoked_by: r.get(6)?,
    })
}

/// Token reads.
pub trait TokenReads: Queries {
    /// Every token, revoked ones included, oldest first.
    fn tokens(&self) -> Result<Vec<TokenRow>> {
        let mut stmt = self
            .conn()
            .prepare(&format!("SELECT {COLUMNS} FROM tokens ORDER BY id"))?;
        let rows = stmt.query_map([], from_row)?;
        rows.map(|r| r.map_err(StoreError::from)).collect()
    }

    /// The token with this hash (revoked or not).
    fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRow>> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM tokens WHERE hash = ?1"),
                [hash],
                from_row,
            )
            .optional()?)
    }

    /// The live (not revoked) token with this name.
    fn live_token(&self, name: &str) -> Result<Option<TokenRow>> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM tokens WHERE name = ?1 AND revoked_at IS NULL"),
                [name],
                from_row,
            )
            .optional()?)
    }
}

impl<T: Queries + ?Sized> TokenReads for T {}

impl WriteTx<'_> {
    pub fn insert_token(&mut self, t: &TokenRow) -> Result<()> {
        self.tx.execute(
            &format!("INSERT INTO tokens ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
            params![
                t.name,
                t.role,
                t.hash,
                fmt_ts(t.created_at),
                t.created_by,
                t.revoked_at.map(fmt_ts),
                t.revoked_by,
            ],
        )?;
        Ok(())
    }

    /// Revokes the live token with this name; whether there was one.
    pub fn revoke_token(&mut self, name: &str, at: DateTime<Utc>, by: &str) -> Result<bool> {
        Ok(self.tx.execute(
            "UPDATE tokens SET revoked_at = ?2, revoked_by = ?3 WHERE name = ?1 AND revoked_at IS NULL",
            params![name, fmt_ts(at), by],
        )? > 0)
    }
}

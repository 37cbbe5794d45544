//! API tokens. Only each token's BLAKE3 hash is stored, never the token.

use super::db::{p, R};
use super::{Queries, Result, StoreError, WriteTx};
use crate::domain::time::{fmt_ts, parse_ts};
use chrono::{DateTime, Utc};

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

fn from_row(r: &R<'_>) -> Result<TokenRow> {
    let bad = || StoreError::Corrupt("unreadable token timestamp".into());
    Ok(TokenRow {
        name: r.string(0)?,
        role: r.string(1)?,
        hash: r.string(2)?,
        created_at: parse_ts(r.str(3)?).map_err(|_| bad())?,
        created_by: r.string(4)?,
        revoked_at: r.opt_str(5)?.map(parse_ts).transpose().map_err(|_| bad())?,
        revoked_by: r.opt_string(6)?,
    })
}

/// Token reads.
pub trait TokenReads: Queries {
    /// Every token, revoked ones included, oldest first.
    fn tokens(&self) -> Result<Vec<TokenRow>> {
        self.db().all(
            &format!("SELECT {COLUMNS} FROM tokens ORDER BY id"),
            p![],
            from_row,
        )
    }

    /// The token with this hash (revoked or not).
    fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRow>> {
        self.db().opt(
            &format!("SELECT {COLUMNS} FROM tokens WHERE hash = ?1"),
            p![hash],
            from_row,
        )
    }

    /// The live (not revoked) token with this name.
    fn live_token(&self, name: &str) -> Result<Option<TokenRow>> {
        self.db().opt(
            &format!("SELECT {COLUMNS} FROM tokens WHERE name = ?1 AND revoked_at IS NULL"),
            p![name],
            from_row,
        )
    }
}

impl<T: Queries + ?Sized> TokenReads for T {}

impl WriteTx<'_> {
    pub fn insert_token(&mut self, t: &TokenRow) -> Result<()> {
        self.db.exec(
            &format!("INSERT INTO tokens ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
            p![
                &t.name,
                &t.role,
                &t.hash,
                &fmt_ts(t.created_at),
                &t.created_by,
                t.revoked_at.map(fmt_ts).as_ref(),
                &t.revoked_by,
            ],
        )?;
        Ok(())
    }

    /// Revokes the live token with this name; whether there was one.
    pub fn revoke_token(&mut self, name: &str, at: DateTime<Utc>, by: &str) -> Result<bool> {
        Ok(self.db.exec(
            "UPDATE tokens SET revoked_at = ?2, revoked_by = ?3 WHERE name = ?1 AND revoked_at IS NULL",
            p![name, &fmt_ts(at), by],
        )? > 0)
    }
}

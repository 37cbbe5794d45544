//! API tokens: bearer tokens with a role, for `snapgov serve`.
//!
//! A token is shown once, when it is created; the store keeps only its
//! BLAKE3 hash. Creating and revoking tokens is audited. The token's name is
//! the `user` the API records in the audit trail.

use super::{Env, OpError, Result};
use crate::domain::audit::details::{Details, TokenCreated, TokenRevoked};
use crate::domain::audit::{AuditEvent, NewAudit};
use crate::domain::time::fmt_ts;
use crate::store::prelude::*;
use crate::store::tokens::TokenRow;
use crate::store::Store;
use serde::Serialize;

/// What a token may do. Each role includes the ones before it.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads: snapshots, SLA, records, audit browsing, metrics.
    Viewer,
    /// Plus imports, rollbacks, expiry, retention runs and holds.
    Operator,
    /// Plus token management and audit purge.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Operator, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Whether this role may do what `needed` may.
    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every token starts with this, so secret scanners can recognise one.
pub const TOKEN_PREFIX: &str = "sgv_";

/// Names the API uses for its own identities; no token may take them.
pub const RESERVED_NAMES: [&str; 2] = [super::SYSTEM_USER, "anonymous"];

/// A token as listed: never the token itself.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TokenInfo {
    pub name: String,
    pub role: Role,
    /// The first characters of the token's hash, to tell tokens apart.
    pub fingerprint: String,
    pub created_at: String,
    pub created_by: String,
    pub revoked_at: Option<String>,
    pub revoked_by: Option<String>,
}

impl TokenInfo {
    fn from_row(r: &TokenRow) -> Result<TokenInfo> {
        Ok(TokenInfo {
            name: r.name.clone(),
            role: parse_stored_role(r)?,
            fingerprint: r.hash.chars().take(3 + 12).collect(),
            created_at: fmt_ts(r.created_at),
            created_by: r.created_by.clone(),
            revoked_at: r.revoked_at.map(fmt_ts),
            revoked_by: r.revoked_by.clone(),
        })
    }
}

fn parse_stored_role(r: &TokenRow) -> Result<Role> {
    Role::parse(&r.role).ok_or_else(|| {
        OpError::integrity(format!(
            "token {} has an unknown role `{}` in the store",
            r.name, r.role
        ))
    })
}

/// A new token: the secret (shown once) and what is stored about it.
#[derive(Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Created {
    pub token: String,
    #[serde(flatten)]
    pub info: TokenInfo,
}

/// Who a request is, once its token checked out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub role: Role,
}

/// `b3:` + BLAKE3 of the token: what the store keeps.
pub fn hash_token(token: &str) -> String {
    format!("b3:{}", blake3::hash(token.as_bytes()).to_hex())
}

/// Checks a token name: 1 to 64 of `A-Z a-z 0-9 . _ @ -`, not reserved.
pub fn validate_name(name: &str) -> Result<()> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-'));
    if name.is_empty() || name.len() > 64 || !ok_chars {
        return Err(OpError::usage(format!(
            "`{name}` is not a token name: use 1 to 64 letters, digits, `.`, `_`, `@` or `-` (it is the user the audit trail records)"
        )));
    }
    if RESERVED_NAMES.contains(&name) {
        return Err(OpError::usage(format!(
            "`{name}` is reserved for snapgov's own actions; choose another token name"
        )));
    }
    Ok(())
}

/// 32 bytes from the operating system's random source.
fn random_bytes() -> Result<[u8; 32]> {
    use std::io::Read;
    let mut buf = [0u8; 32];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        if f.read_exact(&mut buf).is_ok() {
            return Ok(buf);
        }
    }
    // Elsewhere: std's hasher keys come from the OS's random source; mix
    // several fresh ones with the time and process id.
    use std::hash::{BuildHasher, Hasher};
    let mut h = blake3::Hasher::new();
    for i in 0..8u64 {
        let mut s = std::collections::hash_map::RandomState::new().build_hasher();
        s.write_u64(i);
        h.update(&s.finish().to_le_bytes());
    }
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    h.update(&t.to_le_bytes());
    h.update(&std::process::id().to_le_bytes());
    buf.copy_from_slice(h.finalize().as_bytes());
    Ok(buf)
}

fn new_token() -> Result<String> {
    let bytes = random_bytes()?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("{TOKEN_PREFIX}{hex}"))
}

/// Creates a token with `role` named `name` (audited). The returned token is
/// the only time it is shown.
pub fn create(store: &mut Store, env: &Env, name: &str, role: Role) -> Result<Created> {
    validate_name(name)?;
    let token = new_token()?;
    let now = env.clock.now();
    let row = TokenRow {
        name: name.to_string(),
        role: role.as_str().to_string(),
        hash: hash_token(&token),
        created_at: now,
        created_by: env.user.clone(),
        revoked_at: None,
        revoked_by: None,
    };
    store.write(|tx| -> Result<()> {
        if tx.live_token(name)?.is_some() {
            return Err(OpError::conflict(format!(
                "a token named {name} already exists; revoke it first (`snapgov token revoke {name}`) or choose another name"
            )));
        }
        tx.insert_token(&row)?;
        tx.append_audit(&NewAudit {
            event: AuditEvent::TokenCreated,
            timestamp: now,
            user: env.user.clone(),
            tool: None,
            snapshot_id: None,
            details: TokenCreated {
                name: name.to_string(),
                role: role.as_str().to_string(),
                fingerprint: row.hash.chars().take(15).collect(),
            }
            .to_value(),
        })?;
        Ok(())
    })?;
    Ok(Created {
        token,
        info: TokenInfo::from_row(&row)?,
    })
}

/// Every token, revoked ones included (never the tokens themselves).
pub fn list(store: &impl Queries) -> Result<Vec<TokenInfo>> {
    store.tokens()?.iter().map(TokenInfo::from_row).collect()
}

/// Revokes the live token named `name` (audited); it stops working at once.
pub fn revoke(store: &mut Store, env: &Env, name: &str) -> Result<TokenInfo> {
    let now = env.clock.now();
    store.write(|tx| -> Result<TokenInfo> {
        let Some(mut row) = tx.live_token(name)? else {
            return Err(OpError::not_found(format!(
                "no live token named {name}; list them with `snapgov token list`"
            )));
        };
        tx.revoke_token(name, now, &env.user)?;
        tx.append_audit(&NewAudit {
            event: AuditEvent::TokenRevoked,
            timestamp: now,
            user: env.user.clone(),
            tool: None,
            snapshot_id: None,
            details: TokenRevoked {
                name: name.to_string(),
                role: row.role.clone(),
            }
            .to_value(),
        })?;
        row.revoked_at = Some(now);
        row.revoked_by = Some(env.user.clone());
        TokenInfo::from_row(&row)
    })
}

/// The identity a presented token stands for: `None` when it is unknown or
/// revoked.
pub fn authenticate(store: &impl Queries, token: &str) -> Result<Option<Identity>> {
    if !token.starts_with(TOKEN_PREFIX) {
        return Ok(None);
    }
    match store.token_by_hash(&hash_token(token))? {
        Some(row) if row.revoked_at.is_none() => Ok(Some(Identity {
            role: parse_stored_role(&row)?,
            name: row.name,
        })),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::Clock;

    fn env() -> Env {
        Env::new(
            crate::config::Config::default(),
            "root",
            Clock::Fixed(crate::domain::time::parse_ts("2025-12-04T12:00:00Z").unwrap()),
        )
    }

    #[test]
    fn roles_include_the_ones_below() {
        assert!(Role::Admin.allows(Role::Operator));
        assert!(Role::Operator.allows(Role::Viewer));
        assert!(!Role::Viewer.allows(Role::Operator));
        assert!(!Role::Operator.allows(Role::Admin));
    }

    #[test]
    fn a_token_works_until_revoked_and_only_its_hash_is_stored() {
        let mut store = crate::store::testing::scratch();
        let env = env();
        let c = create(&mut store, &env, "ci", Role::Operator).unwrap();
        assert!(c.token.starts_with(TOKEN_PREFIX) && c.token.len() == 4 + 64);
        let rows = store.tokens().unwrap();
        assert_eq!(rows.len(), 1);
        assert_ne!(rows[0].hash, c.token);
        assert!(!rows[0].hash.contains(&c.token[4..]));
        let id = authenticate(&*store, &c.token).unwrap().unwrap();
        assert_eq!((id.name.as_str(), id.role), ("ci", Role::Operator));
        assert!(authenticate(&*store, "sgv_nope").unwrap().is_none());
        assert!(matches!(
            create(&mut store, &env, "ci", Role::Admin),
            Err(OpError::Conflict(_))
        ));
        revoke(&mut store, &env, "ci").unwrap();
        assert!(authenticate(&*store, &c.token).unwrap().is_none());
        assert!(matches!(
            revoke(&mut store, &env, "ci"),
            Err(OpError::NotFound(_))
        ));
        // The name is free again; the revoked one stays listed.
        create(&mut store, &env, "ci", Role::Viewer).unwrap();
        assert_eq!(list(&*store).unwrap().len(), 2);
        let events: Vec<String> = store
            .audit_list(&Default::default())
            .unwrap()
            .into_iter()
            .map(|(_, r)| r.event)
            .collect();
        assert_eq!(
            events,
            ["token_created", "token_revoked", "token_created"]
                .iter()
                .rev()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn names_are_checked() {
        for bad in ["", "system", "anonymous", "a b", &"x".repeat(65)] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
        validate_name("alice@example.com").unwrap();
    }
}

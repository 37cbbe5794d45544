//! Bringing a store's schema up to this binary's version on purpose
//! (`snapgov store migrate`), instead of as a side effect of the first
//! write: read commands open a store read-only and so cannot migrate it.

use super::Result;
use crate::store::{schema_version, Location, OpenMode, Store};
use serde::Serialize;

/// What a migration did.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct MigrateOutcome {
    /// The store, as shown to people (a URL's password redacted).
    pub store: String,
    /// Its schema version before (0: the store was just created).
    pub from: i64,
    /// Its schema version now: this binary's.
    pub to: i64,
}

impl std::fmt::Display for MigrateOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.from == self.to {
            write!(
                f,
                "{}: schema version {}, already current",
                self.store, self.to
            )
        } else {
            write!(
                f,
                "{}: schema migrated from version {} to {}",
                self.store, self.from, self.to
            )
        }
    }
}

/// Opens the store for writing, which runs the migrations it lacks, in one
/// transaction (all or none).
pub fn migrate(location: &Location) -> Result<MigrateOutcome> {
    let (store, from) = Store::open_migrating(location.clone(), OpenMode::ReadWrite)?;
    Ok(MigrateOutcome {
        store: store.location().redacted(),
        from,
        to: schema_version(),
    })
}

/// What to tell the operator when opening `location` for writing upgraded
/// it from version `from` (as [`Store::open_migrating`] returns it): the
/// upgrade can take a while (schema 4 copies the records table), so a
/// command or `serve` that did one says so. `None` when nothing was
/// upgraded, or the store was just created.
pub fn upgraded_note(location: &Location, from: i64) -> Option<String> {
    let to = schema_version();
    (from > 0 && from < to).then(|| {
        format!(
            "{}: schema upgraded from version {from} to {to} first (once; `snapgov store migrate` does only this)",
            location.redacted()
        )
    })
}

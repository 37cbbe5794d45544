//! A snapshot as the JSON listings print it: keys sorted at every level,
//! which is what serializing through a `serde_json::Value` (whose maps sort
//! their keys) gives, written straight out instead. Building that tree for a
//! page of 100 snapshots, a map and a string a field, was most of the API
//! listing's CPU. The struct's own order (the spec's keys first) stays for
//! the console, which prints the record as the spec lists it.

use super::snapshot::{RecordStats, Snapshot, SnapshotMetadata};
use chrono::{DateTime, Utc};
use serde::ser::{SerializeStruct, Serializer};
use serde::Serialize;

/// Serializes the snapshot with its keys sorted (see the module).
pub struct SortedKeys<'a>(pub &'a Snapshot);

struct Ts<'a>(&'a DateTime<Utc>);

impl Serialize for Ts<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        super::time::ts::serialize(self.0, s)
    }
}

struct Meta<'a>(&'a SnapshotMetadata);

impl Serialize for Meta<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let m = self.0;
        let mut out = s.serialize_struct("SnapshotMetadata", 3)?;
        out.serialize_field("importReason", &m.import_reason)?;
        out.serialize_field("importUser", &m.import_user)?;
        out.serialize_field("sourceUri", &m.source_uri)?;
        out.end()
    }
}

struct Stats<'a>(&'a RecordStats);

impl Serialize for Stats<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let st = self.0;
        let mut out = s.serialize_struct("RecordStats", 3)?;
        out.serialize_field("bySeverity", &st.by_severity)?;
        out.serialize_field("packages", &st.packages)?;
        out.serialize_field("vulnerabilities", &st.vulnerabilities)?;
        out.end()
    }
}

/// A field the record leaves out when it has no value.
fn opt<M: SerializeStruct, T: Serialize>(
    out: &mut M,
    key: &'static str,
    v: Option<T>,
) -> Result<(), M::Error> {
    match v {
        Some(v) => out.serialize_field(key, &v),
        None => out.skip_field(key),
    }
}

impl Serialize for SortedKeys<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let x = self.0;
        let mut out = s.serialize_struct("Snapshot", 17)?;
        opt(&mut out, "failureReason", x.failure_reason.as_ref())?;
        opt(&mut out, "format", x.format.as_ref())?;
        opt(&mut out, "generatedAt", x.generated_at.as_ref())?;
        out.serialize_field("id", &x.id)?;
        out.serialize_field("importedAt", &Ts(&x.imported_at))?;
        out.serialize_field("metadata", &Meta(&x.metadata))?;
        out.serialize_field("normalizedHash", &x.normalized_hash)?;
        out.serialize_field("previousSnapshot", &x.previous_snapshot)?;
        out.serialize_field("recordCount", &x.record_count)?;
        opt(&mut out, "schemaVersion", x.schema_version.as_ref())?;
        out.serialize_field("sourceHash", &x.source_hash)?;
        out.serialize_field("state", &x.state)?;
        opt(
            &mut out,
            "stateChangedAt",
            x.state_changed_at.as_ref().map(Ts),
        )?;
        opt(&mut out, "stats", x.stats.as_ref().map(Stats))?;
        out.serialize_field("tool", &x.tool)?;
        out.serialize_field("toolVersion", &x.tool_version)?;
        opt(
            &mut out,
            "warnings",
            (!x.warnings.is_empty()).then_some(&x.warnings),
        )?;
        out.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::snapshot::{SnapshotId, SnapshotState};
    use chrono::TimeZone;

    /// A snapshot with every field set, and one with every optional field
    /// empty, print what going through a `serde_json::Value` prints. A key
    /// added to the record and not here, or out of order, fails it.
    #[test]
    fn a_snapshot_with_sorted_keys_prints_what_a_value_prints() {
        let at = Utc.with_ymd_and_hms(2025, 12, 1, 9, 30, 0).unwrap();
        let full = Snapshot {
            failure_reason: Some("f".into()),
            format: Some("syft-json".into()),
            generated_at: Some("2025-12-01T09:00:00Z".into()),
            id: SnapshotId::parse("syft-20251201T093000Z-001").unwrap(),
            imported_at: at,
            metadata: SnapshotMetadata {
                import_reason: Some("r".into()),
                import_user: "u".into(),
                source_uri: Some("s3://x".into()),
            },
            normalized_hash: Some("b3:00".into()),
            previous_snapshot: Some("syft-20251130T093000Z-001".into()),
            record_count: 3,
            schema_version: Some("16".into()),
            source_hash: "b3:11".into(),
            state: SnapshotState::Active,
            state_changed_at: Some(at + chrono::Duration::seconds(5)),
            stats: Some(RecordStats {
                by_severity: [("high".to_string(), 1), ("critical".to_string(), 2)].into(),
                packages: 1,
                vulnerabilities: 2,
            }),
            tool: "syft".into(),
            tool_version: Some("1.0".into()),
            warnings: vec!["w".into(), "\u{1b}[31m\"x\"".into()],
        };
        let bare = Snapshot {
            failure_reason: None,
            format: None,
            generated_at: None,
            metadata: SnapshotMetadata {
                import_reason: None,
                import_user: "u".into(),
                source_uri: None,
            },
            normalized_hash: None,
            previous_snapshot: None,
            schema_version: None,
            state_changed_at: None,
            stats: None,
            tool_version: None,
            warnings: vec![],
            ..full.clone()
        };
        for s in [full, bare] {
            let direct = serde_json::to_string(&SortedKeys(&s)).unwrap();
            let value = serde_json::to_value(&s).unwrap();
            assert_eq!(direct, serde_json::to_string(&value).unwrap());
        }
    }
}

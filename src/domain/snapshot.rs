//! Snapshots: ids, states and the snapshot record of the spec.

use super::time::{ts, ts_opt};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// `{tool}-{YYYYMMDDTHHMMSSZ}-{NNN}`.
///
/// Keeps its rendered form: ids are shown, compared and written far more
/// often than they are made (a console listing 50k snapshots renders every
/// id each frame), and an id read back must stay byte-identical to the one
/// stored. Equality, hashing and order are those of that string, as when
/// ids were plain strings.
#[derive(Clone, Debug)]
pub struct SnapshotId {
    /// The tool is `rendered[..tool_len]`.
    tool_len: usize,
    at: DateTime<Utc>,
    seq: u32,
    rendered: String,
}

pub const ID_TS_FORMAT: &str = "%Y%m%dT%H%M%SZ";

impl SnapshotId {
    pub fn new(tool: &str, at: DateTime<Utc>, seq: u32) -> Self {
        let at = super::time::truncate(at);
        let rendered = format!("{tool}-{}-{seq:03}", at.format(ID_TS_FORMAT));
        SnapshotId {
            tool_len: tool.len(),
            at,
            seq,
            rendered,
        }
    }

    pub fn tool(&self) -> &str {
        &self.rendered[..self.tool_len]
    }

    pub fn at(&self) -> DateTime<Utc> {
        self.at
    }

    pub fn seq(&self) -> u32 {
        self.seq
    }

    pub fn as_str(&self) -> &str {
        &self.rendered
    }

    /// The timestamp part of the id, e.g. `20251204T000000Z`.
    pub fn ts_part(&self) -> String {
        self.at.format(ID_TS_FORMAT).to_string()
    }

    /// Parses an id; the tool part may itself contain dashes.
    pub fn parse(s: &str) -> Result<SnapshotId, String> {
        let bad = || {
            format!("`{s}` is not a snapshot id; ids look like syft-20251204T000000Z-001 (tool, UTC time, sequence)")
        };
        let mut parts = s.rsplitn(3, '-');
        let seq = parts.next().ok_or_else(bad)?;
        let ts = parts.next().ok_or_else(bad)?;
        let tool = parts.next().ok_or_else(bad)?;
        if seq.len() != 3 || !seq.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        validate_tool_name(tool).map_err(|_| bad())?;
        let at = NaiveDateTime::parse_from_str(ts, ID_TS_FORMAT)
            .map_err(|_| bad())?
            .and_utc();
        Ok(SnapshotId {
            tool_len: tool.len(),
            at,
            seq: seq.parse().map_err(|_| bad())?,
            rendered: s.to_string(),
        })
    }
}

impl fmt::Display for SnapshotId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rendered)
    }
}

impl PartialEq for SnapshotId {
    fn eq(&self, other: &Self) -> bool {
        self.rendered == other.rendered
    }
}

impl Eq for SnapshotId {}

impl std::hash::Hash for SnapshotId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.rendered.hash(state)
    }
}

impl PartialOrd for SnapshotId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SnapshotId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.rendered.cmp(&other.rendered)
    }
}

impl PartialEq<str> for SnapshotId {
    fn eq(&self, other: &str) -> bool {
        self.rendered == other
    }
}

impl PartialEq<&str> for SnapshotId {
    fn eq(&self, other: &&str) -> bool {
        self.rendered == *other
    }
}

impl PartialEq<String> for SnapshotId {
    fn eq(&self, other: &String) -> bool {
        &self.rendered == other
    }
}

impl PartialEq<SnapshotId> for String {
    fn eq(&self, other: &SnapshotId) -> bool {
        *self == other.rendered
    }
}

impl PartialEq<SnapshotId> for &str {
    fn eq(&self, other: &SnapshotId) -> bool {
        *self == other.rendered
    }
}

impl AsRef<str> for SnapshotId {
    fn as_ref(&self) -> &str {
        &self.rendered
    }
}

impl std::borrow::Borrow<str> for SnapshotId {
    fn borrow(&self) -> &str {
        &self.rendered
    }
}

impl std::str::FromStr for SnapshotId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        SnapshotId::parse(s)
    }
}

impl From<SnapshotId> for String {
    fn from(id: SnapshotId) -> String {
        id.rendered
    }
}

/// Serialized as the plain id string, exactly as when ids were strings.
impl Serialize for SnapshotId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.rendered)
    }
}

impl<'de> Deserialize<'de> for SnapshotId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        SnapshotId::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// How far into the future an `importedAt` may be: clocks of the machine
/// that scanned and the one that imports may disagree a little, but a
/// snapshot from the future would stay fresh and defeat the SLA.
pub const MAX_CLOCK_SKEW_SECS: i64 = 5 * 60;

/// The earliest `importedAt` accepted (2000-01-01T00:00:00Z): no scanner
/// feed predates it, and a year-0001 snapshot is a typo, not a backfill.
pub const MIN_IMPORTED_AT_SECS: i64 = 946_684_800;

/// Checks a backdated or given `importedAt` against `now`; the error names
/// the value and the allowed range (the caller words the parameter).
pub fn check_imported_at(at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), String> {
    let min = DateTime::<Utc>::from_timestamp(MIN_IMPORTED_AT_SECS, 0).unwrap_or(at);
    let max = now + chrono::Duration::seconds(MAX_CLOCK_SKEW_SECS);
    if at < min || at > max {
        return Err(format!(
            "{} is outside the allowed range {} to {} (now plus {} minutes of clock skew); give the time the feed was really produced",
            super::time::fmt_ts(at),
            super::time::fmt_ts(min),
            super::time::fmt_ts(max),
            MAX_CLOCK_SKEW_SECS / 60
        ));
    }
    Ok(())
}

/// Why a feed's size makes its import suspect (the caller words the
/// override for its front end).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedSizeRefusal {
    /// No records at all: usually a broken scan.
    Empty,
    /// Fewer than half the records of the active snapshot it would
    /// replace: usually a partial scan.
    Shrink {
        active_id: String,
        active_count: u64,
    },
}

/// The empty and shrink rule of an import of `count` records. `replaced` is
/// the active snapshot the import would replace (id, record count): none
/// for a first import or a backfill kept in history, which do not touch
/// the active data the shrink guard protects.
pub fn check_feed_size(
    count: u64,
    replaced: Option<(&str, u64)>,
    allow_empty: bool,
    allow_shrink: bool,
) -> Result<(), FeedSizeRefusal> {
    if count == 0 && !allow_empty {
        return Err(FeedSizeRefusal::Empty);
    }
    if let Some((id, active_count)) = replaced {
        if count * 2 < active_count && !allow_shrink {
            return Err(FeedSizeRefusal::Shrink {
                active_id: id.to_string(),
                active_count,
            });
        }
    }
    Ok(())
}

/// The largest sequence a 3-digit id can carry.
pub const MAX_SEQ: u32 = 999;

/// Tool names become part of ids, file names and URLs: keep them plain.
pub fn validate_tool_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.as_bytes()[0].is_ascii_lowercase()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a valid tool name: use 1 to 64 lower-case letters, digits, `-` or `_`, starting with a letter (e.g. syft, trivy, my-scanner)"
        ))
    }
}

/// Where a snapshot is in its life.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum SnapshotState {
    /// The tool's current data.
    Active,
    /// Was active once; restorable; retention archives it after a while.
    Previous,
    /// Kept, verifiable and restorable, but out of the default rollback path.
    Archived,
    /// Manually expired: its data is unavailable.
    Expired,
    /// The import did not complete; no data.
    Failed,
    /// Removed by retention; only the tombstone (id, hashes, audit history) is left.
    Deleted,
}

impl SnapshotState {
    pub const ALL: [SnapshotState; 6] = [
        SnapshotState::Active,
        SnapshotState::Previous,
        SnapshotState::Archived,
        SnapshotState::Expired,
        SnapshotState::Failed,
        SnapshotState::Deleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SnapshotState::Active => "active",
            SnapshotState::Previous => "previous",
            SnapshotState::Archived => "archived",
            SnapshotState::Expired => "expired",
            SnapshotState::Failed => "failed",
            SnapshotState::Deleted => "deleted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        SnapshotState::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Whether its records are still stored and can be made active again.
    pub fn is_restorable(self) -> bool {
        matches!(
            self,
            SnapshotState::Active | SnapshotState::Previous | SnapshotState::Archived
        )
    }
}

impl fmt::Display for SnapshotState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotMetadata {
    pub source_uri: Option<String>,
    pub import_user: String,
    pub import_reason: Option<String>,
}

/// Record counts by kind and severity, kept so listings need not scan records.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RecordStats {
    pub packages: u64,
    pub vulnerabilities: u64,
    /// Findings by severity, keyed by the lower-case severity word.
    pub by_severity: std::collections::BTreeMap<String, u64>,
}

/// The snapshot record: the spec's keys first, then optional extras.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    pub id: SnapshotId,
    pub tool: String,
    pub tool_version: Option<String>,
    #[serde(with = "ts")]
    pub imported_at: DateTime<Utc>,
    pub source_hash: String,
    /// `None` only for a failed import, which has no records.
    pub normalized_hash: Option<String>,
    pub record_count: u64,
    pub state: SnapshotState,
    pub previous_snapshot: Option<String>,
    pub metadata: SnapshotMetadata,
    /// Input format the records were read from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// The scanner's own timestamp for the scan, when the feed has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Why the import failed (state `failed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    /// When the snapshot last changed state (e.g. stopped being active).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "ts_opt")]
    pub state_changed_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<RecordStats>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn an_empty_feed_is_refused_unless_allowed() {
        assert_eq!(
            check_feed_size(0, None, false, false),
            Err(FeedSizeRefusal::Empty)
        );
        assert_eq!(check_feed_size(0, None, true, false), Ok(()));
        // Allowing empty does not waive the shrink guard.
        assert_eq!(
            check_feed_size(0, Some(("t-1", 10)), true, false),
            Err(FeedSizeRefusal::Shrink {
                active_id: "t-1".into(),
                active_count: 10
            })
        );
        assert_eq!(check_feed_size(0, Some(("t-1", 10)), true, true), Ok(()));
    }

    #[test]
    fn a_feed_under_half_the_active_one_is_refused_unless_allowed() {
        assert_eq!(
            check_feed_size(4, Some(("t-1", 9)), false, false),
            Err(FeedSizeRefusal::Shrink {
                active_id: "t-1".into(),
                active_count: 9
            })
        );
        // Exactly half is not a shrink.
        assert_eq!(check_feed_size(5, Some(("t-1", 10)), false, false), Ok(()));
        assert_eq!(check_feed_size(4, Some(("t-1", 9)), false, true), Ok(()));
        // Nothing replaced (first import, backfill kept in history): no guard.
        assert_eq!(check_feed_size(1, None, false, false), Ok(()));
    }

    #[test]
    fn id_round_trips_with_dashed_tool() {
        let at = Utc.with_ymd_and_hms(2025, 12, 4, 12, 0, 0).unwrap();
        let id = SnapshotId::new("my-scanner", at, 2);
        assert_eq!(id.to_string(), "my-scanner-20251204T120000Z-002");
        assert_eq!((id.tool(), id.seq()), ("my-scanner", 2));
        assert_eq!(SnapshotId::parse(id.as_str()).unwrap(), id);
    }

    #[test]
    fn an_id_serializes_as_its_plain_string_and_a_bad_one_does_not_deserialize() {
        let id = SnapshotId::parse("my-scanner-20251204T120000Z-002").unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"my-scanner-20251204T120000Z-002\"");
        assert_eq!(serde_json::from_str::<SnapshotId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<SnapshotId>("\"my-scanner\"").is_err());
    }

    #[test]
    fn bad_ids_are_refused_with_an_example() {
        for bad in [
            "",
            "syft",
            "syft-2025-001",
            "syft-20251204T000000Z-1",
            "Syft-20251204T000000Z-001",
            "syft-20251304T000000Z-001",
        ] {
            let e = SnapshotId::parse(bad).unwrap_err();
            assert!(e.contains("syft-20251204T000000Z-001"), "{e}");
        }
    }

    #[test]
    fn tool_names_are_plain() {
        assert!(validate_tool_name("trivy").is_ok());
        assert!(validate_tool_name("my_tool-2").is_ok());
        for bad in ["", "Trivy", "2trivy", "a/b", "a b", &"x".repeat(65)] {
            assert!(validate_tool_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn imported_at_is_bounded_by_the_epoch_and_the_clock_skew() {
        let now = crate::domain::time::parse_ts("2025-12-04T12:00:00Z").unwrap();
        let ts = |s: &str| crate::domain::time::parse_ts(s).unwrap();
        assert!(check_imported_at(ts("2025-12-04T12:05:00Z"), now).is_ok());
        assert!(check_imported_at(ts("2000-01-01T00:00:00Z"), now).is_ok());
        for bad in [
            "2025-12-04T12:05:01Z",
            "9999-01-01T00:00:00Z",
            "1999-12-31T23:59:59Z",
            "0001-01-01T00:00:00Z",
        ] {
            let e = check_imported_at(ts(bad), now).unwrap_err();
            assert!(
                e.contains(bad)
                    && e.contains("2000-01-01T00:00:00Z")
                    && e.contains("2025-12-04T12:05:00Z"),
                "{e}"
            );
        }
    }
}

//! An audit record as the chain walk reads it: borrowed from the stored row,
//! with its details kept as their text when that text is canonical.
//! `ingest audit verify` walks every record; building an owned
//! [`AuditRecord`] (a string per field, a `Value` tree for the details) for
//! each one, only to hash it and read a field or two, was most of its time
//! (issue 14).

use super::canonical::is_canonical;
use super::{chain_digest, AuditRecord, HashInput};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use std::borrow::Cow;

/// A stored audit record, borrowed from its row.
pub struct AuditRow<'a> {
    pub id: &'a str,
    pub event: &'a str,
    pub timestamp: DateTime<Utc>,
    pub user: &'a str,
    pub details: RowDetails<'a>,
    pub hash: &'a str,
    pub prev_hash: &'a str,
    pub tool: Option<&'a str>,
    pub snapshot_id: Option<&'a str>,
    /// [`AuditRow::expected_digest`], where the reader already worked it
    /// out (on its own core, while the walk checks earlier rows).
    pub digest: Option<blake3::Hash>,
}

/// A record's details: the stored text when it is canonical (what serde_json
/// writes for the value it reads from it), else the parsed value.
pub enum RowDetails<'a> {
    Canonical(&'a str),
    Parsed(Value),
}

impl<'a> RowDetails<'a> {
    /// Reads stored details; an error where they are not JSON.
    pub fn parse(text: &'a str) -> Result<RowDetails<'a>, serde_json::Error> {
        if is_canonical(text) {
            Ok(RowDetails::Canonical(text))
        } else {
            serde_json::from_str(text).map(RowDetails::Parsed)
        }
    }

    /// The details read as `T`, as [`super::details::Details::read`] reads
    /// the value: `None` when they do not have that shape. (From canonical
    /// text the result is the same: no repeated keys, integers only.)
    pub fn read<T: DeserializeOwned>(&self) -> Option<T> {
        match self {
            RowDetails::Canonical(t) => serde_json::from_str(t).ok(),
            RowDetails::Parsed(v) => T::deserialize(v).ok(),
        }
    }

    /// The snapshot the details name (`snapshotId`), as
    /// [`super::details::SnapshotRef::of`] reads it; borrowed from the
    /// text where it can be.
    pub fn snapshot_id(&self) -> Option<Cow<'_, str>> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Ref<'t> {
            #[serde(borrow, deserialize_with = "cow")]
            snapshot_id: Cow<'t, str>,
        }
        match self {
            RowDetails::Canonical(t) => serde_json::from_str::<Ref<'_>>(t)
                .ok()
                .map(|r| r.snapshot_id),
            RowDetails::Parsed(v) => super::details::SnapshotRef::of(v).map(Cow::Owned),
        }
    }

    pub fn to_value(&self) -> Value {
        match self {
            RowDetails::Canonical(t) => serde_json::from_str(t).expect("checked canonical JSON"),
            RowDetails::Parsed(v) => v.clone(),
        }
    }
}

/// A string borrowed from the text when it has no escapes, else decoded.
/// (A plain `Cow<str>` field would always copy.)
fn cow<'de, D: Deserializer<'de>>(d: D) -> Result<Cow<'de, str>, D::Error> {
    struct V;
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = Cow<'de, str>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a string")
        }
        fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
            Ok(Cow::Borrowed(s))
        }
        fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
            Ok(Cow::Owned(s.to_string()))
        }
        fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
            Ok(Cow::Owned(s))
        }
    }
    d.deserialize_str(V)
}

impl AuditRow<'_> {
    /// The owned record (for the few the walk keeps).
    pub fn to_record(&self) -> AuditRecord {
        AuditRecord {
            id: self.id.to_string(),
            event: self.event.to_string(),
            timestamp: self.timestamp,
            user: self.user.to_string(),
            details: self.details.to_value(),
            hash: self.hash.to_string(),
            prev_hash: self.prev_hash.to_string(),
            tool: self.tool.map(str::to_string),
            snapshot_id: self.snapshot_id.map(str::to_string),
        }
    }

    /// [`AuditRecord::expected_digest`] of this row, serialized through
    /// `buf`. Canonical details go in as their text: the same bytes the
    /// value would be written as.
    pub fn expected_digest(&self, buf: &mut Vec<u8>) -> blake3::Hash {
        let text = match &self.details {
            RowDetails::Canonical(t) => *t,
            RowDetails::Parsed(v) => {
                let input = HashInput {
                    id: self.id,
                    event: self.event,
                    timestamp: self.timestamp,
                    user: self.user,
                    details: v,
                    tool: self.tool,
                    snapshot_id: self.snapshot_id,
                };
                return chain_digest(&input, self.prev_hash, buf);
            }
        };
        // The members of `chain_digest`'s canonical object, in its (sorted)
        // order, each string written by serde_json as there.
        buf.clear();
        let mut ts = [0u8; crate::domain::time::TS_LEN];
        let timestamp = crate::domain::time::write_ts(self.timestamp, &mut ts);
        let members = [
            ("event", Some(self.event)),
            ("id", Some(self.id)),
            ("prevHash", Some(self.prev_hash)),
            ("snapshotId", self.snapshot_id),
            ("timestamp", Some(&*timestamp)),
            ("tool", self.tool),
            ("user", Some(self.user)),
        ];
        buf.extend_from_slice(b"{\"details\":");
        buf.extend_from_slice(text.as_bytes());
        for (key, value) in members {
            if let Some(v) = value {
                buf.extend_from_slice(b",\"");
                buf.extend_from_slice(key.as_bytes());
                buf.extend_from_slice(b"\":");
                serde_json::to_writer(&mut *buf, v).expect("strings serialize");
            }
        }
        buf.push(b'}');
        blake3::hash(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_rows_digest_is_the_records_whatever_its_details_text() {
        let texts = [
            r#"{"cause":"import","snapshotId":"syft-1"}"#,
            r#"{"reason":"a \"b\"\n\u0001","snapshotId":"x"}"#,
            r#"{ "snapshotId" : "syft-1" }"#,
            r#"{"snapshotId":"sy\u0066t"}"#,
            r#"[1,2.5,-0]"#,
            "{}",
        ];
        let t = Utc.with_ymd_and_hms(2025, 12, 4, 1, 2, 3).unwrap();
        for text in texts {
            for (tool, snapshot) in [(None, None), (Some("syft \"q\""), Some("syft-1"))] {
                let row = AuditRow {
                    id: "audit-7",
                    event: "snapshot_activated",
                    timestamp: t,
                    user: "ann\té",
                    details: RowDetails::parse(text).unwrap(),
                    hash: "",
                    prev_hash: "b3:00",
                    tool,
                    snapshot_id: snapshot,
                    digest: None,
                };
                let rec = row.to_record();
                assert_eq!(
                    row.expected_digest(&mut Vec::new()),
                    rec.expected_digest(&mut Vec::new()),
                    "{text}"
                );
            }
        }
    }

    #[test]
    fn fields_read_from_text_are_those_read_from_the_value() {
        use crate::domain::audit::details::{Details, SnapshotImported, SnapshotRef};
        let texts = [
            r#"{"snapshotId":"syft-1"}"#,
            r#"{"snapshotId":"a\"b\u0001"}"#,
            r#"{"snapshotId":7}"#,
            r#"{"other":"x"}"#,
            r#"["syft-1"]"#,
            r#""syft-1""#,
            r#"{"backfill":true,"files":[],"format":null,"importedAt":"t","nextSnapshot":null,"normalizedHash":null,"previousSnapshot":null,"reason":null,"recordCount":3,"snapshotId":"s","sourceHash":"h","sourceUri":null,"tool":"syft","toolVersion":null,"warnings":["w"]}"#,
        ];
        for text in texts {
            let d = RowDetails::parse(text).unwrap();
            assert!(matches!(d, RowDetails::Canonical(_)), "{text}");
            let v: Value = serde_json::from_str(text).unwrap();
            assert_eq!(
                d.snapshot_id().map(Cow::into_owned),
                SnapshotRef::of(&v),
                "{text}"
            );
            assert_eq!(
                d.read::<SnapshotImported>(),
                SnapshotImported::read(&v),
                "{text}"
            );
            assert_eq!(d.to_value(), v);
        }
    }
}

//! The normalized hash of a set of records and its counts, and the one-byte
//! class (kind and severity) the writer keeps per member to compute them.

use crate::domain::record::{record_hash, IdentKey, NormalizedRecord, RecordHash, RecordKind};
use crate::domain::snapshot::RecordStats;

/// Hash and counts of a set of records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordsSummary {
    /// `b3:` + BLAKE3 over the record hashes in identity-key order.
    pub normalized_hash: String,
    pub count: u64,
    pub stats: RecordStats,
}

/// Accumulates the normalized hash in identity-key order.
pub(super) struct HashAcc {
    pub(super) h: blake3::Hasher,
    pub(super) count: u64,
    pub(super) stats: RecordStats,
}

impl HashAcc {
    pub(super) fn new() -> Self {
        let mut h = blake3::Hasher::new();
        h.update(b"snapgov-snapshot-v1\n");
        HashAcc {
            h,
            count: 0,
            stats: RecordStats::default(),
        }
    }
    pub(super) fn add(&mut self, hash: &[u8], kind: &str, severity: Option<&str>) {
        self.h.update(hash);
        self.count += 1;
        if kind == "vulnerability" {
            self.stats.vulnerabilities += 1;
            let severity = severity.unwrap_or("unknown");
            match self.stats.by_severity.get_mut(severity) {
                Some(n) => *n += 1,
                None => {
                    self.stats.by_severity.insert(severity.to_string(), 1);
                }
            }
        } else {
            self.stats.packages += 1;
        }
    }
    pub(super) fn finish(self) -> RecordsSummary {
        RecordsSummary {
            normalized_hash: format!("b3:{}", self.h.finalize().to_hex()),
            count: self.count,
            stats: self.stats,
        }
    }
}

/// The normalized hash of records given in any order (used by tests and
/// tools that compute it outside the store).
pub fn normalized_hash_of(records: &[NormalizedRecord]) -> String {
    let mut rows: Vec<(IdentKey, RecordHash)> = records
        .iter()
        .map(|r| (r.ident_key(), record_hash(&r.canonical_json())))
        .collect();
    rows.sort();
    let mut acc = HashAcc::new();
    for (_, h) in rows {
        acc.add(&h, "package", None);
    }
    acc.finish().normalized_hash
}

pub(super) fn count_into(stats: &mut RecordStats, kind: &str, severity: Option<&str>) {
    if kind == "vulnerability" {
        stats.vulnerabilities += 1;
        *stats
            .by_severity
            .entry(severity.unwrap_or("unknown").to_string())
            .or_default() += 1;
    } else {
        stats.packages += 1;
    }
}

/// Class of a finding without a severity (cannot happen in valid records).
pub(super) const CLASS_NO_SEVERITY: u8 = u8::MAX;

/// `0` for a package; `1 +` the severity's index for a finding.
pub(super) fn class_of(rec: &NormalizedRecord) -> u8 {
    match (rec.kind, rec.severity()) {
        (RecordKind::Package, _) => 0,
        (RecordKind::Vulnerability, None) => CLASS_NO_SEVERITY,
        (RecordKind::Vulnerability, Some(s)) => {
            1 + crate::domain::record::Severity::ALL
                .iter()
                .position(|x| *x == s)
                .unwrap_or(0) as u8
        }
    }
}

/// The kind and severity columns a class stands for.
pub(super) fn class_columns(class: u8) -> (&'static str, Option<&'static str>) {
    match class {
        0 => (RecordKind::Package.as_str(), None),
        CLASS_NO_SEVERITY => (RecordKind::Vulnerability.as_str(), None),
        c => (
            RecordKind::Vulnerability.as_str(),
            crate::domain::record::Severity::ALL
                .get(c as usize - 1)
                .map(|s| s.as_str()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_round_trip() {
        assert_eq!(class_columns(0), ("package", None));
        for sev in crate::domain::record::Severity::ALL {
            let rec = NormalizedRecord {
                ecosystem: "npm".into(),
                kind: RecordKind::Vulnerability,
                licenses: vec![],
                locations: vec![],
                name: "a".into(),
                package_id: "npm/a@1".into(),
                purl: None,
                subject: "s".into(),
                version: "1".into(),
                vulnerability: Some(crate::domain::record::Finding {
                    aliases: vec![],
                    fixed_version: None,
                    id: "CVE-1".into(),
                    severity: sev,
                    status: None,
                }),
            };
            assert_eq!(
                class_columns(class_of(&rec)),
                ("vulnerability", Some(sev.as_str()))
            );
        }
    }
}

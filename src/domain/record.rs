//! Normalized records: the one shape every importer produces and every
//! workflow (hashing, diff, rollback, queries) works on.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What a record describes.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "lowercase")]
pub enum RecordKind {
    Package,
    Vulnerability,
}

impl RecordKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Package => "package",
            RecordKind::Vulnerability => "vulnerability",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "package" => Some(RecordKind::Package),
            "vulnerability" => Some(RecordKind::Vulnerability),
            _ => None,
        }
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Finding severity, folded from every scanner's vocabulary.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
    Negligible,
    Unknown,
}

impl Severity {
    pub const ALL: [Severity; 6] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Negligible,
        Severity::Unknown,
    ];

    /// Lower-cases and folds a scanner's severity word. Vendor words that
    /// mean the same level (Red Hat's "Important", "Moderate") are folded in
    /// so that a severity filter finds them; anything else is `unknown`.
    pub fn normalize(raw: &str) -> Severity {
        match raw.trim().to_ascii_lowercase().as_str() {
            "critical" => Severity::Critical,
            "high" | "important" => Severity::High,
            "medium" | "moderate" => Severity::Medium,
            "low" => Severity::Low,
            "negligible" | "none" | "info" | "informational" => Severity::Negligible,
            _ => Severity::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
            Severity::Negligible => "negligible",
            Severity::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Severity::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The vulnerability half of a finding record.
///
/// Fields are declared in alphabetical order so that the canonical encoding
/// (serde_json in declaration order) has sorted keys.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// Other ids of the same vulnerability (sorted, unique).
    pub aliases: Vec<String>,
    pub fixed_version: Option<String>,
    /// Vulnerability id (CVE-…, GHSA-…, RHSA-…, pyup.io-…).
    pub id: String,
    pub severity: Severity,
    pub status: Option<String>,
}

/// One normalized record: a package, or a finding of one vulnerability on one
/// package. Fields are alphabetical: see [`Finding`].
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct NormalizedRecord {
    pub ecosystem: String,
    pub kind: RecordKind,
    /// Sorted, unique.
    pub licenses: Vec<String>,
    /// Sorted, unique.
    pub locations: Vec<String>,
    pub name: String,
    /// Package identity: the purl when the input gives one, otherwise
    /// `{ecosystem}/{name}@{version}` (plus `?arch=` for Clair).
    pub package_id: String,
    pub purl: Option<String>,
    pub subject: String,
    pub version: String,
    /// Present exactly when `kind` is `vulnerability`.
    pub vulnerability: Option<Finding>,
}

/// Builds the package identity used when the input has no purl.
pub fn fallback_package_id(
    ecosystem: &str,
    name: &str,
    version: &str,
    arch: Option<&str>,
) -> String {
    let mut id = format!("{ecosystem}/{name}@{version}");
    if let Some(arch) = arch.filter(|a| !a.is_empty()) {
        id.push_str("?arch=");
        id.push_str(arch);
    }
    id
}

/// 16-byte identity key of a record (kind + vulnerability id + package id).
pub type IdentKey = [u8; 16];
/// 32-byte BLAKE3 content hash of a record's canonical encoding.
pub type RecordHash = [u8; 32];

impl NormalizedRecord {
    /// Sorts and de-duplicates the set-valued fields; every importer's output
    /// goes through this before it is hashed.
    pub fn canonicalize(&mut self) {
        sort_unique(&mut self.licenses);
        sort_unique(&mut self.locations);
        if let Some(f) = &mut self.vulnerability {
            sort_unique(&mut f.aliases);
            f.aliases.retain(|a| a != &f.id);
        }
    }

    /// Human-readable identity: the package id, or `{vulnId} {packageId}`.
    pub fn identity(&self) -> String {
        match &self.vulnerability {
            Some(f) => format!("{} {}", f.id, self.package_id),
            None => self.package_id.clone(),
        }
    }

    /// The text a record carries, in bytes (what a size limit counts).
    pub fn text_len(&self) -> usize {
        let strs = [
            &self.ecosystem,
            &self.name,
            &self.package_id,
            &self.subject,
            &self.version,
        ];
        let mut n: usize = strs.iter().map(|s| s.len()).sum();
        n += self.purl.as_ref().map_or(0, |s| s.len());
        n += self
            .licenses
            .iter()
            .chain(&self.locations)
            .map(|s| s.len())
            .sum::<usize>();
        if let Some(f) = &self.vulnerability {
            n += f.id.len() + f.aliases.iter().map(|s| s.len()).sum::<usize>();
            n += f.fixed_version.as_ref().map_or(0, |s| s.len())
                + f.status.as_ref().map_or(0, |s| s.len());
        }
        n
    }

    pub fn vulnerability_id(&self) -> Option<&str> {
        self.vulnerability.as_ref().map(|f| f.id.as_str())
    }

    pub fn severity(&self) -> Option<Severity> {
        self.vulnerability.as_ref().map(|f| f.severity)
    }

    /// Identity key: BLAKE3 over `kind \0 vulnId \0 packageId`, truncated.
    pub fn ident_key(&self) -> IdentKey {
        ident_key(
            self.kind,
            self.vulnerability_id().unwrap_or(""),
            &self.package_id,
        )
    }

    /// The canonical encoding: compact JSON, keys sorted (by declaration
    /// order), sets sorted. Call [`canonicalize`](Self::canonicalize) first.
    pub fn canonical_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a record always serializes")
    }

    /// Merges another record with the same identity into this one: the union
    /// of locations, licenses and aliases; scalar fields keep the first
    /// non-empty value, and the subject keeps the lexicographically smallest,
    /// so the merge does not depend on input order.
    pub fn merge_from(&mut self, other: &NormalizedRecord) {
        self.licenses.extend(other.licenses.iter().cloned());
        self.locations.extend(other.locations.iter().cloned());
        if other.subject < self.subject {
            self.subject = other.subject.clone();
        }
        if self.purl.is_none() {
            self.purl = other.purl.clone();
        }
        if let (Some(a), Some(b)) = (&mut self.vulnerability, &other.vulnerability) {
            a.aliases.extend(b.aliases.iter().cloned());
            if a.fixed_version.is_none() {
                a.fixed_version = b.fixed_version.clone();
            }
            if a.status.is_none() {
                a.status = b.status.clone();
            }
            // The worse rating wins when two rows of a report disagree.
            a.severity = match (a.severity, b.severity) {
                (Severity::Unknown, x) | (x, Severity::Unknown) => x,
                (x, y) => x.min(y),
            };
        }
        self.canonicalize();
    }
}

pub fn ident_key(kind: RecordKind, vuln_id: &str, package_id: &str) -> IdentKey {
    let mut h = blake3::Hasher::new();
    h.update(kind.as_str().as_bytes());
    h.update(&[0]);
    h.update(vuln_id.as_bytes());
    h.update(&[0]);
    h.update(package_id.as_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&h.finalize().as_bytes()[..16]);
    out
}

/// Content hash of a canonical encoding.
pub fn record_hash(canonical: &[u8]) -> RecordHash {
    let mut h = blake3::Hasher::new();
    h.update(b"snapgov-record-v1\n");
    h.update(canonical);
    *h.finalize().as_bytes()
}

fn sort_unique(v: &mut Vec<String>) {
    v.retain(|s| !s.is_empty());
    v.sort();
    v.dedup();
}

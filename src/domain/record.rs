//! Normalized records: the one shape every importer produces and every
//! workflow (hashing, diff, rollback, queries) works on.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
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

    /// Whether `raw` is a word [`normalize`](Self::normalize) knows (or
    /// empty, or "unknown" itself): anything else becomes `unknown`, and an
    /// import counts and reports it.
    pub fn is_known(raw: &str) -> bool {
        let w = raw.trim();
        w.is_empty()
            || w.eq_ignore_ascii_case("unknown")
            || Severity::normalize(w) != Severity::Unknown
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

    /// Merges another record with the same identity into this one: see
    /// [`MergedRecord`] (which merges many in linear time).
    pub fn merge_from(&mut self, other: &NormalizedRecord) {
        let mut m = MergedRecord::new(std::mem::replace(self, other.clone()));
        m.merge(other);
        *self = m.finish();
    }

    /// Keeps at most [`MAX_SET_ITEMS`] of each set field (the smallest, so
    /// the result does not depend on input order). Returns how many items
    /// were dropped.
    pub fn cap_sets(&mut self) -> u64 {
        let mut dropped = cap_vec(&mut self.licenses) + cap_vec(&mut self.locations);
        if let Some(f) = &mut self.vulnerability {
            dropped += cap_vec(&mut f.aliases);
        }
        dropped
    }
}

/// Most items kept in each set field of one record (`locations`,
/// `licenses`, `aliases`). A feed that lists one package thousands of times
/// with different locations (a "merge bomb") would otherwise make one record
/// as large as the feed, rewritten at every duplicate. No real scanner output
/// we know of comes near it (the largest real fixture has 2 locations per
/// record); items past the cap are dropped, counted, and reported as an
/// import warning.
pub const MAX_SET_ITEMS: usize = 1000;

fn cap_vec(v: &mut Vec<String>) -> u64 {
    let over = v.len().saturating_sub(MAX_SET_ITEMS);
    v.truncate(MAX_SET_ITEMS);
    over as u64
}

/// Merges records with the same identity in time linear in their size: the
/// union of locations, licenses and aliases, kept as ordered sets capped at
/// [`MAX_SET_ITEMS`] (the largest items are dropped and counted); scalar
/// fields keep the first non-empty value, and the subject keeps the
/// lexicographically smallest, so the merge does not depend on input order.
#[derive(Clone, Debug)]
pub struct MergedRecord {
    base: NormalizedRecord,
    licenses: BTreeSet<String>,
    locations: BTreeSet<String>,
    aliases: BTreeSet<String>,
    dropped: u64,
}

impl MergedRecord {
    pub fn new(mut base: NormalizedRecord) -> Self {
        let licenses = std::mem::take(&mut base.licenses);
        let locations = std::mem::take(&mut base.locations);
        let aliases = base
            .vulnerability
            .as_mut()
            .map(|f| std::mem::take(&mut f.aliases))
            .unwrap_or_default();
        let mut m = MergedRecord {
            base,
            licenses: BTreeSet::new(),
            locations: BTreeSet::new(),
            aliases: BTreeSet::new(),
            dropped: 0,
        };
        m.dropped += add_capped(&mut m.licenses, licenses);
        m.dropped += add_capped(&mut m.locations, locations);
        m.dropped += add_capped(&mut m.aliases, aliases);
        m
    }

    pub fn merge(&mut self, other: &NormalizedRecord) {
        self.dropped += add_capped(&mut self.licenses, other.licenses.iter().cloned());
        self.dropped += add_capped(&mut self.locations, other.locations.iter().cloned());
        let base = &mut self.base;
        if other.subject < base.subject {
            base.subject = other.subject.clone();
        }
        if base.purl.is_none() {
            base.purl = other.purl.clone();
        }
        if let (Some(a), Some(b)) = (&mut base.vulnerability, &other.vulnerability) {
            self.dropped += add_capped(&mut self.aliases, b.aliases.iter().cloned());
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
    }

    /// Set items dropped by the cap so far.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    pub fn finish(self) -> NormalizedRecord {
        let mut rec = self.base;
        rec.licenses = self.licenses.into_iter().collect();
        rec.locations = self.locations.into_iter().collect();
        if let Some(f) = &mut rec.vulnerability {
            f.aliases = self.aliases.into_iter().collect();
        }
        rec.canonicalize();
        rec
    }
}

/// Adds items to a capped set, dropping the largest past [`MAX_SET_ITEMS`].
/// Returns how many were dropped.
fn add_capped(set: &mut BTreeSet<String>, items: impl IntoIterator<Item = String>) -> u64 {
    let mut dropped = 0;
    for item in items {
        if item.is_empty() {
            continue;
        }
        if set.len() >= MAX_SET_ITEMS {
            if set.last().is_some_and(|last| &item >= last) {
                if !set.contains(&item) {
                    dropped += 1;
                }
                continue;
            }
            if set.insert(item) {
                set.pop_last();
                dropped += 1;
            }
            continue;
        }
        set.insert(item);
    }
    dropped
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

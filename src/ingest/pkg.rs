//! From what a feed says to normalized records: the package builder every
//! parser uses (so package ids and record shapes follow one rule), and the
//! lenient readings of fields that scanners write in several ways.

use super::{IngestError, RecordSink};
use crate::domain::record::{fallback_package_id, Finding, NormalizedRecord, RecordKind};
use serde::de::{self, Visitor};
use serde::Deserialize;
use std::fmt;

/// Everything a record says about its package.
#[derive(Clone, Debug, Default)]
pub(crate) struct Pkg {
    pub subject: String,
    pub ecosystem: String,
    pub name: String,
    pub version: String,
    /// Non-empty purl, when the input gives one.
    pub purl: Option<String>,
    /// Architecture for the fallback id (Clair only).
    pub arch: Option<String>,
    pub licenses: Vec<String>,
    pub locations: Vec<String>,
}

impl Pkg {
    /// The package identity: the purl, else `{ecosystem}/{name}@{version}`.
    pub(crate) fn package_id(&self) -> String {
        match &self.purl {
            Some(p) => p.clone(),
            None => fallback_package_id(
                &self.ecosystem,
                &self.name,
                &self.version,
                self.arch.as_deref(),
            ),
        }
    }

    /// The record for the package itself.
    pub(crate) fn package_record(&self) -> NormalizedRecord {
        self.record(RecordKind::Package, None)
    }

    /// The record for one vulnerability on this package.
    pub(crate) fn finding_record(&self, finding: Finding) -> NormalizedRecord {
        self.record(RecordKind::Vulnerability, Some(finding))
    }

    fn record(&self, kind: RecordKind, vulnerability: Option<Finding>) -> NormalizedRecord {
        NormalizedRecord {
            ecosystem: self.ecosystem.clone(),
            kind,
            licenses: self.licenses.clone(),
            locations: self.locations.clone(),
            name: self.name.clone(),
            package_id: self.package_id(),
            purl: self.purl.clone(),
            subject: self.subject.clone(),
            version: self.version.clone(),
            vulnerability,
        }
    }

    /// Like [`package_record`](Self::package_record), consuming `self`.
    pub(crate) fn into_package_record(self) -> NormalizedRecord {
        let package_id = self.package_id();
        NormalizedRecord {
            ecosystem: self.ecosystem,
            kind: RecordKind::Package,
            licenses: self.licenses,
            locations: self.locations,
            name: self.name,
            package_id,
            purl: self.purl,
            subject: self.subject,
            version: self.version,
            vulnerability: None,
        }
    }
}

/// Canonicalizes `record` and hands it to the sink.
pub(crate) fn emit(
    sink: &mut dyn RecordSink,
    mut record: NormalizedRecord,
) -> Result<(), IngestError> {
    record.canonicalize();
    sink.push(record)
}

/// Ecosystem placeholder when a format does not say.
pub(crate) const UNKNOWN_ECOSYSTEM: &str = "unknown";

/// The purl type (`pkg:TYPE/…`), lower-cased.
pub(crate) fn purl_type(purl: &str) -> Option<String> {
    let rest = purl.strip_prefix("pkg:")?;
    let t = rest.trim_start_matches('/').split('/').next()?;
    (!t.is_empty()).then(|| t.to_ascii_lowercase())
}

// ---------------------------------------------------------------------------
// Lenient field readings
// ---------------------------------------------------------------------------

/// A scalar that may be written as a string or a number (schema versions,
/// rpm epochs); kept as text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Scalar(pub String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// `Some(s)` when `s` has non-whitespace content.
pub(crate) fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|v| !v.trim().is_empty())
}

/// A tool version as reported, or `None` for absent / "[not provided]".
pub(crate) fn tool_text(s: Option<String>) -> Option<String> {
    non_empty(s).filter(|v| v.trim() != "[not provided]")
}

/// Joins an image/artifact name and its version into a subject: `name@digest`
/// for digests (`sha256:…`), otherwise `name:version`; just `name` when the
/// version is empty.
pub(crate) fn join_name_version(name: &str, version: Option<&str>) -> String {
    match version.map(str::trim).filter(|v| !v.is_empty()) {
        None => name.to_string(),
        Some(v) if is_digest(v) => format!("{name}@{v}"),
        Some(v) => format!("{name}:{v}"),
    }
}

fn is_digest(v: &str) -> bool {
    match v.split_once(':') {
        Some((alg, hex)) => {
            matches!(alg, "sha256" | "sha384" | "sha512" | "sha1")
                && !hex.is_empty()
                && hex.bytes().all(|b| b.is_ascii_hexdigit())
        }
        None => false,
    }
}

/// Leading integer of a version string ("16.0.39" → 16, "2" → 2, "v3" → 3).
pub(crate) fn major_version(v: &str) -> Option<u64> {
    let v = v.trim().trim_start_matches(['v', 'V']);
    let end = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    v[..end].parse().ok()
}

/// The schema-drift warning, when the `found` version's major number is
/// above `newest` (none when the document states no version).
pub(crate) fn schema_warnings(
    label: &str,
    found: Option<&str>,
    newest: u64,
    newest_text: &str,
) -> Vec<String> {
    let Some(found) = found else {
        return Vec::new();
    };
    match major_version(found) {
        Some(major) if major > newest => vec![format!(
            "{label} {found} is newer than the newest tested ({newest_text}); fields snapgov does not use are ignored"
        )],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_and_versions() {
        assert_eq!(join_name_version("nginx", Some("1.14.1")), "nginx:1.14.1");
        assert_eq!(
            join_name_version("library/alpine", Some("sha256:e2e16842c9b54d985bf1ef9242a313f36b856181f188de21313820e177002501")),
            "library/alpine@sha256:e2e16842c9b54d985bf1ef9242a313f36b856181f188de21313820e177002501"
        );
        assert_eq!(join_name_version("dir", Some("")), "dir");
        assert_eq!(major_version("16.0.39"), Some(16));
        assert_eq!(major_version("v3"), Some(3));
        assert_eq!(major_version("x"), None);
        assert!(schema_warnings("syft-json schema", Some("16.9.0"), 16, "16.x").is_empty());
        assert!(schema_warnings("syft-json schema", None, 16, "16.x").is_empty());
        assert_eq!(
            schema_warnings("syft-json schema", Some("17.0.0"), 16, "16.x"),
            ["syft-json schema 17.0.0 is newer than the newest tested (16.x); fields snapgov does not use are ignored"]
        );
        assert_eq!(purl_type("pkg:npm/%40a/b@1"), Some("npm".to_string()));
        assert_eq!(purl_type("npm/a"), None);
        assert_eq!(tool_text(Some("[not provided]".into())), None);
    }
}

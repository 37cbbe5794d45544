//! Trivy's JSON report (`trivy … -f json`), SchemaVersion 2, and the legacy
//! pre-0.20 layout (a bare top-level array of results).
//!
//! Each `Results[]` entry contributes
//! - one package record per `Packages[]` entry (present with
//!   `--list-all-pkgs`): ecosystem = the result `Type`, purl =
//!   `Identifier.PURL`, version = `[epoch:]version[-release]` (epoch when
//!   present and non-zero, release when present), licenses = `Licenses`,
//!   location = `FilePath`, else the result `Target`;
//! - one finding per `Vulnerabilities[]` entry: id = `VulnerabilityID`, the
//!   package = `PkgName` / `InstalledVersion` / `PkgIdentifier.PURL`,
//!   severity = `Severity`, fixed version = `FixedVersion` (empty → none),
//!   status = `Status`, aliases = `VendorIDs`, location = `PkgPath`, else the
//!   result `Target`.
//!
//! The same package or finding may appear under several results; the
//! importer merges records by identity. The subject is `ArtifactName`
//! (legacy: the first result's `Target`).
//!
//! Results are streamed one at a time (one result is held in memory).

use super::common::{
    self, emit, empty_field, non_empty, schema_warning, tool_text, Pkg, Scalar, Stash,
    UNKNOWN_ECOSYSTEM,
};
use super::{DocMeta, IngestError, Limits, RecordSink};
use crate::domain::record::{Finding, Severity};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::fmt;
use std::path::Path;

/// Newest Trivy `SchemaVersion` tested.
pub const NEWEST_TESTED_SCHEMA: u64 = 2;

/// Parses a Trivy JSON report, streaming its results to `sink`.
pub fn parse(
    path: &Path,
    display: &str,
    limits: &Limits,
    sink: &mut dyn RecordSink,
) -> Result<DocMeta, IngestError> {
    let stash = Stash::default();
    let mut state = State {
        display,
        sink,
        stash: &stash,
        header: Header::default(),
        legacy: false,
        subject: None,
        streamed: false,
        saw_results: false,
    };
    let input = common::open(path, display, limits, false)?;
    common::run(
        input,
        TopSeed {
            state: &mut state,
            pass: Pass::First,
        },
        display,
        limits,
        &stash,
    )?;
    if state.saw_results && !state.streamed {
        state.subject = Some(
            non_empty(state.header.artifact_name.clone()).unwrap_or_else(|| display.to_string()),
        );
        let input = common::open(path, display, limits, false)?;
        common::run(
            input,
            TopSeed {
                state: &mut state,
                pass: Pass::Second,
            },
            display,
            limits,
            &stash,
        )?;
    }

    let header = state.header;
    let subject = if state.legacy {
        state.subject.unwrap_or_else(|| display.to_string())
    } else {
        non_empty(header.artifact_name).unwrap_or_else(|| display.to_string())
    };
    let schema_version = header.schema_version.map(|s| s.0);
    let mut warnings = Vec::new();
    if let Some(w) = schema_version.as_deref().and_then(|v| {
        schema_warning(
            "trivy-json SchemaVersion",
            v,
            NEWEST_TESTED_SCHEMA,
            &NEWEST_TESTED_SCHEMA.to_string(),
        )
    }) {
        warnings.push(w);
    }
    Ok(DocMeta {
        tool_name: Some("trivy".to_string()),
        tool_version: header.trivy.and_then(|t| tool_text(t.version)),
        schema_version,
        generated_at: non_empty(header.created_at),
        subject: Some(subject),
        warnings,
    })
}

// ---------------------------------------------------------------------------
// Document model
// ---------------------------------------------------------------------------

#[derive(Default)]
struct Header {
    schema_version: Option<Scalar>,
    trivy: Option<TrivyInfo>,
    created_at: Option<String>,
    artifact_name: Option<String>,
}

#[derive(Deserialize)]
struct TrivyInfo {
    #[serde(default, rename = "Version")]
    version: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TrivyResult {
    #[serde(default)]
    target: Option<String>,
    #[serde(default, rename = "Type")]
    kind: Option<String>,
    #[serde(default)]
    packages: Option<Vec<Package>>,
    #[serde(default)]
    vulnerabilities: Option<Vec<Vulnerability>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Package {
    name: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    epoch: Option<Scalar>,
    #[serde(default)]
    release: Option<String>,
    #[serde(default)]
    identifier: Option<Identifier>,
    #[serde(default)]
    licenses: Option<Vec<String>>,
    #[serde(default)]
    file_path: Option<String>,
}

#[derive(Deserialize)]
struct Identifier {
    #[serde(default, rename = "PURL")]
    purl: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Vulnerability {
    #[serde(rename = "VulnerabilityID")]
    vulnerability_id: String,
    pkg_name: String,
    #[serde(default)]
    pkg_path: Option<String>,
    #[serde(default)]
    pkg_identifier: Option<Identifier>,
    #[serde(default)]
    installed_version: Option<String>,
    #[serde(default)]
    fixed_version: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default, rename = "VendorIDs")]
    vendor_ids: Option<Vec<String>>,
}

/// `[epoch:]version[-release]`.
fn full_version(p: &Package) -> String {
    let mut v = String::new();
    if let Some(Scalar(e)) = &p.epoch {
        let e = e.trim();
        if !e.is_empty() && e != "0" {
            v.push_str(e);
            v.push(':');
        }
    }
    v.push_str(p.version.as_deref().unwrap_or(""));
    if let Some(r) = p.release.as_deref().filter(|r| !r.is_empty()) {
        v.push('-');
        v.push_str(r);
    }
    v
}

// ---------------------------------------------------------------------------
// Visitors
// ---------------------------------------------------------------------------

struct State<'a> {
    display: &'a str,
    sink: &'a mut dyn RecordSink,
    stash: &'a Stash,
    header: Header,
    legacy: bool,
    /// Known once results may be streamed.
    subject: Option<String>,
    streamed: bool,
    saw_results: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    First,
    Second,
}

struct TopSeed<'s, 'a> {
    state: &'s mut State<'a>,
    pass: Pass,
}

impl<'de> DeserializeSeed<'de> for TopSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

#[derive(Deserialize)]
#[serde(field_identifier)]
enum TopKey {
    SchemaVersion,
    Trivy,
    CreatedAt,
    ArtifactName,
    Results,
    #[serde(other)]
    Other,
}

impl<'de> Visitor<'de> for TopSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Trivy report (a JSON object, or an array of results)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let state = self.state;
        while let Some(key) = map.next_key::<TopKey>()? {
            match (self.pass, key) {
                (Pass::First, TopKey::SchemaVersion) => {
                    state.header.schema_version = map.next_value()?
                }
                (Pass::First, TopKey::Trivy) => state.header.trivy = map.next_value()?,
                (Pass::First, TopKey::CreatedAt) => state.header.created_at = map.next_value()?,
                (Pass::First, TopKey::ArtifactName) => {
                    state.header.artifact_name = map.next_value()?;
                    if !state.saw_results {
                        state.subject = Some(
                            non_empty(state.header.artifact_name.clone())
                                .unwrap_or_else(|| state.display.to_string()),
                        );
                    }
                }
                (Pass::First, TopKey::Results) => {
                    state.saw_results = true;
                    if state.subject.is_some() {
                        state.streamed = true;
                        map.next_value_seed(ResultsSeed {
                            state: &mut *state,
                            prefix: "Results",
                        })?;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                (Pass::Second, TopKey::Results) => map.next_value_seed(ResultsSeed {
                    state: &mut *state,
                    prefix: "Results",
                })?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }

    /// Legacy layout: the document is the results array.
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        let state = self.state;
        state.legacy = true;
        state.streamed = true;
        ResultsSeed { state, prefix: "" }.visit_seq(seq)
    }
}

struct ResultsSeed<'s, 'a> {
    state: &'s mut State<'a>,
    /// JSON path of the results array, for error messages.
    prefix: &'static str,
}

impl<'de> DeserializeSeed<'de> for ResultsSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ResultsSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of results")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let state = self.state;
        let mut index = 0usize;
        while let Some(result) = seq.next_element::<TrivyResult>()? {
            if state.legacy && state.subject.is_none() {
                state.subject = Some(
                    non_empty(result.target.clone()).unwrap_or_else(|| state.display.to_string()),
                );
            }
            let subject = state
                .subject
                .clone()
                .unwrap_or_else(|| state.display.to_string());
            let path = format!("{}[{index}]", self.prefix);
            if let Err(e) = emit_result(result, &path, &subject, state) {
                return Err(state.stash.put(e));
            }
            index += 1;
        }
        Ok(())
    }
}

fn emit_result(
    r: TrivyResult,
    path: &str,
    subject: &str,
    state: &mut State,
) -> Result<(), IngestError> {
    let ecosystem = non_empty(r.kind).unwrap_or_else(|| UNKNOWN_ECOSYSTEM.to_string());
    let target = non_empty(r.target);
    for (i, p) in r.packages.unwrap_or_default().into_iter().enumerate() {
        if p.name.trim().is_empty() {
            return Err(empty_field(
                state.display,
                format!("{path}.Packages[{i}].Name"),
                "Name",
            ));
        }
        let version = full_version(&p);
        let location = non_empty(p.file_path).or_else(|| target.clone());
        let pkg = Pkg {
            subject: subject.to_string(),
            ecosystem: ecosystem.clone(),
            name: p.name,
            version,
            purl: non_empty(p.identifier.and_then(|id| id.purl)),
            arch: None,
            licenses: p.licenses.unwrap_or_default(),
            locations: location.into_iter().collect(),
        };
        emit(state.sink, pkg.into_package_record())?;
    }
    for (i, v) in r
        .vulnerabilities
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        if v.vulnerability_id.trim().is_empty() {
            let at = format!("{path}.Vulnerabilities[{i}].VulnerabilityID");
            return Err(empty_field(state.display, at, "VulnerabilityID"));
        }
        if v.pkg_name.trim().is_empty() {
            return Err(empty_field(
                state.display,
                format!("{path}.Vulnerabilities[{i}].PkgName"),
                "PkgName",
            ));
        }
        let location = non_empty(v.pkg_path).or_else(|| target.clone());
        let pkg = Pkg {
            subject: subject.to_string(),
            ecosystem: ecosystem.clone(),
            name: v.pkg_name,
            version: v.installed_version.unwrap_or_default(),
            purl: non_empty(v.pkg_identifier.and_then(|id| id.purl)),
            arch: None,
            licenses: Vec::new(),
            locations: location.into_iter().collect(),
        };
        let finding = Finding {
            aliases: v.vendor_ids.unwrap_or_default(),
            fixed_version: non_empty(v.fixed_version),
            id: v.vulnerability_id,
            severity: Severity::normalize(v.severity.as_deref().unwrap_or("")),
            status: non_empty(v.status),
        };
        emit(state.sink, pkg.finding_record(finding))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkg(epoch: Option<&str>, version: &str, release: Option<&str>) -> Package {
        Package {
            name: "p".into(),
            version: Some(version.into()),
            epoch: epoch.map(|e| Scalar(e.into())),
            release: release.map(Into::into),
            identifier: None,
            licenses: None,
            file_path: None,
        }
    }

    #[test]
    fn versions_combine_epoch_and_release() {
        assert_eq!(
            full_version(&pkg(Some("1"), "1.0.2k", Some("16.el7"))),
            "1:1.0.2k-16.el7"
        );
        assert_eq!(full_version(&pkg(Some("0"), "4.2", Some("1"))), "4.2-1");
        assert_eq!(full_version(&pkg(None, "2.0.6", None)), "2.0.6");
        assert_eq!(full_version(&pkg(None, "2.0.6", Some(""))), "2.0.6");
    }
}

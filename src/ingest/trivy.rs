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
//! Results are streamed one at a time by the
//! [two-pass reading](super::read::two_pass) (one result is held in
//! memory). When `ArtifactName` comes after `Results`, the file is read
//! twice.

use super::pkg::{emit, non_empty, schema_warnings, tool_text, Pkg, Scalar, UNKNOWN_ECOSYSTEM};
use super::read::errors::empty_field;
use super::read::open::Feed;
use super::read::split::{Splitter, Start};
use super::read::two_pass::{self, Decode, Document, Member, Place};
use super::{DocMeta, IngestError, RecordSink};
use crate::domain::record::{Finding, Severity};
use serde::Deserialize;

/// Newest Trivy `SchemaVersion` tested.
pub const NEWEST_TESTED_SCHEMA: u64 = 2;

/// Parses a Trivy JSON report, streaming its results to `sink`.
pub(crate) fn parse(feed: Feed, sink: &mut dyn RecordSink) -> Result<DocMeta, IngestError> {
    let mut sp = Splitter::open(feed)?;
    if !sp.begin_object()? {
        return parse_legacy(sp, sink);
    }
    let mut header = Header::default();
    two_pass::read_object(sp, feed, &mut header, sink)?;
    let subject = header.subject(feed.display);
    let schema_version = header.schema_version.map(|s| s.0);
    let warnings = schema_warnings(
        "trivy-json SchemaVersion",
        schema_version.as_deref(),
        NEWEST_TESTED_SCHEMA,
        &NEWEST_TESTED_SCHEMA.to_string(),
    );
    Ok(DocMeta {
        tool_name: Some("trivy".to_string()),
        tool_version: header.trivy.and_then(|t| tool_text(t.version)),
        schema_version,
        generated_at: non_empty(header.created_at),
        subject: Some(subject),
        warnings,
    })
}

/// The legacy layout: the document is the results array, and the subject
/// is the first result's `Target`.
fn parse_legacy(mut sp: Splitter, sink: &mut dyn RecordSink) -> Result<DocMeta, IngestError> {
    if sp.begin_array()? != Start::Array {
        return Err(sp.wrong_top_level("a Trivy report (a JSON object, or an array of results)"));
    }
    let display = sp.display;
    let mut subject = None;
    let decode = Decode::Lexing { parent_depth: 1 };
    two_pass::each_element(&mut sp, "", decode, |result: TrivyResult, path| {
        let subject = subject.get_or_insert_with(|| {
            non_empty(result.target.clone()).unwrap_or_else(|| display.to_string())
        });
        let at = Place {
            path,
            subject,
            display,
        };
        emit_result(result, at, sink)
    })?;
    sp.end()?;
    Ok(DocMeta {
        tool_name: Some("trivy".to_string()),
        tool_version: None,
        schema_version: None,
        generated_at: None,
        subject: Some(subject.unwrap_or_else(|| display.to_string())),
        warnings: Vec::new(),
    })
}

impl Document for Header {
    const RECORDS: &'static str = "Results";
    const SUBJECT: &'static str = "ArtifactName";
    const NOT_AN_ARRAY: &'static str = "expected an array of results";
    const NULL_IS_EMPTY: bool = true;
    type Element = TrivyResult;

    fn member(&mut self, key: &str) -> Option<&mut dyn Member> {
        match key {
            "SchemaVersion" => Some(&mut self.schema_version),
            "Trivy" => Some(&mut self.trivy),
            "CreatedAt" => Some(&mut self.created_at),
            "ArtifactName" => Some(&mut self.artifact_name),
            _ => None,
        }
    }

    fn subject(&self, display: &str) -> String {
        non_empty(self.artifact_name.clone()).unwrap_or_else(|| display.to_string())
    }

    fn convert(r: TrivyResult, at: Place, sink: &mut dyn RecordSink) -> Result<(), IngestError> {
        emit_result(r, at, sink)
    }
}

// ---------------------------------------------------------------------------
// Document model
// ---------------------------------------------------------------------------

/// The members read besides `Results`.
#[derive(Default)]
struct Header {
    schema_version: Option<Scalar>,
    trivy: Option<TrivyInfo>,
    created_at: Option<String>,
    artifact_name: Option<String>,
}

#[derive(Deserialize)]
struct TrivyInfo {
    #[serde(rename = "Version")]
    version: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TrivyResult {
    target: Option<String>,
    #[serde(rename = "Type")]
    kind: Option<String>,
    packages: Option<Vec<Package>>,
    vulnerabilities: Option<Vec<Vulnerability>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Package {
    name: String,
    version: Option<String>,
    epoch: Option<Scalar>,
    release: Option<String>,
    identifier: Option<Identifier>,
    licenses: Option<Vec<String>>,
    file_path: Option<String>,
}

#[derive(Deserialize)]
struct Identifier {
    #[serde(rename = "PURL")]
    purl: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Vulnerability {
    #[serde(rename = "VulnerabilityID")]
    vulnerability_id: String,
    pkg_name: String,
    pkg_path: Option<String>,
    pkg_identifier: Option<Identifier>,
    installed_version: Option<String>,
    fixed_version: Option<String>,
    status: Option<String>,
    severity: Option<String>,
    #[serde(rename = "VendorIDs")]
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

/// Sends a result's package records, then its findings.
fn emit_result(r: TrivyResult, at: Place, sink: &mut dyn RecordSink) -> Result<(), IngestError> {
    let ecosystem = non_empty(r.kind).unwrap_or_else(|| UNKNOWN_ECOSYSTEM.to_string());
    let target = non_empty(r.target);
    let pkg = |name: String, version: String, purl, location: Option<String>| Pkg {
        subject: at.subject.to_string(),
        ecosystem: ecosystem.clone(),
        name,
        version,
        purl: non_empty(purl),
        arch: None,
        licenses: Vec::new(),
        locations: location.or_else(|| target.clone()).into_iter().collect(),
    };
    for (i, p) in r.packages.unwrap_or_default().into_iter().enumerate() {
        if p.name.trim().is_empty() {
            let field = format!("{}.Packages[{i}].Name", at.path);
            return Err(empty_field(at.display, field, "Name"));
        }
        let version = full_version(&p);
        let purl = p.identifier.and_then(|id| id.purl);
        let mut package = pkg(p.name, version, purl, non_empty(p.file_path));
        package.licenses = p.licenses.unwrap_or_default();
        emit(sink, package.into_package_record())?;
    }
    for (i, v) in r
        .vulnerabilities
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let empty = |field: &str| {
            let path = format!("{}.Vulnerabilities[{i}].{field}", at.path);
            empty_field(at.display, path, field)
        };
        if v.vulnerability_id.trim().is_empty() {
            return Err(empty("VulnerabilityID"));
        }
        if v.pkg_name.trim().is_empty() {
            return Err(empty("PkgName"));
        }
        let version = v.installed_version.unwrap_or_default();
        let purl = v.pkg_identifier.and_then(|id| id.purl);
        let package = pkg(v.pkg_name, version, purl, non_empty(v.pkg_path));
        let finding = Finding {
            aliases: v.vendor_ids.unwrap_or_default(),
            fixed_version: non_empty(v.fixed_version),
            id: v.vulnerability_id,
            severity: Severity::normalize(v.severity.as_deref().unwrap_or("")),
            status: non_empty(v.status),
        };
        if let Some(raw) = v.severity.as_deref().filter(|r| !Severity::is_known(r)) {
            sink.unknown_severity(raw);
        }
        emit(sink, package.finding_record(finding))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::record::NormalizedRecord;
    use crate::ingest::test_support;

    fn parse_str(json: &str) -> (Result<DocMeta, IngestError>, Vec<NormalizedRecord>) {
        test_support::parse_str(parse, json)
    }

    #[test]
    fn results_before_artifact_name_take_two_passes() {
        let doc = r#"{"Results": [{"Target": "t", "Type": "npm",
            "Packages": [{"Name": "a", "Version": "1"}],
            "Vulnerabilities": [{"VulnerabilityID": "CVE-1", "PkgName": "a", "InstalledVersion": "1", "Severity": "CRITICAL"}]}],
            "ArtifactName": "img:1", "SchemaVersion": 2}"#;
        let (meta, recs) = parse_str(doc);
        assert_eq!(meta.unwrap().subject.as_deref(), Some("img:1"));
        assert_eq!(recs.len(), 2);
        assert!(recs
            .iter()
            .all(|r| r.subject == "img:1" && r.locations == ["t"]));
        assert_eq!(recs[1].identity(), "CVE-1 npm/a@1");
        assert_eq!(
            recs[1].vulnerability.as_ref().unwrap().severity,
            Severity::Critical
        );

        let (res, _) = parse_str(
            r#"{"Results": [{"Vulnerabilities": [{"VulnerabilityID": "CVE-1", "PkgName": 7}]}], "ArtifactName": "x"}"#,
        );
        match res.unwrap_err() {
            IngestError::Invalid { path, .. } => {
                assert_eq!(path, "Results[0].Vulnerabilities[0].PkgName")
            }
            e => panic!("{e:?}"),
        }
        let (res, _) = parse_str(r#"{"Results": 5}"#);
        assert!(matches!(res.unwrap_err(), IngestError::Invalid { path, .. } if path == "Results"));
        let (res, recs) =
            parse_str(r#"{"SchemaVersion": 2, "ArtifactName": "x", "Results": null}"#);
        assert!(res.is_ok() && recs.is_empty());
    }

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

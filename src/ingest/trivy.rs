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
//! Results are streamed one at a time with the [splitter](super::split)
//! (one result is held in memory). When `ArtifactName` comes after
//! `Results`, the file is read twice.

use super::common::{
    emit, empty_field, non_empty, schema_warning, tool_text, Pkg, Scalar, UNKNOWN_ECOSYSTEM,
};
use super::split::{Splitter, Start};
use super::{DocMeta, IngestError, Limits, RecordSink};
use crate::domain::record::{Finding, Severity};
use serde::Deserialize;
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
    let mut header = Header::default();
    let mut sp = Splitter::open(path, display, limits)?;
    if !sp.begin_object()? {
        // Legacy layout: the document is the results array.
        let mut subject = None;
        match sp.begin_array()? {
            Start::Array => stream_results(&mut sp, "", &mut subject, sink, false)?,
            _ => {
                return Err(
                    sp.wrong_top_level("a Trivy report (a JSON object, or an array of results)")
                )
            }
        }
        sp.end()?;
        return Ok(DocMeta {
            tool_name: Some("trivy".to_string()),
            tool_version: None,
            schema_version: None,
            generated_at: None,
            subject: Some(subject.unwrap_or_else(|| display.to_string())),
            warnings: Vec::new(),
        });
    }

    // Pass 1: the header; the results too when `ArtifactName` came first.
    let mut subject: Option<String> = None;
    let (mut saw_results, mut streamed) = (false, false);
    let mut first = true;
    while let Some(key) = sp.next_key(&mut first)? {
        match key.as_str() {
            "SchemaVersion" => header.schema_version = sp.decode("SchemaVersion", 1)?,
            "Trivy" => header.trivy = sp.decode("Trivy", 1)?,
            "CreatedAt" => header.created_at = sp.decode("CreatedAt", 1)?,
            "ArtifactName" => {
                header.artifact_name = sp.decode("ArtifactName", 1)?;
                if !saw_results {
                    subject = Some(
                        non_empty(header.artifact_name.clone())
                            .unwrap_or_else(|| display.to_string()),
                    );
                }
            }
            "Results" => {
                saw_results = true;
                if subject.is_some() {
                    streamed = true;
                    stream_results_member(&mut sp, &mut subject, sink, false)?;
                } else {
                    sp.skip(1)?;
                }
            }
            other => sp.validate(other, 1)?,
        }
    }
    sp.end()?;
    let subject = non_empty(header.artifact_name).unwrap_or_else(|| display.to_string());

    // Pass 2: the results, now that the subject is known.
    if saw_results && !streamed {
        let mut sp = Splitter::open(path, display, limits)?;
        sp.begin_object()?;
        let mut first = true;
        let mut known = Some(subject.clone());
        while let Some(key) = sp.next_key(&mut first)? {
            if key == "Results" {
                stream_results_member(&mut sp, &mut known, sink, true)?;
            } else {
                sp.skip(1)?;
            }
        }
    }

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

/// The `Results` member: an array of results, or null.
fn stream_results_member(
    sp: &mut Splitter,
    subject: &mut Option<String>,
    sink: &mut dyn RecordSink,
    lexed: bool,
) -> Result<(), IngestError> {
    match sp.begin_array()? {
        Start::Array => stream_results(sp, "Results", subject, sink, lexed),
        Start::Null => Ok(()),
        Start::Other(_) => Err(IngestError::Invalid {
            file: sp.display.to_string(),
            path: "Results".to_string(),
            message: "expected an array of results".to_string(),
        }),
    }
}

/// Decodes the results of an array (its `[` consumed) one at a time. An
/// unknown subject (legacy layout) becomes the first result's `Target`.
/// `lexed`: an earlier pass checked the array's nesting depth.
fn stream_results(
    sp: &mut Splitter,
    prefix: &str,
    subject: &mut Option<String>,
    sink: &mut dyn RecordSink,
    lexed: bool,
) -> Result<(), IngestError> {
    let mut first = true;
    let mut index = 0usize;
    let depth = if prefix.is_empty() { 1 } else { 2 };
    while sp.next_element(&mut first)? {
        let path = format!("{prefix}[{index}]");
        let result: TrivyResult = if lexed {
            sp.decode_direct(&path)?
        } else {
            sp.decode(&path, depth)?
        };
        let subject = subject
            .get_or_insert_with(|| {
                non_empty(result.target.clone()).unwrap_or_else(|| sp.display.to_string())
            })
            .clone();
        emit_result(result, &path, &subject, sp.display, sink)?;
        index += 1;
    }
    Ok(())
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

fn emit_result(
    r: TrivyResult,
    path: &str,
    subject: &str,
    display: &str,
    sink: &mut dyn RecordSink,
) -> Result<(), IngestError> {
    let ecosystem = non_empty(r.kind).unwrap_or_else(|| UNKNOWN_ECOSYSTEM.to_string());
    let target = non_empty(r.target);
    for (i, p) in r.packages.unwrap_or_default().into_iter().enumerate() {
        if p.name.trim().is_empty() {
            return Err(empty_field(
                display,
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
        emit(sink, pkg.into_package_record())?;
    }
    for (i, v) in r
        .vulnerabilities
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        if v.vulnerability_id.trim().is_empty() {
            let at = format!("{path}.Vulnerabilities[{i}].VulnerabilityID");
            return Err(empty_field(display, at, "VulnerabilityID"));
        }
        if v.pkg_name.trim().is_empty() {
            return Err(empty_field(
                display,
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
        if let Some(raw) = v.severity.as_deref().filter(|r| !Severity::is_known(r)) {
            sink.unknown_severity(raw);
        }
        emit(sink, pkg.finding_record(finding))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::record::NormalizedRecord;
    use std::io::Write;

    fn parse_str(json: &str) -> (Result<DocMeta, IngestError>, Vec<NormalizedRecord>) {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(json.as_bytes()).unwrap();
        let mut out = Vec::new();
        let mut sink = |r: NormalizedRecord| {
            out.push(r);
            Ok(())
        };
        let res = parse(f.path(), "t.json", &Limits::default(), &mut sink);
        (res, out)
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

//! Clair v4 (claircore) VulnerabilityReport and IndexReport JSON.
//!
//! Clair writes maps keyed by opaque ids that refer to each other, so the
//! report is deserialized whole (typed; `enrichments`, `repository` and
//! other unused members are skipped without being built).
//!
//! - One package record per `packages{id}` entry. There is no purl: the
//!   identity is `{ecosystem}/{name}@{version}?arch={arch}` (the arch part
//!   only when non-empty). Locations are the `package_db` of each of the
//!   package's `environments` (the `introduced_in` layer when the database
//!   is empty).
//! - One finding per (package, vulnerability) pair of
//!   `package_vulnerabilities` (a vulnerability listed twice for a package
//!   counts once). The id is the first whitespace-separated token of the
//!   vulnerability `name` with a trailing `:` removed (`RHSA-2022:0892`,
//!   `CVE-2022-23219`, `pyup.io-40268`); CVE ids found in the name and in
//!   `links` become aliases. Severity is `normalized_severity`, or the
//!   vendor `severity` when that is Unknown; fixed version is
//!   `fixed_in_version`, where `""` and `"0:0"` mean none and an OSV-style
//!   query string (`fixed=2.9.11&introduced=2.8.0`) gives its `fixed` value.
//!
//! The subject is `manifest_hash`.
//!
//! # Ecosystems
//!
//! A package's ecosystem comes from its environments, never from a path as
//! such, so one package found under two paths stays one package. The first
//! environment that maps decides:
//!
//! | `package_db`                                             | ecosystem |
//! |----------------------------------------------------------|-----------|
//! | `python:…`, or a path with `site-packages`/`dist-packages` | `python` |
//! | `go:…`                                                   | `go`      |
//! | `maven:…`, `java:…`, `jar:…`                             | `maven`   |
//! | `nodejs:…`, `npm:…`, or a path with `node_modules`       | `npm`     |
//! | `ruby:…`, `gem:…`                                        | `gem`     |
//! | `bdb:`/`sqlite:`/`ndb:`/`rpm:` prefixes, or a path with `var/lib/rpm` or `usr/lib/sysimage/rpm` | `rpm` |
//! | a path with `var/lib/dpkg`                               | `deb`     |
//! | a path with `lib/apk/db`                                 | `apk`     |
//! | `root/buildinfo/…` (Red Hat container build info)        | `rhcc`    |
//! | any other `word:…` prefix                                | the word  |
//!
//! Otherwise the environment's distribution decides (`did`): debian,
//! ubuntu → `deb`; rhel, centos, fedora, ol, amzn, rocky, almalinux, suse,
//! opensuse… → `rpm`; alpine → `apk`; photon → `rpm`; any other `did`
//! as is. Failing that, a report with exactly one distribution uses it, and
//! the last resort is `unknown`.

use super::pkg::{emit, non_empty, Pkg, UNKNOWN_ECOSYSTEM};
use super::read::errors::{empty_field, invalid};
use super::read::open::{read_document, Feed};
use super::{DocMeta, IngestError, RecordSink};
use crate::domain::record::{Finding, Severity};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

/// Parses a Clair v4 report.
pub(crate) fn parse(feed: Feed, sink: &mut dyn RecordSink) -> Result<DocMeta, IngestError> {
    convert(read_document(feed)?, feed.display, sink)
}

// ---------------------------------------------------------------------------
// Document model
// ---------------------------------------------------------------------------

#[derive(Deserialize)]
struct Report {
    manifest_hash: Option<String>,
    packages: Option<BTreeMap<String, Package>>,
    distributions: Option<BTreeMap<String, Distribution>>,
    environments: Option<BTreeMap<String, Option<Vec<Environment>>>>,
    vulnerabilities: Option<BTreeMap<String, Vulnerability>>,
    package_vulnerabilities: Option<BTreeMap<String, Option<Vec<String>>>>,
    state: Option<String>,
    success: Option<bool>,
    err: Option<String>,
}

#[derive(Deserialize)]
struct Package {
    name: String,
    version: Option<String>,
    arch: Option<String>,
}

#[derive(Deserialize)]
struct Distribution {
    did: Option<String>,
}

#[derive(Deserialize)]
struct Environment {
    package_db: Option<String>,
    introduced_in: Option<String>,
    distribution_id: Option<String>,
}

#[derive(Deserialize)]
struct Vulnerability {
    name: String,
    links: Option<String>,
    severity: Option<String>,
    normalized_severity: Option<String>,
    fixed_in_version: Option<String>,
}

// ---------------------------------------------------------------------------
// Conversion
// ---------------------------------------------------------------------------

fn convert(
    report: Report,
    display: &str,
    sink: &mut dyn RecordSink,
) -> Result<DocMeta, IngestError> {
    let subject = non_empty(report.manifest_hash.clone()).unwrap_or_else(|| display.to_string());
    let distributions = report.distributions.unwrap_or_default();
    let environments = report.environments.unwrap_or_default();
    let packages = report.packages.unwrap_or_default();
    let vulnerabilities = report.vulnerabilities.unwrap_or_default();

    let mut pkgs: BTreeMap<&str, Pkg> = BTreeMap::new();
    for (key, p) in &packages {
        if p.name.trim().is_empty() {
            return Err(empty_field(display, format!("packages.{key}.name"), "name"));
        }
        let envs = environments
            .get(key)
            .and_then(|e| e.as_deref())
            .unwrap_or(&[]);
        let locations = envs
            .iter()
            .filter_map(|e| {
                non_empty(e.package_db.clone()).or_else(|| non_empty(e.introduced_in.clone()))
            })
            .collect();
        let pkg = Pkg {
            subject: subject.clone(),
            ecosystem: ecosystem_of(envs, &distributions),
            name: p.name.clone(),
            version: p.version.clone().unwrap_or_default(),
            purl: None,
            arch: non_empty(p.arch.clone()),
            licenses: Vec::new(),
            locations,
        };
        emit(sink, pkg.package_record())?;
        pkgs.insert(key.as_str(), pkg);
    }

    for (pkg_key, vuln_ids) in report.package_vulnerabilities.unwrap_or_default() {
        let Some(pkg) = pkgs.get(pkg_key.as_str()) else {
            return Err(invalid(
                display,
                format!("package_vulnerabilities.{pkg_key}"),
                format!("no package has id `{pkg_key}`"),
            ));
        };
        let vuln_ids = vuln_ids.unwrap_or_default();
        emit_findings(pkg, &pkg_key, vuln_ids, &vulnerabilities, display, sink)?;
    }

    Ok(DocMeta {
        tool_name: Some("clair".to_string()),
        tool_version: None,
        schema_version: None,
        generated_at: None,
        subject: Some(subject),
        warnings: failure_warnings(report.success, report.err, report.state),
    })
}

/// A package's ecosystem: its environments' package databases, then their
/// distributions, then the report's only distribution (module docs).
fn ecosystem_of(envs: &[Environment], distributions: &BTreeMap<String, Distribution>) -> String {
    let only_distribution = if distributions.len() == 1 {
        distributions.values().next().and_then(|d| d.did.as_deref())
    } else {
        None
    };
    envs.iter()
        .find_map(|e| e.package_db.as_deref().and_then(ecosystem_from_db))
        .or_else(|| {
            envs.iter().find_map(|e| {
                let id = e.distribution_id.as_deref()?;
                distributions
                    .get(id)?
                    .did
                    .as_deref()
                    .and_then(ecosystem_from_distribution)
            })
        })
        .or_else(|| only_distribution.and_then(ecosystem_from_distribution))
        .unwrap_or_else(|| UNKNOWN_ECOSYSTEM.to_string())
}

/// Sends one finding per distinct vulnerability listed for package
/// `pkg_key`.
fn emit_findings(
    pkg: &Pkg,
    pkg_key: &str,
    vuln_ids: Vec<String>,
    vulnerabilities: &BTreeMap<String, Vulnerability>,
    display: &str,
    sink: &mut dyn RecordSink,
) -> Result<(), IngestError> {
    let mut seen = BTreeSet::new();
    for (i, vuln_key) in vuln_ids.into_iter().enumerate() {
        if !seen.insert(vuln_key.clone()) {
            continue;
        }
        let Some(v) = vulnerabilities.get(&vuln_key) else {
            return Err(invalid(
                display,
                format!("package_vulnerabilities.{pkg_key}[{i}]"),
                format!("no vulnerability has id `{vuln_key}`"),
            ));
        };
        let Some(id) = vulnerability_id(&v.name) else {
            return Err(empty_field(
                display,
                format!("vulnerabilities.{vuln_key}.name"),
                "name",
            ));
        };
        let mut aliases = cve_ids(&v.name);
        if let Some(links) = &v.links {
            aliases.extend(cve_ids(links));
        }
        let finding = Finding {
            aliases,
            fixed_version: fixed_version(v.fixed_in_version.as_deref()),
            id,
            severity: severity_of(v, sink),
            status: None,
        };
        emit(sink, pkg.finding_record(finding))?;
    }
    Ok(())
}

/// `normalized_severity`, else the vendor `severity` (an unknown word is
/// reported when neither is known).
fn severity_of(v: &Vulnerability, sink: &mut dyn RecordSink) -> Severity {
    let mut severity = Severity::normalize(v.normalized_severity.as_deref().unwrap_or(""));
    if severity == Severity::Unknown {
        severity = Severity::normalize(v.severity.as_deref().unwrap_or(""));
    }
    if severity == Severity::Unknown {
        if let Some(raw) = [&v.normalized_severity, &v.severity]
            .into_iter()
            .flatten()
            .find(|r| !Severity::is_known(r))
        {
            sink.unknown_severity(raw);
        }
    }
    severity
}

/// The warning for an index report that says it failed.
fn failure_warnings(
    success: Option<bool>,
    err: Option<String>,
    state: Option<String>,
) -> Vec<String> {
    let err = non_empty(err);
    if success != Some(false) && err.is_none() {
        return Vec::new();
    }
    let state = non_empty(state).unwrap_or_else(|| "unknown".to_string());
    let mut w = format!("the Clair index report did not succeed (state {state})");
    if let Some(e) = err {
        w.push_str(&format!(": {e}"));
    }
    vec![w]
}

/// The readable id at the start of a vulnerability name.
fn vulnerability_id(name: &str) -> Option<String> {
    let token = name.split_whitespace().next()?.trim_end_matches(':');
    (!token.is_empty()).then(|| token.to_string())
}

/// CVE ids (`CVE-YYYY-NNNN…`) occurring in `text`.
fn cve_ids(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(pos) = text[from..].find("CVE-") {
        let start = from + pos;
        let mut i = start + 4;
        let year = bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        i += year;
        if year == 4 && bytes.get(i) == Some(&b'-') {
            let num = bytes[i + 1..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            if num >= 4 {
                out.push(text[start..i + 1 + num].to_string());
                i += 1 + num;
            }
        }
        from = i.max(start + 4);
    }
    out
}

/// `fixed_in_version` → fixed version: `""`/`"0:0"` → none; an OSV-style
/// query string → its `fixed` parameter.
fn fixed_version(raw: Option<&str>) -> Option<String> {
    let raw = raw?.trim();
    if raw.is_empty() || raw == "0:0" {
        return None;
    }
    if raw.contains('=') {
        return raw
            .split('&')
            .find_map(|kv| kv.strip_prefix("fixed="))
            .filter(|v| !v.is_empty())
            .map(str::to_string);
    }
    Some(raw.to_string())
}

/// Ecosystem from a claircore `package_db`; see the module docs.
fn ecosystem_from_db(db: &str) -> Option<String> {
    let db = db.trim();
    if db.is_empty() {
        return None;
    }
    if let Some((prefix, _)) = db.split_once(':') {
        let p = prefix.to_ascii_lowercase();
        let known = match p.as_str() {
            "python" | "pypi" => Some("python"),
            "go" | "golang" => Some("go"),
            "maven" | "java" | "jar" => Some("maven"),
            "nodejs" | "npm" | "node" => Some("npm"),
            "ruby" | "gem" => Some("gem"),
            "bdb" | "sqlite" | "ndb" | "rpm" => Some("rpm"),
            _ => None,
        };
        if let Some(k) = known {
            return Some(k.to_string());
        }
        if !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Some(p);
        }
    }
    let path = db.trim_start_matches('/');
    let eco = if path.contains("var/lib/rpm") || path.contains("usr/lib/sysimage/rpm") {
        "rpm"
    } else if path.contains("var/lib/dpkg") {
        "deb"
    } else if path.contains("lib/apk/db") {
        "apk"
    } else if path.starts_with("root/buildinfo/") {
        "rhcc"
    } else if path.contains("site-packages") || path.contains("dist-packages") {
        "python"
    } else if path.contains("node_modules") {
        "npm"
    } else {
        return None;
    };
    Some(eco.to_string())
}

/// Ecosystem from a distribution id (`did`).
fn ecosystem_from_distribution(did: &str) -> Option<String> {
    let did = did.trim().to_ascii_lowercase();
    let eco = match did.as_str() {
        "" => return None,
        "debian" | "ubuntu" | "linuxmint" | "raspbian" => "deb",
        "rhel" | "centos" | "fedora" | "ol" | "oracle" | "amzn" | "rocky" | "almalinux"
        | "suse" | "sles" | "opensuse" | "opensuse-leap" | "photon" | "mariner" | "azurelinux" => {
            "rpm"
        }
        "alpine" | "wolfi" | "chainguard" => "apk",
        other => return Some(other.to_string()),
    };
    Some(eco.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_aliases() {
        assert_eq!(
            vulnerability_id("RHSA-2022:0892: libarchive security update (Moderate)").unwrap(),
            "RHSA-2022:0892"
        );
        assert_eq!(
            vulnerability_id("CVE-2022-23219 glibc").unwrap(),
            "CVE-2022-23219"
        );
        assert_eq!(
            vulnerability_id("pyup.io-42559 (CVE-2021-3572)").unwrap(),
            "pyup.io-42559"
        );
        assert_eq!(
            vulnerability_id("RHSA-2021:3917").unwrap(),
            "RHSA-2021:3917"
        );
        assert_eq!(vulnerability_id("  "), None);
        assert_eq!(cve_ids("pyup.io-42559 (CVE-2021-3572)"), ["CVE-2021-3572"]);
        assert_eq!(
            cve_ids("https://access.redhat.com/errata/RHSA-2021:4464 https://access.redhat.com/security/cve/CVE-2021-3445 CVE-12 CVE-"),
            ["CVE-2021-3445"]
        );
    }

    #[test]
    fn fixed_versions() {
        assert_eq!(fixed_version(Some("0:0")), None);
        assert_eq!(fixed_version(Some("")), None);
        assert_eq!(fixed_version(None), None);
        assert_eq!(
            fixed_version(Some("v3.6.0-62")).as_deref(),
            Some("v3.6.0-62")
        );
        assert_eq!(
            fixed_version(Some("fixed=2.9.11&introduced=2.8.0")).as_deref(),
            Some("2.9.11")
        );
        assert_eq!(fixed_version(Some("introduced=2.8.0")), None);
    }

    #[test]
    fn ecosystems() {
        let e = |s| ecosystem_from_db(s);
        assert_eq!(e("var/lib/dpkg/status").as_deref(), Some("deb"));
        assert_eq!(e("/var/lib/rpm").as_deref(), Some("rpm"));
        assert_eq!(e("sqlite:var/lib/rpm").as_deref(), Some("rpm"));
        assert_eq!(e("bdb:var/lib/rpm").as_deref(), Some("rpm"));
        assert_eq!(
            e("python:usr/lib/python3.6/site-packages").as_deref(),
            Some("python")
        );
        assert_eq!(e("go:stackrox/central").as_deref(), Some("go"));
        assert_eq!(
            e("root/buildinfo/Dockerfile-ubi8-8.4-213").as_deref(),
            Some("rhcc")
        );
        assert_eq!(e("lib/apk/db/installed").as_deref(), Some("apk"));
        assert_eq!(e("some/where"), None);
        assert_eq!(
            ecosystem_from_distribution("debian").as_deref(),
            Some("deb")
        );
        assert_eq!(ecosystem_from_distribution("rhel").as_deref(), Some("rpm"));
    }
}

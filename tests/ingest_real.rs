//! Parses every real scanner output under `../shared/fixtures/real` (third
//! party files, read in place, never copied into the repository): detects the
//! format, parses, merges records by identity as the importer does, and
//! checks the record counts and a few identities.

use snapgov::domain::record::{IdentKey, NormalizedRecord, RecordKind, Severity};
use snapgov::ingest::{detect::detect, parse_file, DocMeta, Format, IngestError, Limits};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const REAL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/real");

/// Unique package identities and unique finding identities after merging.
const EXPECTED: &[(&str, usize, usize)] = &[
    ("clair/clair-v4-index-report-rhacs-main-rhel8.json", 544, 0),
    (
        "clair/clair-v4-vulnerability-report-debian-9-stretch.json",
        83,
        212,
    ),
    (
        "clair/clair-v4-vulnerability-report-quay-3.4-rhel8-python.json",
        501,
        163,
    ),
    (
        "clair/clair-v4-vulnerability-report-rhel8-few-vulns.json",
        119,
        3,
    ),
    (
        "syft/syft-cyclonedx-1.4-dependencytrack-apiserver-debian11-java.json",
        271,
        0,
    ),
    (
        "syft/syft-json-schema-1.1.0-alpine-latest-image.json",
        14,
        0,
    ),
    (
        "syft/syft-json-schema-13.0.0-nginx-debian9-image.json",
        110,
        0,
    ),
    (
        "syft/syft-json-schema-16.0.39-alpine-3.17.2-image.json",
        15,
        0,
    ),
    (
        "syft/syft-json-schema-3.3.2-bomber-go-modules-directory.json",
        29,
        0,
    ),
    (
        "syft/syft-json-schema-7.0.1-dependencytrack-apiserver-debian11-java.json",
        271,
        0,
    ),
    (
        "trivy/trivy-0.69.3-image-extension-k6-alpine-gobinary-packages-no-vulns.json",
        321,
        0,
    ),
    ("trivy/trivy-golden-image-centos-7-rpm-vulns.json", 0, 3),
    (
        "trivy/trivy-golden-repository-npm-lockfile-packages-and-vulns.json",
        12,
        1,
    ),
    (
        "trivy/trivy-image-juice-shop-debian12-node-packages-and-vulns.json",
        997,
        71,
    ),
    (
        "trivy/trivy-image-juice-shop-v10.2.0-alpine-node-many-vulns.json",
        0,
        197,
    ),
    (
        "trivy/trivy-legacy-list-format-debian-10.8-vulns.json",
        0,
        93,
    ),
];

struct Parsed {
    meta: DocMeta,
    /// Records as emitted, before merging.
    emitted: usize,
    merged: BTreeMap<IdentKey, NormalizedRecord>,
}

impl Parsed {
    fn counts(&self) -> (usize, usize) {
        let packages = self
            .merged
            .values()
            .filter(|r| r.kind == RecordKind::Package)
            .count();
        (packages, self.merged.len() - packages)
    }

    fn get(&self, identity: &str) -> &NormalizedRecord {
        self.merged
            .values()
            .find(|r| r.identity() == identity)
            .unwrap_or_else(|| panic!("no record with identity {identity:?}"))
    }
}

fn real_dir() -> Option<PathBuf> {
    let dir = Path::new(REAL);
    if dir.is_dir() {
        return Some(dir.to_path_buf());
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "real fixtures missing: {} does not exist (it is required in CI)",
            dir.display()
        );
    }
    eprintln!(
        "note: {} is missing; skipping the real-fixture tests",
        dir.display()
    );
    None
}

fn expected_format(rel: &str) -> Format {
    let (dir, name) = rel.split_once('/').unwrap();
    match dir {
        "syft" if name.starts_with("syft-json-") => Format::SyftJson,
        "syft" if name.starts_with("syft-cyclonedx-") => Format::Cyclonedx,
        "trivy" => Format::TrivyJson,
        "clair" => Format::ClairV4,
        _ => panic!("no expected format for {rel}"),
    }
}

fn parse(path: &Path, display: &str, format: Format) -> Result<Parsed, IngestError> {
    let mut merged: BTreeMap<IdentKey, NormalizedRecord> = BTreeMap::new();
    let mut emitted = 0usize;
    let mut sink = |r: NormalizedRecord| {
        emitted += 1;
        match merged.get_mut(&r.ident_key()) {
            Some(existing) => existing.merge_from(&r),
            None => {
                merged.insert(r.ident_key(), r);
            }
        }
        Ok(())
    };
    let meta = parse_file(format, path, display, &Limits::default(), &mut sink)?;
    Ok(Parsed {
        meta,
        emitted,
        merged,
    })
}

/// All `*/*.json` files under the real fixture directory, as `dir/name`.
fn enumerate(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for dir in std::fs::read_dir(root).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&dir).unwrap() {
            let file = file.unwrap().path();
            if file.extension().is_some_and(|e| e == "json") {
                let rel = format!(
                    "{}/{}",
                    dir.file_name().unwrap().to_string_lossy(),
                    file.file_name().unwrap().to_string_lossy()
                );
                out.push(rel);
            }
        }
    }
    out.sort();
    out
}

fn load(root: &Path, rel: &str) -> Parsed {
    let path = root.join(rel);
    let format = detect(&path, rel, &Limits::default())
        .unwrap_or_else(|e| panic!("{rel}: detect failed: {e}"));
    assert_eq!(format, expected_format(rel), "{rel}: detected format");
    parse(&path, rel, format).unwrap_or_else(|e| panic!("{rel}: parse failed: {e}"))
}

#[test]
fn every_real_fixture_detects_parses_and_counts() {
    let Some(root) = real_dir() else { return };
    let files = enumerate(&root);
    assert!(
        !files.is_empty(),
        "no fixtures found under {}",
        root.display()
    );
    let mut report = Vec::new();
    for rel in &files {
        let parsed = load(&root, rel);
        let (packages, findings) = parsed.counts();
        report.push(format!(
            "{rel}: {packages} packages + {findings} findings = {} (emitted {})",
            packages + findings,
            parsed.emitted
        ));

        for r in parsed.merged.values() {
            assert!(
                !r.name.trim().is_empty(),
                "{rel}: record without name: {r:?}"
            );
            assert!(
                !r.package_id.trim().is_empty(),
                "{rel}: record without package id: {r:?}"
            );
            assert!(
                !r.subject.trim().is_empty(),
                "{rel}: record without subject: {r:?}"
            );
            assert!(
                !r.ecosystem.trim().is_empty(),
                "{rel}: record without ecosystem: {r:?}"
            );
            assert_eq!(
                r.kind == RecordKind::Vulnerability,
                r.vulnerability.is_some(),
                "{rel}: {r:?}"
            );
            if let Some(p) = &r.purl {
                assert_eq!(&r.package_id, p, "{rel}: the purl is the package id");
            }
            if let Some(f) = &r.vulnerability {
                assert!(!f.id.trim().is_empty(), "{rel}: finding without id");
                let json: serde_json::Value = serde_json::from_slice(&r.canonical_json()).unwrap();
                let sev = json["vulnerability"]["severity"].as_str().unwrap();
                assert_eq!(sev, sev.to_lowercase(), "{rel}: severity is lower-case");
                assert!(Severity::parse(sev).is_some(), "{rel}: severity {sev}");
            }
        }
        assert!(
            parsed
                .meta
                .subject
                .as_deref()
                .is_some_and(|s| !s.is_empty()),
            "{rel}: subject"
        );
        assert!(
            parsed.meta.warnings.is_empty(),
            "{rel}: unexpected warnings {:?}",
            parsed.meta.warnings
        );

        let expected = EXPECTED
            .iter()
            .find(|(name, _, _)| name == rel)
            .unwrap_or_else(|| panic!("{rel}: no expected counts (new fixture?)"));
        assert_eq!(
            (packages, findings),
            (expected.1, expected.2),
            "{rel}: packages, findings after merging"
        );
    }
    for (name, _, _) in EXPECTED {
        assert!(files.iter().any(|f| f == name), "fixture {name} is missing");
    }
    eprintln!("{}", report.join("\n"));
}

#[test]
fn syft_identities_and_metadata() {
    let Some(root) = real_dir() else { return };

    let p = load(
        &root,
        "syft/syft-json-schema-7.0.1-dependencytrack-apiserver-debian11-java.json",
    );
    assert_eq!(p.counts(), (271, 0));
    let hdr = p.get("pkg:maven/org.hdrhistogram/HdrHistogram@2.1.12");
    assert_eq!(hdr.ecosystem, "java-archive");
    assert_eq!(hdr.name, "HdrHistogram");
    assert_eq!(hdr.version, "2.1.12");
    assert_eq!(hdr.subject, "dependencytrack/apiserver");
    assert_eq!(
        hdr.locations,
        ["/opt/owasp/dependency-track/dependency-track-apiserver.jar"]
    );
    assert_eq!(
        hdr.licenses,
        ["http://creativecommons.org/publicdomain/zero/1.0/, https://opensource.org/licenses/BSD-2-Clause"]
    );
    assert_eq!(p.meta.tool_name.as_deref(), Some("syft"));
    assert_eq!(p.meta.tool_version, None, "[not provided] is no version");
    assert_eq!(p.meta.schema_version.as_deref(), Some("7.0.1"));
    assert_eq!(p.meta.generated_at, None);

    // Directory scan: source.target is a string.
    let p = load(
        &root,
        "syft/syft-json-schema-3.3.2-bomber-go-modules-directory.json",
    );
    assert_eq!(p.meta.subject.as_deref(), Some("."));
    let m = p.get("pkg:golang/github.com/CycloneDX/cyclonedx-go@v0.7.0");
    assert_eq!(m.ecosystem, "go-module");
    assert!(m.locations.contains(&"bomber".to_string()), "{m:?}");

    // Schema 13+: source.name (+ version), licenses are objects.
    let p = load(
        &root,
        "syft/syft-json-schema-13.0.0-nginx-debian9-image.json",
    );
    assert_eq!(p.meta.subject.as_deref(), Some("nginx:1.14.1"));
    assert_eq!(p.meta.tool_version.as_deref(), Some("0.98.0"));
    let p = load(
        &root,
        "syft/syft-json-schema-16.0.39-alpine-3.17.2-image.json",
    );
    assert_eq!(
        p.meta.subject.as_deref(),
        Some("library/alpine@sha256:e2e16842c9b54d985bf1ef9242a313f36b856181f188de21313820e177002501")
    );
    let base = p
        .merged
        .values()
        .find(|r| r.name == "alpine-baselayout")
        .unwrap();
    assert_eq!(base.licenses, ["GPL-2.0-only"]);
    assert_eq!(base.ecosystem, "apk");

    let p = load(
        &root,
        "syft/syft-json-schema-1.1.0-alpine-latest-image.json",
    );
    assert_eq!(p.meta.subject.as_deref(), Some("alpine:latest"));
}

#[test]
fn trivy_identities_and_metadata() {
    let Some(root) = real_dir() else { return };

    let p = load(
        &root,
        "trivy/trivy-image-juice-shop-debian12-node-packages-and-vulns.json",
    );
    assert_eq!(p.counts(), (997, 71));
    let f = p.get(
        "CVE-2022-27943 pkg:deb/debian/gcc-12-base@12.2.0-14%2Bdeb12u1?arch=arm64&distro=debian-12.11",
    );
    assert_eq!(f.name, "gcc-12-base");
    assert_eq!(f.version, "12.2.0-14+deb12u1");
    assert_eq!(f.ecosystem, "debian");
    let v = f.vulnerability.as_ref().unwrap();
    assert_eq!(
        (v.severity, v.status.as_deref(), v.fixed_version.as_deref()),
        (Severity::Low, Some("affected"), None)
    );
    assert_eq!(f.subject, "bkimminich/juice-shop");
    let f = p.get("NSWG-ECO-428 pkg:npm/base64url@0.0.6");
    let v = f.vulnerability.as_ref().unwrap();
    assert_eq!(
        (v.severity, v.fixed_version.as_deref()),
        (Severity::High, Some(">=3.0.0"))
    );
    assert_eq!(
        f.locations,
        ["juice-shop/node_modules/base64url/package.json"]
    );
    // The same npm package under several paths is one record with every location.
    let colors = p.get("pkg:npm/%40colors/colors@1.6.0");
    assert_eq!(colors.locations.len(), 2, "{colors:?}");
    assert_eq!(p.meta.tool_version, None);
    assert_eq!(p.meta.schema_version.as_deref(), Some("2"));
    assert_eq!(
        p.meta.generated_at.as_deref(),
        Some("2025-11-04T23:22:33.628728+05:00")
    );

    // Legacy list format: no purl, so `{Type}/{PkgName}@[epoch:]version-release`.
    let p = load(
        &root,
        "trivy/trivy-legacy-list-format-debian-10.8-vulns.json",
    );
    assert_eq!(p.counts(), (0, 93));
    let f = p.get("CVE-2020-14155 debian/libpcre3@2:8.39-12");
    assert_eq!(f.vulnerability.as_ref().unwrap().severity, Severity::Medium);
    assert_eq!(f.subject, "debian (debian 10.8)");
    let f = p.get("TEMP-0981404-911A2F debian/libzstd1@1.3.8+dfsg-3");
    assert_eq!(
        f.vulnerability.as_ref().unwrap().severity,
        Severity::Unknown
    );
    assert_eq!(p.meta.schema_version, None);
    assert_eq!(p.meta.tool_name.as_deref(), Some("trivy"));

    // rpm: epoch-bearing installed and fixed versions, statuses.
    let p = load(&root, "trivy/trivy-golden-image-centos-7-rpm-vulns.json");
    let f = p.get("CVE-2019-1559 pkg:rpm/centos/openssl-libs@1.0.2k-16.el7?arch=x86_64&distro=centos-7.6.1810&epoch=1");
    assert_eq!(f.version, "1:1.0.2k-16.el7");
    let v = f.vulnerability.as_ref().unwrap();
    assert_eq!(
        (v.fixed_version.as_deref(), v.status.as_deref()),
        (Some("1:1.0.2k-19.el7"), Some("fixed"))
    );
    let f = p
        .get("CVE-2019-18276 pkg:rpm/centos/bash@4.2.46-31.el7?arch=x86_64&distro=centos-7.6.1810");
    assert_eq!(
        f.vulnerability.as_ref().unwrap().status.as_deref(),
        Some("will_not_fix")
    );
    assert_eq!(p.meta.tool_version.as_deref(), Some("dev"));
}

#[test]
fn clair_identities_and_metadata() {
    let Some(root) = real_dir() else { return };

    let p = load(
        &root,
        "clair/clair-v4-vulnerability-report-quay-3.4-rhel8-python.json",
    );
    assert_eq!(p.counts(), (501, 163));
    // RHSA ids keep their colon; CVEs in `links` become aliases.
    let f = p.get("RHSA-2021:4464 rpm/dnf@4.4.2-11.el8?arch=noarch");
    let v = f.vulnerability.as_ref().unwrap();
    assert_eq!(v.severity, Severity::Medium);
    assert_eq!(v.fixed_version.as_deref(), Some("0:4.7.0-4.el8"));
    assert_eq!(v.aliases, ["CVE-2021-3445"]);
    assert_eq!(f.locations, ["/var/lib/rpm"]);
    assert_eq!(
        f.subject,
        "sha256:2bd5e92bb302e3ccd91936554bcb1eb921e82bdb958dc3be7a43daec8e8c95e4"
    );
    // Container updater: fixed versions like v3.6.0-62; rhcc ecosystem.
    let f = p.get("RHSA-2021:3917 rhcc/quay/quay-rhel8@v3.4.7-15?arch=x86_64");
    assert_eq!(
        f.vulnerability.as_ref().unwrap().fixed_version.as_deref(),
        Some("v3.6.0-62")
    );
    // One python package seen in two site-packages stays one package.
    let chardet = p.get("python/chardet@3.0.4");
    assert_eq!(
        chardet.locations,
        [
            "python:usr/lib/python3.6/site-packages",
            "python:usr/local/lib/python3.8/site-packages"
        ]
    );
    assert_eq!(p.meta.tool_name.as_deref(), Some("clair"));
    assert_eq!(p.meta.tool_version, None);

    let p = load(
        &root,
        "clair/clair-v4-vulnerability-report-debian-9-stretch.json",
    );
    assert_eq!(p.counts(), (83, 212));
    let f = p.get("CVE-2022-23219 deb/libc6@2.24-11+deb9u4?arch=amd64");
    let v = f.vulnerability.as_ref().unwrap();
    assert_eq!(
        (v.severity, v.fixed_version.as_deref()),
        (Severity::Unknown, None),
        "0:0 is no fix"
    );
    assert_eq!(f.locations, ["var/lib/dpkg/status"]);

    let p = load(
        &root,
        "clair/clair-v4-vulnerability-report-rhel8-few-vulns.json",
    );
    let f = p.get("pyup.io-42559 python/pip@19.3.1");
    assert_eq!(f.vulnerability.as_ref().unwrap().aliases, ["CVE-2021-3572"]);
    assert_eq!(f.vulnerability.as_ref().unwrap().fixed_version, None);

    let p = load(&root, "clair/clair-v4-index-report-rhacs-main-rhel8.json");
    assert_eq!(p.counts(), (544, 0));
    p.get("go/github.com/Azure/go-autorest/tracing@v0.6.0");
}

#[test]
fn cyclonedx_identities_and_metadata() {
    let Some(root) = real_dir() else { return };
    let p = load(
        &root,
        "syft/syft-cyclonedx-1.4-dependencytrack-apiserver-debian11-java.json",
    );
    assert_eq!(p.counts(), (271, 0));
    // As many packages as the syft-json scan of the same image.
    let syft = load(
        &root,
        "syft/syft-json-schema-7.0.1-dependencytrack-apiserver-debian11-java.json",
    );
    assert_eq!(p.counts(), syft.counts());
    let hdr = p.get("pkg:maven/org.hdrhistogram/HdrHistogram@2.1.12");
    assert_eq!(hdr.ecosystem, "java-archive");
    assert_eq!(
        hdr.locations,
        ["/opt/owasp/dependency-track/dependency-track-apiserver.jar"]
    );
    // The operating-system component is not a package.
    assert!(p
        .merged
        .values()
        .all(|r| r.ecosystem != "operating-system" && r.name != "debian"));
    assert_eq!(
        p.meta.subject.as_deref(),
        Some("dependencytrack/apiserver@sha256:c824b1154d9e0659a44fdc6628e68e043c937568005526cf7e771f4e08d0e7b8")
    );
    assert_eq!(p.meta.tool_name.as_deref(), Some("syft"));
    assert_eq!(p.meta.tool_version, None);
    assert_eq!(p.meta.schema_version.as_deref(), Some("1.4"));
    assert_eq!(
        p.meta.generated_at.as_deref(),
        Some("2023-04-12T09:30:55-06:00")
    );
}

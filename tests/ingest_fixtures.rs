//! The parsers on snapgov's own small hand-written fixtures (`tests/fixtures`):
//! exact records for each format, detection, every error variant (and that
//! its message names the file and the JSON path), and schema-drift warnings.

use snapgov::domain::record::{Finding, IdentKey, NormalizedRecord, RecordKind, Severity};
use snapgov::ingest::{detect::detect, parse_file, DocMeta, Format, IngestError, Limits};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The well-formed minimal fixture of each format.
const MIN_FIXTURES: [(&str, Format); 7] = [
    ("syft-min.json", Format::SyftJson),
    ("trivy-min.json", Format::TrivyJson),
    ("trivy-legacy-min.json", Format::TrivyJson),
    ("clair-min.json", Format::ClairV4),
    ("cyclonedx-min.json", Format::Cyclonedx),
    ("native-min.jsonl", Format::Snapgov),
    ("native-min.json", Format::Snapgov),
];

fn asset(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets")
        .join(name)
}

/// A document's metadata without warnings, from its tool name, tool version,
/// schema version, generation time and subject.
fn meta(fields: [Option<&str>; 5]) -> DocMeta {
    let [tool_name, tool_version, schema_version, generated_at, subject] =
        fields.map(|f| f.map(str::to_string));
    DocMeta {
        tool_name,
        tool_version,
        schema_version,
        generated_at,
        subject,
        warnings: vec![],
    }
}

#[derive(Debug)]
struct Parsed {
    meta: DocMeta,
    emitted: Vec<NormalizedRecord>,
    merged: BTreeMap<IdentKey, NormalizedRecord>,
}

impl Parsed {
    fn identities(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.merged.values().map(|r| r.identity()).collect();
        ids.sort();
        ids
    }

    fn get(&self, identity: &str) -> &NormalizedRecord {
        self.merged
            .values()
            .find(|r| r.identity() == identity)
            .unwrap_or_else(|| panic!("no record {identity:?}; have {:?}", self.identities()))
    }
}

fn parse_path(
    path: &Path,
    display: &str,
    format: Format,
    limits: &Limits,
) -> Result<Parsed, IngestError> {
    let mut emitted = Vec::new();
    let mut sink = |r: NormalizedRecord| {
        emitted.push(r);
        Ok(())
    };
    let meta = parse_file(format, path, display, limits, &mut sink)?;
    let mut merged: BTreeMap<IdentKey, NormalizedRecord> = BTreeMap::new();
    for r in &emitted {
        // Records arrive canonicalized.
        let mut c = r.clone();
        c.canonicalize();
        assert_eq!(&c, r, "records are canonicalized before they are sent");
        match merged.get_mut(&r.ident_key()) {
            Some(existing) => existing.merge_from(r),
            None => {
                merged.insert(r.ident_key(), r.clone());
            }
        }
    }
    Ok(Parsed {
        meta,
        emitted,
        merged,
    })
}

/// Detects and parses a fixture, checking the detected format.
fn parse(name: &str, expected: Format) -> Parsed {
    let path = fixture(name);
    let format = detect(&path, name, &Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(format, expected, "{name}: detected format");
    parse_path(&path, name, format, &Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn parse_err(name: &str, format: Format) -> IngestError {
    match parse_path(&fixture(name), name, format, &Limits::default()) {
        Ok(_) => panic!("{name}: parsed, but an error was expected"),
        Err(e) => e,
    }
}

fn finding(r: &NormalizedRecord) -> &Finding {
    r.vulnerability.as_ref().expect("a finding")
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn temp_file(content: &[u8]) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(content).unwrap();
    f.flush().unwrap();
    f
}

// ---------------------------------------------------------------------------
// Exact records per format
// ---------------------------------------------------------------------------

#[test]
fn syft_min() {
    let p = parse("syft-min.json", Format::SyftJson);
    assert_eq!(p.emitted.len(), 3);
    assert_eq!(
        p.identities(),
        [
            "npm/left-pad@1.3.0",
            "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine-3.18.4"
        ]
    );
    let musl = p.get("pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine-3.18.4");
    assert_eq!(
        musl,
        &NormalizedRecord {
            ecosystem: "apk".into(),
            kind: RecordKind::Package,
            licenses: strings(&["MIT"]),
            locations: strings(&["/lib/apk/db/installed"]),
            name: "musl".into(),
            package_id: "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine-3.18.4".into(),
            purl: Some("pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine-3.18.4".into()),
            subject: "registry.example/shop:2.3.1".into(),
            version: "1.2.4-r2".into(),
            vulnerability: None,
        }
    );
    // An empty purl falls back to {type}/{name}@{version}; both copies merge.
    let lp = p.get("npm/left-pad@1.3.0");
    assert_eq!(lp.purl, None);
    assert_eq!(lp.licenses, ["WTFPL"]);
    assert_eq!(
        lp.locations,
        [
            "/app/node_modules/left-pad/package.json",
            "/srv/node_modules/left-pad/package.json"
        ]
    );
    assert_eq!(
        p.meta,
        meta([
            Some("syft"),
            Some("1.32.0"),
            Some("16.0.39"),
            None,
            Some("registry.example/shop:2.3.1")
        ])
    );
}

#[test]
fn syft_future_schema_warns_once() {
    let p = parse("syft-future-schema.json", Format::SyftJson);
    assert_eq!(p.merged.len(), 2);
    assert_eq!(p.meta.schema_version.as_deref(), Some("17.0.0"));
    assert_eq!(
        p.meta.warnings,
        ["syft-json schema 17.0.0 is newer than the newest tested (16.x); fields snapgov does not use are ignored"]
    );
}

#[test]
fn trivy_min() {
    let p = parse("trivy-min.json", Format::TrivyJson);
    assert_eq!(
        p.identities(),
        [
            "CVE-2019-18276 pkg:rpm/centos/bash@4.2.46-34.el7?arch=x86_64&distro=centos-7.9.2009",
            "CVE-2021-23337 pkg:npm/lodash@4.17.20",
            "CVE-2023-0286 centos/openssl-libs@1:1.0.2k-19.el7",
            "centos/openssl-libs@1:1.0.2k-19.el7",
            "pkg:npm/lodash@4.17.20",
            "pkg:rpm/centos/bash@4.2.46-34.el7?arch=x86_64&distro=centos-7.9.2009",
        ]
    );
    // No purl: [epoch:]version-release, and the finding names the same package.
    let ssl = p.get("centos/openssl-libs@1:1.0.2k-19.el7");
    assert_eq!(
        (ssl.version.as_str(), ssl.ecosystem.as_str()),
        ("1:1.0.2k-19.el7", "centos")
    );
    assert_eq!(ssl.licenses, ["OpenSSL"]);
    assert_eq!(
        ssl.locations,
        ["registry.example/legacy:7 (centos 7.9.2009)"],
        "the result Target"
    );
    let f = p.get("CVE-2023-0286 centos/openssl-libs@1:1.0.2k-19.el7");
    assert_eq!(
        finding(f),
        &Finding {
            aliases: strings(&["RHSA-2023:1335"]),
            fixed_version: Some("1:1.0.2k-26.el7_9".into()),
            id: "CVE-2023-0286".into(),
            severity: Severity::High,
            status: Some("fixed".into()),
        }
    );
    assert_eq!(f.package_id, ssl.package_id);
    // Epoch 0 is left out; an empty FixedVersion is none.
    let bash = p.get("pkg:rpm/centos/bash@4.2.46-34.el7?arch=x86_64&distro=centos-7.9.2009");
    assert_eq!(bash.version, "4.2.46-34.el7");
    let f = finding(p.get(
        "CVE-2019-18276 pkg:rpm/centos/bash@4.2.46-34.el7?arch=x86_64&distro=centos-7.9.2009",
    ));
    assert_eq!(
        (f.severity, f.fixed_version.as_deref(), f.status.as_deref()),
        (Severity::Low, None, Some("will_not_fix"))
    );
    // Language packages: FilePath / PkgPath are the locations.
    let lodash = p.get("CVE-2021-23337 pkg:npm/lodash@4.17.20");
    assert_eq!(lodash.locations, ["app/node_modules/lodash/package.json"]);
    assert_eq!(
        (
            lodash.ecosystem.as_str(),
            lodash.name.as_str(),
            lodash.version.as_str()
        ),
        ("npm", "lodash", "4.17.20")
    );
    assert!(p
        .merged
        .values()
        .all(|r| r.subject == "registry.example/legacy:7"));
    assert_eq!(
        p.meta,
        meta([
            Some("trivy"),
            Some("0.50.1"),
            Some("2"),
            Some("2024-05-01T12:00:00.123456789Z"),
            Some("registry.example/legacy:7")
        ])
    );
}

#[test]
fn trivy_legacy_min() {
    let p = parse("trivy-legacy-min.json", Format::TrivyJson);
    assert_eq!(
        p.identities(),
        [
            "CVE-2019-14697 alpine/musl-utils@1.1.22-r2",
            "CVE-2019-14697 alpine/musl@1.1.22-r2"
        ]
    );
    let f = p.get("CVE-2019-14697 alpine/musl@1.1.22-r2");
    assert_eq!(f.subject, "alpine:3.10 (alpine 3.10.2)");
    assert_eq!(finding(f).fixed_version.as_deref(), Some("1.1.22-r3"));
    assert_eq!(finding(f).status, None);
    assert_eq!(p.meta.schema_version, None);
    assert_eq!(p.meta.tool_version, None);
    assert_eq!(
        p.meta.subject.as_deref(),
        Some("alpine:3.10 (alpine 3.10.2)")
    );
}

#[test]
fn clair_min() {
    let p = parse("clair-min.json", Format::ClairV4);
    // 3 packages; openssl lists vulnerability 101 twice (counted once).
    assert_eq!(p.emitted.len(), 3 + 2 + 2 + 1);
    assert_eq!(
        p.identities(),
        [
            "CVE-2023-0464 rpm/openssl-libs@1:1.1.1k-5.el8_5?arch=x86_64",
            "GHSA-q2q7-5pp4-w6pg python/urllib3@1.24.2",
            "RHSA-2022:0064 rpm/openssl-libs@1:1.1.1k-5.el8_5?arch=x86_64",
            "python/urllib3@1.24.2",
            "pyup.io-38834 python/urllib3@1.24.2",
            "rpm/openssl-libs@1:1.1.1k-5.el8_5?arch=x86_64",
        ]
    );
    let subject = "sha256:5f0c1d2e3f405162738495a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f80";
    let ssl = p.get("rpm/openssl-libs@1:1.1.1k-5.el8_5?arch=x86_64");
    assert_eq!(
        ssl,
        &NormalizedRecord {
            ecosystem: "rpm".into(),
            kind: RecordKind::Package,
            licenses: vec![],
            locations: strings(&["sqlite:var/lib/rpm"]),
            name: "openssl-libs".into(),
            package_id: "rpm/openssl-libs@1:1.1.1k-5.el8_5?arch=x86_64".into(),
            purl: None,
            subject: subject.into(),
            version: "1:1.1.1k-5.el8_5".into(),
            vulnerability: None,
        }
    );
    // One package in two site-packages directories is one record.
    let urllib3 = p.get("python/urllib3@1.24.2");
    assert_eq!(
        urllib3.locations,
        [
            "python:usr/lib/python3.6/site-packages",
            "python:usr/local/lib/python3.8/site-packages"
        ]
    );
    assert_eq!(
        finding(p.get("RHSA-2022:0064 rpm/openssl-libs@1:1.1.1k-5.el8_5?arch=x86_64")),
        &Finding {
            aliases: strings(&["CVE-2021-3712"]),
            fixed_version: Some("1:1.1.1k-6.el8_5".into()),
            id: "RHSA-2022:0064".into(),
            severity: Severity::Medium,
            status: None,
        }
    );
    // "0:0" is no fix; an Unknown normalized severity falls back to the vendor's.
    let f = finding(p.get("CVE-2023-0464 rpm/openssl-libs@1:1.1.1k-5.el8_5?arch=x86_64"));
    assert_eq!(
        (f.fixed_version.as_deref(), f.severity),
        (None, Severity::Low)
    );
    assert!(f.aliases.is_empty(), "the id itself is not an alias");
    let f = finding(p.get("pyup.io-38834 python/urllib3@1.24.2"));
    assert_eq!(
        (f.aliases.as_slice(), f.fixed_version.as_deref(), f.severity),
        (&strings(&["CVE-2020-26137"])[..], None, Severity::Unknown)
    );
    let f = finding(p.get("GHSA-q2q7-5pp4-w6pg python/urllib3@1.24.2"));
    assert_eq!(
        (f.fixed_version.as_deref(), f.severity),
        (Some("1.26.5"), Severity::High)
    );
    assert_eq!(
        p.meta,
        meta([Some("clair"), None, None, None, Some(subject)])
    );
}

#[test]
fn cyclonedx_min() {
    let p = parse("cyclonedx-min.json", Format::Cyclonedx);
    assert_eq!(
        p.identities(),
        [
            "CVE-2021-44228 pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
            "CVE-2023-99999 library/internal-util@0.1",
            "CVE-2023-99999 pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64",
            "library/internal-util@0.1",
            "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64",
            "pkg:maven/com.example/shop@2.3.1",
            "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
        ],
        "nested components are packages, the operating system is not"
    );
    let musl = p.get("pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64");
    assert_eq!(
        (musl.ecosystem.as_str(), musl.licenses.as_slice()),
        ("apk", &strings(&["MIT"])[..])
    );
    assert_eq!(musl.locations, ["/lib/apk/db/installed"]);
    let shop = p.get("pkg:maven/com.example/shop@2.3.1");
    assert_eq!(
        (shop.ecosystem.as_str(), shop.licenses.as_slice()),
        ("maven", &strings(&["Apache-2.0 OR MIT"])[..])
    );
    let log4j = p.get("pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1");
    assert_eq!(
        (log4j.name.as_str(), log4j.licenses.as_slice()),
        ("log4j-core", &strings(&["Apache License 2.0"])[..])
    );
    assert_eq!(
        finding(p.get("CVE-2021-44228 pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1")),
        &Finding {
            aliases: strings(&["GHSA-jfh8-c2jp-5v3q"]),
            fixed_version: Some("2.15.0".into()),
            id: "CVE-2021-44228".into(),
            severity: Severity::Critical,
            status: Some("exploitable".into()),
        }
    );
    // A BOM-link reference resolves by its fragment.
    let f = p.get("CVE-2023-99999 library/internal-util@0.1");
    assert_eq!(
        (f.name.as_str(), finding(f).severity),
        ("internal-util", Severity::Unknown)
    );
    assert_eq!(
        p.meta,
        meta([
            Some("syft"),
            Some("1.4.1"),
            Some("1.5"),
            Some("2024-05-01T12:00:00Z"),
            Some("registry.example/shop:2.3.1")
        ])
    );
}

#[test]
fn native_jsonl_min() {
    let p = parse("native-min.jsonl", Format::Snapgov);
    assert_eq!(
        p.identities(),
        [
            "CVE-2024-0727 deb/openssl@3.0.11-1~deb12u2",
            "GHSA-aaaa-bbbb-cccc pkg:npm/left-pad@1.3.0",
            "deb/openssl@3.0.11-1~deb12u2",
            "pkg:npm/left-pad@1.3.0",
        ]
    );
    let f = p.get("CVE-2024-0727 deb/openssl@3.0.11-1~deb12u2");
    assert_eq!(
        finding(f),
        &Finding {
            aliases: strings(&["DSA-5678-1"]),
            fixed_version: Some("3.0.13-1~deb12u1".into()),
            id: "CVE-2024-0727".into(),
            severity: Severity::Medium,
            status: Some("fixed".into()),
        }
    );
    assert_eq!(
        f.subject, "acme/web:2024.05",
        "the header's subject is the default"
    );
    let g = p.get("GHSA-aaaa-bbbb-cccc pkg:npm/left-pad@1.3.0");
    assert_eq!(
        (g.subject.as_str(), g.ecosystem.as_str()),
        ("acme/worker:2024.05", "npm")
    );
    assert_eq!(finding(g).severity, Severity::Unknown);
    assert_eq!(
        p.meta,
        meta([
            Some("acme-scan"),
            Some("3.2.1"),
            Some("1"),
            Some("2024-05-01T12:00:00Z"),
            Some("acme/web:2024.05")
        ])
    );
}

#[test]
fn native_document_min() {
    // `subject` comes after `records` here: the parser reads the file twice.
    let p = parse("native-min.json", Format::Snapgov);
    assert_eq!(
        p.identities(),
        [
            "CVE-2024-35195 pypi/requests@2.31.0",
            "pypi/requests@2.31.0"
        ]
    );
    let f = p.get("CVE-2024-35195 pypi/requests@2.31.0");
    assert_eq!(f.subject, "git+https://git.example/acme/api@main");
    assert_eq!(
        (finding(f).severity, finding(f).fixed_version.as_deref()),
        (Severity::Medium, Some("2.32.0"))
    );
    assert_eq!(p.meta.tool_name.as_deref(), Some("inhouse-audit"));
    assert_eq!(p.meta.tool_version, None);
}

#[test]
fn example_feed_asset() {
    let path = asset("example-feed.jsonl");
    assert_eq!(
        detect(&path, "example-feed.jsonl", &Limits::default()).unwrap(),
        Format::Snapgov
    );
    let p = parse_path(
        &path,
        "example-feed.jsonl",
        Format::Snapgov,
        &Limits::default(),
    )
    .unwrap();
    let packages = p
        .merged
        .values()
        .filter(|r| r.kind == RecordKind::Package)
        .count();
    assert_eq!((packages, p.merged.len() - packages), (4, 3));
    assert_eq!(
        p.meta.subject.as_deref(),
        Some("registry.example/shop:2.3.1")
    );
    p.get("ACME-2024-0042 internal/shop-billing@2.3.1");
}

// ---------------------------------------------------------------------------
// Detection and errors
// ---------------------------------------------------------------------------

#[test]
fn detection_of_every_fixture() {
    let odd = [
        ("syft-future-schema.json", Format::SyftJson),
        ("missing-name.syft.json", Format::SyftJson),
        ("wrong-type.trivy.json", Format::TrivyJson),
        ("truncated.json", Format::TrivyJson),
    ];
    for (name, expected) in MIN_FIXTURES.into_iter().chain(odd) {
        let got = detect(&fixture(name), name, &Limits::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(got, expected, "{name}");
    }
}

#[test]
fn detection_is_by_content_not_name() {
    let f = temp_file(&std::fs::read(fixture("clair-min.json")).unwrap());
    assert_eq!(
        detect(f.path(), "report.syft.json", &Limits::default()).unwrap(),
        Format::ClairV4
    );
}

#[test]
fn unknown_format() {
    let err = detect(&fixture("unknown.json"), "unknown.json", &Limits::default()).unwrap_err();
    match &err {
        IngestError::UnknownFormat { file, hint, known } => {
            assert_eq!(file, "unknown.json");
            assert_eq!(
                hint,
                " (a JSON object with keys spdxVersion, dataLicense, SPDXID, name, packages)"
            );
            assert_eq!(known, &Format::known_list());
        }
        e => panic!("{e:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.starts_with("unknown.json: unrecognized input (a JSON object with keys spdxVersion"),
        "{msg}"
    );
    assert!(
        msg.contains("syft-json, trivy-json, clair-v4, cyclonedx, snapgov"),
        "{msg}"
    );
}

#[test]
fn binary_input() {
    let err = detect(&fixture("binary.bin"), "binary.bin", &Limits::default()).unwrap_err();
    assert!(
        matches!(&err, IngestError::UnknownFormat { hint, .. } if hint == " (binary data, not JSON)"),
        "{err:?}"
    );
    assert!(err.to_string().starts_with("binary.bin: "));
    // Forced through a parser it is a syntax error, for every format.
    for format in Format::ALL {
        let err = parse_err("binary.bin", format);
        assert!(
            matches!(err, IngestError::Syntax { line: 1, .. }),
            "{format}: {err:?}"
        );
        assert!(
            err.to_string()
                .starts_with("binary.bin: not valid JSON at line 1"),
            "{err}"
        );
    }
}

#[test]
fn empty_input() {
    for format in Format::ALL {
        let err = parse_err("empty.json", format);
        assert!(
            matches!(&err, IngestError::Empty { file } if file == "empty.json"),
            "{format}: {err:?}"
        );
    }
    let err = detect(&fixture("empty.json"), "empty.json", &Limits::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "empty.json: the file is empty; nothing to import"
    );
    // Whitespace only (and a byte-order mark) is empty too.
    let ws = temp_file(b"\xEF\xBB\xBF \n\t\r\n  ");
    assert!(matches!(
        detect(ws.path(), "ws.json", &Limits::default()),
        Err(IngestError::Empty { .. })
    ));
    assert!(matches!(
        parse_path(ws.path(), "ws.json", Format::TrivyJson, &Limits::default()),
        Err(IngestError::Empty { .. })
    ));
}

#[test]
fn truncated_input() {
    let err = parse_err("truncated.json", Format::TrivyJson);
    match &err {
        IngestError::Syntax {
            file,
            line,
            column,
            message,
        } => {
            assert_eq!(file, "truncated.json");
            assert_eq!((*line, *column), (9, 41));
            assert!(message.contains("EOF"), "{message}");
        }
        e => panic!("{e:?}"),
    }
    assert!(
        err.to_string()
            .starts_with("truncated.json: not valid JSON at line 9, column 41: EOF"),
        "{err}"
    );
}

#[test]
fn missing_required_field() {
    let err = parse_err("missing-name.syft.json", Format::SyftJson);
    match &err {
        IngestError::Invalid {
            file,
            path,
            message,
        } => {
            assert_eq!(file, "missing-name.syft.json");
            assert_eq!(path, "artifacts[1]");
            assert!(
                message.starts_with("missing required field `name`"),
                "{message}"
            );
        }
        e => panic!("{e:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.starts_with("missing-name.syft.json: at artifacts[1]: missing required field `name`"),
        "{msg}"
    );
}

#[test]
fn wrong_type() {
    let err = parse_err("wrong-type.trivy.json", Format::TrivyJson);
    match &err {
        IngestError::Invalid {
            file,
            path,
            message,
        } => {
            assert_eq!(file, "wrong-type.trivy.json");
            assert_eq!(path, "Results[0].Vulnerabilities[1].VulnerabilityID");
            assert!(message.contains("expected a string"), "{message}");
        }
        e => panic!("{e:?}"),
    }
    assert!(err
        .to_string()
        .starts_with("wrong-type.trivy.json: at Results[0].Vulnerabilities[1].VulnerabilityID: invalid type: integer `5`, expected a string"));
}

#[test]
fn invalid_in_every_format_names_the_path() {
    let cases: &[(Format, &str, &str, &str)] = &[
        (Format::ClairV4, r#"{"manifest_hash":"m","packages":{"p1":{"version":"1"}}}"#, "packages.p1", "missing required field `name`"),
        (
            Format::ClairV4,
            r#"{"manifest_hash":"m","packages":{"p1":{"name":"a"}},"vulnerabilities":{},"package_vulnerabilities":{"p1":["v9"]}}"#,
            "package_vulnerabilities.p1[0]",
            "no vulnerability has id `v9`",
        ),
        (Format::Cyclonedx, r#"{"bomFormat":"CycloneDX","components":[{"type":"library","components":[{"type":"library"}],"name":"a"}]}"#, "components[0].components[0]", "missing required field `name`"),
        (Format::Cyclonedx, r#"{"bomFormat":"CycloneDX","components":[],"vulnerabilities":[{"id":"CVE-1","affects":[{"ref":"nope"}]}]}"#, "vulnerabilities[0].affects[0].ref", "no component has bom-ref `nope`"),
        (Format::TrivyJson, r#"[{"Target":"t","Type":"debian","Vulnerabilities":[{"VulnerabilityID":"CVE-1"}]}]"#, "[0].Vulnerabilities[0]", "missing required field `PkgName`"),
        (Format::TrivyJson, r#"{"Results":[{"Packages":[{"Name":""}]}]}"#, "Results[0].Packages[0].Name", "required field `Name` is empty"),
        (Format::SyftJson, r#"{"artifacts":[{"name":"a","licenses":[{"value":7}]}]}"#, "artifacts[0].licenses[0].value", "expected a string"),
        (Format::Snapgov, "{\"format\":\"snapgov\"}\n{\"ecosystem\":\"npm\",\"name\":\"a\"}\n\n{\"ecosystem\":\"npm\"}\n", "line 4", "missing required field `name`"),
        (Format::Snapgov, "{\"ecosystem\":\"npm\",\"name\":5}\n", "line 1.name", "expected a string"),
        (Format::Snapgov, "{\"kind\":\"vulnerability\",\"ecosystem\":\"npm\",\"name\":\"a\"}\n", "line 1", "missing required field `vulnerability`"),
        (Format::Snapgov, "{\"name\":\"a\",\"vulnerability\":{\"id\":\"X-1\"}}\n", "line 1", "missing required field `ecosystem`"),
        (Format::Snapgov, "{\"format\":\"snapgov\",\"records\":[{\"ecosystem\":\"npm\",\"name\":\"a\",\"vulnerability\":{}}]}", "records[0].vulnerability", "missing required field `id`"),
        (Format::Snapgov, "{\"format\":\"other\",\"records\":[]}", "format", "expected \"snapgov\""),
        (Format::Snapgov, "{\n  \"format\": \"snapgov\"\n}\n", "(top level)", "missing required field `records`"),
    ];
    for (format, content, want_path, want_message) in cases {
        let f = temp_file(content.as_bytes());
        let err = match parse_path(f.path(), "case.json", *format, &Limits::default()) {
            Ok(_) => panic!("{format} {content}: parsed"),
            Err(e) => e,
        };
        match &err {
            IngestError::Invalid {
                file,
                path,
                message,
            } => {
                assert_eq!(file, "case.json");
                assert_eq!(path, want_path, "{format} {content}");
                assert!(
                    message.contains(want_message),
                    "{format} {content}: {message}"
                );
            }
            e => panic!("{format} {content}: {e:?}"),
        }
    }
}

#[test]
fn native_syntax_error_names_the_line() {
    let f = temp_file(b"{\"format\":\"snapgov\"}\n{\"ecosystem\":\"npm\",\"name\":\"a\"}\n{\"ecosystem\": \"npm\", \"name\n");
    let err = parse_path(f.path(), "feed.jsonl", Format::Snapgov, &Limits::default()).unwrap_err();
    assert!(
        matches!(err, IngestError::Syntax { line: 3, .. }),
        "{err:?}"
    );
}

#[test]
fn too_large() {
    let limits = Limits {
        max_input_bytes: 100,
        ..Limits::default()
    };
    let size = std::fs::metadata(fixture("trivy-min.json")).unwrap().len();
    for format in Format::ALL {
        let err = parse_path(
            &fixture("trivy-min.json"),
            "trivy-min.json",
            format,
            &limits,
        )
        .err()
        .unwrap();
        match err {
            IngestError::TooLarge {
                file,
                size: s,
                limit,
            } => {
                assert_eq!((file.as_str(), s, limit), ("trivy-min.json", size, 100));
            }
            e => panic!("{format}: {e:?}"),
        }
    }
    assert!(matches!(
        detect(&fixture("trivy-min.json"), "x", &limits),
        Err(IngestError::TooLarge { .. })
    ));
}

#[test]
fn too_deep() {
    // Deeper than a small limit, in a part the parser skips.
    let nested = format!(
        r#"{{"artifacts":[{{"name":"a","metadata":{}0{}}}],"source":{{"target":"x"}}}}"#,
        "[".repeat(50),
        "]".repeat(50)
    );
    let f = temp_file(nested.as_bytes());
    let limits = Limits {
        max_depth: 32,
        ..Limits::default()
    };
    let err = parse_path(f.path(), "deep.json", Format::SyftJson, &limits)
        .err()
        .unwrap();
    assert!(
        matches!(&err, IngestError::TooDeep { file, limit: 32 } if file == "deep.json"),
        "{err:?}"
    );
    assert!(matches!(
        detect(f.path(), "deep.json", &limits),
        Err(IngestError::TooDeep { .. })
    ));
    // Within the limit it parses.
    parse_path(f.path(), "deep.json", Format::SyftJson, &Limits::default()).unwrap();

    // Beyond serde_json's own recursion limit, in a part the parser decodes.
    let mut doc = String::from(r#"{"bomFormat":"CycloneDX","components":"#);
    for _ in 0..200 {
        doc.push_str(r#"[{"name":"a","components":"#);
    }
    doc.push_str("[]");
    for _ in 0..200 {
        doc.push_str("}]");
    }
    doc.push('}');
    let f = temp_file(doc.as_bytes());
    let limits = Limits {
        max_depth: 10_000,
        ..Limits::default()
    };
    let err = parse_path(f.path(), "deep.json", Format::Cyclonedx, &limits)
        .err()
        .unwrap();
    assert!(matches!(err, IngestError::TooDeep { .. }), "{err:?}");
}

#[test]
fn io_error_names_the_file() {
    let err = parse_path(
        Path::new("/nonexistent/feed.json"),
        "feed.json",
        Format::SyftJson,
        &Limits::default(),
    )
    .err()
    .unwrap();
    assert!(matches!(err, IngestError::Io { .. }));
    assert!(err.to_string().starts_with("feed.json: cannot read:"));
}

#[test]
fn sink_errors_stop_every_parser() {
    for (name, format) in MIN_FIXTURES {
        let mut calls = 0;
        let mut sink = |_r: NormalizedRecord| {
            calls += 1;
            Err(IngestError::Sink("store is read-only".into()))
        };
        let err =
            parse_file(format, &fixture(name), name, &Limits::default(), &mut sink).unwrap_err();
        assert!(
            matches!(&err, IngestError::Sink(m) if m.to_string() == "store is read-only"),
            "{name}: {err:?}"
        );
        assert_eq!(calls, 1, "{name}");
    }
}

#[test]
fn newer_versions_warn_once() {
    let cases: &[(Format, &str, &str)] = &[
        (
            Format::TrivyJson,
            r#"{"SchemaVersion":3,"ArtifactName":"a","Results":[]}"#,
            "trivy-json SchemaVersion 3 is newer than the newest tested (2)",
        ),
        (
            Format::Cyclonedx,
            r#"{"bomFormat":"CycloneDX","specVersion":"2.0","components":[]}"#,
            "CycloneDX spec 2.0 is newer than the newest tested (1.6)",
        ),
        (
            Format::Snapgov,
            "{\"format\":\"snapgov\",\"version\":2}\n",
            "snapgov format version 2 is newer than the newest tested (1)",
        ),
    ];
    for (format, content, want) in cases {
        let f = temp_file(content.as_bytes());
        let p = parse_path(f.path(), "x.json", *format, &Limits::default()).unwrap();
        assert_eq!(p.meta.warnings.len(), 1, "{format}");
        assert!(
            p.meta.warnings[0].starts_with(want),
            "{format}: {:?}",
            p.meta.warnings
        );
    }
    // Minor versions newer than tested do not warn.
    let f = temp_file(br#"{"bomFormat":"CycloneDX","specVersion":"1.7","components":[]}"#);
    assert!(
        parse_path(f.path(), "x.json", Format::Cyclonedx, &Limits::default())
            .unwrap()
            .meta
            .warnings
            .is_empty()
    );
}

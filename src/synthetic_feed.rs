//! Generated scanner feeds in each format: realistic shapes with
//! deterministic content, for the demo, tests and benchmarks. The same
//! [`FeedSpec`] always gives the same bytes.

use crate::ingest::Format;
use serde_json::json;
use std::io::{self, Write};

#[derive(Clone, Debug)]
pub struct FeedSpec {
    pub packages: u64,
    /// Findings per 100 packages (formats with findings).
    pub vuln_percent: u64,
    /// Picks which packages churn; seed 1 with churn 0 is the baseline.
    pub seed: u64,
    /// Per mille of packages whose version differs from the baseline.
    pub churn_permille: u64,
    /// What was scanned.
    pub subject: String,
    /// The scanner's own timestamp (RFC 3339).
    pub generated_at: String,
}

impl Default for FeedSpec {
    fn default() -> Self {
        FeedSpec {
            packages: 1000,
            vuln_percent: 10,
            seed: 1,
            churn_permille: 0,
            subject: "registry.example.com/payments/api:1.4.2".into(),
            generated_at: "2025-12-04T00:00:00Z".into(),
        }
    }
}

/// splitmix64: small, fast and stable across platforms.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

const WORDS: [&str; 24] = [
    "acorn", "bramble", "cinder", "delta", "ember", "fjord", "garnet", "harbor", "iris", "juniper",
    "kestrel", "lumen", "marble", "nectar", "onyx", "pylon", "quartz", "raven", "sable", "tundra",
    "umber", "vortex", "willow", "zephyr",
];
const LICENSES: [&str; 6] = [
    "MIT",
    "Apache-2.0",
    "BSD-3-Clause",
    "GPL-2.0-only",
    "ISC",
    "MPL-2.0",
];
const SEVERITIES: [&str; 5] = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"];

/// One generated package.
pub struct Pkg {
    pub index: u64,
    pub name: String,
    pub version: String,
    /// syft type / Trivy type.
    pub eco: &'static str,
    pub purl_type: &'static str,
    pub license: &'static str,
    pub path: String,
}

pub fn package(spec: &FeedSpec, i: u64) -> Pkg {
    let h = mix(i);
    let (eco, purl_type, dir) = match h % 5 {
        0 => ("deb", "deb", "/var/lib/dpkg/status"),
        1 => ("npm", "npm", "/app/node_modules"),
        2 => ("python", "pypi", "/usr/lib/python3/site-packages"),
        3 => ("go-module", "golang", "/usr/local/bin/app"),
        _ => ("java-archive", "maven", "/opt/app/lib"),
    };
    let name = format!(
        "{}-{}-{i}",
        WORDS[(h >> 8) as usize % WORDS.len()],
        WORDS[(h >> 16) as usize % WORDS.len()]
    );
    let churned = spec.churn_permille > 0 && mix(i ^ mix(spec.seed)) % 1000 < spec.churn_permille;
    let patch = (h >> 24) % 20 + if churned { 1 + spec.seed % 7 } else { 0 };
    let version = format!("{}.{}.{patch}", (h >> 32) % 5, (h >> 40) % 30);
    // Some packages move between scans: same identity, changed record.
    let moved = spec.churn_permille > 0
        && mix(i ^ mix(spec.seed.wrapping_mul(3))) % 2000 < spec.churn_permille;
    let path = if eco == "deb" || eco == "go-module" {
        dir.to_string()
    } else if moved {
        format!("{dir}/vendor-{}/{name}", spec.seed)
    } else {
        format!("{dir}/{name}")
    };
    Pkg {
        index: i,
        license: LICENSES[(h >> 48) as usize % LICENSES.len()],
        name,
        version,
        eco,
        purl_type,
        path,
    }
}

impl Pkg {
    pub fn purl(&self) -> String {
        format!("pkg:{}/{}@{}", self.purl_type, self.name, self.version)
    }
    /// Whether this package has a finding, and its id and severity.
    pub fn finding(&self, spec: &FeedSpec) -> Option<(String, &'static str, String)> {
        let h = mix(self.index.wrapping_mul(31).wrapping_add(7));
        if h % 100 >= spec.vuln_percent {
            return None;
        }
        let id = format!(
            "CVE-20{:02}-{:05}",
            18 + (h >> 8) % 8,
            (h >> 16) % 60_000 + 1000
        );
        let sev = SEVERITIES[(h >> 32) as usize % SEVERITIES.len()];
        let fixed = format!("{}.{}.{}", (h >> 36) % 5, (h >> 44) % 30 + 1, 99);
        Some((id, sev, fixed))
    }
}

fn sep(w: &mut dyn Write, first: &mut bool) -> io::Result<()> {
    if !*first {
        w.write_all(b",\n")?;
    }
    *first = false;
    Ok(())
}

/// Writes a feed in `format`.
pub fn write_feed(format: Format, spec: &FeedSpec, w: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::SyftJson => syft(spec, w),
        Format::TrivyJson => trivy(spec, w),
        Format::ClairV4 => clair(spec, w),
        Format::Cyclonedx => cyclonedx(spec, w),
        Format::Snapgov => native(spec, w),
    }
}

fn syft(spec: &FeedSpec, w: &mut dyn Write) -> io::Result<()> {
    w.write_all(b"{\"artifacts\":[\n")?;
    let mut first = true;
    for i in 0..spec.packages {
        let p = package(spec, i);
        sep(w, &mut first)?;
        let v = json!({
            "id": format!("{:016x}", mix(i ^ 0xabc)),
            "name": p.name,
            "version": p.version,
            "type": p.eco,
            "foundBy": format!("{}-cataloger", p.eco),
            "locations": [{"path": p.path, "layerID": "sha256:4f4fb700ef54461cfa02571ae0db9a0dc1e0cdb5577484a6d75e68dc38e8acc1"}],
            "licenses": [{"value": p.license, "spdxExpression": p.license, "type": "declared", "urls": [], "locations": []}],
            "language": "",
            "cpes": [{"cpe": format!("cpe:2.3:a:{}:{}:{}:*:*:*:*:*:*:*", p.name, p.name, p.version), "source": "syft-generated"}],
            "purl": p.purl(),
            "metadataType": "apk-db-entry",
            "metadata": {"package": p.name, "version": p.version, "size": 1024 + i % 4096}
        });
        serde_json::to_writer(&mut *w, &v)?;
    }
    w.write_all(b"\n],\n\"artifactRelationships\":[],\n")?;
    let tail = json!({
        "source": {"id": "sha256:7b1a6ab2e44dbac178598dabe7cff59bd67233dba0b27e4fbd1f9d4b3c877a54", "name": spec.subject, "version": "", "type": "image", "metadata": {"userInput": spec.subject}},
        "distro": {"prettyName": "Debian GNU/Linux 12 (bookworm)", "name": "Debian GNU/Linux", "id": "debian", "version": "12 (bookworm)", "versionID": "12"},
        "descriptor": {"name": "syft", "version": "1.32.0"},
        "schema": {"version": "16.0.39", "url": "https://raw.githubusercontent.com/anchore/syft/main/schema/json/schema-16.0.39.json"}
    });
    let tail = serde_json::to_string(&tail)?;
    w.write_all(&tail.as_bytes()[1..])?;
    w.write_all(b"\n")
}

fn trivy(spec: &FeedSpec, w: &mut dyn Write) -> io::Result<()> {
    let head = json!({
        "SchemaVersion": 2,
        "CreatedAt": spec.generated_at,
        "ArtifactName": spec.subject,
        "ArtifactType": "container_image",
        "Metadata": {"OS": {"Family": "debian", "Name": "12.11"}},
    });
    let head = serde_json::to_string(&head)?;
    w.write_all(&head.as_bytes()[..head.len() - 1])?;
    w.write_all(b",\"Results\":[")?;
    // One result per ecosystem, as Trivy groups them.
    let mut first_result = true;
    for (class, ty, eco) in [
        ("os-pkgs", "debian", "deb"),
        ("lang-pkgs", "node-pkg", "npm"),
        ("lang-pkgs", "python-pkg", "python"),
        ("lang-pkgs", "gobinary", "go-module"),
        ("lang-pkgs", "jar", "java-archive"),
    ] {
        sep(w, &mut first_result)?;
        write!(
            w,
            "{{\"Target\":{},\"Class\":\"{class}\",\"Type\":\"{ty}\",\"Packages\":[",
            serde_json::to_string(&format!("{} ({ty})", spec.subject))?
        )?;
        let mut first = true;
        let mut vulns = Vec::new();
        for i in 0..spec.packages {
            let p = package(spec, i);
            if p.eco != eco {
                continue;
            }
            sep(w, &mut first)?;
            let v = json!({
                "ID": format!("{}@{}", p.name, p.version),
                "Name": p.name,
                "Identifier": {"PURL": p.purl(), "UID": format!("{:016x}", mix(i))},
                "Version": p.version,
                "Licenses": [p.license],
                "FilePath": if eco == "deb" { serde_json::Value::Null } else { json!(p.path) },
                "Layer": {"DiffID": "sha256:4f4fb700ef54461cfa02571ae0db9a0dc1e0cdb5577484a6d75e68dc38e8acc1"}
            });
            serde_json::to_writer(&mut *w, &v)?;
            if let Some((id, sev, fixed)) = p.finding(spec) {
                vulns.push(json!({
                    "VulnerabilityID": id,
                    "PkgID": format!("{}@{}", p.name, p.version),
                    "PkgName": p.name,
                    "PkgIdentifier": {"PURL": p.purl()},
                    "InstalledVersion": p.version,
                    "FixedVersion": fixed,
                    "Status": "fixed",
                    "Severity": sev,
                    "Title": format!("{} in {}", id, p.name),
                }));
            }
        }
        w.write_all(b"],\"Vulnerabilities\":")?;
        serde_json::to_writer(&mut *w, &vulns)?;
        w.write_all(b"}")?;
    }
    w.write_all(b"]}\n")
}

fn clair(spec: &FeedSpec, w: &mut dyn Write) -> io::Result<()> {
    let mut packages = serde_json::Map::new();
    let mut envs = serde_json::Map::new();
    let mut vulns = serde_json::Map::new();
    let mut pv = serde_json::Map::new();
    for i in 0..spec.packages {
        let p = package(spec, i);
        let key = (i + 1).to_string();
        let (kind_db, arch) = match p.eco {
            "deb" => ("var/lib/dpkg/status", "amd64"),
            "python" => ("python:usr/lib/python3/site-packages", ""),
            _ => ("var/lib/dpkg/status", "amd64"),
        };
        packages.insert(key.clone(), json!({"id": key, "name": p.name, "version": p.version, "kind": "binary", "arch": arch, "normalized_version": "", "module": "", "cpe": ""}));
        envs.insert(key.clone(), json!([{"package_db": kind_db, "introduced_in": "sha256:4f4fb700ef54461cfa02571ae0db9a0dc1e0cdb5577484a6d75e68dc38e8acc1", "distribution_id": "1", "repository_ids": null}]));
        if let Some((id, sev, fixed)) = p.finding(spec) {
            let vid = format!("v{i}");
            let title = |s: &str| {
                let mut c = s.to_ascii_lowercase().chars().collect::<Vec<_>>();
                c[0] = c[0].to_ascii_uppercase();
                c.into_iter().collect::<String>()
            };
            vulns.insert(vid.clone(), json!({"id": vid, "updater": "debian-bookworm-updater", "name": format!("{id} {}", p.name), "description": "generated", "issued": spec.generated_at, "links": format!("https://security-tracker.debian.org/tracker/{id}"), "severity": "", "normalized_severity": title(sev), "package": {"id": "", "name": p.name, "version": "", "kind": "binary"}, "dist": {"id": "", "did": "debian", "version_id": "12"}, "fixed_in_version": fixed}));
            pv.insert(key, json!([vid]));
        }
    }
    let doc = json!({
        "manifest_hash": format!("sha256:{:064x}", mix(spec.seed) as u128),
        "packages": packages,
        "distributions": {"1": {"id": "1", "did": "debian", "name": "Debian GNU/Linux", "version": "12 (bookworm)", "version_code_name": "bookworm", "version_id": "12", "arch": "", "cpe": "", "pretty_name": "Debian GNU/Linux 12 (bookworm)"}},
        "repository": {},
        "environments": envs,
        "vulnerabilities": vulns,
        "package_vulnerabilities": pv,
        "enrichments": {}
    });
    serde_json::to_writer(&mut *w, &doc)?;
    w.write_all(b"\n")
}

fn cyclonedx(spec: &FeedSpec, w: &mut dyn Write) -> io::Result<()> {
    let mut comps = Vec::new();
    let mut vulns = Vec::new();
    for i in 0..spec.packages {
        let p = package(spec, i);
        let r = format!("{}?package-id={:x}", p.purl(), mix(i));
        comps.push(json!({"bom-ref": r, "type": "library", "name": p.name, "version": p.version, "purl": p.purl(), "licenses": [{"license": {"id": p.license}}]}));
        if let Some((id, sev, _)) = p.finding(spec) {
            vulns.push(json!({"id": id, "ratings": [{"severity": sev.to_ascii_lowercase()}], "affects": [{"ref": r}]}));
        }
    }
    let doc = json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": format!("urn:uuid:{:08x}-0000-4000-8000-{:012x}", mix(spec.seed) as u32, mix(spec.seed + 1) & 0xffff_ffff_ffff),
        "version": 1,
        "metadata": {"timestamp": spec.generated_at, "tools": {"components": [{"type": "application", "author": "anchore", "name": "syft", "version": "1.32.0"}]}, "component": {"type": "container", "name": spec.subject, "version": "sha256:7b1a6ab2"}},
        "components": comps,
        "vulnerabilities": vulns
    });
    serde_json::to_writer(&mut *w, &doc)?;
    w.write_all(b"\n")
}

fn native(spec: &FeedSpec, w: &mut dyn Write) -> io::Result<()> {
    let head = json!({"format": "snapgov", "version": 1, "tool": {"name": "licensewatch", "version": "2.3.0"}, "subject": spec.subject, "generatedAt": spec.generated_at});
    serde_json::to_writer(&mut *w, &head)?;
    w.write_all(b"\n")?;
    for i in 0..spec.packages {
        let p = package(spec, i);
        serde_json::to_writer(
            &mut *w,
            &json!({"kind": "package", "ecosystem": p.eco, "name": p.name, "version": p.version, "purl": p.purl(), "licenses": [p.license], "locations": [p.path]}),
        )?;
        w.write_all(b"\n")?;
        if let Some((id, sev, fixed)) = p.finding(spec) {
            serde_json::to_writer(
                &mut *w,
                &json!({"kind": "vulnerability", "ecosystem": p.eco, "name": p.name, "version": p.version, "purl": p.purl(), "vulnerability": {"id": id, "severity": sev, "fixedVersion": fixed}}),
            )?;
            w.write_all(b"\n")?;
        }
    }
    Ok(())
}

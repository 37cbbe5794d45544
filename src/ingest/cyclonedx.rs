//! CycloneDX JSON BOMs (spec 1.2 to 1.6), as written by syft, Trivy and
//! others.
//!
//! - One package record per component, nested `components` included, except
//!   components of type `operating-system`. Ecosystem: the
//!   `syft:package:type` or `aquasecurity:trivy:PkgType` property, else the
//!   purl type, else the component `type`. Licenses: `licenses[].license.id`
//!   (else `.name`) and `licenses[].expression`. Locations: properties
//!   `syft:location:N:path` and `aquasecurity:trivy:FilePath`.
//! - One finding per `vulnerabilities[].affects[].ref`, on the component
//!   whose `bom-ref` it names (also a BOM-link's `#fragment`; the
//!   `metadata.component` may be referred to too). Severity: the worst of
//!   `ratings[].severity`; status: `analysis.state`; aliases:
//!   `references[].id`; fixed version: an `affects[].versions[]` entry with
//!   status `unaffected`, when there is one.
//!
//! Subject: `metadata.component.name` (with its version: `name:version`, or
//! `name@digest`). Tool: the first of `metadata.tools` (1.4 array, or the
//! 1.5+ `{components, services}` object).
//!
//! References force the whole BOM into memory (typed; `dependencies`,
//! `compositions` and other unused members are skipped).

use super::common::{
    self, emit, empty_field, join_name_version, non_empty, purl_type, schema_warning, tool_text,
    DepthMode, Pkg, UNKNOWN_ECOSYSTEM,
};
use super::{DocMeta, IngestError, Limits, RecordSink};
use crate::domain::record::{Finding, Severity};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;

/// Newest CycloneDX spec version tested (a newer major version warns).
pub const NEWEST_TESTED_SPEC: &str = "1.6";
const NEWEST_TESTED_MAJOR: u64 = 1;

/// Parses a CycloneDX JSON BOM.
pub fn parse(
    path: &Path,
    display: &str,
    limits: &Limits,
    sink: &mut dyn RecordSink,
) -> Result<DocMeta, IngestError> {
    let input = common::open(path, display, limits, DepthMode::Document)?;
    let bom: Bom = common::run(input, display, limits)?;
    convert(bom, display, sink)
}

// ---------------------------------------------------------------------------
// Document model
// ---------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Bom {
    #[serde(default)]
    spec_version: Option<String>,
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(default)]
    components: Option<Vec<Component>>,
    #[serde(default)]
    vulnerabilities: Option<Vec<Vulnerability>>,
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(default)]
    tools: Option<Tools>,
    #[serde(default)]
    component: Option<Component>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Tools {
    List(Vec<Tool>),
    Object {
        #[serde(default)]
        components: Option<Vec<Tool>>,
        #[serde(default)]
        services: Option<Vec<Tool>>,
    },
}

#[derive(Deserialize)]
struct Tool {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    version: Option<String>,
}

#[derive(Deserialize)]
struct Component {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    name: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    purl: Option<String>,
    #[serde(default, rename = "bom-ref")]
    bom_ref: Option<String>,
    #[serde(default)]
    licenses: Option<Vec<LicenseChoice>>,
    #[serde(default)]
    properties: Option<Vec<Property>>,
    #[serde(default)]
    components: Option<Vec<Component>>,
}

#[derive(Deserialize)]
struct LicenseChoice {
    #[serde(default)]
    license: Option<License>,
    #[serde(default)]
    expression: Option<String>,
}

#[derive(Deserialize)]
struct License {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct Property {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    value: Option<String>,
}

#[derive(Deserialize)]
struct Vulnerability {
    id: String,
    #[serde(default)]
    ratings: Option<Vec<Rating>>,
    #[serde(default)]
    affects: Option<Vec<Affect>>,
    #[serde(default)]
    analysis: Option<Analysis>,
    #[serde(default)]
    references: Option<Vec<Reference>>,
}

#[derive(Deserialize)]
struct Rating {
    #[serde(default)]
    severity: Option<String>,
}

#[derive(Deserialize)]
struct Affect {
    #[serde(rename = "ref")]
    reference: String,
    #[serde(default)]
    versions: Option<Vec<AffectedVersion>>,
}

#[derive(Deserialize)]
struct AffectedVersion {
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

#[derive(Deserialize)]
struct Analysis {
    #[serde(default)]
    state: Option<String>,
}

#[derive(Deserialize)]
struct Reference {
    #[serde(default)]
    id: Option<String>,
}

// ---------------------------------------------------------------------------
// Conversion
// ---------------------------------------------------------------------------

const OPERATING_SYSTEM: &str = "operating-system";

fn convert(bom: Bom, display: &str, sink: &mut dyn RecordSink) -> Result<DocMeta, IngestError> {
    let metadata = bom.metadata;
    let (timestamp, tools, root) = match metadata {
        Some(m) => (m.timestamp, m.tools, m.component),
        None => (None, None, None),
    };
    let subject = root
        .as_ref()
        .filter(|c| !c.name.trim().is_empty())
        .map(|c| join_name_version(&c.name, c.version.as_deref()))
        .unwrap_or_else(|| display.to_string());

    // Flatten the component tree (pre-order), remembering each one's path.
    let mut flat: Vec<(String, Component)> = Vec::new();
    let mut stack: Vec<(String, Component)> = bom
        .components
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .rev()
        .map(|(i, c)| (format!("components[{i}]"), c))
        .collect();
    while let Some((path, mut c)) = stack.pop() {
        let children = c.components.take().unwrap_or_default();
        for (i, child) in children.into_iter().enumerate().rev() {
            stack.push((format!("{path}.components[{i}]"), child));
        }
        flat.push((path, c));
    }

    let mut by_ref: HashMap<String, Pkg> = HashMap::new();
    if let Some(root) = root {
        if !root.name.trim().is_empty() {
            let r = root.bom_ref.clone();
            let pkg = component_pkg(root, &subject);
            if let Some(r) = r {
                by_ref.insert(r, pkg);
            }
        }
    }
    for (path, c) in flat {
        if c.name.trim().is_empty() {
            return Err(empty_field(display, format!("{path}.name"), "name"));
        }
        let is_os = c.kind.as_deref() == Some(OPERATING_SYSTEM);
        let bom_ref = non_empty(c.bom_ref.clone());
        let pkg = component_pkg(c, &subject);
        if !is_os {
            emit(sink, pkg.package_record())?;
        }
        if let Some(r) = bom_ref {
            by_ref.insert(r, pkg);
        }
    }

    for (vi, v) in bom
        .vulnerabilities
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        if v.id.trim().is_empty() {
            return Err(empty_field(
                display,
                format!("vulnerabilities[{vi}].id"),
                "id",
            ));
        }
        let ratings = v.ratings.unwrap_or_default();
        if let Some(raw) = ratings
            .iter()
            .filter_map(|r| r.severity.as_deref())
            .find(|r| !Severity::is_known(r))
        {
            sink.unknown_severity(raw);
        }
        let severity = ratings
            .iter()
            .map(|r| Severity::normalize(r.severity.as_deref().unwrap_or("")))
            .filter(|s| *s != Severity::Unknown)
            .min()
            .unwrap_or(Severity::Unknown);
        let status = v.analysis.and_then(|a| non_empty(a.state));
        let aliases: Vec<String> = v
            .references
            .unwrap_or_default()
            .into_iter()
            .filter_map(|r| non_empty(r.id))
            .collect();
        for (ai, affect) in v.affects.unwrap_or_default().into_iter().enumerate() {
            let reference = affect.reference.trim();
            let pkg = by_ref
                .get(reference)
                .or_else(|| {
                    reference
                        .rsplit_once('#')
                        .and_then(|(_, frag)| by_ref.get(frag))
                })
                .ok_or_else(|| IngestError::Invalid {
                    file: display.to_string(),
                    path: format!("vulnerabilities[{vi}].affects[{ai}].ref"),
                    message: format!("no component has bom-ref `{reference}`"),
                })?;
            let fixed_version = affect
                .versions
                .unwrap_or_default()
                .into_iter()
                .find_map(|av| {
                    (av.status.as_deref() == Some("unaffected"))
                        .then_some(av.version)
                        .flatten()
                        .filter(|s| !s.is_empty())
                });
            let finding = Finding {
                aliases: aliases.clone(),
                fixed_version,
                id: v.id.clone(),
                severity,
                status: status.clone(),
            };
            emit(sink, pkg.finding_record(finding))?;
        }
    }

    let tool = tools.and_then(|t| match t {
        Tools::List(list) => list.into_iter().next(),
        Tools::Object {
            components,
            services,
        } => components
            .unwrap_or_default()
            .into_iter()
            .chain(services.unwrap_or_default())
            .next(),
    });
    let (tool_name, tool_version) = match tool {
        Some(t) => (tool_text(t.name), tool_text(t.version)),
        None => (None, None),
    };
    let schema_version = non_empty(bom.spec_version);
    let warnings = schema_version
        .as_deref()
        .and_then(|v| schema_warning("CycloneDX spec", v, NEWEST_TESTED_MAJOR, NEWEST_TESTED_SPEC))
        .into_iter()
        .collect();
    Ok(DocMeta {
        tool_name,
        tool_version,
        schema_version,
        generated_at: non_empty(timestamp),
        subject: Some(subject),
        warnings,
    })
}

fn component_pkg(c: Component, subject: &str) -> Pkg {
    let mut ecosystem = None;
    let mut locations = Vec::new();
    for p in c.properties.unwrap_or_default() {
        let (Some(name), Some(value)) = (p.name, non_empty(p.value)) else {
            continue;
        };
        match name.as_str() {
            "syft:package:type" | "aquasecurity:trivy:PkgType" => {
                ecosystem.get_or_insert(value);
            }
            "aquasecurity:trivy:FilePath" => locations.push(value),
            n if n.starts_with("syft:location:") && n.ends_with(":path") => locations.push(value),
            _ => {}
        }
    }
    let purl = non_empty(c.purl);
    let ecosystem = ecosystem
        .or_else(|| purl.as_deref().and_then(purl_type))
        .or_else(|| non_empty(c.kind))
        .unwrap_or_else(|| UNKNOWN_ECOSYSTEM.to_string());
    let mut licenses = Vec::new();
    for l in c.licenses.unwrap_or_default() {
        if let Some(lic) = l.license {
            if let Some(v) = non_empty(lic.id).or_else(|| non_empty(lic.name)) {
                licenses.push(v);
            }
        }
        if let Some(e) = non_empty(l.expression) {
            licenses.push(e);
        }
    }
    Pkg {
        subject: subject.to_string(),
        ecosystem,
        name: c.name,
        version: c.version.unwrap_or_default(),
        purl,
        arch: None,
        licenses,
        locations,
    }
}

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

use super::pkg::{
    emit, join_name_version, non_empty, purl_type, schema_warnings, tool_text, Pkg,
    UNKNOWN_ECOSYSTEM,
};
use super::read::errors::{empty_field, invalid};
use super::read::open::{read_document, Feed};
use super::{DocMeta, IngestError, RecordSink};
use crate::domain::record::{Finding, Severity};
use serde::Deserialize;
use std::collections::HashMap;

/// Newest CycloneDX spec version tested (a newer major version warns).
pub const NEWEST_TESTED_SPEC: &str = "1.6";
const NEWEST_TESTED_MAJOR: u64 = 1;

/// Parses a CycloneDX JSON BOM.
pub(crate) fn parse(feed: Feed, sink: &mut dyn RecordSink) -> Result<DocMeta, IngestError> {
    convert(read_document(feed)?, feed.display, sink)
}

// ---------------------------------------------------------------------------
// Document model
// ---------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Bom {
    spec_version: Option<String>,
    metadata: Option<Metadata>,
    components: Option<Vec<Component>>,
    vulnerabilities: Option<Vec<Vulnerability>>,
}

#[derive(Deserialize)]
struct Metadata {
    timestamp: Option<String>,
    tools: Option<Tools>,
    component: Option<Component>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Tools {
    List(Vec<Tool>),
    Object {
        components: Option<Vec<Tool>>,
        services: Option<Vec<Tool>>,
    },
}

#[derive(Deserialize)]
struct Tool {
    name: Option<String>,
    version: Option<String>,
}

#[derive(Deserialize)]
struct Component {
    #[serde(rename = "type")]
    kind: Option<String>,
    name: String,
    version: Option<String>,
    purl: Option<String>,
    #[serde(rename = "bom-ref")]
    bom_ref: Option<String>,
    licenses: Option<Vec<LicenseChoice>>,
    properties: Option<Vec<Property>>,
    components: Option<Vec<Component>>,
}

#[derive(Deserialize)]
struct LicenseChoice {
    license: Option<License>,
    expression: Option<String>,
}

#[derive(Deserialize)]
struct License {
    id: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
struct Property {
    name: Option<String>,
    value: Option<String>,
}

#[derive(Deserialize)]
struct Vulnerability {
    id: String,
    ratings: Option<Vec<Rating>>,
    affects: Option<Vec<Affect>>,
    analysis: Option<Analysis>,
    references: Option<Vec<Reference>>,
}

#[derive(Deserialize)]
struct Rating {
    severity: Option<String>,
}

#[derive(Deserialize)]
struct Affect {
    #[serde(rename = "ref")]
    reference: String,
    versions: Option<Vec<AffectedVersion>>,
}

#[derive(Deserialize)]
struct AffectedVersion {
    version: Option<String>,
    status: Option<String>,
}

#[derive(Deserialize)]
struct Analysis {
    state: Option<String>,
}

#[derive(Deserialize)]
struct Reference {
    id: Option<String>,
}

// ---------------------------------------------------------------------------
// Conversion
// ---------------------------------------------------------------------------

const OPERATING_SYSTEM: &str = "operating-system";

fn convert(bom: Bom, display: &str, sink: &mut dyn RecordSink) -> Result<DocMeta, IngestError> {
    let (timestamp, tools, root) = match bom.metadata {
        Some(m) => (m.timestamp, m.tools, m.component),
        None => (None, None, None),
    };
    let subject = root
        .as_ref()
        .filter(|c| !c.name.trim().is_empty())
        .map(|c| join_name_version(&c.name, c.version.as_deref()))
        .unwrap_or_else(|| display.to_string());
    let components = flatten(bom.components.unwrap_or_default());
    let by_ref = emit_components(root, components, &subject, display, sink)?;
    for (vi, v) in bom
        .vulnerabilities
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        emit_findings(v, vi, &by_ref, display, sink)?;
    }

    let (tool_name, tool_version) = match first_tool(tools) {
        Some(t) => (tool_text(t.name), tool_text(t.version)),
        None => (None, None),
    };
    let schema_version = non_empty(bom.spec_version);
    let warnings = schema_warnings(
        "CycloneDX spec",
        schema_version.as_deref(),
        NEWEST_TESTED_MAJOR,
        NEWEST_TESTED_SPEC,
    );
    Ok(DocMeta {
        tool_name,
        tool_version,
        schema_version,
        generated_at: non_empty(timestamp),
        subject: Some(subject),
        warnings,
    })
}

/// The component tree in pre-order, each with its JSON path.
fn flatten(components: Vec<Component>) -> Vec<(String, Component)> {
    let mut flat: Vec<(String, Component)> = Vec::new();
    let mut stack: Vec<(String, Component)> = components
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
    flat
}

/// Sends a package record per component (operating systems aside) and
/// indexes every component with a `bom-ref`, the root one included, for
/// the vulnerabilities to refer to.
fn emit_components(
    root: Option<Component>,
    flat: Vec<(String, Component)>,
    subject: &str,
    display: &str,
    sink: &mut dyn RecordSink,
) -> Result<HashMap<String, Pkg>, IngestError> {
    let mut by_ref: HashMap<String, Pkg> = HashMap::new();
    if let Some(root) = root.filter(|r| !r.name.trim().is_empty()) {
        let r = root.bom_ref.clone();
        let pkg = component_pkg(root, subject);
        if let Some(r) = r {
            by_ref.insert(r, pkg);
        }
    }
    for (path, c) in flat {
        if c.name.trim().is_empty() {
            return Err(empty_field(display, format!("{path}.name"), "name"));
        }
        let is_os = c.kind.as_deref() == Some(OPERATING_SYSTEM);
        let bom_ref = non_empty(c.bom_ref.clone());
        let pkg = component_pkg(c, subject);
        if !is_os {
            emit(sink, pkg.package_record())?;
        }
        if let Some(r) = bom_ref {
            by_ref.insert(r, pkg);
        }
    }
    Ok(by_ref)
}

/// Sends one finding per component that vulnerability `v` (the `vi`th)
/// affects.
fn emit_findings(
    v: Vulnerability,
    vi: usize,
    by_ref: &HashMap<String, Pkg>,
    display: &str,
    sink: &mut dyn RecordSink,
) -> Result<(), IngestError> {
    if v.id.trim().is_empty() {
        return Err(empty_field(
            display,
            format!("vulnerabilities[{vi}].id"),
            "id",
        ));
    }
    let severity = worst_severity(&v.ratings.unwrap_or_default(), sink);
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
            .ok_or_else(|| {
                invalid(
                    display,
                    format!("vulnerabilities[{vi}].affects[{ai}].ref"),
                    format!("no component has bom-ref `{reference}`"),
                )
            })?;
        let finding = Finding {
            aliases: aliases.clone(),
            fixed_version: unaffected_version(affect.versions.unwrap_or_default()),
            id: v.id.clone(),
            severity,
            status: status.clone(),
        };
        emit(sink, pkg.finding_record(finding))?;
    }
    Ok(())
}

/// The worst known severity of the ratings (reporting an unknown word).
fn worst_severity(ratings: &[Rating], sink: &mut dyn RecordSink) -> Severity {
    if let Some(raw) = ratings
        .iter()
        .filter_map(|r| r.severity.as_deref())
        .find(|r| !Severity::is_known(r))
    {
        sink.unknown_severity(raw);
    }
    ratings
        .iter()
        .map(|r| Severity::normalize(r.severity.as_deref().unwrap_or("")))
        .filter(|s| *s != Severity::Unknown)
        .min()
        .unwrap_or(Severity::Unknown)
}

/// The fixed version: an `affects[].versions[]` entry marked `unaffected`.
fn unaffected_version(versions: Vec<AffectedVersion>) -> Option<String> {
    versions.into_iter().find_map(|av| {
        (av.status.as_deref() == Some("unaffected"))
            .then_some(av.version)
            .flatten()
            .filter(|s| !s.is_empty())
    })
}

/// The tool named first: in the 1.4 list, or the 1.5+ object's components,
/// then services.
fn first_tool(tools: Option<Tools>) -> Option<Tool> {
    tools.and_then(|t| match t {
        Tools::List(list) => list.into_iter().next(),
        Tools::Object {
            components,
            services,
        } => components
            .unwrap_or_default()
            .into_iter()
            .chain(services.unwrap_or_default())
            .next(),
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

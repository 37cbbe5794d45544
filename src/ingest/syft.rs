//! Syft's own JSON format (`syft -o json`), schemas 1.x to 16.x.
//!
//! Every element of `artifacts` becomes one package record:
//! name, version, ecosystem = the artifact `type` (apk, deb, java-archive,
//! go-module…), purl, licenses (strings up to schema 7, objects
//! `{value, spdxExpression, …}` from 8 on: the SPDX expression when non-empty,
//! else the value) and locations (`locations[].path`). Syft reports no
//! vulnerabilities.
//!
//! The subject is the scanned source: `source.name` (schema 13+; joined with
//! `source.version` as `name:version`, or `name@digest` when the version is a
//! digest), else `source.target` (a string for directory scans; for images
//! its `userInput`, `imageID` or `manifestDigest`), else the file name.
//!
//! # Streaming
//!
//! Feeds can hold millions of artifacts, so the document is never loaded:
//! the [two-pass reading](super::read::two_pass) walks the top-level object
//! and decodes one artifact at a time. Syft writes `source`/`descriptor`/`schema` after
//! `artifacts`, so the first pass reads the metadata (skipping `artifacts`
//! without decoding it, and validating every other member) and a second pass
//! streams the artifacts with the subject known; when `source` comes first,
//! the artifacts are streamed in the first pass and there is no second one.

use super::pkg::{
    emit, join_name_version, non_empty, schema_warnings, tool_text, Pkg, UNKNOWN_ECOSYSTEM,
};
use super::read::errors::empty_field;
use super::read::open::Feed;
use super::read::two_pass::{self, Document, Member, Place};
use super::{DocMeta, IngestError, RecordSink};
use crate::domain::record::NormalizedRecord;
use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use std::fmt;

/// Newest syft-json schema major version tested.
pub const NEWEST_TESTED_SCHEMA: u64 = 16;

/// Parses a syft-json file, streaming its artifacts to `sink`.
pub(crate) fn parse(feed: Feed, sink: &mut dyn RecordSink) -> Result<DocMeta, IngestError> {
    let expected = "a syft-json document (a JSON object)";
    let meta: Meta = two_pass::read(feed, expected, sink)?;
    let schema_version = meta.schema.and_then(|s| non_empty(s.version));
    let warnings = schema_warnings(
        "syft-json schema",
        schema_version.as_deref(),
        NEWEST_TESTED_SCHEMA,
        &format!("{NEWEST_TESTED_SCHEMA}.x"),
    );
    let (tool_name, tool_version) = match meta.descriptor {
        Some(d) => (tool_text(d.name), tool_text(d.version)),
        None => (None, None),
    };
    Ok(DocMeta {
        tool_name: tool_name.or_else(|| Some("syft".to_string())),
        tool_version,
        schema_version,
        generated_at: None,
        subject: Some(subject_of(meta.source.as_ref(), feed.display)),
        warnings,
    })
}

impl Document for Meta {
    const RECORDS: &'static str = "artifacts";
    const SUBJECT: &'static str = "source";
    const NOT_AN_ARRAY: &'static str = "expected an array of artifacts";
    const NULL_IS_EMPTY: bool = true;
    type Element = Artifact;

    fn member(&mut self, key: &str) -> Option<&mut dyn Member> {
        match key {
            "schema" => Some(&mut self.schema),
            "descriptor" => Some(&mut self.descriptor),
            "source" => Some(&mut self.source),
            _ => None,
        }
    }

    fn subject(&self, display: &str) -> String {
        subject_of(self.source.as_ref(), display)
    }

    fn convert(a: Artifact, at: Place, sink: &mut dyn RecordSink) -> Result<(), IngestError> {
        emit(sink, convert(a, at)?)
    }
}

// ---------------------------------------------------------------------------
// Document model (only the fields snapgov uses)
// ---------------------------------------------------------------------------

/// The members read besides `artifacts`.
#[derive(Default)]
struct Meta {
    schema: Option<Schema>,
    descriptor: Option<Descriptor>,
    source: Option<Source>,
}

#[derive(Deserialize)]
struct Schema {
    version: Option<String>,
}

#[derive(Deserialize)]
struct Descriptor {
    name: Option<String>,
    version: Option<String>,
}

#[derive(Deserialize, Default)]
struct Source {
    name: Option<String>,
    version: Option<String>,
    target: Option<Target>,
    metadata: Option<Target>,
}

/// `source.target` (≤ 8.x) or `source.metadata` (13+): a plain string
/// (directory scans) or an object describing the image.
enum Target {
    Text(String),
    Image(ImageTarget),
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ImageTarget {
    user_input: Option<String>,
    #[serde(rename = "imageID")]
    image_id: Option<String>,
    manifest_digest: Option<String>,
    path: Option<String>,
}

impl<'de> Deserialize<'de> for Target {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Target;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or an object")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Target, E> {
                Ok(Target::Text(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Target, A::Error> {
                ImageTarget::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(Target::Image)
            }
        }
        d.deserialize_any(V)
    }
}

impl Target {
    fn describe(&self) -> Option<String> {
        match self {
            Target::Text(s) => non_empty(Some(s.clone())),
            Target::Image(i) => non_empty(i.user_input.clone())
                .or_else(|| non_empty(i.image_id.clone()))
                .or_else(|| non_empty(i.manifest_digest.clone()))
                .or_else(|| non_empty(i.path.clone())),
        }
    }
}

fn subject_of(source: Option<&Source>, display: &str) -> String {
    let Some(feed) = source else {
        return display.to_string();
    };
    if let Some(name) = non_empty(feed.name.clone()) {
        return join_name_version(&name, feed.version.as_deref());
    }
    feed.target
        .as_ref()
        .and_then(Target::describe)
        .or_else(|| feed.metadata.as_ref().and_then(Target::describe))
        .unwrap_or_else(|| display.to_string())
}

#[derive(Deserialize)]
struct Artifact {
    name: String,
    version: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    purl: Option<String>,
    licenses: Option<Vec<License>>,
    locations: Option<Vec<Location>>,
}

/// A license: a plain string (≤ schema 7) or `{value, spdxExpression, …}`.
struct License(Option<String>);

impl<'de> Deserialize<'de> for License {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = License;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a license string or object")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<License, E> {
                Ok(License(Some(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<License, E> {
                Ok(License(Some(v)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<License, E> {
                Ok(License(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<License, A::Error> {
                let mut value = None;
                let mut spdx = None;
                while let Some(key) = map.next_key::<LicenseKey>()? {
                    match key {
                        LicenseKey::Value => value = map.next_value::<Option<String>>()?,
                        LicenseKey::Spdx => spdx = map.next_value::<Option<String>>()?,
                        LicenseKey::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(License(non_empty(spdx).or(value)))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
#[serde(field_identifier)]
enum LicenseKey {
    #[serde(rename = "value")]
    Value,
    #[serde(rename = "spdxExpression")]
    Spdx,
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct Location {
    path: Option<String>,
}

fn convert(a: Artifact, at: Place) -> Result<NormalizedRecord, IngestError> {
    if a.name.trim().is_empty() {
        return Err(empty_field(at.display, format!("{}.name", at.path), "name"));
    }
    let pkg = Pkg {
        subject: at.subject.to_string(),
        ecosystem: non_empty(a.kind).unwrap_or_else(|| UNKNOWN_ECOSYSTEM.to_string()),
        name: a.name,
        version: a.version.unwrap_or_default(),
        purl: non_empty(a.purl),
        arch: None,
        licenses: a
            .licenses
            .unwrap_or_default()
            .into_iter()
            .filter_map(|l| l.0)
            .collect(),
        locations: a
            .locations
            .unwrap_or_default()
            .into_iter()
            .filter_map(|l| non_empty(l.path))
            .collect(),
    };
    Ok(pkg.into_package_record())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::test_support::{self, feed, temp_file};
    use crate::ingest::Limits;

    fn parse_str(json: &str) -> (Result<DocMeta, IngestError>, Vec<NormalizedRecord>) {
        test_support::parse_str(parse, json)
    }

    #[test]
    fn source_first_streams_in_one_pass_and_licenses_fold() {
        let (meta, recs) = parse_str(
            r#"{"source":{"type":"directory","target":"/src"},
                "artifacts":[{"name":"a","version":"1","type":"npm","purl":"",
                  "licenses":[{"value":"MIT License","spdxExpression":"MIT"},{"value":"X","spdxExpression":""},"BSD"],
                  "locations":[{"path":"/p"},{"path":"/p"}]}],
                "schema":{"version":"16.0.1"}}"#,
        );
        let meta = meta.unwrap();
        assert_eq!(meta.subject.as_deref(), Some("/src"));
        assert!(meta.warnings.is_empty());
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0].package_id, "npm/a@1");
        assert_eq!(recs[0].licenses, ["BSD", "MIT", "X"]);
        assert_eq!(recs[0].locations, ["/p"]);
        assert_eq!(recs[0].subject, "/src");
    }

    #[test]
    fn errors_carry_paths() {
        let (res, _) = parse_str(r#"{"artifacts":[{"name":"a"},{"version":"1"}]}"#);
        match res.unwrap_err() {
            IngestError::Invalid { path, message, .. } => {
                assert_eq!(path, "artifacts[1]");
                assert!(
                    message.starts_with("missing required field `name`"),
                    "{message}"
                );
            }
            e => panic!("{e:?}"),
        }
        let (res, _) = parse_str(r#"{"artifacts":[{"name":5}]}"#);
        match res.unwrap_err() {
            IngestError::Invalid { path, message, .. } => {
                assert_eq!(path, "artifacts[0].name");
                assert!(message.contains("expected a string"), "{message}");
            }
            e => panic!("{e:?}"),
        }
        let (res, _) = parse_str(r#"[1,2]"#);
        assert!(
            matches!(res.unwrap_err(), IngestError::Invalid { path, .. } if path == "(top level)")
        );
        let (res, _) = parse_str(r#"{"artifacts":[{"name":""}]}"#);
        assert!(
            matches!(res.unwrap_err(), IngestError::Invalid { path, .. } if path == "artifacts[0].name")
        );
    }

    #[test]
    fn sink_errors_stop_the_parse() {
        let f = temp_file(br#"{"artifacts":[{"name":"a"},{"name":"b"}],"source":{"target":"x"}}"#);
        let mut n = 0;
        let mut sink = |_r: NormalizedRecord| {
            n += 1;
            Err(IngestError::Sink("disk full".into()))
        };
        let err = parse(feed(&f, &Limits::default()), &mut sink).unwrap_err();
        assert!(matches!(err, IngestError::Sink(m) if m.to_string() == "disk full"));
        assert_eq!(n, 1);
    }

    #[test]
    fn elements_across_read_buffer_boundaries() {
        // Both layouts: streamed in the first pass (lexed) and in the second
        // (decoded straight from the read buffer), with one element larger
        // than the 1 MiB read buffer.
        for source_first in [false, true] {
            let mut doc = String::from("{\n");
            if source_first {
                doc.push_str(r#""source": {"target": "/s"},"#);
            }
            doc.push_str("\"artifacts\": [\n");
            for i in 0..20_000 {
                if i > 0 {
                    doc.push_str(",\n");
                }
                doc.push_str(&format!(
                    r#"{{"name":"p{i}","version":"1","type":"npm","metadata":{{"pad":"{}"}}}}"#,
                    "x".repeat(i % 300)
                ));
            }
            doc.push_str(&format!(
                r#",{{"name":"big","type":"npm","metadata":{{"pad":"{}"}},"version":"2"}}"#,
                "y\\\"".repeat(500_000)
            ));
            doc.push_str("\n]");
            if !source_first {
                doc.push_str(r#","source": {"target": "/s"}"#);
            }
            doc.push('}');
            let (meta, recs) = parse_str(&doc);
            assert_eq!(meta.unwrap().subject.as_deref(), Some("/s"));
            assert_eq!(recs.len(), 20_001);
            assert!(recs
                .iter()
                .take(20_000)
                .enumerate()
                .all(|(i, r)| r.name == format!("p{i}")));
            assert_eq!(
                (recs[20_000].name.as_str(), recs[20_000].version.as_str()),
                ("big", "2")
            );
            assert!(recs.iter().all(|r| r.subject == "/s"));
        }
    }

    #[test]
    fn error_positions_are_file_positions() {
        // Second pass (source last): decoded from the read buffer.
        let (res, _) = parse_str("{\"artifacts\": [\n  {\"name\": \"a\"},\n  {\"name\": \"b\", \"version\": 5}\n], \"source\": {}}");
        let err = res.unwrap_err().to_string();
        assert!(err.ends_with("at artifacts[1].version: invalid type: integer `5`, expected a string (line 3, column 28)"), "{err}");
        // First pass (source first): lexed, then decoded.
        let (res, _) = parse_str("{\"source\": {}, \"artifacts\": [\n  {\"name\": \"a\"},\n  {\"name\": \"b\", \"version\": 5}\n]}");
        let err = res.unwrap_err().to_string();
        assert!(err.ends_with("at artifacts[1].version: invalid type: integer `5`, expected a string (line 3, column 28)"), "{err}");
        // Syntax errors, in a skipped member and at the end.
        let (res, _) = parse_str("{\"files\": [1, 2,, 3], \"artifacts\": []}");
        assert!(matches!(
            res.unwrap_err(),
            IngestError::Syntax {
                line: 1,
                column: 17,
                ..
            }
        ));
        let (res, _) = parse_str("{\"artifacts\": []}\n x");
        assert!(matches!(
            res.unwrap_err(),
            IngestError::Syntax {
                line: 2,
                column: 2,
                ..
            }
        ));
        let (res, _) = parse_str("{\"artifacts\": [{\"name\": \"a\"} {\"name\": \"b\"}]}");
        assert!(matches!(
            res.unwrap_err(),
            IngestError::Syntax { line: 1, .. }
        ));
    }

    #[test]
    fn depth_limit() {
        let deep = format!(
            r#"{{"artifacts":[{{"name":"a","metadata":{}1{}}}]}}"#,
            "[".repeat(40),
            "]".repeat(40)
        );
        let f = temp_file(deep.as_bytes());
        let mut sink = |_r: NormalizedRecord| Ok(());
        let limits = Limits {
            max_depth: 16,
            ..Limits::default()
        };
        let err = parse(feed(&f, &limits), &mut sink).unwrap_err();
        assert!(
            matches!(err, IngestError::TooDeep { limit: 16, .. }),
            "{err:?}"
        );
        // Within the limit it parses.
        let limits = Limits {
            max_depth: 64,
            ..Limits::default()
        };
        parse(feed(&f, &limits), &mut sink).unwrap();
    }
}

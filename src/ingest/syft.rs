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
//! the [splitter](super::split) walks the top-level object and decodes one
//! artifact at a time. Syft writes `source`/`descriptor`/`schema` after
//! `artifacts`, so the first pass reads the metadata (skipping `artifacts`
//! without decoding it, and validating every other member) and a second pass
//! streams the artifacts with the subject known; when `source` comes first,
//! the artifacts are streamed in the first pass and there is no second one.

use super::common::{
    emit, empty_field, join_name_version, non_empty, schema_warning, tool_text, Pkg,
    UNKNOWN_ECOSYSTEM,
};
use super::split::{Splitter, Start};
use super::{DocMeta, IngestError, Limits, RecordSink};
use crate::domain::record::NormalizedRecord;
use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use std::fmt;
use std::path::Path;

/// Newest syft-json schema major version tested.
pub const NEWEST_TESTED_SCHEMA: u64 = 16;

/// Parses a syft-json file, streaming its artifacts to `sink`.
pub fn parse(
    path: &Path,
    display: &str,
    limits: &Limits,
    sink: &mut dyn RecordSink,
) -> Result<DocMeta, IngestError> {
    let mut meta = Meta::default();
    let mut subject: Option<String> = None;
    let mut streamed = false;

    // Pass 1: metadata; artifacts too when `source` came first.
    let mut sp = Splitter::open(path, display, limits)?;
    if !sp.begin_object()? {
        return Err(sp.wrong_top_level("a syft-json document (a JSON object)"));
    }
    let mut first = true;
    while let Some(key) = sp.next_key(&mut first)? {
        match key.as_str() {
            "schema" => meta.schema = sp.decode("schema", 1)?,
            "descriptor" => meta.descriptor = sp.decode("descriptor", 1)?,
            "source" => {
                meta.source = sp.decode("source", 1)?;
                if !meta.saw_artifacts {
                    subject = Some(subject_of(&meta, display));
                }
            }
            "artifacts" => {
                meta.saw_artifacts = true;
                match &subject {
                    Some(s) => {
                        streamed = true;
                        stream_artifacts(&mut sp, s, sink, Lexed::No)?;
                    }
                    None => sp.skip(1)?,
                }
            }
            other => sp.validate(other, 1)?,
        }
    }
    sp.end()?;

    // Pass 2: the artifacts, now that the subject is known.
    if meta.saw_artifacts && !streamed {
        let subject = subject_of(&meta, display);
        let mut sp = Splitter::open(path, display, limits)?;
        sp.begin_object()?;
        let mut first = true;
        while let Some(key) = sp.next_key(&mut first)? {
            if key == "artifacts" {
                stream_artifacts(&mut sp, &subject, sink, Lexed::Yes)?;
            } else {
                sp.skip(1)?;
            }
        }
    }

    let subject = subject_of(&meta, display);
    let schema_version = meta.schema.and_then(|s| non_empty(s.version));
    let mut warnings = Vec::new();
    if let Some(w) = schema_version.as_deref().and_then(|v| {
        schema_warning(
            "syft-json schema",
            v,
            NEWEST_TESTED_SCHEMA,
            &format!("{NEWEST_TESTED_SCHEMA}.x"),
        )
    }) {
        warnings.push(w);
    }
    let (tool_name, tool_version) = match meta.descriptor {
        Some(d) => (tool_text(d.name), tool_text(d.version)),
        None => (None, None),
    };
    Ok(DocMeta {
        tool_name: tool_name.or_else(|| Some("syft".to_string())),
        tool_version,
        schema_version,
        generated_at: None,
        subject: Some(subject),
        warnings,
    })
}

/// Whether a pass already lexed a value (checking its nesting depth).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lexed {
    Yes,
    No,
}

/// Decodes the `artifacts` array one element at a time.
fn stream_artifacts(
    sp: &mut Splitter,
    subject: &str,
    sink: &mut dyn RecordSink,
    lexed: Lexed,
) -> Result<(), IngestError> {
    match sp.begin_array()? {
        Start::Array => {}
        Start::Null => return Ok(()),
        Start::Other(_) => {
            return Err(IngestError::Invalid {
                file: sp.display.to_string(),
                path: "artifacts".to_string(),
                message: "expected an array of artifacts".to_string(),
            })
        }
    }
    let mut first = true;
    let mut index = 0usize;
    let mut path = String::new();
    while sp.next_element(&mut first)? {
        path.clear();
        path.push_str("artifacts[");
        path.push_str(itoa(index, &mut [0u8; 20]));
        path.push(']');
        let artifact: Artifact = match lexed {
            Lexed::Yes => sp.decode_direct(&path)?,
            Lexed::No => sp.decode(&path, 2)?,
        };
        emit(sink, convert(artifact, index, subject, sp.display)?)?;
        index += 1;
    }
    Ok(())
}

/// Formats `n` in decimal into `buf`.
fn itoa(mut n: usize, buf: &mut [u8; 20]) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[i..]).unwrap_or("0")
}

// ---------------------------------------------------------------------------
// Document model (only the fields snapgov uses)
// ---------------------------------------------------------------------------

#[derive(Default)]
struct Meta {
    schema: Option<Schema>,
    descriptor: Option<Descriptor>,
    source: Option<Source>,
    saw_artifacts: bool,
}

#[derive(Deserialize)]
struct Schema {
    #[serde(default)]
    version: Option<String>,
}

#[derive(Deserialize)]
struct Descriptor {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    version: Option<String>,
}

#[derive(Deserialize, Default)]
struct Source {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    target: Option<Target>,
    #[serde(default)]
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
    #[serde(default)]
    user_input: Option<String>,
    #[serde(default, rename = "imageID")]
    image_id: Option<String>,
    #[serde(default)]
    manifest_digest: Option<String>,
    #[serde(default)]
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

fn subject_of(meta: &Meta, display: &str) -> String {
    let Some(src) = &meta.source else {
        return display.to_string();
    };
    if let Some(name) = non_empty(src.name.clone()) {
        return join_name_version(&name, src.version.as_deref());
    }
    src.target
        .as_ref()
        .and_then(Target::describe)
        .or_else(|| src.metadata.as_ref().and_then(Target::describe))
        .unwrap_or_else(|| display.to_string())
}

#[derive(Deserialize)]
struct Artifact {
    name: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    purl: Option<String>,
    #[serde(default)]
    licenses: Option<Vec<License>>,
    #[serde(default)]
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
    #[serde(default)]
    path: Option<String>,
}

fn convert(
    a: Artifact,
    index: usize,
    subject: &str,
    display: &str,
) -> Result<NormalizedRecord, IngestError> {
    if a.name.trim().is_empty() {
        return Err(empty_field(
            display,
            format!("artifacts[{index}].name"),
            "name",
        ));
    }
    let pkg = Pkg {
        subject: subject.to_string(),
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
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(br#"{"artifacts":[{"name":"a"},{"name":"b"}],"source":{"target":"x"}}"#)
            .unwrap();
        let mut n = 0;
        let mut sink = |_r: NormalizedRecord| {
            n += 1;
            Err(IngestError::Sink("disk full".into()))
        };
        let err = parse(f.path(), "t.json", &Limits::default(), &mut sink).unwrap_err();
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
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(deep.as_bytes()).unwrap();
        let mut sink = |_r: NormalizedRecord| Ok(());
        let limits = Limits {
            max_depth: 16,
            ..Limits::default()
        };
        let err = parse(f.path(), "t.json", &limits, &mut sink).unwrap_err();
        assert!(
            matches!(err, IngestError::TooDeep { limit: 16, .. }),
            "{err:?}"
        );
        // Within the limit it parses.
        let limits = Limits {
            max_depth: 64,
            ..Limits::default()
        };
        parse(f.path(), "t.json", &limits, &mut sink).unwrap();
    }
}

//! snapgov's own input format, for custom tools and scripts.
//!
//! A feed is either **JSON Lines** or **one JSON document**; both carry the
//! same record objects. `assets/example-feed.jsonl` is a complete example.
//!
//! # JSON Lines
//!
//! Each non-empty line is one JSON object. The first line may be a header
//! (recognized by its `format` member); every other line is a record:
//!
//! ```text
//! {"format":"snapgov","version":1,"tool":{"name":"my-scanner","version":"2.1"},"subject":"registry.example/app:1.4","generatedAt":"2024-05-01T12:00:00Z"}
//! {"kind":"package","ecosystem":"npm","name":"left-pad","version":"1.3.0","purl":"pkg:npm/left-pad@1.3.0","licenses":["MIT"]}
//! {"ecosystem":"npm","name":"left-pad","version":"1.3.0","vulnerability":{"id":"CVE-2099-0001","severity":"high","fixedVersion":"1.3.1"}}
//! ```
//!
//! Errors name the line: `line 7`, `line 7.name`.
//!
//! # One document
//!
//! ```text
//! {"format": "snapgov", "version": 1, "tool": {"name": "…", "version": "…"},
//!  "subject": "…", "generatedAt": "RFC 3339 time", "records": [ …record objects… ]}
//! ```
//!
//! Only `format` (which must be `"snapgov"`) and `records` are required.
//! Errors name the JSON path: `records[3].name`.
//!
//! # Header / document members
//!
//! | member        | type                            | meaning                                    |
//! |---------------|---------------------------------|--------------------------------------------|
//! | `format`      | `"snapgov"`                     | required; marks the header                 |
//! | `version`     | integer                         | format version, 1; a newer one warns       |
//! | `tool`        | `{"name": str, "version": str}` | the producing tool                         |
//! | `subject`     | string                          | what was scanned; default for every record |
//! | `generatedAt` | RFC 3339 string                 | when the feed was produced                 |
//!
//! # Record objects
//!
//! | member          | type                 | meaning                                                         |
//! |-----------------|----------------------|-----------------------------------------------------------------|
//! | `kind`          | `"package"` / `"vulnerability"` | default: `vulnerability` if a `vulnerability` object is present, else `package` |
//! | `subject`       | string               | default: the header's subject, else the file name               |
//! | `ecosystem`     | string               | required unless `purl` is given (then its type is used)         |
//! | `name`          | string               | required, non-empty                                             |
//! | `version`       | string               | default `""`                                                    |
//! | `purl`          | string               | the package identity when given                                 |
//! | `licenses`      | array of strings     |                                                                 |
//! | `locations`     | array of strings     |                                                                 |
//! | `vulnerability` | object               | required for kind `vulnerability`, refused for kind `package`   |
//!
//! The `vulnerability` object: `id` (string, required), `severity`
//! (critical, high, medium, low, negligible, unknown; other words are folded
//! as for every scanner), `fixedVersion`, `status`, `aliases` (array of
//! strings).
//!
//! The package identity is the purl when given, otherwise
//! `{ecosystem}/{name}@{version}`; a finding's identity is its
//! vulnerability id plus the package identity. Unknown members are ignored.
//!
//! A file whose first non-empty line is a complete JSON object without
//! `records` is read as JSON Lines; anything else as one document. Records
//! of a document are streamed, so a document may be large (when `subject`
//! comes after `records`, the file is read twice).

use super::pkg::{emit, non_empty, purl_type, schema_warnings, tool_text, Pkg, Scalar};
use super::read::errors::{decode_slice, empty_field, invalid, Pos, TOP_LEVEL};
use super::read::open::{self, io_or_depth, open_checked, DepthMode, Feed, BOM};
use super::read::two_pass::{self, Document, Member, Place};
use super::{DocMeta, IngestError, Limits, RecordSink};
use crate::domain::record::{Finding, NormalizedRecord, Severity};
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::Deserialize;
use std::io::{BufRead, BufReader, Read};

/// The newest native format version.
pub const FORMAT_VERSION: u64 = 1;

/// The first line is probed as JSON Lines only up to this length.
const PROBE_LIMIT: u64 = 1 << 20;

/// Parses a snapgov feed (JSON Lines or one document).
pub(crate) fn parse(feed: Feed, sink: &mut dyn RecordSink) -> Result<DocMeta, IngestError> {
    if is_json_lines(feed)? {
        parse_lines(feed, sink)
    } else {
        let expected = "a snapgov document (a JSON object)";
        let header: Header = two_pass::read(feed, expected, sink)?;
        Ok(doc_meta(header, feed.display))
    }
}

/// Whether the first non-empty line is a complete JSON object without
/// `records`.
fn is_json_lines(feed: Feed) -> Result<bool, IngestError> {
    #[derive(Deserialize)]
    struct Probe {
        records: Option<IgnoredAny>,
    }
    let file = open_checked(feed)?;
    let mut r = BufReader::new(file).take(PROBE_LIMIT);
    let mut line = Vec::new();
    let mut first = true;
    loop {
        line.clear();
        let n = r
            .read_until(b'\n', &mut line)
            .map_err(|e| IngestError::Io {
                file: feed.display.into(),
                source: e,
            })?;
        if n == 0 {
            return Ok(false);
        }
        let mut text = line.as_slice();
        if first {
            text = text.strip_prefix(BOM).unwrap_or(text);
            first = false;
        }
        let text = text.trim_ascii();
        if text.is_empty() {
            continue;
        }
        if !text.starts_with(b"{") {
            return Ok(false);
        }
        return Ok(match serde_json::from_slice::<Probe>(text) {
            Ok(p) => p.records.is_none(),
            Err(_) => false,
        });
    }
}

// ---------------------------------------------------------------------------
// Model
// ---------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Header {
    format: Option<String>,
    version: Option<Scalar>,
    tool: Option<ToolInfo>,
    subject: Option<String>,
    generated_at: Option<String>,
}

#[derive(Deserialize)]
struct ToolInfo {
    name: Option<String>,
    version: Option<String>,
}

#[derive(Deserialize)]
struct RecordObj {
    kind: Option<String>,
    subject: Option<String>,
    ecosystem: Option<String>,
    name: String,
    version: Option<String>,
    purl: Option<String>,
    licenses: Option<Vec<String>>,
    locations: Option<Vec<String>>,
    vulnerability: Option<VulnObj>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VulnObj {
    id: String,
    severity: Option<String>,
    fixed_version: Option<String>,
    status: Option<String>,
    aliases: Option<Vec<String>>,
}

/// Joins a base path and a member: `line 7` + `name` → `line 7.name`.
fn sub(base: &str, member: &str) -> String {
    format!("{base}.{member}")
}

fn convert(
    r: RecordObj,
    default_subject: &str,
    base: &str,
    display: &str,
    sink: &mut dyn RecordSink,
) -> Result<NormalizedRecord, IngestError> {
    if r.name.trim().is_empty() {
        return Err(empty_field(display, sub(base, "name"), "name"));
    }
    let is_finding = match r.kind.as_deref() {
        None => r.vulnerability.is_some(),
        Some("package") => false,
        Some("vulnerability") => true,
        Some(other) => {
            return Err(invalid(
                display,
                sub(base, "kind"),
                format!("unknown kind `{other}`; expected `package` or `vulnerability`"),
            ))
        }
    };
    let purl = non_empty(r.purl);
    let ecosystem = match non_empty(r.ecosystem).or_else(|| purl.as_deref().and_then(purl_type)) {
        Some(e) => e,
        None => {
            return Err(invalid(
                display,
                base.to_string(),
                "missing required field `ecosystem` (needed when there is no `purl`)",
            ))
        }
    };
    let pkg = Pkg {
        subject: non_empty(r.subject).unwrap_or_else(|| default_subject.to_string()),
        ecosystem,
        name: r.name,
        version: r.version.unwrap_or_default(),
        purl,
        arch: None,
        licenses: r.licenses.unwrap_or_default(),
        locations: r.locations.unwrap_or_default(),
    };
    match (is_finding, r.vulnerability) {
        (false, None) => Ok(pkg.into_package_record()),
        (false, Some(_)) => Err(invalid(
            display,
            sub(base, "vulnerability"),
            "a record of kind `package` cannot have a `vulnerability` object",
        )),
        (true, None) => Err(invalid(
            display,
            base.to_string(),
            "missing required field `vulnerability` (the record's kind is `vulnerability`)",
        )),
        (true, Some(v)) => {
            if v.id.trim().is_empty() {
                return Err(empty_field(display, sub(base, "vulnerability.id"), "id"));
            }
            if let Some(raw) = v.severity.as_deref().filter(|r| !Severity::is_known(r)) {
                sink.unknown_severity(raw);
            }
            let finding = Finding {
                aliases: v.aliases.unwrap_or_default(),
                fixed_version: non_empty(v.fixed_version),
                id: v.id,
                severity: Severity::normalize(v.severity.as_deref().unwrap_or("")),
                status: non_empty(v.status),
            };
            Ok(pkg.finding_record(finding))
        }
    }
}

fn check_format(format: Option<&str>, path: String, display: &str) -> Result<(), IngestError> {
    match format {
        Some("snapgov") => Ok(()),
        Some(other) => Err(invalid(
            display,
            path,
            format!("expected \"snapgov\", found \"{other}\""),
        )),
        None => Err(invalid(display, path, "missing required field `format`")),
    }
}

fn doc_meta(header: Header, display: &str) -> DocMeta {
    let schema_version = header.version.map(|v| v.0);
    let warnings = schema_warnings(
        "snapgov format version",
        schema_version.as_deref(),
        FORMAT_VERSION,
        &FORMAT_VERSION.to_string(),
    );
    let (tool_name, tool_version) = match header.tool {
        Some(t) => (tool_text(t.name), tool_text(t.version)),
        None => (None, None),
    };
    DocMeta {
        tool_name,
        tool_version,
        schema_version,
        generated_at: non_empty(header.generated_at),
        subject: Some(non_empty(header.subject).unwrap_or_else(|| display.to_string())),
        warnings,
    }
}

// ---------------------------------------------------------------------------
// JSON Lines
// ---------------------------------------------------------------------------

fn parse_lines(feed: Feed, sink: &mut dyn RecordSink) -> Result<DocMeta, IngestError> {
    #[derive(Deserialize)]
    struct HeaderProbe {
        format: Option<IgnoredAny>,
    }
    let Feed {
        display, limits, ..
    } = feed;
    let input = open::open(feed, DepthMode::Lines)?;
    let too_deep = input.too_deep;
    let mut reader = input.reader;
    let mut header = Header::default();
    let mut subject = display.to_string();
    let mut buf = Vec::new();
    let mut line_no = 0usize;
    let mut seen_content = false;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| io_or_depth(e, display, limits, &too_deep))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let lead = buf.iter().take_while(|b| b.is_ascii_whitespace()).count();
        let line = buf.trim_ascii();
        if line.is_empty() {
            continue;
        }
        let base = format!("line {line_no}");
        if !seen_content {
            seen_content = true;
            let probe: HeaderProbe = parse_line(line, line_no, lead, display, limits)?;
            if probe.format.is_some() {
                header = parse_line(line, line_no, lead, display, limits)?;
                check_format(header.format.as_deref(), sub(&base, "format"), display)?;
                if let Some(s) = non_empty(header.subject.clone()) {
                    subject = s;
                }
                continue;
            }
        }
        let obj: RecordObj = parse_line(line, line_no, lead, display, limits)?;
        let rec = convert(obj, &subject, &base, display, sink)?;
        emit(sink, rec)?;
    }
    Ok(doc_meta(header, display))
}

/// Decodes one line (starting `col` bytes into line `line_no`), naming
/// the line in errors.
fn parse_line<T: DeserializeOwned>(
    line: &[u8],
    line_no: usize,
    col: usize,
    display: &str,
    limits: &Limits,
) -> Result<T, IngestError> {
    let at = Pos { line: line_no, col };
    decode_slice(line, at, &format!("line {line_no}"), display, limits)
}

// ---------------------------------------------------------------------------
// One document
// ---------------------------------------------------------------------------

impl Document for Header {
    const RECORDS: &'static str = "records";
    const SUBJECT: &'static str = "subject";
    const NOT_AN_ARRAY: &'static str = "expected an array of records";
    const NULL_IS_EMPTY: bool = false;
    type Element = RecordObj;

    fn member(&mut self, key: &str) -> Option<&mut dyn Member> {
        match key {
            "format" => Some(&mut self.format),
            "version" => Some(&mut self.version),
            "tool" => Some(&mut self.tool),
            "generatedAt" => Some(&mut self.generated_at),
            "subject" => Some(&mut self.subject),
            _ => None,
        }
    }

    fn subject(&self, display: &str) -> String {
        non_empty(self.subject.clone()).unwrap_or_else(|| display.to_string())
    }

    fn check_member(&self, key: &str, display: &str) -> Result<(), IngestError> {
        match key {
            "format" => check_format(self.format.as_deref(), key.into(), display),
            _ => Ok(()),
        }
    }

    fn check_document(&self, saw_records: bool, display: &str) -> Result<(), IngestError> {
        check_format(self.format.as_deref(), TOP_LEVEL.to_string(), display)?;
        if !saw_records {
            return Err(invalid(
                display,
                TOP_LEVEL.to_string(),
                "missing required field `records`",
            ));
        }
        Ok(())
    }

    fn convert(obj: RecordObj, at: Place, sink: &mut dyn RecordSink) -> Result<(), IngestError> {
        let rec = convert(obj, at.subject, at.path, at.display, sink)?;
        emit(sink, rec)
    }
}

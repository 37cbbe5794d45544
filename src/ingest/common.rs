//! Plumbing shared by the parsers: opening a file under the [`Limits`], the
//! nesting-depth guard, the mapping of serde errors to [`IngestError`], and
//! the builders that turn a package description into normalized records.
//!
//! # Nesting depth
//!
//! Inputs that serde reads from a stream (Clair, CycloneDX, JSON Lines,
//! format detection) go through [`DepthReader`], a pass-through reader that
//! tracks JSON nesting (brackets outside strings) as the bytes go by and
//! fails once it exceeds `limits.max_depth`; the failure surfaces as
//! [`IngestError::TooDeep`]. The [splitter](super::split) used for the large
//! formats (syft, Trivy, snapgov documents) checks depth in its own lexer.
//! A top-level object is depth 1. serde_json also has a fixed recursion
//! limit (it refuses the 128th nested level of a value it decodes; values it
//! skips are not limited), and that error is mapped to `TooDeep` too, so a
//! `max_depth` above 127 is honoured only for the parts snapgov skips.

use super::{IngestError, Limits, RecordSink};
use crate::domain::record::{fallback_package_id, Finding, NormalizedRecord, RecordKind};
use serde::de::{self, DeserializeOwned, Visitor};
use serde::Deserialize;
use std::cell::Cell;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::rc::Rc;

/// Read buffer size: large buffers keep a 1 GB feed cheap to stream.
pub(crate) const BUF_CAPACITY: usize = 1 << 20;

/// Path shown for an error about the document as a whole.
pub(crate) const TOP_LEVEL: &str = "(top level)";

// ---------------------------------------------------------------------------
// Opening input
// ---------------------------------------------------------------------------

/// A file opened for parsing: buffered, depth-guarded, past any UTF-8 BOM.
pub(crate) struct Input {
    pub reader: BufReader<DepthReader<File>>,
    /// Set when the depth guard tripped (the read error it caused is then
    /// reported as [`IngestError::TooDeep`]).
    pub too_deep: Rc<Cell<bool>>,
}

/// How the depth guard reads a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DepthMode {
    /// One JSON document.
    Document,
    /// JSON Lines: every line starts again at depth 0.
    Lines,
}

/// Opens `path` for a parse: refuses files over `max_input_bytes` (checked on
/// the metadata, before reading) and files holding nothing but whitespace.
pub(crate) fn open(
    path: &Path,
    display: &str,
    limits: &Limits,
    mode: DepthMode,
) -> Result<Input, IngestError> {
    let file = open_checked(path, display, limits)?;
    let too_deep = Rc::new(Cell::new(false));
    let depth = DepthReader::new(
        file,
        limits.max_depth,
        mode == DepthMode::Lines,
        too_deep.clone(),
    );
    let mut reader = BufReader::with_capacity(BUF_CAPACITY, depth);
    let map = |e: io::Error| io_or_depth(e, display, limits, &too_deep);
    let buf = reader.fill_buf().map_err(map)?;
    let bom = buf.starts_with(BOM);
    let all_space = buf[if bom { 3 } else { 0 }..].iter().all(|b| is_space(*b));
    if all_space && !has_content(path, display)? {
        return Err(IngestError::Empty {
            file: display.to_string(),
        });
    }
    if bom {
        reader.consume(3);
    }
    Ok(Input { reader, too_deep })
}

/// Opens the file after the size check.
pub(crate) fn open_checked(
    path: &Path,
    display: &str,
    limits: &Limits,
) -> Result<File, IngestError> {
    let io_err = |source| IngestError::Io {
        file: display.to_string(),
        source,
    };
    let file = File::open(path).map_err(io_err)?;
    let meta = file.metadata().map_err(io_err)?;
    if meta.is_dir() {
        return Err(io_err(io::Error::other("is a directory, not a file")));
    }
    if meta.is_file() && meta.len() > limits.max_input_bytes {
        return Err(IngestError::TooLarge {
            file: display.to_string(),
            size: meta.len(),
            limit: limits.max_input_bytes,
        });
    }
    Ok(file)
}

/// The UTF-8 byte-order mark, skipped at the start of a file.
pub(crate) const BOM: &[u8] = b"\xEF\xBB\xBF";

/// JSON whitespace.
pub(crate) fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Whether the file holds anything but whitespace (reads until it finds out).
fn has_content(path: &Path, display: &str) -> Result<bool, IngestError> {
    let io_err = |source| IngestError::Io {
        file: display.to_string(),
        source,
    };
    let mut r = BufReader::with_capacity(64 * 1024, File::open(path).map_err(io_err)?);
    let mut first = true;
    loop {
        let buf = r.fill_buf().map_err(io_err)?;
        if buf.is_empty() {
            return Ok(false);
        }
        let body = if first {
            buf.strip_prefix(BOM).unwrap_or(buf)
        } else {
            buf
        };
        if body.iter().any(|b| !is_space(*b)) {
            return Ok(true);
        }
        first = false;
        let n = buf.len();
        r.consume(n);
    }
}

/// Maps a read error, recognizing the depth guard's.
pub(crate) fn io_or_depth(
    e: io::Error,
    display: &str,
    limits: &Limits,
    too_deep: &Cell<bool>,
) -> IngestError {
    if too_deep.get() {
        IngestError::TooDeep {
            file: display.to_string(),
            limit: limits.max_depth,
        }
    } else {
        IngestError::Io {
            file: display.to_string(),
            source: e,
        }
    }
}

// ---------------------------------------------------------------------------
// Depth guard
// ---------------------------------------------------------------------------

/// Pass-through reader that fails once JSON nesting exceeds a limit.
///
/// It runs a tiny lexer (inside/outside a string, escapes) over the bytes as
/// they are read. Raw newlines cannot occur inside a JSON string, so a
/// newline always ends the string state; in `line_mode` it also resets the
/// depth, each line being its own document.
pub(crate) struct DepthReader<R> {
    inner: R,
    limit: usize,
    depth: usize,
    in_str: bool,
    escaped: bool,
    line_mode: bool,
    tripped: Rc<Cell<bool>>,
}

impl<R> DepthReader<R> {
    pub(crate) fn new(inner: R, limit: usize, line_mode: bool, tripped: Rc<Cell<bool>>) -> Self {
        DepthReader {
            inner,
            limit,
            depth: 0,
            in_str: false,
            escaped: false,
            line_mode,
            tripped,
        }
    }

    /// Advances the lexer over `bytes`; false once the limit is exceeded.
    fn scan(&mut self, bytes: &[u8]) -> bool {
        let mut i = 0;
        let n = bytes.len();
        while i < n {
            if self.in_str {
                // Fast path: skip ordinary string bytes.
                while i < n {
                    let b = bytes[i];
                    if self.escaped {
                        self.escaped = false;
                        if b == b'\n' {
                            break;
                        }
                    } else if b == b'\\' {
                        self.escaped = true;
                    } else if b == b'"' || b == b'\n' {
                        break;
                    }
                    i += 1;
                }
                if i == n {
                    break;
                }
                // bytes[i] is a closing quote or a newline.
                self.in_str = false;
                self.escaped = false;
                if bytes[i] == b'\n' && self.line_mode {
                    self.depth = 0;
                }
                i += 1;
                continue;
            }
            match bytes[i] {
                b'"' => self.in_str = true,
                b'[' | b'{' => {
                    self.depth += 1;
                    if self.depth > self.limit {
                        return false;
                    }
                }
                b']' | b'}' => self.depth = self.depth.saturating_sub(1),
                b'\n' if self.line_mode => self.depth = 0,
                _ => {}
            }
            i += 1;
        }
        true
    }
}

impl<R: Read> Read for DepthReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.tripped.get() {
            return Err(io::Error::other("JSON nested too deep"));
        }
        let n = self.inner.read(buf)?;
        if !self.scan(&buf[..n]) {
            self.tripped.set(true);
            return Err(io::Error::other("JSON nested too deep"));
        }
        Ok(n)
    }
}

// ---------------------------------------------------------------------------
// Running a deserialization and mapping its errors
// ---------------------------------------------------------------------------

/// Deserializes one JSON document from `input`, tracking the JSON path for
/// error messages, and checks that only whitespace follows it.
pub(crate) fn run<T: DeserializeOwned>(
    input: Input,
    display: &str,
    limits: &Limits,
) -> Result<T, IngestError> {
    let Input { reader, too_deep } = input;
    let mut de = serde_json::Deserializer::from_reader(reader);
    let mut track = serde_path_to_error::Track::new();
    let result = T::deserialize(serde_path_to_error::Deserializer::new(&mut de, &mut track));
    match result {
        Ok(v) => {
            de.end()
                .map_err(|e| json_error(e, None, display, limits, too_deep.get(), START))?;
            Ok(v)
        }
        Err(e) => {
            let path = track.path().to_string();
            Err(json_error(
                e,
                Some(&path),
                display,
                limits,
                too_deep.get(),
                START,
            ))
        }
    }
}

/// Position of a byte in the file: 1-based line; `col` counts the bytes
/// before it on its line (so serde's 1-based column `c` on the first line
/// of a chunk maps to `col + c`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pos {
    pub line: usize,
    pub col: usize,
}

/// The start of a file, for [`json_error`] on a whole document.
pub(crate) const START: Pos = Pos { line: 1, col: 0 };

/// Maps a serde_json error to an [`IngestError`]. `path` is the JSON path
/// of the value being decoded (as `serde_path_to_error` prints it).
pub(crate) fn json_error(
    err: serde_json::Error,
    path: Option<&str>,
    display: &str,
    limits: &Limits,
    too_deep: bool,
    at: Pos,
) -> IngestError {
    let file = display.to_string();
    let text = strip_position(&err);
    if too_deep || text.starts_with("recursion limit exceeded") {
        return IngestError::TooDeep {
            file,
            limit: limits.max_depth,
        };
    }
    let (line, column) = match err.line() {
        0 => (0, 0),
        1 => (at.line, at.col + err.column()),
        l => (at.line + l - 1, err.column()),
    };
    match err.classify() {
        serde_json::error::Category::Io => IngestError::Io {
            file,
            source: io::Error::from(err),
        },
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            IngestError::Syntax {
                file,
                line,
                column,
                message: syntax_message(text),
            }
        }
        serde_json::error::Category::Data => {
            let path = match path {
                None | Some("") | Some(".") => TOP_LEVEL.to_string(),
                Some(p) => p.to_string(),
            };
            let mut message = data_message(&text);
            if line > 0 {
                message.push_str(&format!(" (line {line}, column {column})"));
            }
            IngestError::Invalid {
                file,
                path,
                message,
            }
        }
    }
}

/// The serde_json message without its " at line L column C" suffix.
pub(crate) fn strip_position(err: &serde_json::Error) -> String {
    let text = err.to_string();
    let suffix = format!(" at line {} column {}", err.line(), err.column());
    match text.strip_suffix(&suffix) {
        Some(t) => t.to_string(),
        None => text,
    }
}

/// Rewords serde's syntax errors where its words mislead: a `\uD800`-style
/// escape without its second half is reported by serde_json as an
/// "unexpected end of hex escape", though the escape itself is complete.
fn syntax_message(text: String) -> String {
    if text == "unexpected end of hex escape" || text.contains("surrogate") {
        return format!(
            "{text}: a \\uD800-\\uDFFF escape is half of a UTF-16 surrogate pair and needs its other half; alone it is not a character (the scanner wrote invalid Unicode; re-export the report)"
        );
    }
    text
}

/// Rewords serde's data errors into snapgov's vocabulary.
fn data_message(text: &str) -> String {
    if let Some(rest) = text.strip_prefix("missing field ") {
        return format!("missing required field {rest}");
    }
    text.to_string()
}

/// `Invalid` error for a required field that is present but empty.
pub(crate) fn empty_field(display: &str, path: String, field: &str) -> IngestError {
    IngestError::Invalid {
        file: display.to_string(),
        path,
        message: format!("required field `{field}` is empty"),
    }
}

// ---------------------------------------------------------------------------
// Small lenient value types
// ---------------------------------------------------------------------------

/// A scalar that may be written as a string or a number (schema versions,
/// rpm epochs); kept as text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Scalar(pub String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// `Some(s)` when `s` has non-whitespace content.
pub(crate) fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|v| !v.trim().is_empty())
}

/// A tool version as reported, or `None` for absent / "[not provided]".
pub(crate) fn tool_text(s: Option<String>) -> Option<String> {
    non_empty(s).filter(|v| v.trim() != "[not provided]")
}

/// Joins an image/artifact name and its version into a subject: `name@digest`
/// for digests (`sha256:…`), otherwise `name:version`; just `name` when the
/// version is empty.
pub(crate) fn join_name_version(name: &str, version: Option<&str>) -> String {
    match version.map(str::trim).filter(|v| !v.is_empty()) {
        None => name.to_string(),
        Some(v) if is_digest(v) => format!("{name}@{v}"),
        Some(v) => format!("{name}:{v}"),
    }
}

fn is_digest(v: &str) -> bool {
    match v.split_once(':') {
        Some((alg, hex)) => {
            matches!(alg, "sha256" | "sha384" | "sha512" | "sha1")
                && !hex.is_empty()
                && hex.bytes().all(|b| b.is_ascii_hexdigit())
        }
        None => false,
    }
}

/// Leading integer of a version string ("16.0.39" → 16, "2" → 2, "v3" → 3).
pub(crate) fn major_version(v: &str) -> Option<u64> {
    let v = v.trim().trim_start_matches(['v', 'V']);
    let end = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    v[..end].parse().ok()
}

/// The schema-drift warning, when `found`'s major version is above `newest`.
pub(crate) fn schema_warning(
    label: &str,
    found: &str,
    newest: u64,
    newest_text: &str,
) -> Option<String> {
    match major_version(found) {
        Some(major) if major > newest => Some(format!(
            "{label} {found} is newer than the newest tested ({newest_text}); fields snapgov does not use are ignored"
        )),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Record builders
// ---------------------------------------------------------------------------

/// Everything a record says about its package.
#[derive(Clone, Debug, Default)]
pub(crate) struct Pkg {
    pub subject: String,
    pub ecosystem: String,
    pub name: String,
    pub version: String,
    /// Non-empty purl, when the input gives one.
    pub purl: Option<String>,
    /// Architecture for the fallback id (Clair only).
    pub arch: Option<String>,
    pub licenses: Vec<String>,
    pub locations: Vec<String>,
}

impl Pkg {
    /// The package identity: the purl, else `{ecosystem}/{name}@{version}`.
    pub(crate) fn package_id(&self) -> String {
        match &self.purl {
            Some(p) => p.clone(),
            None => fallback_package_id(
                &self.ecosystem,
                &self.name,
                &self.version,
                self.arch.as_deref(),
            ),
        }
    }

    /// The record for the package itself.
    pub(crate) fn package_record(&self) -> NormalizedRecord {
        self.record(RecordKind::Package, None)
    }

    /// The record for one vulnerability on this package.
    pub(crate) fn finding_record(&self, finding: Finding) -> NormalizedRecord {
        self.record(RecordKind::Vulnerability, Some(finding))
    }

    fn record(&self, kind: RecordKind, vulnerability: Option<Finding>) -> NormalizedRecord {
        NormalizedRecord {
            ecosystem: self.ecosystem.clone(),
            kind,
            licenses: self.licenses.clone(),
            locations: self.locations.clone(),
            name: self.name.clone(),
            package_id: self.package_id(),
            purl: self.purl.clone(),
            subject: self.subject.clone(),
            version: self.version.clone(),
            vulnerability,
        }
    }

    /// Like [`package_record`](Self::package_record), consuming `self`.
    pub(crate) fn into_package_record(self) -> NormalizedRecord {
        let package_id = self.package_id();
        NormalizedRecord {
            ecosystem: self.ecosystem,
            kind: RecordKind::Package,
            licenses: self.licenses,
            locations: self.locations,
            name: self.name,
            package_id,
            purl: self.purl,
            subject: self.subject,
            version: self.version,
            vulnerability: None,
        }
    }
}

/// Canonicalizes `record` and hands it to the sink.
pub(crate) fn emit(
    sink: &mut dyn RecordSink,
    mut record: NormalizedRecord,
) -> Result<(), IngestError> {
    record.canonicalize();
    sink.push(record)
}

/// Ecosystem placeholder when a format does not say.
pub(crate) const UNKNOWN_ECOSYSTEM: &str = "unknown";

/// The purl type (`pkg:TYPE/…`), lower-cased.
pub(crate) fn purl_type(purl: &str) -> Option<String> {
    let rest = purl.strip_prefix("pkg:")?;
    let t = rest.trim_start_matches('/').split('/').next()?;
    (!t.is_empty()).then(|| t.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_all(input: &[u8], limit: usize, line_mode: bool) -> bool {
        let mut r = DepthReader::new(io::empty(), limit, line_mode, Rc::new(Cell::new(false)));
        r.scan(input)
    }

    #[test]
    fn depth_counts_brackets_outside_strings() {
        assert!(scan_all(br#"{"a":[1,{"b":2}]}"#, 3, false));
        assert!(!scan_all(br#"{"a":[1,{"b":2}]}"#, 2, false));
        // Brackets inside strings (with escaped quotes) do not count.
        assert!(scan_all(br#"{"a":"[[[[\"[[[["}"#, 1, false));
        // In line mode each line starts again at depth 0.
        assert!(scan_all(b"{\"a\":[1]\n{\"a\":[1]\n", 2, true));
        assert!(!scan_all(b"{\"a\":[1]\n{\"a\":[1]\n", 2, false));
    }

    #[test]
    fn depth_state_survives_buffer_boundaries() {
        let mut r = DepthReader::new(io::empty(), 1, false, Rc::new(Cell::new(false)));
        assert!(r.scan(br#"{"a":"x\"#));
        assert!(r.scan(br#""[[["}"#));
    }

    #[test]
    fn subjects_and_versions() {
        assert_eq!(join_name_version("nginx", Some("1.14.1")), "nginx:1.14.1");
        assert_eq!(
            join_name_version("library/alpine", Some("sha256:e2e16842c9b54d985bf1ef9242a313f36b856181f188de21313820e177002501")),
            "library/alpine@sha256:e2e16842c9b54d985bf1ef9242a313f36b856181f188de21313820e177002501"
        );
        assert_eq!(join_name_version("dir", Some("")), "dir");
        assert_eq!(major_version("16.0.39"), Some(16));
        assert_eq!(major_version("v3"), Some(3));
        assert_eq!(major_version("x"), None);
        assert!(schema_warning("syft-json schema", "16.9.0", 16, "16.x").is_none());
        assert_eq!(
            schema_warning("syft-json schema", "17.0.0", 16, "16.x").unwrap(),
            "syft-json schema 17.0.0 is newer than the newest tested (16.x); fields snapgov does not use are ignored"
        );
        assert_eq!(purl_type("pkg:npm/%40a/b@1"), Some("npm".to_string()));
        assert_eq!(purl_type("npm/a"), None);
        assert_eq!(tool_text(Some("[not provided]".into())), None);
    }
}

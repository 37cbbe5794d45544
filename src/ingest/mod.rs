//! One parser per scanner format, each turning a file into normalized records.
//!
//! Parsers read from a file on disk (the import workflow spools stdin to a
//! temporary file first), so a parser may read its input twice: once to skim
//! the document's metadata (which some formats write after the bulk), once to
//! stream the records. Records go to a sink one at a time; a parser never
//! holds more of the feed in memory than its format forces.

use crate::domain::problem::Hint;
use crate::domain::record::NormalizedRecord;
use serde::Serialize;
use std::fmt;
use std::path::Path;

pub mod clair;
pub mod cyclonedx;
pub mod detect;
pub mod native;
mod pkg;
mod read;
pub mod spool;
pub mod syft;
#[cfg(test)]
mod test_support;
pub mod trivy;

/// The formats snapgov reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    SyftJson,
    TrivyJson,
    ClairV4,
    Cyclonedx,
    Snapgov,
}

impl Format {
    pub const ALL: [Format; 5] = [
        Format::SyftJson,
        Format::TrivyJson,
        Format::ClairV4,
        Format::Cyclonedx,
        Format::Snapgov,
    ];

    /// The name used on the command line (`--format`).
    pub fn as_str(self) -> &'static str {
        match self {
            Format::SyftJson => "syft-json",
            Format::TrivyJson => "trivy-json",
            Format::ClairV4 => "clair-v4",
            Format::Cyclonedx => "cyclonedx",
            Format::Snapgov => "snapgov",
        }
    }

    pub fn parse(s: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.as_str() == s)
    }

    /// "syft-json, trivy-json, clair-v4, cyclonedx, snapgov": for error messages.
    pub fn known_list() -> String {
        Format::ALL.map(|f| f.as_str()).join(", ")
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Limits applied while parsing untrusted input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted input file, in bytes.
    pub max_input_bytes: u64,
    /// Deepest accepted JSON nesting.
    pub max_depth: usize,
    /// Largest accepted single record (the sum of its text), in bytes.
    pub max_record_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_input_bytes: 8 * 1024 * 1024 * 1024,
            max_depth: 128,
            max_record_bytes: 1024 * 1024,
        }
    }
}

/// What a parser learned about the document besides its records.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DocMeta {
    /// Scanner name as the document states it (e.g. "syft", "trivy", "clair").
    pub tool_name: Option<String>,
    /// Scanner version; `None` when absent or "[not provided]".
    pub tool_version: Option<String>,
    /// The format's own schema version (syft `schema.version`, Trivy
    /// `SchemaVersion`, CycloneDX `specVersion`).
    pub schema_version: Option<String>,
    /// The scanner's own timestamp, RFC 3339, when the document has one.
    pub generated_at: Option<String>,
    /// What was scanned (image reference or digest, directory, repository).
    pub subject: Option<String>,
    /// Non-fatal notes for the operator (e.g. a schema newer than tested).
    pub warnings: Vec<String>,
}

/// Why a file could not be imported. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{file}: cannot read: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: the file is empty; nothing to import")]
    Empty { file: String },
    #[error("{file}: not valid JSON at line {line}, column {column}: {message}")]
    Syntax {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{file}: at {path}: {message}")]
    Invalid {
        file: String,
        /// JSON path of the offending value, e.g. `artifacts[12].name`.
        path: String,
        message: String,
    },
    #[error("{file}: unrecognized input{hint}; snapgov reads {known}")]
    UnknownFormat {
        file: String,
        hint: String,
        known: String,
    },
    #[error("{file}: is {size} bytes, over the limit of {limit} bytes (set [limits] max_input_bytes in the config to raise it)")]
    TooLarge { file: String, size: u64, limit: u64 },
    #[error("{file}: JSON nested deeper than {limit} levels (set [limits] max_depth in the config to raise it)")]
    TooDeep { file: String, limit: usize },
    /// The sink refused a record (e.g. the store failed); carries its error,
    /// which the caller takes back by downcasting.
    #[error("{0}")]
    Sink(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl IngestError {
    /// What the user can do about it, for each front end to word.
    pub fn hint(&self) -> Option<Hint> {
        match self {
            IngestError::UnknownFormat { .. } => Some(Hint::NameFormat),
            _ => None,
        }
    }
}

/// Receives records as a parser produces them. Returning an error stops the parse.
pub trait RecordSink {
    fn push(&mut self, record: NormalizedRecord) -> Result<(), IngestError>;
    /// A finding's severity word that snapgov does not know (it is filed as
    /// `unknown`); the import counts and reports these.
    fn unknown_severity(&mut self, _raw: &str) {}
}

impl<F: FnMut(NormalizedRecord) -> Result<(), IngestError>> RecordSink for F {
    fn push(&mut self, record: NormalizedRecord) -> Result<(), IngestError> {
        self(record)
    }
}

/// Told how far a parse has read its file, for a progress display. A parse
/// may read its file more than once (see the module doc): each reading is
/// a pass, and the bytes count from zero again in each.
pub trait ReadProgress {
    /// A pass over the file begins.
    fn pass(&self) {}
    /// `n` more bytes of the file were read in this pass.
    fn read(&self, _n: u64) {}
}

/// Reports nothing.
pub struct NoReadProgress;
impl ReadProgress for NoReadProgress {}

/// Parses `path` as `format`, sending every record (canonicalized, possibly
/// with duplicate identities: the caller merges them) to `sink`.
/// `display` is the name errors use for the file (the path given, or `-`).
pub fn parse_file(
    format: Format,
    path: &Path,
    display: &str,
    limits: &Limits,
    sink: &mut dyn RecordSink,
) -> Result<DocMeta, IngestError> {
    parse_file_with_progress(format, path, display, limits, sink, &NoReadProgress)
}

/// [`parse_file`], telling `progress` how far each pass has read the file
/// (counted as the file is read: no extra pass).
pub fn parse_file_with_progress(
    format: Format,
    path: &Path,
    display: &str,
    limits: &Limits,
    sink: &mut dyn RecordSink,
    progress: &dyn ReadProgress,
) -> Result<DocMeta, IngestError> {
    let feed = read::open::Feed {
        path,
        display,
        limits,
        progress,
    };
    match format {
        Format::SyftJson => syft::parse(feed, sink),
        Format::TrivyJson => trivy::parse(feed, sink),
        Format::ClairV4 => clair::parse(feed, sink),
        Format::Cyclonedx => cyclonedx::parse(feed, sink),
        Format::Snapgov => native::parse(feed, sink),
    }
}

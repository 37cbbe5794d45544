//! Running a parser on text, for the parsers' unit tests.

use super::read::open::Feed;
use super::{DocMeta, IngestError, Limits, RecordSink};
use crate::domain::record::NormalizedRecord;
use std::io::Write;
use tempfile::NamedTempFile;

/// A format's `parse`.
pub(crate) type Parse = fn(Feed, &mut dyn RecordSink) -> Result<DocMeta, IngestError>;

/// A temporary file holding `text`.
pub(crate) fn temp_file(text: &[u8]) -> NamedTempFile {
    let mut f = NamedTempFile::new().unwrap();
    f.write_all(text).unwrap();
    f
}

/// `f` as a parse's source, named `t.json`.
pub(crate) fn feed<'a>(f: &'a NamedTempFile, limits: &'a Limits) -> Feed<'a> {
    Feed {
        path: f.path(),
        display: "t.json",
        limits,
        progress: &super::NoReadProgress,
    }
}

/// Parses `json` (as the file `t.json`), collecting the records sent.
pub(crate) fn parse_str(
    parse: Parse,
    json: &str,
) -> (Result<DocMeta, IngestError>, Vec<NormalizedRecord>) {
    let f = temp_file(json.as_bytes());
    let mut out = Vec::new();
    let mut sink = |r: NormalizedRecord| {
        out.push(r);
        Ok(())
    };
    let res = parse(feed(&f, &Limits::default()), &mut sink);
    (res, out)
}

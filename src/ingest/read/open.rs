//! Opening a file for a parse under the [`Limits`], and decoding a whole
//! document from it through the depth guard.

use super::depth::DepthReader;
use super::errors::{json_error, START};
use crate::ingest::{IngestError, Limits, ReadProgress};
use serde::de::DeserializeOwned;
use std::cell::Cell;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;
use std::rc::Rc;

/// Read buffer size: large buffers keep a 1 GB feed cheap to stream.
pub(crate) const BUF_CAPACITY: usize = 1 << 20;

/// The UTF-8 byte-order mark, skipped at the start of a file.
pub(crate) const BOM: &[u8] = b"\xEF\xBB\xBF";

/// JSON whitespace.
pub(crate) fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// The file a parse reads, with the name its errors give it (the path
/// given, or `-`), the limits that apply, and who is told how far each
/// pass has read.
#[derive(Clone, Copy)]
pub(crate) struct Feed<'a> {
    pub path: &'a Path,
    pub display: &'a str,
    pub limits: &'a Limits,
    pub progress: &'a dyn ReadProgress,
}

/// The file of one pass of a parse, counting the bytes read for the
/// feed's progress as they are read.
pub(crate) struct Metered<'a> {
    file: File,
    progress: &'a dyn ReadProgress,
}

impl io::Read for Metered<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = io::Read::read(&mut self.file, buf)?;
        self.progress.read(n as u64);
        Ok(n)
    }
}

/// Opens the file (after the size check) for a pass that reads it through,
/// and tells the feed's progress that the pass begins.
pub(crate) fn open_pass(feed: Feed<'_>) -> Result<Metered<'_>, IngestError> {
    let file = open_checked(feed)?;
    feed.progress.pass();
    Ok(Metered {
        file,
        progress: feed.progress,
    })
}

/// A file opened for parsing: buffered, depth-guarded, past any UTF-8 BOM.
pub(crate) struct Input<'a> {
    pub reader: BufReader<DepthReader<Metered<'a>>>,
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
pub(crate) fn open(feed: Feed<'_>, mode: DepthMode) -> Result<Input<'_>, IngestError> {
    let Feed {
        path,
        display,
        limits,
        ..
    } = feed;
    let file = open_pass(feed)?;
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
pub(crate) fn open_checked(feed: Feed) -> Result<File, IngestError> {
    let Feed {
        path,
        display,
        limits,
        ..
    } = feed;
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

/// Reads all of `path` as one JSON document of type `T` (for the formats
/// whose references force the whole document into memory).
pub(crate) fn read_document<T: DeserializeOwned>(feed: Feed) -> Result<T, IngestError> {
    let input = open(feed, DepthMode::Document)?;
    run(input, feed.display, feed.limits)
}

/// Deserializes one JSON document from `input`, tracking the JSON path for
/// error messages, and checks that only whitespace follows it.
fn run<T: DeserializeOwned>(
    input: Input<'_>,
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

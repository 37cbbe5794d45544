//! Parsing a feed into the import's record writer. The parser runs on a
//! second thread and also makes each record ready there (canonical body,
//! content hash, identity); this thread, which holds the transaction, only
//! writes. Records cross in batches, in the parser's order, so the
//! snapshot is the same as when one thread did both (issue 14).

use super::prepare::Prepared;
use super::{Failure, ImportCtx};
use crate::domain::record::NormalizedRecord;
use crate::domain::snapshot::Snapshot;
use crate::ingest::{self, Format, IngestError};
use crate::ops::{OpError, Progress};
use crate::store::pipe::{self, Handoff};
use crate::store::{ReadyRecord, RecordWriter, StoreError};
use std::sync::Mutex;

/// Records per batch: a few hundred KB, so the batches in flight add little
/// to the import's memory and the writer never waits long for the first.
const BATCH: usize = 512;

#[derive(Default)]
struct Parsed(Vec<ReadyRecord>);

impl pipe::Batch for Parsed {
    fn len(&self) -> usize {
        self.0.len()
    }
    fn clear(&mut self) {
        self.0.clear();
    }
}

/// Where the parser puts each record: across to the writer's thread, or
/// (where parsing stays on the writer's thread) to the writer in batches.
enum Out<'h> {
    Across(&'h mut Handoff<Parsed>),
    Here(Parsed, &'h mut dyn FnMut(&mut Parsed) -> bool),
}

impl Out<'_> {
    /// `false` once the writer has stopped taking records.
    fn push(&mut self, r: ReadyRecord) -> bool {
        match self {
            Out::Across(h) => {
                h.cur.0.push(r);
                h.cur.0.len() < BATCH || h.send()
            }
            Out::Here(b, _) => {
                b.0.push(r);
                b.0.len() < BATCH || self.flush()
            }
        }
    }

    /// Hands on what is batched (`produce` does it for `Across`).
    fn flush(&mut self) -> bool {
        match self {
            Out::Across(_) => true,
            Out::Here(b, take) => {
                let ok = b.0.is_empty() || take(b);
                b.0.clear();
                ok
            }
        }
    }
}

/// The parser's side ended because the writer stopped taking records (its
/// own error is the one reported).
#[derive(Debug, thiserror::Error)]
#[error("the writer stopped")]
struct WriterStopped;

/// Parses one file into the record writer, and its metadata and warnings
/// into the snapshot row.
pub(super) fn parse_into(
    ctx: &ImportCtx<'_>,
    file: &Prepared,
    format: Format,
    several: bool,
    writer: &mut RecordWriter<'_>,
    snap: &mut Snapshot,
    progress: &dyn Progress,
) -> std::result::Result<(), Failure> {
    let limits = &ctx.env.config.limits;
    // Records are numbered across the import's files, as the writer counts.
    let first = writer.received;
    let read = ReadSoFar::default();
    let mut shown = Shown::default();
    let mut write_err: Option<StoreError> = None;
    let beside = writer.parse_beside();
    let parse = |out: &mut Out<'_>| parse_file(out, file, format, limits, &read, first);
    let take = |batch: &mut Parsed| {
        shown.catch_up(&read, progress, file);
        progress.inc(batch.0.len() as u64);
        for r in &mut batch.0 {
            if let Err(e) = writer.add(r) {
                write_err = Some(e);
                return false;
            }
        }
        true
    };
    let (meta, unknown, examples) = if beside {
        pipe::produce(|h| parse(&mut Out::Across(h)), take)?.0
    } else {
        let mut take = take;
        let mut out = Out::Here(Parsed::default(), &mut take);
        let parsed = parse(&mut out);
        out.flush();
        parsed
    };
    shown.catch_up(&read, progress, file);
    let meta = outcome(write_err, meta)?;
    let unknown = (unknown > 0).then(|| {
        format!(
            "{unknown} findings have a severity snapgov does not know ({}); they are filed as unknown",
            examples.join(", ")
        )
    });
    into_snapshot(
        meta,
        unknown,
        several.then_some(file.display.as_str()),
        snap,
    );
    Ok(())
}

/// A file's metadata and warnings into the snapshot row; `several`: the
/// file's name, when the import has more than one, to say whose warning.
fn into_snapshot(
    meta: ingest::DocMeta,
    unknown: Option<String>,
    several: Option<&str>,
    snap: &mut Snapshot,
) {
    snap.tool_version = snap.tool_version.take().or(meta.tool_version);
    snap.schema_version = snap.schema_version.take().or(meta.schema_version);
    snap.generated_at = snap.generated_at.take().or(meta.generated_at);
    for w in meta.warnings.into_iter().chain(unknown) {
        snap.warnings.push(match several {
            Some(name) => format!("{name}: {w}"),
            None => w,
        });
    }
}

/// Runs the parser over `file`, each record made ready and put `out`;
/// `first`: records the import's earlier files held. Returns the parse's
/// outcome and the severity words it did not know (count, examples).
fn parse_file(
    out: &mut Out<'_>,
    file: &Prepared,
    format: Format,
    limits: &ingest::Limits,
    read: &ReadSoFar,
    first: u64,
) -> (
    std::result::Result<ingest::DocMeta, IngestError>,
    u64,
    Vec<String>,
) {
    let max_record = limits.max_record_bytes;
    let mut n = first;
    let push = |rec: NormalizedRecord| {
        n += 1;
        if rec.text_len() as u64 > max_record {
            return Err(IngestError::Invalid {
                file: file.display.clone(),
                path: format!("record {n}"),
                message: format!(
                    "the record holds {} bytes of text, over the limit of {max_record} (set [limits] max_record_bytes in the config to raise it)",
                    rec.text_len()
                ),
            });
        }
        match out.push(ReadyRecord::new(rec)) {
            true => Ok(()),
            false => Err(IngestError::Sink(Box::new(WriterStopped))),
        }
    };
    let mut sink = CountingSink {
        push,
        unknown: 0,
        examples: Vec::new(),
    };
    let meta = ingest::parse_file_with_progress(
        format,
        &file.path,
        &file.display,
        limits,
        &mut sink,
        read,
    );
    (meta, sink.unknown, sink.examples)
}

/// Why a parse stopped, as the import sees it: the writer's own error (with
/// its kind: busy, read-only, disk full) when it stopped taking records, else
/// a refusal of the feed.
fn outcome(
    write_err: Option<StoreError>,
    meta: std::result::Result<ingest::DocMeta, IngestError>,
) -> std::result::Result<ingest::DocMeta, Failure> {
    if let Some(e) = write_err {
        return Err(Failure::Other(OpError::Store(e)));
    }
    meta.map_err(|e| match e {
        IngestError::Sink(e) => Failure::Other(OpError::invalid(e.to_string())),
        other => Failure::Refused {
            problem: super::refusal(&other),
            written: false,
        },
    })
}

/// How far the parser has read its file, written on its thread: the passes
/// begun and the bytes read in the last one.
#[derive(Default)]
struct ReadSoFar(Mutex<(u32, u64)>);

impl ReadSoFar {
    fn get(&self) -> (u32, u64) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn update(&self, f: impl FnOnce(&mut (u32, u64))) {
        f(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()));
    }
}

impl ingest::ReadProgress for ReadSoFar {
    fn pass(&self) {
        self.update(|r| *r = (r.0 + 1, 0));
    }
    fn read(&self, n: u64) {
        self.update(|r| r.1 += n);
    }
}

/// What the import's progress has been told of the parser's reading (the
/// progress lives on this thread).
#[derive(Default)]
struct Shown {
    pass: u32,
    bytes: u64,
}

impl Shown {
    fn catch_up(&mut self, read: &ReadSoFar, progress: &dyn Progress, file: &Prepared) {
        let (pass, bytes) = read.get();
        if pass != self.pass {
            self.pass = pass;
            self.bytes = 0;
            let name = match file.size {
                Some(_) => file.display.as_str(),
                None => "standard input",
            };
            let what = match pass {
                1 => format!("reading {name}"),
                n => format!("reading {name} (pass {n})"),
            };
            progress.begin_pass(&what, file.size);
        }
        if bytes > self.bytes {
            progress.advance(bytes - self.bytes);
            self.bytes = bytes;
        }
    }
}

/// The import's record sink: passes records on, and counts severity words
/// the parsers did not know (with the first few, for the warning).
struct CountingSink<F> {
    push: F,
    unknown: u64,
    examples: Vec<String>,
}

impl<F> ingest::RecordSink for CountingSink<F>
where
    F: FnMut(NormalizedRecord) -> std::result::Result<(), IngestError>,
{
    fn push(&mut self, record: NormalizedRecord) -> std::result::Result<(), IngestError> {
        (self.push)(record)
    }

    fn unknown_severity(&mut self, raw: &str) {
        self.unknown += 1;
        let word: String = raw.trim().chars().take(40).collect();
        let word = format!("`{word}`");
        if self.examples.len() < 3 && !self.examples.contains(&word) {
            self.examples.push(word);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store failure while records are written keeps its kind, so busy
    /// stays exit 5 (and HTTP 503), not a refusal of the feed; the parser's
    /// own stop, which follows it, is not what is reported.
    #[test]
    fn a_store_error_while_writing_keeps_its_kind() {
        let stopped = || Err(IngestError::Sink(Box::new(WriterStopped)));
        let Err(Failure::Other(e)) = outcome(Some(StoreError::Busy), stopped()) else {
            panic!("a store error is not a refusal of the feed");
        };
        assert!(matches!(e, OpError::Store(StoreError::Busy)), "{e:?}");
        assert_eq!(e.exit_code(), 5);
        assert!(matches!(
            outcome(Some(StoreError::ReadOnly), stopped()),
            Err(Failure::Other(OpError::Store(StoreError::ReadOnly)))
        ));
        let bad = IngestError::Invalid {
            file: "f.json".into(),
            path: "record 3".into(),
            message: "no name".into(),
        };
        assert!(matches!(
            outcome(None, Err(bad)),
            Err(Failure::Refused { written: false, .. })
        ));
    }
}

//! The two-pass reading of the large formats (syft, Trivy, snapgov
//! documents).
//!
//! Each is one top-level object with one large array of records and a few
//! small members, one of which fixes the subject every record carries.
//! Writers put that member after the array as often as before it, and the
//! array is too large to hold, so:
//!
//! - pass 1 reads the small members and validates every other one; when
//!   the subject member came before the array, the records are streamed
//!   right away and there is no pass 2; otherwise the array is skipped
//!   (lexed only, which checks its nesting depth);
//! - pass 2 re-opens the file and streams the array with the subject known,
//!   decoding each element straight from the read buffer.
//!
//! A format plugs in through [`Document`]; the element loop itself,
//! [`each_element`], also serves arrays outside this scheme.

use super::errors::invalid;
use super::open::Feed;
use super::split::{Splitter, Start};
use crate::ingest::{IngestError, RecordSink};
use serde::de::DeserializeOwned;

/// A format read in two passes: its members and how its records convert.
pub(crate) trait Document {
    /// The member holding the records array.
    const RECORDS: &'static str;
    /// The member that fixes the subject.
    const SUBJECT: &'static str;
    /// The message when the records member is not an array.
    const NOT_AN_ARRAY: &'static str;
    /// Whether a `null` records member means no records (else it is refused
    /// like any other non-array).
    const NULL_IS_EMPTY: bool;
    /// One element of the records array.
    type Element: DeserializeOwned;

    /// Where the top-level member `key` goes, when the format uses it (any
    /// other member is validated and dropped).
    fn member(&mut self, key: &str) -> Option<&mut dyn Member>;

    /// The subject from the members read so far (`display` when unknown).
    fn subject(&self, display: &str) -> String;

    /// Checks member `key` right after it was read.
    fn check_member(&self, _key: &str, _display: &str) -> Result<(), IngestError> {
        Ok(())
    }

    /// Checks the document after pass 1, before any pass 2.
    fn check_document(&self, _saw_records: bool, _display: &str) -> Result<(), IngestError> {
        Ok(())
    }

    /// Converts one element and sends its records.
    fn convert(
        element: Self::Element,
        at: Place,
        sink: &mut dyn RecordSink,
    ) -> Result<(), IngestError>;
}

/// A top-level member a format keeps, decoded where it stands.
pub(crate) trait Member {
    fn read(&mut self, sp: &mut Splitter, key: &str) -> Result<(), IngestError>;
}

impl<T: DeserializeOwned> Member for Option<T> {
    fn read(&mut self, sp: &mut Splitter, key: &str) -> Result<(), IngestError> {
        *self = sp.decode(key, 1)?;
        Ok(())
    }
}

/// Where an element of the records array stands.
#[derive(Clone, Copy)]
pub(crate) struct Place<'a> {
    /// Its JSON path (`artifacts[3]`).
    pub path: &'a str,
    /// The document's subject.
    pub subject: &'a str,
    /// The file's name in errors.
    pub display: &'a str,
}

/// How the elements of an array are decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decode {
    /// Lexed first, checking nesting below `parent_depth` (the array's own
    /// nesting level).
    Lexing { parent_depth: usize },
    /// Straight from the read buffer: an earlier pass lexed these bytes.
    Lexed,
}

/// Reads a document that must be an object (`expected` describes it for
/// the error when it is not), streaming its records to `sink`; the members
/// it keeps are returned.
pub(crate) fn read<D: Document + Default>(
    feed: Feed,
    expected: &str,
    sink: &mut dyn RecordSink,
) -> Result<D, IngestError> {
    let mut sp = Splitter::open(feed)?;
    if !sp.begin_object()? {
        return Err(sp.wrong_top_level(expected));
    }
    let mut doc = D::default();
    read_object(sp, feed, &mut doc, sink)?;
    Ok(doc)
}

/// Reads the document from `sp`, which has consumed its opening `{`: pass 1
/// on `sp`, and pass 2 on a fresh splitter over `feed` when needed.
pub(crate) fn read_object<D: Document>(
    mut sp: Splitter,
    feed: Feed,
    doc: &mut D,
    sink: &mut dyn RecordSink,
) -> Result<(), IngestError> {
    let mut subject: Option<String> = None;
    let (mut saw_records, mut streamed) = (false, false);
    let mut first = true;
    while let Some(key) = sp.next_key(&mut first)? {
        if key == D::RECORDS {
            saw_records = true;
            match &subject {
                Some(s) => {
                    streamed = true;
                    let top = Decode::Lexing { parent_depth: 2 };
                    records::<D>(&mut sp, s, top, sink)?;
                }
                None => sp.skip(1)?,
            }
        } else if let Some(slot) = doc.member(&key) {
            slot.read(&mut sp, &key)?;
            doc.check_member(&key, feed.display)?;
            if key == D::SUBJECT && !saw_records {
                subject = Some(doc.subject(feed.display));
            }
        } else {
            sp.validate(&key, 1)?;
        }
    }
    sp.end()?;
    doc.check_document(saw_records, feed.display)?;
    if saw_records && !streamed {
        // Pass 1's buffer may have grown to its largest member: free it.
        drop(sp);
        let subject = doc.subject(feed.display);
        let mut sp = Splitter::open(feed)?;
        sp.begin_object()?;
        let mut first = true;
        while let Some(key) = sp.next_key(&mut first)? {
            if key == D::RECORDS {
                records::<D>(&mut sp, &subject, Decode::Lexed, sink)?;
            } else {
                sp.skip(1)?;
            }
        }
    }
    Ok(())
}

/// Streams the records member's elements through [`Document::convert`].
fn records<D: Document>(
    sp: &mut Splitter,
    subject: &str,
    decode: Decode,
    sink: &mut dyn RecordSink,
) -> Result<(), IngestError> {
    match sp.begin_array()? {
        Start::Array => {}
        Start::Null if D::NULL_IS_EMPTY => return Ok(()),
        Start::Null | Start::Other(_) => {
            return Err(invalid(sp.display, D::RECORDS.to_string(), D::NOT_AN_ARRAY))
        }
    }
    let display = sp.display;
    each_element(sp, D::RECORDS, decode, |element, path| {
        let at = Place {
            path,
            subject,
            display,
        };
        D::convert(element, at, sink)
    })
}

/// Decodes the elements of the array `sp` is in (its `[` consumed) one at a
/// time, handing each to `each` with its path `{prefix}[{index}]`.
pub(crate) fn each_element<T: DeserializeOwned>(
    sp: &mut Splitter,
    prefix: &str,
    decode: Decode,
    mut each: impl FnMut(T, &str) -> Result<(), IngestError>,
) -> Result<(), IngestError> {
    let mut first = true;
    let mut index = 0usize;
    // One path buffer for the whole array: millions of elements would
    // otherwise each format a fresh string.
    let mut path = String::new();
    while sp.next_element(&mut first)? {
        path.clear();
        path.push_str(prefix);
        path.push('[');
        path.push_str(itoa(index, &mut [0u8; 20]));
        path.push(']');
        let element: T = match decode {
            Decode::Lexing { parent_depth } => sp.decode(&path, parent_depth)?,
            Decode::Lexed => sp.decode_direct(&path)?,
        };
        each(element, &path)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn itoa_writes_decimal() {
        for n in [0, 7, 10, 12_345, usize::MAX] {
            assert_eq!(itoa(n, &mut [0u8; 20]), n.to_string());
        }
    }
}

//! A structural splitter for large JSON documents.
//!
//! serde_json reading from an `io::Read` goes byte by byte (about 150 MB/s);
//! from a slice it is several times faster. The splitter reads the file
//! into its own buffer and walks the top level of a document itself (object
//! keys, array elements) with a small lexer that only tracks strings and
//! nesting (eight bytes at a time), hands each element or value to
//! serde_json as a slice (every decoded value is fully validated by serde),
//! and skips values nobody needs without decoding them. Only one element is
//! held at a time.
//!
//! Values come out in two ways: [`Splitter::decode`] lexes the value first
//! (checking `limits.max_depth`) and decodes the copy;
//! [`Splitter::decode_direct`] lets serde find the end of the value right in
//! the read buffer, which saves the lexing for values an earlier pass has
//! already lexed (the second pass over syft artifacts or Trivy results).
//!
//! Line and column numbers are kept so that errors inside an element are
//! reported at their position in the file.

use super::errors::{decode_slice, invalid, join_path, json_error, Pos, TOP_LEVEL};
use super::open::{is_space, open_pass, Feed, Metered, BOM, BUF_CAPACITY};
use super::scan::{count_newlines, find_structural, scan_string};
use crate::ingest::{IngestError, Limits};
use serde::de::{DeserializeOwned, IgnoredAny};
use std::io::{self, Read};

/// What a value starts with, for callers that iterate arrays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Start {
    Array,
    Null,
    /// Any other value (its first byte).
    Other(u8),
}

/// The punctuation of an object or an array, and its words in errors.
struct Container {
    close: u8,
    /// The container, for errors at the end of the input.
    name: &'static str,
    /// The error when neither `,` nor `close` follows an item.
    expected: &'static str,
    /// The error when `close` follows a `,`.
    after_comma: &'static str,
}

const OBJECT: Container = Container {
    close: b'}',
    name: "an object",
    expected: "expected `,` or `}`",
    after_comma: "key must be a string",
};

const ARRAY: Container = Container {
    close: b']',
    name: "a list",
    expected: "expected `,` or `]`",
    after_comma: "trailing comma",
};

pub(crate) struct Splitter<'a> {
    file: Metered<'a>,
    /// Read buffer: `buf[pos..end]` is read but not consumed.
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    /// The file has no more bytes.
    eof: bool,
    line: usize,
    col: usize,
    pub display: &'a str,
    pub limits: &'a Limits,
    /// Scratch space for one value.
    scratch: Vec<u8>,
    /// Keys of the object being iterated with `next_key` (a key given twice
    /// makes a document ambiguous: it is refused).
    keys_seen: Vec<String>,
}

impl<'a> Splitter<'a> {
    /// Opens `path` (size limit, empty check, BOM) for splitting.
    pub(crate) fn open(feed: Feed<'a>) -> Result<Self, IngestError> {
        let Feed {
            display, limits, ..
        } = feed;
        let file = open_pass(feed)?;
        let mut sp = Splitter {
            file,
            buf: vec![0; BUF_CAPACITY],
            pos: 0,
            end: 0,
            eof: false,
            line: 1,
            col: 0,
            display,
            limits,
            scratch: Vec::new(),
            keys_seen: Vec::new(),
        };
        sp.read_more()?;
        if sp.buf[..sp.end].starts_with(BOM) {
            sp.pos = 3;
        }
        if sp.peek()?.is_none() {
            return Err(IngestError::Empty {
                file: display.to_string(),
            });
        }
        Ok(sp)
    }

    // -- low level ----------------------------------------------------------

    /// Reads more of the file after `end` (moving unconsumed bytes to the
    /// front, growing the buffer when it is full); false at the end.
    fn read_more(&mut self) -> Result<bool, IngestError> {
        if self.eof {
            return Ok(false);
        }
        if self.pos > 0 && self.buf.len() - self.end < BUF_CAPACITY / 2 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
        }
        if self.buf.len() - self.end < BUF_CAPACITY / 2 {
            let len = (self.buf.len() * 2).max(self.end + BUF_CAPACITY);
            self.buf.resize(len, 0);
        }
        loop {
            match self.file.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(IngestError::Io {
                        file: self.display.to_string(),
                        source,
                    })
                }
            }
        }
    }

    /// The unconsumed bytes, reading more when there are none (empty at the
    /// end of the file).
    fn fill(&mut self) -> Result<&[u8], IngestError> {
        if self.pos == self.end {
            self.pos = 0;
            self.end = 0;
            self.read_more()?;
        }
        Ok(&self.buf[self.pos..self.end])
    }

    /// Consumes `n` buffered bytes, updating the position.
    fn advance(&mut self, n: usize) {
        let bytes = &self.buf[self.pos..self.pos + n];
        // Counting is vectorized; the search for the last newline only runs
        // when there is one.
        let newlines = count_newlines(bytes);
        if newlines == 0 {
            self.col += n;
        } else {
            self.line += newlines;
            let last = bytes.iter().rposition(|b| *b == b'\n').unwrap_or(0);
            self.col = n - last - 1;
        }
        self.pos += n;
    }

    /// Consumes the buffered bytes up to `end` (all of them when `None`),
    /// appending them to `out` when given; true when the value ended there.
    fn consume(&mut self, out: Option<&mut Vec<u8>>, end: Option<usize>) -> bool {
        let n = end.unwrap_or(self.end - self.pos);
        if let Some(o) = out {
            o.extend_from_slice(&self.buf[self.pos..self.pos + n]);
        }
        self.advance(n);
        end.is_some()
    }

    /// Decodes the value that starts at the next byte directly from the read
    /// buffer (serde finds its end), reading more of the file as needed.
    /// Unlike [`decode`](Self::decode) it does not check `max_depth` (serde's
    /// own recursion limit still applies to what it decodes): use it for
    /// values the lexer has already checked.
    pub(crate) fn decode_direct<T: DeserializeOwned>(
        &mut self,
        path: &str,
    ) -> Result<T, IngestError> {
        if self.peek()?.is_none() {
            return Err(self.eof("a value"));
        }
        loop {
            let outcome = {
                let window = &self.buf[self.pos..self.end];
                let mut stream = serde_json::Deserializer::from_slice(window).into_iter::<T>();
                match stream.next() {
                    Some(Ok(v)) => Ok((v, stream.byte_offset())),
                    Some(Err(e)) => Err(Some(e)),
                    None => Err(None),
                }
            };
            match outcome {
                Ok((v, n)) => {
                    self.advance(n);
                    return Ok(v);
                }
                Err(Some(e)) if e.is_eof() && !self.eof => {
                    self.read_more()?;
                }
                Err(Some(e)) => {
                    // Decode again with path tracking for the message.
                    let window = &self.buf[self.pos..self.end];
                    let mut de = serde_json::Deserializer::from_slice(window);
                    let (full, err) = match serde_path_to_error::deserialize::<_, T>(&mut de) {
                        Err(tracked) => {
                            let inner = tracked.path().to_string();
                            (join_path(path, &inner), tracked.into_inner())
                        }
                        Ok(_) => (path.to_string(), e),
                    };
                    let at = self.pos();
                    return Err(json_error(
                        err,
                        Some(&full),
                        self.display,
                        self.limits,
                        false,
                        at,
                    ));
                }
                Err(None) => return Err(self.eof("a value")),
            }
        }
    }

    /// Skips whitespace; the next byte, not consumed (`None` at the end).
    pub(crate) fn peek(&mut self) -> Result<Option<u8>, IngestError> {
        loop {
            let buf = self.fill()?;
            if buf.is_empty() {
                return Ok(None);
            }
            match buf.iter().position(|b| !is_space(*b)) {
                Some(i) => {
                    let b = buf[i];
                    self.advance(i);
                    return Ok(Some(b));
                }
                None => {
                    let n = buf.len();
                    self.advance(n);
                }
            }
        }
    }

    fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            col: self.col,
        }
    }

    /// Syntax error at the next byte.
    fn unexpected(&self, message: &str) -> IngestError {
        IngestError::Syntax {
            file: self.display.to_string(),
            line: self.line,
            column: self.col + 1,
            message: message.to_string(),
        }
    }

    /// Syntax error at the end of the input.
    fn eof(&self, what: &str) -> IngestError {
        IngestError::Syntax {
            file: self.display.to_string(),
            line: self.line,
            column: self.col,
            message: format!("EOF while parsing {what}"),
        }
    }

    fn too_deep(&self) -> IngestError {
        IngestError::TooDeep {
            file: self.display.to_string(),
            limit: self.limits.max_depth,
        }
    }

    // -- values -------------------------------------------------------------

    /// Reads one value; its bytes are appended to `out` when given.
    /// `depth` is the nesting level of the value's parent.
    fn value(&mut self, mut out: Option<&mut Vec<u8>>, depth: usize) -> Result<(), IngestError> {
        let Some(first) = self.peek()? else {
            return Err(self.eof("a value"));
        };
        match first {
            b'{' | b'[' => self.container(out, depth),
            b'"' => {
                let mut in_escape = false;
                let mut started = false;
                loop {
                    let buf = self.fill()?;
                    if buf.is_empty() {
                        return Err(self.eof("a string"));
                    }
                    let skip = usize::from(!started);
                    started = true;
                    let end = scan_string(&buf[skip..], &mut in_escape).map(|i| skip + i + 1);
                    if self.consume(out.as_deref_mut(), end) {
                        return Ok(());
                    }
                }
            }
            b'}' | b']' | b',' | b':' => Err(self.unexpected("expected value")),
            _ => {
                // A number or a literal: up to the next delimiter.
                loop {
                    let buf = self.fill()?;
                    if buf.is_empty() {
                        return Ok(());
                    }
                    let end = buf
                        .iter()
                        .position(|b| matches!(b, b',' | b'}' | b']') || is_space(*b));
                    if self.consume(out.as_deref_mut(), end) {
                        return Ok(());
                    }
                }
            }
        }
    }

    /// Reads an object or array (at its opening bracket) to its end.
    fn container(
        &mut self,
        mut out: Option<&mut Vec<u8>>,
        depth: usize,
    ) -> Result<(), IngestError> {
        let max = self.limits.max_depth;
        let mut level = 0usize;
        let mut in_str = false;
        let mut in_escape = false;
        loop {
            let buf = self.fill()?;
            if buf.is_empty() {
                return Err(self.eof(if in_str {
                    "a string"
                } else {
                    "an object or array"
                }));
            }
            let mut i = 0;
            let mut end = None;
            while i < buf.len() {
                if in_str {
                    match scan_string(&buf[i..], &mut in_escape) {
                        Some(j) => {
                            in_str = false;
                            i += j + 1;
                            continue;
                        }
                        None => break,
                    }
                }
                match find_structural(&buf[i..]) {
                    Some(j) => i += j,
                    None => break,
                }
                match buf[i] {
                    b'"' => in_str = true,
                    b'{' | b'[' => {
                        level += 1;
                        if depth + level > max {
                            // Report the depth error at the offending byte.
                            self.advance(i);
                            return Err(self.too_deep());
                        }
                    }
                    b'}' | b']' => {
                        level -= 1;
                        if level == 0 {
                            end = Some(i + 1);
                            break;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            if self.consume(out.as_deref_mut(), end) {
                return Ok(());
            }
        }
    }

    /// Skips one value without decoding it (structure only).
    pub(crate) fn skip(&mut self, depth: usize) -> Result<(), IngestError> {
        self.value(None, depth)
    }

    /// Reads one value and decodes it; `path` names it in errors.
    pub(crate) fn decode<T: DeserializeOwned>(
        &mut self,
        path: &str,
        depth: usize,
    ) -> Result<T, IngestError> {
        let mut buf = std::mem::take(&mut self.scratch);
        buf.clear();
        self.peek()?;
        let at = self.pos();
        let result = self
            .value(Some(&mut buf), depth)
            .and_then(|_| decode_slice(&buf, at, path, self.display, self.limits));
        self.scratch = buf;
        result
    }

    /// Reads and validates one value without keeping it; arrays are
    /// validated element by element so that a large one is never buffered.
    pub(crate) fn validate(&mut self, path: &str, depth: usize) -> Result<(), IngestError> {
        match self.begin_array()? {
            Start::Array => {}
            Start::Null => return Ok(()),
            Start::Other(_) => return self.decode::<IgnoredAny>(path, depth).map(|_| ()),
        }
        if depth + 1 > self.limits.max_depth {
            return Err(self.too_deep());
        }
        let mut index = 0;
        let mut first = true;
        while self.next_element(&mut first)? {
            self.validate(&format!("{path}[{index}]"), depth + 1)?;
            index += 1;
        }
        Ok(())
    }

    // -- structure ----------------------------------------------------------

    /// Consumes the `{` of the top-level object; false if the document is
    /// something else (nothing consumed).
    pub(crate) fn begin_object(&mut self) -> Result<bool, IngestError> {
        match self.peek()? {
            Some(b'{') => {
                self.advance(1);
                Ok(true)
            }
            Some(_) => Ok(false),
            None => Err(self.eof("a value")),
        }
    }

    /// The next key of the current object (after `{` or a value), with its
    /// `:` consumed; `None` after the closing `}`.
    pub(crate) fn next_key(&mut self, first: &mut bool) -> Result<Option<String>, IngestError> {
        if !self.separator(first, &OBJECT)? {
            return Ok(None);
        }
        if self.peek()? != Some(b'"') {
            return Err(self.unexpected("key must be a string"));
        }
        let mut buf = std::mem::take(&mut self.scratch);
        buf.clear();
        let at = self.pos();
        let key = self
            .value(Some(&mut buf), 0)
            .and_then(|_| decode_slice::<String>(&buf, at, TOP_LEVEL, self.display, self.limits));
        self.scratch = buf;
        let key = key?;
        if self.keys_seen.contains(&key) {
            return Err(
                self.unexpected(&format!("duplicate key `{key}`: the document is ambiguous"))
            );
        }
        self.keys_seen.push(key.clone());
        match self.peek()? {
            Some(b':') => self.advance(1),
            Some(_) => return Err(self.unexpected("expected `:`")),
            None => return Err(self.eof("an object")),
        }
        Ok(Some(key))
    }

    /// Looks at the next value: for an array its `[` is consumed (iterate
    /// with [`next_element`](Self::next_element)); `null` is consumed.
    pub(crate) fn begin_array(&mut self) -> Result<Start, IngestError> {
        match self.peek()? {
            Some(b'[') => {
                self.advance(1);
                Ok(Start::Array)
            }
            Some(b'n') => {
                let at = self.pos();
                let mut buf = Vec::with_capacity(4);
                self.value(Some(&mut buf), 0)?;
                decode_slice::<()>(&buf, at, TOP_LEVEL, self.display, self.limits)?;
                Ok(Start::Null)
            }
            Some(b) => Ok(Start::Other(b)),
            None => Err(self.eof("a value")),
        }
    }

    /// The error for a document whose top level is not what the format
    /// needs: `Invalid` for another JSON value, `Syntax` for non-JSON.
    pub(crate) fn wrong_top_level(&mut self, expected: &str) -> IngestError {
        let found = match self.peek() {
            Err(e) => return e,
            Ok(None) => return self.eof("a value"),
            Ok(Some(b'[')) => "an array",
            Ok(Some(b'{')) => "an object",
            Ok(Some(b'"')) => "a string",
            Ok(Some(b'-' | b'0'..=b'9')) => "a number",
            Ok(Some(b't' | b'f')) => "a boolean",
            Ok(Some(b'n')) => "null",
            Ok(Some(_)) => return self.unexpected("expected value"),
        };
        invalid(
            self.display,
            TOP_LEVEL.to_string(),
            format!("expected {expected}, found {found}"),
        )
    }

    /// Moves to the next element of the current array (after `[` or an
    /// element): true when one follows (not consumed), false after `]`.
    pub(crate) fn next_element(&mut self, first: &mut bool) -> Result<bool, IngestError> {
        self.separator(first, &ARRAY)
    }

    /// Consumes what stands before the next member or element of a
    /// container: the closing bracket (false), or, except before the first,
    /// a `,`; true when an item follows (not consumed).
    fn separator(&mut self, first: &mut bool, c: &Container) -> Result<bool, IngestError> {
        match self.peek()? {
            None => return Err(self.eof(c.name)),
            Some(b) if b == c.close => {
                self.advance(1);
                return Ok(false);
            }
            Some(b',') if !*first => {
                self.advance(1);
                match self.peek()? {
                    None => return Err(self.eof(c.name)),
                    Some(b) if b == c.close => return Err(self.unexpected(c.after_comma)),
                    Some(_) => {}
                }
            }
            Some(_) if *first => {
                if c.close == b'}' {
                    // A new object: its keys start afresh.
                    self.keys_seen.clear();
                }
            }
            Some(_) => return Err(self.unexpected(c.expected)),
        }
        *first = false;
        Ok(true)
    }

    /// Checks that only whitespace is left.
    pub(crate) fn end(&mut self) -> Result<(), IngestError> {
        match self.peek()? {
            None => Ok(()),
            Some(_) => Err(self.unexpected("trailing characters")),
        }
    }
}

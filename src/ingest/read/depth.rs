//! The nesting-depth guard for JSON that serde reads from a stream.
//!
//! serde_json recurses once per nesting level of a value it decodes, and
//! skips values it ignores without a limit; a hostile file could nest
//! deeply enough to exhaust the stack or just waste time. The guard sees
//! every byte first and stops the read once nesting passes the limit.

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

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
}

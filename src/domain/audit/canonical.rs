//! Whether a stored `details` text is already canonical: exactly what
//! serde_json writes back for the value it reads from it. The chain hash
//! covers that writing, so a canonical text can be hashed as it is and read
//! without building a `serde_json::Value` first (issue 14: the walk over a
//! million records spent much of its time building and dropping them).
//! Anything else (whitespace, keys out of order or repeated, floats,
//! escapes serde_json would spell otherwise, deep nesting) is not claimed
//! canonical, and the caller parses and rewrites it as before.

/// Nesting left to serde_json (it refuses past 128 levels).
const MAX_DEPTH: usize = 64;

/// True only when serde_json reads `text` into a `Value` and writes that
/// back as exactly `text`. (It may be false for such a text, never true
/// for another.)
pub fn is_canonical(text: &str) -> bool {
    let mut c = Cursor {
        b: text.as_bytes(),
        i: 0,
    };
    c.value(0) && c.i == c.b.len()
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, lit: &[u8]) -> bool {
        let found = self.b[self.i..].starts_with(lit);
        if found {
            self.i += lit.len();
        }
        found
    }

    fn value(&mut self, depth: usize) -> bool {
        match self.peek() {
            Some(b'{') => depth < MAX_DEPTH && self.object(depth + 1),
            Some(b'[') => depth < MAX_DEPTH && self.array(depth + 1),
            Some(b'"') => self.string(true).is_some(),
            Some(b't') => self.eat(b"true"),
            Some(b'f') => self.eat(b"false"),
            Some(b'n') => self.eat(b"null"),
            Some(b'-' | b'0'..=b'9') => self.integer(),
            _ => false,
        }
    }

    /// serde_json's map is sorted by key and holds one value per key: keys
    /// strictly increasing (compared as bytes, as `String`s compare).
    fn object(&mut self, depth: usize) -> bool {
        self.i += 1;
        if self.eat(b"}") {
            return true;
        }
        let mut prev: Option<&'a [u8]> = None;
        loop {
            if self.peek() != Some(b'"') {
                return false;
            }
            let Some(key) = self.string(false) else {
                return false;
            };
            if prev.is_some_and(|p| p >= key) {
                return false;
            }
            prev = Some(key);
            if !self.eat(b":") || !self.value(depth) {
                return false;
            }
            if self.eat(b"}") {
                return true;
            }
            if !self.eat(b",") {
                return false;
            }
        }
    }

    fn array(&mut self, depth: usize) -> bool {
        self.i += 1;
        if self.eat(b"]") {
            return true;
        }
        loop {
            if !self.value(depth) {
                return false;
            }
            if self.eat(b"]") {
                return true;
            }
            if !self.eat(b",") {
                return false;
            }
        }
    }

    /// A string as serde_json writes it: raw but for `"`, `\` and the
    /// control characters, escaped in its spelling. A key takes no escape
    /// (its order would have to be judged on the decoded text). Returns
    /// the text between the quotes.
    fn string(&mut self, escapes: bool) -> Option<&'a [u8]> {
        let b = self.b;
        self.i += 1;
        let start = self.i;
        loop {
            match b.get(self.i)? {
                b'"' => {
                    self.i += 1;
                    return Some(&b[start..self.i - 1]);
                }
                b'\\' if escapes => self.i += escape_len(&b[self.i..])?,
                c if *c < 0x20 || *c == b'\\' => return None,
                _ => self.i += 1,
            }
        }
    }

    /// `0` or a number without a leading zero, with at most 18 digits (so
    /// that it fits both u64 and i64). serde_json reads `-0`, fractions
    /// and exponents as floats, which it writes back otherwise.
    fn integer(&mut self) -> bool {
        let neg = self.eat(b"-");
        let start = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        let digits = &self.b[start..self.i];
        let plain = match digits {
            [] => false,
            [b'0'] => !neg,
            [b'0', ..] => false,
            _ => digits.len() <= 18,
        };
        plain && !matches!(self.peek(), Some(b'.' | b'e' | b'E'))
    }
}

/// The length of the escape `s` starts with, if serde_json writes it so:
/// `\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, or `\u00XX` (lowercase hex)
/// for another control character.
fn escape_len(s: &[u8]) -> Option<usize> {
    match s.get(1)? {
        b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => Some(2),
        b'u' => {
            let hex = |c: u8| match c {
                b'0'..=b'9' => Some(c - b'0'),
                b'a'..=b'f' => Some(c - b'a' + 10),
                _ => None,
            };
            let [b'0', b'0', hi, lo] = *s.get(2..6)? else {
                return None;
            };
            let c = hex(hi)? * 16 + hex(lo)?;
            let short_form = matches!(c, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d);
            (c < 0x20 && !short_form).then_some(6)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// What `is_canonical` stands for.
    fn rewritten(text: &str) -> Option<String> {
        let v: Value = serde_json::from_str(text).ok()?;
        Some(serde_json::to_string(&v).unwrap())
    }

    #[test]
    fn serde_json_sorts_keys_as_this_module_assumes() {
        // (Were serde_json's `preserve_order` feature on, key order would
        // be the text's and this module wrong.)
        assert_eq!(rewritten(r#"{"b":1,"a":2}"#).unwrap(), r#"{"a":2,"b":1}"#);
    }

    #[test]
    fn canonical_only_when_serde_json_writes_the_text_back() {
        let canonical = [
            "{}",
            "[]",
            "null",
            "0",
            "-7",
            "123456789012345678",
            r#""""#,
            r#"{"a":1,"b":[true,false,null,"x"],"c":{"d":-12}}"#,
            r#"{"reason":"nightly \"run\" café\n","snapshotId":"syft-1"}"#,
            r#"["\u0000\u001f\b\f\n\r\t\\\"/é"]"#,
            r#"{"A":1,"B":2,"a":3,"é":4}"#,
        ];
        for t in canonical {
            assert!(is_canonical(t), "{t}");
            assert_eq!(rewritten(t).as_deref(), Some(t), "{t}");
        }
        let not = [
            "",
            " {}",
            "{} ",
            r#"{"a": 1}"#,
            r#"{"b":1,"a":2}"#,
            r#"{"a":1,"a":2}"#,
            r#"{"a\u0062":1}"#,
            "1.0",
            "1e3",
            "-0",
            "01",
            "-",
            "1234567890123456789",
            "[1,]",
            "[1",
            "{\"a\":1,}",
            "{\"a\"}",
            r#""\/""#,
            r#""\u00e9""#,
            r#""\u000a""#,
            r#""\u001F""#,
            r#""\ud800""#,
            r#""\x""#,
            "\"\n\"",
            "tru",
            "nul",
            "[true false]",
            "\"unterminated",
        ];
        for t in not {
            assert!(!is_canonical(t), "{t}");
        }
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(!is_canonical(&deep));
    }

    #[test]
    fn what_serde_json_writes_is_canonical_but_floats() {
        let values = [
            serde_json::json!({"snapshotId": "trivy-20251101T000000Z-001", "tool": "trivy", "recordCount": 40, "files": ["a b.json"], "warnings": [], "reason": null, "backfill": true}),
            serde_json::json!({"error": "line 1:\tbad \"x\"\u{1}\u{7f}", "nested": {"z": [1, -2, {"y": "\u{0}"}]}}),
            serde_json::json!([u64::MAX / 100_000, i64::MIN / 100_000, "", {}]),
        ];
        for v in values {
            let t = serde_json::to_string(&v).unwrap();
            assert!(is_canonical(&t), "{t}");
        }
    }
}

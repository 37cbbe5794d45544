//! Text from feeds and requests made safe to print on a terminal.

use std::borrow::Cow;
use std::fmt::Write;

/// Escapes what a terminal would act on instead of showing: C0 and C1
/// control characters (ESC, CR, LF, BEL, …), DEL, and the Unicode bidi
/// controls that reorder a line. A feed's package name, version, location or
/// a reason could otherwise rewrite the operator's screen or forge rows of a
/// diff. `\n`, `\r` and `\t` become those two-character escapes, anything
/// else `\u{…}`. Text without such characters is returned as is.
///
/// Used by every human-readable output (CLI tables, details, diffs,
/// warnings, errors; the console's cells). JSON output is never escaped
/// here: serde_json already escapes control characters.
pub fn escape_control(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// [`escape_control`] into an owned string.
pub fn escaped(s: &str) -> String {
    escape_control(s).into_owned()
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_escaped_and_plain_text_is_borrowed() {
        assert!(matches!(
            escape_control("left-pad 1.3.0 ✓"),
            Cow::Borrowed(_)
        ));
        assert_eq!(
            escape_control("a\x1b[2J\rb\nc\u{7f}\u{9b}\u{202e}d\te"),
            "a\\u{1b}[2J\\rb\\nc\\u{7f}\\u{9b}\\u{202e}d\\te"
        );
    }
}

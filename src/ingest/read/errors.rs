//! serde_json's errors in snapgov's terms: every [`IngestError`] names the
//! file, the JSON path of the offending value and its position in the file.

use crate::ingest::{IngestError, Limits};
use serde::de::DeserializeOwned;
use std::io;

/// Path shown for an error about the document as a whole.
pub(crate) const TOP_LEVEL: &str = "(top level)";

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
/// of the value being decoded (as `serde_path_to_error` prints it); `at` is
/// where that value starts in the file.
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
            invalid(display, path, message)
        }
    }
}

/// The serde_json message without its " at line L column C" suffix.
fn strip_position(err: &serde_json::Error) -> String {
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

/// `Invalid` error: the value at `path` breaks a rule of the format.
pub(crate) fn invalid(display: &str, path: String, message: impl Into<String>) -> IngestError {
    IngestError::Invalid {
        file: display.to_string(),
        path,
        message: message.into(),
    }
}

/// `Invalid` error for a required field that is present but empty.
pub(crate) fn empty_field(display: &str, path: String, field: &str) -> IngestError {
    invalid(display, path, format!("required field `{field}` is empty"))
}

/// Decodes one buffered value that started at `at` in the file; errors carry
/// `path` joined with the path inside the value, and file positions.
pub(crate) fn decode_slice<T: DeserializeOwned>(
    bytes: &[u8],
    at: Pos,
    path: &str,
    display: &str,
    limits: &Limits,
) -> Result<T, IngestError> {
    // Fast path; on failure decode again, tracking the path for the message.
    if let Ok(v) = serde_json::from_slice::<T>(bytes) {
        return Ok(v);
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let result = match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(v) => de.end().map(|_| v).map_err(|e| (String::new(), e)),
        Err(e) => Err((e.path().to_string(), e.into_inner())),
    };
    result.map_err(|(inner, err)| {
        let full = join_path(path, &inner);
        json_error(err, Some(&full), display, limits, false, at)
    })
}

/// `artifacts[3]` + `name` → `artifacts[3].name`; the top level (`.`, empty)
/// adds nothing.
pub(crate) fn join_path(base: &str, inner: &str) -> String {
    match (base, inner) {
        (_, "" | ".") => base.to_string(),
        (TOP_LEVEL | "", _) => inner.to_string(),
        (_, i) if i.starts_with('[') => format!("{base}{i}"),
        _ => format!("{base}.{inner}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join() {
        assert_eq!(join_path("artifacts[3]", "name"), "artifacts[3].name");
        assert_eq!(join_path("artifacts[3]", "."), "artifacts[3]");
        assert_eq!(
            join_path("Results[0]", "Packages[2].Name"),
            "Results[0].Packages[2].Name"
        );
        assert_eq!(join_path("x", "[1]"), "x[1]");
        assert_eq!(join_path(TOP_LEVEL, "a"), "a");
    }
}

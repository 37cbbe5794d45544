//! Printing: tables for people, the spec's JSON for scripts.

pub use super::glyphs::freshness_glyph;
use super::glyphs::state_glyph;
use crate::domain::snapshot::{Snapshot, SnapshotState};
/// Every feed- or user-supplied text in human output goes through this.
pub use crate::domain::text::escaped as esc;
use crate::domain::time::{fmt_duration, fmt_ts};
use crate::ops::OpError;
use chrono::{DateTime, Utc};
use serde_json::json;
use std::io::IsTerminal;

/// Whether to colour output. State words always carry a glyph too, so
/// nothing depends on colour alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Style {
    pub color: bool,
}

impl Style {
    pub fn detect(no_color: bool) -> Style {
        let env_off = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Style {
            color: !no_color && !env_off && std::io::stdout().is_terminal(),
        }
    }

    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    pub fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }

    /// A snapshot state as glyph + word.
    pub fn state(&self, s: SnapshotState) -> String {
        let code = match s {
            SnapshotState::Active => "1;32",
            SnapshotState::Previous => "0",
            SnapshotState::Archived => "36",
            SnapshotState::Expired => "35",
            SnapshotState::Failed => "1;31",
            SnapshotState::Deleted => "2",
        };
        self.paint(code, &format!("{} {}", state_glyph(s), s.as_str()))
    }
}

/// `s` as one word of a POSIX shell command, quoted only when it needs to
/// be: a store URL's `&` or `?` would otherwise cut a pasted command short.
pub fn shell_word(s: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Prints rows as aligned columns (widths by character count).
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let visible = |s: &str| strip_ansi(s).chars().count();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(visible(c));
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<String>, out: &mut String| {
        let n = cells.len();
        for (i, c) in cells.into_iter().enumerate() {
            out.push_str(&c);
            if i + 1 < n {
                out.push_str(&" ".repeat(widths[i] - visible(&c) + 2));
            }
        }
        out.push('\n');
    };
    line(headers.iter().map(|h| h.to_string()).collect(), &mut out);
    for r in rows {
        line(r.clone(), &mut out);
    }
    out
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_esc = false;
    for c in s.chars() {
        if in_esc {
            if c == 'm' {
                in_esc = false;
            }
        } else if c == '\x1b' {
            in_esc = true;
        } else {
            out.push(c);
        }
    }
    out
}

pub fn age(since: DateTime<Utc>, now: DateTime<Utc>) -> String {
    fmt_duration((now - since).max(chrono::Duration::zero()))
}

pub fn snapshots_table(style: &Style, snaps: &[Snapshot], now: DateTime<Utc>) -> String {
    let rows: Vec<Vec<String>> = snaps
        .iter()
        .map(|s| {
            vec![
                esc(s.id.as_str()),
                style.state(s.state),
                fmt_ts(s.imported_at),
                age(s.imported_at, now),
                s.record_count.to_string(),
                esc(s.previous_snapshot.as_deref().unwrap_or("-")),
            ]
        })
        .collect();
    table(
        &["ID", "STATE", "IMPORTED AT", "AGE", "RECORDS", "PREVIOUS"],
        &rows,
    )
}

pub fn snapshot_detail(style: &Style, s: &Snapshot, now: DateTime<Utc>) -> String {
    let mut out = String::new();
    let mut kv = |k: &str, v: String| out.push_str(&format!("{:<16} {v}\n", format!("{k}:")));
    kv("id", style.bold(&esc(s.id.as_str())));
    kv(
        "tool",
        esc(format!("{} {}", s.tool, s.tool_version.as_deref().unwrap_or("")).trim_end()),
    );
    kv("state", style.state(s.state));
    kv(
        "imported at",
        format!(
            "{} ({} ago)",
            fmt_ts(s.imported_at),
            age(s.imported_at, now)
        ),
    );
    kv("records", s.record_count.to_string());
    if let Some(st) = &s.stats {
        let sev: Vec<String> = st
            .by_severity
            .iter()
            .map(|(k, v)| format!("{} {v}", esc(k)))
            .collect();
        kv(
            "  of which",
            format!(
                "{} packages, {} findings{}",
                st.packages,
                st.vulnerabilities,
                if sev.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", sev.join(", "))
                }
            ),
        );
    }
    kv("source hash", esc(&s.source_hash));
    kv(
        "normalized hash",
        esc(s.normalized_hash.as_deref().unwrap_or("-")),
    );
    kv(
        "previous",
        esc(s.previous_snapshot.as_deref().unwrap_or("-")),
    );
    kv("format", esc(s.format.as_deref().unwrap_or("-")));
    if let Some(v) = &s.schema_version {
        kv("schema", esc(v));
    }
    if let Some(g) = &s.generated_at {
        kv("generated at", esc(g));
    }
    kv("imported by", esc(&s.metadata.import_user));
    kv(
        "reason",
        esc(s.metadata.import_reason.as_deref().unwrap_or("-")),
    );
    kv(
        "source uri",
        esc(s.metadata.source_uri.as_deref().unwrap_or("-")),
    );
    if let Some(f) = &s.failure_reason {
        kv("failure", esc(f));
    }
    for w in &s.warnings {
        kv("warning", esc(w));
    }
    out
}

fn error_kind(e: &OpError) -> &'static str {
    match e {
        OpError::Store(_) => "store",
        OpError::Usage(_) => "usage",
        OpError::NotFound(_) => "not_found",
        OpError::Rejected { .. } => "rejected",
        OpError::Blocked(_) => "blocked",
        OpError::Conflict(_) => "conflict",
        OpError::Integrity(_) => "integrity",
        OpError::Invalid(_) => "invalid",
        OpError::Fault(_) => "fault",
    }
}

/// Errors go to stderr: a sentence for people, or a JSON object with --json.
pub fn print_error(e: &OpError, json: bool) {
    let message = e.worded(&super::words::CliWords);
    if json {
        let mut err = json!({"kind": error_kind(e), "exitCode": e.exit_code(), "message": message});
        // The codes behind the wording, for scripts that act on them.
        if let Some(h) = e.hint() {
            err["hint"] = json!(h.code());
        }
        if let Some(p) = e.param() {
            err["param"] = json!(p.code());
        }
        eprintln!("{}", json!({ "error": err }));
    } else {
        // Errors echo input (ids, file names, feed values): escaped.
        eprintln!("error: {}", esc(&message));
    }
}

pub fn print_json(v: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(v).expect("json serializes")
    );
}

#[cfg(test)]
mod tests {
    use super::shell_word;

    #[test]
    fn a_shell_word_is_quoted_only_when_it_must_be() {
        assert_eq!(
            shell_word("/var/lib/snapgov/store.db"),
            "/var/lib/snapgov/store.db"
        );
        assert_eq!(
            shell_word("postgres://u@h/db?sslmode=disable&options=-csearch_path%3Ds"),
            "'postgres://u@h/db?sslmode=disable&options=-csearch_path%3Ds'"
        );
        assert_eq!(shell_word("it's here"), "'it'\\''s here'");
        assert_eq!(shell_word(""), "''");
    }
}

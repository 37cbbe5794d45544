//! Text for the screens: ages, short hashes, cut strings, JSON and text
//! fields, and the freshness badge.

use crate::console::theme::{freshness_glyph, freshness_word, state_glyph, Theme};
use crate::domain::freshness::{Assessment, Freshness};
use crate::domain::snapshot::SnapshotState;
use chrono::{DateTime, Duration, Utc};
use ratatui::text::Span;

/// A compact age: `45s`, `23h55m`, `8d23h`.
pub fn fmt_age(d: Duration) -> String {
    let s = d.num_seconds().max(0);
    let (days, h, m) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60);
    if days > 0 {
        format!("{days}d{h}h")
    } else if h > 0 {
        format!("{h}h{m:02}m")
    } else if m > 0 {
        format!("{m}m")
    } else {
        format!("{s}s")
    }
}

pub fn age(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    fmt_age(now - t)
}

/// `b3:bdaba0941fd3…`: enough of a hash to tell two apart.
pub fn short_hash(h: Option<&str>, n: usize) -> String {
    match h {
        None => "-".into(),
        Some(h) if h.chars().count() <= n => h.to_string(),
        Some(h) => format!(
            "{}…",
            h.chars().take(n.saturating_sub(1)).collect::<String>()
        ),
    }
}

pub fn fit(s: &str, w: usize) -> String {
    if s.chars().count() <= w {
        s.to_string()
    } else if w == 0 {
        String::new()
    } else {
        format!("{}…", s.chars().take(w - 1).collect::<String>())
    }
}

/// A JSON document as lines, for detail panes.
pub fn json_lines(v: &impl serde::Serialize) -> Vec<String> {
    serde_json::to_string_pretty(v)
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

/// A text field as drawn: its text with the cursor (`▏`) where it is,
/// the end kept in view when the text is wider than `width`.
pub fn field_text(f: &crate::console::widgets::TextField, focused: bool, width: usize) -> String {
    let chars: Vec<char> = f.text().chars().collect();
    let cur = f.cursor().min(chars.len());
    let mut s: String = chars[..cur].iter().collect();
    if focused {
        s.push('▏');
    }
    s.extend(&chars[cur..]);
    let n = s.chars().count();
    if width > 1 && n > width {
        // Keep the cursor in view: cut from the left.
        let skip = (cur + 2).saturating_sub(width).min(n - width);
        let rest: String = s.chars().skip(skip + 1).take(width - 1).collect();
        return format!("…{rest}");
    }
    s
}

/// A freshness state as drawn everywhere: its glyph, then `word`, in the
/// state's style.
pub fn badge<'a>(state: Freshness, overdue: bool, word: &str, theme: &Theme) -> Span<'a> {
    Span::styled(
        format!("{} {word}", freshness_glyph(state, overdue)),
        theme.freshness(state, overdue),
    )
}

/// An assessment's badge with the state's full word ("stale (overdue)").
pub fn freshness_badge<'a>(a: &Assessment, theme: &Theme) -> Span<'a> {
    badge(
        a.state,
        a.overdue,
        freshness_word(a.state, a.overdue),
        theme,
    )
}

/// A snapshot state as drawn in lists: its glyph and word, in its style.
pub fn state_badge<'a>(s: SnapshotState, theme: &Theme) -> Span<'a> {
    Span::styled(format!("{} {s}", state_glyph(s)), theme.state(s))
}

//! The timelines: one mark per snapshot (its state's glyph), the SLA
//! thresholds as guides, the axis under them and the legend.

use super::super::fmt_age;
use crate::console::data::ToolLine;
use crate::console::theme::{freshness_glyph, Theme};
use crate::domain::freshness::{Freshness, Thresholds};
use crate::domain::snapshot::{Snapshot, SnapshotState};
use chrono::{DateTime, Duration, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

/// A duration in whole days when it is one (`14d`), else as an age.
pub fn days(d: Duration) -> String {
    if d.num_seconds() % 86_400 == 0 {
        format!("{}d", d.num_days())
    } else {
        fmt_age(d)
    }
}

/// A timeline mark's glyph: the snapshot's state (not its age), each with
/// a shape of its own so that the timeline reads without colour.
pub fn mark_glyph(state: SnapshotState, rolled_back_from: bool) -> &'static str {
    if rolled_back_from && state != SnapshotState::Active {
        return "↶";
    }
    match state {
        SnapshotState::Active => "◆",
        SnapshotState::Previous => "○",
        SnapshotState::Archived => "▣",
        SnapshotState::Expired => "⊘",
        SnapshotState::Failed => "✗",
        SnapshotState::Deleted => "·",
    }
}

/// The marker of an active snapshot imported before the window.
pub const OFF_WINDOW: &str = "◀";

/// A timeline mark's style: the same as the state's everywhere (legend,
/// lists), so a glyph never changes colour from one place to another.
pub fn mark_style(state: SnapshotState, rolled_back_from: bool, theme: &Theme) -> Style {
    if rolled_back_from && state != SnapshotState::Active {
        theme.warn().add_modifier(ratatui::style::Modifier::BOLD)
    } else {
        theme.state(state)
    }
}

/// One snapshot on a timeline: its glyph and style.
pub fn mark(s: &Snapshot, t: &ToolLine, theme: &Theme) -> (&'static str, Style) {
    let rb = t.rolled_back_from.contains(s.id.as_str());
    (mark_glyph(s.state, rb), mark_style(s.state, rb, theme))
}

fn priority(s: SnapshotState, rolled_back_from: bool) -> u8 {
    match s {
        SnapshotState::Active => 7,
        _ if rolled_back_from => 6,
        SnapshotState::Failed => 5,
        SnapshotState::Expired => 4,
        SnapshotState::Previous => 3,
        SnapshotState::Archived => 2,
        SnapshotState::Deleted => 1,
    }
}

fn column_of(t: DateTime<Utc>, start: DateTime<Utc>, span: i64, width: u16) -> Option<u16> {
    let d = (t - start).num_seconds();
    if d < 0 || width == 0 {
        return None;
    }
    Some(((d as i128 * width as i128 / span.max(1) as i128) as u16).min(width - 1))
}

/// Whether the tool's active snapshot was imported before the window.
pub fn active_off_window(t: &ToolLine, now: DateTime<Utc>, window_days: i64) -> bool {
    t.active()
        .is_some_and(|a| a.imported_at < now - Duration::days(window_days))
}

/// One tool's timeline: days along x, now at the right edge; threshold
/// guides where no snapshot is. `cursor`: the mark the timeline cursor is
/// on (an index into the tool's marks).
pub fn timeline(
    t: &ToolLine,
    now: DateTime<Utc>,
    window_days: i64,
    cursor: Option<usize>,
    theme: &Theme,
    area: Rect,
    buf: &mut Buffer,
) {
    let w = area.width;
    if w == 0 {
        return;
    }
    let span = Duration::days(window_days).num_seconds();
    let start = now - Duration::days(window_days);
    let th = &t.sla.thresholds;
    for (d, f) in [
        (th.critical, Freshness::Critical),
        (th.stale, Freshness::Stale),
        (th.max_age, Freshness::Fresh),
    ] {
        if let Some(c) = column_of(now - d, start, span, w) {
            buf.set_stringn(area.x + c, area.y, "┊", 1, theme.guide(f));
        }
    }
    let mut best: Vec<Option<&Snapshot>> = vec![None; w as usize];
    let prio = |s: &Snapshot| priority(s.state, t.rolled_back_from.contains(s.id.as_str()));
    for s in &t.marks {
        let Some(c) = column_of(s.imported_at, start, span, w) else {
            continue;
        };
        let slot = &mut best[c as usize];
        match slot {
            Some(b) if prio(b) >= prio(s) => {}
            _ => *slot = Some(s),
        }
    }
    for (c, s) in best.iter().enumerate() {
        if let Some(s) = s {
            let (g, st) = mark(s, t, theme);
            buf.set_stringn(area.x + c as u16, area.y, g, 1, st);
        }
    }
    if active_off_window(t, now, window_days) {
        buf.set_stringn(
            area.x,
            area.y,
            OFF_WINDOW,
            1,
            theme.state(SnapshotState::Active),
        );
    }
    if let Some(s) = cursor.and_then(|i| t.marks.get(i)) {
        if let Some(c) = column_of(s.imported_at, start, span, w) {
            let (g, st) = mark(s, t, theme);
            buf.set_stringn(area.x + c, area.y, g, 1, st.patch(theme.focus()));
        }
    }
}

pub fn axis(
    th: &Thresholds,
    window_days: i64,
    theme: &Theme,
    line: Rect,
    labels: Rect,
    buf: &mut Buffer,
) {
    let w = line.width;
    if w < 2 {
        return;
    }
    let span = Duration::days(window_days).num_seconds();
    let now = DateTime::<Utc>::UNIX_EPOCH + Duration::days(100_000);
    let start = now - Duration::days(window_days);
    buf.set_stringn(
        line.x,
        line.y,
        "─".repeat(w as usize),
        w as usize,
        theme.dim(),
    );
    buf.set_stringn(line.x + w - 1, line.y, "┤", 1, theme.dim());
    let mut marks: Vec<(u16, String, Style, Anchor)> = vec![
        (w - 1, "now".into(), theme.dim(), Anchor::Right),
        (0, format!("-{window_days}d"), theme.dim(), Anchor::Left),
    ];
    for (d, f, o) in [
        (th.critical, Freshness::Critical, false),
        (th.stale, Freshness::Stale, true),
        (th.max_age, Freshness::Stale, false),
    ] {
        if let Some(c) = column_of(now - d, start, span, w) {
            buf.set_stringn(
                line.x + c,
                line.y,
                "┴",
                1,
                theme.guide(if o { Freshness::Stale } else { f }),
            );
            marks.push((
                c,
                format!("{}{}", freshness_glyph(f, o), days(d)),
                theme.freshness(f, o),
                Anchor::Centre,
            ));
        }
    }
    place_labels(marks, labels, buf);
}

/// How a label sits on its column.
#[derive(Clone, Copy, PartialEq)]
enum Anchor {
    Left,
    Centre,
    Right,
}

/// Writes the axis labels (column, text, style, anchor) in order: a label
/// that would touch one already placed moves a little or is left out.
fn place_labels(marks: Vec<(u16, String, Style, Anchor)>, labels: Rect, buf: &mut Buffer) {
    let w = labels.width;
    // "now" and the window's start come first, then the thresholds (one
    // space between labels): the help and the header say the rest.
    let mut placed: Vec<(u16, u16)> = Vec::new();
    for (c, text, style, anchor) in marks {
        let len = text.chars().count() as u16;
        if len > w {
            continue;
        }
        let pref = match anchor {
            Anchor::Left => 0,
            Anchor::Right => (w - len) as i32,
            Anchor::Centre => c.saturating_sub(len / 2).min(w - len) as i32,
        };
        let spot = [0i32, -1, 1, -2, 2, -3, 3, -4, 4].iter().find_map(|d| {
            let x = pref + d;
            if x < 0 || x as u16 + len > w {
                return None;
            }
            let x = x as u16;
            let free = placed.iter().all(|&(a, b)| x + len < a || x > b + 1);
            free.then_some(x)
        });
        if let Some(x) = spot {
            buf.set_stringn(labels.x + x, labels.y, &text, len as usize, style);
            placed.push((x, x + len - 1));
        }
    }
}

pub fn legend(theme: &Theme, area: Rect, buf: &mut Buffer) {
    // The long form if it fits, else a compact one.
    for compact in [false, true] {
        let gap = if compact { " " } else { "  " };
        let sep = if compact { "" } else { " " };
        let mut spans = vec![Span::styled(
            if compact { "" } else { " marks: " },
            theme.dim(),
        )];
        for (state, rb, word) in [
            (SnapshotState::Active, false, "active"),
            (SnapshotState::Previous, false, "previous"),
            (SnapshotState::Archived, false, "archived"),
            (
                SnapshotState::Previous,
                true,
                if compact {
                    "rolledback"
                } else {
                    "rolled back from"
                },
            ),
            (SnapshotState::Failed, false, "failed"),
            (SnapshotState::Expired, false, "expired"),
            (SnapshotState::Deleted, false, "deleted"),
        ] {
            spans.push(Span::styled(
                format!("{}{sep}{word}", mark_glyph(state, rb)),
                mark_style(state, rb, theme),
            ));
            spans.push(Span::raw(gap));
        }
        spans.push(Span::styled(
            format!(
                "{OFF_WINDOW}{sep}{}",
                if compact { "older" } else { "active, older" }
            ),
            theme.state(SnapshotState::Active),
        ));
        spans.push(Span::raw(gap));
        spans.push(Span::styled(
            format!("┊{sep}{}", if compact { "sla" } else { "SLA threshold" }),
            theme.dim(),
        ));
        let line = Line::from(spans);
        if compact || line.width() <= area.width as usize {
            buf.set_line(area.x, area.y, &line, area.width);
            return;
        }
    }
}

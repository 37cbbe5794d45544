//! A tool's snapshot list (Enter on the overview), newest first, with the
//! selected snapshot's record beside it (or instead of it when narrow).

use super::super::{age, boxed, col, fit, head, json_lines, paragraph, rcol};
use super::super::{short_hash, spinner, state_badge, Rows, Table};
use crate::console::app::{App, SnapList};
use crate::console::theme::Theme;
use crate::console::widgets::{escape, Pane};
use crate::domain::snapshot::Snapshot;
use crate::domain::time::fmt_ts;
use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

pub struct ListLayout {
    pub list_box: Option<Rect>,
    detail_box: Option<Rect>,
}

pub fn list_layout(list: &SnapList, body: Rect) -> ListLayout {
    if body.width >= 100 {
        let lw = body.width * 58 / 100;
        ListLayout {
            list_box: Some(Rect::new(body.x, body.y, lw, body.height)),
            detail_box: Some(Rect::new(body.x + lw, body.y, body.width - lw, body.height)),
        }
    } else if list.focus == Pane::Detail {
        ListLayout {
            list_box: None,
            detail_box: Some(body),
        }
    } else {
        ListLayout {
            list_box: Some(body),
            detail_box: None,
        }
    }
}

pub fn rows_of(b: Rect) -> Rect {
    // Inside the border, below the header row.
    Rect::new(
        b.x + 1,
        b.y + 2,
        b.width.saturating_sub(2),
        b.height.saturating_sub(3),
    )
}

pub fn snapshot_list(app: &App, list: &SnapList, theme: &Theme, body: Rect, buf: &mut Buffer) {
    let l = list_layout(list, body);
    if let Some(b) = l.list_box {
        snapshot_table(app, list, theme, b, buf);
    }
    if let Some(b) = l.detail_box {
        snapshot_detail(app, list, theme, b, buf);
    }
}

fn snapshot_table(app: &App, list: &SnapList, theme: &Theme, b: Rect, buf: &mut Buffer) {
    let now = app.now();
    let title = format!(
        "{} · snapshots, newest first · {}/{}{}",
        list.tool,
        (list.nav.sel + 1).min(list.items.len()),
        list.items.len(),
        if list.exhausted { "" } else { "+" }
    );
    let inner = boxed(&title, list.focus == Pane::List, theme, b, buf);
    let cols = [
        col("STATE", 10),
        col("ID", 20),
        col("IMPORTED AT", 20),
        rcol("AGE", 7),
        rcol("RECORDS", 7),
        rcol("Δ", 5),
        col("NORMALIZED", 12),
        col("SOURCE", 12),
        col("WARNINGS", 10),
    ];
    let keep = head(&cols, &[7, 6, 8, 2], theme, inner, buf);
    let rows = rows_of(b);
    let table = Table::new(&cols, &keep, rows);
    let shown = Rows::new(list.items.len(), list.nav, list.focus == Pane::List);
    table.scrolled(app, shown, b, theme, buf, |i| {
        snapshot_cells(list, i, now, theme)
    });
    if list.items.is_empty() {
        let msg = match (&list.error, list.req) {
            (Some(e), _) => e.clone(),
            (None, Some(_)) => format!("{} loading…", spinner(app)),
            _ => "no snapshots".into(),
        };
        buf.set_stringn(rows.x, rows.y, msg, rows.width as usize, theme.dim());
    }
}

/// The `i`th snapshot's row, in the table's column order.
fn snapshot_cells<'a>(
    list: &SnapList,
    i: usize,
    now: DateTime<Utc>,
    theme: &Theme,
) -> Vec<Vec<Span<'a>>> {
    let s = &list.items[i];
    let delta = match list.delta(i) {
        Some(0) => "0".to_string(),
        Some(d) => format!("{d:+}"),
        None => "-".to_string(),
    };
    let warn = if let Some(f) = &s.failure_reason {
        Span::styled(fit(f, 10), theme.error())
    } else if s.warnings.is_empty() {
        Span::styled("-", theme.dim())
    } else {
        Span::styled(format!("⚠ {}", s.warnings.len()), theme.warn())
    };
    let id =
        s.id.as_str()
            .strip_prefix(&format!("{}-", s.tool))
            .unwrap_or(s.id.as_str())
            .to_string();
    vec![
        vec![state_badge(s.state, theme)],
        vec![Span::raw(id)],
        vec![Span::raw(fmt_ts(s.imported_at))],
        vec![Span::raw(age(s.imported_at, now))],
        vec![Span::raw(s.record_count.to_string())],
        vec![Span::raw(delta)],
        vec![Span::raw(short_hash(s.normalized_hash.as_deref(), 12))],
        vec![Span::raw(short_hash(Some(&s.source_hash), 12))],
        vec![warn],
    ]
}

/// The selected snapshot: its state, hold, failure and warnings, then its
/// record as JSON.
fn snapshot_detail(app: &App, list: &SnapList, theme: &Theme, b: Rect, buf: &mut Buffer) {
    let sel = list.items.get(list.nav.sel);
    let title = sel
        .map(|s| format!("{} · the snapshot record", s.id))
        .unwrap_or_else(|| "snapshot".into());
    let inner = boxed(&title, list.focus == Pane::Detail, theme, b, buf);
    let Some(s) = sel else {
        return;
    };
    let now = app.now();
    let mut lines: Vec<Line> = vec![Line::from(vec![
        state_badge(s.state, theme),
        Span::raw(format!("  imported {} ago", age(s.imported_at, now))),
    ])];
    lines.push(hold_line(app, s, now, theme));
    if let Some(f) = &s.failure_reason {
        lines.push(Line::styled(
            format!("failed: {}", escape(f)),
            theme.error(),
        ));
    }
    for w in &s.warnings {
        lines.push(Line::styled(format!("⚠ {w}"), theme.warn()));
    }
    lines.extend(json_lines(&s).into_iter().map(Line::raw));
    paragraph(lines, list.detail_scroll, inner, buf);
}

fn hold_line<'a>(app: &App, s: &Snapshot, now: DateTime<Utc>, theme: &Theme) -> Line<'a> {
    match app.overview.as_ref().and_then(|o| o.hold_of(s.id.as_str())) {
        Some(h) => Line::styled(
            format!(
                "retention hold until {} by {}: {}{}",
                fmt_ts(h.expires_at),
                escape(&h.created_by),
                escape(&h.reason),
                if h.expires_at <= now { " (lapsed)" } else { "" }
            ),
            theme.key(),
        ),
        None => Line::styled("no retention hold", theme.dim()),
    }
}

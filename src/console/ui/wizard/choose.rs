//! Steps 1 and 2: the tool, then the snapshot to roll it back to.

use super::super::rcol;
use super::super::{age, badge, below, col, fit, fit_columns, freshness_badge, head, header_row};
use super::super::{short_hash, spinner, state_badge, Table};
use crate::console::app::App;
use crate::console::data::Targets;
use crate::console::theme::Theme;
use crate::console::widgets::escape;
use crate::domain::snapshot::{Snapshot, SnapshotState};
use crate::domain::time::fmt_ts;
use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

/// The rows of a step's list: below its intro line and its header.
pub(super) fn rows_of(inner: Rect) -> Rect {
    below(inner, 2, 1)
}

pub fn tool_step(app: &App, theme: &Theme, inner: Rect, buf: &mut Buffer) {
    let w = &app.wizard;
    buf.set_stringn(
        inner.x + 1,
        inner.y,
        "Which tool's active data should go back to an earlier snapshot?",
        inner.width as usize,
        theme.dim(),
    );
    let cols = [
        col("TOOL", 14),
        col("FRESHNESS", 17),
        col("ACTIVE SNAPSHOT", 34),
        rcol("RECORDS", 8),
    ];
    let keep = head(&cols, &[2], theme, below(inner, 1, 0), buf);
    let table = Table::new(&cols, &keep, rows_of(inner));
    let shown = app.rows_shown(w.tools.len(), w.tool_nav, table.rows.height as usize, true);
    for (row, i) in shown.into_iter().enumerate() {
        let t = &w.tools[i];
        let line = app
            .overview
            .as_ref()
            .and_then(|o| o.tools.iter().find(|x| x.name() == t.name));
        let fresh = match line.and_then(|l| l.sla.assessment) {
            Some(a) => freshness_badge(&a, theme),
            None => Span::styled("-", theme.dim()),
        };
        let dim = t.active.is_none();
        let cells = vec![
            vec![Span::styled(
                t.name.clone(),
                if dim { theme.dim() } else { theme.title() },
            )],
            vec![fresh],
            vec![Span::styled(
                t.active
                    .clone()
                    .unwrap_or_else(|| "no active snapshot".into()),
                if dim { theme.dim() } else { Default::default() },
            )],
            vec![Span::raw(
                line.and_then(|l| l.active())
                    .map(|a| a.record_count.to_string())
                    .unwrap_or_else(|| "-".into()),
            )],
        ];
        let selected = (i == w.tool_nav.sel).then_some(true);
        table.row(app, row, &cells, selected, theme, buf);
    }
}

pub fn target_step(app: &App, theme: &Theme, inner: Rect, buf: &mut Buffer) {
    let w = &app.wizard;
    let Some(t) = &w.targets else {
        let msg = match &w.failure {
            Some(f) => Line::styled(format!("✗ {} — {}", f.message, f.next), theme.error()),
            None => Line::styled(
                format!(
                    "{} loading {}'s snapshots…",
                    spinner(app),
                    w.tool.as_deref().unwrap_or("")
                ),
                theme.warn(),
            ),
        };
        buf.set_line(inner.x + 1, inner.y, &msg, inner.width.saturating_sub(1));
        return;
    };
    target_intro(t, theme, inner, buf);
    let mut cols = [
        col("", 9),
        col("STATE", 10),
        col("SNAPSHOT", 33),
        col("IMPORTED AT", 20),
        rcol("AGE", 7),
        rcol("RECORDS", 7),
        rcol("Δ ACTIVE", 8),
        col("NORMALIZED", 14),
        col("AFTER", 10),
        col("NOTE", 0),
    ];
    let mut keep = fit_columns(&cols[..9], &[7, 3, 5, 6], inner.width);
    // The note (why a target was rolled back from) takes what is left.
    let used: u16 = keep.iter().map(|&i| cols[i].width + 1).sum();
    let rest = inner.width.saturating_sub(used + 1);
    if rest >= 16 {
        cols[9] = col("NOTE", rest);
        keep.push(9);
    }
    header_row(&cols, &keep, theme, inner.x, inner.y + 1, inner.width, buf);
    let table = Table::new(&cols, &keep, rows_of(inner));
    let now = app.now();
    let shown = app.rows_shown(t.list.len(), w.target_nav, table.rows.height as usize, true);
    for (row, i) in shown.into_iter().enumerate() {
        let cells = target_cells(t, &t.list[i], now, theme);
        let selected = (i == w.target_nav.sel).then_some(true);
        table.row(app, row, &cells, selected, theme, buf);
    }
    if let Some(f) = &w.failure {
        buf.set_stringn(
            inner.x + 1,
            inner.bottom().saturating_sub(1),
            format!("✗ {} — {}", f.message, f.next),
            inner.width as usize,
            theme.error(),
        );
    }
}

/// "Roll syft back from … to (…):", cut to the width.
fn target_intro(t: &Targets, theme: &Theme, inner: Rect, buf: &mut Buffer) {
    let legend = format!(
        " ({} records) to (AFTER: the freshness after the rollback · ▣ archived · ↶ rolled back from before · default: the previous snapshot):",
        t.active.record_count
    );
    let room = (inner.width as usize)
        .saturating_sub(2 + t.tool.len() + 16 + t.active.id.as_str().chars().count());
    let intro = Line::from(vec![
        Span::raw(format!("Roll {} back from ", t.tool)),
        Span::styled(t.active.id.to_string(), theme.state(SnapshotState::Active)),
        Span::raw(fit(&legend, room)),
    ]);
    buf.set_line(inner.x + 1, inner.y, &intro, inner.width.saturating_sub(1));
}

/// One target's row: its cells in the target table's column order.
fn target_cells<'a>(
    t: &Targets,
    s: &Snapshot,
    now: DateTime<Utc>,
    theme: &Theme,
) -> Vec<Vec<Span<'a>>> {
    let is_default = t.default.as_deref() == Some(s.id.as_str());
    let delta = s.record_count as i64 - t.active.record_count as i64;
    let why = t.rollback_reason(s.id.as_str());
    vec![
        vec![Span::styled(
            match (is_default, why.is_some()) {
                (true, true) => "↶ default",
                (true, false) => "default",
                (false, true) => "↶",
                (false, false) => "",
            },
            theme.key(),
        )],
        vec![state_badge(s.state, theme)],
        vec![Span::raw(s.id.to_string())],
        vec![Span::raw(fmt_ts(s.imported_at))],
        vec![Span::raw(age(s.imported_at, now))],
        vec![Span::raw(s.record_count.to_string())],
        vec![Span::raw(if delta == 0 {
            "0".to_string()
        } else {
            format!("{delta:+}")
        })],
        vec![Span::raw(short_hash(s.normalized_hash.as_deref(), 14))],
        vec![after_cell(t, s, theme)],
        match why {
            Some(why) => vec![Span::styled(
                format!("↶ rolled back from: {}", escape(why)),
                theme.warn(),
            )],
            None => vec![],
        },
    ]
}

/// The freshness the tool would have after rolling back to `s`.
fn after_cell<'a>(t: &Targets, s: &Snapshot, theme: &Theme) -> Span<'a> {
    let a = t.after(s);
    // Short enough for the column at 80 columns.
    let word = if a.overdue {
        "overdue"
    } else {
        a.state.as_str()
    };
    badge(a.state, a.overdue, word, theme)
}

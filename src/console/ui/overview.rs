//! Screen 1: one row per tool with its timeline, the selected tool's recent
//! snapshots, and (Enter) the tool's full snapshot list with a detail pane.

use super::{
    age, boxed, cells_row, col, fit, fit_columns, header_row, json_lines, paragraph, rcol,
    sel_style, short_hash, Col,
};
use crate::console::app::{App, SnapList};
use crate::console::data::ToolLine;
use crate::console::theme::{freshness_glyph, freshness_word, state_glyph, Theme};
use crate::console::widgets::Pane;
use crate::domain::freshness::{assess, Freshness, Thresholds};
use crate::domain::snapshot::{Snapshot, SnapshotState};
use crate::domain::time::fmt_ts;
use chrono::{DateTime, Duration, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

struct Layout {
    tools_box: Rect,
    rows: Rect,
    axis: Option<Rect>,
    labels: Option<Rect>,
    legend: Option<Rect>,
    recent: Option<Rect>,
}

fn layout(app: &App, body: Rect) -> Layout {
    let n = app.overview.as_ref().map_or(1, |o| o.tools.len().max(1)) as u16;
    // Borders, header, rows, two axis lines, legend.
    let full = n + 6;
    let (h, axis, labels, legend) = if body.height >= full + 5 {
        (full, true, true, true)
    } else if body.height >= n + 5 {
        (n + 5, true, true, false)
    } else {
        (body.height.min(n + 3), false, false, false)
    };
    let tools_box = Rect::new(body.x, body.y, body.width, h);
    let inner = Rect::new(
        tools_box.x + 1,
        tools_box.y + 1,
        tools_box.width.saturating_sub(2),
        h.saturating_sub(2),
    );
    let rows = Rect::new(
        inner.x,
        inner.y + 1,
        inner.width,
        n.min(inner.height.saturating_sub(1)),
    );
    let mut y = rows.bottom();
    let mut line = |on: bool| {
        on.then(|| {
            let r = Rect::new(inner.x, y, inner.width, 1);
            y += 1;
            r
        })
    };
    let axis = line(axis);
    let labels = line(labels);
    let legend = line(legend);
    let rest = body.height.saturating_sub(h);
    let recent = (rest >= 4).then(|| Rect::new(body.x, body.y + h, body.width, rest));
    Layout {
        tools_box,
        rows,
        axis,
        labels,
        legend,
        recent,
    }
}

struct ListLayout {
    list_box: Option<Rect>,
    detail_box: Option<Rect>,
}

fn list_layout(list: &SnapList, body: Rect) -> ListLayout {
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

fn rows_of(b: Rect) -> Rect {
    // Inside the border, below the header row.
    Rect::new(
        b.x + 1,
        b.y + 2,
        b.width.saturating_sub(2),
        b.height.saturating_sub(3),
    )
}

pub fn list_area(app: &App, body: Rect) -> Option<Rect> {
    match &app.snapshots {
        Some(l) => list_layout(l, body).list_box.map(rows_of),
        None => Some(layout(app, body).rows),
    }
}

pub fn render(app: &App, theme: &Theme, body: Rect, buf: &mut Buffer) {
    if let Some(list) = &app.snapshots {
        return snapshot_list(app, list, theme, body, buf);
    }
    let Some(o) = &app.overview else {
        let inner = boxed("Tools", true, theme, body, buf);
        let msg = match &app.load_error {
            Some(e) => format!("cannot load the store: {e}"),
            None => format!("{} loading…", super::spinner(app)),
        };
        buf.set_stringn(inner.x + 1, inner.y, msg, inner.width as usize, theme.dim());
        return;
    };
    let l = layout(app, body);
    let title = format!(
        "Tools · timelines of the last {} days (+ - zoom) · {} tools",
        o.window_days,
        o.tools.len()
    );
    boxed(&title, true, theme, l.tools_box, buf);
    if o.tools.is_empty() {
        buf.set_stringn(
            l.rows.x + 1,
            l.rows.y,
            format!(
                "no tools yet: import a feed with `{}`",
                crate::cli::suggest::import_command()
            ),
            l.rows.width as usize,
            theme.dim(),
        );
        return;
    }
    let name_w = o
        .tools
        .iter()
        .map(|t| t.name().chars().count())
        .max()
        .unwrap_or(4)
        .max(4) as u16;
    let id_w = o
        .tools
        .iter()
        .filter_map(|t| t.active().map(|a| a.id.chars().count()))
        .max()
        .unwrap_or(15)
        .max(15) as u16;
    let short_id_w = 20u16;
    let width = l.rows.width;
    // Wide: full ids, "stale (overdue)", the record count. Narrow (80
    // columns): the id without the tool's name, "overdue", and the record
    // count left to the panel below; the timeline keeps at least 20 cells.
    let fixed = |idw: u16, fresh: u16, records: bool| {
        name_w + 1 + idw + 1 + 7 + 1 + fresh + 1 + if records { 8 } else { 0 }
    };
    let (id_w, fresh_w, records) = if width >= fixed(id_w, 17, true) + 24 {
        (id_w, 17, true)
    } else if width >= fixed(short_id_w, 17, true) + 24 {
        (short_id_w, 17, true)
    } else {
        (short_id_w, 10, false)
    };
    let narrow = fresh_w < 17;
    let cols: Vec<Col> = vec![
        col("TOOL", name_w),
        col("ACTIVE SNAPSHOT", id_w),
        rcol("AGE", 7),
        col("FRESHNESS", fresh_w),
        rcol("RECORDS", 7),
    ];
    let keep: Vec<usize> = (0..cols.len()).filter(|&i| i != 4 || records).collect();
    let used: u16 = keep.iter().map(|&i| cols[i].width + 1).sum();
    let tl_x = l.rows.x + used;
    let tl_w = width.saturating_sub(used + 1);
    let hy = l.rows.y - 1;
    header_row(&cols, &keep, theme, l.rows.x, hy, width, buf);
    buf.set_stringn(
        tl_x,
        hy,
        fit(
            &format!("TIMELINE  -{}d → now", o.window_days),
            tl_w as usize,
        ),
        tl_w as usize,
        theme.header(),
    );
    let now = o.now;
    let shown = app.rows_shown(
        o.tools.len(),
        app.tool_nav,
        l.rows.height as usize,
        app.snapshots.is_none(),
    );
    for (row, i) in shown.into_iter().enumerate() {
        let t = &o.tools[i];
        let y = l.rows.y + row as u16;
        let selected = i == app.tool_nav.sel;
        let (fw, fs) = match t.sla.assessment {
            Some(a) => (
                format!(
                    "{} {}",
                    freshness_glyph(a.state, a.overdue),
                    if narrow && a.overdue {
                        "overdue"
                    } else {
                        freshness_word(a.state, a.overdue)
                    }
                ),
                theme.freshness(a.state, a.overdue),
            ),
            None => ("- none".into(), theme.dim()),
        };
        let id = match (t.active(), id_w) {
            (Some(a), w) if w == short_id_w => {
                a.id.strip_prefix(&format!("{}-", t.name()))
                    .unwrap_or(&a.id)
                    .to_string()
            }
            (Some(a), _) => a.id.clone(),
            (None, _) => "-".into(),
        };
        let cursor = (selected && app.overview_focus == Pane::Detail).then_some(app.mark_sel);
        let cells = vec![
            vec![Span::styled(t.name().to_string(), theme.title())],
            vec![Span::raw(id)],
            vec![Span::raw(
                t.sla
                    .assessment
                    .map(|a| super::fmt_age(a.age))
                    .unwrap_or_else(|| "-".into()),
            )],
            vec![Span::styled(fw, fs)],
            vec![Span::raw(
                t.active()
                    .map(|a| a.record_count.to_string())
                    .unwrap_or_else(|| "-".into()),
            )],
        ];
        cells_row(&cols, &keep, &cells, l.rows.x, y, width, buf);
        super::mark_match(app, Rect::new(l.rows.x, y, used.saturating_sub(1), 1), buf);
        if selected {
            // The text columns only: the timeline keeps its marks' looks.
            buf.set_style(
                Rect::new(l.rows.x, y, used.saturating_sub(1), 1),
                sel_style(theme, true, true),
            );
        }
        timeline(
            t,
            now,
            o.window_days,
            cursor,
            theme,
            Rect::new(tl_x, y, tl_w, 1),
            buf,
        );
    }
    let sel_thresholds = o
        .tools
        .get(app.tool_nav.sel)
        .map(|t| t.sla.thresholds)
        .unwrap_or_default();
    if let (Some(ax), Some(lb)) = (l.axis, l.labels) {
        axis(
            &sel_thresholds,
            o.window_days,
            theme,
            Rect::new(tl_x, ax.y, tl_w, 1),
            Rect::new(tl_x, lb.y, tl_w, 1),
            buf,
        );
        let name = o
            .tools
            .get(app.tool_nav.sel)
            .map(|t| t.name().to_string())
            .unwrap_or_default();
        buf.set_stringn(
            ax.x + 1,
            ax.y,
            fit(
                &format!("thresholds of {name}:"),
                (used.saturating_sub(2)) as usize,
            ),
            used.saturating_sub(2) as usize,
            theme.dim(),
        );
        let t = &sel_thresholds;
        let th = format!(
            "△ {}  ▲ {}  ✖ {}",
            days(t.max_age),
            days(t.stale),
            days(t.critical)
        );
        buf.set_stringn(
            lb.x + 1,
            lb.y,
            fit(&th, used.saturating_sub(2) as usize),
            used.saturating_sub(2) as usize,
            theme.dim(),
        );
    }
    let cursor = o
        .tools
        .get(app.tool_nav.sel)
        .and_then(|t| cursor_line(app, t, now, l.rows.width as usize));
    match (l.legend, &cursor) {
        // The cursor's snapshot in the legend's place (the help has the legend).
        (Some(lg), Some(c)) => {
            buf.set_stringn(
                lg.x,
                lg.y,
                fit(c, lg.width as usize),
                lg.width as usize,
                theme.focus(),
            );
        }
        (Some(lg), None) => legend(theme, lg, buf),
        _ => {}
    }
    if let (Some(r), Some(t)) = (l.recent, o.tools.get(app.tool_nav.sel)) {
        recent(t, now, o.window_days, theme, r, buf);
    }
}

fn days(d: Duration) -> String {
    if d.num_seconds() % 86_400 == 0 {
        format!("{}d", d.num_days())
    } else {
        super::fmt_age(d)
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
    let rb = t.rolled_back_from.contains(&s.id);
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
    let prio = |s: &Snapshot| priority(s.state, t.rolled_back_from.contains(&s.id));
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

fn axis(
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
    // (column, text, style, how the label sits on its column)
    #[derive(Clone, Copy, PartialEq)]
    enum Anchor {
        Left,
        Centre,
        Right,
    }
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
    // "now" and the window's start first, then the thresholds; a label
    // that would touch one already placed (one space between) moves a
    // little or is left out: the help and the header say the rest.
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

fn legend(theme: &Theme, area: Rect, buf: &mut Buffer) {
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

/// The timeline cursor's snapshot, said in one line.
fn cursor_line(app: &App, t: &ToolLine, now: DateTime<Utc>, width: usize) -> Option<String> {
    if app.overview_focus != Pane::Detail {
        return None;
    }
    let Some(s) = t.marks.get(app.mark_sel) else {
        return Some(format!("{}: no snapshot in the window", t.name()));
    };
    let hold = match app.overview.as_ref().and_then(|o| o.hold_of(&s.id)) {
        Some(h) => format!("hold until {}", fmt_ts(h.expires_at)),
        None => "no hold".into(),
    };
    let rb = if t.rolled_back_from.contains(&s.id) {
        " · rolled back from"
    } else {
        ""
    };
    let long = format!(
        "◇ {} · {} ({} ago) · {}{rb} · {} records · {hold} · {}/{}",
        s.id,
        fmt_ts(s.imported_at),
        age(s.imported_at, now),
        s.state,
        s.record_count,
        app.mark_sel + 1,
        t.marks.len()
    );
    if long.chars().count() <= width {
        return Some(long);
    }
    // Narrow: the age instead of the time, a shorter hold.
    let hold = if hold == "no hold" {
        hold
    } else {
        "held".into()
    };
    Some(format!(
        "◇ {} · {} ago · {}{} · {} records · {hold}",
        s.id,
        age(s.imported_at, now),
        s.state,
        if rb.is_empty() { "" } else { " ↶" },
        s.record_count,
    ))
}

fn recent(
    t: &ToolLine,
    now: DateTime<Utc>,
    window_days: i64,
    theme: &Theme,
    area: Rect,
    buf: &mut Buffer,
) {
    let off = if active_off_window(t, now, window_days) {
        format!(
            " · {OFF_WINDOW} the active snapshot is older than the window ({})",
            t.sla
                .assessment
                .map(|a| super::fmt_age(a.age))
                .unwrap_or_default()
        )
    } else {
        String::new()
    };
    let title = format!(
        "{} · {} snapshots in the window{}{off} · Enter: all snapshots",
        t.name(),
        t.marks.len(),
        if t.truncated { "+" } else { "" }
    );
    let inner = boxed(&title, false, theme, area, buf);
    let cols = [
        col("STATE", 10),
        col("SNAPSHOT", 33),
        col("IMPORTED AT", 20),
        rcol("AGE", 7),
        rcol("RECORDS", 7),
        col("FRESHNESS NOW", 17),
    ];
    let keep = fit_columns(&cols, &[2, 5, 3], inner.width);
    header_row(&cols, &keep, theme, inner.x, inner.y, inner.width, buf);
    for (i, s) in t
        .marks
        .iter()
        .take(inner.height.saturating_sub(1) as usize)
        .enumerate()
    {
        let a = assess(
            s.imported_at,
            now,
            &t.sla.thresholds,
            s.state == SnapshotState::Expired,
        );
        let fresh = if s.state.is_restorable() || s.state == SnapshotState::Expired {
            vec![Span::styled(
                format!(
                    "{} {}",
                    freshness_glyph(a.state, a.overdue),
                    freshness_word(a.state, a.overdue)
                ),
                theme.freshness(a.state, a.overdue),
            )]
        } else {
            vec![Span::styled("-", theme.dim())]
        };
        let cells = vec![
            vec![Span::styled(
                format!("{} {}", state_glyph(s.state), s.state),
                theme.state(s.state),
            )],
            vec![Span::raw(s.id.clone())],
            vec![Span::raw(fmt_ts(s.imported_at))],
            vec![Span::raw(age(s.imported_at, now))],
            vec![Span::raw(s.record_count.to_string())],
            fresh,
        ];
        cells_row(
            &cols,
            &keep,
            &cells,
            inner.x,
            inner.y + 1 + i as u16,
            inner.width,
            buf,
        );
    }
    if t.marks.is_empty() {
        buf.set_stringn(
            inner.x,
            inner.y + 1,
            "no snapshots in the window (+ - zoom out)",
            inner.width as usize,
            theme.dim(),
        );
    }
}

fn snapshot_list(app: &App, list: &SnapList, theme: &Theme, body: Rect, buf: &mut Buffer) {
    let now = app.now();
    let l = list_layout(list, body);
    if let Some(b) = l.list_box {
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
        let keep = fit_columns(&cols, &[7, 6, 8, 2], inner.width);
        header_row(&cols, &keep, theme, inner.x, inner.y, inner.width, buf);
        let rows = rows_of(b);
        let (off, total) = app.scroll_span(list.items.len(), list.nav, rows.height as usize);
        super::scrollbar(
            off,
            total,
            rows.height as usize,
            Rect::new(b.x, rows.y, b.width, rows.height),
            theme,
            buf,
        );
        let shown = app.rows_shown(list.items.len(), list.nav, rows.height as usize, true);
        for (row, i) in shown.into_iter().enumerate() {
            let s = &list.items[i];
            let y = rows.y + row as u16;
            let selected = i == list.nav.sel;
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
                s.id.strip_prefix(&format!("{}-", s.tool))
                    .unwrap_or(&s.id)
                    .to_string();
            let cells = vec![
                vec![Span::styled(
                    format!("{} {}", state_glyph(s.state), s.state),
                    theme.state(s.state),
                )],
                vec![Span::raw(id)],
                vec![Span::raw(fmt_ts(s.imported_at))],
                vec![Span::raw(age(s.imported_at, now))],
                vec![Span::raw(s.record_count.to_string())],
                vec![Span::raw(delta)],
                vec![Span::raw(short_hash(s.normalized_hash.as_deref(), 12))],
                vec![Span::raw(short_hash(Some(&s.source_hash), 12))],
                vec![warn],
            ];
            cells_row(&cols, &keep, &cells, rows.x, y, rows.width, buf);
            super::mark_match(app, Rect::new(rows.x, y, rows.width, 1), buf);
            if selected {
                let st = sel_style(theme, true, list.focus == Pane::List);
                buf.set_style(Rect::new(rows.x, y, rows.width, 1), st);
            }
        }
        if list.items.is_empty() {
            let msg = match (&list.error, list.req) {
                (Some(e), _) => e.clone(),
                (None, Some(_)) => format!("{} loading…", super::spinner(app)),
                _ => "no snapshots".into(),
            };
            buf.set_stringn(rows.x, rows.y, msg, rows.width as usize, theme.dim());
        }
    }
    if let Some(b) = l.detail_box {
        let sel = list.items.get(list.nav.sel);
        let title = sel
            .map(|s| format!("{} · the snapshot record", s.id))
            .unwrap_or_else(|| "snapshot".into());
        let inner = boxed(&title, list.focus == Pane::Detail, theme, b, buf);
        if let Some(s) = sel {
            let mut lines: Vec<Line> = Vec::new();
            lines.push(Line::from(vec![
                Span::styled(
                    format!("{} {}", state_glyph(s.state), s.state),
                    theme.state(s.state),
                ),
                Span::raw(format!("  imported {} ago", age(s.imported_at, now))),
            ]));
            match app.overview.as_ref().and_then(|o| o.hold_of(&s.id)) {
                Some(h) => lines.push(Line::styled(
                    format!(
                        "retention hold until {} by {}: {}{}",
                        fmt_ts(h.expires_at),
                        super::escape(&h.created_by),
                        super::escape(&h.reason),
                        if h.expires_at <= now { " (lapsed)" } else { "" }
                    ),
                    theme.key(),
                )),
                None => lines.push(Line::styled("no retention hold", theme.dim())),
            }
            if let Some(f) = &s.failure_reason {
                lines.push(Line::styled(
                    format!("failed: {}", super::escape(f)),
                    theme.error(),
                ));
            }
            for w in &s.warnings {
                lines.push(Line::styled(format!("⚠ {w}"), theme.warn()));
            }
            lines.extend(json_lines(&s).into_iter().map(Line::raw));
            paragraph(lines, list.detail_scroll, inner, buf);
        }
    }
}

//! Screen 1: one row per tool with its timeline, the selected tool's recent
//! snapshots, and (Enter) the tool's full snapshot list with a detail pane.

mod snapshots;
mod timeline;

use super::{age, boxed, cells_row, col, fit, fmt_age, freshness_badge, head, header_row};
use super::{mark_match, rcol, sel_style, spinner, state_badge, Col};
use crate::console::app::App;
use crate::console::data::{Overview, ToolLine};
use crate::console::theme::Theme;
use crate::console::widgets::Pane;
use crate::domain::freshness::assess;
use crate::domain::snapshot::{Snapshot, SnapshotState};
use crate::domain::time::fmt_ts;
use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Span;
use timeline::{active_off_window, axis, days, legend, timeline, OFF_WINDOW};

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

pub fn list_area(app: &App, body: Rect) -> Option<Rect> {
    match &app.snapshots {
        Some(l) => snapshots::list_layout(l, body)
            .list_box
            .map(snapshots::rows_of),
        None => Some(layout(app, body).rows),
    }
}

pub fn render(app: &App, theme: &Theme, body: Rect, buf: &mut Buffer) {
    if let Some(list) = &app.snapshots {
        return snapshots::snapshot_list(app, list, theme, body, buf);
    }
    let Some(o) = &app.overview else {
        let inner = boxed("Tools", true, theme, body, buf);
        let msg = match &app.load_error {
            Some(e) => format!("cannot load the store: {e}"),
            None => format!("{} loading…", spinner(app)),
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
    let t = ToolTable::new(o, l.rows.width);
    let used = t.used();
    let tl = Rect::new(l.rows.x + used, 0, l.rows.width.saturating_sub(used + 1), 1);
    let hy = l.rows.y - 1;
    header_row(&t.cols, &t.keep, theme, l.rows.x, hy, l.rows.width, buf);
    buf.set_stringn(
        tl.x,
        hy,
        fit(
            &format!("TIMELINE  -{}d → now", o.window_days),
            tl.width as usize,
        ),
        tl.width as usize,
        theme.header(),
    );
    tool_rows(app, o, &t, &l, tl, theme, buf);
    let selected = o.tools.get(app.tool_nav.sel);
    if let (Some(ax), Some(lb)) = (l.axis, l.labels) {
        thresholds(selected, o.window_days, theme, (ax, lb), tl, used, buf);
    }
    let cursor = selected.and_then(|t| cursor_line(app, t, o.now, l.rows.width as usize));
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
    if let (Some(r), Some(t)) = (l.recent, selected) {
        recent(t, o.now, o.window_days, theme, r, buf);
    }
}

/// The tool table's columns, as wide as the screen lets them be.
struct ToolTable {
    cols: Vec<Col>,
    keep: Vec<usize>,
    /// The id column shows the id without the tool's name.
    short_ids: bool,
    /// "overdue" instead of "stale (overdue)".
    narrow: bool,
}

impl ToolTable {
    fn new(o: &Overview, width: u16) -> ToolTable {
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
            .filter_map(|t| t.active().map(|a| a.id.as_str().chars().count()))
            .max()
            .unwrap_or(15)
            .max(15) as u16;
        let short_id_w = 20u16;
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
        let cols: Vec<Col> = vec![
            col("TOOL", name_w),
            col("ACTIVE SNAPSHOT", id_w),
            rcol("AGE", 7),
            col("FRESHNESS", fresh_w),
            rcol("RECORDS", 7),
        ];
        let keep: Vec<usize> = (0..cols.len()).filter(|&i| i != 4 || records).collect();
        ToolTable {
            cols,
            keep,
            short_ids: id_w == short_id_w,
            narrow: fresh_w < 17,
        }
    }

    /// The text columns' width: the timeline starts after it.
    fn used(&self) -> u16 {
        self.keep.iter().map(|&i| self.cols[i].width + 1).sum()
    }

    fn cells<'a>(&self, t: &ToolLine, theme: &Theme) -> Vec<Vec<Span<'a>>> {
        let fresh = match t.sla.assessment {
            Some(a) if self.narrow && a.overdue => super::badge(a.state, true, "overdue", theme),
            Some(a) => freshness_badge(&a, theme),
            None => Span::styled("- none", theme.dim()),
        };
        let id = match t.active() {
            Some(a) if self.short_ids => {
                a.id.as_str()
                    .strip_prefix(&format!("{}-", t.name()))
                    .unwrap_or(a.id.as_str())
                    .to_string()
            }
            Some(a) => a.id.to_string(),
            None => "-".into(),
        };
        vec![
            vec![Span::styled(t.name().to_string(), theme.title())],
            vec![Span::raw(id)],
            vec![Span::raw(
                t.sla
                    .assessment
                    .map(|a| fmt_age(a.age))
                    .unwrap_or_else(|| "-".into()),
            )],
            vec![fresh],
            vec![Span::raw(
                t.active()
                    .map(|a| a.record_count.to_string())
                    .unwrap_or_else(|| "-".into()),
            )],
        ]
    }
}

/// One row per tool: its columns, then its timeline in `tl`'s columns.
fn tool_rows(
    app: &App,
    o: &Overview,
    t: &ToolTable,
    l: &Layout,
    tl: Rect,
    theme: &Theme,
    buf: &mut Buffer,
) {
    let used = t.used();
    let width = l.rows.width;
    let shown = app.rows_shown(
        o.tools.len(),
        app.tool_nav,
        l.rows.height as usize,
        app.snapshots.is_none(),
    );
    for (row, i) in shown.into_iter().enumerate() {
        let tool = &o.tools[i];
        let y = l.rows.y + row as u16;
        let selected = i == app.tool_nav.sel;
        let cursor = (selected && app.overview_focus == Pane::Detail).then_some(app.mark_sel);
        cells_row(
            &t.cols,
            &t.keep,
            &t.cells(tool, theme),
            l.rows.x,
            y,
            width,
            buf,
        );
        let text = Rect::new(l.rows.x, y, used.saturating_sub(1), 1);
        mark_match(app, text, buf);
        if selected {
            // The text columns only: the timeline keeps its marks' looks.
            buf.set_style(text, sel_style(theme, true, true));
        }
        let area = Rect::new(tl.x, y, tl.width, 1);
        timeline(tool, o.now, o.window_days, cursor, theme, area, buf);
    }
}

/// Under the timelines: the selected tool's thresholds on the axis, and
/// said in words on the left.
fn thresholds(
    tool: Option<&ToolLine>,
    window_days: i64,
    theme: &Theme,
    (ax, lb): (Rect, Rect),
    tl: Rect,
    used: u16,
    buf: &mut Buffer,
) {
    let th = tool.map(|t| t.sla.thresholds).unwrap_or_default();
    axis(
        &th,
        window_days,
        theme,
        Rect::new(tl.x, ax.y, tl.width, 1),
        Rect::new(tl.x, lb.y, tl.width, 1),
        buf,
    );
    let name = tool.map(|t| t.name().to_string()).unwrap_or_default();
    let room = used.saturating_sub(2) as usize;
    let said = format!(
        "△ {}  ▲ {}  ✖ {}",
        days(th.max_age),
        days(th.stale),
        days(th.critical)
    );
    for (area, text) in [(ax, format!("thresholds of {name}:")), (lb, said)] {
        buf.set_stringn(area.x + 1, area.y, fit(&text, room), room, theme.dim());
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
    let hold = match app.overview.as_ref().and_then(|o| o.hold_of(s.id.as_str())) {
        Some(h) => format!("hold until {}", fmt_ts(h.expires_at)),
        None => "no hold".into(),
    };
    let rb = if t.rolled_back_from.contains(s.id.as_str()) {
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
            t.sla.assessment.map(|a| fmt_age(a.age)).unwrap_or_default()
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
    let keep = head(&cols, &[2, 5, 3], theme, inner, buf);
    let shown = t.marks.iter().take(inner.height.saturating_sub(1) as usize);
    for (i, s) in shown.enumerate() {
        let cells = recent_cells(t, s, now, theme);
        let y = inner.y + 1 + i as u16;
        cells_row(&cols, &keep, &cells, inner.x, y, inner.width, buf);
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

/// A recent snapshot's row, with the freshness it would have now.
fn recent_cells<'a>(
    t: &ToolLine,
    s: &Snapshot,
    now: DateTime<Utc>,
    theme: &Theme,
) -> Vec<Vec<Span<'a>>> {
    let a = assess(
        s.imported_at,
        now,
        &t.sla.thresholds,
        s.state == SnapshotState::Expired,
    );
    let fresh = if s.state.is_restorable() || s.state == SnapshotState::Expired {
        freshness_badge(&a, theme)
    } else {
        Span::styled("-", theme.dim())
    };
    vec![
        vec![state_badge(s.state, theme)],
        vec![Span::raw(s.id.to_string())],
        vec![Span::raw(fmt_ts(s.imported_at))],
        vec![Span::raw(age(s.imported_at, now))],
        vec![Span::raw(s.record_count.to_string())],
        vec![fresh],
    ]
}

//! Step 4: the dry-run diff: counts by change and severity, the filters,
//! the rows (page by page from the store) and the selected row's detail.

use super::super::{boxed, cells_row, col, fit, fit_columns, header_row, rcol};
use super::super::{mark_match, paragraph, sel_style, spinner};
use super::preview_layout;
use crate::console::app::App;
use crate::console::theme::Theme;
use crate::console::widgets::{escape, Pane};
use crate::console::wizard::{detail_lines, Preview};
use crate::ops::diff::{Change, Counts, DiffItem, DiffSummary};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

fn counts_cells<'a>(name: &'a str, c: &Counts, style: Style) -> Vec<Vec<Span<'a>>> {
    let sev = |k: &str| c.by_severity.get(k).copied().unwrap_or(0).to_string();
    vec![
        vec![Span::styled(name, style)],
        vec![Span::raw(c.total.to_string())],
        vec![Span::raw(c.packages.to_string())],
        vec![Span::raw(c.vulnerabilities.to_string())],
        vec![Span::raw(sev("critical"))],
        vec![Span::raw(sev("high"))],
        vec![Span::raw(sev("medium"))],
        vec![Span::raw(sev("low"))],
        vec![Span::raw(sev("negligible"))],
        vec![Span::raw(sev("unknown"))],
    ]
}

fn item_line(it: &DiffItem) -> String {
    let mut s = it.identity.clone();
    if let Some(sev) = &it.severity {
        s.push_str(&format!(" [{sev}]"));
    }
    if let (Some(o), Some(n)) = (&it.old, &it.new) {
        let ch = crate::ops::diff::changed_fields(o, n);
        if !ch.is_empty() {
            s.push_str(&format!(": {}", ch.join(", ")));
        }
    }
    s
}

pub fn preview_step(app: &App, theme: &Theme, inner: Rect, buf: &mut Buffer) {
    let w = &app.wizard;
    let Some(p) = &w.plan else { return };
    buf.set_stringn(
        inner.x + 1,
        inner.y,
        fit(&p.diff.headline("rolling back"), inner.width as usize - 1),
        inner.width as usize,
        theme.title(),
    );
    counts_table(&p.diff, theme, inner, buf);
    filter_bar(&w.preview, theme, inner, buf);
    let l = preview_layout(inner);
    let hdr = format!(
        "  {} records{} (old → new for changed ones)",
        w.preview.items.len(),
        if w.preview.exhausted { "" } else { "+" }
    );
    buf.set_stringn(
        inner.x,
        inner.y + 6,
        hdr,
        inner.width as usize,
        theme.header(),
    );
    diff_rows(app, theme, l.list, buf);
    if let Some(dr) = l.detail {
        diff_detail(&w.preview, theme, dr, buf);
    }
}

/// Added, removed and changed records, by kind and severity.
fn counts_table(d: &DiffSummary, theme: &Theme, inner: Rect, buf: &mut Buffer) {
    let cols = [
        col("", 9),
        rcol("TOTAL", 6),
        rcol("PKGS", 6),
        rcol("FINDINGS", 8),
        rcol("CRIT", 5),
        rcol("HIGH", 5),
        rcol("MED", 5),
        rcol("LOW", 5),
        rcol("NEGL", 5),
        rcol("UNKN", 5),
    ];
    let keep = fit_columns(&cols, &[9, 8], inner.width);
    let x = inner.x + 1;
    header_row(&cols, &keep, theme, x, inner.y + 1, inner.width, buf);
    let rows = [
        ("+ added", &d.added, theme.added()),
        ("- removed", &d.removed, theme.removed()),
        ("~ changed", &d.changed, theme.changed()),
    ];
    for (i, (name, c, style)) in rows.into_iter().enumerate() {
        let cells = counts_cells(name, c, style);
        cells_row(
            &cols,
            &keep,
            &cells,
            x,
            inner.y + 2 + i as u16,
            inner.width,
            buf,
        );
    }
}

/// The filters in force, each with its key.
fn filter_bar(preview: &Preview, theme: &Theme, inner: Rect, buf: &mut Buffer) {
    let f = &preview.filter;
    let filt = Line::from(vec![
        Span::styled(" c ", theme.key()),
        Span::raw(format!(
            "change={} ",
            f.change.map(|c| c.as_str()).unwrap_or("all")
        )),
        Span::styled(" t ", theme.key()),
        Span::raw(format!("kind={} ", f.kind.map_or("all", |k| k.as_str()))),
        Span::styled(" s ", theme.key()),
        Span::raw(format!(
            "severity={} ",
            f.severity.map_or("all", |s| s.as_str())
        )),
        Span::styled(" / ", theme.key()),
        Span::raw(format!("text={} ", f.text.as_deref().unwrap_or("-"))),
        Span::styled(" x ", theme.key()),
        Span::raw("clear"),
    ]);
    buf.set_line(inner.x, inner.y + 5, &filt, inner.width);
}

fn diff_rows(app: &App, theme: &Theme, list: Rect, buf: &mut Buffer) {
    let pv = &app.wizard.preview;
    let shown = app.rows_shown(pv.items.len(), pv.nav, list.height as usize, true);
    for (row, i) in shown.into_iter().enumerate() {
        let it = &pv.items[i];
        let (sign, style) = match it.change {
            Change::Added => ("+", theme.added()),
            Change::Removed => ("-", theme.removed()),
            Change::Changed => ("~", theme.changed()),
        };
        let y = list.y + row as u16;
        let line = Line::from(vec![
            Span::styled(format!(" {sign} "), style),
            Span::raw(item_line(it)),
        ]);
        buf.set_line(list.x, y, &line, list.width);
        mark_match(app, Rect::new(list.x, y, list.width, 1), buf);
        if i == pv.nav.sel {
            buf.set_style(
                Rect::new(list.x, y, list.width, 1),
                sel_style(theme, true, pv.focus == Pane::List),
            );
        }
    }
    if pv.items.is_empty() {
        let msg = match (&pv.error, pv.req) {
            (Some(e), _) => e.clone(),
            (None, Some(_)) => format!("{} loading the diff…", spinner(app)),
            _ => "no records match".into(),
        };
        buf.set_stringn(list.x + 1, list.y, msg, list.width as usize, theme.dim());
    }
}

/// The selected row's old and new values.
fn diff_detail(pv: &Preview, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let title = "old → new (Tab, then j k PgDn scroll)";
    let di = boxed(title, pv.focus == Pane::Detail, theme, area, buf);
    let mut lines: Vec<Line> = Vec::new();
    if let Some(it) = pv.items.get(pv.nav.sel) {
        for (i, l) in detail_lines(it).into_iter().enumerate() {
            let st = if i == 0 {
                theme.title()
            } else if l.trim_start().starts_with("- ") {
                theme.removed()
            } else if l.trim_start().starts_with("+ ") {
                theme.added()
            } else if l.ends_with(':') && !l.starts_with(' ') {
                theme.changed()
            } else {
                Style::new()
            };
            lines.push(Line::styled(escape(&l), st));
        }
    }
    paragraph(lines, pv.detail_scroll, di, buf);
}

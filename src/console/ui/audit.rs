//! Screen 4: the audit browser: a paged table (newest first), filters,
//! free-text search, the selected record's JSON, and the chain badge.

use super::{boxed, col, fit, head, json_lines, paragraph};
use super::{sel_style, spinner, Rows, Table};
use crate::console::app::App;
use crate::console::audit::{Chain, Form, FIELDS};
use crate::console::theme::Theme;
use crate::console::widgets::Pane;
use crate::domain::audit::AuditRecord;
use crate::domain::time::fmt_ts;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Clear;

struct Layout {
    bar: Rect,
    table: Rect,
    detail: Rect,
}

fn layout(body: Rect) -> Layout {
    let bar = Rect::new(body.x, body.y, body.width, 1);
    let rest = Rect::new(
        body.x,
        body.y + 1,
        body.width,
        body.height.saturating_sub(1),
    );
    if body.width >= 140 {
        let tw = body.width * 3 / 5;
        Layout {
            bar,
            table: Rect::new(rest.x, rest.y, tw, rest.height),
            detail: Rect::new(rest.x + tw, rest.y, rest.width - tw, rest.height),
        }
    } else {
        let th = (rest.height * 3 / 5).max(5).min(rest.height);
        Layout {
            bar,
            table: Rect::new(rest.x, rest.y, rest.width, th),
            detail: Rect::new(rest.x, rest.y + th, rest.width, rest.height - th),
        }
    }
}

pub fn list_area(_app: &App, body: Rect) -> Rect {
    let t = layout(body).table;
    Rect::new(
        t.x + 1,
        t.y + 2,
        t.width.saturating_sub(2),
        t.height.saturating_sub(3),
    )
}

/// The chain badge's text and whether it is good news.
pub fn badge(chain: &Chain) -> (String, Option<bool>) {
    crate::console::audit::badge_text(chain)
}

pub fn render(app: &App, theme: &Theme, body: Rect, buf: &mut Buffer) {
    let l = layout(body);
    bar(app, theme, l.bar, buf);
    table(app, theme, &l, body, buf);
    if l.detail.height >= 3 {
        detail(app, theme, l.detail, buf);
    }
}

/// The filter in force (or how to set one), and the chain badge on the right.
fn bar(app: &App, theme: &Theme, bar: Rect, buf: &mut Buffer) {
    let a = &app.audit;
    let (btext, good) = badge(&a.chain);
    let bstyle = match good {
        Some(true) => theme.ok(),
        Some(false) => theme.error(),
        None => theme.warn(),
    };
    let bw = (btext.chars().count() as u16 + 2).min(bar.width / 2);
    buf.set_stringn(
        bar.right() - bw,
        bar.y,
        fit(&btext, bw as usize - 1),
        bw as usize,
        bstyle,
    );
    let left_w = bar.width.saturating_sub(bw + 2) as usize;
    let left = if a.query.is_empty() {
        Line::from(vec![Span::styled(
            " all records, newest first · f filter · / filter as you type",
            theme.dim(),
        )])
    } else {
        Line::from(vec![
            Span::styled(" filter: ", theme.key()),
            Span::raw(fit(&a.query.describe(), left_w.saturating_sub(9))),
        ])
    };
    buf.set_line(bar.x, bar.y, &left, left_w as u16);
}

fn table(app: &App, theme: &Theme, l: &Layout, body: Rect, buf: &mut Buffer) {
    let a = &app.audit;
    let more = if a.at_bottom { "" } else { " · more below" };
    let newer = if a.newer {
        " · NEW records: g"
    } else if !a.at_top {
        " · newer above"
    } else {
        ""
    };
    let title = format!(
        "Audit trail · {}/{} loaded{more}{newer}",
        (a.nav.sel + 1).min(a.rows.len()),
        a.rows.len()
    );
    let inner = boxed(&title, a.focus == Pane::List, theme, l.table, buf);
    let mut cols = [
        col("ID", 10),
        col("TIMESTAMP", 20),
        col("EVENT", 24),
        col("USER", 11),
        col("DETAILS", 0),
    ];
    if inner.width < 100 {
        cols[2].width = 20;
    }
    cols[4].width = inner
        .width
        .saturating_sub(cols[..4].iter().map(|c| c.width + 1).sum());
    let keep = head(&cols, &[], theme, inner, buf);
    let rows = list_area(app, body);
    let table = Table::new(&cols, &keep, rows);
    let list = Rows::new(a.rows.len(), a.nav, a.focus == Pane::List);
    table.scrolled(app, list, l.table, theme, buf, |i| {
        record_cells(&a.rows[i].1, theme)
    });
    if a.rows.is_empty() {
        let msg = match (&a.error, a.req) {
            (Some(e), _) => e.clone(),
            (None, Some(_)) => format!("{} loading…", spinner(app)),
            _ => "no audit records match".into(),
        };
        buf.set_stringn(rows.x, rows.y, msg, rows.width as usize, theme.dim());
    } else if a.req.is_some() {
        buf.set_stringn(
            rows.right().saturating_sub(12),
            rows.bottom().saturating_sub(1),
            format!("{} loading", spinner(app)),
            12,
            theme.warn(),
        );
    }
}

/// A record's row: failures stand out, and rollbacks.
fn record_cells<'a>(r: &AuditRecord, theme: &Theme) -> Vec<Vec<Span<'a>>> {
    let ev_style = if r.event.contains("failed") || r.event == "snapshot_expired" {
        theme.warn()
    } else if r.event == "snapshot_rolled_back" {
        theme.key()
    } else {
        Style::new()
    };
    vec![
        vec![Span::raw(r.id.clone())],
        vec![Span::raw(fmt_ts(r.timestamp))],
        vec![Span::styled(r.event.clone(), ev_style)],
        vec![Span::raw(r.user.clone())],
        vec![Span::styled(
            crate::ops::audit::digest(&r.details),
            theme.dim(),
        )],
    ]
}

/// The selected record's JSON, under the chain's problem if it is broken.
fn detail(app: &App, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let a = &app.audit;
    let sel = a.selected();
    let title = sel
        .map(|(_, r)| format!("{} · record JSON", r.id))
        .unwrap_or_else(|| "record".into());
    let inner = boxed(&title, a.focus == Pane::Detail, theme, area, buf);
    let mut lines: Vec<Line> = Vec::new();
    if let Chain::Broken { problem, .. } = &a.chain {
        lines.push(Line::styled(format!("chain: {problem}"), theme.error()));
    }
    if let Some((_, r)) = sel {
        lines.extend(json_lines(r).into_iter().map(Line::raw));
    }
    paragraph(lines, a.detail_scroll, inner, buf);
}

/// The filter form, over the browser.
pub fn form(theme: &Theme, f: &Form, area: Rect, buf: &mut Buffer) {
    let w = area.width.saturating_sub(8).min(76);
    let h = 13u16.min(area.height);
    let r = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    ratatui::widgets::Widget::render(Clear, r, buf);
    let inner = boxed("Filter the audit trail", true, theme, r, buf);
    let help = [
        "← → choose a known event",
        "← → choose a known tool",
        "exact user name",
        "RFC 3339, or P7D = 7 days ago",
        "RFC 3339, or PT1H = an hour ago",
        "text anywhere in the record",
    ];
    for (i, name) in FIELDS.iter().enumerate() {
        let y = inner.y + i as u16;
        let focused = i == f.focus;
        buf.set_stringn(
            inner.x + 1,
            y,
            format!("{name:>6}"),
            6,
            if focused { theme.key() } else { theme.dim() },
        );
        let fw = 34u16.min(inner.width.saturating_sub(10));
        let text = super::field_text(&f.fields[i], focused, fw as usize);
        let st = if focused {
            theme.focus()
        } else {
            sel_style(theme, false, false)
        };
        buf.set_stringn(
            inner.x + 8,
            y,
            format!("{:<w$}", fit(&text, fw as usize), w = fw as usize),
            fw as usize,
            st,
        );
        // A field's error sits beside it, in place of its help.
        let (note, nst) = match (&f.error, f.error_field()) {
            (Some(e), Some(j)) if j == i => (e.as_str(), theme.error()),
            _ => (help[i], theme.dim()),
        };
        buf.set_stringn(
            inner.x + 9 + fw,
            y,
            fit(
                note,
                inner.right().saturating_sub(inner.x + 9 + fw) as usize,
            ),
            inner.right().saturating_sub(inner.x + 9 + fw) as usize,
            nst,
        );
    }
    let y = inner.y + FIELDS.len() as u16 + 1;
    if let Some(e) = &f.error {
        buf.set_stringn(
            inner.x + 1,
            y,
            e,
            inner.width.saturating_sub(2) as usize,
            theme.error(),
        );
    }
    buf.set_stringn(
        inner.x + 1,
        inner.bottom().saturating_sub(1),
        "Enter apply · Esc cancel · Tab/↑↓ field · empty = any",
        inner.width.saturating_sub(2) as usize,
        theme.dim(),
    );
}

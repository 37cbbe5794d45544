//! Screen 2: the freshness SLA per tool, the time left until the next state
//! change, and each tool's age against its thresholds.

use super::{boxed, col, fmt_age, freshness_badge, head, rcol, Table};
use crate::console::app::App;
use crate::console::data::Overview;
use crate::console::theme::{freshness_glyph, freshness_word, Theme};
use crate::domain::freshness::{Assessment, Freshness};
use crate::domain::time::fmt_ts;
use crate::ops::sla::SlaStatus;
use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

fn table_box(app: &App, body: Rect) -> Rect {
    let n = app.overview.as_ref().map_or(1, |o| o.tools.len().max(1)) as u16;
    Rect::new(body.x, body.y, body.width, (n + 3).min(body.height))
}

pub fn list_area(app: &App, body: Rect) -> Rect {
    let b = table_box(app, body);
    Rect::new(
        b.x + 1,
        b.y + 2,
        b.width.saturating_sub(2),
        b.height.saturating_sub(3),
    )
}

/// "stale in P5DT12M" (what the state becomes next, and when).
pub fn next_change(s: &SlaStatus, now: chrono::DateTime<chrono::Utc>) -> String {
    let Some(a) = s.assessment else {
        return "-".into();
    };
    let next = match (a.state, a.overdue) {
        (Freshness::Fresh, _) => "stale",
        (Freshness::Stale, false) => "overdue",
        (Freshness::Stale, true) => "critical",
        _ => return "- (no further change)".into(),
    };
    match s.time_left(now) {
        Some(d) => format!("{next} in {}", fmt_age(d)),
        None => "-".into(),
    }
}

pub fn render(app: &App, theme: &Theme, body: Rect, buf: &mut Buffer) {
    let Some(o) = &app.overview else {
        boxed("Freshness SLA", true, theme, body, buf);
        return;
    };
    let tb = table_box(app, body);
    let inner = boxed(
        "Freshness SLA per tool (Enter: snapshots · r: rollback)",
        true,
        theme,
        tb,
        buf,
    );
    let cols = [
        col("TOOL", 12),
        col("STATE", 17),
        rcol("AGE", 12),
        col("ACTIVE SNAPSHOT", 33),
        col("NEXT CHANGE", 22),
        col("NEXT CHECK", 20),
        col("MAX AGE / STALE / CRITICAL", 26),
    ];
    let keep = head(&cols, &[3, 6, 5], theme, inner, buf);
    if o.tools.is_empty() {
        buf.set_stringn(
            inner.x,
            inner.y + 1,
            format!(
                "no tools yet: import a feed with `{}`",
                crate::cli::suggest::import_command()
            ),
            inner.width as usize,
            theme.dim(),
        );
        return;
    }
    let table = Table {
        cols: &cols,
        keep: &keep,
        rows: list_area(app, body),
    };
    let shown = app.rows_shown(
        o.tools.len(),
        app.tool_nav,
        table.rows.height as usize,
        true,
    );
    for (row, i) in shown.into_iter().enumerate() {
        let cells = sla_cells(&o.tools[i].sla, o.now, theme);
        let selected = (i == app.tool_nav.sel).then_some(true);
        table.row(app, row, &cells, selected, theme, buf);
    }
    // Each tool's age on a bar with its thresholds.
    let rest = Rect::new(
        body.x,
        tb.bottom(),
        body.width,
        body.height.saturating_sub(tb.height),
    );
    if rest.height >= 4 {
        age_bars(o, theme, rest, buf);
    }
}

/// A tool's row, in the SLA table's column order.
fn sla_cells<'a>(s: &SlaStatus, now: DateTime<Utc>, theme: &Theme) -> Vec<Vec<Span<'a>>> {
    let d = s.doc();
    let state = match s.assessment {
        Some(a) => freshness_badge(&a, theme),
        None => Span::styled("- no snapshot", theme.dim()),
    };
    vec![
        vec![Span::styled(s.tool.clone(), theme.title())],
        vec![state],
        vec![Span::raw(
            s.assessment
                .map(|a| fmt_age(a.age))
                .unwrap_or_else(|| "-".into()),
        )],
        vec![Span::raw(
            d.snapshot_id.clone().unwrap_or_else(|| "-".into()),
        )],
        vec![Span::raw(next_change(s, now))],
        vec![Span::raw(d.next_check.clone())],
        vec![Span::raw(format!(
            "{} / {} / {}",
            fmt_age(s.thresholds.max_age),
            fmt_age(s.thresholds.stale),
            fmt_age(s.thresholds.critical)
        ))],
    ]
}

/// Each tool's age on a bar against its thresholds, two lines a tool.
fn age_bars(o: &Overview, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let inner = boxed(
        "Age against the thresholds (│ max age · stale · critical)",
        false,
        theme,
        area,
        buf,
    );
    let name_w = 13u16;
    let bar_w = inner.width.saturating_sub(name_w + 36);
    let mut y = inner.y;
    for t in &o.tools {
        if y + 1 >= inner.bottom() {
            break;
        }
        let s = &t.sla;
        buf.set_stringn(inner.x, y, &s.tool, name_w as usize, theme.title());
        match s.assessment {
            None => {
                buf.set_stringn(inner.x + name_w, y, "no snapshot", 20, theme.dim());
            }
            Some(a) => {
                let bar = Rect::new(inner.x + name_w, y, bar_w, 2);
                age_bar(s, &a, theme, bar, buf);
                let label = Rect::new(
                    bar.right() + 1,
                    y,
                    inner.right().saturating_sub(bar.right() + 1),
                    2,
                );
                age_label(&a, theme, label, buf);
            }
        }
        y += 2;
    }
}

/// The bar (filled up to the age) with a mark at each threshold, and the
/// thresholds' glyphs under it.
fn age_bar(s: &SlaStatus, a: &Assessment, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let (x0, y, bar_w) = (area.x, area.y, area.width);
    let th = &s.thresholds;
    let scale = (th.critical.num_seconds() as f64 * 1.25).max(1.0);
    let pos = |secs: i64| -> u16 {
        ((secs as f64 / scale) * bar_w as f64).min(bar_w.saturating_sub(1) as f64) as u16
    };
    let filled = pos(a.age.num_seconds());
    let style = theme.freshness(a.state, a.overdue);
    for c in 0..bar_w {
        let (g, st) = if a.state == Freshness::Expired {
            ("╌", style)
        } else if c <= filled {
            ("█", style)
        } else {
            ("░", theme.dim())
        };
        buf.set_stringn(x0 + c, y, g, 1, st);
    }
    for (d, f, o) in [
        (th.max_age, Freshness::Stale, false),
        (th.stale, Freshness::Stale, true),
        (th.critical, Freshness::Critical, false),
    ] {
        let c = pos(d.num_seconds());
        buf.set_stringn(x0 + c, y, "│", 1, theme.freshness(f, o));
        buf.set_stringn(
            x0 + c.saturating_sub(1),
            y + 1,
            freshness_glyph(f, o),
            1,
            theme.freshness(f, o),
        );
    }
}

/// Beside the bar: the state and age, and when the state next changes.
fn age_label(a: &Assessment, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let label = Line::from(vec![
        Span::styled(
            format!(
                " {} {} ",
                freshness_glyph(a.state, a.overdue),
                freshness_word(a.state, a.overdue)
            ),
            theme.freshness(a.state, a.overdue),
        ),
        Span::raw(format!("age {}", fmt_age(a.age))),
    ]);
    buf.set_line(area.x, area.y, &label, area.width);
    let sub = match a.next_change {
        Some(t) => format!(" next change {}", fmt_ts(t)),
        None => String::new(),
    };
    buf.set_stringn(area.x, area.y + 1, sub, area.width as usize, theme.dim());
}

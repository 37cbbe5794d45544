//! Screen 3: the rollback wizard, one step per screen.

use super::{
    age, boxed, cells_row, col, fit, fit_columns, header_row, rcol, sel_style, short_hash, spinner,
};
use crate::console::app::App;
use crate::console::data::rollback_sentence;
use crate::console::data::Targets;
use crate::console::theme::{freshness_glyph, freshness_word, state_glyph, Theme};
use crate::console::widgets::Pane;
use crate::console::wizard::{ConfirmFocus, StepState, Wizard, WizardStep};
use crate::domain::freshness::Freshness;
use crate::domain::snapshot::Snapshot;
use crate::domain::snapshot::SnapshotState;
use crate::domain::time::fmt_ts;
use crate::ops::diff::{Change, Counts, DiffItem};
use ratatui::buffer::Buffer;
use ratatui::layout::Margin;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

fn content(body: Rect) -> Rect {
    Rect::new(
        body.x,
        body.y + 1,
        body.width,
        body.height.saturating_sub(1),
    )
}

fn inner_of(r: Rect) -> Rect {
    Rect::new(
        r.x + 1,
        r.y + 1,
        r.width.saturating_sub(2),
        r.height.saturating_sub(2),
    )
}

struct PreviewLayout {
    list: Rect,
    detail: Option<Rect>,
}

fn preview_layout(inner: Rect) -> PreviewLayout {
    // Headline, 4 lines of counts, the filter bar, then the list's header.
    let top = 7u16.min(inner.height);
    let rest = Rect::new(
        inner.x,
        inner.y + top,
        inner.width,
        inner.height.saturating_sub(top),
    );
    if inner.width >= 140 {
        let lw = inner.width * 3 / 5;
        PreviewLayout {
            list: Rect::new(rest.x, rest.y, lw, rest.height),
            detail: Some(Rect::new(
                rest.x + lw + 1,
                rest.y.saturating_sub(1),
                rest.width - lw - 1,
                rest.height + 1,
            )),
        }
    } else if rest.height >= 10 {
        let dh = (rest.height / 3).max(4);
        PreviewLayout {
            list: Rect::new(rest.x, rest.y, rest.width, rest.height - dh),
            detail: Some(Rect::new(rest.x, rest.y + rest.height - dh, rest.width, dh)),
        }
    } else {
        PreviewLayout {
            list: rest,
            detail: None,
        }
    }
}

pub fn list_area(app: &App, body: Rect) -> Option<Rect> {
    if app.read_only {
        return None;
    }
    let inner = inner_of(content(body));
    match app.wizard.step {
        WizardStep::Tool | WizardStep::Target => Some(Rect::new(
            inner.x,
            inner.y + 2,
            inner.width,
            inner.height.saturating_sub(3),
        )),
        WizardStep::Preview => {
            let l = preview_layout(inner).list;
            Some(Rect::new(l.x, l.y, l.width, l.height))
        }
        _ => None,
    }
}

fn breadcrumb(w: &Wizard, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let cur = WizardStep::ALL.iter().position(|s| *s == w.step).unwrap_or(0);
    let mut spans = vec![Span::styled(" Rollback: ", theme.title())];
    for (i, s) in WizardStep::ALL.iter().enumerate() {
        let (text, style) = if i == cur {
            (format!(" {}. {} ", i + 1, s.title()), theme.focus())
        } else if i < cur {
            (format!("✓ {}", s.title()), theme.ok())
        } else {
            (format!("{}. {}", i + 1, s.title()), theme.dim())
        };
        spans.push(Span::styled(text, style));
        if i + 1 < WizardStep::ALL.len() {
            spans.push(Span::styled(" › ", theme.dim()));
        }
    }
    buf.set_line(area.x, area.y, &Line::from(spans), area.width);
}

pub fn render(app: &App, theme: &Theme, body: Rect, buf: &mut Buffer) {
    if app.read_only {
        let inner = boxed("Rollback", true, theme, body, buf);
        let flag = crate::cli::suggest::read_only_flag();
        let [dry_run, real] = crate::cli::suggest::rollback_commands();
        let lines = vec![
            Line::styled(format!("The console is read-only ({flag}): the store is open read-only at the SQLite level, so nothing can be written and rollback is not offered."), theme.warn()),
            Line::raw(""),
            Line::raw(format!("To roll back, run the console without {flag}, or use the CLI:")),
            Line::styled(format!("  {dry_run}"), theme.key()),
            Line::styled(format!("  {real}"), theme.key()),
        ];
        super::paragraph(lines, 0, inner, buf);
        return;
    }
    let w = &app.wizard;
    breadcrumb(w, theme, Rect::new(body.x, body.y, body.width, 1), buf);
    let area = content(body);
    let tool = w.tool.clone().unwrap_or_default();
    let title = match w.step {
        WizardStep::Tool => "1. Choose the tool".to_string(),
        WizardStep::Target => format!("2. Choose the snapshot to roll {tool} back to"),
        WizardStep::Verify => "3. Verify the target".to_string(),
        WizardStep::Preview => "4. Dry run: what the rollback would change".to_string(),
        WizardStep::Reason => "5. Why? (recorded in the audit trail)".to_string(),
        WizardStep::Confirm => "6. Confirm".to_string(),
        WizardStep::Execute => format!("7. Rolling {tool} back"),
        WizardStep::Result => "8. Result".to_string(),
    };
    let inner = boxed(&title, true, theme, area, buf);
    match w.step {
        WizardStep::Tool => tool_step(app, theme, inner, buf),
        WizardStep::Target => target_step(app, theme, inner, buf),
        WizardStep::Verify => verify_step(app, theme, inner, buf),
        WizardStep::Preview => preview_step(app, theme, inner, buf),
        WizardStep::Reason => reason_step(app, theme, inner, buf),
        WizardStep::Confirm => confirm_step(app, theme, inner, buf),
        WizardStep::Execute | WizardStep::Result => execute_step(app, theme, inner, buf),
    }
    // Reason and Confirm show their notes beside their fields.
    if let (Some(n), false) = (&w.note, matches!(w.step, WizardStep::Reason | WizardStep::Confirm)) {
        buf.set_stringn(
            inner.x + 1,
            inner.bottom().saturating_sub(1),
            n,
            inner.width.saturating_sub(2) as usize,
            theme.warn(),
        );
    }
}

fn tool_step(app: &App, theme: &Theme, inner: Rect, buf: &mut Buffer) {
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
    let keep = fit_columns(&cols, &[2], inner.width);
    header_row(&cols, &keep, theme, inner.x, inner.y + 1, inner.width, buf);
    let rows = Rect::new(
        inner.x,
        inner.y + 2,
        inner.width,
        inner.height.saturating_sub(3),
    );
    let shown = app.rows_shown(w.tools.len(), w.tool_nav, rows.height as usize, true);
    for (row, i) in shown.into_iter().enumerate() {
        let t = &w.tools[i];
        let line = app
            .overview
            .as_ref()
            .and_then(|o| o.tools.iter().find(|x| x.name() == t.name));
        let fresh = match line.and_then(|l| l.sla.assessment) {
            Some(a) => Span::styled(
                format!(
                    "{} {}",
                    freshness_glyph(a.state, a.overdue),
                    freshness_word(a.state, a.overdue)
                ),
                theme.freshness(a.state, a.overdue),
            ),
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
        let y = rows.y + row as u16;
        cells_row(&cols, &keep, &cells, rows.x, y, rows.width, buf);
        super::mark_match(app, Rect::new(rows.x, y, rows.width, 1), buf);
        if i == w.tool_nav.sel {
            buf.set_style(
                Rect::new(rows.x, y, rows.width, 1),
                sel_style(theme, true, true),
            );
        }
    }
}

fn target_step(app: &App, theme: &Theme, inner: Rect, buf: &mut Buffer) {
    let w = &app.wizard;
    let now = app.now();
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
    let legend = format!(
        " ({} records) to (AFTER: the freshness after the rollback · ▣ archived · ↶ rolled back from before · default: the previous snapshot):",
        t.active.record_count
    );
    let room =
        (inner.width as usize).saturating_sub(2 + t.tool.len() + 16 + t.active.id.chars().count());
    let intro = Line::from(vec![
        Span::raw(format!("Roll {} back from ", t.tool)),
        Span::styled(t.active.id.clone(), theme.state(SnapshotState::Active)),
        Span::raw(fit(&legend, room)),
    ]);
    buf.set_line(inner.x + 1, inner.y, &intro, inner.width.saturating_sub(1));
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
    let rows = Rect::new(
        inner.x,
        inner.y + 2,
        inner.width,
        inner.height.saturating_sub(3),
    );
    let shown = app.rows_shown(t.list.len(), w.target_nav, rows.height as usize, true);
    for (row, i) in shown.into_iter().enumerate() {
        let s = &t.list[i];
        let is_default = t.default.as_deref() == Some(s.id.as_str());
        let delta = s.record_count as i64 - t.active.record_count as i64;
        let cells = vec![
            vec![Span::styled(
                match (is_default, t.rollback_reason(&s.id).is_some()) {
                    (true, true) => "↶ default",
                    (true, false) => "default",
                    (false, true) => "↶",
                    (false, false) => "",
                },
                theme.key(),
            )],
            vec![Span::styled(
                format!("{} {}", state_glyph(s.state), s.state),
                theme.state(s.state),
            )],
            vec![Span::raw(s.id.clone())],
            vec![Span::raw(fmt_ts(s.imported_at))],
            vec![Span::raw(age(s.imported_at, now))],
            vec![Span::raw(s.record_count.to_string())],
            vec![Span::raw(if delta == 0 {
                "0".to_string()
            } else {
                format!("{delta:+}")
            })],
            vec![Span::raw(short_hash(s.normalized_hash.as_deref(), 14))],
            after_cell(t, s, theme),
            match t.rollback_reason(&s.id) {
                Some(why) => vec![Span::styled(
                    format!("↶ rolled back from: {}", super::escape(why)),
                    theme.warn(),
                )],
                None => vec![],
            },
        ];
        let y = rows.y + row as u16;
        cells_row(&cols, &keep, &cells, rows.x, y, rows.width, buf);
        super::mark_match(app, Rect::new(rows.x, y, rows.width, 1), buf);
        if i == w.target_nav.sel {
            buf.set_style(
                Rect::new(rows.x, y, rows.width, 1),
                sel_style(theme, true, true),
            );
        }
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

/// The freshness the tool would have after rolling back to `s`.
fn after_cell<'a>(t: &Targets, s: &Snapshot, theme: &Theme) -> Vec<Span<'a>> {
    let a = t.after(s);
    vec![Span::styled(
        format!(
            "{} {}",
            freshness_glyph(a.state, a.overdue),
            // Short enough for the column at 80 columns.
            if a.overdue {
                "overdue"
            } else {
                a.state.as_str()
            }
        ),
        theme.freshness(a.state, a.overdue),
    )]
}

/// What rolling back to the chosen target does besides restoring it: the
/// tool's freshness afterwards, and an earlier rollback away from it.
pub fn consequence_lines<'a>(w: &Wizard, theme: &Theme) -> Vec<Line<'a>> {
    let mut out = Vec::new();
    let (Some(t), Some(id)) = (&w.targets, &w.target) else {
        return out;
    };
    let Some(s) = t.list.iter().find(|s| &s.id == id) else {
        return out;
    };
    let tool = &t.tool;
    let a = t.after(s);
    let age = super::fmt_age(a.age);
    match a.state {
        Freshness::Critical => out.push(Line::styled(
            format!("⚠ after this rollback {tool} becomes critical ({age} old): record queries for {tool} will be refused until a fresh feed is imported"),
            theme.error(),
        )),
        Freshness::Stale => out.push(Line::styled(
            format!("⚠ after this rollback {tool} becomes stale ({age} old): record queries will carry a staleness warning"),
            theme.warn(),
        )),
        _ => {}
    }
    if let Some(why) = t.rollback_reason(&s.id) {
        out.push(Line::styled(
            format!(
                "⚠ {tool} was rolled back from this snapshot before: \"{}\"",
                super::escape(why)
            ),
            theme.warn(),
        ));
    }
    out
}

fn failure_lines<'a>(f: &crate::console::wizard::Failure, theme: &Theme) -> Vec<Line<'a>> {
    vec![
        Line::styled(format!("✗ {}", f.message), theme.error()),
        Line::raw(""),
        Line::styled(format!("What now: {}", f.next), theme.warn()),
    ]
}

fn verify_step(app: &App, theme: &Theme, inner: Rect, buf: &mut Buffer) {
    let w = &app.wizard;
    let target = w.target.clone().unwrap_or_default();
    let count = w
        .targets
        .as_ref()
        .and_then(|t| t.list.iter().find(|s| s.id == target))
        .map(|s| s.record_count);
    let mut lines = vec![Line::from(vec![
        Span::raw("Target "),
        Span::styled(target.clone(), theme.title()),
        Span::raw(format!(" of {}", w.tool.as_deref().unwrap_or(""))),
    ])];
    lines.push(Line::raw(""));
    if w.plan_req.is_some() {
        let secs = w.verify_ticks as f64 / 10.0;
        lines.push(Line::styled(
            format!(
                "{} re-hashing {} stored records and comparing with the snapshot's normalizedHash, then computing the diff… {secs:.1}s",
                spinner(app),
                count.map(|c| c.to_string()).unwrap_or_else(|| "its".into())
            ),
            theme.warn(),
        ));
        let width = inner.width.saturating_sub(4) as usize;
        let pos = (w.verify_ticks as usize) % width.max(1);
        let bar: String = (0..width)
            .map(|i| {
                if (i + width - pos) % width < 8 {
                    '█'
                } else {
                    '░'
                }
            })
            .collect();
        lines.push(Line::styled(bar, theme.dim()));
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            "Esc cancels (the check only reads; its result is dropped).",
            theme.dim(),
        ));
    } else if let Some(p) = &w.plan {
        let v = &p.verification;
        lines.push(Line::styled(
            format!(
                "✓ verified: {} records re-hash to {}",
                v.actual_count,
                v.actual_hash.as_deref().unwrap_or("-")
            ),
            theme.ok(),
        ));
        lines.push(Line::raw(format!(
            "  matches the snapshot's normalizedHash {} and recordCount {}",
            v.expected_hash.as_deref().unwrap_or("-"),
            v.expected_count
        )));
        if p.target_was_archived {
            lines.push(Line::styled(
                "  ▣ the target is archived: rolling back restores it from the archive",
                theme.warn(),
            ));
        }
        lines.extend(consequence_lines(w, theme));
        lines.push(Line::raw(""));
        lines.push(Line::raw(format!(
            "Rolling {} back from {} ({} records) to {} ({} records) would change {} records.",
            p.tool,
            p.from.id,
            p.from.record_count,
            p.to.id,
            p.to.record_count,
            p.diff.total()
        )));
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            "Enter: see the dry-run diff · Esc: choose another target",
            theme.key(),
        ));
    } else if let Some(f) = &w.failure {
        lines.extend(failure_lines(f, theme));
    }
    super::paragraph(lines, 0, inner.inner(Margin::new(1, 0)), buf);
}

fn counts_cells<'a>(name: &'a str, c: &Counts, style: ratatui::style::Style) -> Vec<Vec<Span<'a>>> {
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

fn preview_step(app: &App, theme: &Theme, inner: Rect, buf: &mut Buffer) {
    let w = &app.wizard;
    let Some(p) = &w.plan else { return };
    let d = &p.diff;
    buf.set_stringn(
        inner.x + 1,
        inner.y,
        fit(&d.headline("rolling back"), inner.width as usize - 1),
        inner.width as usize,
        theme.title(),
    );
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
    header_row(
        &cols,
        &keep,
        theme,
        inner.x + 1,
        inner.y + 1,
        inner.width,
        buf,
    );
    cells_row(
        &cols,
        &keep,
        &counts_cells("+ added", &d.added, theme.added()),
        inner.x + 1,
        inner.y + 2,
        inner.width,
        buf,
    );
    cells_row(
        &cols,
        &keep,
        &counts_cells("- removed", &d.removed, theme.removed()),
        inner.x + 1,
        inner.y + 3,
        inner.width,
        buf,
    );
    cells_row(
        &cols,
        &keep,
        &counts_cells("~ changed", &d.changed, theme.changed()),
        inner.x + 1,
        inner.y + 4,
        inner.width,
        buf,
    );
    let f = &w.preview.filter;
    let filt = Line::from(vec![
        Span::styled(" c ", theme.key()),
        Span::raw(format!(
            "change={} ",
            f.change.map(|c| c.as_str()).unwrap_or("all")
        )),
        Span::styled(" t ", theme.key()),
        Span::raw(format!("kind={} ", f.kind.as_deref().unwrap_or("all"))),
        Span::styled(" s ", theme.key()),
        Span::raw(format!(
            "severity={} ",
            f.severity.as_deref().unwrap_or("all")
        )),
        Span::styled(" / ", theme.key()),
        Span::raw(format!("text={} ", f.text.as_deref().unwrap_or("-"))),
        Span::styled(" x ", theme.key()),
        Span::raw("clear"),
    ]);
    buf.set_line(inner.x, inner.y + 5, &filt, inner.width);
    let l = preview_layout(inner);
    let list = l.list;
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
    let shown = app.rows_shown(
        w.preview.items.len(),
        w.preview.nav,
        list.height as usize,
        true,
    );
    for (row, i) in shown.into_iter().enumerate() {
        let it = &w.preview.items[i];
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
        super::mark_match(app, Rect::new(list.x, y, list.width, 1), buf);
        if i == w.preview.nav.sel {
            buf.set_style(
                Rect::new(list.x, y, list.width, 1),
                sel_style(theme, true, w.preview.focus == Pane::List),
            );
        }
    }
    if w.preview.items.is_empty() {
        let msg = match (&w.preview.error, w.preview.req) {
            (Some(e), _) => e.clone(),
            (None, Some(_)) => format!("{} loading the diff…", spinner(app)),
            _ => "no records match".into(),
        };
        buf.set_stringn(list.x + 1, list.y, msg, list.width as usize, theme.dim());
    }
    if let Some(dr) = l.detail {
        let title = "old → new (Tab, then j k PgDn scroll)";
        let di = boxed(title, w.preview.focus == Pane::Detail, theme, dr, buf);
        let mut lines: Vec<Line> = Vec::new();
        if let Some(it) = w.preview.items.get(w.preview.nav.sel) {
            for (i, l) in crate::console::wizard::detail_lines(it)
                .into_iter()
                .enumerate()
            {
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
                lines.push(Line::styled(super::escape(&l), st));
            }
        }
        super::paragraph(lines, w.preview.detail_scroll, di, buf);
    }
}

fn reason_step(app: &App, theme: &Theme, inner: Rect, buf: &mut Buffer) {
    let w = &app.wizard;
    let mut lines = vec![Line::raw(format!(
        "Rolling {} back to {}. Say why: the reason is required and goes into the audit trail.",
        w.tool.as_deref().unwrap_or(""),
        w.target.as_deref().unwrap_or("")
    ))];
    lines.extend(consequence_lines(w, theme));
    lines.push(Line::raw(""));
    lines.push(Line::from(vec![
        Span::styled("Reason: ", theme.key()),
        Span::styled(
            super::field_text(&w.reason, true, inner.width.saturating_sub(12) as usize),
            theme.focus(),
        ),
    ]));
    // The field's error right under it.
    if let Some(n) = &w.note {
        lines.push(Line::styled(format!("        ✗ {n}"), theme.error()));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("e.g. \"data corruption detected in the nightly SBOM\" · Enter continues · Esc goes back (the text is kept)", theme.dim()));
    super::paragraph(lines, 0, inner.inner(Margin::new(1, 0)), buf);
}

fn confirm_step(app: &App, theme: &Theme, inner: Rect, buf: &mut Buffer) {
    let w = &app.wizard;
    let Some(p) = &w.plan else { return };
    let tool = &p.tool;
    let mut lines = vec![
        Line::from(vec![
            Span::raw("Roll "),
            Span::styled(tool.clone(), theme.title()),
            Span::raw(" back from "),
            Span::styled(p.from.id.clone(), theme.state(SnapshotState::Active)),
            Span::raw(format!(" ({} records) to ", p.from.record_count)),
            Span::styled(p.to.id.clone(), theme.title()),
            Span::raw(format!(
                " ({} records){}",
                p.to.record_count,
                if p.target_was_archived {
                    ", from the archive"
                } else {
                    ""
                }
            )),
        ]),
        Line::raw(format!("  {}", p.diff.headline("rolling back"))),
        Line::raw(format!("  reason: {}", w.reason.text().trim())),
        Line::raw(format!(
            "  by {} · only if {} is still the active snapshot",
            app.user, p.from.id
        )),
    ];
    lines.extend(consequence_lines(w, theme));
    if let Some(now_active) = &w.moved {
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            format!(
                "⚠ {tool}'s active snapshot changed since the preview: it is now {now_active}, not {}. This preview is out of date; nothing can be rolled back from it.",
                p.from.id
            ),
            theme.error(),
        ));
        lines.push(Line::styled(
            "Enter: reload the targets against the new state · Esc: back",
            theme.key(),
        ));
    } else {
        let ok = w.confirmed();
        lines.push(Line::raw(""));
        lines.push(Line::from(vec![
            Span::raw(format!("Type the tool name ({tool}) to confirm: ")),
            Span::styled(super::field_text(&w.confirm, true, 40), theme.focus()),
            if ok {
                Span::styled("  ✓ matches", theme.ok())
            } else {
                Span::raw("")
            },
        ]));
        lines.push(Line::raw(""));
        let (c, r) = match w.confirm_focus {
            ConfirmFocus::Cancel => (theme.focus(), theme.dim()),
            ConfirmFocus::RollBack => (theme.dim(), theme.focus().patch(theme.error())),
        };
        lines.push(Line::from(vec![
            Span::raw("   "),
            Span::styled("[ Cancel ]", c),
            Span::raw("     "),
            Span::styled(
                if ok {
                    "[ Roll back ]"
                } else {
                    "[ Roll back ] (disabled)"
                },
                r,
            ),
        ]));
        lines.push(Line::raw(""));
        let why = if ok {
            "Enter presses the focused button; Tab, ← or → moves the focus.".to_string()
        } else {
            format!(
                "[ Roll back ] is disabled until you type {tool} exactly. Enter presses Cancel."
            )
        };
        lines.push(Line::styled(why, theme.dim()));
        if let Some(n) = &w.note {
            lines.push(Line::styled(n.clone(), theme.warn()));
        }
    }
    super::paragraph(lines, 0, inner.inner(Margin::new(1, 0)), buf);
}

fn execute_step(app: &App, theme: &Theme, inner: Rect, buf: &mut Buffer) {
    let w = &app.wizard;
    let mut lines: Vec<Line> = Vec::new();
    for (step, state, msg) in &w.steps {
        let (g, style) = match state {
            StepState::Pending => ("·", theme.dim()),
            StepState::Running => (spinner(app), theme.warn()),
            StepState::Done => ("✓", theme.ok()),
            StepState::Failed => ("✗", theme.error()),
        };
        let mut spans = vec![
            Span::styled(format!("  {g} "), style),
            Span::styled(step.label().to_string(), style),
        ];
        if let Some(m) = msg {
            spans.push(Span::styled(format!(": {m}"), theme.error()));
        }
        lines.push(Line::from(spans));
    }
    lines.push(Line::raw(""));
    match &w.outcome {
        None => lines.push(Line::styled(
            format!(
                "{} running the verified workflow in one transaction…",
                spinner(app)
            ),
            theme.warn(),
        )),
        Some(Ok(r)) => {
            lines.push(Line::styled(
                format!("✓ {}", rollback_sentence(r)),
                theme.ok(),
            ));
            lines.push(Line::raw(""));
            lines.push(Line::styled("Enter: back to the overview", theme.key()));
        }
        Some(Err(f)) => lines.extend(failure_lines(f, theme)),
    }
    super::paragraph(lines, 0, inner.inner(Margin::new(1, 0)), buf);
}

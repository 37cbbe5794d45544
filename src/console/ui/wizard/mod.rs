//! Screen 3: the rollback wizard, one step per screen: the tool and the
//! target (`choose`), the dry-run diff (`preview`), and the steps that say
//! what is about to happen and what happened (`steps`).

mod choose;
mod preview;
mod steps;

use super::{below, boxed, fmt_age, paragraph};
use crate::console::app::App;
use crate::console::theme::Theme;
use crate::console::wizard::{Failure, Wizard, WizardStep};
use crate::domain::freshness::Freshness;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

/// The step's box: under the breadcrumb.
fn content(body: Rect) -> Rect {
    below(body, 1, 0)
}

fn inner_of(r: Rect) -> Rect {
    Rect::new(
        r.x + 1,
        r.y + 1,
        r.width.saturating_sub(2),
        r.height.saturating_sub(2),
    )
}

pub(super) struct PreviewLayout {
    pub list: Rect,
    pub detail: Option<Rect>,
}

pub(super) fn preview_layout(inner: Rect) -> PreviewLayout {
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
        WizardStep::Tool | WizardStep::Target => Some(choose::rows_of(inner)),
        WizardStep::Preview => {
            let l = preview_layout(inner).list;
            Some(Rect::new(l.x, l.y, l.width, l.height))
        }
        _ => None,
    }
}

fn breadcrumb(w: &Wizard, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let cur = w.step.index();
    let titles = WizardStep::TITLES;
    let mut spans = vec![Span::styled(" Rollback: ", theme.title())];
    for (i, s) in titles.iter().enumerate() {
        let (text, style) = if i == cur {
            (format!(" {}. {s} ", i + 1), theme.focus())
        } else if i < cur {
            (format!("✓ {s}"), theme.ok())
        } else {
            (format!("{}. {s}", i + 1), theme.dim())
        };
        spans.push(Span::styled(text, style));
        if i + 1 < titles.len() {
            spans.push(Span::styled(" › ", theme.dim()));
        }
    }
    buf.set_line(area.x, area.y, &Line::from(spans), area.width);
}

pub fn render(app: &App, theme: &Theme, body: Rect, buf: &mut Buffer) {
    if app.read_only {
        return read_only(theme, body, buf);
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
        WizardStep::Confirm(_) => "6. Confirm".to_string(),
        WizardStep::Execute { .. } => format!("7. Rolling {tool} back"),
        WizardStep::Result { .. } => "8. Result".to_string(),
    };
    let inner = boxed(&title, true, theme, area, buf);
    match w.step {
        WizardStep::Tool => choose::tool_step(app, theme, inner, buf),
        WizardStep::Target => choose::target_step(app, theme, inner, buf),
        WizardStep::Verify => steps::verify_step(app, theme, inner, buf),
        WizardStep::Preview => preview::preview_step(app, theme, inner, buf),
        WizardStep::Reason => steps::reason_step(app, theme, inner, buf),
        WizardStep::Confirm(_) => steps::confirm_step(app, theme, inner, buf),
        WizardStep::Execute { .. } | WizardStep::Result { .. } => {
            steps::execute_step(app, theme, inner, buf)
        }
    }
    // Reason and Confirm show their notes beside their fields.
    if let (Some(n), false) = (
        &w.note,
        matches!(w.step, WizardStep::Reason | WizardStep::Confirm(_)),
    ) {
        buf.set_stringn(
            inner.x + 1,
            inner.bottom().saturating_sub(1),
            n,
            inner.width.saturating_sub(2) as usize,
            theme.warn(),
        );
    }
}

/// A read-only console offers no rollback: it says how to get one.
fn read_only(theme: &Theme, body: Rect, buf: &mut Buffer) {
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
    paragraph(lines, 0, inner, buf);
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
    let age = fmt_age(a.age);
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
    if let Some(why) = t.rollback_reason(s.id.as_str()) {
        out.push(Line::styled(
            format!(
                "⚠ {tool} was rolled back from this snapshot before: \"{}\"",
                crate::console::widgets::escape(why)
            ),
            theme.warn(),
        ));
    }
    out
}

pub(super) fn failure_lines<'a>(f: &Failure, theme: &Theme) -> Vec<Line<'a>> {
    vec![
        Line::styled(format!("✗ {}", f.message), theme.error()),
        Line::raw(""),
        Line::styled(format!("What now: {}", f.next), theme.warn()),
    ]
}

//! Steps 3 and 5 to 8: the verification, the reason, the confirmation,
//! and the rollback's progress and result.

use super::super::{field_text, paragraph, spinner};
use super::{consequence_lines, failure_lines};
use crate::console::app::App;
use crate::console::theme::Theme;
use crate::console::wizard::{ConfirmFocus, StepState, Wizard};
use crate::domain::snapshot::SnapshotState;
use crate::ops::rollback::Plan;
use ratatui::buffer::Buffer;
use ratatui::layout::{Margin, Rect};
use ratatui::text::{Line, Span};

pub fn verify_step(app: &App, theme: &Theme, inner: Rect, buf: &mut Buffer) {
    let w = &app.wizard;
    let target = w.target.clone().unwrap_or_default();
    let mut lines = vec![Line::from(vec![
        Span::raw("Target "),
        Span::styled(target.clone(), theme.title()),
        Span::raw(format!(" of {}", w.tool.as_deref().unwrap_or(""))),
    ])];
    lines.push(Line::raw(""));
    if w.plan_req.is_some() {
        let count = w
            .targets
            .as_ref()
            .and_then(|t| t.list.iter().find(|s| s.id == target))
            .map(|s| s.record_count);
        lines.extend(verifying_lines(app, count, inner.width, theme));
    } else if let Some(p) = &w.plan {
        lines.extend(verified_lines(w, p, theme));
    } else if let Some(f) = &w.failure {
        lines.extend(failure_lines(f, theme));
    }
    paragraph(lines, 0, inner.inner(Margin::new(1, 0)), buf);
}

/// The check under way: what it does, how long it has run, a moving bar.
fn verifying_lines<'a>(app: &App, count: Option<u64>, width: u16, theme: &Theme) -> Vec<Line<'a>> {
    let w = &app.wizard;
    let secs = w.verify_ticks as f64 / 10.0;
    let text = format!(
        "{} re-hashing {} stored records and comparing with the snapshot's normalizedHash, then computing the diff… {secs:.1}s",
        spinner(app),
        count.map(|c| c.to_string()).unwrap_or_else(|| "its".into())
    );
    let width = width.saturating_sub(4) as usize;
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
    vec![
        Line::styled(text, theme.warn()),
        Line::styled(bar, theme.dim()),
        Line::raw(""),
        Line::styled(
            "Esc cancels (the check only reads; its result is dropped).",
            theme.dim(),
        ),
    ]
}

/// The target re-hashed to its recorded hash: what rolling back would do.
fn verified_lines<'a>(w: &Wizard, p: &Plan, theme: &Theme) -> Vec<Line<'a>> {
    let v = &p.verification;
    let mut lines = vec![
        Line::styled(
            format!(
                "✓ verified: {} records re-hash to {}",
                v.actual_count,
                v.actual_hash.as_deref().unwrap_or("-")
            ),
            theme.ok(),
        ),
        Line::raw(format!(
            "  matches the snapshot's normalizedHash {} and recordCount {}",
            v.expected_hash.as_deref().unwrap_or("-"),
            v.expected_count
        )),
    ];
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
    lines
}

pub fn reason_step(app: &App, theme: &Theme, inner: Rect, buf: &mut Buffer) {
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
            field_text(&w.reason, true, inner.width.saturating_sub(12) as usize),
            theme.focus(),
        ),
    ]));
    // The field's error right under it.
    if let Some(n) = &w.note {
        lines.push(Line::styled(format!("        ✗ {n}"), theme.error()));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("e.g. \"data corruption detected in the nightly SBOM\" · Enter continues · Esc goes back (the text is kept)", theme.dim()));
    paragraph(lines, 0, inner.inner(Margin::new(1, 0)), buf);
}

pub fn confirm_step(app: &App, theme: &Theme, inner: Rect, buf: &mut Buffer) {
    let w = &app.wizard;
    let Some(p) = &w.plan else { return };
    let tool = &p.tool;
    let mut lines = vec![
        Line::from(vec![
            Span::raw("Roll "),
            Span::styled(tool.clone(), theme.title()),
            Span::raw(" back from "),
            Span::styled(p.from.id.to_string(), theme.state(SnapshotState::Active)),
            Span::raw(format!(" ({} records) to ", p.from.record_count)),
            Span::styled(p.to.id.to_string(), theme.title()),
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
    match &w.moved {
        Some(now_active) => lines.extend(moved_lines(p, now_active, theme)),
        None => lines.extend(confirm_lines(w, tool, theme)),
    }
    paragraph(lines, 0, inner.inner(Margin::new(1, 0)), buf);
}

/// The active snapshot changed since the preview: nothing to confirm.
fn moved_lines<'a>(p: &Plan, now_active: &str, theme: &Theme) -> Vec<Line<'a>> {
    vec![
        Line::raw(""),
        Line::styled(
            format!(
                "⚠ {}'s active snapshot changed since the preview: it is now {now_active}, not {}. This preview is out of date; nothing can be rolled back from it.",
                p.tool, p.from.id
            ),
            theme.error(),
        ),
        Line::styled(
            "Enter: reload the targets against the new state · Esc: back",
            theme.key(),
        ),
    ]
}

/// The typed tool name and the two buttons.
fn confirm_lines<'a>(w: &Wizard, tool: &str, theme: &Theme) -> Vec<Line<'a>> {
    let ok = w.confirmed();
    let typed = w
        .confirmation()
        .map(|c| c.typed.clone())
        .unwrap_or_default();
    let mut lines = vec![
        Line::raw(""),
        Line::from(vec![
            Span::raw(format!("Type the tool name ({tool}) to confirm: ")),
            Span::styled(field_text(&typed, true, 40), theme.focus()),
            if ok {
                Span::styled("  ✓ matches", theme.ok())
            } else {
                Span::raw("")
            },
        ]),
        Line::raw(""),
    ];
    let (c, r) = match w.confirm_focus() {
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
        format!("[ Roll back ] is disabled until you type {tool} exactly. Enter presses Cancel.")
    };
    lines.push(Line::styled(why, theme.dim()));
    if let Some(n) = &w.note {
        lines.push(Line::styled(n.clone(), theme.warn()));
    }
    lines
}

pub fn execute_step(app: &App, theme: &Theme, inner: Rect, buf: &mut Buffer) {
    let w = &app.wizard;
    let mut lines: Vec<Line> = Vec::new();
    for (step, state, msg) in w.steps() {
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
    match w.outcome() {
        None => lines.push(Line::styled(
            format!(
                "{} running the verified workflow in one transaction…",
                spinner(app)
            ),
            theme.warn(),
        )),
        Some(Ok(r)) => {
            lines.push(Line::styled(format!("✓ {r}"), theme.ok()));
            lines.push(Line::raw(""));
            lines.push(Line::styled("Enter: back to the overview", theme.key()));
        }
        Some(Err(f)) => lines.extend(failure_lines(f, theme)),
    }
    paragraph(lines, 0, inner.inner(Margin::new(1, 0)), buf);
}

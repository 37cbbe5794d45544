//! Screen 5: the retention policy, the next run, the holds, and what the
//! next run would archive or delete.

use super::{boxed, spinner};
use crate::console::app::App;
use crate::console::theme::Theme;
use crate::domain::retention::Action;
use crate::domain::snapshot::SnapshotState;
use crate::ops::retention::Status;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

pub fn render(app: &App, theme: &Theme, body: Rect, buf: &mut Buffer) {
    let inner = boxed("Retention (↑↓ scroll)", true, theme, body, buf);
    let Some(st) = &app.retention else {
        let msg = match &app.retention_error {
            Some(e) => format!("cannot load retention status: {e}"),
            None => format!("{} loading…", spinner(app)),
        };
        buf.set_stringn(inner.x + 1, inner.y, msg, inner.width as usize, theme.dim());
        return;
    };
    let mut lines = policy_lines(st, theme);
    lines.extend(hold_lines(st, theme));
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        format!("The next run ({}) would", st.next_run),
        theme.header(),
    ));
    if st.pending.actions.is_empty() {
        lines.push(Line::styled("  do nothing", theme.dim()));
    }
    // The plan can hold thousands of entries: build only the visible ones.
    let head = lines.len();
    let total = head + st.pending.actions.len() + st.pending.skipped.len();
    let from = (app.retention_scroll as usize).min(total.saturating_sub(1));
    let to = (from + inner.height as usize).min(total);
    let mut visible: Vec<Line> = lines
        .iter()
        .skip(from)
        .take(to.saturating_sub(from))
        .cloned()
        .collect();
    visible.extend((from.max(head)..to).map(|i| plan_line(st, i - head, theme)));
    let area = Rect::new(
        inner.x + 1,
        inner.y,
        inner.width.saturating_sub(1),
        inner.height,
    );
    ratatui::widgets::Widget::render(ratatui::widgets::Paragraph::new(visible), area, buf);
}

fn policy_lines<'a>(st: &Status, theme: &Theme) -> Vec<Line<'a>> {
    let mut lines = vec![
        Line::styled("Policy", theme.header()),
        Line::raw(format!("  schedule        {} (UTC, cron)", st.schedule)),
        Line::from(vec![
            Span::raw("  next run        "),
            Span::styled(st.next_run.clone(), theme.title()),
        ]),
    ];
    for r in &st.rules {
        lines.push(Line::raw(format!(
            "  {:<15} {} after {}",
            format!("{} snapshots", r.category),
            r.action.as_str(),
            r.max_age
        )));
    }
    lines.push(Line::raw(format!(
        "  audit records   kept {}, purged only on request",
        st.audit_max_age
    )));
    lines
}

fn hold_lines<'a>(st: &Status, theme: &Theme) -> Vec<Line<'a>> {
    let mut lines = vec![
        Line::raw(""),
        Line::styled(format!("Holds ({})", st.exceptions.len()), theme.header()),
    ];
    if st.exceptions.is_empty() {
        lines.push(Line::styled("  none", theme.dim()));
    }
    for h in &st.exceptions {
        lines.push(Line::from(vec![
            Span::raw("  "),
            if h.active {
                Span::styled("■ held   ", theme.ok())
            } else {
                Span::styled("□ lapsed ", theme.dim())
            },
            Span::raw(format!(" {}", h.snapshot_id)),
            Span::styled(format!("  until {}", h.expires_at), theme.title()),
            Span::raw(format!("  by {}: {}", h.created_by, h.reason)),
        ]));
    }
    lines
}

/// The `i`th entry of the next run's plan: the actions, then the kept.
fn plan_line<'a>(st: &Status, i: usize, theme: &Theme) -> Line<'a> {
    let n_actions = st.pending.actions.len();
    let (word, style, id, reason) = match st.pending.actions.get(i) {
        Some(a) => {
            let (word, style) = match a.action {
                Action::Archive => ("▣ archive", theme.state(SnapshotState::Archived)),
                Action::Delete => ("· delete ", theme.error()),
            };
            (word, style, &a.snapshot_id, &a.reason)
        }
        None => {
            let k = &st.pending.skipped[i - n_actions];
            ("✓ keep   ", theme.ok(), &k.snapshot_id, &k.reason)
        }
    };
    Line::from(vec![
        Span::raw("  "),
        Span::styled(word, style),
        Span::raw(format!(" {id}  ")),
        Span::styled(reason.clone(), theme.dim()),
    ])
}

//! Screen 5: the retention policy, the next run, the holds, and what the
//! next run would archive or delete.

use super::boxed;
use crate::console::app::App;
use crate::console::theme::Theme;
use crate::domain::retention::Action;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

pub fn render(app: &App, theme: &Theme, body: Rect, buf: &mut Buffer) {
    let inner = boxed("Retention (↑↓ scroll)", true, theme, body, buf);
    let Some(st) = &app.retention else {
        let msg = match &app.retention_error {
            Some(e) => format!("cannot load retention status: {e}"),
            None => format!("{} loading…", super::spinner(app)),
        };
        buf.set_stringn(inner.x + 1, inner.y, msg, inner.width as usize, theme.dim());
        return;
    };
    let mut lines: Vec<Line> = Vec::new();
    lines.push(Line::styled("Policy", theme.header()));
    lines.push(Line::raw(format!(
        "  schedule        {} (UTC, cron)",
        st.schedule
    )));
    lines.push(Line::from(vec![
        Span::raw("  next run        "),
        Span::styled(st.next_run.clone(), theme.title()),
    ]));
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
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        format!("Holds ({})", st.exceptions.len()),
        theme.header(),
    ));
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
    let n_actions = st.pending.actions.len();
    let total = head + n_actions + st.pending.skipped.len();
    let from = (app.retention_scroll as usize).min(total.saturating_sub(1));
    let to = (from + inner.height as usize).min(total);
    let mut visible: Vec<Line> = lines
        .iter()
        .skip(from)
        .take(to.saturating_sub(from))
        .cloned()
        .collect();
    for i in from.max(head)..to {
        if i < head + n_actions {
            let a = &st.pending.actions[i - head];
            let (word, style) = match a.action {
                Action::Archive => (
                    "▣ archive",
                    theme.state(crate::domain::snapshot::SnapshotState::Archived),
                ),
                Action::Delete => ("· delete ", theme.error()),
            };
            visible.push(Line::from(vec![
                Span::raw("  "),
                Span::styled(word, style),
                Span::raw(format!(" {}  ", a.snapshot_id)),
                Span::styled(a.reason.clone(), theme.dim()),
            ]));
        } else {
            let k = &st.pending.skipped[i - head - n_actions];
            visible.push(Line::from(vec![
                Span::raw("  "),
                Span::styled("✓ keep   ", theme.ok()),
                Span::raw(format!(" {}  ", k.snapshot_id)),
                Span::styled(k.reason.clone(), theme.dim()),
            ]));
        }
    }
    let area = Rect::new(
        inner.x + 1,
        inner.y,
        inner.width.saturating_sub(1),
        inner.height,
    );
    ratatui::widgets::Widget::render(ratatui::widgets::Paragraph::new(visible), area, buf);
}

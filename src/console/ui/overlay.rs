//! What is drawn over a screen: a governance action's dialog, the toasts,
//! and the help.

use super::{boxed, field_text, fit, level_style, paragraph, scrollbar};
use crate::console::app::App;
use crate::console::keymap;
use crate::console::theme::Theme;
use crate::console::widgets::escape;
use ratatui::buffer::Buffer;
use ratatui::layout::{Margin, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear};
use ratatui::Frame;

/// A governance action's dialog: what it does, its fields (each error
/// under its field), and its keys.
pub fn dialog(d: &crate::console::actions::Dialog, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let w = area.width.saturating_sub(4).min(100);
    let h = area.height.saturating_sub(4).min(16);
    let r = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    ratatui::widgets::Widget::render(Clear, r, buf);
    let inner = boxed(&d.kind.title(), true, theme, r, buf);
    let mut lines: Vec<Line> = vec![Line::styled(d.kind.consequence(), theme.dim())];
    if let Some(p) = &d.preview {
        lines.push(Line::styled(
            format!(
                "dry run: would archive {} and delete {} snapshot(s){}",
                p.archived.len(),
                p.deleted.len(),
                if p.archived.is_empty() && p.deleted.is_empty() {
                    " (nothing to do)"
                } else {
                    ""
                }
            ),
            theme.warn(),
        ));
        let ids: Vec<String> = p
            .archived
            .iter()
            .chain(&p.deleted)
            .take(4)
            .cloned()
            .collect();
        if !ids.is_empty() {
            lines.push(Line::raw(format!("  {}", ids.join(", "))));
        }
    } else if d.preview_req.is_some() {
        lines.push(Line::styled("computing the dry run…", theme.warn()));
    }
    lines.push(Line::raw(""));
    let fw = inner.width.saturating_sub(14) as usize;
    for (i, (label, f)) in d.fields.iter().enumerate() {
        let focused = i == d.focus;
        let hint = match *label {
            "confirm" => format!(" (type {})", d.confirm_word().unwrap_or("")),
            "until" => " (RFC 3339 or P30D from now)".into(),
            _ => String::new(),
        };
        lines.push(Line::from(vec![
            Span::styled(
                format!("{label:>8}: "),
                if focused { theme.key() } else { theme.dim() },
            ),
            Span::styled(
                field_text(f, focused, fw.saturating_sub(hint.chars().count())),
                if focused { theme.focus() } else { Style::new() },
            ),
            Span::styled(hint, theme.dim()),
        ]));
        if let Some((Some(j), e)) = &d.error {
            if *j == i {
                lines.push(Line::styled(format!("          ✗ {e}"), theme.error()));
            }
        }
    }
    if let Some((None, e)) = &d.error {
        lines.push(Line::styled(format!("✗ {e}"), theme.error()));
    }
    if d.req.is_some() {
        lines.push(Line::styled("working…", theme.warn()));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        "Enter: do it · Tab: next field · Esc: cancel (nothing is changed)",
        theme.key(),
    ));
    paragraph(lines, 0, inner.inner(Margin::new(1, 0)), buf);
}

/// Toasts, newest at the bottom, in the body's top-right corner.
pub fn toasts(app: &App, theme: &Theme, body: Rect, buf: &mut Buffer) {
    let w = body.width.saturating_sub(4).min(60);
    for (i, t) in app.toasts.iter().enumerate() {
        let y = body.y + 1 + i as u16;
        if y >= body.bottom() || w < 10 {
            break;
        }
        let style = level_style(t.level, theme);
        let text = fit(&format!(" {} ", escape(&t.text)), w as usize);
        let tw = text.chars().count() as u16;
        let x = body.right().saturating_sub(tw + 2);
        buf.set_stringn(
            x,
            y,
            &text,
            tw as usize,
            style.add_modifier(ratatui::style::Modifier::REVERSED),
        );
    }
}

/// The help overlay, generated from the keymap table, this screen first.
pub fn help(app: &App, theme: &Theme, scroll: u16, area: Rect, f: &mut Frame) {
    let w = area.width.saturating_sub(4).min(110);
    let h = area.height.saturating_sub(2);
    let r = Rect::new(area.x + (area.width - w) / 2, area.y + 1, w, h);
    let all = keymap::help_lines(&app.screen_scopes());
    let total = all.len();
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.focused_border())
        .title(Span::styled(" Help — Esc or ? closes ", theme.title()))
        .title_bottom(Span::styled(
            format!(
                " {}-{}/{} · j k PgDn PgUp g G scroll ",
                (scroll as usize + 1).min(total),
                (scroll as usize + app.help_height() as usize).min(total),
                total
            ),
            theme.dim(),
        ));
    f.render_widget(Clear, r);
    let inner = block.inner(r);
    f.render_widget(block, r);
    let buf = f.buffer_mut();
    // The last column is the scrollbar's.
    let width = inner.width.saturating_sub(1) as usize;
    for (row, l) in all
        .into_iter()
        .skip(scroll as usize)
        .take(inner.height as usize)
        .enumerate()
    {
        let line = match l {
            keymap::HelpLine::Legend(t) => Line::styled(fit(t, width), theme.dim()),
            keymap::HelpLine::Blank => Line::raw(""),
            keymap::HelpLine::Title(s) => Line::styled(s.title(), theme.header()),
            keymap::HelpLine::Key(b) => Line::from(vec![
                Span::styled(format!("  {:<14}", b.label), theme.key()),
                Span::raw(fit(b.help, width.saturating_sub(16))),
            ]),
        };
        buf.set_line(inner.x, inner.y + row as u16, &line, width as u16);
    }
    scrollbar(
        scroll as usize,
        total,
        inner.height as usize,
        inner,
        theme,
        buf,
    );
}

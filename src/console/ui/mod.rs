//! Rendering: `render(&App, &Theme, &mut Frame)` only reads the state. The
//! layout functions here are shared with the app's mouse handling, so a
//! click lands on the row that was drawn there.

mod audit;
mod overlay;
mod overview;
mod retention;
mod sla;
mod table;
mod text;
mod wizard;

pub use table::{cells_row, col, fit_columns, head, header_row, rcol, sel_style, Col, Rows, Table};
pub use text::{
    age, badge, field_text, fit, fmt_age, freshness_badge, json_lines, short_hash, state_badge,
};

use super::app::{App, Level, Screen};
use super::keymap;
use super::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;

/// Below this the console shows only a "terminal too small" notice.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

pub fn spinner(app: &App) -> &'static str {
    SPINNER[(app.spinner % SPINNER.len() as u64) as usize]
}

/// The screen's body: between the tab bar and the status and hint lines.
pub fn body(area: Rect) -> Rect {
    Rect::new(
        area.x,
        area.y + 1,
        area.width,
        area.height.saturating_sub(3),
    )
}

/// The rows of the list that has the keyboard on this screen, if any (for
/// paging and for mouse clicks).
pub fn list_area(app: &App, area: Rect) -> Option<Rect> {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        return None;
    }
    let b = body(area);
    match app.screen {
        Screen::Overview => overview::list_area(app, b),
        Screen::Sla => Some(sla::list_area(app, b)),
        Screen::Rollback => wizard::list_area(app, b),
        Screen::Audit => Some(audit::list_area(app, b)),
        Screen::Retention => Some(b),
    }
}

fn tabs(_app: &App) -> Vec<(u8, String)> {
    Screen::ALL
        .iter()
        .map(|s| (s.number(), format!(" {} {} ", s.number(), s.title())))
        .collect()
}

const BRAND: &str = " snapgov ";

/// Draws the app and says where the list and the tabs went.
pub fn render(app: &App, theme: &Theme, f: &mut Frame) -> crate::console::app::Drawn {
    let area = f.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(area, f.buffer_mut());
        return Default::default();
    }
    let drawn = crate::console::app::Drawn {
        list: list_area(app, area),
        tabs: {
            let mut cx = area.x + BRAND.chars().count() as u16;
            tabs(app)
                .into_iter()
                .map(|(n, label)| {
                    let w = label.chars().count() as u16;
                    let t = (n, cx, w);
                    cx += w + 1;
                    t
                })
                .collect()
        },
    };
    let buf = f.buffer_mut();
    tab_bar(app, theme, area, buf);
    let b = body(area);
    match app.screen {
        Screen::Overview => overview::render(app, theme, b, buf),
        Screen::Sla => sla::render(app, theme, b, buf),
        Screen::Rollback => wizard::render(app, theme, b, buf),
        Screen::Audit => audit::render(app, theme, b, buf),
        Screen::Retention => retention::render(app, theme, b, buf),
    }
    status_line(
        app,
        theme,
        Rect::new(area.x, area.bottom() - 2, area.width, 1),
        buf,
    );
    hint_bar(
        app,
        theme,
        Rect::new(area.x, area.bottom() - 1, area.width, 1),
        buf,
    );
    if let Some(d) = &app.dialog {
        overlay::dialog(d, theme, area, f.buffer_mut());
    }
    overlay::toasts(app, theme, b, f.buffer_mut());
    if let Some(scroll) = app.help {
        overlay::help(app, theme, scroll, area, f);
    }
    if let (Screen::Audit, Some(form)) = (app.screen, &app.audit.form) {
        audit::form(theme, form, area, f.buffer_mut());
    }
    drawn
}

/// Highlights the `/` filter's text where a drawn row shows it:
/// underlined and bold, so it reads without colour. It works on the cells
/// drawn, so every list gets it whatever its columns.
pub fn mark_match(app: &App, row: Rect, buf: &mut Buffer) {
    let Some(f) = &app.find else {
        return;
    };
    let needle: Vec<char> = f
        .field
        .text()
        .chars()
        .flat_map(char::to_lowercase)
        .collect();
    if needle.is_empty() {
        return;
    }
    let row = row.intersection(buf.area);
    // One char per drawn cell (the blank half of a wide glyph is skipped).
    let cells: Vec<(u16, char)> = (row.x..row.right())
        .filter_map(|x| {
            let c = buf[(x, row.y)].symbol().chars().next()?;
            Some((x, c.to_lowercase().next().unwrap_or(c)))
        })
        .collect();
    let style = Style::new().add_modifier(Modifier::UNDERLINED | Modifier::BOLD);
    let mut i = 0;
    while i + needle.len() <= cells.len() {
        if cells[i..i + needle.len()]
            .iter()
            .zip(&needle)
            .all(|((_, c), n)| c == n)
        {
            for (x, _) in &cells[i..i + needle.len()] {
                buf[(*x, row.y)].set_style(style);
            }
            i += needle.len();
        } else {
            i += 1;
        }
    }
}

fn too_small(area: Rect, buf: &mut Buffer) {
    let text = vec![
        Line::from("terminal too small"),
        Line::from(format!(
            "{}×{}: need {MIN_WIDTH}×{MIN_HEIGHT}",
            area.width, area.height
        )),
        Line::from("enlarge the window, or press q to quit"),
    ];
    let h = (text.len() as u16).min(area.height);
    let y = area.y + area.height.saturating_sub(h) / 2;
    ratatui::widgets::Widget::render(
        Paragraph::new(text).alignment(ratatui::layout::Alignment::Center),
        Rect::new(area.x, y, area.width, h),
        buf,
    );
}

fn tab_bar(app: &App, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let y = area.y;
    buf.set_style(Rect::new(area.x, y, area.width, 1), theme.dim());
    let mut x = area.x;
    x = buf
        .set_stringn(x, y, BRAND, area.width as usize, theme.title())
        .0;
    for (n, label) in tabs(app) {
        let style = if n == app.screen.number() {
            theme.focus()
        } else if n == 3 && app.read_only {
            theme.dim()
        } else {
            Style::new()
        };
        x = buf
            .set_stringn(x, y, &label, area.right().saturating_sub(x) as usize, style)
            .0;
        x = buf
            .set_stringn(
                x,
                y,
                " ",
                area.right().saturating_sub(x) as usize,
                Style::new(),
            )
            .0;
    }
    let spin = app
        .busy()
        .then(|| Span::styled(format!("{} ", spinner(app)), theme.warn()));
    let ro = app
        .read_only
        .then(|| Span::styled(" READ-ONLY ", theme.focus()));
    let asof = app.overview.as_ref().map(|o| {
        Span::styled(
            format!(" as of {} ", crate::domain::time::fmt_ts(o.now)),
            theme.dim(),
        )
    });
    // What does not fit goes: first the time, then the spinner.
    for parts in [
        vec![spin.clone(), ro.clone(), asof],
        vec![spin, ro.clone()],
        vec![ro],
    ] {
        let line = Line::from(parts.into_iter().flatten().collect::<Vec<_>>());
        let w = line.width() as u16;
        if x + w < area.right() {
            buf.set_line(area.right() - w, y, &line, w);
            break;
        }
    }
}

/// A notice's style by its level.
pub fn level_style(level: Level, theme: &Theme) -> Style {
    match level {
        Level::Info => theme.ok(),
        Level::Warn => theme.warn(),
        Level::Error => theme.error(),
    }
}

fn status_line(app: &App, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let (text, style) = if let Some((m, level)) = &app.flash {
        (m.clone(), level_style(*level, theme))
    } else if let (Some((text, hits)), Some(f)) = (app.find_matches(), &app.find) {
        let sel = app.current_sel();
        let total = app.find_labels().map_or(0, |l| l.len());
        let at = hits.iter().position(|&i| Some(i) == sel).map(|p| p + 1);
        (
            format!(
                "filter: {}{}  {} · {}",
                escape(&text),
                if f.editing { "▏" } else { "" },
                match (text.is_empty(), hits.len(), at) {
                    (true, _, _) => format!("type to narrow the {total} rows"),
                    (false, 0, _) => format!("no match (of {total})"),
                    (false, n, Some(k)) => format!("{k}/{n} of {total}"),
                    (false, n, None) => format!("{n} of {total}"),
                },
                if f.editing {
                    "Enter keeps it, Esc clears"
                } else {
                    "n N next / previous match, Esc clears"
                }
            ),
            theme.key(),
        )
    } else if let Some(e) = &app.load_error {
        (format!("cannot load: {e}"), theme.error())
    } else {
        (
            format!(
                "store {}{} · user {}",
                app.db_label,
                if app.read_only { " (read-only)" } else { "" },
                app.user
            ),
            theme.dim(),
        )
    };
    buf.set_stringn(
        area.x + 1,
        area.y,
        text,
        area.width.saturating_sub(2) as usize,
        style,
    );
}

fn hint_bar(app: &App, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let mut spans = Vec::new();
    let all = keymap::hints(&app.scopes(), app.read_only);
    let cost = |(label, word): &(&str, &str)| label.chars().count() + word.chars().count() + 3;
    // The help key always has room: everything else is in the help.
    let help = all.iter().find(|(_, w)| *w == "help").copied();
    let mut width = 1 + help.as_ref().map_or(0, cost);
    let mut shown: Vec<(&str, &str)> = Vec::new();
    for h in all.iter().filter(|(_, w)| *w != "help") {
        if width + cost(h) > area.width as usize {
            break;
        }
        width += cost(h);
        shown.push(*h);
    }
    shown.extend(help);
    for (label, word) in shown {
        spans.push(Span::styled(label, theme.key()));
        spans.push(Span::raw(format!(" {word}  ")));
    }
    buf.set_line(
        area.x + 1,
        area.y,
        &Line::from(spans),
        area.width.saturating_sub(1),
    );
}

/// A scrollbar on the right edge of `area` when `total` rows do not fit.
pub fn scrollbar(
    offset: usize,
    total: usize,
    visible: usize,
    area: Rect,
    theme: &Theme,
    buf: &mut Buffer,
) {
    if total <= visible || area.height == 0 || area.width == 0 {
        return;
    }
    let mut state = ratatui::widgets::ScrollbarState::new(total.saturating_sub(visible))
        .position(offset)
        .viewport_content_length(visible);
    ratatui::widgets::StatefulWidget::render(
        ratatui::widgets::Scrollbar::new(ratatui::widgets::ScrollbarOrientation::VerticalRight)
            .begin_symbol(None)
            .end_symbol(None)
            .track_symbol(Some("│"))
            .thumb_symbol("┃")
            .thumb_style(theme.key()),
        area,
        buf,
        &mut state,
    );
}

// ---- helpers shared by the screens ----

/// `r` without its first `top` and last `bottom` lines.
pub fn below(r: Rect, top: u16, bottom: u16) -> Rect {
    Rect::new(
        r.x,
        r.y + top,
        r.width,
        r.height.saturating_sub(top + bottom),
    )
}

/// A titled box; returns its inside.
pub fn boxed(title: &str, focused: bool, theme: &Theme, area: Rect, buf: &mut Buffer) -> Rect {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(if focused {
            theme.focused_border()
        } else {
            theme.border()
        })
        .title(Span::styled(format!(" {title} "), theme.title()));
    let inner = block.inner(area);
    ratatui::widgets::Widget::render(block, area, buf);
    inner
}

/// Wrapped text scrolled by `scroll` lines; only what can be visible is
/// laid out.
pub fn paragraph(lines: Vec<Line<'_>>, scroll: u16, area: Rect, buf: &mut Buffer) {
    let visible: Vec<Line> = lines
        .into_iter()
        .skip(scroll as usize)
        .take(area.height as usize)
        .collect();
    ratatui::widgets::Widget::render(
        Paragraph::new(visible).wrap(Wrap { trim: false }),
        area,
        buf,
    );
}

pub use crate::console::widgets::escape;

//! Rendering: `render(&App, &Theme, &mut Frame)` only reads the state. The
//! layout functions here are shared with the app's mouse handling, so a
//! click lands on the row that was drawn there.

mod audit;
mod overview;
mod retention;
mod sla;
mod wizard;

use super::app::{App, Level, Screen};
use super::keymap;
use super::theme::Theme;
use chrono::{DateTime, Duration, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Margin;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
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
        dialog(d, theme, area, f.buffer_mut());
    }
    toasts(app, theme, b, f.buffer_mut());
    if let Some(scroll) = app.help {
        help(app, theme, scroll, area, f);
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

/// A governance action's dialog: what it does, its fields (each error
/// under its field), and its keys.
fn dialog(d: &crate::console::actions::Dialog, theme: &Theme, area: Rect, buf: &mut Buffer) {
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
fn toasts(app: &App, theme: &Theme, body: Rect, buf: &mut Buffer) {
    let w = body.width.saturating_sub(4).min(60);
    for (i, t) in app.toasts.iter().enumerate() {
        let y = body.y + 1 + i as u16;
        if y >= body.bottom() || w < 10 {
            break;
        }
        let style = match t.level {
            Level::Info => theme.ok(),
            Level::Warn => theme.warn(),
            Level::Error => theme.error(),
        };
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

fn status_line(app: &App, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let (text, style) = if let Some((m, level)) = &app.flash {
        let s = match level {
            Level::Info => theme.ok(),
            Level::Warn => theme.warn(),
            Level::Error => theme.error(),
        };
        (m.clone(), s)
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

/// The help overlay, generated from the keymap table, this screen first.
fn help(app: &App, theme: &Theme, scroll: u16, area: Rect, f: &mut Frame) {
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

/// A compact age: `45s`, `23h55m`, `8d23h`.
pub fn fmt_age(d: Duration) -> String {
    let s = d.num_seconds().max(0);
    let (days, h, m) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60);
    if days > 0 {
        format!("{days}d{h}h")
    } else if h > 0 {
        format!("{h}h{m:02}m")
    } else if m > 0 {
        format!("{m}m")
    } else {
        format!("{s}s")
    }
}

pub fn age(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    fmt_age(now - t)
}

/// `b3:bdaba0941fd3…`: enough of a hash to tell two apart.
pub fn short_hash(h: Option<&str>, n: usize) -> String {
    match h {
        None => "-".into(),
        Some(h) if h.chars().count() <= n => h.to_string(),
        Some(h) => format!(
            "{}…",
            h.chars().take(n.saturating_sub(1)).collect::<String>()
        ),
    }
}

pub fn fit(s: &str, w: usize) -> String {
    if s.chars().count() <= w {
        s.to_string()
    } else if w == 0 {
        String::new()
    } else {
        format!("{}…", s.chars().take(w - 1).collect::<String>())
    }
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

/// One table column.
#[derive(Clone, Copy)]
pub struct Col {
    pub title: &'static str,
    pub width: u16,
    pub right: bool,
}

pub const fn col(title: &'static str, width: u16) -> Col {
    Col {
        title,
        width,
        right: false,
    }
}
pub const fn rcol(title: &'static str, width: u16) -> Col {
    Col {
        title,
        width,
        right: true,
    }
}

/// Drops columns from the end of `priority` until the rest fit in `width`.
pub fn fit_columns(cols: &[Col], priority_drop: &[usize], width: u16) -> Vec<usize> {
    let mut keep: Vec<usize> = (0..cols.len()).collect();
    let total = |k: &Vec<usize>| k.iter().map(|&i| cols[i].width + 1).sum::<u16>();
    for &d in priority_drop {
        if total(&keep) <= width {
            break;
        }
        keep.retain(|&i| i != d);
    }
    keep
}

pub fn header_row(
    cols: &[Col],
    keep: &[usize],
    theme: &Theme,
    x: u16,
    y: u16,
    width: u16,
    buf: &mut Buffer,
) {
    let mut cx = x;
    for &i in keep {
        let c = cols[i];
        let w = c.width.min((x + width).saturating_sub(cx));
        let t = if c.right {
            format!("{:>w$}", c.title, w = w as usize)
        } else {
            c.title.to_string()
        };
        buf.set_stringn(cx, y, t, w as usize, theme.header());
        cx += c.width + 1;
    }
}

/// Writes one row's cells (each a list of spans) in the kept columns.
pub fn cells_row(
    cols: &[Col],
    keep: &[usize],
    cells: &[Vec<Span<'_>>],
    x: u16,
    y: u16,
    width: u16,
    buf: &mut Buffer,
) {
    let mut cx = x;
    for &i in keep {
        let c = cols[i];
        if cx >= x + width {
            break;
        }
        let w = c.width.min(x + width - cx);
        if let Some(spans) = cells.get(i) {
            let line = Line::from(spans.clone());
            let lw = line.width() as u16;
            let off = if c.right && lw < w { w - lw } else { 0 };
            buf.set_line(cx + off, y, &line, w - off);
            if lw > w && w > 0 {
                // Cut: say so.
                buf[(cx + w - 1, y)].set_symbol("…");
            }
        }
        cx += c.width + 1;
    }
}

pub fn sel_style(theme: &Theme, selected: bool, focused: bool) -> Style {
    if selected && focused {
        theme.selected()
    } else if selected {
        Style::new().add_modifier(Modifier::UNDERLINED)
    } else {
        Style::new()
    }
}

/// A JSON document as lines, for detail panes.
pub fn json_lines(v: &impl serde::Serialize) -> Vec<String> {
    serde_json::to_string_pretty(v)
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
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

/// A text field as drawn: its text with the cursor (`▏`) where it is,
/// the end kept in view when the text is wider than `width`.
pub fn field_text(f: &crate::console::widgets::TextField, focused: bool, width: usize) -> String {
    let chars: Vec<char> = f.text().chars().collect();
    let cur = f.cursor().min(chars.len());
    let mut s: String = chars[..cur].iter().collect();
    if focused {
        s.push('▏');
    }
    s.extend(&chars[cur..]);
    let n = s.chars().count();
    if width > 1 && n > width {
        // Keep the cursor in view: cut from the left.
        let skip = (cur + 2).saturating_sub(width).min(n - width);
        let rest: String = s.chars().skip(skip + 1).take(width - 1).collect();
        return format!("…{rest}");
    }
    s
}

pub use crate::console::widgets::escape;

//! Tables: columns that drop out when the screen is narrow, a header, and
//! rows of styled cells.

use super::{mark_match, scrollbar};
use crate::console::app::App;
use crate::console::theme::Theme;
use crate::console::widgets::ListNav;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

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

/// Where each kept column goes: (its index, its first cell, its width),
/// for the columns that start inside `width` from `x`.
fn placed<'a>(
    cols: &'a [Col],
    keep: &'a [usize],
    x: u16,
    width: u16,
) -> impl Iterator<Item = (usize, u16, u16)> + 'a {
    let end = x + width;
    keep.iter()
        .scan(x, move |cx, &i| {
            let at = *cx;
            *cx += cols[i].width + 1;
            Some((i, at))
        })
        .take_while(move |&(_, at)| at < end)
        .map(move |(i, at)| (i, at, cols[i].width.min(end - at)))
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
    for (i, cx, w) in placed(cols, keep, x, width) {
        let c = cols[i];
        let t = if c.right {
            format!("{:>w$}", c.title, w = w as usize)
        } else {
            c.title.to_string()
        };
        buf.set_stringn(cx, y, t, w as usize, theme.header());
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
    for (i, cx, w) in placed(cols, keep, x, width) {
        let Some(spans) = cells.get(i) else {
            continue;
        };
        let line = Line::from(spans.clone());
        let lw = line.width() as u16;
        let off = if cols[i].right && lw < w { w - lw } else { 0 };
        buf.set_line(cx + off, y, &line, w - off);
        if lw > w && w > 0 {
            // Cut: say so.
            buf[(cx + w - 1, y)].set_symbol("…");
        }
    }
}

/// Fits the columns to `area`'s width and writes their header on its first
/// line; returns the kept columns.
pub fn head(
    cols: &[Col],
    drop: &[usize],
    theme: &Theme,
    area: Rect,
    buf: &mut Buffer,
) -> Vec<usize> {
    let keep = fit_columns(cols, drop, area.width);
    header_row(cols, &keep, theme, area.x, area.y, area.width, buf);
    keep
}

/// A list's length, its selection, and whether it has the keyboard.
pub struct Rows {
    pub len: usize,
    pub nav: ListNav,
    pub focused: bool,
}

/// A list drawn as a table: its columns, the kept ones, and the rows' area.
pub struct Table<'a> {
    pub cols: &'a [Col],
    pub keep: &'a [usize],
    pub rows: Rect,
}

impl Rows {
    pub fn new(len: usize, nav: ListNav, focused: bool) -> Rows {
        Rows { len, nav, focused }
    }
}

impl<'a> Table<'a> {
    pub fn new(cols: &'a [Col], keep: &'a [usize], rows: Rect) -> Table<'a> {
        Table { cols, keep, rows }
    }

    /// A scrolled list: its scrollbar on the right edge of `frame` (the
    /// list's box), and the rows in view, each from `cells`.
    pub fn scrolled<'s>(
        &self,
        app: &App,
        list: Rows,
        frame: Rect,
        theme: &Theme,
        buf: &mut Buffer,
        cells: impl Fn(usize) -> Vec<Vec<Span<'s>>>,
    ) {
        let rows = self.rows;
        let (off, total) = app.scroll_span(list.len, list.nav, rows.height as usize);
        let bar = Rect::new(frame.x, rows.y, frame.width, rows.height);
        scrollbar(off, total, rows.height as usize, bar, theme, buf);
        let shown = app.rows_shown(list.len, list.nav, rows.height as usize, true);
        for (row, i) in shown.into_iter().enumerate() {
            let selected = (i == list.nav.sel).then_some(list.focused);
            self.row(app, row, &cells(i), selected, theme, buf);
        }
    }

    /// Draws the `row`th visible row: its cells, the filter's matches, and
    /// the selection (`selected`: whether the list has the keyboard).
    pub fn row(
        &self,
        app: &App,
        row: usize,
        cells: &[Vec<Span<'_>>],
        selected: Option<bool>,
        theme: &Theme,
        buf: &mut Buffer,
    ) {
        let r = self.rows;
        let y = r.y + row as u16;
        cells_row(self.cols, self.keep, cells, r.x, y, r.width, buf);
        let line = Rect::new(r.x, y, r.width, 1);
        mark_match(app, line, buf);
        if let Some(focused) = selected {
            buf.set_style(line, sel_style(theme, true, focused));
        }
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

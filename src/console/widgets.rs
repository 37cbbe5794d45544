//! Small pure state pieces shared by the screens: list navigation and a
//! one-line text field.

use super::keymap::Action;
use crossterm::event::{Event, KeyEvent};
use tui_input::backend::crossterm::to_input_request;
use tui_input::{Input, InputRequest};

/// A selection in a list and the first visible row.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListNav {
    pub sel: usize,
    pub offset: usize,
}

impl ListNav {
    /// Moves the selection for a navigation action; `page` is the visible
    /// height. Returns whether the action was a navigation one.
    pub fn handle(&mut self, a: Action, len: usize, page: usize) -> bool {
        let last = len.saturating_sub(1);
        let page = page.max(1);
        match a {
            Action::Up => self.sel = self.sel.saturating_sub(1),
            Action::Down => self.sel = (self.sel + 1).min(last),
            Action::PageUp => self.sel = self.sel.saturating_sub(page),
            Action::PageDown => self.sel = (self.sel + page).min(last),
            Action::Top => self.sel = 0,
            Action::Bottom => self.sel = last,
            _ => return false,
        }
        self.offset = self.offset_for(page);
        true
    }

    pub fn clamp(&mut self, len: usize) {
        self.sel = self.sel.min(len.saturating_sub(1));
        self.offset = self.offset.min(self.sel);
    }

    /// The first visible row for a viewport of `height` rows that keeps the
    /// selection visible, moving as little as possible from `offset`.
    pub fn offset_for(&self, height: usize) -> usize {
        let h = height.max(1);
        if self.sel < self.offset {
            self.sel
        } else if self.sel >= self.offset + h {
            self.sel + 1 - h
        } else {
            self.offset
        }
    }
}

/// The longest text a field takes.
pub const MAX_FIELD: usize = 200;

/// A one-line text field: tui-input does the editing (cursor, Home/End,
/// Ctrl-A/E/U/W/K, word moves); this wrapper keeps control characters out
/// and the length bounded.
#[derive(Clone, Debug, Default)]
pub struct TextField {
    input: Input,
}

impl PartialEq for TextField {
    fn eq(&self, other: &Self) -> bool {
        self.text() == other.text()
    }
}
impl Eq for TextField {}

impl TextField {
    pub fn with(text: &str) -> TextField {
        let clean: String = text
            .chars()
            .filter(|c| !c.is_control())
            .take(MAX_FIELD)
            .collect();
        TextField {
            input: Input::new(clean),
        }
    }
    pub fn text(&self) -> &str {
        self.input.value()
    }
    /// The cursor, in characters from the start.
    pub fn cursor(&self) -> usize {
        self.input.cursor()
    }
    pub fn push(&mut self, c: char) {
        self.request(InputRequest::InsertChar(c));
    }
    pub fn backspace(&mut self) {
        self.request(InputRequest::DeletePrevChar);
    }
    /// An editing request (typing, cursor moves, deletions).
    pub fn request(&mut self, r: InputRequest) -> bool {
        if let InputRequest::InsertChar(c) = r {
            if c.is_control() || self.text().chars().count() >= MAX_FIELD {
                return false;
            }
        }
        self.input.handle(r).is_some()
    }
    /// A key, as a shell line editor reads it. Returns whether the key was
    /// an editing key.
    pub fn handle_key(&mut self, ev: &KeyEvent) -> bool {
        match to_input_request(&Event::Key(*ev)) {
            Some(r) => {
                self.request(r);
                true
            }
            None => false,
        }
    }
    pub fn value(&self) -> Option<String> {
        let t = self.text().trim();
        (!t.is_empty()).then(|| t.to_string())
    }
}

/// Text from the store, safe to draw: control characters are shown
/// escaped (`\u{1b}`), never sent to the terminal.
pub fn escape(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_string();
    }
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Which pane of a two-pane screen has the keyboard.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Pane {
    #[default]
    List,
    Detail,
}

impl Pane {
    pub fn toggle(self) -> Pane {
        match self {
            Pane::List => Pane::Detail,
            Pane::Detail => Pane::List,
        }
    }
}

/// A detail pane's scroll after a key (keys that do not scroll keep it).
pub fn scrolled(scroll: u16, a: Action, page: usize) -> u16 {
    match a {
        Action::Up => scroll.saturating_sub(1),
        Action::Down => scroll + 1,
        Action::PageDown => scroll + page as u16,
        Action::PageUp => scroll.saturating_sub(page as u16),
        Action::Top => 0,
        _ => scroll,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn navigation_stays_in_bounds_and_keeps_the_selection_visible() {
        let mut n = ListNav::default();
        n.handle(Action::Up, 10, 4);
        assert_eq!(n.sel, 0);
        for _ in 0..5 {
            n.handle(Action::Down, 10, 4);
        }
        assert_eq!((n.sel, n.offset), (5, 2));
        n.handle(Action::Bottom, 10, 4);
        assert_eq!((n.sel, n.offset), (9, 6));
        n.handle(Action::PageUp, 10, 4);
        assert_eq!((n.sel, n.offset), (5, 5));
        n.handle(Action::Top, 10, 4);
        assert_eq!((n.sel, n.offset), (0, 0));
        n.handle(Action::Down, 0, 4);
        assert_eq!(n.sel, 0);
    }

    #[test]
    fn text_fields_ignore_control_characters() {
        let mut t = TextField::default();
        for c in "ab\u{7}c".chars() {
            t.push(c);
        }
        t.backspace();
        assert_eq!(t.text(), "ab");
        assert_eq!(TextField::with("  ").value(), None);
    }
}

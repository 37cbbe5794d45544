//! The mouse, and the list that has the keyboard on each screen.

use super::{App, Screen};
use crate::console::jobs::Effect;
use crate::console::keymap::Action;
use crate::console::widgets::ListNav;
use crate::console::wizard;
use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Position;

impl App {
    pub fn on_mouse(&mut self, m: MouseEvent) -> Vec<Effect> {
        self.flash = None;
        match m.kind {
            MouseEventKind::ScrollDown => self.handle(Action::Down),
            MouseEventKind::ScrollUp => self.handle(Action::Up),
            MouseEventKind::Down(MouseButton::Left) => {
                if self.help.is_some() {
                    return Vec::new();
                }
                if m.row == 0 {
                    let hit = self
                        .drawn
                        .tabs
                        .iter()
                        .find(|(_, x, w)| m.column >= *x && m.column < x + w)
                        .map(|t| t.0);
                    if let Some(n) = hit {
                        return self.goto(n);
                    }
                    return Vec::new();
                }
                let Some(list) = self.drawn.list else {
                    return Vec::new();
                };
                if !list.contains(Position::new(m.column, m.row)) {
                    return Vec::new();
                }
                let h = list.height as usize;
                let row = (m.row - list.y) as usize;
                let Some(nav) = self.current_nav() else {
                    return Vec::new();
                };
                let len = self.current_len();
                let Some(&idx) = self.rows_shown(len, nav, h, true).get(row) else {
                    return Vec::new();
                };
                if idx == nav.sel {
                    return self.handle(Action::Enter);
                }
                if let Some(nav) = self.current_nav_mut() {
                    nav.offset = nav.offset_for(h);
                    nav.sel = idx;
                }
                // Another row: its detail starts at the top.
                self.audit.detail_scroll = 0;
                self.wizard.preview.detail_scroll = 0;
                if let Some(l) = self.snapshots.as_mut() {
                    l.detail_scroll = 0;
                }
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// The selected row of the current list.
    pub fn current_sel(&self) -> Option<usize> {
        self.current_nav().map(|n| n.sel)
    }

    pub(super) fn current_nav(&self) -> Option<ListNav> {
        match self.screen {
            Screen::Overview => Some(self.snapshots.as_ref().map_or(self.tool_nav, |s| s.nav)),
            Screen::Sla => Some(self.tool_nav),
            Screen::Rollback if !self.read_only => match self.wizard.step {
                wizard::WizardStep::Tool => Some(self.wizard.tool_nav),
                wizard::WizardStep::Target => Some(self.wizard.target_nav),
                wizard::WizardStep::Preview => Some(self.wizard.preview.nav),
                _ => None,
            },
            Screen::Audit => Some(self.audit.nav),
            _ => None,
        }
    }

    fn current_len(&self) -> usize {
        match self.screen {
            Screen::Overview => match &self.snapshots {
                Some(s) => s.items.len(),
                None => self.tool_names().len(),
            },
            Screen::Sla => self.tool_names().len(),
            Screen::Rollback => match self.wizard.step {
                wizard::WizardStep::Tool => self.wizard.tools.len(),
                wizard::WizardStep::Target => {
                    self.wizard.targets.as_ref().map_or(0, |t| t.list.len())
                }
                wizard::WizardStep::Preview => self.wizard.preview.items.len(),
                _ => 0,
            },
            Screen::Audit => self.audit.rows.len(),
            Screen::Retention => 0,
        }
    }

    pub(super) fn current_nav_mut(&mut self) -> Option<&mut ListNav> {
        match self.screen {
            Screen::Overview => Some(match self.snapshots.as_mut() {
                Some(s) => &mut s.nav,
                None => &mut self.tool_nav,
            }),
            Screen::Sla => Some(&mut self.tool_nav),
            Screen::Rollback => match self.wizard.step {
                wizard::WizardStep::Tool => Some(&mut self.wizard.tool_nav),
                wizard::WizardStep::Target => Some(&mut self.wizard.target_nav),
                wizard::WizardStep::Preview => Some(&mut self.wizard.preview.nav),
                _ => None,
            },
            Screen::Audit => Some(&mut self.audit.nav),
            Screen::Retention => None,
        }
    }
}

//! The `/` filter over the current list: which rows match, which are
//! drawn, and the store's search on lists loaded page by page.

use super::{App, Find, Level, Screen};
use crate::console::jobs::Effect;
use crate::console::keymap::Action;
use crate::console::widgets::{ListNav, Pane, TextField};
use crate::console::wizard;

impl App {
    /// On the lists loaded page by page from the store (diff rows, audit
    /// records), the text the store searches for, if this is one.
    pub(super) fn store_text(&self) -> Option<Option<String>> {
        match self.screen {
            Screen::Audit => Some(self.audit.query.text.clone()),
            Screen::Rollback if matches!(self.wizard.step, wizard::WizardStep::Preview) => {
                Some(self.wizard.preview.filter.text.clone())
            }
            _ => None,
        }
    }

    /// Asks the store for every row matching `text` on a store-searched
    /// list: the rows loaded are only a page, so a kept filter must not
    /// hide the matches not loaded yet.
    pub(super) fn store_search(&mut self, text: Option<String>) -> Vec<Effect> {
        match self.screen {
            Screen::Audit => self.audit.search(text, &mut self.ids),
            Screen::Rollback if matches!(self.wizard.step, wizard::WizardStep::Preview) => {
                self.wizard.search_diff(text, &mut self.ids)
            }
            _ => Vec::new(),
        }
    }

    /// Which list has the keyboard, as far as the filter is concerned.
    pub(super) fn list_key(&self) -> (Screen, Option<String>, Option<usize>) {
        (
            self.screen,
            self.snapshots.as_ref().map(|l| l.tool.clone()),
            (self.screen == Screen::Rollback).then_some(self.wizard.step.index()),
        )
    }

    /// The matching rows while the filter has text (the list is narrowed).
    pub fn narrowed(&self) -> Option<Vec<usize>> {
        if self.find.as_ref().is_some_and(|f| !f.editing) && self.store_text().is_some() {
            // Kept: the store did the narrowing (and paging goes on).
            return None;
        }
        let (text, hits) = self.find_matches()?;
        (!text.is_empty()).then_some(hits)
    }

    /// The rows of a list to draw in `height` rows: from the offset, or,
    /// narrowed by the filter (`filtered`: this is the list it is on), the
    /// matching ones with the selection in view. Drawing and the mouse
    /// both use it, so a click lands on the row drawn.
    pub fn rows_shown(
        &self,
        len: usize,
        nav: ListNav,
        height: usize,
        filtered: bool,
    ) -> Vec<usize> {
        let h = height.max(1);
        match self.narrowed().filter(|_| filtered) {
            None => {
                let off = nav.offset_for(h);
                (off..len.min(off + h)).collect()
            }
            Some(hits) => {
                let pos = hits.iter().position(|&i| i == nav.sel).unwrap_or(0);
                let off = (pos + 1).saturating_sub(h);
                hits.into_iter()
                    .filter(|&i| i < len)
                    .skip(off)
                    .take(h)
                    .collect()
            }
        }
    }

    /// The scrollbar's (first row shown, rows in all) for the current
    /// list: narrowed, it counts the matching rows only.
    pub fn scroll_span(&self, len: usize, nav: ListNav, height: usize) -> (usize, usize) {
        let h = height.max(1);
        match self.narrowed() {
            None => (nav.offset_for(h), len),
            Some(hits) => {
                let pos = hits.iter().position(|&i| i == nav.sel).unwrap_or(0);
                ((pos + 1).saturating_sub(h), hits.len())
            }
        }
    }

    /// Whether the keyboard is on the list itself (not a detail pane).
    pub(super) fn on_list(&self) -> bool {
        match self.screen {
            Screen::Overview => match &self.snapshots {
                Some(l) => l.focus == Pane::List,
                None => self.overview_focus == Pane::List,
            },
            _ => true,
        }
    }

    /// The labels of the list `/` searches on this screen, if it has one.
    pub fn find_labels(&self) -> Option<Vec<String>> {
        match self.screen {
            Screen::Overview => Some(match &self.snapshots {
                Some(l) => l.items.iter().map(|s| s.id.to_string()).collect(),
                None => self.tool_names(),
            }),
            Screen::Sla => Some(self.tool_names()),
            Screen::Rollback if !self.read_only => match self.wizard.step {
                wizard::WizardStep::Tool => {
                    Some(self.wizard.tools.iter().map(|t| t.name.clone()).collect())
                }
                wizard::WizardStep::Target => Some(
                    self.wizard
                        .targets
                        .as_ref()
                        .map(|t| t.list.iter().map(|s| s.id.to_string()).collect())
                        .unwrap_or_default(),
                ),
                wizard::WizardStep::Preview => Some(
                    self.wizard
                        .preview
                        .items
                        .iter()
                        .map(|i| i.identity.clone())
                        .collect(),
                ),
                _ => None,
            },
            // What the store's text search looks at, so that narrowing the
            // page and searching the trail agree.
            Screen::Audit => Some(
                self.audit
                    .rows
                    .iter()
                    .map(|(_, r)| format!("{}\n{}\n{}\n{}", r.id, r.event, r.user, r.details))
                    .collect(),
            ),
            _ => None,
        }
    }

    /// The rows matching the find (case-insensitive), and the text.
    pub fn find_matches(&self) -> Option<(String, Vec<usize>)> {
        let f = self.find.as_ref()?;
        let text = f.field.text().to_lowercase();
        let labels = self.find_labels()?;
        let hits = if text.is_empty() {
            Vec::new()
        } else {
            labels
                .iter()
                .enumerate()
                .filter(|(_, l)| l.to_lowercase().contains(&text))
                .map(|(i, _)| i)
                .collect()
        };
        Some((f.field.text().to_string(), hits))
    }

    /// Moves the selection to the next (or previous) match; `here` counts
    /// the selected row itself (typing keeps a row that still matches).
    pub(super) fn jump_to_match(&mut self, forward: bool, here: bool) {
        let Some((_, hits)) = self.find_matches() else {
            return;
        };
        let Some(sel) = self.current_nav().map(|n| n.sel) else {
            return;
        };
        let next = if forward {
            hits.iter()
                .find(|&&i| if here { i >= sel } else { i > sel })
                .or(hits.first())
        } else {
            hits.iter().rev().find(|&&i| i < sel).or(hits.last())
        };
        if let (Some(&i), Some(nav)) = (next, self.current_nav_mut()) {
            nav.sel = i;
        }
    }

    /// Typing the filter: Enter keeps it (and the store searches for it
    /// on a paged list), Esc clears it.
    pub(super) fn find_edit_key(&mut self, a: Action) -> Vec<Effect> {
        let Some(f) = self.find.as_mut() else {
            return Vec::new();
        };
        match a {
            Action::Enter if f.field.text().trim().is_empty() => {
                self.find = None;
                self.store_search(None)
            }
            Action::Enter => {
                f.editing = false;
                let text = f.field.value();
                self.store_search(text)
            }
            Action::Back => {
                self.find = None;
                self.store_search(None)
            }
            Action::Backspace => {
                f.field.backspace();
                self.jump_to_match(true, true);
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// The filter's keys on a list that has one (`/`, n N, Esc), and the
    /// moves among the rows it narrows to. `None`: not the filter's key.
    pub(super) fn find_key(&mut self, a: Action) -> Option<Vec<Effect>> {
        // A form over the list (the audit filter) keeps its own keys.
        if self.find_labels().is_none() || self.text_entry() {
            return None;
        }
        match a {
            Action::Search => {
                // On a store-searched list, the search in force is edited.
                let text = self.store_text().flatten().unwrap_or_default();
                self.find = Some(Find {
                    field: TextField::with(&text),
                    editing: true,
                });
                return Some(Vec::new());
            }
            Action::NextMatch | Action::PrevMatch if self.find.is_some() => {
                self.jump_to_match(a == Action::NextMatch, false);
                return Some(Vec::new());
            }
            Action::Back if self.find.is_some() => {
                self.find = None;
                return Some(self.store_search(None));
            }
            _ => {}
        }
        let hits = self.narrowed().filter(|_| self.on_list())?;
        self.narrowed_key(a, &hits)
    }

    /// On a narrowed list: moves go among the rows shown, not the hidden
    /// ones, and a row's keys need a row.
    fn narrowed_key(&mut self, a: Action, hits: &[usize]) -> Option<Vec<Effect>> {
        let nav_key = matches!(
            a,
            Action::Up
                | Action::Down
                | Action::PageUp
                | Action::PageDown
                | Action::Top
                | Action::Bottom
        );
        if nav_key {
            let page = self.page();
            if let Some(nav) = self.current_nav_mut() {
                let mut n = ListNav {
                    sel: hits.iter().position(|&i| i == nav.sel).unwrap_or(0),
                    offset: 0,
                };
                n.handle(a, hits.len(), page);
                if let Some(&i) = hits.get(n.sel) {
                    nav.sel = i;
                    nav.offset = nav.offset_for(page);
                }
            }
            return Some(Vec::new());
        }
        if hits.is_empty() && matches!(a, Action::Enter | Action::Right | Action::Rollback) {
            self.flash = Some((
                "no row matches the filter: Esc clears it".into(),
                Level::Warn,
            ));
            return Some(Vec::new());
        }
        None
    }
}

//! The overview's keys (tools, timeline, a tool's snapshot list) and the
//! ways into the rollback wizard.

use super::{App, Level, Screen, SnapList, WINDOWS};
use crate::console::actions::Kind;
use crate::console::jobs::{Effect, Job};
use crate::console::keymap::Action;
use crate::console::widgets::{scrolled, ListNav, Pane};
use crate::console::wizard;
use crate::domain::snapshot::SnapshotState;

impl App {
    pub(super) fn handle_overview(&mut self, a: Action, page: usize) -> Vec<Effect> {
        if matches!(a, Action::Expire | Action::HoldAdd | Action::HoldRemove) {
            return self.snapshot_action(a);
        }
        if self.snapshots.is_some() {
            return self.snapshot_list_key(a, page);
        }
        if self.overview_focus == Pane::Detail && self.timeline_key(a) {
            return Vec::new();
        }
        match a {
            Action::NextPane | Action::PrevPane => {
                self.overview_focus = Pane::Detail;
                self.mark_sel = 0;
                Vec::new()
            }
            Action::Enter | Action::Right => match self.selected_tool() {
                Some(t) => self.open_snapshots(&t, false),
                None => Vec::new(),
            },
            Action::Rollback => self.rollback_selected(None),
            Action::ZoomIn | Action::ZoomOut => self.zoom(a == Action::ZoomIn),
            other => {
                let n = self.tool_names().len();
                self.tool_nav.handle(other, n, page);
                Vec::new()
            }
        }
    }

    /// Expire or hold the selected snapshot: its dialog.
    fn snapshot_action(&mut self, a: Action) -> Vec<Effect> {
        let Some(s) = self.selected_snapshot().cloned() else {
            return Vec::new();
        };
        let kind = match a {
            Action::Expire => Kind::Expire {
                id: String::from(s.id),
                tool: s.tool,
            },
            Action::HoldAdd => Kind::HoldAdd {
                id: String::from(s.id),
            },
            _ => Kind::HoldRemove {
                id: String::from(s.id),
            },
        };
        self.open_dialog(kind)
    }

    fn snapshot_list_key(&mut self, a: Action, page: usize) -> Vec<Effect> {
        let Some(list) = self.snapshots.as_mut() else {
            return Vec::new();
        };
        match a {
            Action::Back | Action::Left => {
                if list.focus == Pane::Detail {
                    list.focus = Pane::List;
                } else {
                    self.snapshots = None;
                }
            }
            Action::NextPane | Action::PrevPane => list.focus = list.focus.toggle(),
            Action::Enter | Action::Right => list.focus = Pane::Detail,
            Action::Rollback => {
                let tool = list.tool.clone();
                let target = list
                    .items
                    .get(list.nav.sel)
                    .filter(|s| {
                        matches!(s.state, SnapshotState::Previous | SnapshotState::Archived)
                    })
                    .map(|s| s.id.to_string());
                return self.start_rollback(&tool, target);
            }
            other if list.focus == Pane::Detail => {
                // The snapshot record scrolls by ten lines a page.
                list.detail_scroll = scrolled(list.detail_scroll, other, 10);
            }
            other => {
                if list.nav.handle(other, list.items.len(), page) {
                    list.detail_scroll = 0;
                    if list.nav.sel + page >= list.items.len() {
                        return self.next_snapshot_page();
                    }
                }
            }
        }
        Vec::new()
    }

    /// Near the end of the loaded snapshots: the next page, if any.
    fn next_snapshot_page(&mut self) -> Vec<Effect> {
        let Some(list) = self.snapshots.as_ref() else {
            return Vec::new();
        };
        if list.exhausted || list.req.is_some() {
            return Vec::new();
        }
        let after = list.items.last().map(|s| s.id.to_string());
        let tool = list.tool.clone();
        let (id, e) = self.run(Job::Snapshots { tool, after });
        if let Some(l) = self.snapshots.as_mut() {
            l.req = Some(id);
            l.refreshing = false;
        }
        vec![e]
    }

    /// The timeline cursor: ← → move mark to mark (newest first in the
    /// list, so → goes forward in time = towards index 0). False: not a
    /// timeline key.
    fn timeline_key(&mut self, a: Action) -> bool {
        let n = self.marks_of_selected();
        match a {
            Action::NextPane | Action::PrevPane | Action::Back => self.overview_focus = Pane::List,
            Action::Left | Action::Up => {
                self.mark_sel = (self.mark_sel + 1).min(n.saturating_sub(1))
            }
            Action::Right | Action::Down => self.mark_sel = self.mark_sel.saturating_sub(1),
            Action::Top => self.mark_sel = n.saturating_sub(1),
            Action::Bottom => self.mark_sel = 0,
            _ => return false,
        }
        true
    }

    /// The timeline's window one step shorter (`closer`) or longer.
    fn zoom(&mut self, closer: bool) -> Vec<Effect> {
        let i = WINDOWS
            .iter()
            .position(|w| *w >= self.window_days)
            .unwrap_or(WINDOWS.len() - 1);
        let j = if closer {
            i.saturating_sub(1)
        } else {
            (i + 1).min(WINDOWS.len() - 1)
        };
        if WINDOWS[j] == self.window_days {
            return Vec::new();
        }
        self.window_days = WINDOWS[j];
        self.reload_overview()
    }

    /// Opens (or, with `keep`, refreshes) a tool's snapshot list.
    pub fn open_snapshots(&mut self, tool: &str, keep: bool) -> Vec<Effect> {
        let (id, e) = self.run(Job::Snapshots {
            tool: tool.to_string(),
            after: None,
        });
        match self.snapshots.as_mut() {
            Some(l) if keep && l.tool == tool => {
                l.req = Some(id);
                l.refreshing = true;
                l.exhausted = false;
            }
            _ => {
                self.snapshots = Some(SnapList {
                    tool: tool.to_string(),
                    items: Vec::new(),
                    nav: ListNav::default(),
                    focus: Pane::List,
                    detail_scroll: 0,
                    req: Some(id),
                    exhausted: false,
                    refreshing: true,
                    error: None,
                })
            }
        }
        vec![e]
    }

    pub(super) fn rollback_selected(&mut self, target: Option<String>) -> Vec<Effect> {
        match self.selected_tool() {
            Some(t) => self.start_rollback(&t, target),
            None => Vec::new(),
        }
    }

    pub fn start_rollback(&mut self, tool: &str, target: Option<String>) -> Vec<Effect> {
        if self.read_only {
            self.flash = Some((
                format!(
                    "this console was opened read-only: rollback is not available; use `{}`",
                    crate::cli::suggest::rollback_command()
                ),
                Level::Warn,
            ));
            return Vec::new();
        }
        self.screen = Screen::Rollback;
        if matches!(self.wizard.step, wizard::WizardStep::Execute { .. }) {
            return Vec::new();
        }
        self.wizard.set_tools(self.tool_choices());
        self.wizard.start_with(tool, target, &mut self.ids)
    }
}

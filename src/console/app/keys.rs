//! Keys: an [`Action`] goes to the help, a dialog, the filter, the keys
//! of every screen, then the screen's own.

use super::{App, Level, Screen};
use crate::console::actions::{Dialog, Kind, Outcome};
use crate::console::jobs::Effect;
use crate::console::keymap::{self, Action};
use crate::console::widgets::{scrolled, Pane};
use crate::console::wizard::{self, Exit};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::ops::ControlFlow;

impl App {
    pub fn on_key(&mut self, ev: KeyEvent) -> Vec<Effect> {
        self.flash = None;
        let scopes = self.scopes();
        // A terminal sends Escape as a lone byte, so Escape and the key
        // right after it (typed fast, or read together over a slow link or
        // while a frame was drawn) come as Alt+key. No key here is bound
        // with Alt: outside a text field (where Alt+key edits), it is the
        // two keys.
        if let (true, KeyCode::Char(_)) = (ev.modifiers.contains(KeyModifiers::ALT), ev.code) {
            if !ev.modifiers.contains(KeyModifiers::CONTROL) && !scopes[0].takes_text() {
                let mut fx = self.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
                fx.extend(self.on_key(KeyEvent::new(ev.code, ev.modifiers - KeyModifiers::ALT)));
                return fx;
            }
        }
        match keymap::lookup(&scopes, &ev) {
            Some(a) => self.handle(a),
            None => {
                if scopes[0].takes_text() {
                    self.edit_key(&ev);
                }
                Vec::new()
            }
        }
    }

    /// A key for the text field that has the keyboard (typing, cursor
    /// moves, Ctrl-U/W/K…).
    pub fn edit_key(&mut self, ev: &KeyEvent) {
        if let Some(f) = self.find.as_mut().filter(|f| f.editing) {
            f.field.handle_key(ev);
            // Incremental: the selection follows the text as it is typed.
            self.jump_to_match(true, true);
            return;
        }
        if let Some(d) = self.dialog.as_mut() {
            if let Some(f) = d.field_mut() {
                f.handle_key(ev);
            }
            return;
        }
        match self.screen {
            Screen::Rollback => {
                if let Some(f) = self.wizard.field_mut() {
                    f.handle_key(ev);
                }
                self.wizard.edited();
            }
            Screen::Audit => {
                if let Some(f) = self.audit.field_mut() {
                    f.handle_key(ev);
                }
            }
            _ => {}
        }
    }

    pub fn handle(&mut self, a: Action) -> Vec<Effect> {
        let list = self.list_key();
        let fx = self.handle_action(a);
        // A filter belongs to the list it was typed on: another list (a
        // tool's snapshots, the wizard's next step) starts unfiltered.
        if self.find.is_some() && self.list_key() != list {
            self.find = None;
        }
        // A kept filter on a store-searched list shows the store's search:
        // when that changes (x clears it), the filter goes too.
        if let (Some(f), Some(text)) = (&self.find, self.store_text()) {
            if !f.editing && text != f.field.value() {
                self.find = None;
            }
        }
        fx
    }

    fn handle_action(&mut self, a: Action) -> Vec<Effect> {
        match a {
            Action::ForceQuit => return vec![Effect::Quit],
            Action::Suspend => return vec![Effect::Suspend],
            _ => {}
        }
        if let Some(scroll) = self.help {
            self.help_key(a, scroll);
            return Vec::new();
        }
        if self.dialog.is_some() {
            return self.handle_dialog(a);
        }
        if self.find.as_ref().is_some_and(|f| f.editing) {
            return self.find_edit_key(a);
        }
        if let Some(fx) = self.find_key(a) {
            return fx;
        }
        if a.writes() && self.read_only && a != Action::Rollback {
            self.flash = Some((
                "this console was opened read-only: governance actions are not available; use the CLI".into(),
                Level::Warn,
            ));
            return Vec::new();
        }
        let a = if self.text_entry() {
            a
        } else {
            match self.everywhere_key(a) {
                ControlFlow::Break(fx) => return fx,
                ControlFlow::Continue(a) => a,
            }
        };
        self.screen_key(a)
    }

    /// The help overlay scrolls; Esc, ? or q closes it.
    fn help_key(&mut self, a: Action, scroll: u16) {
        let max = self.help_max();
        let page = self.help_height().max(1);
        self.help = match a {
            Action::Back | Action::Help | Action::Quit => None,
            Action::Up => Some(scroll.saturating_sub(1)),
            Action::Down => Some(scroll + 1),
            Action::PageUp => Some(scroll.saturating_sub(page)),
            Action::PageDown => Some(scroll + page),
            Action::Top => Some(0),
            Action::Bottom => Some(max),
            _ => Some(scroll),
        }
        .map(|s| s.min(max));
    }

    /// The keys of every screen (not while typing): done here, or handed
    /// on to the screen (q is Esc below the top level).
    fn everywhere_key(&mut self, a: Action) -> ControlFlow<Vec<Effect>, Action> {
        match a {
            Action::Help => {
                self.help = Some(0);
                ControlFlow::Break(Vec::new())
            }
            Action::Screen(n) => ControlFlow::Break(self.goto(n)),
            Action::Copy => ControlFlow::Break(self.copy_selected()),
            Action::Refresh => {
                self.flash = Some(("reloading from the store…".into(), Level::Info));
                if self.screen != Screen::Audit {
                    return ControlFlow::Break(self.reload_all());
                }
                ControlFlow::Continue(a)
            }
            Action::Quit if self.at_top_level() => ControlFlow::Break(vec![Effect::Quit]),
            Action::Quit => ControlFlow::Continue(Action::Back),
            _ => ControlFlow::Continue(a),
        }
    }

    fn copy_selected(&mut self) -> Vec<Effect> {
        match self.selected_id() {
            Some(id) => {
                self.flash = Some((format!("copied {id} to the clipboard"), Level::Info));
                vec![Effect::Copy(id)]
            }
            None => {
                self.flash = Some(("nothing selected to copy".into(), Level::Warn));
                Vec::new()
            }
        }
    }

    fn screen_key(&mut self, a: Action) -> Vec<Effect> {
        let page = self.page();
        match self.screen {
            Screen::Overview => self.handle_overview(a, page),
            Screen::Sla => self.sla_key(a, page),
            Screen::Rollback if self.read_only => Vec::new(),
            Screen::Rollback => self.wizard_key(a, page),
            Screen::Audit => self.audit_key(a, page),
            Screen::Retention => self.retention_key(a, page),
        }
    }

    fn sla_key(&mut self, a: Action, page: usize) -> Vec<Effect> {
        match a {
            Action::Enter | Action::Right => {
                self.screen = Screen::Overview;
                match self.selected_tool() {
                    Some(t) => self.open_snapshots(&t, false),
                    None => Vec::new(),
                }
            }
            Action::Rollback => self.rollback_selected(None),
            other => {
                let n = self.tool_names().len();
                self.tool_nav.handle(other, n, page);
                Vec::new()
            }
        }
    }

    fn wizard_key(&mut self, a: Action, page: usize) -> Vec<Effect> {
        let (mut fx, exit) = self.wizard.handle(a, page, &mut self.ids);
        let (msg, changed) = match exit {
            Exit::Stay => return fx,
            Exit::Leave(msg) => (msg, false),
            Exit::LeaveChanged(msg) => (msg, true),
        };
        self.screen = Screen::Overview;
        if !msg.is_empty() {
            self.flash = Some((msg, Level::Info));
        }
        if changed {
            fx.extend(self.reload_all());
        }
        fx
    }

    fn audit_key(&mut self, a: Action, page: usize) -> Vec<Effect> {
        if a == Action::VerifyChain && !self.audit.in_text_entry() {
            self.flash = Some((
                "re-verifying the audit chain (it only reads)…".into(),
                Level::Info,
            ));
            self.verify_asked = true;
        }
        if a == Action::Checkpoint && !self.audit.in_text_entry() {
            return self.open_dialog(Kind::Checkpoint);
        }
        let now = self.now();
        let tools = self.tool_names();
        self.audit.handle(a, page, now, &tools, &mut self.ids)
    }

    fn retention_key(&mut self, a: Action, page: usize) -> Vec<Effect> {
        if a == Action::RetentionRun {
            return self.open_dialog(Kind::RetentionRun);
        }
        self.retention_scroll = scrolled(self.retention_scroll, a, page);
        Vec::new()
    }

    fn handle_dialog(&mut self, a: Action) -> Vec<Effect> {
        let now = self.now();
        let Some(d) = self.dialog.as_mut() else {
            return Vec::new();
        };
        let (fx, out) = d.handle(a, now, &mut self.ids);
        if out == Outcome::Cancelled {
            let what = d.kind.title();
            self.dialog = None;
            self.flash = Some((
                format!("{what}: cancelled; nothing was changed"),
                Level::Info,
            ));
        }
        fx
    }

    /// Opens a governance action's dialog (not in a read-only console).
    pub fn open_dialog(&mut self, kind: Kind) -> Vec<Effect> {
        if self.read_only {
            self.flash = Some((
                "this console was opened read-only: governance actions are not available".into(),
                Level::Warn,
            ));
            return Vec::new();
        }
        let (d, fx) = Dialog::new(kind, &mut self.ids);
        self.dialog = Some(d);
        fx
    }

    /// The id `y` copies: the selected snapshot, timeline mark, target,
    /// diff record, or audit record (its hash in the detail pane).
    pub fn selected_id(&self) -> Option<String> {
        let tool = || {
            self.overview
                .as_ref()
                .and_then(|o| o.tools.get(self.tool_nav.sel))
        };
        match self.screen {
            Screen::Overview => match &self.snapshots {
                Some(_) => self.selected_snapshot().map(|s| s.id.to_string()),
                None if self.overview_focus == Pane::Detail => tool()
                    .and_then(|t| t.marks.get(self.mark_sel))
                    .map(|s| s.id.to_string()),
                None => tool().and_then(|t| t.active()).map(|s| s.id.to_string()),
            },
            Screen::Sla => tool().and_then(|t| t.active()).map(|s| s.id.to_string()),
            Screen::Rollback => match self.wizard.step {
                wizard::WizardStep::Tool => None,
                wizard::WizardStep::Target => self
                    .wizard
                    .targets
                    .as_ref()
                    .and_then(|t| t.list.get(self.wizard.target_nav.sel))
                    .map(|s| s.id.to_string()),
                wizard::WizardStep::Preview => self
                    .wizard
                    .preview
                    .items
                    .get(self.wizard.preview.nav.sel)
                    .map(|i| i.identity.clone()),
                _ => self.wizard.target.clone(),
            },
            Screen::Audit => self.audit.selected().map(|(_, r)| {
                if self.audit.focus == Pane::Detail {
                    r.hash.clone()
                } else {
                    r.id.clone()
                }
            }),
            Screen::Retention => None,
        }
    }

    pub fn goto(&mut self, n: u8) -> Vec<Effect> {
        self.find = None;
        let Some(&screen) = Screen::ALL.iter().find(|s| s.number() == n) else {
            return Vec::new();
        };
        self.screen = screen;
        match screen {
            Screen::Rollback if !self.read_only => {
                self.wizard.set_tools(self.tool_choices());
                if matches!(self.wizard.step, wizard::WizardStep::Tool)
                    && self.wizard.tool.is_none()
                {
                    self.wizard.tool_nav.sel = self.tool_nav.sel;
                    self.wizard.tool_nav.clamp(self.wizard.tools.len());
                }
                Vec::new()
            }
            Screen::Audit => self.audit.open(&mut self.ids),
            Screen::Retention if self.retention.is_none() && self.retention_req.is_none() => {
                self.load_retention()
            }
            _ => Vec::new(),
        }
    }
}

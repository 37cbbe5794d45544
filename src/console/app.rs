//! The console's state and its state machine. `App::handle` takes an
//! [`Action`] (never a raw key), changes plain data, and returns the work to
//! do as [`Effect`]s; `App::apply` takes the results. Nothing here touches
//! the terminal or the store, so all of it is tested without either.

use super::actions::{Dialog, Kind, Outcome};
use super::audit::Browser;
use super::data::Overview;
use super::jobs::{Effect, Job, Msg, Payload, SNAPSHOT_PAGE};
use super::keymap::{self, Action, Scope};
use super::widgets::{ListNav, Pane};
use super::wizard::{self, Exit, ToolChoice, Wizard};
use crate::domain::snapshot::Snapshot;
use crate::ops::retention::Status;
use crossterm::event::{KeyEvent, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    Overview,
    Sla,
    Rollback,
    Audit,
    Retention,
}

impl Screen {
    pub const ALL: [Screen; 5] = [
        Screen::Overview,
        Screen::Sla,
        Screen::Rollback,
        Screen::Audit,
        Screen::Retention,
    ];
    pub fn number(self) -> u8 {
        match self {
            Screen::Overview => 1,
            Screen::Sla => 2,
            Screen::Rollback => 3,
            Screen::Audit => 4,
            Screen::Retention => 5,
        }
    }
    pub fn title(self) -> &'static str {
        match self {
            Screen::Overview => "Overview",
            Screen::Sla => "SLA",
            Screen::Rollback => "Rollback",
            Screen::Audit => "Audit",
            Screen::Retention => "Retention",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

/// A notice about something that happened outside the operator's keys
/// (another process wrote, a check finished); it fades after a while.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Toast {
    pub text: String,
    pub level: Level,
    /// Clock ticks (about ten a second) before it goes.
    pub ticks_left: u32,
}

/// What the last frame drew where, as the drawing code reported it: the
/// mouse and paging use it (the state never recomputes the layout, and
/// does not import the drawing code).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Drawn {
    /// The rows of the list that has the keyboard, if any.
    pub list: Option<Rect>,
    /// Each screen tab: (screen number, first column, width) on row 0.
    pub tabs: Vec<(u8, u16, u16)>,
}

/// The `/` filter: its text, and whether it is still being typed. While
/// it has text, the current list shows only the rows that match.
#[derive(Clone, Debug, Default)]
pub struct Find {
    pub field: super::widgets::TextField,
    pub editing: bool,
}

/// How long a toast stays: about five seconds.
pub const TOAST_TICKS: u32 = 50;
/// At most this many toasts are kept (the newest).
pub const MAX_TOASTS: usize = 3;

/// A tool's snapshot list (opened from the overview), paged newest first.
#[derive(Clone, Debug)]
pub struct SnapList {
    pub tool: String,
    pub items: Vec<Snapshot>,
    pub nav: ListNav,
    pub focus: Pane,
    pub detail_scroll: u16,
    pub req: Option<u64>,
    pub exhausted: bool,
    /// The request on its way reloads the first page.
    pub refreshing: bool,
    pub error: Option<String>,
}

impl SnapList {
    /// Change in record count from the snapshot's predecessor, if loaded.
    pub fn delta(&self, i: usize) -> Option<i64> {
        let s = self.items.get(i)?;
        let prev = s.previous_snapshot.as_ref()?;
        s.normalized_hash.as_ref()?;
        self.items[i + 1..]
            .iter()
            .take(64)
            .find(|p| &p.id == prev)
            .map(|p| s.record_count as i64 - p.record_count as i64)
    }
}

/// The zoom steps of the timeline, in days.
pub const WINDOWS: [i64; 8] = [7, 14, 30, 45, 60, 90, 180, 365];
pub const DEFAULT_WINDOW: i64 = 60;

pub struct App {
    pub read_only: bool,
    /// Shown in the title bar.
    pub db_label: String,
    pub user: String,
    /// The clock moves (not fixed by SNAPGOV_NOW): reload ages on each refresh.
    pub live_clock: bool,
    /// The clock's reading at the last tick.
    pub ticked_at: Option<chrono::DateTime<chrono::Utc>>,
    pub screen: Screen,
    pub size: (u16, u16),
    /// The help overlay and its scroll.
    pub help: Option<u16>,
    pub overview: Option<Overview>,
    pub overview_req: Option<u64>,
    pub load_error: Option<String>,
    pub tool_nav: ListNav,
    /// The overview's focus: the tool list, or the timeline cursor.
    pub overview_focus: Pane,
    /// The timeline cursor: an index into the selected tool's marks.
    pub mark_sel: usize,
    pub window_days: i64,
    pub snapshots: Option<SnapList>,
    pub retention: Option<Status>,
    pub retention_req: Option<u64>,
    pub retention_error: Option<String>,
    pub retention_scroll: u16,
    pub wizard: Wizard,
    pub audit: Browser,
    /// A governance action's dialog, over the screen.
    pub dialog: Option<Dialog>,
    /// The `/` filter on the current list (tools, snapshots, targets); it
    /// ends when that list does.
    pub find: Option<Find>,
    /// Where the last frame put things.
    pub drawn: Drawn,
    pub flash: Option<(String, Level)>,
    pub toasts: Vec<Toast>,
    /// The operator asked for a chain check (v): say when it ends.
    pub verify_asked: bool,
    pub spinner: u64,
    pub ids: u64,
    pub poll_req: Option<u64>,
    /// The overview on its way was asked for by the clock, not by a change
    /// seen: if it shows a change, the other views reload too.
    pub overview_followup: bool,
}

impl App {
    pub fn new(db_label: &str, user: &str, read_only: bool, live_clock: bool) -> App {
        App {
            read_only,
            db_label: db_label.to_string(),
            user: user.to_string(),
            live_clock,
            ticked_at: None,
            screen: Screen::Overview,
            size: (120, 40),
            help: None,
            overview: None,
            overview_req: None,
            load_error: None,
            tool_nav: ListNav::default(),
            overview_focus: Pane::List,
            mark_sel: 0,
            window_days: DEFAULT_WINDOW,
            snapshots: None,
            retention: None,
            retention_req: None,
            retention_error: None,
            retention_scroll: 0,
            wizard: Wizard::default(),
            audit: Browser::default(),
            dialog: None,
            find: None,
            drawn: Drawn::default(),
            flash: None,
            toasts: Vec::new(),
            verify_asked: false,
            spinner: 0,
            ids: 0,
            poll_req: None,
            overview_followup: false,
        }
    }

    pub fn toast(&mut self, text: String, level: Level) {
        self.toasts.push(Toast {
            text,
            level,
            ticks_left: TOAST_TICKS,
        });
        let n = self.toasts.len();
        if n > MAX_TOASTS {
            self.toasts.drain(..n - MAX_TOASTS);
        }
    }

    fn next_id(&mut self) -> u64 {
        self.ids += 1;
        self.ids
    }

    fn run(&mut self, job: Job) -> (u64, Effect) {
        let id = self.next_id();
        (id, Effect::Run { id, job })
    }

    /// The first load (the event loop may also run it before the first frame).
    pub fn start(&mut self) -> Vec<Effect> {
        self.reload_overview()
    }

    pub fn reload_overview(&mut self) -> Vec<Effect> {
        self.overview_followup = false;
        let (id, e) = self.run(Job::Overview {
            window_days: self.window_days,
        });
        self.overview_req = Some(id);
        vec![e]
    }

    /// Everything shown, reloaded (after a change in the store).
    pub fn reload_all(&mut self) -> Vec<Effect> {
        let mut fx = self.reload_overview();
        if let Some(tool) = self.snapshots.as_ref().map(|s| s.tool.clone()) {
            fx.extend(self.open_snapshots(&tool, true));
        }
        if self.retention.is_some() || self.screen == Screen::Retention {
            fx.extend(self.load_retention());
        }
        let mut ids = self.ids;
        fx.extend(self.audit.store_changed(&mut ids));
        self.ids = ids;
        fx
    }

    fn load_retention(&mut self) -> Vec<Effect> {
        let (id, e) = self.run(Job::Retention);
        self.retention_req = Some(id);
        vec![e]
    }

    pub fn busy(&self) -> bool {
        self.overview_req.is_some()
            || self.retention_req.is_some()
            || self.snapshots.as_ref().is_some_and(|s| s.req.is_some())
            || self.wizard.busy()
            || self.audit.req.is_some()
            || self.dialog.as_ref().is_some_and(|d| d.busy())
            || matches!(self.audit.chain, super::audit::Chain::Checking(_))
    }

    pub fn tool_names(&self) -> Vec<String> {
        self.overview
            .as_ref()
            .map(|o| o.tools.iter().map(|t| t.name().to_string()).collect())
            .unwrap_or_default()
    }

    /// How many timeline marks the selected tool has.
    pub fn marks_of_selected(&self) -> usize {
        self.overview
            .as_ref()
            .and_then(|o| o.tools.get(self.tool_nav.sel))
            .map_or(0, |t| t.marks.len())
    }

    pub fn selected_tool(&self) -> Option<String> {
        self.overview
            .as_ref()
            .and_then(|o| o.tools.get(self.tool_nav.sel))
            .map(|t| t.name().to_string())
    }

    fn tool_choices(&self) -> Vec<ToolChoice> {
        self.overview
            .as_ref()
            .map(|o| {
                o.tools
                    .iter()
                    .map(|t| ToolChoice {
                        name: t.name().to_string(),
                        active: t.active().map(|s| s.id.clone()),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The scopes whose keys apply now, most specific first.
    pub fn scopes(&self) -> Vec<Scope> {
        if self.help.is_some() {
            // The help scrolls with the usual keys.
            return vec![Scope::Help, Scope::Global];
        }
        if self.dialog.is_some() {
            return vec![Scope::Dialog, Scope::Global];
        }
        if self.find.as_ref().is_some_and(|f| f.editing) {
            return vec![Scope::Input, Scope::Global];
        }
        self.screen_scopes()
    }

    /// The scopes of the screen under the help (its keys are listed first).
    pub fn screen_scopes(&self) -> Vec<Scope> {
        let s = match self.screen {
            Screen::Overview if self.snapshots.is_some() => Scope::Snapshots,
            Screen::Overview => Scope::Overview,
            Screen::Sla => Scope::Sla,
            Screen::Rollback if self.read_only => Scope::Global,
            Screen::Rollback => match self.wizard.step {
                wizard::WizardStep::Tool | wizard::WizardStep::Target => Scope::WizardList,
                wizard::WizardStep::Verify => Scope::WizardVerify,
                wizard::WizardStep::Preview => Scope::WizardPreview,
                wizard::WizardStep::Reason => Scope::WizardReason,
                wizard::WizardStep::Confirm if self.wizard.moved.is_some() => Scope::WizardStale,
                wizard::WizardStep::Confirm if self.wizard.confirmed() => Scope::WizardConfirmReady,
                wizard::WizardStep::Confirm => Scope::WizardConfirm,
                wizard::WizardStep::Execute => Scope::WizardRunning,
                wizard::WizardStep::Result
                    if matches!(
                        &self.wizard.outcome,
                        Some(Err(f)) if matches!(f.kind, wizard::FailKind::Conflict | wizard::FailKind::Integrity)
                    ) =>
                {
                    Scope::WizardRetry
                }
                wizard::WizardStep::Result => Scope::WizardResult,
            },
            Screen::Audit if self.audit.form.is_some() => Scope::AuditForm,
            Screen::Audit => Scope::Audit,
            Screen::Retention => Scope::Retention,
        };
        if s == Scope::Global {
            vec![Scope::Global]
        } else {
            vec![s, Scope::Global]
        }
    }

    fn text_entry(&self) -> bool {
        self.scopes().first().is_some_and(|s| s.takes_text())
    }

    /// Whether Esc has nothing to go back to (then `q` quits).
    pub fn at_top_level(&self) -> bool {
        match self.screen {
            Screen::Overview => self.snapshots.is_none(),
            Screen::Sla | Screen::Retention => true,
            Screen::Audit => self.audit.focus == Pane::List && !self.audit.in_text_entry(),
            Screen::Rollback => {
                self.read_only
                    || matches!(self.wizard.step, wizard::WizardStep::Tool | wizard::WizardStep::Result)
            }
        }
    }

    /// The help overlay's visible lines (the overlay leaves a row above
    /// and below, and has a border).
    pub fn help_height(&self) -> u16 {
        self.size.1.saturating_sub(4)
    }

    /// The help's last scroll position: its last line at the bottom.
    pub fn help_max(&self) -> u16 {
        let n = keymap::help_lines(&self.screen_scopes()).len() as u16;
        n.saturating_sub(self.help_height())
    }

    /// The list's visible height on this screen (page size).
    pub fn page(&self) -> usize {
        self.drawn
            .list
            .map(|r| r.height as usize)
            .unwrap_or(10)
            .max(1)
    }

    pub fn on_key(&mut self, ev: KeyEvent) -> Vec<Effect> {
        self.flash = None;
        let scopes = self.scopes();
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

    /// On the lists loaded page by page from the store (diff rows, audit
    /// records), the text the store searches for, if this is one.
    fn store_text(&self) -> Option<Option<String>> {
        match self.screen {
            Screen::Audit => Some(self.audit.query.text.clone()),
            Screen::Rollback if self.wizard.step == wizard::WizardStep::Preview => {
                Some(self.wizard.preview.filter.text.clone())
            }
            _ => None,
        }
    }

    /// Asks the store for every row matching `text` on a store-searched
    /// list: the rows loaded are only a page, so a kept filter must not
    /// hide the matches not loaded yet.
    fn store_search(&mut self, text: Option<String>) -> Vec<Effect> {
        let mut ids = self.ids;
        let fx = match self.screen {
            Screen::Audit => self.audit.search(text, &mut ids),
            Screen::Rollback if self.wizard.step == wizard::WizardStep::Preview => {
                self.wizard.search_diff(text, &mut ids)
            }
            _ => Vec::new(),
        };
        self.ids = ids;
        fx
    }

    /// Which list has the keyboard, as far as the filter is concerned.
    fn list_key(&self) -> (Screen, Option<String>, Option<wizard::WizardStep>) {
        (
            self.screen,
            self.snapshots.as_ref().map(|l| l.tool.clone()),
            (self.screen == Screen::Rollback).then_some(self.wizard.step),
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
    fn on_list(&self) -> bool {
        match self.screen {
            Screen::Overview => match &self.snapshots {
                Some(l) => l.focus == Pane::List,
                None => self.overview_focus == Pane::List,
            },
            _ => true,
        }
    }

    fn handle_action(&mut self, a: Action) -> Vec<Effect> {
        match a {
            Action::ForceQuit => return vec![Effect::Quit],
            Action::Suspend => return vec![Effect::Suspend],
            _ => {}
        }
        if let Some(scroll) = self.help {
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
            return Vec::new();
        }
        if self.dialog.is_some() {
            return self.handle_dialog(a);
        }
        if let Some(f) = self.find.as_mut().filter(|f| f.editing) {
            match a {
                Action::Enter if f.field.text().trim().is_empty() => {
                    self.find = None;
                    return self.store_search(None);
                }
                Action::Enter => {
                    f.editing = false;
                    let text = f.field.value();
                    return self.store_search(text);
                }
                Action::Back => {
                    self.find = None;
                    return self.store_search(None);
                }
                Action::Backspace => {
                    f.field.backspace();
                    self.jump_to_match(true, true);
                }
                _ => {}
            }
            return Vec::new();
        }
        // A form over the list (the audit filter) keeps its own keys.
        let findable = self.find_labels().is_some() && !self.text_entry();
        match a {
            Action::Search if findable => {
                // On a store-searched list, the search in force is edited.
                let text = self.store_text().flatten().unwrap_or_default();
                self.find = Some(Find {
                    field: super::widgets::TextField::with(&text),
                    editing: true,
                });
                return Vec::new();
            }
            Action::NextMatch | Action::PrevMatch if findable && self.find.is_some() => {
                self.jump_to_match(a == Action::NextMatch, false);
                return Vec::new();
            }
            Action::Back if findable && self.find.is_some() => {
                self.find = None;
                return self.store_search(None);
            }
            _ => {}
        }
        if let Some(hits) = self.narrowed().filter(|_| findable && self.on_list()) {
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
                // Moves among the rows shown, not the hidden ones.
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
                return Vec::new();
            }
            if hits.is_empty() && matches!(a, Action::Enter | Action::Right | Action::Rollback) {
                self.flash = Some((
                    "no row matches the filter: Esc clears it".into(),
                    Level::Warn,
                ));
                return Vec::new();
            }
        }
        if a.writes() && self.read_only && a != Action::Rollback {
            self.flash = Some((
                "this console was opened read-only: governance actions are not available; use the CLI".into(),
                Level::Warn,
            ));
            return Vec::new();
        }
        let mut a = a;
        if !self.text_entry() {
            match a {
                Action::Help => {
                    self.help = Some(0);
                    return Vec::new();
                }
                Action::Screen(n) => return self.goto(n),
                Action::Copy => {
                    return match self.selected_id() {
                        Some(id) => {
                            self.flash =
                                Some((format!("copied {id} to the clipboard"), Level::Info));
                            vec![Effect::Copy(id)]
                        }
                        None => {
                            self.flash = Some(("nothing selected to copy".into(), Level::Warn));
                            Vec::new()
                        }
                    };
                }
                Action::Refresh => {
                    self.flash = Some(("reloading from the store…".into(), Level::Info));
                    if self.screen != Screen::Audit {
                        return self.reload_all();
                    }
                }
                Action::Quit if self.at_top_level() => return vec![Effect::Quit],
                Action::Quit => a = Action::Back,
                _ => {}
            }
        }
        let page = self.page();
        match self.screen {
            Screen::Overview => self.handle_overview(a, page),
            Screen::Sla => match a {
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
            },
            Screen::Rollback => {
                if self.read_only {
                    return Vec::new();
                }
                let mut ids = self.ids;
                let (fx, exit) = self.wizard.handle(a, page, &mut ids);
                self.ids = ids;
                match exit {
                    Exit::Stay => fx,
                    Exit::Leave(msg) => {
                        self.screen = Screen::Overview;
                        if !msg.is_empty() {
                            self.flash = Some((msg, Level::Info));
                        }
                        fx
                    }
                    Exit::LeaveChanged(msg) => {
                        self.screen = Screen::Overview;
                        if !msg.is_empty() {
                            self.flash = Some((msg, Level::Info));
                        }
                        let mut fx = fx;
                        fx.extend(self.reload_all());
                        fx
                    }
                }
            }
            Screen::Audit => {
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
                let mut ids = self.ids;
                let fx = self.audit.handle(a, page, now, &tools, &mut ids);
                self.ids = ids;
                fx
            }
            Screen::Retention => {
                match a {
                    Action::RetentionRun => return self.open_dialog(Kind::RetentionRun),
                    Action::Up => self.retention_scroll = self.retention_scroll.saturating_sub(1),
                    Action::Down => self.retention_scroll += 1,
                    Action::PageUp => {
                        self.retention_scroll = self.retention_scroll.saturating_sub(page as u16)
                    }
                    Action::PageDown => self.retention_scroll += page as u16,
                    Action::Top => self.retention_scroll = 0,
                    _ => {}
                }
                Vec::new()
            }
        }
    }

    fn handle_dialog(&mut self, a: Action) -> Vec<Effect> {
        let now = self.now();
        let mut ids = self.ids;
        let Some(d) = self.dialog.as_mut() else {
            return Vec::new();
        };
        let (fx, out) = d.handle(a, now, &mut ids);
        self.ids = ids;
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
        let mut ids = self.ids;
        let (d, fx) = Dialog::new(kind, &mut ids);
        self.ids = ids;
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
                Some(_) => self.selected_snapshot().map(|s| s.id.clone()),
                None if self.overview_focus == Pane::Detail => tool()
                    .and_then(|t| t.marks.get(self.mark_sel))
                    .map(|s| s.id.clone()),
                None => tool().and_then(|t| t.active()).map(|s| s.id.clone()),
            },
            Screen::Sla => tool().and_then(|t| t.active()).map(|s| s.id.clone()),
            Screen::Rollback => match self.wizard.step {
                wizard::WizardStep::Tool => None,
                wizard::WizardStep::Target => self
                    .wizard
                    .targets
                    .as_ref()
                    .and_then(|t| t.list.get(self.wizard.target_nav.sel))
                    .map(|s| s.id.clone()),
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

    /// What changed outside between two overviews, said as toasts.
    fn outside_changes(&mut self, old: &Overview) {
        let mut notes = Vec::new();
        let Some(new) = &self.overview else { return };
        for t in &new.tools {
            let before = old.tools.iter().find(|o| o.name() == t.name());
            let (was, is) = (
                before.and_then(|b| b.active()).map(|s| s.id.clone()),
                t.active().map(|s| s.id.clone()),
            );
            if was != is {
                if let Some(s) = t.active() {
                    let text = if s.imported_at > old.now {
                        format!(
                            "{}: new snapshot by {}",
                            t.name(),
                            super::widgets::escape(&s.metadata.import_user)
                        )
                    } else {
                        format!("{}: the active snapshot is now {}", t.name(), s.id)
                    };
                    notes.push((text, Level::Info));
                }
            }
            let (fw, fi) = (
                before
                    .and_then(|b| b.sla.assessment)
                    .map(|a| (a.state, a.overdue)),
                t.sla.assessment.map(|a| (a.state, a.overdue)),
            );
            if fw != fi {
                if let Some((f, o)) = fi {
                    let word = crate::console::theme::freshness_word(f, o);
                    let level = if f == crate::domain::freshness::Freshness::Fresh {
                        Level::Info
                    } else {
                        Level::Warn
                    };
                    notes.push((format!("{} became {word}", t.name()), level));
                }
            }
        }
        for (text, level) in notes {
            self.toast(text, level);
        }
    }

    /// The labels of the list `/` searches on this screen, if it has one.
    pub fn find_labels(&self) -> Option<Vec<String>> {
        match self.screen {
            Screen::Overview => Some(match &self.snapshots {
                Some(l) => l.items.iter().map(|s| s.id.clone()).collect(),
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
                        .map(|t| t.list.iter().map(|s| s.id.clone()).collect())
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
    fn jump_to_match(&mut self, forward: bool, here: bool) {
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

    /// The snapshot selected in the snapshot list.
    fn selected_snapshot(&self) -> Option<&Snapshot> {
        self.snapshots.as_ref().and_then(|l| l.items.get(l.nav.sel))
    }

    /// "Now" for the screens: the overview's assessment time, else the last
    /// ticked clock. The state never reads the wall clock itself.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.overview
            .as_ref()
            .map(|o| o.now)
            .or(self.ticked_at)
            .unwrap_or(chrono::DateTime::UNIX_EPOCH)
    }

    fn handle_overview(&mut self, a: Action, page: usize) -> Vec<Effect> {
        if matches!(a, Action::Expire | Action::HoldAdd | Action::HoldRemove) {
            let Some(s) = self.selected_snapshot().cloned() else {
                return Vec::new();
            };
            let kind = match a {
                Action::Expire => Kind::Expire {
                    id: s.id,
                    tool: s.tool,
                },
                Action::HoldAdd => Kind::HoldAdd { id: s.id },
                _ => Kind::HoldRemove { id: s.id },
            };
            return self.open_dialog(kind);
        }
        if let Some(list) = self.snapshots.as_mut() {
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
                            matches!(
                                s.state,
                                crate::domain::snapshot::SnapshotState::Previous
                                    | crate::domain::snapshot::SnapshotState::Archived
                            )
                        })
                        .map(|s| s.id.clone());
                    return self.start_rollback(&tool, target);
                }
                other if list.focus == Pane::Detail => match other {
                    Action::Up => list.detail_scroll = list.detail_scroll.saturating_sub(1),
                    Action::Down => list.detail_scroll += 1,
                    Action::PageUp => list.detail_scroll = list.detail_scroll.saturating_sub(10),
                    Action::PageDown => list.detail_scroll += 10,
                    Action::Top => list.detail_scroll = 0,
                    _ => {}
                },
                other => {
                    if list.nav.handle(other, list.items.len(), page) {
                        list.detail_scroll = 0;
                        if list.nav.sel + page >= list.items.len()
                            && !list.exhausted
                            && list.req.is_none()
                        {
                            let after = list.items.last().map(|s| s.id.clone());
                            let tool = list.tool.clone();
                            let (id, e) = self.run(Job::Snapshots { tool, after });
                            if let Some(l) = self.snapshots.as_mut() {
                                l.req = Some(id);
                                l.refreshing = false;
                            }
                            return vec![e];
                        }
                    }
                }
            }
            return Vec::new();
        }
        if self.overview_focus == Pane::Detail {
            // The timeline cursor: ← → move mark to mark (newest first in
            // the list, so → goes forward in time = towards index 0).
            let n = self.marks_of_selected();
            match a {
                Action::NextPane | Action::PrevPane | Action::Back => {
                    self.overview_focus = Pane::List;
                    return Vec::new();
                }
                Action::Left | Action::Up => {
                    self.mark_sel = (self.mark_sel + 1).min(n.saturating_sub(1));
                    return Vec::new();
                }
                Action::Right | Action::Down => {
                    self.mark_sel = self.mark_sel.saturating_sub(1);
                    return Vec::new();
                }
                Action::Top => {
                    self.mark_sel = n.saturating_sub(1);
                    return Vec::new();
                }
                Action::Bottom => {
                    self.mark_sel = 0;
                    return Vec::new();
                }
                _ => {}
            }
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
            Action::ZoomIn | Action::ZoomOut => {
                let i = WINDOWS
                    .iter()
                    .position(|w| *w >= self.window_days)
                    .unwrap_or(WINDOWS.len() - 1);
                let j = if a == Action::ZoomIn {
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
            other => {
                let n = self.tool_names().len();
                self.tool_nav.handle(other, n, page);
                Vec::new()
            }
        }
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

    fn rollback_selected(&mut self, target: Option<String>) -> Vec<Effect> {
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
        if matches!(self.wizard.step, wizard::WizardStep::Execute) {
            return Vec::new();
        }
        self.wizard.set_tools(self.tool_choices());
        let mut ids = self.ids;
        let fx = self.wizard.start_with(tool, target, &mut ids);
        self.ids = ids;
        fx
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
                if self.wizard.step == wizard::WizardStep::Tool && self.wizard.tool.is_none() {
                    self.wizard.tool_nav.sel = self.tool_nav.sel;
                    self.wizard.tool_nav.clamp(self.wizard.tools.len());
                }
                Vec::new()
            }
            Screen::Audit => {
                let mut ids = self.ids;
                let fx = self.audit.open(&mut ids);
                self.ids = ids;
                fx
            }
            Screen::Retention if self.retention.is_none() && self.retention_req.is_none() => {
                self.load_retention()
            }
            _ => Vec::new(),
        }
    }

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

    fn current_nav(&self) -> Option<ListNav> {
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
                wizard::WizardStep::Target => self.wizard.targets.as_ref().map_or(0, |t| t.list.len()),
                wizard::WizardStep::Preview => self.wizard.preview.items.len(),
                _ => 0,
            },
            Screen::Audit => self.audit.rows.len(),
            Screen::Retention => 0,
        }
    }

    fn current_nav_mut(&mut self) -> Option<&mut ListNav> {
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

    /// Called by the event loop about ten times a second with the clock's
    /// reading (the clock is an input, so tests drive time); `refresh` once
    /// every `refresh_secs`.
    pub fn on_tick(&mut self, refresh: bool, now: chrono::DateTime<chrono::Utc>) -> Vec<Effect> {
        self.ticked_at = Some(now);
        for t in self.toasts.iter_mut() {
            t.ticks_left = t.ticks_left.saturating_sub(1);
        }
        self.toasts.retain(|t| t.ticks_left > 0);
        if self.busy() {
            self.spinner += 1;
        }
        if self.wizard.plan_req.is_some() {
            self.wizard.verify_ticks += 1;
        }
        if !refresh {
            return Vec::new();
        }
        let stale_ages = self
            .overview
            .as_ref()
            .is_some_and(|o| now - o.now >= chrono::Duration::seconds(30));
        if self.live_clock && stale_ages && self.overview_req.is_none() {
            // Ages tick over: the SLA is re-assessed as of now.
            let fx = self.reload_overview();
            self.overview_followup = true;
            return fx;
        }
        if self.poll_req.is_none() && self.overview_req.is_none() {
            let (id, e) = self.run(Job::Fingerprint);
            self.poll_req = Some(id);
            return vec![e];
        }
        Vec::new()
    }

    /// A worker's message. Messages nobody waits for any more are dropped.
    pub fn apply(&mut self, msg: Msg) -> Vec<Effect> {
        let Msg { id, result } = msg;
        let dialog_owns = self
            .dialog
            .as_ref()
            .is_some_and(|d| d.req == Some(id) || d.preview_req == Some(id));
        if dialog_owns {
            let out = self.dialog.as_mut().and_then(|d| d.apply(id, result));
            if let Some(Outcome::Done(sentence)) = out {
                self.dialog = None;
                self.flash = Some((sentence, Level::Info));
                return self.reload_all();
            }
            return Vec::new();
        }
        if self.poll_req == Some(id) {
            self.poll_req = None;
            if let Ok(Payload::Fingerprint(f)) = result {
                let changed = self.overview.as_ref().is_none_or(|o| o.fingerprint != f);
                if changed {
                    return self.reload_all();
                }
            }
            return Vec::new();
        }
        if self.overview_req == Some(id) {
            self.overview_req = None;
            match result {
                Ok(Payload::Overview(o)) => {
                    let cur = self.selected_tool();
                    let changed = self
                        .overview
                        .as_ref()
                        .is_some_and(|old| old.fingerprint != o.fingerprint);
                    let old = self.overview.replace(*o);
                    if let Some(old) = &old {
                        self.outside_changes(old);
                    }
                    self.load_error = None;
                    if let Some(c) = cur {
                        if let Some(i) = self.tool_names().iter().position(|t| *t == c) {
                            self.tool_nav.sel = i;
                        }
                    }
                    self.tool_nav.clamp(self.tool_names().len());
                    self.wizard.set_tools(self.tool_choices());
                    if let Some(t) = self.wizard.tool.clone() {
                        let active = self
                            .tool_choices()
                            .into_iter()
                            .find(|c| c.name == t)
                            .and_then(|c| c.active);
                        self.wizard.active_seen(&t, active.as_deref());
                    }
                    if changed && std::mem::take(&mut self.overview_followup) {
                        // Another process wrote: the other views follow.
                        let mut fx = Vec::new();
                        if let Some(tool) = self.snapshots.as_ref().map(|s| s.tool.clone()) {
                            fx.extend(self.open_snapshots(&tool, true));
                        }
                        if self.retention.is_some() {
                            fx.extend(self.load_retention());
                        }
                        let mut ids = self.ids;
                        fx.extend(self.audit.store_changed(&mut ids));
                        self.ids = ids;
                        return fx;
                    }
                }
                Ok(_) => {}
                Err(e) => self.load_error = Some(e.to_string()),
            }
            return Vec::new();
        }
        if self.retention_req == Some(id) {
            self.retention_req = None;
            match result {
                Ok(Payload::Retention(s)) => {
                    self.retention = Some(*s);
                    self.retention_error = None;
                }
                Ok(_) => {}
                Err(e) => self.retention_error = Some(e.to_string()),
            }
            return Vec::new();
        }
        if let Some(list) = self.snapshots.as_mut() {
            if list.req == Some(id) {
                list.req = None;
                match result {
                    Ok(Payload::Snapshots(page)) => {
                        if (page.len() as u64) < SNAPSHOT_PAGE {
                            list.exhausted = true;
                        }
                        if list.refreshing {
                            // The first page again: keep the selection by id.
                            let sel_id = list.items.get(list.nav.sel).map(|s| s.id.clone());
                            list.items = page;
                            if let Some(sid) = sel_id {
                                list.nav.sel =
                                    list.items.iter().position(|s| s.id == sid).unwrap_or(0);
                            }
                            list.nav.clamp(list.items.len());
                        } else {
                            list.items.extend(page);
                        }
                        list.refreshing = false;
                        list.error = None;
                    }
                    Ok(_) => {}
                    Err(e) => list.error = Some(e.to_string()),
                }
                return Vec::new();
            }
        }
        let audit_owns = self.audit.req.is_some_and(|(r, _)| r == id)
            || matches!(self.audit.chain, super::audit::Chain::Checking(c) if c == id);
        if audit_owns {
            let was_check = matches!(self.audit.chain, super::audit::Chain::Checking(c) if c == id);
            self.audit.apply(id, result);
            if was_check && std::mem::take(&mut self.verify_asked) {
                let (text, good) = super::audit::badge_text(&self.audit.chain);
                let level = if good == Some(false) {
                    Level::Error
                } else {
                    Level::Info
                };
                self.toast(format!("verification finished: {text}"), level);
            }
            return Vec::new();
        }
        self.wizard.apply(id, result);
        Vec::new()
    }
}

//! The console's state and its state machine. `App::handle` takes an
//! [`Action`] (never a raw key), changes plain data, and returns the work to
//! do as [`Effect`]s; `App::apply` takes the results. Nothing here touches
//! the terminal or the store, so all of it is tested without either.

mod apply;
mod find;
mod keys;
mod mouse;
mod screens;

use super::actions::Dialog;
use super::data::Overview;
use super::jobs::{next_id, Effect, Job, SNAPSHOT_PAGE};
use super::keymap::{self, Scope};
use super::wizard::{self, ToolChoice, Wizard};
use crate::console::audit::Browser;
use crate::console::widgets::{ListNav, Pane};
use crate::domain::snapshot::Snapshot;
use crate::ops::retention::Status;
use ratatui::layout::Rect;

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
    pub field: crate::console::widgets::TextField,
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
    /// A page of the list came: the next one, or the first one again.
    pub fn add_page(&mut self, page: Vec<Snapshot>) {
        if (page.len() as u64) < SNAPSHOT_PAGE {
            self.exhausted = true;
        }
        if self.refreshing {
            // The first page again: keep the selection by id.
            let sel_id = self.items.get(self.nav.sel).map(|s| s.id.clone());
            self.items = page;
            if let Some(sid) = sel_id {
                self.nav.sel = self.items.iter().position(|s| s.id == sid).unwrap_or(0);
            }
            self.nav.clamp(self.items.len());
        } else {
            self.items.extend(page);
        }
        self.refreshing = false;
        self.error = None;
    }

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

    fn run(&mut self, job: Job) -> (u64, Effect) {
        let id = next_id(&mut self.ids);
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
        fx.extend(self.reload_others(self.screen == Screen::Retention));
        fx
    }

    /// The views besides the overview that are loaded (and retention, with
    /// `retention`), reloaded.
    fn reload_others(&mut self, retention: bool) -> Vec<Effect> {
        let mut fx = Vec::new();
        if let Some(tool) = self.snapshots.as_ref().map(|s| s.tool.clone()) {
            fx.extend(self.open_snapshots(&tool, true));
        }
        if self.retention.is_some() || retention {
            fx.extend(self.load_retention());
        }
        fx.extend(self.audit.store_changed(&mut self.ids));
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
            || matches!(self.audit.chain, crate::console::audit::Chain::Checking(_))
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
                        active: t.active().map(|s| s.id.to_string()),
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

    /// The wizard step's keys.
    fn wizard_scope(&self) -> Scope {
        use wizard::{FailKind, WizardStep as W};
        match &self.wizard.step {
            W::Tool | W::Target => Scope::WizardList,
            W::Verify => Scope::WizardVerify,
            W::Preview => Scope::WizardPreview,
            W::Reason => Scope::WizardReason,
            W::Confirm(_) if self.wizard.moved.is_some() => Scope::WizardStale,
            W::Confirm(_) if self.wizard.confirmed() => Scope::WizardConfirmReady,
            W::Confirm(_) => Scope::WizardConfirm,
            W::Execute { .. } => Scope::WizardRunning,
            W::Result { outcome, .. } => match outcome.as_ref() {
                Err(f) if matches!(f.kind, FailKind::Conflict | FailKind::Integrity) => {
                    Scope::WizardRetry
                }
                _ => Scope::WizardResult,
            },
        }
    }

    /// The scopes of the screen under the help (its keys are listed first).
    pub fn screen_scopes(&self) -> Vec<Scope> {
        let s = match self.screen {
            Screen::Overview if self.snapshots.is_some() => Scope::Snapshots,
            Screen::Overview => Scope::Overview,
            Screen::Sla => Scope::Sla,
            Screen::Rollback if self.read_only => Scope::Global,
            Screen::Rollback => self.wizard_scope(),
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
                    || matches!(
                        self.wizard.step,
                        wizard::WizardStep::Tool | wizard::WizardStep::Result { .. }
                    )
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
}

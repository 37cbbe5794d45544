//! The audit browser's state: a window of records paged through the store
//! (newest first, `before_seq`/`after_seq` + `limit`), the filters, and the
//! chain status. Read-only: its jobs open the store read-only.

mod chain;
mod form;

pub use chain::{badge_text, Chain};
pub use form::{Form, Query, FIELDS};

use super::jobs::{next_id, Effect, Job, Payload};
use super::keymap::Action;
use super::widgets::{scrolled, ListNav, Pane, TextField};
use crate::domain::audit::AuditRecord;
use crate::ops::OpError;
use chain::chain_result;
use chrono::{DateTime, Utc};

pub const PAGE: u64 = 200;
/// The most records kept in memory; the far end is dropped and re-paged.
pub const WINDOW: usize = 2000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageDir {
    /// The newest records.
    First,
    /// Older than the window's last row.
    Older,
    /// Newer than the window's first row.
    Newer,
    /// The oldest records.
    Last,
}

#[derive(Clone, Debug)]
pub struct Browser {
    pub rows: Vec<(u64, AuditRecord)>,
    pub nav: ListNav,
    /// The window holds the newest matching record.
    pub at_top: bool,
    /// The window holds the oldest matching record.
    pub at_bottom: bool,
    pub req: Option<(u64, PageDir)>,
    pub query: Query,
    pub form: Option<Form>,
    pub focus: Pane,
    pub detail_scroll: u16,
    pub chain: Chain,
    /// Records arrived that the window (scrolled down) does not show yet.
    pub newer: bool,
    pub error: Option<String>,
    pub opened: bool,
    /// The list's height when last navigated: a jump to the oldest
    /// record shows a full page ending on it.
    pub page: usize,
}

impl Default for Browser {
    fn default() -> Self {
        Browser {
            rows: Vec::new(),
            nav: ListNav::default(),
            at_top: true,
            at_bottom: false,
            req: None,
            query: Query::default(),
            form: None,
            focus: Pane::List,
            detail_scroll: 0,
            chain: Chain::NotChecked,
            newer: false,
            error: None,
            opened: false,
            page: 1,
        }
    }
}

impl Browser {
    pub fn selected(&self) -> Option<&(u64, AuditRecord)> {
        self.rows.get(self.nav.sel)
    }

    /// The first visit: the newest page and a chain check.
    pub fn open(&mut self, ids: &mut u64) -> Vec<Effect> {
        if self.opened {
            return Vec::new();
        }
        self.opened = true;
        let mut fx = self.load(PageDir::First, ids);
        fx.extend(self.verify(ids));
        fx
    }

    pub fn verify(&mut self, ids: &mut u64) -> Vec<Effect> {
        if matches!(self.chain, Chain::Checking(_)) {
            return Vec::new();
        }
        let id = next_id(ids);
        self.chain = Chain::Checking(id);
        vec![Effect::Run {
            id,
            job: Job::AuditVerify,
        }]
    }

    pub fn load(&mut self, dir: PageDir, ids: &mut u64) -> Vec<Effect> {
        // A new First/Last replaces whatever page was on its way.
        if self.req.is_some() && matches!(dir, PageDir::Older | PageDir::Newer) {
            return Vec::new();
        }
        let mut filter = self.query.filter();
        filter.limit = Some(PAGE);
        match dir {
            PageDir::First => {}
            PageDir::Older => filter.before_seq = self.rows.last().map(|r| r.0),
            PageDir::Newer => {
                filter.after_seq = self.rows.first().map(|r| r.0);
                filter.oldest_first = true;
            }
            PageDir::Last => filter.oldest_first = true,
        }
        let id = next_id(ids);
        self.req = Some((id, dir));
        vec![Effect::Run {
            id,
            job: Job::AuditPage { filter },
        }]
    }

    /// The store changed: show new records if at the top, else say so.
    pub fn store_changed(&mut self, ids: &mut u64) -> Vec<Effect> {
        if !self.opened {
            return Vec::new();
        }
        let mut fx = Vec::new();
        if self.at_top && self.nav.sel == 0 && self.form.is_none() {
            fx.extend(self.load(PageDir::First, ids));
        } else {
            self.newer = true;
            self.at_top = false;
        }
        if !matches!(self.chain, Chain::Checking(_)) {
            fx.extend(self.verify(ids));
        }
        fx
    }

    pub fn in_text_entry(&self) -> bool {
        self.form.is_some()
    }

    pub fn handle(
        &mut self,
        a: Action,
        page: usize,
        now: DateTime<Utc>,
        tools: &[String],
        ids: &mut u64,
    ) -> Vec<Effect> {
        self.page = page.max(1);
        if self.form.is_some() {
            return self.form_key(a, now, tools, ids);
        }
        match a {
            Action::Filter => self.form = Some(Form::from_query(&self.query)),
            Action::ClearFilters => {
                self.query = Query::default();
                return self.reload(ids);
            }
            Action::VerifyChain => {
                self.chain = Chain::NotChecked;
                return self.verify(ids);
            }
            Action::Refresh => return self.reload(ids),
            Action::NextPane | Action::PrevPane => self.focus = self.focus.toggle(),
            Action::Right | Action::Enter => self.focus = Pane::Detail,
            Action::Left if self.focus == Pane::Detail => self.focus = Pane::List,
            Action::Top => {
                self.newer = false;
                self.focus = Pane::List;
                self.detail_scroll = 0;
                // On the newest record at once, whether or not it is loaded.
                self.nav = ListNav::default();
                if !self.at_top {
                    return self.load(PageDir::First, ids);
                }
            }
            Action::Bottom => {
                self.focus = Pane::List;
                self.detail_scroll = 0;
                if !self.at_bottom {
                    return self.load(PageDir::Last, ids);
                }
                self.nav.handle(Action::Bottom, self.rows.len(), page);
            }
            other if self.focus == Pane::Detail => {
                self.detail_scroll = scrolled(self.detail_scroll, other, page);
            }
            other => return self.move_in_list(other, page, ids),
        }
        Vec::new()
    }

    /// A move in the list; near either end of the loaded window, the next
    /// page that way.
    fn move_in_list(&mut self, a: Action, page: usize, ids: &mut u64) -> Vec<Effect> {
        let before = self.nav.sel;
        let at_edge_up = self.nav.sel == 0 && matches!(a, Action::Up | Action::PageUp);
        if self.nav.handle(a, self.rows.len(), page) && self.nav.sel != before {
            self.detail_scroll = 0;
        }
        if at_edge_up && !self.at_top {
            return self.load(PageDir::Newer, ids);
        }
        if !self.at_bottom && self.nav.sel + page >= self.rows.len() {
            return self.load(PageDir::Older, ids);
        }
        Vec::new()
    }

    /// The filter form's keys: fields, choices, and Enter to search.
    fn form_key(
        &mut self,
        a: Action,
        now: DateTime<Utc>,
        tools: &[String],
        ids: &mut u64,
    ) -> Vec<Effect> {
        let Some(form) = &mut self.form else {
            return Vec::new();
        };
        match a {
            Action::Down | Action::NextPane => form.focus = (form.focus + 1) % FIELDS.len(),
            Action::Up | Action::PrevPane => {
                form.focus = (form.focus + FIELDS.len() - 1) % FIELDS.len()
            }
            // ← → choose among the known events and tools; in the
            // other fields they move the cursor.
            Action::Left if form.focus < 2 => form.cycle(false, tools),
            Action::Right if form.focus < 2 => form.cycle(true, tools),
            Action::Left => {
                form.fields[form.focus].request(tui_input::InputRequest::GoToPrevChar);
            }
            Action::Right => {
                form.fields[form.focus].request(tui_input::InputRequest::GoToNextChar);
            }
            Action::Backspace => form.fields[form.focus].backspace(),
            Action::Back => self.form = None,
            Action::Enter => match form.parse(now) {
                Ok(q) => {
                    self.form = None;
                    self.query = q;
                    return self.reload(ids);
                }
                Err(m) => form.error = Some(m),
            },
            _ => {}
        }
        Vec::new()
    }

    /// The text field that has the keyboard, if any.
    pub fn field_mut(&mut self) -> Option<&mut TextField> {
        if let Some(f) = &mut self.form {
            f.error = None;
            Some(&mut f.fields[f.focus])
        } else {
            None
        }
    }

    /// The whole trail searched in the store for `text` (the `/` filter,
    /// kept with Enter, or cleared); the other filters stay.
    pub fn search(&mut self, text: Option<String>, ids: &mut u64) -> Vec<Effect> {
        if self.query.text == text {
            return Vec::new();
        }
        self.query.text = text;
        self.reload(ids)
    }

    fn reload(&mut self, ids: &mut u64) -> Vec<Effect> {
        self.rows.clear();
        self.nav = ListNav::default();
        self.at_top = true;
        self.at_bottom = false;
        self.newer = false;
        self.error = None;
        self.req = None;
        self.load(PageDir::First, ids)
    }

    pub fn apply(&mut self, id: u64, result: Result<Payload, OpError>) -> bool {
        if matches!(self.chain, Chain::Checking(c) if c == id) {
            self.chain = chain_result(result);
            return true;
        }
        let Some((rid, dir)) = self.req else {
            return false;
        };
        if rid != id {
            return false;
        }
        self.req = None;
        match result {
            Ok(Payload::AuditPage(p)) => {
                self.error = None;
                self.page_loaded(dir, p);
            }
            Ok(_) => {}
            Err(e) => self.error = Some(crate::console::words::say(&e)),
        }
        true
    }

    /// A page in `dir` came: it replaces the window, or joins it at one
    /// end (dropping the other end past `WINDOW` rows).
    fn page_loaded(&mut self, dir: PageDir, mut page: Vec<(u64, AuditRecord)>) {
        let full = page.len() as u64 >= PAGE;
        match dir {
            PageDir::First => {
                self.rows = page;
                self.at_top = true;
                self.newer = false;
                self.at_bottom = !full;
                self.nav.clamp(self.rows.len());
                self.nav.offset = self.nav.offset.min(self.nav.sel);
            }
            PageDir::Last => {
                page.reverse();
                self.rows = page;
                self.at_bottom = true;
                self.at_top = !full;
                let last = self.rows.len().saturating_sub(1);
                self.nav = ListNav {
                    sel: last,
                    offset: (last + 1).saturating_sub(self.page),
                };
            }
            PageDir::Older => self.older_loaded(page, full),
            PageDir::Newer => self.newer_loaded(page, full),
        }
    }

    fn older_loaded(&mut self, page: Vec<(u64, AuditRecord)>, full: bool) {
        self.at_bottom = !full;
        self.rows.extend(page);
        if self.rows.len() > WINDOW {
            let drop = self.rows.len() - WINDOW;
            self.rows.drain(..drop);
            self.nav.sel = self.nav.sel.saturating_sub(drop);
            self.nav.offset = self.nav.offset.saturating_sub(drop);
            self.at_top = false;
        }
    }

    fn newer_loaded(&mut self, mut page: Vec<(u64, AuditRecord)>, full: bool) {
        self.at_top = !full;
        if self.at_top {
            self.newer = false;
        }
        page.reverse();
        let n = page.len();
        page.extend(std::mem::take(&mut self.rows));
        self.rows = page;
        self.nav.sel += n;
        self.nav.offset += n;
        // Step onto the newest of the records just loaded.
        self.nav.sel = self.nav.sel.saturating_sub(1);
        self.nav.offset = self.nav.offset.min(self.nav.sel);
        if self.rows.len() > WINDOW {
            self.rows.truncate(WINDOW);
            self.at_bottom = false;
        }
    }
}

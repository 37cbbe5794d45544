//! The dry-run diff's list: its order, its filters (searched in the store,
//! page by page) and the keys of the preview step.

use super::{Wizard, WizardStep};
use crate::console::jobs::{next_id, Effect, Job};
use crate::console::keymap::Action;
use crate::console::widgets::{scrolled, ListNav, Pane};
use crate::domain::record::{RecordKind, Severity};
use crate::ops::diff::{Change, DiffItem, ItemFilter};

/// How the dry-run diff's rows are ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Order {
    /// Added, then removed, then changed (the store's order within each).
    #[default]
    Grouped,
    /// Worst severity first (packages last), then grouped.
    Severity,
}

fn severity_rank(s: Option<Severity>) -> u8 {
    match s {
        Some(s) => Severity::ALL
            .iter()
            .position(|x| *x == s)
            .map_or(Severity::ALL.len() as u8, |i| i as u8),
        None => u8::MAX,
    }
}

fn change_rank(c: Change) -> u8 {
    match c {
        Change::Added => 0,
        Change::Removed => 1,
        Change::Changed => 2,
    }
}

/// A diff row's detail, one line each: a changed record's differing fields
/// with the old and the new value in full (pretty JSON), an added or
/// removed record pretty-printed.
pub fn detail_lines(it: &DiffItem) -> Vec<String> {
    let pretty =
        |v: &serde_json::Value| serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string());
    let mut out = vec![format!(
        "{} {} ({}{})",
        it.change.as_str(),
        it.identity,
        it.kind,
        it.severity.map(|s| format!(", {s}")).unwrap_or_default()
    )];
    match (&it.old, &it.new) {
        (Some(o), Some(n)) => {
            let empty = serde_json::Map::new();
            let (om, nm) = (
                o.as_object().unwrap_or(&empty),
                n.as_object().unwrap_or(&empty),
            );
            let mut keys: Vec<&String> = om.keys().chain(nm.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let (a, b) = (om.get(k), nm.get(k));
                if a == b {
                    continue;
                }
                out.push(format!("{k}:"));
                for (sign, v) in [("- old: ", a), ("+ new: ", b)] {
                    let text = v.map(pretty).unwrap_or_else(|| "(absent)".into());
                    for (i, l) in text.lines().enumerate() {
                        let lead = if i == 0 { sign } else { "       " };
                        out.push(format!("  {lead}{l}"));
                    }
                }
            }
        }
        (None, Some(v)) | (Some(v), None) => {
            let sign = if it.new.is_some() { "+ " } else { "- " };
            out.extend(pretty(v).lines().map(|l| format!("{sign}{l}")));
        }
        _ => {}
    }
    out
}

/// The dry-run diff's list: loaded page by page, filtered in the store.
#[derive(Clone, Debug, Default)]
pub struct Preview {
    pub order: Order,
    pub items: Vec<DiffItem>,
    pub nav: ListNav,
    pub filter: ItemFilter,
    pub req: Option<u64>,
    /// Every matching item is loaded.
    pub exhausted: bool,
    pub focus: Pane,
    pub detail_scroll: u16,
    pub error: Option<String>,
}

impl Preview {
    /// Grouped by change, or worst severity first; back to the top.
    fn toggle_order(&mut self) {
        self.order = match self.order {
            Order::Grouped => Order::Severity,
            Order::Severity => Order::Grouped,
        };
        self.arrange();
        self.nav.sel = 0;
        self.nav.offset = 0;
    }

    /// Orders the loaded rows, keeping the selected one selected.
    pub fn arrange(&mut self) {
        let sel = self.items.get(self.nav.sel).map(|i| i.identity.clone());
        match self.order {
            Order::Grouped => self.items.sort_by_key(|i| change_rank(i.change)),
            Order::Severity => self
                .items
                .sort_by_key(|i| (severity_rank(i.severity), change_rank(i.change))),
        }
        if let Some(id) = sel {
            if let Some(j) = self.items.iter().position(|i| i.identity == id) {
                self.nav.sel = j;
            }
        }
    }
}

impl Wizard {
    pub(super) fn load_diff_page(&mut self, ids: &mut u64) -> Vec<Effect> {
        if self.preview.req.is_some() || self.preview.exhausted {
            return Vec::new();
        }
        let (Some(tool), Some(target)) = (self.tool.clone(), self.target.clone()) else {
            return Vec::new();
        };
        let id = next_id(ids);
        self.preview.req = Some(id);
        vec![Effect::Run {
            id,
            job: Job::DiffPage {
                tool,
                target,
                filter: self.preview.filter.clone(),
                offset: self.preview.items.len(),
            },
        }]
    }

    /// The whole diff searched in the store for `text` (the `/` filter,
    /// kept with Enter, or cleared).
    pub fn search_diff(&mut self, text: Option<String>, ids: &mut u64) -> Vec<Effect> {
        if self.preview.filter.text == text {
            return Vec::new();
        }
        self.preview.filter.text = text;
        self.reload_diff(ids)
    }

    pub(super) fn reload_diff(&mut self, ids: &mut u64) -> Vec<Effect> {
        self.preview.items.clear();
        self.preview.nav = ListNav::default();
        self.preview.exhausted = false;
        self.preview.req = None;
        self.preview.error = None;
        self.preview.detail_scroll = 0;
        self.load_diff_page(ids)
    }

    /// The preview step's keys: filters, order, the list and its detail.
    pub(super) fn preview_key(&mut self, a: Action, page: usize, ids: &mut u64) -> Vec<Effect> {
        match a {
            Action::Enter => self.step = WizardStep::Reason,
            Action::Back => {
                // Cancels a page still loading (its result is dropped).
                self.preview.req = None;
                self.step = WizardStep::Verify;
            }
            Action::CycleChange | Action::CycleKind | Action::CycleSeverity => {
                self.preview.filter.cycle(a);
                return self.reload_diff(ids);
            }
            Action::ClearFilters => {
                self.preview.order = Order::Grouped;
                self.preview.filter = ItemFilter::default();
                return self.reload_diff(ids);
            }
            Action::ToggleSort => self.preview.toggle_order(),
            Action::NextCritical => self.next_critical(page),
            Action::NextPane | Action::PrevPane => {
                self.preview.focus = self.preview.focus.toggle();
            }
            Action::Right => self.preview.focus = Pane::Detail,
            Action::Left => self.preview.focus = Pane::List,
            other if self.preview.focus == Pane::Detail => {
                self.preview.detail_scroll = scrolled(self.preview.detail_scroll, other, page);
            }
            other => {
                let n = self.preview.items.len();
                if self.preview.nav.handle(other, n, page) {
                    self.preview.detail_scroll = 0;
                    if self.preview.nav.sel + page >= n {
                        return self.load_diff_page(ids);
                    }
                }
            }
        }
        Vec::new()
    }

    fn next_critical(&mut self, page: usize) {
        let from = self.preview.nav.sel + 1;
        let items = &self.preview.items;
        let hit = (from..items.len())
            .chain(0..from.min(items.len()))
            .find(|&i| items[i].severity == Some(Severity::Critical));
        match hit {
            Some(i) => {
                self.preview.nav.sel = i;
                self.preview.nav.offset = self.preview.nav.offset_for(page);
                self.preview.detail_scroll = 0;
            }
            None => {
                self.note = Some(if self.preview.exhausted {
                    "no critical finding in this diff".into()
                } else {
                    "no critical finding among the rows loaded; G loads more".into()
                })
            }
        }
    }
}

/// The filter keys (c t s) each step one filter through its values.
trait Cycle {
    fn cycle(&mut self, a: Action);
}

impl Cycle for ItemFilter {
    fn cycle(&mut self, a: Action) {
        match a {
            Action::CycleChange => {
                self.change = match self.change {
                    None => Some(Change::Added),
                    Some(Change::Added) => Some(Change::Removed),
                    Some(Change::Removed) => Some(Change::Changed),
                    Some(Change::Changed) => None,
                }
            }
            Action::CycleKind => {
                self.kind = match self.kind {
                    None => Some(RecordKind::Package),
                    Some(RecordKind::Package) => Some(RecordKind::Vulnerability),
                    Some(RecordKind::Vulnerability) => None,
                }
            }
            Action::CycleSeverity => {
                let all = Severity::ALL;
                self.severity = match self.severity {
                    None => Some(all[0]),
                    Some(s) => all
                        .iter()
                        .position(|x| *x == s)
                        .and_then(|i| all.get(i + 1))
                        .copied(),
                }
            }
            _ => {}
        }
    }
}

//! The rollback wizard: a pure state machine, one screen per step. Esc goes
//! back one step and keeps the choices made (tool, target, filters,
//! reason). Work (loading targets, verifying, diff pages, the rollback
//! itself) is asked for as [`Effect`]s and comes back through [`Wizard::apply`].

use super::data::{rollback_sentence, Targets};
use super::jobs::{Effect, Job, Payload, DIFF_PAGE};
use super::keymap::Action;
use super::widgets::{ListNav, Pane, TextField};
use crate::domain::record::{RecordKind, Severity};
use crate::ops::diff::{Change, DiffItem, ItemFilter};
use crate::ops::rollback::{Plan, Response, Step as WorkflowStep, StepEvent};
use crate::ops::OpError;
use crate::store::StoreError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Tool,
    Target,
    Verify,
    Preview,
    Reason,
    Confirm,
    Execute,
    Result,
}

impl Step {
    pub const ALL: [Step; 8] = [
        Step::Tool,
        Step::Target,
        Step::Verify,
        Step::Preview,
        Step::Reason,
        Step::Confirm,
        Step::Execute,
        Step::Result,
    ];
    pub fn title(self) -> &'static str {
        match self {
            Step::Tool => "Tool",
            Step::Target => "Target",
            Step::Verify => "Verify",
            Step::Preview => "Dry run",
            Step::Reason => "Reason",
            Step::Confirm => "Confirm",
            Step::Execute => "Execute",
            Step::Result => "Result",
        }
    }
}

/// Why a step failed, said for an operator: what happened and what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub kind: FailKind,
    pub message: String,
    pub next: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailKind {
    /// The target (or the restore) does not re-hash to its normalizedHash.
    Integrity,
    /// Someone else changed the tool's active snapshot since the preview.
    Conflict,
    /// An injected fault, or any other failure of the workflow.
    Fault,
    Other,
}

impl Failure {
    pub fn from_error(e: &OpError, tool: &str) -> Failure {
        let message = e.to_string();
        let (kind, next) = match e {
            OpError::Integrity(_) => (
                FailKind::Integrity,
                "Nothing was changed. Choose another target (Enter or Esc), and check the store with `snapgov ingest verify ID` and `snapgov ingest audit verify`.".to_string(),
            ),
            OpError::Conflict(_) | OpError::Store(StoreError::Busy) => (
                FailKind::Conflict,
                format!("Nothing was changed. Press Enter to reload {tool}'s snapshots and preview again against the new state."),
            ),
            OpError::Fault(_) => (
                FailKind::Fault,
                "The rollback was undone at its savepoint (or never committed): nothing was changed. Press Enter to return to the overview; try again when the cause is fixed.".to_string(),
            ),
            _ => (
                FailKind::Other,
                "Nothing was changed. Press Enter to return to the overview.".to_string(),
            ),
        };
        Failure {
            kind,
            message,
            next,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepState {
    Pending,
    Running,
    Done,
    Failed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfirmFocus {
    Cancel,
    RollBack,
}

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

/// One tool the wizard offers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolChoice {
    pub name: String,
    pub active: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Wizard {
    pub step: Step,
    pub tools: Vec<ToolChoice>,
    pub tool_nav: ListNav,
    pub tool: Option<String>,
    pub targets: Option<Targets>,
    pub targets_req: Option<u64>,
    pub target_nav: ListNav,
    /// A target asked for before the list loaded (from the snapshot list).
    pub wanted_target: Option<String>,
    pub target: Option<String>,
    pub plan: Option<Plan>,
    pub plan_req: Option<u64>,
    /// Spinner ticks since the verification started.
    pub verify_ticks: u64,
    pub failure: Option<Failure>,
    pub preview: Preview,
    pub reason: TextField,
    pub confirm: TextField,
    pub confirm_focus: ConfirmFocus,
    pub steps: Vec<(WorkflowStep, StepState, Option<String>)>,
    pub exec_req: Option<u64>,
    pub outcome: Option<Result<Response, Failure>>,
    /// A note for the operator on the current step (e.g. "a reason is required").
    pub note: Option<String>,
    /// A refresh saw the tool's active snapshot change since the preview:
    /// the new active id. Confirm then refuses and offers to reload.
    pub moved: Option<String>,
}

/// What the wizard tells the app besides effects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Exit {
    Stay,
    /// Leave the wizard (to the overview), with a message.
    Leave(String),
    /// The store changed (a rollback completed): reload everything.
    LeaveChanged(String),
}

fn next_id(ids: &mut u64) -> u64 {
    *ids += 1;
    *ids
}

impl Default for Wizard {
    fn default() -> Self {
        Wizard::new(Vec::new())
    }
}

impl Preview {
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
    pub fn new(tools: Vec<ToolChoice>) -> Wizard {
        Wizard {
            step: Step::Tool,
            tools,
            tool_nav: ListNav::default(),
            tool: None,
            targets: None,
            targets_req: None,
            target_nav: ListNav::default(),
            wanted_target: None,
            target: None,
            plan: None,
            plan_req: None,
            verify_ticks: 0,
            failure: None,
            preview: Preview::default(),
            reason: TextField::default(),
            confirm: TextField::default(),
            confirm_focus: ConfirmFocus::Cancel,
            steps: Vec::new(),
            exec_req: None,
            outcome: None,
            note: None,
            moved: None,
        }
    }

    /// Whether the wizard is doing something in the background.
    pub fn busy(&self) -> bool {
        self.targets_req.is_some()
            || self.plan_req.is_some()
            || self.exec_req.is_some()
            || self.preview.req.is_some()
    }

    /// The tool list changed (a reload): keep the selection by name.
    pub fn set_tools(&mut self, tools: Vec<ToolChoice>) {
        let cur = self.tools.get(self.tool_nav.sel).map(|t| t.name.clone());
        self.tools = tools;
        if let Some(c) = cur {
            if let Some(i) = self.tools.iter().position(|t| t.name == c) {
                self.tool_nav.sel = i;
            }
        }
        self.tool_nav.clamp(self.tools.len());
    }

    /// Starts on a tool (skipping the tool step; Esc goes back to it), and
    /// optionally with a preferred target.
    pub fn start_with(&mut self, tool: &str, target: Option<String>, ids: &mut u64) -> Vec<Effect> {
        if matches!(self.step, Step::Execute) {
            return Vec::new();
        }
        // A new wizard: choices from an earlier, abandoned one would
        // preselect a target nobody chose in this one.
        self.reset();
        if let Some(i) = self.tools.iter().position(|t| t.name == tool) {
            self.tool_nav.sel = i;
        }
        self.wanted_target = target;
        self.choose_tool(tool.to_string(), ids)
    }

    fn choose_tool(&mut self, tool: String, ids: &mut u64) -> Vec<Effect> {
        if self.tool.as_deref() != Some(tool.as_str()) {
            self.target = None;
            self.target_nav = ListNav::default();
            self.plan = None;
            self.preview = Preview::default();
            self.confirm = TextField::default();
        }
        self.tool = Some(tool.clone());
        self.failure = None;
        self.note = None;
        self.moved = None;
        self.step = Step::Target;
        self.targets = None;
        let id = next_id(ids);
        self.targets_req = Some(id);
        vec![Effect::Run {
            id,
            job: Job::Targets { tool },
        }]
    }

    fn start_verify(&mut self, target: String, ids: &mut u64) -> Vec<Effect> {
        if self.target.as_deref() != Some(target.as_str()) {
            self.preview = Preview::default();
        }
        self.target = Some(target.clone());
        self.plan = None;
        self.failure = None;
        self.step = Step::Verify;
        self.verify_ticks = 0;
        let id = next_id(ids);
        self.plan_req = Some(id);
        vec![Effect::Run {
            id,
            job: Job::Plan {
                tool: self.tool.clone().unwrap_or_default(),
                target,
            },
        }]
    }

    fn load_diff_page(&mut self, ids: &mut u64) -> Vec<Effect> {
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

    fn reload_diff(&mut self, ids: &mut u64) -> Vec<Effect> {
        self.preview.items.clear();
        self.preview.nav = ListNav::default();
        self.preview.exhausted = false;
        self.preview.req = None;
        self.preview.error = None;
        self.preview.detail_scroll = 0;
        self.load_diff_page(ids)
    }

    /// The target list, as shown: index of the default target.
    pub fn default_index(&self) -> Option<usize> {
        let t = self.targets.as_ref()?;
        let d = t.default.as_ref()?;
        t.list.iter().position(|s| &s.id == d)
    }

    pub fn handle(&mut self, a: Action, page: usize, ids: &mut u64) -> (Vec<Effect>, Exit) {
        self.note = None;
        let mut fx = Vec::new();
        let exit = match self.step {
            Step::Tool => match a {
                Action::Enter => {
                    if let Some(t) = self.tools.get(self.tool_nav.sel).cloned() {
                        if t.active.is_none() {
                            self.note = Some(format!(
                                "{} has no active snapshot: there is nothing to roll back",
                                t.name
                            ));
                        } else {
                            self.wanted_target = None;
                            fx = self.choose_tool(t.name, ids);
                        }
                    }
                    Exit::Stay
                }
                Action::Back => Exit::Leave(String::new()),
                other => {
                    self.tool_nav.handle(other, self.tools.len(), page);
                    Exit::Stay
                }
            },
            Step::Target => match a {
                Action::Enter => {
                    let chosen = self
                        .targets
                        .as_ref()
                        .and_then(|t| t.list.get(self.target_nav.sel))
                        .map(|s| s.id.clone());
                    if let Some(id) = chosen {
                        fx = self.start_verify(id, ids);
                    }
                    Exit::Stay
                }
                Action::Back => {
                    self.targets_req = None;
                    self.failure = None;
                    self.step = Step::Tool;
                    Exit::Stay
                }
                other => {
                    let n = self.targets.as_ref().map_or(0, |t| t.list.len());
                    self.target_nav.handle(other, n, page);
                    Exit::Stay
                }
            },
            Step::Verify => match a {
                Action::Enter if self.plan.is_some() => {
                    self.step = Step::Preview;
                    if self.preview.items.is_empty() && !self.preview.exhausted {
                        fx = self.reload_diff(ids);
                    }
                    Exit::Stay
                }
                Action::Enter if self.failure.is_some() => {
                    self.failure = None;
                    self.step = Step::Target;
                    Exit::Stay
                }
                Action::Back => {
                    // Cancelling drops the verification's result when it
                    // arrives (the worker finishes its read on its own; it
                    // changes nothing).
                    self.plan_req = None;
                    self.failure = None;
                    self.step = Step::Target;
                    Exit::Stay
                }
                _ => Exit::Stay,
            },
            Step::Preview => {
                match a {
                    Action::Enter => {
                        self.step = Step::Reason;
                    }
                    Action::Back => {
                        // Cancels a page still loading (its result is dropped).
                        self.preview.req = None;
                        self.step = Step::Verify;
                    }
                    Action::CycleChange => {
                        self.preview.filter.change = match self.preview.filter.change {
                            None => Some(Change::Added),
                            Some(Change::Added) => Some(Change::Removed),
                            Some(Change::Removed) => Some(Change::Changed),
                            Some(Change::Changed) => None,
                        };
                        fx = self.reload_diff(ids);
                    }
                    Action::CycleKind => {
                        self.preview.filter.kind = match self.preview.filter.kind {
                            None => Some(RecordKind::Package),
                            Some(RecordKind::Package) => Some(RecordKind::Vulnerability),
                            Some(RecordKind::Vulnerability) => None,
                        };
                        fx = self.reload_diff(ids);
                    }
                    Action::CycleSeverity => {
                        let all = Severity::ALL;
                        self.preview.filter.severity = match self.preview.filter.severity {
                            None => Some(all[0]),
                            Some(s) => all
                                .iter()
                                .position(|x| *x == s)
                                .and_then(|i| all.get(i + 1))
                                .copied(),
                        };
                        fx = self.reload_diff(ids);
                    }
                    Action::ToggleSort => {
                        self.preview.order = match self.preview.order {
                            Order::Grouped => Order::Severity,
                            Order::Severity => Order::Grouped,
                        };
                        self.preview.arrange();
                        self.preview.nav.sel = 0;
                        self.preview.nav.offset = 0;
                    }
                    Action::NextCritical => {
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
                    Action::ClearFilters => {
                        self.preview.order = Order::Grouped;
                        self.preview.filter = ItemFilter::default();
                        fx = self.reload_diff(ids);
                    }
                    Action::NextPane | Action::PrevPane => {
                        self.preview.focus = self.preview.focus.toggle();
                    }
                    Action::Right => self.preview.focus = Pane::Detail,
                    Action::Left => self.preview.focus = Pane::List,
                    other if self.preview.focus == Pane::Detail => match other {
                        Action::Up => {
                            self.preview.detail_scroll =
                                self.preview.detail_scroll.saturating_sub(1)
                        }
                        Action::Down => self.preview.detail_scroll += 1,
                        Action::PageDown => self.preview.detail_scroll += page as u16,
                        Action::PageUp => {
                            self.preview.detail_scroll =
                                self.preview.detail_scroll.saturating_sub(page as u16)
                        }
                        Action::Top => self.preview.detail_scroll = 0,
                        _ => {}
                    },
                    other => {
                        let n = self.preview.items.len();
                        if self.preview.nav.handle(other, n, page) {
                            self.preview.detail_scroll = 0;
                            if self.preview.nav.sel + page >= n {
                                fx = self.load_diff_page(ids);
                            }
                        }
                    }
                }
                Exit::Stay
            }
            Step::Reason => {
                match a {
                    Action::Enter => {
                        if self.reason.value().is_none() {
                            self.note = Some(
                                "a reason is required: say why (it is recorded in the audit trail)"
                                    .into(),
                            );
                        } else {
                            self.confirm = TextField::default();
                            self.confirm_focus = ConfirmFocus::Cancel;
                            self.step = Step::Confirm;
                        }
                    }
                    Action::Back => self.step = Step::Preview,
                    Action::Backspace => self.reason.backspace(),
                    _ => {}
                }
                Exit::Stay
            }
            Step::Confirm if self.moved.is_some() => match a {
                Action::Enter => {
                    // The preview is out of date: reload against the new state.
                    let tool = self.tool.clone().unwrap_or_default();
                    self.wanted_target = self.target.clone();
                    fx = self.choose_tool(tool, ids);
                    Exit::Stay
                }
                Action::Back => {
                    self.step = Step::Reason;
                    Exit::Stay
                }
                _ => Exit::Stay,
            },
            Step::Confirm => match a {
                Action::NextPane | Action::PrevPane | Action::Left | Action::Right => {
                    if self.confirmed() {
                        self.confirm_focus = match self.confirm_focus {
                            ConfirmFocus::Cancel => ConfirmFocus::RollBack,
                            ConfirmFocus::RollBack => ConfirmFocus::Cancel,
                        };
                    } else {
                        self.note = Some(self.confirm_hint());
                    }
                    Exit::Stay
                }
                Action::Backspace => {
                    self.confirm.backspace();
                    self.sync_confirm_focus();
                    Exit::Stay
                }
                Action::Back => {
                    self.step = Step::Reason;
                    Exit::Stay
                }
                Action::Enter => match self.confirm_focus {
                    ConfirmFocus::RollBack if self.confirmed() => {
                        fx = self.execute(ids);
                        Exit::Stay
                    }
                    ConfirmFocus::RollBack => {
                        self.confirm_focus = ConfirmFocus::Cancel;
                        self.note = Some(self.confirm_hint());
                        Exit::Stay
                    }
                    ConfirmFocus::Cancel => {
                        let tool = self.tool.clone().unwrap_or_default();
                        self.reset();
                        Exit::Leave(format!("rollback of {tool} cancelled; nothing was changed"))
                    }
                },
                _ => Exit::Stay,
            },
            Step::Execute => {
                if matches!(a, Action::Back | Action::Enter) {
                    self.note = Some("a running rollback cannot be cancelled: it completes, or undoes itself and changes nothing".into());
                }
                Exit::Stay
            }
            Step::Result => match a {
                Action::Enter | Action::Back => match self.outcome.take() {
                    Some(Ok(r)) => {
                        self.reset();
                        Exit::LeaveChanged(rollback_sentence(&r))
                    }
                    Some(Err(f)) if f.kind == FailKind::Conflict && a == Action::Enter => {
                        let tool = self.tool.clone().unwrap_or_default();
                        self.wanted_target = self.target.clone();
                        fx = self.choose_tool(tool, ids);
                        Exit::Stay
                    }
                    Some(Err(f)) if f.kind == FailKind::Integrity && a == Action::Enter => {
                        let tool = self.tool.clone().unwrap_or_default();
                        fx = self.choose_tool(tool, ids);
                        Exit::Stay
                    }
                    _ => {
                        self.reset();
                        Exit::LeaveChanged(String::new())
                    }
                },
                _ => Exit::Stay,
            },
        };
        (fx, exit)
    }

    /// The text field that has the keyboard (reason, confirmation), if any.
    pub fn field_mut(&mut self) -> Option<&mut TextField> {
        match self.step {
            Step::Reason => Some(&mut self.reason),
            Step::Confirm => Some(&mut self.confirm),
            _ => None,
        }
    }

    /// After an edit: the confirmation's button follows the typed name.
    pub fn edited(&mut self) {
        self.note = None;
        if self.step == Step::Confirm {
            self.sync_confirm_focus();
        }
    }

    /// The typed name is exactly the tool's: only then is [Roll back] enabled.
    pub fn confirmed(&self) -> bool {
        self.tool
            .as_deref()
            .is_some_and(|t| !t.is_empty() && self.confirm.text() == t)
    }

    /// Why [Roll back] is disabled, said where the operator looks.
    pub fn confirm_hint(&self) -> String {
        format!(
            "[ Roll back ] is disabled: type {} exactly to enable it",
            self.tool.as_deref().unwrap_or("the tool name")
        )
    }

    /// Typing the exact name focuses [Roll back]; anything else, Cancel.
    pub fn sync_confirm_focus(&mut self) {
        self.confirm_focus = if self.confirmed() {
            ConfirmFocus::RollBack
        } else {
            ConfirmFocus::Cancel
        };
    }

    /// A refresh saw `tool`'s active snapshot: if it is no longer the one
    /// the preview was computed against, Confirm says so and refuses.
    pub fn active_seen(&mut self, tool: &str, active: Option<&str>) {
        if self.tool.as_deref() != Some(tool)
            || !matches!(
                self.step,
                Step::Verify | Step::Preview | Step::Reason | Step::Confirm
            )
        {
            return;
        }
        let Some(p) = &self.plan else { return };
        if active != Some(p.from.id.as_str()) {
            self.moved = Some(active.unwrap_or("none").to_string());
            self.confirm_focus = ConfirmFocus::Cancel;
        }
    }

    fn execute(&mut self, ids: &mut u64) -> Vec<Effect> {
        // No key path reaches the rollback without the exact name typed.
        if !self.confirmed() || self.moved.is_some() {
            return Vec::new();
        }
        let (Some(tool), Some(plan), Some(reason)) =
            (self.tool.clone(), self.plan.as_ref(), self.reason.value())
        else {
            return Vec::new();
        };
        let id = next_id(ids);
        self.exec_req = Some(id);
        self.step = Step::Execute;
        self.steps = WorkflowStep::ALL
            .iter()
            .map(|s| (*s, StepState::Pending, None))
            .collect();
        vec![Effect::Run {
            id,
            job: Job::Execute {
                tool,
                target: plan.to.id.clone(),
                expected_active: plan.from.id.clone(),
                reason,
            },
        }]
    }

    /// Back to the start, forgetting every choice (after a result).
    pub fn reset(&mut self) {
        let tools = std::mem::take(&mut self.tools);
        let nav = self.tool_nav;
        *self = Wizard::new(tools);
        self.tool_nav = nav;
    }

    /// A job's result or progress (results nobody waits for are dropped).
    pub fn apply(&mut self, id: u64, result: Result<Payload, OpError>) {
        let tool = self.tool.clone().unwrap_or_default();
        if self.targets_req == Some(id) {
            self.targets_req = None;
            match result {
                Ok(Payload::Targets(t)) => {
                    let t = *t;
                    let want = self.wanted_target.take().or_else(|| self.target.clone());
                    let idx = want
                        .and_then(|w| t.list.iter().position(|s| s.id == w))
                        .or_else(|| {
                            t.default
                                .as_ref()
                                .and_then(|d| t.list.iter().position(|s| &s.id == d))
                        })
                        .unwrap_or(0);
                    self.targets = Some(t);
                    self.target_nav = ListNav {
                        sel: idx,
                        offset: 0,
                    };
                    if self.targets.as_ref().is_some_and(|t| t.list.is_empty()) {
                        self.failure = Some(Failure {
                            kind: FailKind::Other,
                            message: format!(
                                "{tool} has no earlier restorable snapshot (previous or archived)"
                            ),
                            next: "Esc: choose another tool".into(),
                        });
                    }
                }
                Ok(_) => {}
                Err(e) => self.failure = Some(Failure::from_error(&e, &tool)),
            }
        } else if self.plan_req == Some(id) {
            self.plan_req = None;
            match result {
                Ok(Payload::Plan(p)) => self.plan = Some(*p),
                Ok(_) => {}
                Err(e) => self.failure = Some(Failure::from_error(&e, &tool)),
            }
        } else if self.preview.req == Some(id) {
            self.preview.req = None;
            match result {
                Ok(Payload::DiffPage(items)) => {
                    if items.len() < DIFF_PAGE {
                        self.preview.exhausted = true;
                    }
                    self.preview.items.extend(items);
                    self.preview.arrange();
                }
                Ok(_) => {}
                Err(e) => {
                    self.preview.error = Some(e.to_string());
                    self.preview.exhausted = true;
                }
            }
        } else if self.exec_req == Some(id) {
            match result {
                Ok(Payload::Step(ev)) => {
                    let (step, state, msg) = match &ev {
                        StepEvent::Started(s) => (*s, StepState::Running, None),
                        StepEvent::Done(s) => (*s, StepState::Done, None),
                        StepEvent::Failed(s, m) => (*s, StepState::Failed, Some(m.clone())),
                    };
                    if let Some(e) = self.steps.iter_mut().find(|e| e.0 == step) {
                        e.1 = state;
                        e.2 = msg;
                    }
                }
                Ok(Payload::Executed(r)) => {
                    self.exec_req = None;
                    self.outcome = Some(Ok(*r));
                    self.step = Step::Result;
                }
                Ok(_) => {}
                Err(e) => {
                    self.exec_req = None;
                    for s in self.steps.iter_mut() {
                        if s.1 == StepState::Running {
                            s.1 = StepState::Failed;
                        }
                    }
                    self.outcome = Some(Err(Failure::from_error(&e, &tool)));
                    self.step = Step::Result;
                }
            }
        }
    }
}

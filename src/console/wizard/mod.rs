//! The rollback wizard: a pure state machine, one screen per step. Esc goes
//! back one step and keeps the choices made (tool, target, filters,
//! reason). Work (loading targets, verifying, diff pages, the rollback
//! itself) is asked for as [`Effect`]s and comes back through [`Wizard::apply`].
//!
//! The keys of each step are in `keys`, the dry-run diff's list in
//! `preview`, and the jobs' results in `apply`.

mod apply;
mod keys;
mod preview;

pub use preview::{detail_lines, Order, Preview};

use super::data::Targets;
use super::jobs::{next_id, Effect, Job};
use super::widgets::{ListNav, TextField};
use crate::cli::suggest;
use crate::ops::rollback::{Plan, Response, Step as WorkflowStep};
use crate::ops::OpError;
use crate::store::StoreError;

/// The wizard's steps, in order (the rollback workflow's own steps are
/// `ops::rollback::Step`, shown while this is `Execute`). A step carries
/// what only it has: the choices made along the way stay on the
/// [`Wizard`], since Esc goes back and keeps them.
#[derive(Clone, Debug)]
pub enum WizardStep {
    Tool,
    Target,
    Verify,
    Preview,
    Reason,
    /// The tool's name as typed, and the button with the focus.
    Confirm(Confirmation),
    /// The rollback under way: its job and the workflow's steps so far.
    Execute {
        req: u64,
        steps: Vec<Progress>,
    },
    /// How it ended (boxed: a response is large), and the workflow's
    /// steps as they ended.
    Result {
        steps: Vec<Progress>,
        outcome: Box<Result<Response, Failure>>,
    },
}

/// One of the workflow's steps as the wizard shows it (its state, and why
/// it failed).
pub type Progress = (WorkflowStep, StepState, Option<String>);

/// What the confirmation step holds.
#[derive(Clone, Debug, Default)]
pub struct Confirmation {
    pub typed: TextField,
    pub focus: ConfirmFocus,
}

impl WizardStep {
    /// The steps' names, in order, for the breadcrumb.
    pub const TITLES: [&'static str; 8] = [
        "Tool", "Target", "Verify", "Dry run", "Reason", "Confirm", "Execute", "Result",
    ];

    /// Where the step is in the order (an index into `TITLES`).
    pub fn index(&self) -> usize {
        match self {
            WizardStep::Tool => 0,
            WizardStep::Target => 1,
            WizardStep::Verify => 2,
            WizardStep::Preview => 3,
            WizardStep::Reason => 4,
            WizardStep::Confirm(_) => 5,
            WizardStep::Execute { .. } => 6,
            WizardStep::Result { .. } => 7,
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
        let message = crate::console::words::say(e);
        let (kind, next) = match e {
            OpError::Integrity(_) => (
                FailKind::Integrity,
                format!(
                    "Nothing was changed. Choose another target (Enter or Esc), and check the store with `{}` and `{}`.",
                    suggest::verify_snapshot_command(),
                    suggest::audit_verify_command()
                ),
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

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ConfirmFocus {
    #[default]
    Cancel,
    RollBack,
}

/// One tool the wizard offers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolChoice {
    pub name: String,
    pub active: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Wizard {
    pub step: WizardStep,
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

impl Default for Wizard {
    fn default() -> Self {
        Wizard::new(Vec::new())
    }
}

impl Wizard {
    pub fn new(tools: Vec<ToolChoice>) -> Wizard {
        Wizard {
            step: WizardStep::Tool,
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
            note: None,
            moved: None,
        }
    }

    /// Whether the wizard is doing something in the background.
    pub fn busy(&self) -> bool {
        self.targets_req.is_some()
            || self.plan_req.is_some()
            || matches!(self.step, WizardStep::Execute { .. })
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
        if matches!(self.step, WizardStep::Execute { .. }) {
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

    pub(super) fn choose_tool(&mut self, tool: String, ids: &mut u64) -> Vec<Effect> {
        if self.tool.as_deref() != Some(tool.as_str()) {
            self.target = None;
            self.target_nav = ListNav::default();
            self.plan = None;
            self.preview = Preview::default();
        }
        self.tool = Some(tool.clone());
        self.failure = None;
        self.note = None;
        self.moved = None;
        self.step = WizardStep::Target;
        self.targets = None;
        let id = next_id(ids);
        self.targets_req = Some(id);
        vec![Effect::Run {
            id,
            job: Job::Targets { tool },
        }]
    }

    pub(super) fn start_verify(&mut self, target: String, ids: &mut u64) -> Vec<Effect> {
        if self.target.as_deref() != Some(target.as_str()) {
            self.preview = Preview::default();
        }
        self.target = Some(target.clone());
        self.plan = None;
        self.failure = None;
        self.step = WizardStep::Verify;
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

    /// The target list, as shown: index of the default target.
    pub fn default_index(&self) -> Option<usize> {
        let t = self.targets.as_ref()?;
        let d = t.default.as_ref()?;
        t.list.iter().position(|s| &s.id == d)
    }

    /// The text field that has the keyboard (reason, confirmation), if any.
    pub fn field_mut(&mut self) -> Option<&mut TextField> {
        match &mut self.step {
            WizardStep::Reason => Some(&mut self.reason),
            WizardStep::Confirm(c) => Some(&mut c.typed),
            _ => None,
        }
    }

    /// After an edit: the confirmation's button follows the typed name.
    pub fn edited(&mut self) {
        self.note = None;
        self.sync_confirm_focus();
    }

    /// The confirmation, on the confirm step.
    pub fn confirmation(&self) -> Option<&Confirmation> {
        match &self.step {
            WizardStep::Confirm(c) => Some(c),
            _ => None,
        }
    }

    fn confirmation_mut(&mut self) -> Option<&mut Confirmation> {
        match &mut self.step {
            WizardStep::Confirm(c) => Some(c),
            _ => None,
        }
    }

    /// The button with the focus (Cancel off the confirm step).
    pub fn confirm_focus(&self) -> ConfirmFocus {
        self.confirmation().map(|c| c.focus).unwrap_or_default()
    }

    /// The workflow's steps, while the rollback runs and after it.
    pub fn steps(&self) -> &[Progress] {
        match &self.step {
            WizardStep::Execute { steps, .. } | WizardStep::Result { steps, .. } => steps,
            _ => &[],
        }
    }

    /// How the rollback ended, on the result step.
    pub fn outcome(&self) -> Option<&Result<Response, Failure>> {
        match &self.step {
            WizardStep::Result { outcome, .. } => Some(outcome.as_ref()),
            _ => None,
        }
    }

    /// The typed name is exactly the tool's: only then is [Roll back] enabled.
    pub fn confirmed(&self) -> bool {
        let typed = self.confirmation().map(|c| c.typed.text());
        self.tool
            .as_deref()
            .is_some_and(|t| !t.is_empty() && typed == Some(t))
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
        let focus = if self.confirmed() {
            ConfirmFocus::RollBack
        } else {
            ConfirmFocus::Cancel
        };
        self.set_confirm_focus(focus);
    }

    pub(super) fn set_confirm_focus(&mut self, focus: ConfirmFocus) {
        if let Some(c) = self.confirmation_mut() {
            c.focus = focus;
        }
    }

    /// A refresh saw `tool`'s active snapshot: if it is no longer the one
    /// the preview was computed against, Confirm says so and refuses.
    pub fn active_seen(&mut self, tool: &str, active: Option<&str>) {
        if self.tool.as_deref() != Some(tool)
            || !matches!(
                self.step,
                WizardStep::Verify
                    | WizardStep::Preview
                    | WizardStep::Reason
                    | WizardStep::Confirm(_)
            )
        {
            return;
        }
        let Some(p) = &self.plan else { return };
        if active != Some(p.from.id.as_str()) {
            self.moved = Some(active.unwrap_or("none").to_string());
            self.set_confirm_focus(ConfirmFocus::Cancel);
        }
    }

    pub(super) fn execute(&mut self, ids: &mut u64) -> Vec<Effect> {
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
        let steps = WorkflowStep::ALL
            .iter()
            .map(|s| (*s, StepState::Pending, None))
            .collect();
        self.step = WizardStep::Execute { req: id, steps };
        vec![Effect::Run {
            id,
            job: Job::Execute {
                tool,
                target: plan.to.id.to_string(),
                expected_active: plan.from.id.to_string(),
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
}

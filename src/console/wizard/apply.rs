//! The wizard's jobs coming back: targets, the verified plan, diff pages,
//! and the rollback's progress and result.

use super::{FailKind, Failure, Progress, StepState, Wizard, WizardStep};
use crate::console::data::Targets;
use crate::console::jobs::{Payload, DIFF_PAGE};
use crate::console::widgets::ListNav;
use crate::ops::diff::DiffItem;
use crate::ops::rollback::{Response, StepEvent};
use crate::ops::OpError;

impl Wizard {
    /// A job's result or progress (results nobody waits for are dropped).
    pub fn apply(&mut self, id: u64, result: Result<Payload, OpError>) {
        let tool = self.tool.clone().unwrap_or_default();
        if self.targets_req == Some(id) {
            self.targets_req = None;
            match result {
                Ok(Payload::Targets(t)) => self.targets_loaded(*t, &tool),
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
            self.diff_page_loaded(result);
        } else if matches!(self.step, WizardStep::Execute { req, .. } if req == id) {
            match result {
                Ok(Payload::Step(ev)) => self.step_event(&ev),
                Ok(Payload::Executed(r)) => self.executed(*r),
                Ok(_) => {}
                Err(e) => self.execution_failed(&e, &tool),
            }
        }
    }

    /// The targets came: select the one asked for, else the default.
    fn targets_loaded(&mut self, t: Targets, tool: &str) {
        let want = self.wanted_target.take().or_else(|| self.target.clone());
        let idx = want
            .and_then(|w| t.list.iter().position(|s| s.id == w))
            .or_else(|| {
                t.default
                    .as_ref()
                    .and_then(|d| t.list.iter().position(|s| &s.id == d))
            })
            .unwrap_or(0);
        let empty = t.list.is_empty();
        self.targets = Some(t);
        self.target_nav = ListNav {
            sel: idx,
            offset: 0,
        };
        if empty {
            self.failure = Some(Failure {
                kind: FailKind::Other,
                message: format!(
                    "{tool} has no earlier restorable snapshot (previous or archived)"
                ),
                next: "Esc: choose another tool".into(),
            });
        }
    }

    fn diff_page_loaded(&mut self, result: Result<Payload, OpError>) {
        match result {
            Ok(Payload::DiffPage(items)) => self.add_diff_rows(items),
            Ok(_) => {}
            Err(e) => {
                self.preview.error = Some(crate::console::words::say(&e));
                self.preview.exhausted = true;
            }
        }
    }

    fn add_diff_rows(&mut self, items: Vec<DiffItem>) {
        if items.len() < DIFF_PAGE {
            self.preview.exhausted = true;
        }
        self.preview.items.extend(items);
        self.preview.arrange();
    }

    fn step_event(&mut self, ev: &StepEvent) {
        let (step, state, msg) = match ev {
            StepEvent::Started(s) => (*s, StepState::Running, None),
            StepEvent::Done(s) => (*s, StepState::Done, None),
            StepEvent::Failed(s, m) => (*s, StepState::Failed, Some(m.clone())),
        };
        if let WizardStep::Execute { steps, .. } = &mut self.step {
            if let Some(e) = steps.iter_mut().find(|e| e.0 == step) {
                e.1 = state;
                e.2 = msg;
            }
        }
    }

    fn executed(&mut self, r: Response) {
        let steps = self.take_steps();
        self.step = WizardStep::Result {
            steps,
            outcome: Box::new(Ok(r)),
        };
    }

    fn execution_failed(&mut self, e: &OpError, tool: &str) {
        let mut steps = self.take_steps();
        for s in steps.iter_mut() {
            if s.1 == StepState::Running {
                s.1 = StepState::Failed;
            }
        }
        self.step = WizardStep::Result {
            steps,
            outcome: Box::new(Err(Failure::from_error(e, tool))),
        };
    }

    /// The running rollback's steps, as it leaves the execute step.
    fn take_steps(&mut self) -> Vec<Progress> {
        match &mut self.step {
            WizardStep::Execute { steps, .. } => std::mem::take(steps),
            _ => Vec::new(),
        }
    }
}

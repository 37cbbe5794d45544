//! The wizard's keys: `handle` hands each action to the function of the
//! step it is on.

use super::{ConfirmFocus, Confirmation, Exit, FailKind, Wizard, WizardStep};
use crate::console::jobs::Effect;
use crate::console::keymap::Action;

/// What a step's key did: the work to start, and where the app goes.
pub(super) type Handled = (Vec<Effect>, Exit);

fn stay() -> Handled {
    (Vec::new(), Exit::Stay)
}

impl Wizard {
    pub fn handle(&mut self, a: Action, page: usize, ids: &mut u64) -> Handled {
        self.note = None;
        match self.step {
            WizardStep::Tool => self.tool_key(a, page, ids),
            WizardStep::Target => self.target_key(a, page, ids),
            WizardStep::Verify => self.verify_key(a, ids),
            WizardStep::Preview => (self.preview_key(a, page, ids), Exit::Stay),
            WizardStep::Reason => self.reason_key(a),
            WizardStep::Confirm(_) if self.moved.is_some() => self.stale_confirm_key(a, ids),
            WizardStep::Confirm(_) => self.confirm_key(a, ids),
            WizardStep::Execute { .. } => {
                if matches!(a, Action::Back | Action::Enter) {
                    self.note = Some("a running rollback cannot be cancelled: it completes, or undoes itself and changes nothing".into());
                }
                stay()
            }
            WizardStep::Result { .. } => self.result_key(a, ids),
        }
    }

    fn tool_key(&mut self, a: Action, page: usize, ids: &mut u64) -> Handled {
        match a {
            Action::Enter => {
                let Some(t) = self.tools.get(self.tool_nav.sel).cloned() else {
                    return stay();
                };
                if t.active.is_none() {
                    self.note = Some(format!(
                        "{} has no active snapshot: there is nothing to roll back",
                        t.name
                    ));
                    return stay();
                }
                self.wanted_target = None;
                (self.choose_tool(t.name, ids), Exit::Stay)
            }
            Action::Back => (Vec::new(), Exit::Leave(String::new())),
            other => {
                self.tool_nav.handle(other, self.tools.len(), page);
                stay()
            }
        }
    }

    fn target_key(&mut self, a: Action, page: usize, ids: &mut u64) -> Handled {
        match a {
            Action::Enter => {
                let chosen = self
                    .targets
                    .as_ref()
                    .and_then(|t| t.list.get(self.target_nav.sel))
                    .map(|s| s.id.to_string());
                match chosen {
                    Some(id) => (self.start_verify(id, ids), Exit::Stay),
                    None => stay(),
                }
            }
            Action::Back => {
                self.targets_req = None;
                self.failure = None;
                self.step = WizardStep::Tool;
                stay()
            }
            other => {
                let n = self.targets.as_ref().map_or(0, |t| t.list.len());
                self.target_nav.handle(other, n, page);
                stay()
            }
        }
    }

    fn verify_key(&mut self, a: Action, ids: &mut u64) -> Handled {
        match a {
            Action::Enter if self.plan.is_some() => {
                self.step = WizardStep::Preview;
                if self.preview.items.is_empty() && !self.preview.exhausted {
                    return (self.reload_diff(ids), Exit::Stay);
                }
            }
            Action::Enter if self.failure.is_some() => {
                self.failure = None;
                self.step = WizardStep::Target;
            }
            Action::Back => {
                // Cancelling drops the verification's result when it
                // arrives (the worker finishes its read on its own; it
                // changes nothing).
                self.plan_req = None;
                self.failure = None;
                self.step = WizardStep::Target;
            }
            _ => {}
        }
        stay()
    }

    fn reason_key(&mut self, a: Action) -> Handled {
        match a {
            Action::Enter if self.reason.value().is_none() => {
                self.note = Some(
                    "a reason is required: say why (it is recorded in the audit trail)".into(),
                );
            }
            Action::Enter => self.step = WizardStep::Confirm(Confirmation::default()),
            Action::Back => self.step = WizardStep::Preview,
            Action::Backspace => self.reason.backspace(),
            _ => {}
        }
        stay()
    }

    /// Confirm after the active snapshot moved: only reload or go back.
    fn stale_confirm_key(&mut self, a: Action, ids: &mut u64) -> Handled {
        match a {
            // The preview is out of date: reload against the new state.
            Action::Enter => (self.retry_target(ids), Exit::Stay),
            Action::Back => {
                self.step = WizardStep::Reason;
                stay()
            }
            _ => stay(),
        }
    }

    fn confirm_key(&mut self, a: Action, ids: &mut u64) -> Handled {
        match a {
            Action::NextPane | Action::PrevPane | Action::Left | Action::Right => {
                if self.confirmed() {
                    let other = match self.confirm_focus() {
                        ConfirmFocus::Cancel => ConfirmFocus::RollBack,
                        ConfirmFocus::RollBack => ConfirmFocus::Cancel,
                    };
                    self.set_confirm_focus(other);
                } else {
                    self.note = Some(self.confirm_hint());
                }
                stay()
            }
            Action::Backspace => {
                if let Some(f) = self.field_mut() {
                    f.backspace();
                }
                self.sync_confirm_focus();
                stay()
            }
            Action::Back => {
                self.step = WizardStep::Reason;
                stay()
            }
            Action::Enter => self.press_confirm_button(ids),
            _ => stay(),
        }
    }

    fn press_confirm_button(&mut self, ids: &mut u64) -> Handled {
        match self.confirm_focus() {
            ConfirmFocus::RollBack if self.confirmed() => (self.execute(ids), Exit::Stay),
            ConfirmFocus::RollBack => {
                self.set_confirm_focus(ConfirmFocus::Cancel);
                self.note = Some(self.confirm_hint());
                stay()
            }
            ConfirmFocus::Cancel => {
                let tool = self.tool.clone().unwrap_or_default();
                self.reset();
                (
                    Vec::new(),
                    Exit::Leave(format!("rollback of {tool} cancelled; nothing was changed")),
                )
            }
        }
    }

    fn result_key(&mut self, a: Action, ids: &mut u64) -> Handled {
        if !matches!(a, Action::Enter | Action::Back) {
            return stay();
        }
        let outcome = match std::mem::replace(&mut self.step, WizardStep::Tool) {
            WizardStep::Result { outcome, .. } => Some(*outcome),
            _ => None,
        };
        match outcome {
            Some(Ok(r)) => {
                self.reset();
                (Vec::new(), Exit::LeaveChanged(r.to_string()))
            }
            Some(Err(f)) if f.kind == FailKind::Conflict && a == Action::Enter => {
                (self.retry_target(ids), Exit::Stay)
            }
            Some(Err(f)) if f.kind == FailKind::Integrity && a == Action::Enter => {
                let tool = self.tool.clone().unwrap_or_default();
                (self.choose_tool(tool, ids), Exit::Stay)
            }
            _ => {
                self.reset();
                (Vec::new(), Exit::LeaveChanged(String::new()))
            }
        }
    }

    /// The targets again, against the store's new state, keeping the
    /// chosen target selected.
    fn retry_target(&mut self, ids: &mut u64) -> Vec<Effect> {
        let tool = self.tool.clone().unwrap_or_default();
        self.wanted_target = self.target.clone();
        self.choose_tool(tool, ids)
    }
}

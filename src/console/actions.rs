//! Governance actions from the console, each a small dialog (a pure state
//! machine like the wizard): expire a snapshot, add or remove a retention
//! hold, preview and run retention, write an audit checkpoint and verify
//! the chain against it. Each submits one [`Job`] that calls the same `ops`
//! function as the CLI (so it is audited the same way); a refused one
//! changes nothing and its error sits beside the field it is about.

use super::jobs::{next_id, Effect, Job, Payload};
use super::keymap::Action;
use super::widgets::TextField;
use crate::domain::time::{parse_duration, parse_ts};
use crate::ops::retention::RunReport;
use crate::ops::OpError;
use chrono::{DateTime, Utc};
use std::path::PathBuf;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Expire a snapshot: its data is withdrawn (typed tool name).
    Expire {
        id: String,
        tool: String,
    },
    HoldAdd {
        id: String,
    },
    HoldRemove {
        id: String,
    },
    /// Preview retention first, then run it (typed `run`).
    RetentionRun,
    Checkpoint,
}

impl Kind {
    pub fn title(&self) -> String {
        match self {
            Kind::Expire { id, .. } => format!("Expire {id}"),
            Kind::HoldAdd { id } => format!("Hold {id} against retention"),
            Kind::HoldRemove { id } => format!("Remove the retention hold on {id}"),
            Kind::RetentionRun => "Run retention".into(),
            Kind::Checkpoint => "Write an audit checkpoint and verify the chain".into(),
        }
    }

    /// What the action does, said before it is done.
    pub fn consequence(&self) -> String {
        match self {
            Kind::Expire { tool, .. } => format!(
                "Its records are withdrawn; if it is {tool}'s active snapshot, {tool} has no data until a new import or a rollback. Recorded in the audit trail."
            ),
            Kind::HoldAdd { .. } => "Retention will neither archive nor delete it until the hold ends. Recorded in the audit trail.".into(),
            Kind::HoldRemove { .. } => "Retention may then archive or delete it. Recorded in the audit trail.".into(),
            Kind::RetentionRun => "Archives and deletes what the policy says (below). Recorded in the audit trail.".into(),
            Kind::Checkpoint => "Writes the chain's head to a file kept apart from the store; verifying against it later detects a truncated trail.".into(),
        }
    }

    /// The fields, in order.
    fn labels(&self) -> &'static [&'static str] {
        match self {
            Kind::Expire { .. } => &["reason", "confirm"],
            Kind::HoldAdd { .. } => &["reason", "until"],
            Kind::HoldRemove { .. } => &[],
            Kind::RetentionRun => &["confirm"],
            Kind::Checkpoint => &["file"],
        }
    }
}

#[derive(Clone, Debug)]
pub struct Dialog {
    pub kind: Kind,
    pub fields: Vec<(&'static str, TextField)>,
    pub focus: usize,
    /// The error and the field it is about (None: the dialog as a whole).
    pub error: Option<(Option<usize>, String)>,
    pub req: Option<u64>,
    /// Retention's dry run, shown before it runs.
    pub preview: Option<RunReport>,
    pub preview_req: Option<u64>,
}

/// What a dialog tells the app besides effects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Stay,
    Cancelled,
    /// Done: the sentence to show; the store changed.
    Done(String),
}

impl Dialog {
    pub fn new(kind: Kind, ids: &mut u64) -> (Dialog, Vec<Effect>) {
        let fields = kind
            .labels()
            .iter()
            .map(|l| {
                let init = match *l {
                    "until" => "P30D",
                    "file" => "snapgov-checkpoint.json",
                    _ => "",
                };
                (*l, TextField::with(init))
            })
            .collect();
        let mut d = Dialog {
            kind,
            fields,
            focus: 0,
            error: None,
            req: None,
            preview: None,
            preview_req: None,
        };
        let mut fx = Vec::new();
        if d.kind == Kind::RetentionRun {
            let id = next_id(ids);
            d.preview_req = Some(id);
            fx.push(Effect::Run {
                id,
                job: Job::RetentionRun { dry_run: true },
            });
        }
        (d, fx)
    }

    pub fn busy(&self) -> bool {
        self.req.is_some() || self.preview_req.is_some()
    }

    /// The word the confirm field wants.
    pub fn confirm_word(&self) -> Option<&str> {
        match &self.kind {
            Kind::Expire { tool, .. } => Some(tool),
            Kind::RetentionRun => Some("run"),
            _ => None,
        }
    }

    pub fn field_mut(&mut self) -> Option<&mut TextField> {
        self.error = None;
        let f = self.focus;
        self.fields.get_mut(f).map(|(_, t)| t)
    }

    fn field(&self, name: &str) -> Option<&TextField> {
        self.fields.iter().find(|(l, _)| *l == name).map(|(_, t)| t)
    }

    fn index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|(l, _)| *l == name)
    }

    pub fn handle(
        &mut self,
        a: Action,
        now: DateTime<Utc>,
        ids: &mut u64,
    ) -> (Vec<Effect>, Outcome) {
        if self.req.is_some() {
            // Running: it completes or fails on its own.
            return (Vec::new(), Outcome::Stay);
        }
        let n = self.fields.len().max(1);
        match a {
            Action::Back => return (Vec::new(), Outcome::Cancelled),
            Action::Down | Action::NextPane => self.focus = (self.focus + 1) % n,
            Action::Up | Action::PrevPane => self.focus = (self.focus + n - 1) % n,
            Action::Backspace => {
                if let Some(f) = self.field_mut() {
                    f.backspace();
                }
            }
            Action::Enter => match self.job(now) {
                Ok(job) => {
                    let id = next_id(ids);
                    self.req = Some(id);
                    return (vec![Effect::Run { id, job }], Outcome::Stay);
                }
                Err((field, msg)) => {
                    if let Some(f) = field {
                        self.focus = f;
                    }
                    self.error = Some((field, msg));
                }
            },
            _ => {}
        }
        (Vec::new(), Outcome::Stay)
    }

    /// The job the dialog submits, or what is missing (and where).
    fn job(&self, now: DateTime<Utc>) -> Result<Job, (Option<usize>, String)> {
        let reason = || -> Result<String, (Option<usize>, String)> {
            self.field("reason").and_then(|f| f.value()).ok_or((
                self.index("reason"),
                "a reason is required: it goes into the audit trail".into(),
            ))
        };
        // Fields are checked in the order they are shown.
        if self.index("reason").is_some() {
            reason()?;
        }
        if let Some(word) = self.confirm_word() {
            let typed = self.field("confirm").map(|f| f.text()).unwrap_or("");
            if typed != word {
                return Err((
                    self.index("confirm"),
                    format!("type {word} exactly to confirm"),
                ));
            }
        }
        Ok(match &self.kind {
            Kind::Expire { id, .. } => Job::Expire {
                id: id.clone(),
                reason: reason()?,
            },
            Kind::HoldAdd { id } => {
                let reason = reason()?;
                let at = self.index("until");
                let text = self.field("until").and_then(|f| f.value()).ok_or((
                    at,
                    "until: when the hold ends, RFC 3339 or a duration from now (P30D)".to_string(),
                ))?;
                let until = if text.starts_with(['P', 'p']) {
                    parse_duration(&text.to_uppercase())
                        .map(|d| now + d)
                        .map_err(|m| (at, format!("until: {m}")))?
                } else {
                    parse_ts(&text).map_err(|m| (at, format!("until: {m}")))?
                };
                if until <= now {
                    return Err((at, "until: the hold must end in the future".into()));
                }
                Job::HoldAdd {
                    id: id.clone(),
                    reason,
                    until,
                }
            }
            Kind::HoldRemove { id } => Job::HoldRemove { id: id.clone() },
            Kind::RetentionRun => {
                if self.preview.is_none() {
                    return Err((None, "the dry run is still loading; wait for it".into()));
                }
                Job::RetentionRun { dry_run: false }
            }
            Kind::Checkpoint => {
                let path = self.field("file").and_then(|f| f.value()).ok_or((
                    self.index("file"),
                    "file: where to write the checkpoint".to_string(),
                ))?;
                Job::Checkpoint {
                    path: PathBuf::from(path),
                }
            }
        })
    }

    /// A job's result. Returns the outcome when the dialog's own job ends.
    pub fn apply(&mut self, id: u64, result: Result<Payload, OpError>) -> Option<Outcome> {
        if self.preview_req == Some(id) {
            self.preview_req = None;
            match result {
                Ok(Payload::RetentionRun(r)) => self.preview = Some(*r),
                Ok(_) => {}
                Err(e) => self.error = Some((None, crate::console::words::say(&e))),
            }
            return Some(Outcome::Stay);
        }
        if self.req != Some(id) {
            return None;
        }
        self.req = None;
        Some(match result {
            Ok(Payload::Done(sentence)) => Outcome::Done(sentence),
            Ok(Payload::RetentionRun(r)) => Outcome::Done(format!(
                "retention ran: archived {}, deleted {} ({} stored records freed)",
                r.archived.len(),
                r.deleted.len(),
                r.records_freed
            )),
            Ok(_) => Outcome::Stay,
            Err(e) => {
                // Nothing changed (each workflow is one transaction).
                self.error = Some((
                    None,
                    format!("{} — nothing was changed", crate::console::words::say(&e)),
                ));
                Outcome::Stay
            }
        })
    }
}

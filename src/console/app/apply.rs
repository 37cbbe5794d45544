//! The clock's ticks and the workers' results.

use super::{App, Level};
use crate::console::actions::Outcome;
use crate::console::audit::Chain;
use crate::console::data::Overview;
use crate::console::jobs::{Effect, Job, Msg, Payload};
use crate::ops::OpError;

impl App {
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
            return self.dialog_result(id, result);
        }
        if self.poll_req == Some(id) {
            self.poll_req = None;
            return self.fingerprint_result(result);
        }
        if self.overview_req == Some(id) {
            self.overview_req = None;
            match result {
                Ok(Payload::Overview(o)) => return self.overview_loaded(*o),
                Ok(_) => {}
                Err(e) => self.load_error = Some(crate::console::words::say(&e)),
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
                Err(e) => self.retention_error = Some(crate::console::words::say(&e)),
            }
            return Vec::new();
        }
        if self.snapshots.as_ref().is_some_and(|l| l.req == Some(id)) {
            self.snapshots_result(result);
            return Vec::new();
        }
        let audit_owns = self.audit.req.is_some_and(|(r, _)| r == id) || self.checking(id);
        if audit_owns {
            self.audit_result(id, result);
            return Vec::new();
        }
        self.wizard.apply(id, result);
        Vec::new()
    }

    fn dialog_result(&mut self, id: u64, result: Result<Payload, OpError>) -> Vec<Effect> {
        let out = self.dialog.as_mut().and_then(|d| d.apply(id, result));
        if let Some(Outcome::Done(sentence)) = out {
            self.dialog = None;
            self.flash = Some((sentence, Level::Info));
            return self.reload_all();
        }
        Vec::new()
    }

    /// The store's fingerprint: another process wrote if it changed.
    fn fingerprint_result(&mut self, result: Result<Payload, OpError>) -> Vec<Effect> {
        if let Ok(Payload::Fingerprint(f)) = result {
            let changed = self.overview.as_ref().is_none_or(|o| o.fingerprint != f);
            if changed {
                return self.reload_all();
            }
        }
        Vec::new()
    }

    fn overview_loaded(&mut self, o: Overview) -> Vec<Effect> {
        let cur = self.selected_tool();
        let changed = self
            .overview
            .as_ref()
            .is_some_and(|old| old.fingerprint != o.fingerprint);
        let old = self.overview.replace(o);
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
            return self.reload_others(false);
        }
        Vec::new()
    }

    fn snapshots_result(&mut self, result: Result<Payload, OpError>) {
        let Some(list) = self.snapshots.as_mut() else {
            return;
        };
        list.req = None;
        match result {
            Ok(Payload::Snapshots(page)) => list.add_page(page),
            Ok(_) => {}
            Err(e) => list.error = Some(crate::console::words::say(&e)),
        }
    }

    /// A chain check that `id` is.
    fn checking(&self, id: u64) -> bool {
        matches!(self.audit.chain, Chain::Checking(c) if c == id)
    }

    fn audit_result(&mut self, id: u64, result: Result<Payload, OpError>) {
        let was_check = self.checking(id);
        self.audit.apply(id, result);
        if was_check && std::mem::take(&mut self.verify_asked) {
            let (text, good) = crate::console::audit::badge_text(&self.audit.chain);
            let level = if good == Some(false) {
                Level::Error
            } else {
                Level::Info
            };
            self.toast(format!("verification finished: {text}"), level);
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
                            crate::console::widgets::escape(&s.metadata.import_user)
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
}

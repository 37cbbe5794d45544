//! `/metrics` in the Prometheus text format (version 0.0.4).
//!
//! Gauges are read from the store at scrape time (so they hold whoever made
//! the change: this server, the CLI or the console); counters count what
//! this server process did since it started, as Prometheus counters do.

use crate::domain::freshness::Freshness;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::fmt::{Display, Write};
use std::sync::Mutex;

type Labels = Vec<(&'static str, String)>;

/// Counter families: name and help.
const COUNTERS: &[(&str, &str)] = &[
    (
        "snapgov_imports_total",
        "Imports through this server, by tool and result (ok, rejected, error).",
    ),
    (
        "snapgov_rollbacks_total",
        "Rollbacks through this server (dry runs excluded), by tool and result (ok, failed, conflict, error).",
    ),
    (
        "snapgov_sla_transitions_total",
        "Freshness level changes the scheduler saw, by tool and the level reached.",
    ),
    (
        "snapgov_scheduler_runs_total",
        "Scheduled work, by task (retention, sla_check, audit_verify) and result (ok, error, done_elsewhere: another serve on the store did it).",
    ),
];

/// The audit chain's state at its last verification.
#[derive(Clone, Debug)]
pub struct AuditStatus {
    pub ok: bool,
    pub records: u64,
    pub at: DateTime<Utc>,
}

pub use crate::ops::sla::ToolGauges;

#[derive(Default)]
pub struct Metrics {
    counters: Mutex<BTreeMap<(&'static str, Labels), u64>>,
    audit: Mutex<Option<AuditStatus>>,
}

fn esc(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn labels(l: &[(&str, String)]) -> String {
    if l.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = l
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", esc(v)))
        .collect();
    format!("{{{}}}", parts.join(","))
}

impl Metrics {
    /// Adds one to a counter.
    pub fn inc(&self, family: &'static str, l: &[(&'static str, &str)]) {
        debug_assert!(COUNTERS.iter().any(|(n, _)| *n == family), "{family}");
        let key = (family, l.iter().map(|(k, v)| (*k, v.to_string())).collect());
        *self
            .counters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key)
            .or_default() += 1;
    }

    /// A counter's value (tests).
    pub fn get(&self, family: &'static str, l: &[(&'static str, &str)]) -> u64 {
        let key = (family, l.iter().map(|(k, v)| (*k, v.to_string())).collect());
        self.counters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .copied()
            .unwrap_or(0)
    }

    pub fn set_audit(&self, s: AuditStatus) {
        *self.audit.lock().unwrap_or_else(|e| e.into_inner()) = Some(s);
    }

    /// The exposition text.
    pub fn render(&self, tools: &[ToolGauges], snapshots_total: u64) -> String {
        let mut o = String::new();
        per_tool(
            &mut o,
            tools,
            (
                "snapgov_snapshot_age_seconds",
                "Age of each tool's active snapshot (now - importedAt).",
            ),
            |t| t.status.assessment.map(|a| a.age.num_seconds()),
        );
        freshness_states(&mut o, tools);
        per_tool(
            &mut o,
            tools,
            (
                "snapgov_freshness_overdue",
                "1 when a tool's stale data is past the stale threshold (the warning escalated).",
            ),
            |t| Some(u8::from(t.status.assessment.is_some_and(|a| a.overdue))),
        );
        per_tool(
            &mut o,
            tools,
            (
                "snapgov_active_records",
                "Record count of each tool's active snapshot.",
            ),
            |t| t.status.snapshot.as_ref().map(|s| s.record_count),
        );
        per_tool(
            &mut o,
            tools,
            (
                "snapgov_last_import_timestamp_seconds",
                "importedAt of each tool's newest successful import (Unix time).",
            ),
            |t| t.last_import.map(|at| at.timestamp()),
        );
        gauge(
            &mut o,
            (
                "snapgov_snapshots",
                "Snapshot rows in the store (every state, tombstones included).",
            ),
            Some(snapshots_total),
        );
        self.render_counters(&mut o);
        self.render_audit(&mut o);
        o
    }

    fn render_counters(&self, o: &mut String) {
        let counters = self
            .counters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for (name, help) in COUNTERS {
            family(o, name, "counter", help);
            for ((n, l), v) in &counters {
                if n == name {
                    let _ = writeln!(o, "{name}{} {v}", labels(l));
                }
            }
        }
    }

    /// The audit chain's gauges: absent before the first check.
    fn render_audit(&self, o: &mut String) {
        let audit = self.audit.lock().unwrap_or_else(|e| e.into_inner()).clone();
        gauge(
            o,
            ("snapgov_audit_chain_ok", "1 if the audit hash chain verified at its last check, 0 if it failed (absent before the first check)."),
            audit.as_ref().map(|a| u8::from(a.ok)),
        );
        gauge(
            o,
            (
                "snapgov_audit_chain_records",
                "Audit records checked at the last verification.",
            ),
            audit.as_ref().map(|a| a.records),
        );
        gauge(
            o,
            (
                "snapgov_audit_chain_verified_timestamp_seconds",
                "When the audit chain was last verified (Unix time).",
            ),
            audit.as_ref().map(|a| a.at.timestamp()),
        );
    }
}

/// A family's `# HELP` and `# TYPE` lines.
fn family(o: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(o, "# HELP {name} {help}");
    let _ = writeln!(o, "# TYPE {name} {kind}");
}

/// An unlabelled gauge `(name, help)` and its sample, if it has one.
fn gauge(o: &mut String, (name, help): (&str, &str), value: Option<impl Display>) {
    family(o, name, "gauge", help);
    if let Some(v) = value {
        let _ = writeln!(o, "{name} {v}");
    }
}

/// A gauge `(name, help)` with one sample a tool, for the tools `value`
/// has one for.
fn per_tool<V: Display>(
    o: &mut String,
    tools: &[ToolGauges],
    (name, help): (&str, &str),
    value: impl Fn(&ToolGauges) -> Option<V>,
) {
    family(o, name, "gauge", help);
    for t in tools {
        if let Some(v) = value(t) {
            let _ = writeln!(o, "{name}{} {v}", labels(&tool_label(t)));
        }
    }
}

fn tool_label(t: &ToolGauges) -> Labels {
    vec![("tool", t.status.tool.clone())]
}

/// 1 for the state each tool's freshness is in, 0 for the others.
fn freshness_states(o: &mut String, tools: &[ToolGauges]) {
    let name = "snapgov_freshness_state";
    family(
        o,
        name,
        "gauge",
        "1 for the freshness state each tool's active snapshot is in (fresh, stale, critical, expired), 0 for the others.",
    );
    for t in tools {
        let cur = t.status.assessment.map(|a| a.state);
        for s in Freshness::ALL {
            let mut l = tool_label(t);
            l.push(("state", s.as_str().to_string()));
            let _ = writeln!(o, "{name}{} {}", labels(&l), u8::from(cur == Some(s)));
        }
    }
}

//! `/metrics` in the Prometheus text format (version 0.0.4).
//!
//! Gauges are read from the store at scrape time (so they hold whoever made
//! the change: this server, the CLI or the console); counters count what
//! this server process did since it started, as Prometheus counters do.

use crate::domain::freshness::Freshness;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::fmt::Write;
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
        "Scheduled work, by task (retention, sla_check, audit_verify) and result (ok, error).",
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
        let family = |o: &mut String, name: &str, kind: &str, help: &str| {
            let _ = writeln!(o, "# HELP {name} {help}");
            let _ = writeln!(o, "# TYPE {name} {kind}");
        };
        let tool = |t: &ToolGauges| vec![("tool", t.status.tool.clone())];

        family(
            &mut o,
            "snapgov_snapshot_age_seconds",
            "gauge",
            "Age of each tool's active snapshot (now - importedAt).",
        );
        for t in tools {
            if let Some(a) = t.status.assessment {
                let _ = writeln!(
                    o,
                    "snapgov_snapshot_age_seconds{} {}",
                    labels(&tool(t)),
                    a.age.num_seconds()
                );
            }
        }
        family(
            &mut o,
            "snapgov_freshness_state",
            "gauge",
            "1 for the freshness state each tool's active snapshot is in (fresh, stale, critical, expired), 0 for the others.",
        );
        for t in tools {
            let cur = t.status.assessment.map(|a| a.state);
            for s in Freshness::ALL {
                let mut l = tool(t);
                l.push(("state", s.as_str().to_string()));
                let _ = writeln!(
                    o,
                    "snapgov_freshness_state{} {}",
                    labels(&l),
                    u8::from(cur == Some(s))
                );
            }
        }
        family(
            &mut o,
            "snapgov_freshness_overdue",
            "gauge",
            "1 when a tool's stale data is past the stale threshold (the warning escalated).",
        );
        for t in tools {
            let overdue = t.status.assessment.is_some_and(|a| a.overdue);
            let _ = writeln!(
                o,
                "snapgov_freshness_overdue{} {}",
                labels(&tool(t)),
                u8::from(overdue)
            );
        }
        family(
            &mut o,
            "snapgov_active_records",
            "gauge",
            "Record count of each tool's active snapshot.",
        );
        for t in tools {
            if let Some(s) = &t.status.snapshot {
                let _ = writeln!(
                    o,
                    "snapgov_active_records{} {}",
                    labels(&tool(t)),
                    s.record_count
                );
            }
        }
        family(
            &mut o,
            "snapgov_last_import_timestamp_seconds",
            "gauge",
            "importedAt of each tool's newest successful import (Unix time).",
        );
        for t in tools {
            if let Some(at) = t.last_import {
                let _ = writeln!(
                    o,
                    "snapgov_last_import_timestamp_seconds{} {}",
                    labels(&tool(t)),
                    at.timestamp()
                );
            }
        }
        family(
            &mut o,
            "snapgov_snapshots",
            "gauge",
            "Snapshot rows in the store (every state, tombstones included).",
        );
        let _ = writeln!(o, "snapgov_snapshots {snapshots_total}");

        let counters = self
            .counters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for (name, help) in COUNTERS {
            family(&mut o, name, "counter", help);
            for ((n, l), v) in &counters {
                if n == name {
                    let _ = writeln!(o, "{name}{} {v}", labels(l));
                }
            }
        }

        let audit = self.audit.lock().unwrap_or_else(|e| e.into_inner()).clone();
        family(
            &mut o,
            "snapgov_audit_chain_ok",
            "gauge",
            "1 if the audit hash chain verified at its last check, 0 if it failed (absent before the first check).",
        );
        if let Some(a) = &audit {
            let _ = writeln!(o, "snapgov_audit_chain_ok {}", u8::from(a.ok));
        }
        family(
            &mut o,
            "snapgov_audit_chain_records",
            "gauge",
            "Audit records checked at the last verification.",
        );
        if let Some(a) = &audit {
            let _ = writeln!(o, "snapgov_audit_chain_records {}", a.records);
        }
        family(
            &mut o,
            "snapgov_audit_chain_verified_timestamp_seconds",
            "gauge",
            "When the audit chain was last verified (Unix time).",
        );
        if let Some(a) = &audit {
            let _ = writeln!(
                o,
                "snapgov_audit_chain_verified_timestamp_seconds {}",
                a.at.timestamp()
            );
        }
        o
    }
}

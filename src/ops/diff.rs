//! Record-level differences between two snapshots (or a tool's active data
//! and a snapshot), computed in the store by merging both sides' identity
//! keys in order: neither side is loaded into memory.

use super::{OpError, Result};
use crate::domain::record::{NormalizedRecord, RecordKind, Severity};
use crate::domain::snapshot::SnapshotState;
use crate::store::prelude::*;
use crate::store::{ContentHashes, DiffEntry, DiffSide, Result as StoreResult};
use serde::Serialize;
use std::collections::BTreeMap;

/// A tool's active data as one side of a diff.
pub fn active_side(r: &impl Queries, tool: &str) -> Result<DiffSide> {
    let key = r
        .tool_key_of(tool)?
        .ok_or_else(|| OpError::not_found(format!("{tool} is not a known tool")))?;
    Ok(DiffSide::Active(key))
}

/// A snapshot's records as one side of a diff. Only a snapshot that still
/// has records (restorable, or expired) can be compared.
pub fn snapshot_side(r: &impl Queries, id: &str) -> Result<DiffSide> {
    let (s, pk) = super::snapshots::get_with_key(r, id)?;
    if !s.state.is_restorable() && s.state != SnapshotState::Expired {
        return Err(OpError::invalid(format!(
            "{id} is {}: it has no records to compare",
            s.state
        )));
    }
    Ok(DiffSide::Snapshot(pk))
}

/// The record-level differences between two snapshots (`snapgov ingest
/// diff`), in one read transaction.
pub fn between(
    store: &mut crate::store::Store,
    from: &str,
    to: &str,
    sample: usize,
) -> Result<DiffSummary> {
    store.read(|r| -> Result<DiffSummary> {
        let a = snapshot_side(r, from)?;
        let b = snapshot_side(r, to)?;
        diff(r, (a, from), (b, to), sample)
    })
}

/// Counts of one group (added, removed or changed).
#[derive(Serialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    pub total: u64,
    pub packages: u64,
    pub vulnerabilities: u64,
    /// Findings by severity (lower-case word → count).
    pub by_severity: BTreeMap<String, u64>,
}

impl Counts {
    fn add(&mut self, kind: &str, severity: Option<&str>) {
        self.total += 1;
        if kind == "vulnerability" {
            self.vulnerabilities += 1;
            *self
                .by_severity
                .entry(severity.unwrap_or("unknown").to_string())
                .or_default() += 1;
        } else {
            self.packages += 1;
        }
    }

    /// "3 critical and 12 high findings", worst first; `None` if no findings.
    pub fn findings_phrase(&self) -> Option<String> {
        let parts: Vec<String> = Severity::ALL
            .iter()
            .filter_map(|s| self.by_severity.get(s.as_str()).map(|n| format!("{n} {s}")))
            .collect();
        match parts.len() {
            0 => None,
            1 => Some(format!(
                "{} finding{}",
                parts[0],
                if self.vulnerabilities == 1 { "" } else { "s" }
            )),
            _ => {
                let (last, rest) = parts.split_last().expect("two or more");
                Some(format!("{} and {last} findings", rest.join(", ")))
            }
        }
    }
}

#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Added,
    Removed,
    Changed,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Removed => "removed",
            Change::Changed => "changed",
        }
    }
}

/// One differing record, as shown in a preview.
#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DiffItem {
    pub change: Change,
    pub identity: String,
    pub kind: RecordKind,
    pub severity: Option<Severity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<serde_json::Value>,
}

/// The diff summary: what applying `to` over `from` adds, removes and changes.
#[derive(Serialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DiffSummary {
    pub from: String,
    pub to: String,
    pub added: Counts,
    pub removed: Counts,
    pub changed: Counts,
    /// The first records of each group (up to the sample size each).
    pub samples: Vec<DiffItem>,
}

impl DiffSummary {
    pub fn total(&self) -> u64 {
        self.added.total + self.removed.total + self.changed.total
    }

    /// One sentence an operator reads before deciding.
    pub fn headline(&self, verb: &str) -> String {
        let mut s = format!(
            "{} records added, {} removed, {} changed",
            self.added.total, self.removed.total, self.changed.total
        );
        if let Some(p) = self.added.findings_phrase() {
            s.push_str(&format!("; {verb} re-introduces {p}"));
        }
        if let Some(p) = self.removed.findings_phrase() {
            s.push_str(&format!("; it drops {p}"));
        }
        s
    }
}

fn item(
    store: &impl Queries,
    change: Change,
    old: Option<i64>,
    new: Option<i64>,
) -> Result<DiffItem> {
    let parse = |id: i64| -> Result<serde_json::Value> {
        let body = store.record_body(id)?;
        serde_json::from_str(&body)
            .map_err(|e| OpError::integrity(format!("stored record {id} does not parse: {e}")))
    };
    let old_v = old.map(parse).transpose()?;
    let new_v = new.map(parse).transpose()?;
    let shown = new_v.as_ref().or(old_v.as_ref()).expect("one side exists");
    let rec: NormalizedRecord = serde_json::from_value(shown.clone())
        .map_err(|e| OpError::integrity(format!("stored record does not parse: {e}")))?;
    Ok(DiffItem {
        change,
        identity: rec.identity(),
        kind: rec.kind,
        severity: rec.severity(),
        old: old_v,
        new: new_v,
    })
}

/// Diffs two sides. `sample` is how many records of each group to include.
pub fn diff(
    store: &impl Queries,
    from: (DiffSide, &str),
    to: (DiffSide, &str),
    sample: usize,
) -> Result<DiffSummary> {
    summarize(store, (from.1, to.1), sample, |f| {
        store.diff_meta(from.0, to.0, f)
    })
}

/// [`diff`] to a side a verification read in this transaction (the dry
/// run's target): its members are not read again.
pub fn diff_to_verified(
    store: &impl Queries,
    from: (DiffSide, &str),
    to: (&ContentHashes, &str),
    sample: usize,
) -> Result<DiffSummary> {
    summarize(store, (from.1, to.1), sample, |f| {
        store.diff_meta_verified(from.0, to.0, f)
    })
}

/// What each change handed to `f` by `entries` adds up to.
fn summarize<Q: Queries>(
    store: &Q,
    (from, to): (&str, &str),
    sample: usize,
    entries: impl FnOnce(
        &mut dyn FnMut(DiffEntry, &str, Option<&str>) -> StoreResult<()>,
    ) -> StoreResult<()>,
) -> Result<DiffSummary> {
    let mut s = DiffSummary {
        from: from.to_string(),
        to: to.to_string(),
        ..Default::default()
    };
    // The first record ids (old, new) of each group, for the samples.
    type Firsts = BTreeMap<Change, Vec<(Option<i64>, Option<i64>)>>;
    let mut firsts: Firsts = BTreeMap::new();
    entries(&mut |e, kind, sev| {
        let change = match (e.old, e.new) {
            (None, Some(_)) => Change::Added,
            (Some(_), None) => Change::Removed,
            (Some(_), Some(_)) => Change::Changed,
            (None, None) => return Ok(()),
        };
        let c = match change {
            Change::Added => &mut s.added,
            Change::Removed => &mut s.removed,
            Change::Changed => &mut s.changed,
        };
        c.add(kind, sev);
        let v = firsts.entry(change).or_default();
        if v.len() < sample {
            v.push((e.old, e.new));
        }
        Ok(())
    })?;
    for (change, pairs) in firsts {
        for (o, n) in pairs {
            s.samples.push(item(store, change, o, n)?);
        }
    }
    Ok(s)
}

/// Filters for listing diff items page by page (the console's list).
#[derive(Clone, Debug, Default)]
pub struct ItemFilter {
    pub change: Option<Change>,
    pub kind: Option<RecordKind>,
    /// Findings of this severity only.
    pub severity: Option<Severity>,
    /// Case-insensitive text in the identity.
    pub text: Option<String>,
}

/// All differing records matching `filter`, skipping `offset`, at most `limit`.
pub fn items(
    store: &impl Queries,
    from: DiffSide,
    to: DiffSide,
    filter: &ItemFilter,
    offset: usize,
    limit: usize,
) -> Result<Vec<DiffItem>> {
    let mut out = Vec::new();
    let mut seen = 0usize;
    let text = filter.text.as_ref().map(|t| t.to_lowercase());
    let mut done = false;
    store.diff_meta(from, to, |e, kind, sev| {
        if done {
            return Ok(());
        }
        let change = match (e.old, e.new) {
            (None, Some(_)) => Change::Added,
            (Some(_), None) => Change::Removed,
            _ => Change::Changed,
        };
        if filter.change.is_some_and(|c| c != change) {
            return Ok(());
        }
        if filter.kind.is_some_and(|k| k.as_str() != kind)
            || filter.severity.is_some_and(|s| Some(s.as_str()) != sev)
        {
            return Ok(());
        }
        let it = item(store, change, e.old, e.new)
            .map_err(|e| crate::store::StoreError::Corrupt(e.to_string()))?;
        if let Some(t) = &text {
            if !it.identity.to_lowercase().contains(t) {
                return Ok(());
            }
        }
        if seen >= offset {
            out.push(it);
            if out.len() >= limit {
                done = true;
            }
        }
        seen += 1;
        Ok(())
    })?;
    Ok(out)
}

/// "version 1.2 → 1.3" for each top-level field that differs.
pub fn changed_fields(o: &serde_json::Value, n: &serde_json::Value) -> Vec<String> {
    let (Some(o), Some(n)) = (o.as_object(), n.as_object()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (k, nv) in n {
        let ov = o.get(k).unwrap_or(&serde_json::Value::Null);
        if ov != nv {
            if let (Some(oo), Some(no)) = (ov.as_object(), nv.as_object()) {
                for (k2, nv2) in no {
                    let ov2 = oo.get(k2).unwrap_or(&serde_json::Value::Null);
                    if ov2 != nv2 {
                        out.push(format!("{k}.{k2} {} → {}", short(ov2), short(nv2)));
                    }
                }
            } else {
                out.push(format!("{k} {} → {}", short(ov), short(nv)));
            }
        }
    }
    out
}

fn short(v: &serde_json::Value) -> String {
    let s = match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(39).collect::<String>())
    } else {
        s
    }
}

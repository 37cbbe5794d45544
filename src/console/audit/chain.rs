//! The audit chain's status, as its check reports it and its badge says it.

use crate::console::jobs::Payload;
use crate::ops::OpError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Chain {
    NotChecked,
    Checking(u64),
    Verified { head: Option<String>, records: u64 },
    Broken { at: String, problem: String },
    Failed(String),
}

/// The chain badge's text and whether it is good news.
pub fn badge_text(chain: &Chain) -> (String, Option<bool>) {
    match chain {
        Chain::NotChecked => ("chain not checked (v)".into(), None),
        Chain::Checking(_) => ("verifying the chain…".into(), None),
        Chain::Verified { records: 0, .. } => (
            "✓ the audit trail is empty: nothing to verify yet".into(),
            Some(true),
        ),
        Chain::Verified { head, records } => (
            format!(
                "✓ chain verified up to {} ({records})",
                head.as_deref().unwrap_or("-")
            ),
            Some(true),
        ),
        Chain::Broken { at, .. } => (format!("✗ chain broken at {at}"), Some(false)),
        Chain::Failed(e) => (format!("✗ cannot verify: {e}"), Some(false)),
    }
}

/// The first few problems and how many more: the trail of a big store can
/// report thousands.
fn summarize(problems: &[String]) -> String {
    let mut s = problems
        .iter()
        .take(3)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if problems.len() > 3 {
        s.push_str(&format!(
            "; … and {} more (`{}` lists them)",
            problems.len() - 3,
            crate::cli::suggest::audit_verify_command()
        ));
    }
    s
}

/// The record a chain break names.
fn break_id(b: &crate::domain::audit::ChainBreak) -> String {
    use crate::domain::audit::ChainBreak as B;
    match b {
        B::Edited { id }
        | B::Gap { id, .. }
        | B::Missing { id, .. }
        | B::CheckpointMismatch { id } => id.clone(),
        B::Truncated { last_id, .. } => last_id.clone().unwrap_or_default(),
    }
}

/// The chain check's result, as the badge shows it.
pub(super) fn chain_result(result: Result<Payload, OpError>) -> Chain {
    match result {
        Ok(Payload::AuditVerify(r)) => match &r.first_failure {
            Some(b) => Chain::Broken {
                at: break_id(b),
                problem: b.to_string(),
            },
            None if !r.snapshot_problems.is_empty() => Chain::Broken {
                at: r.head.clone().unwrap_or_default(),
                problem: summarize(&r.snapshot_problems),
            },
            None => Chain::Verified {
                head: r.head.clone(),
                records: r.records_checked,
            },
        },
        Ok(_) => Chain::NotChecked,
        Err(e) => Chain::Failed(crate::console::words::say(&e)),
    }
}

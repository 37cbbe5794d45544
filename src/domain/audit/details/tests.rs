//! Each struct against the `json!` the workflows wrote before it
//! existed: the stored bytes (and so every chain hash) must not move.

use super::*;
use serde_json::json;

fn same<T: Details + std::fmt::Debug + PartialEq>(typed: &T, before: Value) {
    assert_eq!(
        serde_json::to_string(&typed.to_value()).unwrap(),
        serde_json::to_string(&before).unwrap()
    );
    assert_eq!(T::read(&before).as_ref(), Some(typed));
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn snapshot_imported_is_unchanged() {
    let mut d = SnapshotImported {
        snapshot_id: "syft-20251204T000000Z-001".into(),
        tool: "syft".into(),
        imported_at: "2025-12-04T00:00:00Z".into(),
        tool_version: None,
        previous_snapshot: Some("syft-20251203T000000Z-001".into()),
        source_hash: "b3:aa".into(),
        normalized_hash: Some("b3:bb".into()),
        record_count: 80,
        format: Some("syft".into()),
        files: strings(&["a.json"]),
        source_uri: None,
        reason: Some("weekly".into()),
        warnings: vec![],
        backfill: None,
        next_snapshot: None,
    };
    let (id, prev) = (
        "syft-20251204T000000Z-001",
        Some("syft-20251203T000000Z-001"),
    );
    let none: Option<String> = None;
    let before = json!({
        "snapshotId": id,
        "tool": "syft",
        "importedAt": "2025-12-04T00:00:00Z",
        "toolVersion": none,
        "previousSnapshot": prev,
        "sourceHash": "b3:aa",
        "normalizedHash": Some("b3:bb"),
        "recordCount": 80u64,
        "format": Some("syft"),
        "files": ["a.json"],
        "sourceUri": none,
        "reason": Some("weekly"),
        "warnings": Vec::<String>::new(),
    });
    same(&d, before.clone());
    let mut backfill = before;
    backfill["backfill"] = json!(true);
    backfill["nextSnapshot"] = json!(none);
    d.backfill = Some(true);
    d.next_snapshot = Some(None);
    same(&d, backfill);
}

#[test]
fn snapshot_import_failed_is_unchanged() {
    let none: Option<String> = None;
    same(
        &SnapshotImportFailed {
            snapshot_id: "syft-20251204T000000Z-002".into(),
            tool: "syft".into(),
            source_hash: "b3:aa".into(),
            imported_at: "2025-12-04T00:00:00Z".into(),
            files: strings(&["a.json", "b.json"]),
            reason: "no records".into(),
            active_snapshot: None,
        },
        json!({
            "snapshotId": "syft-20251204T000000Z-002",
            "tool": "syft",
            "sourceHash": "b3:aa",
            "importedAt": "2025-12-04T00:00:00Z",
            "files": ["a.json", "b.json"],
            "reason": "no records",
            "activeSnapshot": none,
        }),
    );
}

#[test]
fn snapshot_activated_is_unchanged() {
    let mut d = SnapshotActivated {
        snapshot_id: "s-2".into(),
        previous_snapshot: None,
        cause: ActivationCause::Import,
        records_affected: 3,
        reason: None,
    };
    let none: Option<String> = None;
    let mut before = json!({
        "snapshotId": "s-2",
        "previousSnapshot": none,
        "cause": "import",
        "recordsAffected": 3u64,
    });
    same(&d, before.clone());
    before["cause"] = json!("backfill");
    before["reason"] = json!(none);
    d.cause = ActivationCause::Backfill;
    d.reason = Some(None);
    same(&d, before);
    same(
        &SnapshotActivated {
            snapshot_id: "s-1".into(),
            previous_snapshot: Some("s-2".into()),
            cause: ActivationCause::Rollback,
            records_affected: 7,
            reason: None,
        },
        json!({
            "snapshotId": "s-1",
            "previousSnapshot": "s-2",
            "cause": "rollback",
            "recordsAffected": 7u64,
        }),
    );
}

#[test]
fn snapshot_rolled_back_is_unchanged() {
    same(
        &SnapshotRolledBack {
            tool: Some("syft".into()),
            from_snapshot: "s-2".into(),
            to_snapshot: Some("s-1".into()),
            reason: "bad feed".into(),
            records_affected: 12,
            target_was_archived: Some(false),
            automatic: None,
        },
        json!({
            "tool": "syft",
            "fromSnapshot": "s-2",
            "toSnapshot": "s-1",
            "reason": "bad feed",
            "recordsAffected": 12u64,
            "targetWasArchived": false,
        }),
    );
    let none: Option<String> = None;
    same(
        &SnapshotRolledBack {
            tool: None,
            from_snapshot: "s-3".into(),
            to_snapshot: None,
            reason: "automatic: import failed: x".into(),
            records_affected: 0,
            target_was_archived: None,
            automatic: Some(true),
        },
        json!({
            "fromSnapshot": "s-3",
            "toSnapshot": none,
            "reason": format!("automatic: import failed: {}", "x"),
            "automatic": true,
            "recordsAffected": 0,
        }),
    );
}

#[test]
fn snapshot_rollback_failed_is_unchanged() {
    let mut d = SnapshotRollbackFailed {
        tool: "syft".into(),
        from_snapshot: "s-2".into(),
        to_snapshot: "s-1".into(),
        step: "verify".into(),
        error: "mismatch".into(),
        reason: "bad feed".into(),
        expected_active: None,
    };
    let mut before = json!({
        "tool": "syft",
        "fromSnapshot": "s-2",
        "toSnapshot": "s-1",
        "step": "verify",
        "error": "mismatch",
        "reason": "bad feed",
    });
    same(&d, before.clone());
    before["expectedActive"] = json!("s-0");
    d.expected_active = Some("s-0".into());
    same(&d, before);
}

#[test]
fn snapshot_expired_is_unchanged() {
    same(
        &SnapshotExpired {
            snapshot_id: "s-1".into(),
            tool: "syft".into(),
            reason: "withdrawn".into(),
            was_active: true,
            records_withdrawn: 5,
        },
        json!({
            "snapshotId": "s-1",
            "tool": "syft",
            "reason": "withdrawn",
            "wasActive": true,
            "recordsWithdrawn": 5u64,
        }),
    );
}

#[test]
fn retention_actions_are_unchanged() {
    let why = "older than 30d";
    same(
        &RetentionAction {
            snapshot_id: "s-1".into(),
            tool: "syft".into(),
            reason: format!("retention: {why}"),
            records_freed: None,
        },
        json!({"snapshotId": "s-1", "tool": "syft", "reason": format!("retention: {why}")}),
    );
    same(
        &RetentionAction {
            snapshot_id: "s-1".into(),
            tool: "syft".into(),
            reason: format!("retention: {why}"),
            records_freed: Some(9),
        },
        json!({"snapshotId": "s-1", "tool": "syft", "reason": format!("retention: {why}"), "recordsFreed": 9u64}),
    );
}

#[test]
fn freshness_override_is_unchanged() {
    same(
        &FreshnessOverride {
            tool: "syft".into(),
            snapshot_id: "s-1".into(),
            state: "critical".into(),
            age: "9d".into(),
            reason: "incident".into(),
            purpose: "records".into(),
        },
        json!({
            "tool": "syft",
            "snapshotId": "s-1",
            "state": "critical",
            "age": "9d",
            "reason": "incident",
            "purpose": "records",
        }),
    );
}

#[test]
fn holds_are_unchanged() {
    same(
        &HoldAdded {
            snapshot_id: "s-1".into(),
            reason: "legal".into(),
            expires_at: "2026-01-01T00:00:00Z".into(),
        },
        json!({"snapshotId": "s-1", "reason": "legal", "expiresAt": "2026-01-01T00:00:00Z"}),
    );
    same(
        &HoldRemoved {
            snapshot_id: "s-1".into(),
        },
        json!({"snapshotId": "s-1"}),
    );
}

#[test]
fn audit_purged_is_unchanged() {
    same(
        &AuditPurged {
            purged_from: "audit-1".into(),
            purged_through: "audit-4".into(),
            count: 4,
            removed_hash: "b3:aa".into(),
            anchor_hash: "b3:bb".into(),
            before: "2025-01-01T00:00:00Z".into(),
            reason: "yearly".into(),
            surviving_snapshots: Some(strings(&["s-1"])),
        },
        json!({
            "purgedFrom": "audit-1",
            "purgedThrough": "audit-4",
            "count": 4u64,
            "removedHash": "b3:aa",
            "anchorHash": "b3:bb",
            "before": "2025-01-01T00:00:00Z",
            "reason": "yearly",
            "survivingSnapshots": ["s-1"],
        }),
    );
}

#[test]
fn tokens_are_unchanged() {
    same(
        &TokenCreated {
            name: "ci".into(),
            role: "reader".into(),
            fingerprint: "b3:0123456789ab".into(),
        },
        json!({"name": "ci", "role": "reader", "fingerprint": "b3:0123456789ab"}),
    );
    same(
        &TokenRevoked {
            name: "ci".into(),
            role: "reader".into(),
        },
        json!({"name": "ci", "role": "reader"}),
    );
}

#[test]
fn a_digest_skips_what_it_cannot_read() {
    let d = Digest::of(
        &json!({"fromSnapshot": "a", "toSnapshot": null, "recordCount": "x", "reason": "r"}),
    );
    assert_eq!(d.from_snapshot.as_deref(), Some("a"));
    assert_eq!(d.to_snapshot, None);
    assert_eq!(d.record_count, None);
    assert_eq!(d.reason.as_deref(), Some("r"));
    assert_eq!(Digest::of(&json!("not an object")), Digest::default());
}

#[test]
fn a_snapshot_ref_reads_only_the_snapshot_id() {
    let d = json!({"snapshotId": "s-1", "tool": "syft", "recordsFreed": 3});
    assert_eq!(SnapshotRef::of(&d).as_deref(), Some("s-1"));
    assert_eq!(SnapshotRef::of(&json!({"snapshotId": null})), None);
    assert_eq!(SnapshotRef::of(&json!({})), None);
}

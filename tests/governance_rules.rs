//! Governance rules checked against the spec through the real binary: the
//! operator's identity, retention of N-1, expired and failed snapshots,
//! backfilled imports, the bounds of `--imported-at`, and the wording of
//! the messages an operator acts on.

mod api_common;
mod common;

use common::sql::lit;
use common::{import_args, tool_args, Sandbox};
use snapgov::ingest::Format;
use snapgov::synthetic_feed::FeedSpec;

fn spec(seed: u64) -> FeedSpec {
    FeedSpec {
        packages: 50,
        seed,
        churn_permille: if seed == 1 { 0 } else { 40 },
        ..Default::default()
    }
}

/// Imports one generated feed of `tool` at `at`; returns the snapshot JSON.
fn import_at(
    sb: &mut Sandbox,
    tool: &str,
    at: &str,
    seed: u64,
    extra: &[&str],
) -> serde_json::Value {
    let f = sb.feed(
        &format!("{tool}-{seed}.json"),
        Format::TrivyJson,
        &spec(seed),
    );
    sb.now = at.to_string();
    let mut args = vec!["--allow-shrink"];
    args.extend_from_slice(extra);
    sb.import(tool, &args, &f)
}

fn state(sb: &Sandbox, id: &str) -> String {
    sb.snapshot(id)["state"].as_str().unwrap().to_string()
}

// ---------------------------------------------------------------------------
// Identity

/// What `id -un` says, or `uid:N` where the uid has no name.
fn os_user_by_uid() -> String {
    let out = std::process::Command::new("id")
        .arg("-un")
        .output()
        .unwrap();
    let name = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if out.status.success() && !name.is_empty() {
        return name;
    }
    let uid = std::process::Command::new("id").arg("-u").output().unwrap();
    format!("uid:{}", String::from_utf8_lossy(&uid.stdout).trim())
}

#[test]
fn without_user_variables_the_audit_names_the_os_user_from_the_uid() {
    let sb = Sandbox::new();
    let f = sb.feed("t.json", Format::TrivyJson, &spec(1));
    let run = |args: &[&str]| -> common::Run {
        let mut c = sb.cmd(args);
        for v in ["SNAPGOV_USER", "USER", "LOGNAME", "USERNAME"] {
            c.env_remove(v);
        }
        c.output().unwrap().into()
    };
    let r = run(&[
        "--json",
        "ingest",
        "import",
        "--tool",
        "trivy",
        f.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let want = os_user_by_uid();
    assert_ne!(want, "unknown");
    let snap = &r.json()["import"]["snapshot"];
    assert_eq!(snap["metadata"]["importUser"], want.as_str(), "{snap}");
    let audit = sb.audit_events("snapshot_imported");
    assert_eq!(audit[0]["user"], want.as_str());
}

// ---------------------------------------------------------------------------
// Retention

#[test]
fn retention_archives_the_n_minus_1_snapshot_after_30_days_unless_held() {
    let mut sb = Sandbox::new();
    let a = import_at(&mut sb, "trivy", "2025-01-01T00:00:00Z", 1, &[]);
    let b = import_at(&mut sb, "trivy", "2025-01-02T00:00:00Z", 2, &[]);
    let (a, b) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    assert_eq!(state(&sb, a), "previous");

    // 29 days after it stopped being active: kept.
    sb.now = "2025-01-31T00:00:00Z".into();
    let r = sb.json(&["ingest", "retention", "run"]);
    assert_eq!(r["retentionRun"]["archived"].as_array().unwrap().len(), 0);

    // A hold protects it.
    sb.ok(&[
        "ingest",
        "retention",
        "hold",
        "add",
        a,
        "--reason",
        "legal",
        "--until",
        "2025-02-10T00:00:00Z",
    ]);
    sb.now = "2025-02-05T00:00:00Z".into();
    let r = sb.json(&["ingest", "retention", "run"]);
    assert_eq!(
        r["retentionRun"]["archived"].as_array().unwrap().len(),
        0,
        "{r}"
    );
    assert_eq!(state(&sb, a), "previous");

    // Once the hold lapses, N-1 is archived as the spec says; the active
    // snapshot stays and the archived one is still the rollback target.
    sb.now = "2025-06-01T00:00:00Z".into();
    let r = sb.json(&["ingest", "retention", "run"]);
    assert_eq!(r["retentionRun"]["archived"], serde_json::json!([a]), "{r}");
    assert_eq!(state(&sb, a), "archived");
    assert_eq!(state(&sb, b), "active");
    let dry = sb.json(&["ingest", "rollback", "--tool", "trivy", "--dry-run"]);
    assert_eq!(dry["rollback"]["to"]["snapshotId"], a, "{dry}");
}

#[test]
fn retention_reclaims_expired_and_failed_snapshots_after_the_delete_age() {
    let mut sb = Sandbox::new();
    let a = import_at(&mut sb, "trivy", "2025-01-01T00:00:00Z", 1, &[]);
    let a = a["id"].as_str().unwrap().to_string();
    let b = import_at(&mut sb, "trivy", "2025-01-02T00:00:00Z", 2, &[]);
    let b = b["id"].as_str().unwrap().to_string();
    // A failed import (an empty feed).
    let empty = sb.path("empty.json");
    std::fs::write(
        &empty,
        br#"{"SchemaVersion": 2, "ArtifactName": "x", "Results": []}"#,
    )
    .unwrap();
    sb.now = "2025-01-03T00:00:00Z".into();
    let r = sb.run(&[
        "--json",
        "ingest",
        "import",
        "--tool",
        "trivy",
        empty.to_str().unwrap(),
    ]);
    assert_ne!(r.code, 0);
    let failed = sb.json(&[
        "ingest",
        "snapshots",
        "--tool",
        "trivy",
        "--state",
        "failed",
    ])["snapshots"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Expire the previous one, and hold a second failed one... (the held
    // case uses the expired snapshot once more, below).
    sb.ok(&[
        "ingest",
        "expire",
        "--snapshot-id",
        &a,
        "--reason",
        "bad scan",
    ]);
    assert_eq!(state(&sb, &a), "expired");

    // The status says that expired and failed snapshots are reclaimed.
    let st = sb.json(&["ingest", "retention", "status"]);
    let cats: Vec<&str> = st["retention"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["category"].as_str().unwrap())
        .collect();
    assert!(
        cats.contains(&"expired") && cats.contains(&"failed"),
        "{st}"
    );
    let text = sb.ok(&["ingest", "retention", "status"]).stdout;
    assert!(
        text.contains("expired") && text.contains("failed"),
        "{text}"
    );

    // Before 90 days since the state change, nothing is deleted; a hold
    // keeps the expired one past it.
    sb.now = "2025-03-30T00:00:00Z".into();
    let r = sb.json(&["ingest", "retention", "run"]);
    assert_eq!(
        r["retentionRun"]["deleted"].as_array().unwrap().len(),
        0,
        "{r}"
    );
    sb.ok(&[
        "ingest",
        "retention",
        "hold",
        "add",
        &a,
        "--reason",
        "audit",
        "--until",
        "2025-05-01T00:00:00Z",
    ]);
    sb.now = "2025-04-10T00:00:00Z".into();
    let r = sb.json(&["ingest", "retention", "run"]);
    assert_eq!(
        r["retentionRun"]["deleted"],
        serde_json::json!([failed]),
        "{r}"
    );
    assert_eq!(state(&sb, &a), "expired");
    assert_eq!(state(&sb, &failed), "deleted");

    // After the hold, the expired snapshot's records are reclaimed.
    sb.now = "2025-05-02T00:00:00Z".into();
    let r = sb.json(&["ingest", "retention", "run"]);
    assert_eq!(r["retentionRun"]["deleted"], serde_json::json!([a]), "{r}");
    assert!(
        r["retentionRun"]["recordsFreed"].as_u64().unwrap() > 0,
        "{r}"
    );
    assert_eq!(state(&sb, &a), "deleted");
    assert_eq!(state(&sb, &b), "active");
    // The trail still verifies.
    sb.ok(&["ingest", "audit", "verify"]);
}

#[test]
fn retention_status_says_nothing_to_do_in_words() {
    let mut sb = Sandbox::new();
    import_at(&mut sb, "trivy", "2025-01-01T00:00:00Z", 1, &[]);
    let text = sb.ok(&["ingest", "retention", "status"]).stdout;
    assert!(!text.contains("would nothing"), "{text}");
    assert!(text.contains("nothing to do"), "{text}");
}

// ---------------------------------------------------------------------------
// Backfills

#[test]
fn a_backfill_goes_into_history_and_does_not_replace_the_newer_active_snapshot() {
    let mut sb = Sandbox::new();
    let a = import_at(&mut sb, "trivy", "2025-11-20T00:00:00Z", 1, &[]);
    let c = import_at(&mut sb, "trivy", "2025-12-03T00:00:00Z", 2, &[]);
    let (a, c) = (
        a["id"].as_str().unwrap().to_string(),
        c["id"].as_str().unwrap().to_string(),
    );
    let sla_before = sb.json(&["ingest", "sla", "--tool", "trivy"]);

    let f = sb.feed("backfill.json", Format::TrivyJson, &spec(3));
    sb.now = "2025-12-05T00:00:00Z".into();
    let r = sb.json(&import_args(
        "trivy",
        &["--allow-shrink", "--imported-at", "2025-12-01T06:00:00Z"],
        f.to_str().unwrap(),
    ));
    let b = r["import"]["snapshot"]["id"].as_str().unwrap().to_string();
    assert_eq!(r["import"]["snapshot"]["state"], "previous", "{r}");
    assert_eq!(
        r["import"]["snapshot"]["previousSnapshot"],
        a.as_str(),
        "{r}"
    );
    // The newer active one stays active and now links to the backfill.
    assert_eq!(sb.active_id("trivy"), c);
    assert_eq!(sb.snapshot(&c)["previousSnapshot"], b.as_str());
    assert_eq!(sb.snapshot(&a)["previousSnapshot"], serde_json::Value::Null);
    let text = sb
        .ok(&import_args(
            "trivy",
            &["--allow-shrink", "--imported-at", "2025-12-01T07:00:00Z"],
            f.to_str().unwrap(),
        ))
        .stdout;
    assert!(text.contains("not activated"), "{text}");
    // The SLA did not go backwards.
    let sla = sb.json(&["ingest", "sla", "--tool", "trivy"]);
    assert_eq!(sla["sla"]["snapshotId"], sla_before["sla"]["snapshotId"]);
    // No activation was audited for the backfills.
    let activated: Vec<_> = sb
        .audit_events("snapshot_activated")
        .into_iter()
        .filter(|e| e["details"]["snapshotId"] == b.as_str())
        .collect();
    assert!(activated.is_empty(), "{activated:?}");
    // The trail (which checks previousSnapshot against the import records) verifies.
    sb.ok(&["ingest", "audit", "verify"]);
    sb.ok(&["ingest", "verify", "--all"]);
}

#[test]
fn a_backfill_with_activate_becomes_active_and_the_activation_is_audited_with_its_reason() {
    let mut sb = Sandbox::new();
    let c = import_at(&mut sb, "trivy", "2025-12-03T00:00:00Z", 1, &[]);
    let c = c["id"].as_str().unwrap().to_string();
    let f = sb.feed("backfill.json", Format::TrivyJson, &spec(3));
    sb.now = "2025-12-05T00:00:00Z".into();
    // --activate needs a reason.
    let r = sb.run(&import_args(
        "trivy",
        &[
            "--allow-shrink",
            "--imported-at",
            "2025-12-01T06:00:00Z",
            "--activate",
        ],
        f.to_str().unwrap(),
    ));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("--reason"), "{}", r.stderr);
    let r = sb.json(&import_args(
        "trivy",
        &[
            "--allow-shrink",
            "--imported-at",
            "2025-12-01T06:00:00Z",
            "--activate",
            "--reason",
            "the newer scan was wrong",
        ],
        f.to_str().unwrap(),
    ));
    let b = r["import"]["snapshot"]["id"].as_str().unwrap().to_string();
    assert_eq!(sb.active_id("trivy"), b);
    assert_eq!(state(&sb, &c), "previous");
    let ev: Vec<_> = sb
        .audit_events("snapshot_activated")
        .into_iter()
        .filter(|e| e["details"]["snapshotId"] == b.as_str())
        .collect();
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0]["details"]["reason"], "the newer scan was wrong");
    assert_eq!(ev[0]["details"]["previousSnapshot"], c.as_str());
    sb.ok(&["ingest", "audit", "verify"]);
}

// ---------------------------------------------------------------------------
// --imported-at bounds

#[test]
fn imported_at_far_in_the_future_or_before_the_epoch_is_refused_and_nothing_changes() {
    let mut sb = Sandbox::new();
    import_at(&mut sb, "trivy", "2025-12-01T00:00:00Z", 1, &[]);
    let f = sb.feed("x.json", Format::TrivyJson, &spec(2));
    sb.now = "2025-12-04T12:00:00Z".into();
    let before = sb.dump();
    for ts in [
        "9999-01-01T00:00:00Z",
        "0001-01-01T00:00:00Z",
        "2025-12-04T13:00:00Z",
    ] {
        let r = sb.run(&import_args(
            "trivy",
            &["--allow-shrink", "--imported-at", ts],
            f.to_str().unwrap(),
        ));
        assert_eq!(r.code, 2, "{ts}: {r:?}");
        assert!(r.stderr.contains(ts), "{ts}: {}", r.stderr);
        assert!(r.stderr.contains("--imported-at"), "{}", r.stderr);
        assert_eq!(sb.dump(), before, "{ts} changed the store");
    }
    // Within the clock skew is fine.
    sb.ok(&import_args(
        "trivy",
        &["--allow-shrink", "--imported-at", "2025-12-04T12:04:00Z"],
        f.to_str().unwrap(),
    ));
}

// ---------------------------------------------------------------------------
// Messages

#[cfg(feature = "fault-injection")]
#[test]
fn a_rollback_undone_after_a_fault_says_so_and_the_active_snapshot_is_unchanged() {
    let mut sb = Sandbox::new();
    import_at(&mut sb, "trivy", "2025-12-01T00:00:00Z", 1, &[]);
    let b = import_at(&mut sb, "trivy", "2025-12-02T00:00:00Z", 2, &[]);
    for step in ["verify_restore", "update_active"] {
        let r = sb
            .cmd(&tool_args(
                "rollback",
                "trivy",
                &["--force", "--reason", "x"],
            ))
            .env("SNAPGOV_FAULT", step)
            .output()
            .unwrap();
        let r: common::Run = r.into();
        assert_ne!(r.code, 0);
        assert!(r.stderr.contains(step), "{}", r.stderr);
        assert!(r.stderr.contains("undone"), "{step}: {}", r.stderr);
        assert!(r.stderr.contains("unchanged"), "{step}: {}", r.stderr);
        assert_eq!(sb.active_id("trivy"), b["id"].as_str().unwrap());
    }
}

// ---------------------------------------------------------------------------
// The API: hold bodies, importedAt bounds, its own wording

fn bearer(t: &str) -> String {
    format!("Bearer {t}")
}

#[test]
fn the_api_takes_expires_at_refuses_wild_imported_at_and_names_its_own_parameters() {
    use api_common::{client, expect, fixture, problem, Scratch};
    let s = Scratch::demo("");
    let op = s.token("operator", "pipeline");
    let srv = s.serve();
    let c = client();
    let id = s.cli_json(&["ingest", "snapshots", "--tool", "syft", "--state", "active"])
        ["snapshots"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let hold = |body: serde_json::Value| {
        c.put(srv.url(&format!("/api/v1/ingest/retention/holds/{id}")))
            .header("Authorization", bearer(&op))
            .json(&body)
            .send()
            .unwrap()
    };
    // The response says expiresAt: the request may too; until stays an alias.
    let v = expect(
        hold(serde_json::json!({"reason": "audit", "expiresAt": "2026-06-01T00:00:00Z"})),
        200,
    );
    assert_eq!(v["hold"]["expiresAt"], "2026-06-01T00:00:00Z", "{v}");
    let v = expect(
        hold(serde_json::json!({"reason": "audit", "until": "2026-07-01T00:00:00Z"})),
        200,
    );
    assert_eq!(v["hold"]["expiresAt"], "2026-07-01T00:00:00Z", "{v}");
    problem(hold(serde_json::json!({"reason": "audit"})), 400);
    // A missing reason is worded for the API, not the CLI.
    let p = problem(
        hold(serde_json::json!({"expiresAt": "2026-06-01T00:00:00Z"})),
        400,
    );
    let detail = p["detail"].as_str().unwrap();
    assert!(!detail.contains("--"), "{detail}");
    assert!(detail.contains("\"reason\""), "{detail}");

    // importedAt beyond the clock skew, or before the epoch: refused, nothing stored.
    let before = s.store.dump();
    let feed = std::fs::read(fixture("syft-min.json")).unwrap();
    for ts in ["9999-01-01T00:00:00Z", "0001-01-01T00:00:00Z"] {
        let r = c
            .post(srv.url(&format!(
                "/api/v1/ingest/imports?tool=syft&allowShrink=true&importedAt={ts}"
            )))
            .header("Authorization", bearer(&op))
            .body(feed.clone())
            .send()
            .unwrap();
        let p = problem(r, 400);
        let detail = p["detail"].as_str().unwrap();
        assert!(
            detail.contains(ts) && detail.contains("importedAt"),
            "{detail}"
        );
        assert!(!detail.contains("--"), "{detail}");
        assert_eq!(s.store.dump(), before, "{ts} changed the store");
    }

    // A backfill through the API joins the history; the active snapshot stays.
    let r = c
        .post(srv.url(
            "/api/v1/ingest/imports?tool=syft&allowShrink=true&importedAt=2025-11-15T00:00:00Z",
        ))
        .header("Authorization", bearer(&op))
        .body(feed.clone())
        .send()
        .unwrap();
    let v = expect(r, 201);
    assert_eq!(v["import"]["activated"], false, "{v}");
    assert_eq!(v["import"]["snapshot"]["state"], "previous", "{v}");
    let now_active = s.cli_json(&["ingest", "snapshots", "--tool", "syft", "--state", "active"])
        ["snapshots"][0]["id"]
        .clone();
    assert_eq!(now_active, id.as_str());
    // activate=true without a reason is refused in the API's words.
    let r = c
        .post(srv.url("/api/v1/ingest/imports?tool=syft&allowShrink=true&importedAt=2025-11-16T00:00:00Z&activate=true"))
        .header("Authorization", bearer(&op))
        .body(feed.clone())
        .send()
        .unwrap();
    let p = problem(r, 400);
    let detail = p["detail"].as_str().unwrap();
    assert!(
        detail.contains("activate=true") && detail.contains("\"reason\""),
        "{detail}"
    );
    assert!(!detail.contains("--"), "{detail}");
}

// ---------------------------------------------------------------------------
// Refused rollbacks leave a trace (issue 12 item 3): whichever front end
// executes it, a rollback refused because the active snapshot moved since
// the preview, or because its target does not verify, is an attempt an
// auditor must see. Nothing else changes; a refused dry run writes nothing.

/// The store's tables except the audit trail.
fn dump_without_audit(sb: &Sandbox) -> Vec<(String, Vec<String>)> {
    sb.dump()
        .into_iter()
        .filter(|(t, _)| t != "audit" && t != "meta")
        .collect()
}

#[test]
fn a_refused_rollback_is_audited_and_changes_nothing_else() {
    let mut sb = Sandbox::new();
    let a = import_at(&mut sb, "trivy", "2025-12-01T00:00:00Z", 1, &[]);
    let b = import_at(&mut sb, "trivy", "2025-12-02T00:00:00Z", 2, &[]);
    let c = import_at(&mut sb, "trivy", "2025-12-03T00:00:00Z", 3, &[]);
    let (a, b, c) = (
        a["id"].as_str().unwrap().to_string(),
        b["id"].as_str().unwrap().to_string(),
        c["id"].as_str().unwrap().to_string(),
    );
    sb.now = "2025-12-03T12:00:00Z".into();

    // The operator previewed while B was active; C arrived meanwhile.
    let before = dump_without_audit(&sb);
    let dry = sb.run(&tool_args(
        "rollback",
        "trivy",
        &["--snapshot-id", &a, "--dry-run", "--expect-active", &b],
    ));
    assert_eq!(dry.code, 5, "{dry:?}");
    assert!(
        sb.audit_events("snapshot_rollback_failed").is_empty(),
        "a refused dry run wrote to the trail"
    );
    let r = sb.run(&tool_args(
        "rollback",
        "trivy",
        &[
            "--snapshot-id",
            &a,
            "--force",
            "--reason",
            "bad feed",
            "--expect-active",
            &b,
        ],
    ));
    assert_eq!(r.code, 5, "{r:?}");
    assert_eq!(
        dump_without_audit(&sb),
        before,
        "a refused rollback changed data"
    );
    let refused = sb.audit_events("snapshot_rollback_failed");
    assert_eq!(refused.len(), 1, "{refused:?}");
    let d = &refused[0]["details"];
    assert_eq!(d["step"], "initiate", "{d}");
    assert_eq!(d["fromSnapshot"], c.as_str(), "{d}");
    assert_eq!(d["expectedActive"], b.as_str(), "{d}");
    assert_eq!(d["toSnapshot"], a.as_str(), "{d}");
    assert_eq!(d["reason"], "bad feed", "{d}");
    assert_eq!(sb.active_id("trivy"), c);

    // A target whose stored records no longer verify: exit 6, audited.
    let n = sb.sql_exec(&format!(
        "UPDATE records SET body = body || ' ' WHERE id IN \
         (SELECT record FROM snapshot_records WHERE snapshot = \
            (SELECT pk FROM snapshots WHERE id = {}) \
          EXCEPT SELECT record FROM snapshot_records WHERE snapshot = \
            (SELECT pk FROM snapshots WHERE id = {}) LIMIT 1)",
        lit(&a),
        lit(&c)
    ));
    assert_eq!(n, 1);
    let r = sb.run(&tool_args(
        "rollback",
        "trivy",
        &["--snapshot-id", &a, "--force", "--reason", "bad feed"],
    ));
    assert_eq!(r.code, 6, "{r:?}");
    let refused = sb.audit_events("snapshot_rollback_failed");
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert_eq!(
        refused[0]["details"]["step"], "verify_target",
        "{refused:?}"
    );
    assert_eq!(sb.active_id("trivy"), c);
}

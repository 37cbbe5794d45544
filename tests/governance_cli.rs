//! The governance workflows through the real binary: SLA states, the
//! freshness guard, expiry, rollback (to previous, an id, a time), dry runs,
//! corruption, conflicts, and fault injection at every step.

mod common;

use common::sql::lit;
use common::{tool_args, Sandbox};
use snapgov::ingest::Format;
use snapgov::synthetic_feed::FeedSpec;

fn spec(packages: u64, seed: u64) -> FeedSpec {
    FeedSpec {
        packages,
        seed,
        churn_permille: if seed == 1 { 0 } else { 40 },
        ..Default::default()
    }
}

/// Imports `n` daily feeds of `tool` ending at the sandbox's date; returns ids.
fn history(sb: &mut Sandbox, tool: &str, days: &[&str]) -> Vec<String> {
    let mut ids = Vec::new();
    for (i, day) in days.iter().enumerate() {
        let f = sb.feed(
            &format!("{tool}-{i}.json"),
            Format::TrivyJson,
            &spec(100, i as u64 + 1),
        );
        sb.now = format!("{day}T00:00:00Z");
        let snap = sb.import(tool, &["--allow-shrink"], &f);
        ids.push(snap["id"].as_str().unwrap().to_string());
    }
    ids
}

#[test]
fn sla_states_follow_the_thresholds_with_the_escalation_point() {
    let mut sb = Sandbox::new();
    history(&mut sb, "trivy", &["2025-11-01"]);
    let cases = [
        ("2025-11-03T04:05:06Z", "fresh", false, "P2DT4H5M6S"),
        ("2025-11-08T00:00:00Z", "stale", false, "P7D"),
        ("2025-11-15T00:00:00Z", "stale", true, "P14D"),
        ("2025-12-01T00:00:00Z", "critical", false, "P30D"),
    ];
    for (now, state, overdue, age) in cases {
        sb.now = now.into();
        let v = sb.json(&["ingest", "sla", "--tool", "trivy"]);
        let doc = &v["sla"];
        let keys: Vec<&str> = doc
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        for k in common::SLA_KEYS {
            assert!(keys.contains(&k), "{k} missing in {doc}");
        }
        assert_eq!(doc["state"], state, "at {now}");
        assert_eq!(doc["overdue"], overdue, "at {now}");
        assert_eq!(doc["age"], age, "at {now}");
        assert_eq!(
            doc["thresholds"],
            serde_json::json!({"maxAge": "P7D", "stale": "P14D", "critical": "P30D"})
        );
    }
    // nextCheck is the earlier of the next threshold and the hourly check.
    sb.now = "2025-11-07T23:30:00Z".into();
    let v = sb.json(&["ingest", "sla", "--tool", "trivy"]);
    assert_eq!(v["sla"]["nextCheck"], "2025-11-08T00:00:00Z");
    // A tool with no snapshot is reported, not an error.
    let v = sb.json(&["ingest", "sla", "--tool", "grype"]);
    assert_eq!(v["sla"]["state"], "no_snapshot");
}

#[test]
fn custom_tools_use_their_configured_thresholds() {
    let mut sb = Sandbox::with_config("[sla.default]\nmax_age = \"P1D\"\nstale = \"P2D\"\ncritical = \"P3D\"\n[sla.tools.nightly]\nmax_age = \"PT6H\"\nstale = \"PT12H\"\ncritical = \"P1D\"\n");
    history(&mut sb, "nightly", &["2025-11-01"]);
    history(&mut sb, "other", &["2025-11-01"]);
    sb.now = "2025-11-01T13:00:00Z".into();
    let v = sb.json(&["ingest", "sla"]);
    let by_tool = |t: &str| {
        v["sla"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["tool"] == t)
            .unwrap()
            .clone()
    };
    assert_eq!(by_tool("nightly")["state"], "stale");
    assert_eq!(by_tool("nightly")["overdue"], true);
    assert_eq!(by_tool("nightly")["thresholds"]["maxAge"], "PT6H");
    assert_eq!(by_tool("other")["state"], "fresh");
    sb.now = "2025-11-04T00:00:00Z".into();
    let v = sb.json(&["ingest", "sla", "--tool", "other"]);
    assert_eq!(v["sla"]["state"], "critical");

    std::fs::write(
        sb.path("config.toml"),
        "[sla.tools.nightly]\nmax_age = \"P5D\"\ncritical = \"P2D\"\n",
    )
    .unwrap();
    let r = sb.run(&["ingest", "sla"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("sla.tools.nightly"), "{}", r.stderr);
}

#[test]
fn the_freshness_guard_warns_blocks_and_audits_overrides() {
    let mut sb = Sandbox::new();
    let ids = history(&mut sb, "trivy", &["2025-11-01"]);
    sb.now = "2025-11-02T00:00:00Z".into();
    let r = sb.ok(&[
        "ingest",
        "records",
        "--tool",
        "trivy",
        "--kind",
        "vulnerability",
        "--severity",
        "critical,high",
    ]);
    let lines: Vec<serde_json::Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!lines.is_empty());
    assert!(lines.iter().all(|l| l["kind"] == "vulnerability"
        && (l["vulnerability"]["severity"] == "critical"
            || l["vulnerability"]["severity"] == "high")));
    assert!(r.stderr.is_empty(), "{}", r.stderr);

    sb.now = "2025-11-10T00:00:00Z".into();
    let r = sb.ok(&["ingest", "records", "--tool", "trivy"]);
    assert!(r.stderr.contains("stale"), "{}", r.stderr);
    let shown = sb.json(&["ingest", "show", &ids[0]]);
    assert_eq!(
        r.stdout.lines().count() as u64,
        shown["snapshot"]["recordCount"].as_u64().unwrap()
    );

    sb.now = "2025-12-05T00:00:00Z".into();
    let r = sb.run(&["ingest", "records", "--tool", "trivy"]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("--override"), "{}", r.stderr);
    assert!(r.stdout.is_empty());
    let r = sb.ok(&[
        "ingest",
        "records",
        "--tool",
        "trivy",
        "--override",
        "incident 42 needs last known data",
    ]);
    assert!(r.stdout.lines().count() >= 100);
    let a = sb.json(&["ingest", "audit", "list", "--event", "freshness_override"]);
    assert_eq!(
        a["audit"][0]["details"]["reason"],
        "incident 42 needs last known data"
    );
    assert_eq!(a["audit"][0]["details"]["snapshotId"], ids[0]);

    // Expired: refused even with an override; a new import restores service.
    sb.ok(&[
        "ingest",
        "expire",
        "--snapshot-id",
        &ids[0],
        "--reason",
        "vendor recalled the feed",
    ]);
    let r = sb.run(&[
        "ingest",
        "records",
        "--tool",
        "trivy",
        "--override",
        "please",
    ]);
    assert_eq!(r.code, 4);
    assert!(r.stderr.contains("expired"), "{}", r.stderr);
    let v = sb.json(&["ingest", "sla", "--tool", "trivy"]);
    assert_eq!(v["sla"]["state"], "expired");
    let more = history(&mut sb, "trivy", &["2025-12-05"]);
    sb.ok(&["ingest", "records", "--tool", "trivy"]);
    let s = sb.json(&["ingest", "show", &ids[0]]);
    assert_eq!(s["snapshot"]["state"], "expired");
    let n = sb.json(&["ingest", "show", &more[0]]);
    assert_eq!(n["snapshot"]["previousSnapshot"], ids[0]);
}

fn active(sb: &Sandbox, tool: &str) -> serde_json::Value {
    let v = sb.json(&["ingest", "snapshots", "--tool", tool, "--state", "active"]);
    assert_eq!(
        v["snapshots"].as_array().unwrap().len(),
        1,
        "exactly one active: {v}"
    );
    v["snapshots"][0].clone()
}

#[test]
fn rollback_to_previous_to_an_id_and_to_a_time() {
    let mut sb = Sandbox::new();
    let ids = history(
        &mut sb,
        "trivy",
        &["2025-11-01", "2025-11-02", "2025-11-03", "2025-11-04"],
    );
    sb.now = "2025-11-05T00:00:00Z".into();

    // Previous.
    let r = sb.json(&tool_args(
        "rollback",
        "trivy",
        &["--force", "--reason", "bad scan"],
    ));
    let rb = &r["rollback"];
    assert_eq!(rb["status"], "completed");
    assert_eq!(rb["from"]["snapshotId"], ids[3]);
    assert_eq!(rb["to"]["snapshotId"], ids[2]);
    assert_eq!(rb["executedBy"], "tester");
    assert_eq!(rb["executedAt"], "2025-11-05T00:00:00Z");
    assert_eq!(rb["reason"], "bad scan");
    for k in [
        "status",
        "tool",
        "from",
        "to",
        "executedAt",
        "executedBy",
        "reason",
    ] {
        assert!(rb.get(k).is_some(), "{k}");
    }
    assert_eq!(active(&sb, "trivy")["id"], ids[2]);
    // The active data is the target's: its records re-hash to its hash.
    let rec = sb.ok(&["ingest", "records", "--tool", "trivy"]);
    let target = sb.json(&["ingest", "show", &ids[2]]);
    assert_eq!(
        rec.stdout.lines().count() as u64,
        target["snapshot"]["recordCount"].as_u64().unwrap()
    );

    // An id.
    sb.ok(&tool_args(
        "rollback",
        "trivy",
        &[
            "--snapshot-id",
            &ids[0],
            "--force",
            "--reason",
            "compliance",
        ],
    ));
    assert_eq!(active(&sb, "trivy")["id"], ids[0]);

    // A time: what was active at 2025-11-02T12:00 was ids[1].
    sb.ok(&tool_args(
        "rollback",
        "trivy",
        &[
            "--at",
            "2025-11-02T12:00:00Z",
            "--force",
            "--reason",
            "as of",
        ],
    ));
    assert_eq!(active(&sb, "trivy")["id"], ids[1]);

    let a = sb.json(&["ingest", "audit", "list", "--event", "snapshot_rolled_back"]);
    let recs = a["audit"].as_array().unwrap();
    assert_eq!(recs.len(), 3);
    assert_eq!(recs[0]["details"]["fromSnapshot"], ids[0]);
    assert_eq!(recs[0]["details"]["toSnapshot"], ids[1]);
    assert!(recs[0]["details"]["recordsAffected"].as_u64().unwrap() > 0);
    sb.ok(&["ingest", "audit", "verify"]);

    // Without a terminal and without --force it refuses and says how.
    let r = sb.run(&["ingest", "rollback", "--tool", "trivy", "--reason", "x"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--force"), "{}", r.stderr);
}

#[test]
fn a_dry_run_changes_nothing_in_the_store_file() {
    let mut sb = Sandbox::new();
    history(&mut sb, "trivy", &["2025-11-01", "2025-11-02"]);
    let rows = sb.dump();
    if !sb.is_postgres() {
        sb.conn()
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .unwrap();
    }
    let before = std::fs::read(sb.db()).unwrap_or_default();
    let r = sb.json(&["ingest", "rollback", "--tool", "trivy", "--dry-run"]);
    assert_eq!(r["rollback"]["status"], "dry_run");
    let d = &r["rollback"]["diff"];
    assert!(d["changed"]["total"].as_u64().unwrap() > 0, "{d}");
    assert!(d["added"]["total"].as_u64().unwrap() > 0, "{d}");
    assert_eq!(sb.dump(), rows, "the dry run changed the store");
    if sb.is_postgres() {
        return;
    }
    // On SQLite, not even a byte of the file or its WAL.
    let wal = sb.db().with_extension("db-wal");
    let wal_len = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert_eq!(wal_len, 0, "the dry run wrote to the WAL");
    assert_eq!(
        std::fs::read(sb.db()).unwrap(),
        before,
        "the dry run changed the store file"
    );
}

#[test]
fn a_corrupted_target_is_refused_with_exit_6() {
    let mut sb = Sandbox::new();
    let ids = history(&mut sb, "trivy", &["2025-11-01", "2025-11-02"]);
    // Edit one stored record only the older snapshot uses.
    let n = sb.sql_exec(&format!(
        "UPDATE records SET body = replace(body, '\"version\":\"', '\"version\":\"6') WHERE id = (SELECT sr.record FROM snapshot_records sr JOIN snapshots s ON s.pk = sr.snapshot WHERE s.id = {} AND sr.record NOT IN (SELECT record FROM active_records) LIMIT 1)",
        lit(&ids[0])
    ));
    assert_eq!(n, 1);
    let before = sb.dump();
    for args in [
        vec!["ingest", "rollback", "--tool", "trivy", "--dry-run"],
        vec![
            "ingest", "rollback", "--tool", "trivy", "--force", "--reason", "x",
        ],
    ] {
        let r = sb.run(&args);
        assert_eq!(r.code, 6, "{}", r.stderr);
        assert!(
            r.stderr.contains(&ids[0]) && r.stderr.contains("altered"),
            "{}",
            r.stderr
        );
    }
    // Nothing changed but the trail, which records the refused rollback
    // (the dry run writes nothing).
    let data = |d: Vec<(String, Vec<String>)>| -> Vec<(String, Vec<String>)> {
        d.into_iter()
            .filter(|(t, _)| t != "audit" && t != "meta")
            .collect()
    };
    assert_eq!(data(sb.dump()), data(before));
    let v = sb.json(&[
        "ingest",
        "audit",
        "list",
        "--event",
        "snapshot_rollback_failed",
    ]);
    let refused = v["audit"].as_array().unwrap();
    assert_eq!(refused.len(), 1, "{v}");
    assert_eq!(refused[0]["details"]["step"], "verify_target");
    assert_eq!(refused[0]["details"]["toSnapshot"], ids[0].as_str());
    sb.ok(&["ingest", "audit", "verify"]);
    assert_eq!(active(&sb, "trivy")["id"], ids[1]);
}

#[test]
fn two_concurrent_rollbacks_exactly_one_wins() {
    let mut sb = Sandbox::new();
    let ids = history(
        &mut sb,
        "trivy",
        &["2025-11-01", "2025-11-02", "2025-11-03"],
    );
    for round in 0..3 {
        let act = active(&sb, "trivy")["id"].as_str().unwrap().to_string();
        let targets: Vec<&String> = ids.iter().filter(|i| **i != act).collect();
        let spawn = |target: &str| {
            sb.cmd(&tool_args(
                "rollback",
                "trivy",
                &[
                    "--snapshot-id",
                    target,
                    "--expect-active",
                    &act,
                    "--force",
                    "--reason",
                    "race",
                ],
            ))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
        };
        let a = spawn(targets[0]);
        let b = spawn(targets[1]);
        let ra: common::Run = a.wait_with_output().unwrap().into();
        let rb: common::Run = b.wait_with_output().unwrap().into();
        let mut codes = [ra.code, rb.code];
        codes.sort();
        assert_eq!(
            codes,
            [0, 5],
            "round {round}: {} / {}",
            ra.stderr,
            rb.stderr
        );
        let loser = if ra.code == 5 { &ra } else { &rb };
        assert!(
            loser.stderr.contains("changed") && loser.stderr.contains("tester"),
            "{}",
            loser.stderr
        );
    }
    sb.ok(&["ingest", "audit", "verify"]);
}

#[cfg(feature = "fault-injection")]
#[test]
fn every_rollback_step_fault_leaves_the_store_as_before() {
    let mut sb = Sandbox::new();
    let ids = history(&mut sb, "trivy", &["2025-11-01", "2025-11-02"]);
    let data_tables = [
        "records",
        "snapshot_records",
        "active_records",
        "tools",
        "snapshots",
    ];
    for step in [
        "verify_target",
        "savepoint",
        "restore",
        "verify_restore",
        "commit",
        "update_active",
        "audit",
    ] {
        for mode in ["fail", "abort"] {
            let before = sb.dump();
            let out = sb
                .cmd(&tool_args(
                    "rollback",
                    "trivy",
                    &["--force", "--reason", "fault test"],
                ))
                .env("SNAPGOV_FAULT", format!("{step}:{mode}"))
                .output()
                .unwrap();
            let r: common::Run = out.into();
            assert_ne!(r.code, 0, "{step}:{mode} succeeded");
            let after = sb.dump();
            for ((t, b), (_, a)) in before.iter().zip(&after) {
                if data_tables.contains(&t.as_str()) {
                    assert_eq!(a, b, "{step}:{mode} changed {t}");
                }
            }
            // Consistent: integrity ok, chain ok, one verified active snapshot.
            assert_eq!(sb.store.integrity_check(), "ok");
            sb.ok(&["ingest", "audit", "verify"]);
            assert_eq!(active(&sb, "trivy")["id"], ids[1]);
            sb.ok(&["ingest", "verify", &ids[1]]);
            if mode == "fail" && step != "verify_target" {
                let f = sb.json(&common::audit_list_args("snapshot_rollback_failed", "1"));
                assert_eq!(
                    f["audit"][0]["details"]["step"], step,
                    "{step}: failure not audited"
                );
            }
        }
    }
    // And with no fault it completes.
    sb.ok(&tool_args(
        "rollback",
        "trivy",
        &["--force", "--reason", "after faults"],
    ));
    assert_eq!(active(&sb, "trivy")["id"], ids[0]);
}

#[cfg(feature = "fault-injection")]
#[test]
fn every_import_step_fault_keeps_the_previous_snapshot_active() {
    let mut sb = Sandbox::new();
    let ids = history(&mut sb, "trivy", &["2025-11-01"]);
    let f = sb.feed("next.json", Format::TrivyJson, &spec(100, 9));
    for step in [
        "import_begin",
        "import_write",
        "import_validate",
        "import_activate",
        "import_commit",
    ] {
        for mode in ["fail", "abort"] {
            let r: common::Run = sb
                .cmd(&["ingest", "import", "--tool", "trivy", f.to_str().unwrap()])
                .env("SNAPGOV_FAULT", format!("{step}:{mode}"))
                .output()
                .unwrap()
                .into();
            assert_ne!(r.code, 0, "{step}:{mode}");
            assert_eq!(active(&sb, "trivy")["id"], ids[0], "{step}:{mode}");
            sb.ok(&["ingest", "audit", "verify"]);
            sb.ok(&["ingest", "verify", &ids[0]]);
            assert_eq!(sb.store.integrity_check(), "ok");
        }
    }
    let failed = sb.json(&["ingest", "snapshots", "--state", "failed"]);
    assert_eq!(
        failed["snapshots"].as_array().unwrap().len(),
        5,
        "each failed (not aborted) attempt is recorded"
    );
}

/// Runs snapgov on a pseudo-terminal (util-linux `script`), typing `input`.
fn on_tty(sb: &Sandbox, args: &str, input: &str) -> common::Run {
    use std::io::Write;
    let bin = env!("CARGO_BIN_EXE_snapgov");
    let mut child = std::process::Command::new("script")
        .args(["-qec", &format!("{bin} {args}"), "/dev/null"])
        .env("SNAPGOV_DB", sb.location())
        .env("SNAPGOV_CONFIG", sb.path("config.toml"))
        .env("SNAPGOV_USER", "tester")
        .env("SNAPGOV_NOW", &sb.now)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("util-linux `script` runs");
    let mut stdin = child.stdin.take().unwrap();
    // Answer each prompt a line at a time, as a person would.
    for line in input.lines() {
        std::thread::sleep(std::time::Duration::from_millis(300));
        let _ = writeln!(stdin, "{line}");
    }
    drop(stdin);
    child.wait_with_output().unwrap().into()
}

#[test]
fn on_a_terminal_rollback_asks_for_a_reason_and_the_tool_name() {
    let mut sb = Sandbox::new();
    let ids = history(&mut sb, "trivy", &["2025-11-01", "2025-11-02"]);
    // A wrong name cancels and changes nothing.
    let r = on_tty(&sb, "ingest rollback --tool trivy", "bad feed\nsyft\n");
    assert!(
        r.stdout.contains("type the tool name (trivy)"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("cancelled"), "{}", r.stdout);
    assert_eq!(active(&sb, "trivy")["id"], ids[1]);
    // The tool name confirms; the prompted reason is recorded.
    let r = on_tty(&sb, "ingest rollback --tool trivy", "bad feed\ntrivy\n");
    assert!(
        r.stdout.contains("records added") && r.stdout.contains("rolled trivy back"),
        "{}",
        r.stdout
    );
    assert_eq!(active(&sb, "trivy")["id"], ids[0]);
    let a = sb.json(&["ingest", "audit", "list", "--event", "snapshot_rolled_back"]);
    assert_eq!(a["audit"][0]["details"]["reason"], "bad feed");
}

//! Tampering: edit, delete, reorder and truncate audit records, snapshot
//! rows and stored records directly in the SQLite file. `audit verify` (with
//! a checkpoint for truncation) and snapshot verification must detect every
//! case, naming the record.

mod common;

use common::Sandbox;
use snapgov::gen::FeedSpec;
use snapgov::ingest::Format;

struct Case {
    what: String,
    sql: String,
    /// Text the error must contain (the record it names).
    names: String,
}

fn case(what: impl Into<String>, sql: impl Into<String>, names: impl Into<String>) -> Case {
    Case {
        what: what.into(),
        sql: sql.into(),
        names: names.into(),
    }
}

fn build(sb: &mut Sandbox) -> (Vec<String>, u64) {
    let mut ids = Vec::new();
    for (i, day) in ["01", "02", "03"].iter().enumerate() {
        for tool in ["syft", "trivy"] {
            let f = sb.feed(
                &format!("{tool}{i}.json"),
                Format::TrivyJson,
                &FeedSpec {
                    packages: 40,
                    seed: i as u64 + 1,
                    churn_permille: 200,
                    ..Default::default()
                },
            );
            sb.now = format!("2025-11-{day}T00:00:00Z");
            let r = sb
                .ok(&[
                    "--json",
                    "ingest",
                    "import",
                    "--tool",
                    tool,
                    "--source-uri",
                    "s3://feeds/x",
                    "--reason",
                    "nightly",
                    f.to_str().unwrap(),
                ])
                .json();
            ids.push(r["import"]["snapshot"]["id"].as_str().unwrap().to_string());
        }
    }
    sb.now = "2025-11-04T00:00:00Z".into();
    sb.ok(&[
        "ingest", "rollback", "--tool", "syft", "--force", "--reason", "bad",
    ]);
    sb.ok(&[
        "ingest",
        "expire",
        "--snapshot-id",
        &ids[5],
        "--reason",
        "recalled",
    ]);
    let bad = sb.path("bad.json");
    std::fs::write(&bad, "{\"SchemaVersion\": 2, \"Results\": [").unwrap();
    assert_eq!(
        sb.run(&["ingest", "import", "--tool", "trivy", bad.to_str().unwrap()])
            .code,
        3
    );
    sb.ok(&[
        "ingest",
        "retention",
        "hold",
        "add",
        &ids[0],
        "--reason",
        "legal",
        "--until",
        "2026-11-01T00:00:00Z",
    ]);
    let n = sb.ok(&["--json", "ingest", "audit", "verify"]).json()["verify"]["recordsChecked"]
        .as_u64()
        .unwrap();
    (ids, n)
}

#[test]
fn every_kind_of_tampering_is_detected_and_named() {
    let mut sb = Sandbox::new();
    let (ids, n) = build(&mut sb);
    let cp = sb.path("head.json");
    sb.ok(&["ingest", "audit", "checkpoint", cp.to_str().unwrap()]);
    sb.conn()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();

    let mut cases = Vec::new();
    for s in 1..=n {
        let a = format!("audit-{s}");
        for (col, val) in [
            ("user", "'mallory'"),
            ("event", "CASE event WHEN 'snapshot_expired' THEN 'snapshot_archived' ELSE 'snapshot_expired' END"),
            ("timestamp", "'2030-01-01T00:00:00Z'"),
            ("details", "'{}'"),
            ("tool", "'other'"),
            ("snapshot_id", "'syft-20300101T000000Z-001'"),
            ("hash", "'b3:00'"),
            ("prev_hash", "'b3:00'"),
        ] {
            cases.push(case(format!("edit {col} of {a}"), format!("UPDATE audit SET {col} = {val} WHERE seq = {s}"), a.clone()));
        }
        if s < n {
            cases.push(case(
                format!("delete {a}"),
                format!("DELETE FROM audit WHERE seq = {s}"),
                a.clone(),
            ));
            cases.push(case(
                format!("swap {a} and the next"),
                format!("UPDATE audit SET seq = -1 WHERE seq = {s}; UPDATE audit SET seq = {s} WHERE seq = {}; UPDATE audit SET seq = {} WHERE seq = -1", s + 1, s + 1),
                a.clone(),
            ));
        }
    }
    for k in 1..=3 {
        cases.push(case(
            format!("truncate the last {k}"),
            format!("DELETE FROM audit WHERE seq > {}", n - k),
            "truncated",
        ));
    }
    let snapshots = sb.ok(&["--json", "ingest", "snapshots"]).json();
    for s in snapshots["snapshots"].as_array().unwrap() {
        let id = s["id"].as_str().unwrap();
        let other_state = if s["state"] == "archived" {
            "previous"
        } else {
            "archived"
        };
        let mut edits = vec![
            ("source_hash", "'b3:11'".to_string()),
            ("imported_at", "'2024-01-01T00:00:00Z'".to_string()),
            ("state", format!("'{other_state}'")),
        ];
        if s["state"] != "failed" {
            edits.extend([
                ("normalized_hash", "'b3:22'".to_string()),
                ("record_count", "7".to_string()),
                ("import_user", "'mallory'".to_string()),
                ("source_uri", "'s3://elsewhere'".to_string()),
                ("import_reason", "'nothing to see'".to_string()),
                (
                    "previous_snapshot",
                    "'syft-20000101T000000Z-001'".to_string(),
                ),
            ]);
        }
        for (col, val) in edits {
            cases.push(case(
                format!("edit {col} of {id}"),
                format!("UPDATE snapshots SET {col} = {val} WHERE id = '{id}'"),
                id,
            ));
        }
        cases.push(case(format!("forge a row beside {id}"), format!("INSERT INTO snapshots (id, tool, id_ts, seq, imported_at, source_hash, record_count, state, import_user) SELECT replace(id, '-001', '-009'), tool, id_ts, 9, imported_at, source_hash, record_count, 'previous', import_user FROM snapshots WHERE id = '{id}'"), id.replace("-001", "-009")));
    }
    cases.push(case(
        "move syft's active pointer",
        format!(
            "UPDATE tools SET active_snapshot = '{}' WHERE name = 'syft'",
            ids[4]
        ),
        "tool syft",
    ));
    // Stored records of a restorable snapshot (checked by snapshot verification).
    let target = &ids[2];
    let member = |extra: &str| {
        format!("(SELECT sr.record FROM snapshot_records sr JOIN snapshots s ON s.pk = sr.snapshot WHERE s.id = '{target}' ORDER BY sr.ident LIMIT 1 {extra})")
    };
    cases.push(case(
        "edit a stored record",
        format!(
            "UPDATE records SET body = replace(body, '\"name\":\"', '\"name\":\"x') WHERE id = {}",
            member("")
        ),
        "was altered",
    ));
    cases.push(case("delete a snapshot's record", format!("DELETE FROM snapshot_records WHERE record = {} AND snapshot = (SELECT pk FROM snapshots WHERE id = '{target}')", member("")), target.clone()));
    cases.push(case(
        "file two records under each other's identity",
        format!(
            "CREATE TEMP TABLE pair AS SELECT {a} AS a, {b} AS b; UPDATE snapshot_records SET record = CASE record WHEN (SELECT a FROM pair) THEN (SELECT b FROM pair) ELSE (SELECT a FROM pair) END WHERE snapshot = (SELECT pk FROM snapshots WHERE id = '{target}') AND record IN ((SELECT a FROM pair), (SELECT b FROM pair))",
            a = member(""),
            b = member("OFFSET 1")
        ),
        "filed under another identity",
    ));
    cases.push(case("truncate a snapshot's records", format!("DELETE FROM snapshot_records WHERE snapshot = (SELECT pk FROM snapshots WHERE id = '{target}') AND ident > (SELECT ident FROM snapshot_records WHERE snapshot = (SELECT pk FROM snapshots WHERE id = '{target}') ORDER BY ident LIMIT 1 OFFSET 5)"), target.clone()));

    let mut missed = Vec::new();
    for c in &cases {
        let copy = sb.path("tampered.db");
        std::fs::copy(sb.db(), &copy).unwrap();
        rusqlite::Connection::open(&copy)
            .unwrap()
            .execute_batch(&c.sql)
            .unwrap_or_else(|e| panic!("{}: {e}", c.what));
        let db = copy.to_str().unwrap();
        let audit = sb.run(&[
            "--db",
            db,
            "ingest",
            "audit",
            "verify",
            "--checkpoint",
            cp.to_str().unwrap(),
        ]);
        let snaps = sb.run(&["--db", db, "ingest", "verify", "--all"]);
        let detected = [&audit, &snaps]
            .iter()
            .any(|r| r.code == 6 && r.stderr.contains(&c.names));
        if !detected {
            missed.push(format!(
                "{}: audit verify {} «{}», verify --all {} «{}»",
                c.what,
                audit.code,
                audit.stderr.trim(),
                snaps.code,
                snaps.stderr.trim()
            ));
        }
        std::fs::remove_file(&copy).unwrap();
    }
    eprintln!(
        "tampering cases tried: {}, detected and named: {}",
        cases.len(),
        cases.len() - missed.len()
    );
    assert!(
        missed.is_empty(),
        "{} of {} undetected:\n{}",
        missed.len(),
        cases.len(),
        missed.join("\n")
    );
    // The untouched store verifies.
    sb.ok(&[
        "ingest",
        "audit",
        "verify",
        "--checkpoint",
        cp.to_str().unwrap(),
    ]);
    sb.ok(&["ingest", "verify", "--all"]);
}

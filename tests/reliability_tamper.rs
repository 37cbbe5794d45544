//! Tampering: edit, delete, reorder and truncate audit records, snapshot
//! rows and stored records directly in the store's database (SQLite or PostgreSQL). `audit verify` (with
//! a checkpoint for truncation) and snapshot verification must detect every
//! case, naming the record.

mod common;

use common::sql::lit;
use common::{import_args, tool_args, Sandbox};
use snapgov::ingest::Format;
use snapgov::synthetic_feed::FeedSpec;

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
                    vuln_percent: 30,
                    ..Default::default()
                },
            );
            sb.now = format!("2025-11-{day}T00:00:00Z");
            let r = sb.json(&import_args(
                tool,
                &["--source-uri", "s3://feeds/x", "--reason", "nightly"],
                f.to_str().unwrap(),
            ));
            ids.push(r["import"]["snapshot"]["id"].as_str().unwrap().to_string());
        }
    }
    sb.now = "2025-11-04T00:00:00Z".into();
    sb.ok(&tool_args(
        "rollback",
        "syft",
        &["--force", "--reason", "bad"],
    ));
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
    sb.ok(&["token", "create", "--role", "viewer", "--name", "ci"]);
    sb.ok(&["token", "create", "--role", "operator", "--name", "ops"]);
    sb.ok(&["token", "revoke", "ops"]);
    let n = sb.json(&["ingest", "audit", "verify"])["verify"]["recordsChecked"]
        .as_u64()
        .unwrap();
    (ids, n)
}

/// Writes an audit checkpoint to `head.json`.
fn checkpoint(sb: &Sandbox) -> std::path::PathBuf {
    let cp = sb.path("head.json");
    sb.ok(&["ingest", "audit", "checkpoint", cp.to_str().unwrap()]);
    cp
}

/// The SQL for SQLite, or for PostgreSQL when the tests run there (the few
/// edits whose functions differ: JSON, random bytes, blob literals).
fn either(sb: &Sandbox, lite: String, pg: String) -> String {
    if sb.is_postgres() {
        pg
    } else {
        lite
    }
}

#[test]
fn every_kind_of_tampering_is_detected_and_named() {
    let mut sb = Sandbox::new();
    let (ids, n) = build(&mut sb);
    let cp = checkpoint(&sb);

    let mut cases = Vec::new();
    for s in 1..=n {
        let a = format!("audit-{s}");
        for (col, val) in [
            ("\"user\"", "'mallory'"),
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
    let snapshots = sb.json(&["ingest", "snapshots"]);
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
    for (col, val) in [
        ("changed_by", "'mallory'"),
        ("changed_at", "'2020-01-01T00:00:00Z'"),
    ] {
        cases.push(case(
            format!("edit {col} of syft's active pointer"),
            format!("UPDATE tools SET {col} = {val} WHERE name = 'syft'"),
            "tool syft",
        ));
    }
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
    // Every table a query answers from: the active data `ingest records`
    // serves (item 1 of issue 10).
    let tool_key = |t: &str| format!("(SELECT id FROM tools WHERE name = '{t}')");
    cases.push(case(
        "delete the findings from syft's active data",
        format!("DELETE FROM active_records WHERE tool = {} AND record IN (SELECT id FROM records WHERE kind = 'vulnerability')", tool_key("syft")),
        "tool syft",
    ));
    cases.push(case(
        "add a record to syft's active data",
        either(
            &sb,
            format!("INSERT INTO active_records (tool, ident, record) VALUES ({}, zeroblob(16), (SELECT min(id) FROM records))", tool_key("syft")),
            format!("INSERT INTO active_records (tool, ident, record) VALUES ({}, decode(repeat('00', 16), 'hex'), (SELECT min(id) FROM records))", tool_key("syft")),
        ),
        "tool syft",
    ));
    cases.push(case(
        "re-point one of syft's active rows at another record",
        format!("UPDATE active_records SET record = (SELECT max(id) FROM records WHERE id <> active_records.record) WHERE tool = {t} AND ident = (SELECT ident FROM active_records WHERE tool = {t} ORDER BY ident LIMIT 1)", t = tool_key("syft")),
        "tool syft",
    ));
    cases.push(case(
        "give trivy (its active snapshot expired) active data again",
        format!("INSERT INTO active_records (tool, ident, record) SELECT {}, ident, record FROM snapshot_records WHERE snapshot = (SELECT pk FROM snapshots WHERE id = '{}')", tool_key("trivy"), ids[3]),
        "tool trivy",
    ));
    // Columns outside every hash that commands show or filter on (item 2).
    let restorable: Vec<String> = snapshots["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| ["active", "previous", "archived"].contains(&s["state"].as_str().unwrap()))
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    for id in &restorable {
        let first = |kind: &str| -> i64 {
            sb.sql_one(&format!("SELECT r.id FROM snapshot_records sr JOIN snapshots s ON s.pk = sr.snapshot JOIN records r ON r.id = sr.record WHERE s.id = '{id}' AND r.kind = '{kind}' ORDER BY sr.ident LIMIT 1"))
                .parse()
                .unwrap()
        };
        let (vuln, pkg) = (first("vulnerability"), first("package"));
        for (what, sql, rid) in [
            ("severity", format!("UPDATE records SET severity = CASE severity WHEN 'critical' THEN 'low' ELSE 'critical' END WHERE id = {vuln}"), vuln),
            ("severity to NULL", format!("UPDATE records SET severity = NULL WHERE id = {vuln}"), vuln),
            ("kind of a finding", format!("UPDATE records SET kind = 'package', severity = NULL WHERE id = {vuln}"), vuln),
            ("kind of a package", format!("UPDATE records SET kind = 'vulnerability', severity = 'critical' WHERE id = {pkg}"), pkg),
            ("subject", format!("UPDATE records SET subject = 'elsewhere' WHERE id = {pkg}"), pkg),
        ] {
            cases.push(case(format!("edit the {what} column of record {rid} (in {id})"), sql, format!("record {rid} (")));
        }
        cases.push(case(
            format!("redistribute the severities in the stats of {id}"),
either(
                &sb,
                format!("UPDATE snapshots SET stats = json_set(stats, '$.bySeverity', json_object('negligible', json_extract(stats, '$.vulnerabilities'))) WHERE id = '{id}'"),
                format!("UPDATE snapshots SET stats = jsonb_set(stats::jsonb, '{{bySeverity}}', jsonb_build_object('negligible', stats::jsonb -> 'vulnerabilities'))::text WHERE id = '{id}'"),
            ),
            id.clone(),
        ));
    }
    for s in snapshots["snapshots"].as_array().unwrap() {
        let id = s["id"].as_str().unwrap();
        let bump_packages = if sb.is_postgres() {
            "jsonb_set(stats::jsonb, '{packages}', to_jsonb((stats::jsonb ->> 'packages')::bigint + 1))::text"
        } else {
            "json_set(stats, '$.packages', json_extract(stats, '$.packages') + 1)"
        };
        let mut edits = vec![("state_changed_at", "'2020-01-01T00:00:00Z'")];
        if s["state"] == "failed" {
            edits.push(("failure_reason", "'nothing happened'"));
        } else {
            edits.extend([
                ("stats", bump_packages),
                ("format", "'cyclonedx'"),
                ("warnings", "'[\"forged warning\"]'"),
            ]);
        }
        for (col, val) in edits {
            cases.push(case(
                format!("edit {col} of {id}"),
                format!("UPDATE snapshots SET {col} = {val} WHERE id = '{id}'"),
                id,
            ));
        }
        // A whole snapshot removed: row, membership, records only it used (item 4).
        cases.push(case(
            format!("delete snapshot {id} entirely"),
            format!("CREATE TEMP TABLE gone AS SELECT pk FROM snapshots WHERE id = '{id}'; DELETE FROM snapshot_records WHERE snapshot IN (SELECT pk FROM gone); DELETE FROM records WHERE id NOT IN (SELECT record FROM snapshot_records) AND id NOT IN (SELECT record FROM active_records); DELETE FROM holds WHERE snapshot_id = '{id}'; DELETE FROM snapshots WHERE id = '{id}'"),
            id,
        ));
    }
    // Tokens and holds: rows the audited workflows write (item 5).
    let random_hash = if sb.is_postgres() {
        "'b3:' || md5(random()::text) || md5(random()::text)"
    } else {
        "'b3:' || hex(randomblob(32))"
    };
    for (what, sql, names) in [
        ("insert an admin token", format!("INSERT INTO tokens (name, role, hash, created_at, created_by) VALUES ('backdoor', 'admin', {random_hash}, '2025-11-02T00:00:00Z', 'tester')"), "backdoor"),
        ("un-revoke a token", "UPDATE tokens SET revoked_at = NULL, revoked_by = NULL WHERE name = 'ops'".into(), "ops"),
        ("raise a token's role", "UPDATE tokens SET role = 'admin' WHERE name = 'ci'".into(), "ci"),
        ("swap a token's hash", format!("UPDATE tokens SET hash = {random_hash} WHERE name = 'ci'"), "ci"),
        ("back-date a token", "UPDATE tokens SET created_at = '2020-01-01T00:00:00Z' WHERE name = 'ci'".into(), "ci"),
        ("delete a token", "DELETE FROM tokens WHERE name = 'ci'".into(), "ci"),
        ("revoke a token behind the trail's back", "UPDATE tokens SET revoked_at = '2025-11-04T00:00:00Z', revoked_by = 'mallory' WHERE name = 'ci'".into(), "ci"),
        ("insert a hold", format!("INSERT INTO holds (snapshot_id, reason, expires_at, created_by, created_at) VALUES ('{}', 'x', '2099-01-01T00:00:00Z', 'tester', '2025-11-04T00:00:00Z')", ids[1]), ids[1].as_str()),
        ("extend a hold", format!("UPDATE holds SET expires_at = '2099-01-01T00:00:00Z' WHERE snapshot_id = '{}'", ids[0]), ids[0].as_str()),
        ("delete a hold", format!("DELETE FROM holds WHERE snapshot_id = '{}'", ids[0]), ids[0].as_str()),
    ] {
        cases.push(case(what, sql, names));
    }
    cases.push(case("truncate a snapshot's records", format!("DELETE FROM snapshot_records WHERE snapshot = (SELECT pk FROM snapshots WHERE id = '{target}') AND ident > (SELECT ident FROM snapshot_records WHERE snapshot = (SELECT pk FROM snapshots WHERE id = '{target}') ORDER BY ident LIMIT 1 OFFSET 5)"), target.clone()));

    let mut missed = Vec::new();
    let tampering = sb.store.tampering();
    for c in &cases {
        let (audit, snaps) = tampering.case(&c.sql, || {
            let audit = sb.run(&[
                "ingest",
                "audit",
                "verify",
                "--checkpoint",
                cp.to_str().unwrap(),
            ]);
            (audit, sb.run(&["ingest", "verify", "--all"]))
        });
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
    }
    drop(tampering);
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

/// What an attacker with the database and the (public) hash definition does
/// to hide the oldest audit records: delete them, move the anchor, and append
/// a well-chained `audit_purged` record claiming a purge. Returns the SQL
/// that does it to the store as it is, and the forged record's id.
fn forge_purge(
    sb: &Sandbox,
    through: i64,
    timestamp: &str,
    before: &str,
    surviving: Option<Vec<String>>,
) -> (String, String) {
    use snapgov::domain::audit::{chain_hash, HashInput};
    let anchor = sb.sql_one(&format!("SELECT hash FROM audit WHERE seq = {through}"));
    let last = sb.sql_rows("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1");
    let (head, prev): (i64, String) = (last[0][0].parse().unwrap(), last[0][1].clone());
    let seq = head + 1;
    let id = format!("audit-{seq}");
    let mut details = serde_json::json!({
        "purgedFrom": "audit-1",
        "purgedThrough": format!("audit-{through}"),
        "count": through,
        "removedHash": "b3:00",
        "anchorHash": anchor,
        "before": before,
        "reason": "yearly purge",
    });
    if let Some(l) = surviving {
        details["survivingSnapshots"] = serde_json::json!(l);
    }
    let ts = snapgov::domain::time::parse_ts(timestamp).unwrap();
    let hash = chain_hash(
        &HashInput {
            id: &id,
            event: "audit_purged",
            timestamp: ts,
            user: "tester",
            details: &details,
            tool: None,
            snapshot_id: None,
        },
        &prev,
    );
    let sql = format!(
        "DELETE FROM audit WHERE seq <= {through}; \
         INSERT INTO meta (key, value) VALUES ('audit_anchor', {anchor}) ON CONFLICT (key) DO UPDATE SET value = excluded.value; \
         INSERT INTO audit (seq, id, event, timestamp, \"user\", details, prev_hash, hash) VALUES ({seq}, {id}, 'audit_purged', {ts}, 'tester', {details}, {prev}, {hash})",
        anchor = lit(&format!("{through} {anchor}")),
        id = lit(&id),
        ts = lit(timestamp),
        details = lit(&details.to_string()),
        prev = lit(&prev),
        hash = lit(&hash),
    );
    (sql, id)
}

/// (what, purged through, dated, cut-off, snapshots it claims to keep, what
/// the error must name: the forged record unless given)
type ForgedPurge<'a> = (
    &'a str,
    i64,
    &'a str,
    &'a str,
    Option<Vec<String>>,
    Option<String>,
);

#[test]
fn a_forged_purge_does_not_pass_the_checkpoint() {
    let mut sb = Sandbox::new();
    let (ids, _) = build(&mut sb);
    let cp = checkpoint(&sb);
    // The first two imports (audit-1 to audit-4) are hidden in each case.
    let first_kept = sb.sql_one("SELECT timestamp FROM audit WHERE seq = 5");
    let head: i64 = sb.sql_one("SELECT max(seq) FROM audit").parse().unwrap();
    let cases: [ForgedPurge; 5] = [
        // Records one to three days old, though the configured audit age is a year.
        ("within the audit age", 4, &sb.now, &first_kept, None, None),
        // Dated in the future to make the age look respected.
        (
            "dated in the future",
            4,
            "2027-01-01T00:00:00Z",
            "2025-12-01T00:00:00Z",
            None,
            None,
        ),
        // An old enough cut-off, but the snapshots whose import records it
        // hid were imported after it.
        (
            "hiding imports younger than its cut-off",
            4,
            &sb.now,
            "2024-01-01T00:00:00Z",
            None,
            Some(ids[0].clone()),
        ),
        // The same, listing every snapshot as one it kept.
        (
            "listing the snapshots it hid",
            4,
            &sb.now,
            "2024-01-01T00:00:00Z",
            Some(ids.clone()),
            Some(ids[0].clone()),
        ),
        // Through the checkpoint's own record, dated before the checkpoint.
        (
            "removing the checkpoint's record before it was written",
            head,
            "2025-11-03T00:00:00Z",
            "2024-01-01T00:00:00Z",
            Some(ids.clone()),
            Some("before the checkpoint was written".to_string()),
        ),
    ];
    let mut missed = Vec::new();
    for (what, through, ts, before, surviving, names) in cases {
        let (sql, forged) = forge_purge(&sb, through, ts, before, surviving);
        let names = names.unwrap_or(forged);
        let r = sb.store.with_tampered(&sql, || {
            sb.run(&[
                "ingest",
                "audit",
                "verify",
                "--checkpoint",
                cp.to_str().unwrap(),
            ])
        });
        eprintln!("{what}: exit {} «{}»", r.code, r.stderr.trim());
        if r.code != 6 || !r.stderr.contains(&names) {
            missed.push(format!("{what}: exit {} «{}»", r.code, r.stderr.trim()));
        }
    }
    assert!(missed.is_empty(), "undetected:\n{}", missed.join("\n"));
}

#[test]
fn after_a_real_purge_only_the_snapshots_it_attests_may_lack_an_import_record() {
    let mut sb = Sandbox::with_config("[retention]\naudit_max_age = \"P30D\"\n");
    let (ids, _) = build(&mut sb);
    let cp = sb.path("head.json");
    sb.ok(&["ingest", "audit", "checkpoint", cp.to_str().unwrap()]);
    sb.now = "2026-01-01T00:00:00Z".into();
    // Hides the imports of ids[0] and ids[1] (2025-11-01).
    let p = sb.json(&[
        "ingest",
        "audit",
        "purge",
        "--before",
        "2025-11-02T00:00:00Z",
        "--reason",
        "yearly",
    ]);
    assert_eq!(p["purge"]["purgedThrough"], "audit-4", "{p}");
    let verify = |sb: &Sandbox| {
        sb.run(&[
            "ingest",
            "audit",
            "verify",
            "--checkpoint",
            cp.to_str().unwrap(),
        ])
    };
    let r = verify(&sb);
    assert_eq!(r.code, 0, "a real purge verifies: {}", r.stderr);
    let forged = ids[0].replace("-001", "-009");
    for (what, sql, names) in [
        (
            "a row forged beside a snapshot whose import was purged",
            format!("INSERT INTO snapshots (id, tool, id_ts, seq, imported_at, source_hash, record_count, state, import_user) SELECT '{forged}', tool, id_ts, 9, imported_at, source_hash, record_count, 'previous', import_user FROM snapshots WHERE id = '{}'", ids[0]),
            forged.clone(),
        ),
        (
            "a row forged beside a recent snapshot",
            format!("INSERT INTO snapshots (id, tool, id_ts, seq, imported_at, source_hash, record_count, state, import_user) SELECT replace(id, '-001', '-009'), tool, id_ts, 9, imported_at, source_hash, record_count, 'previous', import_user FROM snapshots WHERE id = '{}'", ids[4]),
            ids[4].replace("-001", "-009"),
        ),
        (
            "a snapshot whose import was purged, deleted",
            format!("DELETE FROM snapshot_records WHERE snapshot = (SELECT pk FROM snapshots WHERE id = '{0}'); DELETE FROM holds WHERE snapshot_id = '{0}'; DELETE FROM snapshots WHERE id = '{0}'", ids[0]),
            ids[0].clone(),
        ),
    ] {
        let r = sb.store.with_tampered(&sql, || verify(&sb));
        assert!(
            r.code == 6 && r.stderr.contains(&names),
            "{what}: exit {} «{}»",
            r.code,
            r.stderr.trim()
        );
    }
}

/// A snapshot large enough that verification hashes it on a second thread,
/// in batches: a record altered at the first row, at either side of a
/// batch's edge, or at the last row is found and named, as in a small one.
#[test]
fn a_large_snapshot_is_verified_record_by_record_across_batches() {
    let sb = Sandbox::new();
    let f = sb.feed(
        "big.json",
        Format::TrivyJson,
        &FeedSpec {
            packages: 9_000,
            seed: 7,
            vuln_percent: 30,
            ..Default::default()
        },
    );
    let r = sb.json(&import_args("trivy", &[], f.to_str().unwrap()));
    let id = r["import"]["snapshot"]["id"].as_str().unwrap().to_string();
    let n: u64 = r["import"]["snapshot"]["recordCount"].as_u64().unwrap();
    assert!(n > 8_192 + 1, "three batches of 4,096 and more: {n}");
    let nth = |k: u64| {
        sb.sql_one(&format!(
            "SELECT record FROM snapshot_records WHERE snapshot = (SELECT pk FROM snapshots WHERE id = '{id}') ORDER BY record LIMIT 1 OFFSET {k}"
        ))
    };
    let mut cases = Vec::new();
    for k in [0, 4_095, 4_096, 8_191, n - 1] {
        let rid = nth(k);
        cases.push((
            format!("body of member {k}"),
            format!("UPDATE records SET body = replace(body, '\"name\":\"', '\"name\":\"x') WHERE id = {rid}"),
            rid,
        ));
    }
    let rid = nth(6_000);
    cases.push((
        "subject column of member 6000".into(),
        format!("UPDATE records SET subject = 'elsewhere' WHERE id = {rid}"),
        rid,
    ));
    let tampering = sb.store.tampering();
    for (what, sql, rid) in &cases {
        let out = tampering.case(sql, || sb.run(&["ingest", "verify", &id]));
        assert_eq!(out.code, 6, "{what}: {}", out.stderr);
        assert!(
            out.stderr.contains(&format!("record {rid} (")),
            "{what}: the error names record {rid}: {}",
            out.stderr
        );
    }
    drop(tampering);
    let v = sb.json(&["ingest", "verify", &id]);
    assert_eq!(v["verify"]["status"], "verified", "{v}");
    assert_eq!(v["verify"]["actualCount"], n, "{v}");
}

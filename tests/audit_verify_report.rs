//! `ingest audit verify`'s whole report, pinned: for an intact trail after a
//! purge, and for each kind of edit whose wording the report carries (the
//! records checked, the first failure, every snapshot and fact problem, in
//! order). The walk is tuned for speed (issue 14); whatever it reads, skips
//! or builds lazily, this report must stay what it was, on both engines.

mod common;

use common::sql::lit;
use common::{import_args, tool_args, Sandbox};
use snapgov::ingest::Format;
use snapgov::synthetic_feed::FeedSpec;

/// A trail with every kind of event the replay follows, then a purge of its
/// oldest day. Returns the snapshot ids in import order.
fn build(sb: &mut Sandbox) -> Vec<String> {
    let mut ids = Vec::new();
    for (i, day) in ["01", "02", "03"].iter().enumerate() {
        for tool in ["syft", "trivy"] {
            let spec = FeedSpec {
                packages: 30,
                seed: i as u64 + 1,
                churn_permille: 200,
                vuln_percent: 30,
                ..Default::default()
            };
            let f = sb.feed(&format!("{tool}{i}.json"), Format::TrivyJson, &spec);
            sb.now = format!("2025-11-{day}T00:00:00Z");
            let reason = "nightly \"run\" café\n";
            let args = ["--source-uri", "s3://feeds/x", "--reason", reason];
            let r = sb.json(&import_args(tool, &args, f.to_str().unwrap()));
            ids.push(r["import"]["snapshot"]["id"].as_str().unwrap().to_string());
        }
    }
    sb.now = "2025-11-04T00:00:00Z".into();
    sb.ok(&tool_args(
        "rollback",
        "syft",
        &["--force", "--reason", "bad"],
    ));
    let expire = [
        "ingest",
        "expire",
        "--snapshot-id",
        &ids[5],
        "--reason",
        "recalled",
    ];
    sb.ok(&expire);
    let bad = sb.path("bad.json");
    std::fs::write(&bad, "{\"SchemaVersion\": 2, \"Results\": [").unwrap();
    let failed = sb.run(&["ingest", "import", "--tool", "trivy", bad.to_str().unwrap()]);
    assert_eq!(failed.code, 3, "{}", failed.stderr);
    let until = "2026-11-01T00:00:00Z";
    let hold = [
        "ingest",
        "retention",
        "hold",
        "add",
        &ids[2],
        "--reason",
        "legal",
        "--until",
        until,
    ];
    sb.ok(&hold);
    sb.ok(&["token", "create", "--role", "viewer", "--name", "ci"]);
    sb.ok(&["token", "create", "--role", "operator", "--name", "ops"]);
    sb.ok(&["token", "revoke", "ops"]);
    sb.now = "2026-01-01T00:00:00Z".into();
    let before = "2025-11-02T00:00:00Z";
    sb.ok(&[
        "ingest", "audit", "purge", "--before", before, "--reason", "yearly",
    ]);
    ids
}

/// `--json ingest audit verify`: the exit code and the report, with what
/// differs between runs (the token fingerprints reach the head's hash) and
/// between engines masked.
fn report(sb: &Sandbox) -> String {
    let r = sb.run(&["--json", "ingest", "audit", "verify"]);
    let mut out = format!("exit {}\n", r.code);
    match serde_json::from_str::<serde_json::Value>(&r.stdout) {
        Ok(mut v) => {
            if let Some(h) = v["verify"].get_mut("headHash") {
                *h = "(masked)".into();
            }
            out.push_str(&serde_json::to_string_pretty(&v).unwrap());
        }
        Err(_) => out.push_str(&format!("stdout: {}", r.stdout)),
    }
    out.push_str(&format!("\nstderr: {}", r.stderr.trim()));
    out
}

/// The details of audit record `seq` as stored.
fn details(sb: &Sandbox, seq: u64) -> String {
    sb.sql_one(&format!("SELECT details FROM audit WHERE seq = {seq}"))
}

fn set_details(seq: u64, text: &str) -> String {
    format!("UPDATE audit SET details = {} WHERE seq = {seq}", lit(text))
}

#[test]
fn the_verify_report_is_pinned_for_each_kind_of_problem() {
    let mut sb = Sandbox::with_config("[retention]\naudit_max_age = \"P30D\"\n");
    let ids = build(&mut sb);
    insta::assert_snapshot!("intact_after_purge", report(&sb));

    // The first kept record and one in the middle, re-written in other
    // (equivalent) JSON: the hash covers the parsed details.
    let first = sb.sql_one("SELECT min(seq) FROM audit").parse().unwrap();
    let mid = first + 4;
    let pretty = |seq| {
        let v: serde_json::Value = serde_json::from_str(&details(&sb, seq)).unwrap();
        serde_json::to_string_pretty(&v).unwrap()
    };
    // Escapes that decode to the text the record was hashed with.
    let imported: u64 = sb
        .sql_one("SELECT min(seq) FROM audit WHERE event = 'snapshot_imported'")
        .parse()
        .unwrap();
    let escaped = details(&sb, imported)
        .replace('é', "\\u00e9")
        .replace("syft", "\\u0073yft");
    assert_ne!(
        escaped,
        details(&sb, imported),
        "the case must change the text"
    );
    let spaced = details(&sb, mid).replacen('"', " \"", 1);
    let cases: Vec<(&str, String)> = vec![
        ("reformatted", format!("{}; {}", set_details(first, &pretty(first)), set_details(mid, &pretty(mid)))),
        ("escaped", set_details(imported, &escaped)),
        ("details_edited", set_details(mid, &details(&sb, mid).replace("nightly", "nightlY"))),
        ("details_spaced", set_details(mid, &spaced)),
        ("details_unreadable", set_details(mid, "{\"snapshotId\": ")),
        ("details_not_an_object", set_details(mid, "[1, 2.50, -0, 1e3]")),
        ("user_edited", format!("UPDATE audit SET \"user\" = 'mallory' WHERE seq = {mid}")),
        ("record_removed", format!("DELETE FROM audit WHERE seq = {mid}")),
        ("rows_deleted", format!(
            "DELETE FROM snapshot_records WHERE snapshot IN (SELECT pk FROM snapshots WHERE id IN ('{0}', '{1}', '{2}')); DELETE FROM holds WHERE snapshot_id IN ('{0}', '{1}', '{2}'); DELETE FROM snapshots WHERE id IN ('{0}', '{1}', '{2}')",
            ids[0], ids[3], ids[5]
        )),
        ("state_edited", format!(
            "UPDATE snapshots SET state = 'archived', state_changed_at = '2025-12-01T00:00:00Z' WHERE id = '{}'",
            ids[3]
        )),
        ("pointer_edited", "UPDATE tools SET changed_by = 'mallory'".into()),
        ("token_deleted", "DELETE FROM tokens WHERE name = 'ci'".into()),
    ];
    let tampering = sb.store.tampering();
    for (name, sql) in &cases {
        let r = tampering.case(sql, || report(&sb));
        insta::assert_snapshot!(*name, r);
    }
}

/// A trail that contradicts many snapshots (here 14; in the benchmark, a
/// million) fails with an error that names the first few problems and how
/// many more there are, not one line holding them all; the JSON report
/// still lists every one. The same on the human and the JSON error.
#[test]
fn a_long_list_of_problems_is_summed_up_in_the_error() {
    let mut sb = Sandbox::new();
    let spec = FeedSpec {
        packages: 3,
        ..Default::default()
    };
    for i in 0..14 {
        let f = sb.feed(&format!("f{i}.json"), Format::TrivyJson, &spec);
        sb.now = format!("2025-11-01T00:{i:02}:00Z");
        sb.ok(&import_args("syft", &[], f.to_str().unwrap()));
    }
    sb.sql_batch("UPDATE snapshots SET state_changed_at = '2030-01-01T00:00:00Z'");

    let r = sb.run(&["--json", "ingest", "audit", "verify"]);
    assert_eq!(r.code, 6, "{}", r.stderr);
    let report: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let listed = report["verify"]["snapshotProblems"].as_array().unwrap();
    assert_eq!(listed.len(), 14);
    let err: serde_json::Value = serde_json::from_str(r.stderr.trim()).unwrap();
    let message = err["error"]["message"].as_str().unwrap();
    let first = listed[0].as_str().unwrap();
    assert!(message.contains(first), "{message}");
    assert!(!message.contains(listed[13].as_str().unwrap()), "{message}");
    assert_eq!(
        message.matches("differ from the audit trail").count(),
        10,
        "{message}"
    );
    assert!(
        message.ends_with("; and 4 more problems (`--json` lists them all)"),
        "{message}"
    );

    let human = sb.run(&["ingest", "audit", "verify"]);
    assert_eq!(human.code, 6);
    assert!(
        human.stderr.contains("and 4 more problems"),
        "{}",
        human.stderr
    );
    assert_eq!(
        human.stderr.matches("differ from the audit trail").count(),
        10
    );
}

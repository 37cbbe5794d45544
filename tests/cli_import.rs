//! Importing through the real binary: snapshots, ids, hashes, validation,
//! refusals that leave the store untouched, and the audit chain.

mod common;

use common::{expected_counts, import_args, reshuffle, Sandbox};
use snapgov::ingest::Format;
use snapgov::synthetic_feed::FeedSpec;

fn spec(packages: u64, seed: u64) -> FeedSpec {
    FeedSpec {
        packages,
        seed,
        churn_permille: if seed == 1 { 0 } else { 50 },
        ..Default::default()
    }
}

#[test]
fn an_import_becomes_the_active_snapshot_with_the_spec_record() {
    let sb = Sandbox::new();
    let s = spec(300, 1);
    let feed = sb.feed("t.json", Format::TrivyJson, &s);
    let (p, v) = expected_counts(&s);
    let r = sb.ok(&import_args(
        "trivy",
        &[
            "--reason",
            "scheduled_sync",
            "--source-uri",
            "s3://x/t.json",
        ],
        feed.to_str().unwrap(),
    ));
    assert!(
        r.stdout.contains("trivy-20251204T120000Z-001"),
        "{}",
        r.stdout
    );

    let list = sb.ok(&["ingest", "snapshots", "--json"]).json();
    let snaps = list["snapshots"].as_array().unwrap();
    assert_eq!(snaps.len(), 1);
    let snap = &snaps[0];
    for key in common::SNAPSHOT_KEYS {
        assert!(snap.get(key).is_some(), "missing {key}: {snap}");
    }
    assert_eq!(snap["id"], "trivy-20251204T120000Z-001");
    assert_eq!(snap["importedAt"], "2025-12-04T12:00:00Z");
    assert_eq!(snap["state"], "active");
    assert_eq!(snap["recordCount"], p + v);
    assert_eq!(snap["previousSnapshot"], serde_json::Value::Null);
    assert_eq!(snap["metadata"]["importUser"], "tester");
    assert_eq!(snap["metadata"]["importReason"], "scheduled_sync");
    assert_eq!(snap["metadata"]["sourceUri"], "s3://x/t.json");
    let bytes = std::fs::read(&feed).unwrap();
    assert_eq!(
        snap["sourceHash"],
        format!("b3:{}", blake3::hash(&bytes).to_hex())
    );
    assert!(snap["normalizedHash"].as_str().unwrap().starts_with("b3:"));
    assert_eq!(snap["stats"]["packages"], p);
    assert_eq!(snap["stats"]["vulnerabilities"], v);

    // Global options are accepted after the subcommand too.
    let show = sb
        .ok(&["ingest", "show", "trivy-20251204T120000Z-001", "--json"])
        .json();
    assert_eq!(show["snapshot"], *snap);
}

#[test]
fn a_second_import_links_to_the_first_and_sequences_count_within_a_second() {
    let sb = Sandbox::new();
    let a = sb.feed("a.json", Format::SyftJson, &spec(200, 1));
    let b = sb.feed("b.json", Format::SyftJson, &spec(200, 2));
    sb.ok(&["ingest", "import", "--tool", "syft", a.to_str().unwrap()]);
    sb.ok(&["ingest", "import", "--tool", "syft", b.to_str().unwrap()]);
    let snaps = sb
        .ok(&["ingest", "snapshots", "--tool", "syft", "--json"])
        .json();
    let s = snaps["snapshots"].as_array().unwrap();
    assert_eq!(s[0]["id"], "syft-20251204T120000Z-001");
    assert_eq!(s[0]["state"], "previous");
    assert_eq!(s[1]["id"], "syft-20251204T120000Z-002");
    assert_eq!(s[1]["state"], "active");
    assert_eq!(s[1]["previousSnapshot"], "syft-20251204T120000Z-001");
    assert_ne!(s[0]["normalizedHash"], s[1]["normalizedHash"]);
    let active = sb
        .ok(&["ingest", "snapshots", "--state", "active", "--json"])
        .json();
    assert_eq!(active["snapshots"].as_array().unwrap().len(), 1);
}

#[test]
fn a_reserialized_feed_has_the_same_normalized_hash_and_a_different_source_hash() {
    let sb = Sandbox::new();
    for (i, format) in [
        Format::SyftJson,
        Format::TrivyJson,
        Format::ClairV4,
        Format::Cyclonedx,
    ]
    .into_iter()
    .enumerate()
    {
        let feed = sb.feed(&format!("f{i}.json"), format, &spec(150, 1));
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&feed).unwrap()).unwrap();
        let shuffled = sb.path(&format!("f{i}-shuffled.json"));
        std::fs::write(
            &shuffled,
            serde_json::to_string_pretty(&reshuffle(&v)).unwrap(),
        )
        .unwrap();
        let a = sb.json(&import_args(
            &format!("orig{i}"),
            &[],
            feed.to_str().unwrap(),
        ));
        let b = sb.json(&import_args(
            &format!("shuf{i}"),
            &[],
            shuffled.to_str().unwrap(),
        ));
        let (a, b) = (&a["import"]["snapshot"], &b["import"]["snapshot"]);
        assert_eq!(a["normalizedHash"], b["normalizedHash"], "{format}");
        assert_eq!(a["recordCount"], b["recordCount"], "{format}");
        assert_ne!(a["sourceHash"], b["sourceHash"], "{format}");
    }
}

#[test]
fn stdin_and_several_files_make_one_snapshot() {
    let sb = Sandbox::new();
    let s1 = FeedSpec {
        subject: "img-a".into(),
        ..spec(100, 1)
    };
    let a = sb.feed("a.json", Format::SyftJson, &s1);
    let bytes = std::fs::read(&a).unwrap();
    let r = sb.run_stdin(
        &["--json", "ingest", "import", "--tool", "syft", "-"],
        &bytes,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let snap = &r.json()["import"]["snapshot"];
    assert_eq!(
        snap["sourceHash"],
        format!("b3:{}", blake3::hash(&bytes).to_hex())
    );
    assert_eq!(snap["recordCount"], 100);

    // Two files: the same packages twice merge; sourceHash covers both.
    let b = sb.feed(
        "b.json",
        Format::SyftJson,
        &FeedSpec {
            subject: "img-b".into(),
            ..spec(120, 1)
        },
    );
    let two = sb.json(&import_args(
        "multi",
        &[a.to_str().unwrap()],
        b.to_str().unwrap(),
    ));
    let s = &two["import"]["snapshot"];
    assert_eq!(s["recordCount"], 120);
    assert_eq!(two["import"]["recordsMerged"], 100);
    let mut hexes = [
        blake3::hash(&bytes).to_hex().to_string(),
        blake3::hash(&std::fs::read(&b).unwrap())
            .to_hex()
            .to_string(),
    ];
    hexes.sort();
    assert_eq!(
        s["sourceHash"],
        format!(
            "b3:{}",
            blake3::hash(format!("{}\n{}\n", hexes[0], hexes[1]).as_bytes()).to_hex()
        )
    );
}

/// The tables that must not change when an import is refused.
const DATA_TABLES: [&str; 4] = ["records", "snapshot_records", "active_records", "tools"];

#[test]
fn bad_input_is_refused_naming_the_file_and_only_the_failure_is_recorded() {
    let sb = Sandbox::new();
    let good = sb.feed("good.json", Format::SyftJson, &spec(50, 1));
    sb.ok(&["ingest", "import", "--tool", "syft", good.to_str().unwrap()]);

    let full = std::fs::read_to_string(&good).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "truncated.json",
            full.as_bytes()[..full.len() / 2].to_vec(),
            "line",
        ),
        (
            "unknown.json",
            br#"{"hello": "world"}"#.to_vec(),
            "syft-json, trivy-json, clair-v4, cyclonedx, snapgov",
        ),
        (
            "noname.json",
            full.replacen("\"name\":", "\"nome\":", 1).into_bytes(),
            "name",
        ),
        ("empty.json", Vec::new(), "empty"),
        (
            "binary.bin",
            vec![0x00, 0xff, 0xfe, 0x13, 0x37, 0x00, 0x80],
            "binary.bin",
        ),
    ];
    for (name, bytes, needle) in cases {
        let path = sb.path(name);
        std::fs::write(&path, &bytes).unwrap();
        let before = sb.dump();
        let r = sb.run(&["ingest", "import", "--tool", "syft", path.to_str().unwrap()]);
        assert_eq!(r.code, 3, "{name}: {}", r.stderr);
        assert!(
            r.stderr.contains(name),
            "{name}: error does not name the file: {}",
            r.stderr
        );
        assert!(
            r.stderr.contains(needle),
            "{name}: error lacks `{needle}`: {}",
            r.stderr
        );
        let after = sb.dump();
        for ((t, b), (_, a)) in before.iter().zip(&after) {
            if DATA_TABLES.contains(&t.as_str()) {
                assert_eq!(a, b, "{name}: table {t} changed");
            }
            if t == "snapshots" || t == "audit" {
                assert_eq!(
                    a.len(),
                    b.len() + 1,
                    "{name}: {t} should gain exactly the failure"
                );
                assert!(
                    b.iter().all(|row| a.contains(row)),
                    "{name}: an existing {t} row changed"
                );
            }
        }
        // The refused attempt is visible as failed, and syft's active snapshot is unchanged.
        let failed = sb
            .ok(&["ingest", "snapshots", "--state", "failed", "--json"])
            .json();
        let last = failed["snapshots"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        assert!(last["failureReason"].as_str().unwrap().contains(name));
        let active = sb
            .ok(&["ingest", "snapshots", "--state", "active", "--json"])
            .json();
        assert_eq!(active["snapshots"][0]["id"], "syft-20251204T120000Z-001");
    }
    sb.ok(&["ingest", "audit", "verify"]);
    let events = sb
        .ok(&[
            "ingest",
            "audit",
            "list",
            "--event",
            "snapshot_import_failed",
            "--json",
        ])
        .json();
    assert_eq!(events["audit"].as_array().unwrap().len(), 5);
}

#[test]
fn empty_and_shrinking_feeds_are_refused_unless_allowed() {
    let sb = Sandbox::new();
    let big = sb.feed("big.json", Format::TrivyJson, &spec(200, 1));
    sb.ok(&["ingest", "import", "--tool", "trivy", big.to_str().unwrap()]);
    let small = sb.feed("small.json", Format::TrivyJson, &spec(60, 1));
    let r = sb.run(&import_args("trivy", &[], small.to_str().unwrap()));
    assert_eq!(r.code, 3);
    assert!(r.stderr.contains("--allow-shrink"), "{}", r.stderr);
    // The automatic rollback to the previous snapshot is audited as system.
    let rb = sb
        .ok(&[
            "ingest",
            "audit",
            "list",
            "--event",
            "snapshot_rolled_back",
            "--json",
        ])
        .json();
    assert_eq!(rb["audit"][0]["user"], "system");
    assert_eq!(
        rb["audit"][0]["details"]["toSnapshot"],
        "trivy-20251204T120000Z-001"
    );
    sb.ok(&import_args(
        "trivy",
        &["--allow-shrink"],
        small.to_str().unwrap(),
    ));

    let empty = sb.path("empty.jsonl");
    std::fs::write(&empty, "{\"format\":\"snapgov\",\"version\":1}\n").unwrap();
    let r = sb.run(&import_args("custom", &[], empty.to_str().unwrap()));
    assert_eq!(r.code, 3);
    assert!(r.stderr.contains("--allow-empty"), "{}", r.stderr);
    let ok = sb.json(&import_args(
        "custom",
        &["--allow-empty"],
        empty.to_str().unwrap(),
    ));
    assert_eq!(ok["import"]["snapshot"]["recordCount"], 0);
}

#[test]
fn editing_the_audit_trail_or_a_snapshot_hash_is_detected_and_named() {
    let mut sb = Sandbox::new();
    for seed in 1..=3 {
        let f = sb.feed(&format!("f{seed}.json"), Format::SyftJson, &spec(80, seed));
        sb.now = format!("2025-12-0{}T00:00:00Z", seed + 1);
        sb.ok(&["ingest", "import", "--tool", "syft", f.to_str().unwrap()]);
    }
    let ok = sb.json(&["ingest", "audit", "verify"]);
    assert_eq!(ok["verify"]["status"], "ok");
    assert_eq!(ok["verify"]["recordsChecked"], 6);
    let cp = sb.path("head.json");
    sb.ok(&["ingest", "audit", "checkpoint", cp.to_str().unwrap()]);

    // Each case edits the store, and it is put back after.
    let tamper = |sql: &str| {
        sb.store.with_tampered(sql, || {
            sb.run(&[
                "ingest",
                "audit",
                "verify",
                "--checkpoint",
                cp.to_str().unwrap(),
            ])
        })
    };
    let cases = [
        (
            "UPDATE audit SET \"user\" = 'mallory' WHERE seq = 3",
            "audit-3 was edited",
        ),
        (
            "UPDATE audit SET details = replace(details, '80', '81') WHERE seq = 1",
            "audit-1 was edited",
        ),
        ("DELETE FROM audit WHERE seq = 2", "audit-2"),
        ("DELETE FROM audit WHERE seq >= 5", "truncated"),
        (
            "UPDATE snapshots SET normalized_hash = 'b3:00' WHERE id = 'syft-20251203T000000Z-001'",
            "syft-20251203T000000Z-001: normalizedHash",
        ),
        (
            "UPDATE snapshots SET record_count = 79 WHERE id = 'syft-20251202T000000Z-001'",
            "syft-20251202T000000Z-001: recordCount",
        ),
        (
            "UPDATE snapshots SET source_hash = 'b3:11' WHERE id = 'syft-20251204T000000Z-001'",
            "sourceHash",
        ),
    ];
    for (sql, needle) in cases {
        let r = tamper(sql);
        assert_eq!(r.code, 6, "{sql}: {}", r.stderr);
        assert!(
            r.stderr.contains(needle),
            "{sql}: `{needle}` not in: {}",
            r.stderr
        );
    }
    // Untouched again, it verifies.
    sb.ok(&[
        "ingest",
        "audit",
        "verify",
        "--checkpoint",
        cp.to_str().unwrap(),
    ]);
}

#[test]
fn an_edited_stored_record_fails_snapshot_verification() {
    let sb = Sandbox::new();
    let f = sb.feed("f.json", Format::SyftJson, &spec(40, 1));
    sb.ok(&["ingest", "import", "--tool", "syft", f.to_str().unwrap()]);
    let id = "syft-20251204T120000Z-001";
    let v = sb.json(&["ingest", "verify", id]);
    assert_eq!(v["verify"]["status"], "verified");
    sb.sql_exec("UPDATE records SET body = replace(body, '\"version\":\"', '\"version\":\"9') WHERE id = (SELECT min(id) FROM records)");
    let r = sb.run(&["ingest", "verify", id]);
    assert_eq!(r.code, 6, "{}", r.stderr);
    assert!(r.stderr.contains("was altered"), "{}", r.stderr);
}

#[test]
fn a_store_from_a_newer_snapgov_is_refused_clearly() {
    let sb = Sandbox::new();
    let f = sb.feed("f.json", Format::SyftJson, &spec(10, 1));
    sb.ok(&["ingest", "import", "--tool", "syft", f.to_str().unwrap()]);
    if sb.is_postgres() {
        sb.sql_exec("UPDATE snapgov_version SET version = 99");
    } else {
        sb.sql_batch("PRAGMA user_version = 99");
    }
    let r = sb.run(&["ingest", "snapshots"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("schema version 99") && r.stderr.contains("upgrade snapgov"),
        "{}",
        r.stderr
    );
}

#[test]
fn usage_errors_exit_2_and_say_what_to_do() {
    let sb = Sandbox::new();
    let r = sb.run(&["ingest", "import", "--tool", "Bad Name", "x.json"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("not a valid tool name"), "{}", r.stderr);
    let r = sb.run(&["ingest", "import", "--tool", "syft"]);
    assert_eq!(r.code, 2);
    let r = sb.run(&["ingest", "show", "nonsense"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("syft-20251204T000000Z-001"),
        "{}",
        r.stderr
    );
    let r = sb.run(&["--json", "ingest", "show", "syft-20251204T000000Z-001"]);
    assert_ne!(r.code, 0);
    let err: serde_json::Value = serde_json::from_str(r.stderr.trim()).unwrap();
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("snapgov demo")
            || err["error"]["kind"] == "not_found"
            || err["error"]["kind"] == "store"
    );
}

/// The demo ends with the command to explore its store; pasted into a
/// shell, it must work, whatever the location holds (a space in a path, a
/// PostgreSQL URL's `&`, which used to cut the command short).
#[test]
fn the_command_the_demo_prints_works_when_pasted_into_a_shell() {
    let sb = Sandbox::new();
    let db = if sb.store.is_postgres() {
        sb.location()
    } else {
        sb.path("my store.db").to_str().unwrap().to_string()
    };
    let r = sb.ok(&["--db", &db, "demo", "--no-console"]);
    let line = r
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("explore it: "))
        .unwrap_or_else(|| panic!("no command in:\n{}", r.stdout));
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_snapgov"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = std::process::Command::new("sh")
        .args(["-c", line])
        .env("PATH", path)
        .env_remove("SNAPGOV_DB")
        .current_dir(sb.path(""))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("syft"),
        "`{line}` exited {:?}:\n{stdout}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_demo_builds_a_store_with_history() {
    let sb = Sandbox::new();
    let r = sb.ok(&["--json", "demo", "--no-console"]);
    let v = r.json();
    assert!(v["demo"]["imports"].as_u64().unwrap() > 60);
    let snaps = sb.ok(&["ingest", "snapshots", "--json"]).json();
    let tools: std::collections::BTreeSet<String> = snaps["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["tool"].as_str().unwrap().to_string())
        .collect();
    assert!(tools.len() >= 4, "{tools:?}");
    assert!(snaps["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["state"] == "failed"));
    sb.ok(&["ingest", "audit", "verify"]);
}

/// A syft feed of `packages` packages whose first two packages are listed
/// again at its end with another location, so merging spans the whole feed.
fn feed_with_late_duplicates(sb: &Sandbox, name: &str, packages: u64) -> std::path::PathBuf {
    let path = sb.feed(name, Format::SyftJson, &spec(packages, 1));
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let artifacts = doc["artifacts"].as_array_mut().unwrap();
    for i in 0..2 {
        let mut again = artifacts[i].clone();
        again["id"] = serde_json::json!(format!("again-{i}"));
        again["locations"] = serde_json::json!([{"path": format!("/late/{i}")}]);
        artifacts.push(again);
    }
    std::fs::write(&path, serde_json::to_vec(&doc).unwrap()).unwrap();
    path
}

#[test]
fn a_large_feed_is_written_whole_and_merged_across_the_parsers_batches() {
    let sb = Sandbox::new();
    // Several thousand records: the parser hands them to the writer in
    // batches of hundreds, and the duplicates arrive batches after the
    // records they merge into.
    let feed = feed_with_late_duplicates(&sb, "big.json", 6_000);
    let merged = common::parse_merged(&feed);
    assert_eq!(merged.len(), 6_000);
    let expected =
        snapgov::store::records::normalized_hash_of(&merged.values().cloned().collect::<Vec<_>>());
    let r = sb.json(&import_args("syft", &[], feed.to_str().unwrap()))["import"].clone();
    assert_eq!(r["recordsReceived"], 6_002, "{r}");
    assert_eq!(r["recordsMerged"], 2, "{r}");
    let id = sb.active_id("syft");
    let snap = sb.snapshot(&id);
    assert_eq!(snap["recordCount"], 6_000);
    assert_eq!(snap["normalizedHash"], expected.as_str());
    sb.ok(&["ingest", "verify", &id]);
}

#[test]
fn a_record_over_the_size_limit_is_refused_by_its_number_and_nothing_is_kept() {
    let sb = Sandbox::with_config("[limits]\nmax_record_bytes = 2048\n");
    let good = sb.feed("good.json", Format::SyftJson, &spec(50, 1));
    sb.ok(&["ingest", "import", "--tool", "syft", good.to_str().unwrap()]);
    // Record 4,500 of 5,000 (far past the first batch) is too large.
    let path = sb.feed("huge.json", Format::SyftJson, &spec(5_000, 2));
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    doc["artifacts"][4_499]["name"] = serde_json::json!("n".repeat(3_000));
    std::fs::write(&path, serde_json::to_vec(&doc).unwrap()).unwrap();
    let before = sb.dump();
    let r = sb.run(&["ingest", "import", "--tool", "syft", path.to_str().unwrap()]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    for needle in ["huge.json", "record 4500", "max_record_bytes"] {
        assert!(r.stderr.contains(needle), "lacks `{needle}`: {}", r.stderr);
    }
    let after = sb.dump();
    for ((t, b), (_, a)) in before.iter().zip(&after) {
        if DATA_TABLES.contains(&t.as_str()) {
            assert_eq!(a, b, "table {t} changed");
        }
    }
    assert_eq!(sb.active_id("syft"), "syft-20251204T120000Z-001");
}

/// Whether the store has `snapshot_records`' index by record.
#[cfg(feature = "fault-injection")]
fn has_by_record_index(sb: &Sandbox) -> bool {
    let sql = if sb.is_postgres() {
        "SELECT count(*) FROM pg_indexes WHERE indexname = 'snapshot_records_by_record' AND schemaname = current_schema()"
    } else {
        "SELECT count(*) FROM sqlite_master WHERE name = 'snapshot_records_by_record'"
    };
    sb.sql_one(sql) == "1"
}

/// A large first import into a store with little in it rebuilds the index
/// by record after writing its members (SQLite); whether it succeeds, fails
/// at a step after the members are written, or the process dies there, the
/// index is in place and the data is what it was.
#[cfg(feature = "fault-injection")]
#[test]
fn a_large_first_import_keeps_the_index_by_record_whatever_happens() {
    let sb = Sandbox::new();
    let small = sb.feed("small.json", Format::SyftJson, &spec(50, 1));
    sb.ok(&[
        "ingest",
        "import",
        "--tool",
        "small",
        small.to_str().unwrap(),
    ]);
    let big = sb.feed("big.json", Format::SyftJson, &spec(12_000, 1));
    for mode in ["import_write", "import_validate:abort"] {
        let before = sb.dump();
        let r = sb
            .cmd(&["ingest", "import", "--tool", "syft", big.to_str().unwrap()])
            .env("SNAPGOV_FAULT", mode)
            .output()
            .unwrap();
        assert!(!r.status.success(), "{mode}: the fault did not stop it");
        assert!(has_by_record_index(&sb), "{mode}: the index is gone");
        let after = sb.dump();
        for ((t, b), (_, a)) in before.iter().zip(&after) {
            // (A failed import leaves a tools row for a new tool.)
            if ["records", "snapshot_records", "active_records"].contains(&t.as_str()) {
                assert_eq!(a, b, "{mode}: table {t} changed");
            }
        }
    }
    sb.ok(&["ingest", "import", "--tool", "syft", big.to_str().unwrap()]);
    assert!(has_by_record_index(&sb));
    let id = sb.active_id("syft");
    sb.ok(&["ingest", "verify", &id]);
    assert_eq!(sb.sql_one("SELECT count(*) FROM records"), "12000");
    sb.ok(&["ingest", "verify", &sb.active_id("small")]);
    sb.ok(&["ingest", "audit", "verify"]);
}

//! Crash safety: abort the process at every named step of every workflow,
//! and kill -9 it at pseudo-random moments; after each crash the store must
//! be intact, the audit chain must verify, every tool's active snapshot must
//! re-hash to its normalizedHash, and nothing half-written may be visible.

mod common;

use common::Sandbox;
use snapgov::ingest::Format;
use snapgov::synthetic_feed::FeedSpec;

/// The invariants that must hold after any crash.
fn assert_consistent(sb: &Sandbox, what: &str) {
    let ic = sb.store.integrity_check();
    assert_eq!(ic, "ok", "{what}: integrity_check");
    let v = sb.run(&["ingest", "audit", "verify"]);
    assert_eq!(v.code, 0, "{what}: audit verify: {}", v.stderr);
    let all = sb.json(&["ingest", "snapshots"]);
    let mut active_per_tool = std::collections::BTreeMap::<String, usize>::new();
    for s in all["snapshots"].as_array().unwrap() {
        let id = s["id"].as_str().unwrap();
        match s["state"].as_str().unwrap() {
            "active" | "previous" | "archived" => {
                let r = sb.run(&["ingest", "verify", id]);
                assert_eq!(r.code, 0, "{what}: {id} does not verify: {}", r.stderr);
                if s["state"] == "active" {
                    *active_per_tool
                        .entry(s["tool"].as_str().unwrap().to_string())
                        .or_default() += 1;
                }
            }
            "failed" => assert!(
                s["normalizedHash"].is_null() && s["recordCount"] == 0,
                "{what}: {s}"
            ),
            "expired" | "deleted" => {}
            other => panic!("{what}: unexpected state {other}"),
        }
    }
    assert!(
        active_per_tool.values().all(|n| *n == 1),
        "{what}: {active_per_tool:?}"
    );
}

#[cfg(feature = "fault-injection")]
#[test]
fn aborting_at_every_step_of_every_workflow_leaves_the_store_as_it_was() {
    let mut sb = Sandbox::with_config("[retention]\nprevious_max_age = \"PT1H\"\narchived_max_age = \"PT1H\"\naudit_max_age = \"PT1H\"\n");
    let feed = |sb: &Sandbox, n: u64| {
        sb.feed(
            &format!("f{n}.json"),
            Format::TrivyJson,
            &FeedSpec {
                packages: 120,
                seed: n,
                churn_permille: 50,
                ..Default::default()
            },
        )
    };
    // Tool a: archived snapshots due for deletion; tool b: previous ones due for archiving.
    for (i, t) in ["00", "02", "04", "06"].iter().enumerate() {
        sb.now = format!("2025-11-01T{t}:00:00Z");
        let f = feed(&sb, i as u64 + 1);
        sb.ok(&["ingest", "import", "--tool", "a", f.to_str().unwrap()]);
    }
    sb.now = "2025-11-01T07:00:00Z".into();
    sb.ok(&["ingest", "retention", "run"]);
    for (i, t) in ["05:00", "05:10", "05:20", "05:30"].iter().enumerate() {
        sb.now = format!("2025-11-01T{t}:00Z");
        let f = feed(&sb, i as u64 + 11);
        sb.ok(&common::import_args(
            "b",
            &["--imported-at", &sb.now],
            f.to_str().unwrap(),
        ));
    }
    sb.now = "2025-11-01T09:00:00Z".into();
    let plan = sb.json(&["ingest", "retention", "run", "--dry-run"]);
    assert!(
        !plan["retentionRun"]["archived"]
            .as_array()
            .unwrap()
            .is_empty()
            && !plan["retentionRun"]["deleted"]
                .as_array()
                .unwrap()
                .is_empty(),
        "{plan}"
    );
    let active_b = sb.json(&["ingest", "snapshots", "--tool", "b", "--state", "active"])
        ["snapshots"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let next = feed(&sb, 99);
    let next = next.to_str().unwrap();

    let workflows: Vec<(&[&str], Vec<&str>)> = vec![
        (
            &[
                "import_begin",
                "import_write",
                "import_validate",
                "import_activate",
                "import_commit",
            ],
            vec!["ingest", "import", "--tool", "b", next],
        ),
        (
            &[
                "verify_target",
                "savepoint",
                "restore",
                "verify_restore",
                "commit",
                "update_active",
                "audit",
            ],
            vec![
                "ingest",
                "rollback",
                "--tool",
                "b",
                "--force",
                "--reason",
                "crash test",
            ],
        ),
        (
            &["expire_begin", "expire_state", "expire_commit"],
            vec![
                "ingest",
                "expire",
                "--snapshot-id",
                &active_b,
                "--reason",
                "crash test",
            ],
        ),
        (
            &["retention_archive", "retention_delete", "retention_commit"],
            vec!["ingest", "retention", "run"],
        ),
        (
            &["purge_delete", "purge_audit"],
            vec![
                "ingest",
                "audit",
                "purge",
                "--before",
                "2025-11-01T08:00:00Z",
                "--reason",
                "crash test",
            ],
        ),
    ];
    let mut tried = 0;
    for (steps, args) in &workflows {
        for step in *steps {
            let before = sb.dump();
            let out = sb
                .cmd(args)
                .env("SNAPGOV_FAULT", format!("{step}:abort"))
                .output()
                .unwrap();
            assert!(!out.status.success(), "{step}: the abort did not stop it");
            assert!(
                String::from_utf8_lossy(&out.stderr).contains(&format!("aborting at step {step}")),
                "{step}: never reached"
            );
            assert_consistent(&sb, step);
            assert_eq!(sb.dump(), before, "{step}: the crash changed the store");
            tried += 1;
        }
        // Without a fault the same command completes (the crash left nothing in its way).
        sb.ok(args);
        assert_consistent(&sb, &format!("{args:?} after the crashes"));
    }
    eprintln!("crash points tried: {tried}");
    assert_eq!(tried, 20);
}

/// A small deterministic pseudo-random sequence (no rand crate needed).
fn lcg(seed: &mut u64) -> u64 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    *seed >> 33
}

#[test]
fn kill_9_at_random_moments_loses_nothing() {
    let mut sb = Sandbox::new();
    let feeds: Vec<_> = (1..=3u64)
        .map(|s| {
            sb.feed(
                &format!("big{s}.json"),
                Format::SyftJson,
                &FeedSpec {
                    packages: 15_000,
                    seed: s,
                    churn_permille: 100,
                    ..Default::default()
                },
            )
        })
        .collect();
    sb.ok(&[
        "ingest",
        "import",
        "--tool",
        "syft",
        feeds[0].to_str().unwrap(),
    ]);
    sb.now = "2025-12-04T12:00:01Z".into();
    // Kill within the time an import really takes on this build and machine.
    let t = std::time::Instant::now();
    sb.ok(&[
        "ingest",
        "import",
        "--tool",
        "syft",
        feeds[1].to_str().unwrap(),
    ]);
    // Each kind of work (import, rollback) keeps its own estimate of how
    // long it runs; a kill that came too late shrinks it, so that on a
    // loaded machine (where the first measurement is inflated) the kills
    // still land mid-run instead of the test passing without testing.
    let mut span = [(t.elapsed().as_millis() as u64).max(50); 2];
    let mut seed = 42u64;
    let mut killed = 0;
    let mut rounds = 0;
    while rounds < 12 || (killed < 3 && rounds < 40) {
        let round = rounds;
        rounds += 1;
        sb.now = format!("2025-12-04T13:{:02}:00Z", round);
        let kind = round % 2;
        let args: Vec<String> = if kind == 0 {
            vec![
                "ingest".into(),
                "import".into(),
                "--tool".into(),
                "syft".into(),
                feeds[round % 3].display().to_string(),
            ]
        } else {
            vec![
                "ingest".into(),
                "rollback".into(),
                "--tool".into(),
                "syft".into(),
                "--force".into(),
                "--reason".into(),
                "kill test".into(),
            ]
        };
        let args: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        let mut child = sb
            .cmd(&args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let est = span[kind];
        let delay = est / 20 + lcg(&mut seed) % (est * 9 / 10).max(1);
        std::thread::sleep(std::time::Duration::from_millis(delay));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            killed += 1;
        } else {
            span[kind] = (est * 3 / 4).max(20);
        }
        child.wait().unwrap();
        assert_consistent(
            &sb,
            &format!("round {round} (killed after {delay} ms of ~{est} ms)"),
        );
    }
    eprintln!("kill -9 rounds: {rounds}, of which killed mid-run: {killed}");
    assert!(
        killed >= 3,
        "too few kills landed mid-run ({killed}); the workload is too fast"
    );
}

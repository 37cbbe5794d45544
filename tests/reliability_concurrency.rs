//! Eight processes at once importing, rolling back and running retention on
//! one store: no lost update, no duplicated id, every loser gets a clear
//! conflict or busy error, and the audit chain stays linear and verifiable.

mod common;

use common::{Run, Sandbox};
use snapgov::ingest::Format;
use snapgov::synthetic_feed::FeedSpec;
use std::collections::{BTreeMap, BTreeSet};

const PROCS: usize = 8;
const OPS: usize = 6;
/// A rollback that loses its race is retried, so that on a slow machine
/// (where every first try can lose to an import) some rollback still lands.
const RETRIES: usize = 4;

#[derive(Debug)]
struct Outcome {
    op: &'static str,
    run: Run,
}

#[test]
fn eight_processes_share_one_store_without_losing_anything() {
    let sb = Sandbox::new();
    let tools = ["alpha", "beta"];
    let mut feeds = Vec::new();
    for seed in 1..=4u64 {
        feeds.push(sb.feed(
            &format!("f{seed}.json"),
            Format::SyftJson,
            &FeedSpec {
                packages: 300,
                seed,
                churn_permille: 50,
                ..Default::default()
            },
        ));
    }
    // Two snapshots per tool so rollbacks have somewhere to go.
    for t in tools {
        for f in &feeds[..2] {
            sb.ok(&["ingest", "import", "--tool", t, f.to_str().unwrap()]);
        }
    }
    let outcomes: Vec<Outcome> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..PROCS)
            .map(|p| {
                let sb = &sb;
                let feeds = &feeds;
                s.spawn(move || {
                    let mut out = Vec::new();
                    for k in 0..OPS {
                        let tool = tools[(p + k) % 2];
                        let (op, args): (&'static str, Vec<String>) = match (p + k) % 3 {
                            0 => (
                                "import",
                                vec![
                                    "--json".into(),
                                    "ingest".into(),
                                    "import".into(),
                                    "--tool".into(),
                                    tool.into(),
                                    "--allow-shrink".into(),
                                    feeds[(p * 7 + k) % feeds.len()].display().to_string(),
                                ],
                            ),
                            1 => {
                                // Preview-then-act, as an operator does: the
                                // active snapshot may change in between, and
                                // the loser reviews the new state and tries
                                // again (every attempt is checked below).
                                for _ in 0..RETRIES {
                                    let seen = sb.run(&common::active_args(tool));
                                    let args = common::guarded_rollback_args(
                                        &seen,
                                        tool,
                                        &format!("p{p} op{k}"),
                                    );
                                    let args: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
                                    let run = sb.run(&args);
                                    let lost = run.code == 5;
                                    out.push(Outcome {
                                        op: "rollback",
                                        run,
                                    });
                                    if !lost {
                                        break;
                                    }
                                }
                                continue;
                            }
                            _ => (
                                "retention",
                                vec![
                                    "--json".into(),
                                    "ingest".into(),
                                    "retention".into(),
                                    "run".into(),
                                ],
                            ),
                        };
                        let args: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
                        out.push(Outcome {
                            op,
                            run: sb.run(&args),
                        });
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });

    let mut imported = BTreeSet::new();
    let mut rolled_back = 0;
    let mut counts: BTreeMap<(&str, i32), usize> = BTreeMap::new();
    for o in &outcomes {
        *counts.entry((o.op, o.run.code)).or_default() += 1;
        assert!(
            !o.run.stderr.contains("database is locked"),
            "raw SQLite error leaked: {}",
            o.run.stderr
        );
        match o.run.code {
            0 => match o.op {
                "import" => {
                    let id = o.run.json()["import"]["snapshot"]["id"]
                        .as_str()
                        .unwrap()
                        .to_string();
                    assert!(imported.insert(id.clone()), "duplicate id {id}");
                }
                "rollback" => rolled_back += 1,
                _ => {}
            },
            // The loser of a race: a conflict naming who changed what, or busy.
            5 => {
                assert!(o.op == "rollback" || o.run.stderr.contains("busy"), "{o:?}");
                assert!(
                    o.run.stderr.contains("changed") || o.run.stderr.contains("busy"),
                    "{}",
                    o.run.stderr
                );
            }
            // A rollback with nothing left to roll back to is refused plainly.
            1 if o.op == "rollback" => assert!(
                o.run.stderr.contains("no earlier restorable") || o.run.stderr.contains("already"),
                "{}",
                o.run.stderr
            ),
            _ => panic!("unexpected outcome {o:?}"),
        }
    }
    eprintln!("outcomes: {counts:?}");
    assert!(!imported.is_empty() && rolled_back > 0, "{counts:?}");

    // Nothing lost: every successful import is a stored snapshot, and the
    // trail has exactly one import record per snapshot.
    let all = sb.json(&["ingest", "snapshots"]);
    let ids: Vec<String> = all["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "duplicate snapshot ids");
    for id in &imported {
        assert!(unique.contains(id), "{id} lost");
    }
    let imports = sb.json(&common::audit_list_args("snapshot_imported", "1000"));
    assert_eq!(
        imports["audit"].as_array().unwrap().len(),
        imported.len() + 4
    );
    let rbs = sb.json(&common::audit_list_args("snapshot_rolled_back", "1000"));
    assert_eq!(rbs["audit"].as_array().unwrap().len(), rolled_back);
    // Exactly one active, verified snapshot per tool; a linear, valid chain.
    for t in tools {
        let a = sb.json(&["ingest", "snapshots", "--tool", t, "--state", "active"]);
        let a = a["snapshots"].as_array().unwrap();
        assert_eq!(a.len(), 1, "{t}: {a:?}");
        sb.ok(&["ingest", "verify", a[0]["id"].as_str().unwrap()]);
    }
    sb.ok(&["ingest", "audit", "verify"]);
    let ic = sb.store.integrity_check();
    assert_eq!(ic, "ok");
}

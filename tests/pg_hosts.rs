//! Many hosts at once on one PostgreSQL store (issue 15): two `serve`s share
//! the scheduled work, consoles hear of other hosts' writes, a database
//! restart mid-operation changes nothing, and processes racing on one
//! database lose nothing. PostgreSQL only: each test returns early (saying
//! so) when `SNAPGOV_TEST_POSTGRES` is unset.

mod api_common;
mod common;

use api_common::{Scratch, Server, NOW};
use common::pg::test_url;
use common::{snapgov_cmd_at, Run};
use serde_json::json;
use snapgov::ingest::Format;
use snapgov::store::{Location, Store};
use snapgov::synthetic_feed::FeedSpec;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::{Duration, Instant};

fn on_postgres(test: &str) -> bool {
    if test_url().is_none() {
        eprintln!("{test}: skipped: PostgreSQL only; set SNAPGOV_TEST_POSTGRES to run it");
        return false;
    }
    true
}

fn run(cmd: &mut Command) -> Run {
    cmd.output().unwrap().into()
}

fn ok(s: &Scratch, args: &[&str]) -> Run {
    let r = run(&mut s.cmd(args));
    assert_eq!(r.code, 0, "snapgov {args:?}: {}\n{}", r.stdout, r.stderr);
    r
}

fn feed(s: &Scratch, name: &str, seed: u64, packages: u64) -> String {
    let p = s.path(name);
    let mut f = std::fs::File::create(&p).unwrap();
    let spec = FeedSpec {
        packages,
        seed,
        churn_permille: 50,
        ..Default::default()
    };
    snapgov::synthetic_feed::write_feed(Format::SyftJson, &spec, &mut f).unwrap();
    p.to_str().unwrap().to_string()
}

/// What a user can see of the store: every snapshot and the whole trail.
fn visible(s: &Scratch) -> (String, String) {
    (
        ok(s, &["--json", "ingest", "snapshots"]).stdout,
        ok(
            s,
            &["--json", "ingest", "audit", "list", "--limit", "100000"],
        )
        .stdout,
    )
}

fn active_id(s: &Scratch, tool: &str) -> String {
    let v = ok(s, &common::active_args(tool)).json();
    v["snapshots"][0]["id"].as_str().unwrap().to_string()
}

fn count(server: &Server, pred: impl Fn(&str) -> bool) -> usize {
    server.log().iter().filter(|l| pred(l)).count()
}

fn ran_retention(server: &Server) -> usize {
    count(server, |l| l.contains("scheduled retention run done"))
}

fn skipped_retention(server: &Server) -> usize {
    count(server, |l| {
        l.contains("already done by another") && l.contains("retention")
    })
}

fn skipped_sla(server: &Server) -> usize {
    count(server, |l| {
        l.contains("already done by another") && l.contains("sla_check")
    })
}

/// `snapgov serve` on the real clock (the scheduler's ticks are real minutes).
fn serve_live(s: &Scratch) -> Server {
    let mut c = s.cmd(&["serve", "--listen", "127.0.0.1:0"]);
    c.env_remove("SNAPGOV_NOW");
    Server::spawn(c)
}

fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    f()
}

#[test]
fn two_serves_run_each_scheduled_tick_once_and_either_survives_the_others_death() {
    if !on_postgres("two_serves") {
        return;
    }
    // Every minute: retention and the SLA check.
    let s =
        Scratch::demo("[retention]\nschedule = \"* * * * *\"\n[sla]\ncheck_interval = \"PT1M\"\n");
    // Both must start inside one minute, so that their first slot is the same.
    let sec = chrono::Utc::now().timestamp() % 60;
    if sec > 45 {
        std::thread::sleep(Duration::from_secs((62 - sec) as u64));
    }
    let a = serve_live(&s);
    let b = serve_live(&s);
    // The first slot: one of them runs it, the other finds it done.
    let first = wait_until(Duration::from_secs(80), || {
        ran_retention(&a) + skipped_retention(&a) >= 1
            && ran_retention(&b) + skipped_retention(&b) >= 1
    });
    assert!(
        first,
        "no scheduled retention run in 80 s:\nA: {:#?}\nB: {:#?}",
        a.log(),
        b.log()
    );
    assert_eq!(
        (
            ran_retention(&a) + ran_retention(&b),
            skipped_retention(&a) + skipped_retention(&b)
        ),
        (1, 1),
        "one run and one skip per slot:\nA: {:#?}\nB: {:#?}",
        a.log(),
        b.log()
    );
    // The scheduled SLA check of a minute ran once too: this minute's, or
    // (when the retention run held the write lock past the claim's wait,
    // and both checked) the next one's.
    assert!(
        wait_until(Duration::from_secs(75), || skipped_sla(&a)
            + skipped_sla(&b)
            >= 1),
        "no SLA check was left to the other serve:\nA: {:#?}\nB: {:#?}",
        a.log(),
        b.log()
    );
    // The audit trail has each retention action once.
    let trail = ok(
        &s,
        &["--json", "ingest", "audit", "list", "--limit", "100000"],
    )
    .json();
    let mut seen = BTreeSet::new();
    let mut retention_events = 0;
    for r in trail["audit"].as_array().unwrap() {
        if r["user"] == "system" {
            retention_events += 1;
            let key = (r["event"].to_string(), r["snapshotId"].to_string());
            assert!(seen.insert(key.clone()), "audited twice: {key:?}");
        }
    }
    eprintln!("the first scheduled run audited {retention_events} actions");
    assert!(
        retention_events > 0,
        "the demo store has old snapshots to archive"
    );

    // kill -9 the one that ran it: the other carries on with the next slot.
    let (mut dead, survivor) = if ran_retention(&a) == 1 {
        (a, b)
    } else {
        (b, a)
    };
    dead.kill9();
    let before = ran_retention(&survivor);
    assert!(
        wait_until(Duration::from_secs(80), || ran_retention(&survivor)
            > before),
        "the survivor ran no retention after the other died:\n{:#?}",
        survivor.log()
    );
    assert!(
        survivor.api(None).get("/healthz").status().is_success(),
        "the survivor still serves"
    );
    ok(&s, &["ingest", "audit", "verify"]);
}

#[test]
fn a_write_from_another_process_is_notified_within_two_seconds() {
    if !on_postgres("notify") {
        return;
    }
    let s = Scratch::demo("");
    let loc = Location::parse(s.location());
    let mut l = Store::listen_for_changes(&loc)
        .unwrap()
        .expect("a listener on PostgreSQL");
    assert!(!l.wait(Duration::from_millis(300)).unwrap(), "nothing yet");

    // A read is not a change.
    ok(&s, &["ingest", "snapshots"]);
    assert!(
        !l.wait(Duration::from_millis(500)).unwrap(),
        "a read notified"
    );

    // A write that fails commits nothing and notifies nothing.
    let failed = run(s
        .cmd(&["ingest", "retention", "run"])
        .env("SNAPGOV_FAULT", "retention_commit"));
    assert_ne!(failed.code, 0, "{failed:?}");
    assert!(
        !l.wait(Duration::from_millis(500)).unwrap(),
        "a failed retention run notified"
    );
    let f = feed(&s, "f.json", 7, 50);

    // A committed import is heard within 2 s of its end.
    ok(
        &s,
        &["ingest", "import", "--tool", "syft", "--allow-shrink", &f],
    );
    let heard = Instant::now();
    assert!(
        l.wait(Duration::from_secs(2)).unwrap(),
        "no notification in 2 s"
    );
    eprintln!("heard after {:?}", heard.elapsed());
    // Heard once: nothing else is pending.
    assert!(!l.wait(Duration::from_millis(300)).unwrap());
}

/// The store's location, its connections named `app` (so that the test can
/// end exactly those, as a database restart would).
fn named(s: &Scratch, app: &str) -> String {
    format!("{}&application_name={app}", s.location())
}

/// Ends every backend of the test database named `app`; how many.
fn terminate(app: &str) -> usize {
    let mut c = common::pg::connect(&test_url().unwrap());
    c.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
        &[&app],
    )
    .unwrap()
    .len()
}

/// Runs `args` paused at fault point `step`, ends its database connection
/// there (as a restart would), lets it go on, and returns how it ended.
fn restart_at(s: &Scratch, step: &str, app: &str, args: &[&str]) -> Run {
    let gate = s.path(&format!("gate-{app}"));
    let reached = s.path(&format!("gate-{app}.reached"));
    let child = snapgov_cmd_at(&named(s, app), s.dir.path(), NOW, args)
        .env("SNAPGOV_FAULT", format!("{step}:wait={}", gate.display()))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(60), || reached.exists()),
        "{args:?} never reached {step}"
    );
    assert!(terminate(app) >= 1, "no connection named {app}");
    std::fs::write(&gate, "go").unwrap();
    child.wait_with_output().unwrap().into()
}

fn assert_lost_connection(r: &Run, what: &str) {
    assert_eq!(r.code, 1, "{what}: {r:?}");
    for words in [
        "lost the connection to the database",
        "changed nothing",
        "run it again",
    ] {
        assert!(
            r.stderr.contains(words),
            "{what}: no {words:?} in {}",
            r.stderr
        );
    }
}

#[test]
fn a_database_restart_mid_import_or_mid_rollback_changes_nothing() {
    if !on_postgres("restart") {
        return;
    }
    let s = Scratch::demo("");
    let f = feed(&s, "f.json", 11, 400);
    let import = [
        "ingest",
        "import",
        "--tool",
        "syft",
        "--allow-shrink",
        f.as_str(),
    ];

    for step in ["import_begin", "import_write", "import_activate"] {
        let before = visible(&s);
        let r = restart_at(&s, step, &format!("snapgov_t_imp_{step}"), &import);
        assert_lost_connection(&r, step);
        assert_eq!(
            visible(&s),
            before,
            "the import at {step} changed the store"
        );
    }
    // The next command connects afresh and works.
    ok(&s, &import);

    let active = active_id(&s, "syft");
    let rollback = [
        "ingest",
        "rollback",
        "--tool",
        "syft",
        "--force",
        "--reason",
        "restart test",
        "--expect-active",
        active.as_str(),
    ];
    for step in ["verify_target", "restore", "update_active", "audit"] {
        let before = visible(&s);
        let r = restart_at(&s, step, &format!("snapgov_t_rb_{step}"), &rollback);
        assert_lost_connection(&r, step);
        assert_eq!(
            visible(&s),
            before,
            "the rollback at {step} changed the store"
        );
    }
    ok(&s, &rollback);
    assert_ne!(active_id(&s, "syft"), active);
    ok(&s, &["ingest", "audit", "verify"]);
}

#[test]
fn serve_drops_the_connections_a_restart_ended_and_keeps_serving() {
    if !on_postgres("serve restart") {
        return;
    }
    let s = Scratch::demo("");
    let token = s.token("viewer", "v");
    let app = "snapgov_t_serve_restart";
    let mut cmd = snapgov_cmd_at(
        &named(&s, app),
        s.dir.path(),
        NOW,
        &["serve", "--listen", "127.0.0.1:0"],
    );
    cmd.env_remove("SNAPGOV_FAULT");
    let server = Server::spawn(cmd);
    let api = server.api(Some(&token));
    api_common::expect(api.get("/api/v1/ingest/snapshots"), 200);
    assert!(terminate(app) >= 1);
    // A connection idle for a while is checked before it is reused.
    std::thread::sleep(Duration::from_millis(2500));
    for _ in 0..5 {
        api_common::expect(api.get("/api/v1/ingest/snapshots"), 200);
    }
    // A restart while several connections are hot (requests at once fill
    // the pool): at most one retryable 503, then served again; the dead
    // connections left in the pool are not handed out one by one.
    for round in 0..3 {
        let hot: Vec<_> = (0..6)
            .map(|_| {
                let api = api.clone();
                std::thread::spawn(move || api.get("/api/v1/ingest/snapshots").status().as_u16())
            })
            .collect();
        for h in hot {
            assert_eq!(h.join().unwrap(), 200, "round {round}");
        }
        assert!(terminate(app) >= 1);
        let r = api.get("/api/v1/ingest/snapshots");
        let code = r.status().as_u16();
        assert!(code == 200 || code == 503, "{code}: {}", r.text().unwrap());
        for _ in 0..3 {
            api_common::expect(api.get("/api/v1/ingest/snapshots"), 200);
        }
    }
}

#[derive(Debug)]
struct Outcome {
    op: &'static str,
    run: Run,
}

const PROCS: usize = 8;
const OPS: usize = 5;
/// A rollback that loses its race is retried (a fresh preview each time), so
/// that on a loaded machine some rollback still lands.
const RETRIES: usize = 4;
/// When the seed snapshots were imported: old enough to purge.
const SEEDED: &str = "2025-12-01T00:00:00Z";

fn racer_args(
    s: &Scratch,
    p: usize,
    k: usize,
    tools: &[&str],
    feeds: &[String],
) -> (&'static str, Vec<String>) {
    let tool = tools[(p + k) % tools.len()];
    let v = |a: &[&str]| a.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    match (p + k) % 4 {
        0 => (
            "import",
            v(&[
                "--json",
                "ingest",
                "import",
                "--tool",
                tool,
                "--allow-shrink",
                &feeds[(p * 7 + k) % feeds.len()],
            ]),
        ),
        1 => {
            // Preview, then act on what the preview showed.
            let seen = run(&mut s.cmd(&common::active_args(tool)));
            let reason = format!("p{p} op{k}");
            (
                "rollback",
                common::guarded_rollback_args(&seen, tool, &reason),
            )
        }
        2 => ("retention", v(&["--json", "ingest", "retention", "run"])),
        _ => (
            "purge",
            v(&[
                "--json",
                "ingest",
                "audit",
                "purge",
                "--before",
                "2025-12-02T00:00:00Z",
                "--reason",
                "racing purge",
            ]),
        ),
    }
}

#[test]
fn many_processes_and_two_servers_race_on_one_database_without_losing_anything() {
    if !on_postgres("race") {
        return;
    }
    let s = Scratch::new("[retention]\naudit_max_age = \"P1D\"\n");
    let tools = ["alpha", "beta"];
    let feeds: Vec<String> = (1..=4u64)
        .map(|seed| feed(&s, &format!("f{seed}.json"), seed, 300))
        .collect();
    for t in tools {
        for f in &feeds[..2] {
            let r = run(&mut snapgov_cmd_at(
                &s.location(),
                s.dir.path(),
                SEEDED,
                &["ingest", "import", "--tool", t, f],
            ));
            assert_eq!(r.code, 0, "{r:?}");
        }
    }
    let token = s.token("operator", "racer");
    let servers = [s.serve(), s.serve()];

    let (outcomes, api_codes): (Vec<Outcome>, Vec<u16>) = std::thread::scope(|sc| {
        let cli: Vec<_> = (0..PROCS)
            .map(|p| {
                let (s, feeds) = (&s, &feeds);
                sc.spawn(move || {
                    let mut out = Vec::new();
                    for k in 0..OPS {
                        // A rollback that loses its race previews again and
                        // retries, as an operator would; every try is checked.
                        for _ in 0..RETRIES {
                            let (op, args) = racer_args(s, p, k, &tools, feeds);
                            let args: Vec<&str> = args.iter().map(|a| a.as_str()).collect();
                            let run = run(&mut s.cmd(&args));
                            let lost = op == "rollback" && run.code == 5;
                            out.push(Outcome { op, run });
                            if !lost {
                                break;
                            }
                        }
                    }
                    out
                })
            })
            .collect();
        let http: Vec<_> = (0..4)
            .map(|i| {
                let (s, api) = (&s, servers[i % 2].api(Some(&token)));
                sc.spawn(move || {
                    let mut codes = Vec::new();
                    for _ in 0..3 {
                        for _ in 0..RETRIES {
                            let tool = tools[i % 2];
                            let active = active_id(s, tool);
                            let body =
                                json!({"expectedActive": active, "reason": format!("api {i}")});
                            let prev = s.previous_ids(tool);
                            let Some(target) = prev.first() else { break };
                            let r = api.post(
                                &format!("/api/v1/ingest/snapshots/{target}/rollback"),
                                &body,
                            );
                            codes.push(r.status().as_u16());
                            if r.status().as_u16() != 409 {
                                break;
                            }
                        }
                    }
                    codes
                })
            })
            .collect();
        (
            cli.into_iter().flat_map(|h| h.join().unwrap()).collect(),
            http.into_iter().flat_map(|h| h.join().unwrap()).collect(),
        )
    });

    let mut imported = BTreeSet::new();
    let mut rolled_back = 0;
    let mut purged_any = false;
    let mut counts: BTreeMap<(&str, i32), usize> = BTreeMap::new();
    for o in &outcomes {
        *counts.entry((o.op, o.run.code)).or_default() += 1;
        match (o.run.code, o.op) {
            (0, "import") => {
                let id = o.run.json()["import"]["snapshot"]["id"]
                    .as_str()
                    .unwrap()
                    .to_string();
                assert!(imported.insert(id.clone()), "duplicate id {id}");
            }
            (0, "rollback") => rolled_back += 1,
            (0, "purge") => purged_any |= o.run.json()["purge"]["purged"].as_u64() > Some(0),
            (0, _) => {}
            // The loser of a race: a conflict naming what changed, or busy.
            (5, _) => assert!(
                o.run.stderr.contains("changed") || o.run.stderr.contains("busy"),
                "{o:?}"
            ),
            // Nothing left to roll back to.
            (1, "rollback") => assert!(
                o.run.stderr.contains("no earlier restorable") || o.run.stderr.contains("already"),
                "{o:?}"
            ),
            _ => panic!("unexpected outcome {o:?}"),
        }
    }
    let api_ok = api_codes.iter().filter(|c| **c == 200).count();
    eprintln!("outcomes: {counts:?}; API rollbacks: {api_codes:?}");
    for c in &api_codes {
        // 409: lost the race; 503: busy; 404/422: the target went meanwhile.
        assert!([200, 409, 503, 404, 422].contains(c), "API answered {c}");
    }
    assert!(
        !imported.is_empty() && rolled_back + api_ok > 0,
        "{counts:?}"
    );

    // Nothing lost, nothing twice.
    let all = s.cli_json(&["ingest", "snapshots"]);
    let ids: Vec<&str> = all["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap())
        .collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "duplicate snapshot ids");
    for id in &imported {
        assert!(unique.contains(id.as_str()), "{id} lost");
    }
    let imports = s.cli_json(&common::audit_list_args("snapshot_imported", "100000"));
    let seeds = if purged_any { 0 } else { 4 };
    assert_eq!(
        imports["audit"].as_array().unwrap().len(),
        imported.len() + seeds
    );
    let rbs = s.cli_json(&common::audit_list_args("snapshot_rolled_back", "100000"));
    assert_eq!(rbs["audit"].as_array().unwrap().len(), rolled_back + api_ok);
    for t in tools {
        let a = s.cli_json(&["ingest", "snapshots", "--tool", t, "--state", "active"]);
        let a = a["snapshots"].as_array().unwrap();
        assert_eq!(a.len(), 1, "{t}: {a:?}");
        ok(&s, &["ingest", "verify", a[0]["id"].as_str().unwrap()]);
    }
    ok(&s, &["ingest", "audit", "verify"]);
    drop(servers);
}

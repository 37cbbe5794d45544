//! Issue 10, items 6–9 and 11–14: bounded work on hostile input, terminal
//! escapes, racing rollbacks, config validation, server limits. The long
//! versions of these campaigns are in `benches/hardening.sh`.

mod common;

use common::{import_args, Sandbox};

/// What the store takes: its files, or its schema's tables, indexes and
/// TOAST on PostgreSQL.
fn store_bytes(sb: &Sandbox) -> u64 {
    if sb.is_postgres() {
        return sb
            .sql_one(
                "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = current_schema() AND c.relkind = 'r'",
            )
            .parse()
            .unwrap();
    }
    ["store.db", "store.db-wal", "store.db-shm"]
        .iter()
        .filter_map(|f| std::fs::metadata(sb.path(f)).ok())
        .map(|m| m.len())
        .sum()
}

/// A Syft feed listing one package `n` times, each with its own location.
pub fn merge_bomb(n: usize) -> Vec<u8> {
    let mut s = String::from("{\"artifacts\":[");
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&format!(
            "{{\"name\":\"bomb\",\"version\":\"1.0\",\"type\":\"npm\",\"purl\":\"pkg:npm/bomb@1.0\",\"locations\":[{{\"path\":\"/app/node_modules/some/deep/path/bomb-{i:07}/package.json\"}}]}}"
        ));
    }
    s.push_str("],\"source\":{\"type\":\"image\",\"name\":\"shop\"},\"descriptor\":{\"name\":\"syft\",\"version\":\"1.0.0\"}}");
    s.into_bytes()
}

/// Item 6: duplicates of one identity merge in linear work, into one record
/// capped at MAX_SET_ITEMS locations; the store grows by a small multiple of
/// the input, and the dropped locations are reported.
#[test]
fn merge_bomb_is_bounded_and_reported() {
    let sb = Sandbox::new();
    let n = 3000;
    let feed = merge_bomb(n);
    std::fs::write(sb.path("bomb.json"), &feed).unwrap();
    let r = sb.ok(&[
        "ingest",
        "import",
        "--tool",
        "syft",
        sb.path("bomb.json").to_str().unwrap(),
        "--json",
    ]);
    let out = r.json();
    assert_eq!(out["import"]["recordsMerged"], (n - 1) as u64, "{out}");
    let grown = store_bytes(&sb);
    assert!(
        grown < 20 * feed.len() as u64 + 2_000_000,
        "store grew to {grown} bytes for a {} byte feed",
        feed.len()
    );
    let recs = sb.ok(&["ingest", "records", "--tool", "syft"]);
    let lines: Vec<serde_json::Value> = recs
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    let locs = lines[0]["locations"].as_array().unwrap();
    assert_eq!(locs.len(), 1000, "a record keeps at most 1000 locations");
    // The smallest are kept, whatever the order of the feed.
    assert_eq!(
        locs[0],
        "/app/node_modules/some/deep/path/bomb-0000000/package.json"
    );
    let id = out["import"]["snapshot"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let show = sb.ok(&["ingest", "show", &id, "--json"]).json();
    let warnings = show.to_string();
    assert!(
        warnings.contains(&format!(
            "{} locations, licenses or aliases were dropped",
            n - 1000
        )),
        "{warnings}"
    );
}

/// Item 7: an import reading standard input that is killed (SIGKILL, or
/// SIGINT) leaves no spool file behind in the temporary directory.
#[test]
fn killed_stdin_import_leaves_no_spool_file() {
    use std::io::Write;
    for signal in ["-KILL", "-INT"] {
        let sb = Sandbox::new();
        let tmp = tempfile::tempdir().unwrap();
        let mut child = sb
            .cmd(&["ingest", "import", "--tool", "syft", "-"])
            .env("TMPDIR", tmp.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        // Half a feed, 2 MB of it, and the pipe stays open: the import is
        // still spooling when it is killed.
        stdin.write_all(b"{\"artifacts\":[").unwrap();
        let chunk = "{\"name\":\"a\",\"version\":\"1\",\"type\":\"npm\"},".repeat(1000);
        for _ in 0..50 {
            stdin.write_all(chunk.as_bytes()).unwrap();
        }
        stdin.flush().unwrap();
        // Until the spool holds what was sent (or 10 s).
        let pid = child.id().to_string();
        let start = std::time::Instant::now();
        while start.elapsed() < std::time::Duration::from_secs(10) {
            let used: u64 = std::fs::read_dir(format!("/proc/{pid}/fd"))
                .map(|d| {
                    d.flatten()
                        .filter_map(|e| std::fs::metadata(e.path()).ok())
                        .filter(|m| m.is_file())
                        .map(|m| m.len())
                        .max()
                        .unwrap_or(0)
                })
                .unwrap_or(0);
            if used >= 2_000_000 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let st = std::process::Command::new("kill")
            .args([signal, &pid])
            .status()
            .unwrap();
        assert!(st.success());
        drop(stdin);
        child.wait().unwrap();
        let left: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert!(left.is_empty(), "kill {signal} left {left:?} in TMPDIR");
    }
}

/// A Syft feed whose name, version, location, schema version (the drift
/// warning) carry terminal escapes and line breaks.
fn hostile_syft(version: &str) -> String {
    let version = serde_json::to_string(version).unwrap();
    format!(
        r#"{{"artifacts":[
{{"name":"evil\u001b[2J\u001b]0;pwned\u0007\n  + forged-row","version":{version},"type":"npm","locations":[{{"path":"/x\r\u001b[1A"}}]}},
{{"name":"plain","version":{version},"type":"npm","locations":[{{"path":"/p"}}]}}],
"source":{{"type":"image","name":"shop\u001b[5m"}},"descriptor":{{"name":"syft","version":"1.0\u001b[31m"}},
"schema":{{"version":"99.0.0\u001b[2K"}}}}"#
    )
}

fn assert_clean(what: &str, r: &common::Run) {
    for (stream, text) in [("stdout", &r.stdout), ("stderr", &r.stderr)] {
        assert!(
            !text.contains('\u{1b}') && !text.contains('\r') && !text.contains('\u{7}'),
            "{what}: {stream} carries raw control characters: {text:?}"
        );
        assert!(
            !text
                .lines()
                .any(|l| l.trim_start().starts_with("+ forged-row")),
            "{what}: {stream} has a forged row: {text}"
        );
    }
}

/// Item 8: control characters from a feed (or a reason) are escaped in every
/// human-readable output; JSON output keeps them exactly.
#[test]
fn terminal_escapes_from_feeds_are_escaped_in_human_output() {
    let mut sb = Sandbox::new();
    std::fs::write(sb.path("a.json"), hostile_syft("1.0\u{1b}[0m\r")).unwrap();
    std::fs::write(sb.path("b.json"), hostile_syft("2.0\n  + forged-row")).unwrap();
    let reason = "weekly\u{1b}[2J\n  + forged-row";
    let a = sb.run(&[
        "ingest",
        "import",
        "--tool",
        "syft",
        sb.path("a.json").to_str().unwrap(),
        "--reason",
        reason,
    ]);
    assert_eq!(a.code, 0, "{a:?}");
    assert_clean("import", &a);
    sb.now = "2025-12-04T13:00:00Z".into();
    let b = sb.run(&[
        "ingest",
        "import",
        "--tool",
        "syft",
        sb.path("b.json").to_str().unwrap(),
        "--reason",
        reason,
    ]);
    assert_eq!(b.code, 0, "{b:?}");
    assert_clean("import", &b);
    let snaps = sb.ok(&["ingest", "snapshots", "--json"]).json();
    let ids: Vec<String> = snaps["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 2);
    let cases: Vec<Vec<&str>> = vec![
        vec!["ingest", "show", &ids[0]],
        vec!["ingest", "show", &ids[1]],
        vec!["ingest", "snapshots"],
        vec!["ingest", "diff", &ids[0], &ids[1]],
        vec![
            "ingest",
            "rollback",
            "--tool",
            "syft",
            "--dry-run",
            "--reason",
            reason,
        ],
        vec!["ingest", "audit", "list"],
        vec!["ingest", "sla"],
        vec!["ingest", "retention", "hold", &ids[0], "--reason", reason],
        vec!["ingest", "show", "nosuch\u{1b}[2J"],
    ];
    for args in &cases {
        let r = sb.run(args);
        assert_clean(&args.join(" "), &r);
    }
    // The escapes are shown, not dropped: the operator can see them.
    let show = sb.ok(&["ingest", "show", &ids[1]]);
    assert!(show.stdout.contains("\\u{1b}[2J"), "{}", show.stdout);
    assert!(show.stderr.is_empty() || !show.stderr.contains('\u{1b}'));
    // JSON keeps the feed's text exactly.
    let recs = sb.ok(&["ingest", "records", "--tool", "syft"]);
    let names: Vec<String> = recs
        .stdout
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["name"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(
        names.contains(&"evil\u{1b}[2J\u{1b}]0;pwned\u{7}\n  + forged-row".to_string()),
        "{names:?}"
    );
    let show = sb.ok(&["ingest", "show", &ids[0], "--json"]).json();
    assert_eq!(show["snapshot"]["metadata"]["importReason"], reason);
}

/// Item 9: `rollback --force` without `--expect-active` expects the active
/// snapshot it resolved: of two racing rollbacks the second fails with exit
/// 5 instead of rolling back what the first one made active.
#[cfg(feature = "fault-injection")]
#[test]
fn racing_forced_rollbacks_the_second_gets_exit_5() {
    let mut sb = Sandbox::new();
    for (i, day) in ["2025-11-01", "2025-11-02", "2025-11-03"]
        .iter()
        .enumerate()
    {
        let f = sb.feed(
            &format!("t{i}.json"),
            snapgov::ingest::Format::TrivyJson,
            &snapgov::synthetic_feed::FeedSpec {
                packages: 50,
                seed: i as u64 + 1,
                churn_permille: 40,
                ..Default::default()
            },
        );
        sb.now = format!("{day}T00:00:00Z");
        sb.ok(&import_args(
            "trivy",
            &["--allow-shrink"],
            f.to_str().unwrap(),
        ));
    }
    let active = |sb: &Sandbox| {
        sb.json(&["ingest", "sla", "--tool", "trivy"])["sla"]["snapshotId"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let start = active(&sb);
    let gate = sb.path("gate");
    let args = [
        "ingest", "rollback", "--tool", "trivy", "--force", "--reason", "race",
    ];
    // A resolves the active snapshot, then waits while B rolls back.
    let a = sb
        .cmd(&args)
        .env(
            "SNAPGOV_FAULT",
            format!("rollback_resolved:wait={}", gate.display()),
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let reached = sb.path("gate.reached");
    let t = std::time::Instant::now();
    while !reached.exists() && t.elapsed() < std::time::Duration::from_secs(20) {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let b = sb.run(&args);
    assert_eq!(b.code, 0, "{b:?}");
    let after_b = active(&sb);
    assert_ne!(after_b, start);
    std::fs::write(&gate, "go").unwrap();
    let ra: common::Run = a.wait_with_output().unwrap().into();
    assert_eq!(ra.code, 5, "the second rollback must lose: {ra:?}");
    assert!(ra.stderr.contains(&after_b), "{}", ra.stderr);
    assert_eq!(
        active(&sb),
        after_b,
        "the losing rollback changed the active snapshot"
    );
    sb.ok(&["ingest", "audit", "verify"]);
}

/// Item 11: nonsense config is refused at load, by `config check` and by
/// every command, with a message naming the key, its value and the allowed
/// range; never a panic (exit 101) and never ANSI colour into a pipe.
#[test]
fn nonsense_config_is_refused_naming_key_value_and_range() {
    let sb = Sandbox::new();
    let ok = sb.run(&["config", "check"]);
    assert_eq!(ok.code, 0, "the default config must check: {ok:?}");
    let cases = [
        ("[sla.default]\nmax_age = \"P9999999Y\"\nstale = \"P9999999Y\"\ncritical = \"P9999999Y\"\n", "sla.default.max_age", "P9999999Y"),
        ("[sla.tools.syft]\ncritical = \"P9999999Y\"\n", "sla.tools.syft.critical", "P100Y"),
        ("[sla]\ncheck_interval = \"P9999999Y\"\n", "sla.check_interval", "P9999999Y"),
        ("[retention]\nschedule = \"0 0 31 2 *\"\n", "retention.schedule", "never fires"),
        ("[retention]\nprevious_max_age = \"P0D\"\n", "retention.previous_max_age", "PT1H"),
        ("[retention]\narchived_max_age = \"P0D\"\n", "retention.archived_max_age", "P0D"),
        ("[retention]\naudit_max_age = \"P0D\"\n", "retention.audit_max_age", "P0D"),
        ("[retention]\naudit_max_age = \"P9999999Y\"\n", "retention.audit_max_age", "P100Y"),
        ("[server]\nmax_body_bytes = 0\n", "server.max_body_bytes", "1024"),
        ("[server]\nheader_read_timeout_secs = 0\n", "server.header_read_timeout_secs", "0"),
        ("[server]\nmax_connections_per_ip = 0\n", "server.max_connections_per_ip", "0"),
        ("[console]\nrefresh_secs = 0\n", "console.refresh_secs", "3600"),
        ("[limits]\nmax_depth = 1\n", "limits.max_depth", "10000"),
    ];
    for (text, key, needle) in cases {
        std::fs::write(sb.path("config.toml"), text).unwrap();
        for args in [
            &["config", "check"][..],
            &["ingest", "sla"][..],
            &["ingest", "retention", "status"][..],
        ] {
            let r = sb.run(args);
            assert_eq!(r.code, 2, "{args:?} with {text:?}: {r:?}");
            assert!(
                r.stderr.contains(key) && r.stderr.contains(needle),
                "{args:?} with {text:?} must name {key} and {needle}: {}",
                r.stderr
            );
            assert!(
                !r.stderr.contains('\u{1b}') && !r.stderr.contains("panicked"),
                "{}",
                r.stderr
            );
        }
    }
}

/// Item 11: a panic (a bug) in the CLI writes no ANSI colour codes into a
/// pipe.
#[cfg(feature = "fault-injection")]
#[test]
fn a_panic_writes_no_colour_codes_into_a_pipe() {
    let sb = Sandbox::new();
    std::fs::write(
        sb.path("f.json"),
        std::fs::read("tests/fixtures/syft-min.json").unwrap(),
    )
    .unwrap();
    let r = sb
        .cmd(&import_args(
            "syft",
            &[],
            sb.path("f.json").to_str().unwrap(),
        ))
        .env("SNAPGOV_FAULT", "import_begin:panic")
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert_ne!(r.status.code(), Some(0));
    assert!(stderr.contains("panic"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "ANSI in a pipe: {stderr:?}");
}

/// Item 14: `audit verify` counts as matching only snapshots it compared
/// with an import record; after a purge removed them, it does not claim
/// that snapshots match records that no longer exist.
#[test]
fn audit_verify_does_not_count_snapshots_without_import_records() {
    let mut sb = Sandbox::with_config("[retention]\naudit_max_age = \"PT1H\"\n");
    let f = std::fs::read("tests/fixtures/syft-min.json").unwrap();
    std::fs::write(sb.path("f.json"), &f).unwrap();
    sb.now = "2025-11-01T00:00:00Z".into();
    sb.ok(&import_args(
        "syft",
        &[],
        sb.path("f.json").to_str().unwrap(),
    ));
    sb.now = "2025-12-01T00:00:00Z".into();
    sb.ok(&[
        "ingest",
        "audit",
        "purge",
        "--before",
        "2025-11-15T00:00:00Z",
        "--reason",
        "old",
    ]);
    let r = sb.ok(&["ingest", "audit", "verify"]);
    assert!(
        r.stdout.contains("0 snapshots match their import records"),
        "{}",
        r.stdout
    );
}

/// Item 14: a lone UTF-16 surrogate escape is named as such, with its
/// position, instead of "unexpected end of hex escape" alone.
#[test]
fn a_lone_surrogate_is_named_in_the_error() {
    let sb = Sandbox::new();
    std::fs::write(
        sb.path("s.json"),
        "{\"artifacts\":[{\"name\":\"a\\ud800b\",\"version\":\"1\",\"type\":\"npm\"}],\"source\":{\"type\":\"image\",\"name\":\"x\"}}",
    )
    .unwrap();
    let r = sb.run(&import_args(
        "syft",
        &[],
        sb.path("s.json").to_str().unwrap(),
    ));
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.stderr.contains("surrogate")
            && r.stderr.contains("s.json")
            && r.stderr.contains("line 1"),
        "{}",
        r.stderr
    );
}

/// Item 14: a full disk (a file-size limit here) during an import is named
/// as a disk problem, not "is it a snapgov store?", and the store keeps
/// its data.
#[test]
fn a_full_disk_is_reported_as_a_disk_problem() {
    let sb = Sandbox::new();
    if sb.is_postgres() {
        eprintln!("skipped on PostgreSQL: a file-size limit on snapgov only fills a SQLite file (the server writes its own files)");
        return;
    }
    sb.ok(&import_args("syft", &[], "tests/fixtures/syft-min.json"));
    let before = sb.dump();
    for blocks in [1, 50, 100] {
        let r: common::Run = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("trap '' XFSZ; ulimit -f {blocks}; exec \"$0\" ingest import --tool syft tests/fixtures/syft-min.json"))
            .arg(env!("CARGO_BIN_EXE_snapgov"))
            .envs(sb.cmd(&[]).get_envs().filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned()))))
            .env("SNAPGOV_NOW", "2025-12-05T00:00:00Z")
            .output()
            .unwrap()
            .into();
        if r.code == 0 {
            continue; // enough room for this one
        }
        assert!(
            !r.stderr.contains("snapgov store?") && r.stderr.contains("disk"),
            "limit {blocks}: {}",
            r.stderr
        );
        assert_eq!(sb.dump(), before, "limit {blocks}: the store changed");
    }
}

/// Item 14: severity words snapgov does not know are counted and reported
/// per import (they are still filed as unknown); known words and "unknown"
/// itself are not.
#[test]
fn unknown_severity_words_are_counted_per_import() {
    let sb = Sandbox::new();
    let mut feed = String::from(
        "{\"format\":\"snapgov\",\"version\":1,\"tool\":{\"name\":\"acme\"},\"subject\":\"s\"}\n",
    );
    for (i, sev) in ["Urgent", "Sev1", "Urgent", "High", "unknown", "Moderate"]
        .iter()
        .enumerate()
    {
        feed.push_str(&format!(
            "{{\"ecosystem\":\"npm\",\"name\":\"p{i}\",\"version\":\"1\",\"vulnerability\":{{\"id\":\"CVE-2024-{i:04}\",\"severity\":\"{sev}\"}}}}\n"
        ));
    }
    std::fs::write(sb.path("f.jsonl"), feed).unwrap();
    let out = sb.json(&import_args(
        "acme",
        &[],
        sb.path("f.jsonl").to_str().unwrap(),
    ));
    let warnings = out["import"]["snapshot"]["warnings"].to_string();
    assert!(
        warnings.contains("3 findings have a severity snapgov does not know (`Urgent`, `Sev1`)"),
        "{warnings}"
    );
    assert_eq!(
        out["import"]["snapshot"]["stats"]["bySeverity"]["unknown"],
        4
    );
}

/// `snapgov … | head`: the reader going away ends the command quietly,
/// as for any Unix filter, not with a crash report.
#[test]
fn a_closed_pipe_ends_output_quietly() {
    let sb = Sandbox::new();
    let spec = snapgov::synthetic_feed::FeedSpec {
        packages: 3000,
        ..Default::default()
    };
    let f = sb.feed("big.json", snapgov::ingest::Format::SyftJson, &spec);
    sb.import("syft", &[], &f);
    let mut child = sb
        .cmd(&["--json", "ingest", "records", "--tool", "syft"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Read a little, then hang up while snapgov still has far more than a
    // pipe's buffer to write.
    let mut out = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    std::io::Read::read_exact(&mut out, &mut first).unwrap();
    drop(out);
    let o = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(o.status.code(), Some(0), "{stderr}");
}

//! Issue 10, items 6–9 and 11–14: bounded work on hostile input, terminal
//! escapes, racing rollbacks, config validation, server limits. The long
//! versions of these campaigns are in `benches/hardening.sh`.

mod common;

use common::Sandbox;

fn store_bytes(sb: &Sandbox) -> u64 {
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
    assert_eq!(locs.len(), snapgov::domain::record::MAX_SET_ITEMS);
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

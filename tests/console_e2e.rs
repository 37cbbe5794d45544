//! End to end: the real binary in tmux. `snapgov demo` builds a store and
//! opens the console; keys drive the rollback wizard through the dry run to
//! a completed rollback; the CLI then confirms the store changed exactly as
//! the console said, and the terminal is given back on quit.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

#[path = "common/pg.rs"]
#[allow(dead_code)]
mod pg;

const NOW: &str = "2025-12-04T12:00:00Z";
const BIN: &str = env!("CARGO_BIN_EXE_snapgov");

/// A tmux server of our own (unique socket), killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(w: u16, h: u16, cmd: &str) -> Tmux {
        // One tmux server per test: tests run in parallel in one process.
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let socket = format!("snapgov-e2e-{}-{n}", std::process::id());
        let t = Tmux { socket };
        let out = t.tmux(&[
            "new-session",
            "-d",
            "-x",
            &w.to_string(),
            "-y",
            &h.to_string(),
            "-s",
            "e2e",
            cmd,
        ]);
        assert!(
            out.status.success(),
            "tmux: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        t
    }

    fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux is installed (CI installs it)")
    }

    fn capture(&self) -> String {
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p", "-t", "e2e"]).stdout)
            .into_owned()
    }

    /// Keys by tmux name (Enter, Escape, Tab) or literal text with `-l`.
    fn keys(&self, keys: &[&str]) {
        for k in keys {
            self.tmux(&["send-keys", "-t", "e2e", k]);
            // Separate keys: an Escape followed at once by a letter reads as Alt.
            std::thread::sleep(Duration::from_millis(60));
        }
    }

    fn type_text(&self, s: &str) {
        self.tmux(&["send-keys", "-t", "e2e", "-l", s]);
        std::thread::sleep(Duration::from_millis(60));
    }

    fn wait_for(&self, needle: &str) -> String {
        self.wait_for_all(&[needle])
    }

    /// Waits until the screen shows every one of `needles`. A capture can
    /// catch a frame half drawn (seen under CI's load: the title and two
    /// rows of the table), so one needle alone does not mean the rest of
    /// the frame is there.
    fn wait_for_all(&self, needles: &[&str]) -> String {
        let start = Instant::now();
        loop {
            let screen = self.capture();
            if needles.iter().all(|n| screen.contains(n)) {
                return screen;
            }
            if start.elapsed() > Duration::from_secs(60) {
                panic!("timed out waiting for all of {needles:?}; the screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// [`Tmux::wait_for`], then the screen once two captures 100 ms apart
    /// agree (at most 3 s more: a spinner may never settle), so a check of
    /// the whole frame does not read one half drawn.
    fn wait_settled(&self, needle: &str) -> String {
        let mut screen = self.wait_for(needle);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(3) {
            std::thread::sleep(Duration::from_millis(100));
            let next = self.capture();
            if next == screen {
                break;
            }
            screen = next;
        }
        screen
    }

    fn alternate_on(&self) -> bool {
        let out = self.tmux(&["display-message", "-p", "-t", "e2e", "#{alternate_on}"]);
        String::from_utf8_lossy(&out.stdout).trim() == "1"
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', "'\\''"))
}

fn cli(db: &Path, config: &Path, args: &[&str]) -> serde_json::Value {
    let out = Command::new(BIN)
        .env("SNAPGOV_NOW", NOW)
        .env("SNAPGOV_CONFIG", config)
        .env_remove("NO_COLOR")
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A test's store (a file in its temp dir, or a PostgreSQL schema of its
/// own when `SNAPGOV_TEST_POSTGRES` is set) and its temp dir.
struct Sandbox {
    _db: pg::TestDb,
    _dir: tempfile::TempDir,
}

/// The sandbox, the store's location (a path, or a URL: `--db` takes
/// either) and the config file.
fn sandbox() -> (Sandbox, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "").unwrap();
    let store = pg::TestDb::new(dir.path());
    let db = PathBuf::from(store.location());
    (
        Sandbox {
            _db: store,
            _dir: dir,
        },
        db,
        config,
    )
}

fn console_cmd(db: &Path, config: &Path, args: &str) -> String {
    format!(
        "sh -c 'SNAPGOV_NOW={NOW} SNAPGOV_USER=e2e-operator SNAPGOV_CONFIG={} {} --db {} {args}; echo EXITED $?; sleep 600'",
        shell_quote(config).replace('\'', "'\\''"),
        shell_quote(Path::new(BIN)).replace('\'', "'\\''"),
        shell_quote(db).replace('\'', "'\\''"),
    )
}

#[test]
fn demo_opens_the_console_and_a_rollback_goes_through_the_wizard() {
    let (_dir, db, config) = sandbox();
    let t = Tmux::start(120, 40, &console_cmd(&db, &config, "demo"));
    t.wait_for_all(&["Tools · timelines", "● fresh", "✖ critical"]);
    assert!(t.alternate_on(), "the console uses the alternate screen");

    // Move to syft (third tool) and start the wizard on it.
    t.keys(&["j", "j", "r"]);
    t.wait_for_all(&[
        "Δ ACTIVE",
        "Choose the snapshot to roll syft back to",
        "default",
    ]);
    t.keys(&["Enter"]);
    t.wait_for_all(&["✓ verified", "re-hash to b3:"]);
    t.keys(&["Enter"]);
    t.wait_for_all(&["records added", "+ added", "old → new"]);
    // Filter to changed records and back.
    t.keys(&["c", "c", "c"]);
    t.wait_for("change=changed");
    t.keys(&["x"]);
    t.wait_for("change=all");
    t.keys(&["Enter"]);
    t.wait_for("Why?");
    t.type_text("e2e: corrupt nightly feed");
    t.keys(&["Enter"]);
    let screen = t.wait_for_all(&["Type the tool name", "Roll syft back from"]);
    let preview_from = screen
        .lines()
        .find(|l| l.contains("Roll syft back from"))
        .unwrap()
        .to_string();
    t.type_text("syft");
    t.keys(&["Enter"]);
    let screen = t.wait_for_all(&[
        "rolled syft back from",
        "✓ write audit records",
        "e2e-operator",
    ]);
    // The sentence may wrap: join the lines after the ✓.
    let flat: String = screen.split_whitespace().collect::<Vec<_>>().join(" ");
    let start = flat.find("rolled syft back from").unwrap();
    let sentence = &flat[start..];
    let words: Vec<&str> = sentence.split(' ').collect();
    let from = words[4].to_string();
    let to = words[8].to_string();
    assert!(preview_from.contains(&from), "{preview_from} / {sentence}");
    assert!(
        sentence.contains("by e2e-operator at 2025-12-04T12:00:00Z"),
        "{sentence}"
    );

    t.keys(&["Enter"]);
    t.wait_for("Tools · timelines");
    t.keys(&["q"]);
    let screen = t.wait_for("EXITED 0");
    assert!(!t.alternate_on(), "the terminal left the alternate screen");
    assert!(
        !screen.contains("Tools · timelines"),
        "the console is gone:\n{screen}"
    );
    // The hint wraps where the pane ends (a PostgreSQL URL is long).
    let flat = screen.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("open it again with"), "{screen}");

    // The CLI sees exactly what the console said.
    let active = cli(
        &db,
        &config,
        &["--json", "ingest", "snapshots", "--state", "active"],
    );
    let syft = active["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["tool"] == "syft")
        .unwrap();
    assert_eq!(syft["id"], to.as_str());
    let audit = cli(
        &db,
        &config,
        &[
            "ingest",
            "audit",
            "list",
            "--event",
            "snapshot_rolled_back",
            "--json",
        ],
    );
    let newest = &audit["audit"][0];
    assert_eq!(newest["user"], "e2e-operator");
    assert_eq!(newest["details"]["fromSnapshot"], from.as_str());
    assert_eq!(newest["details"]["toSnapshot"], to.as_str());
    assert_eq!(newest["details"]["reason"], "e2e: corrupt nightly feed");
    assert_eq!(newest["timestamp"], NOW);
    // The demo's own two rollbacks and this one: nothing else was rolled back.
    assert_eq!(audit["audit"].as_array().unwrap().len(), 3);
}

#[test]
fn read_only_console_and_no_terminal() {
    let (_dir, db, config) = sandbox();
    let build = Command::new(BIN)
        .env("SNAPGOV_NOW", NOW)
        .env("SNAPGOV_CONFIG", &config)
        .arg("--db")
        .arg(&db)
        .args(["demo", "--no-console"])
        .output()
        .unwrap();
    assert!(build.status.success());
    // Without a terminal the console refuses, pointing at the CLI.
    let out = Command::new(BIN)
        .env("SNAPGOV_CONFIG", &config)
        .arg("--db")
        .arg(&db)
        .arg("console")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("needs a terminal") && err.contains("snapgov ingest snapshots"),
        "{err}"
    );

    let before = cli(
        &db,
        &config,
        &["ingest", "audit", "list", "--json", "--limit", "1"],
    );
    let t = Tmux::start(100, 30, &console_cmd(&db, &config, "console --read-only"));
    let screen = t.wait_for("READ-ONLY");
    assert!(screen.contains("Tools · timelines"), "{screen}");
    t.keys(&["3"]);
    t.wait_for("rollback is not offered");
    t.keys(&["4"]);
    t.wait_for("chain verified");
    t.keys(&["1", "q"]);
    t.wait_for("EXITED 0");
    assert!(!t.alternate_on());
    let after = cli(
        &db,
        &config,
        &["ingest", "audit", "list", "--json", "--limit", "1"],
    );
    assert_eq!(before, after, "a read-only console writes nothing");
}

/// The active snapshot of `tool`, as the CLI says.
fn active_cli(db: &Path, config: &Path, tool: &str) -> String {
    let v = cli(
        db,
        config,
        &["--json", "ingest", "snapshots", "--state", "active"],
    );
    v["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["tool"] == tool)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Overview → syft → wizard → default target → dry run → reason → Confirm.
fn to_confirm(t: &Tmux, reason: &str) {
    t.keys(&["1", "g", "j", "j", "r"]);
    t.wait_for("Δ ACTIVE");
    t.keys(&["Enter"]);
    t.wait_for("✓ verified");
    t.keys(&["Enter"]);
    t.wait_for("records added");
    t.keys(&["Enter"]);
    t.wait_for("Why?");
    t.type_text(reason);
    t.keys(&["Enter"]);
    t.wait_for("Type the tool name");
}

#[test]
fn a_mistyped_confirmation_does_not_roll_back_and_governance_is_audited() {
    let (_dir, db, config) = sandbox();
    let t = Tmux::start(120, 40, &console_cmd(&db, &config, "demo"));
    t.wait_for("Tools · timelines");
    // Wait until the store is built, then read it with the CLI alongside.
    let before = active_cli(&db, &config, "syft");

    // Mistyped: [Roll back] stays disabled; Tab cannot reach it; Enter cancels.
    to_confirm(&t, "e2e: mistyped");
    t.type_text("syfx");
    let screen = t.wait_for("(disabled)");
    assert!(screen.contains("type syft exactly"), "{screen}");
    t.keys(&["Tab", "Enter"]);
    t.wait_for("cancelled; nothing was changed");
    assert_eq!(
        active_cli(&db, &config, "syft"),
        before,
        "nothing rolled back"
    );

    // Typed exactly: it rolls back.
    to_confirm(&t, "e2e: corrupt nightly feed");
    t.type_text("syft");
    t.wait_for("✓ matches");
    t.keys(&["Enter"]);
    t.wait_for("rolled syft back from");
    t.keys(&["Enter"]);
    t.wait_for("Tools · timelines");
    let after = active_cli(&db, &config, "syft");
    assert_ne!(after, before, "the rollback went through");

    // Help scrolls to its end.
    t.keys(&["?", "G"]);
    let screen = t.wait_for("scroll down (↑ k up");
    assert!(screen.contains("/"), "{screen}");
    t.keys(&["Escape"]);

    // A hold and an expiry from the console.
    t.keys(&["g", "j", "j", "Enter"]);
    t.wait_for("snapshots, newest first");
    t.keys(&["j", "j", "h"]);
    t.wait_for("Hold syft-");
    t.type_text("e2e: legal hold");
    t.keys(&["Enter"]);
    t.wait_for("retention will not archive or delete it");
    t.keys(&["j", "e"]);
    t.wait_for("Expire syft-");
    t.type_text("e2e: wrong feed");
    t.keys(&["Tab"]);
    t.type_text("syft");
    t.keys(&["Enter"]);
    t.wait_for("its data is no longer available");
    t.keys(&["Escape", "q"]);
    t.wait_for("EXITED 0");

    let audit = cli(
        &db,
        &config,
        &["ingest", "audit", "list", "--json", "--limit", "10"],
    );
    let recs = audit["audit"].as_array().unwrap();
    let by_me = |ev: &str| {
        recs.iter()
            .find(|r| r["event"] == ev && r["user"] == "e2e-operator")
            .cloned()
    };
    let hold = by_me("retention_hold_added").expect("the hold is audited");
    assert_eq!(hold["details"]["reason"], "e2e: legal hold");
    let exp = by_me("snapshot_expired").expect("the expiry is audited");
    assert_eq!(exp["details"]["reason"], "e2e: wrong feed");
    assert!(by_me("snapshot_rolled_back").is_some());
}

#[test]
fn every_screen_is_whole_at_80x24() {
    let (_dir, db, config) = sandbox();
    let t = Tmux::start(80, 24, &console_cmd(&db, &config, "demo"));
    t.wait_for("Tools · timelines");
    let mut shots = Vec::new();
    for (keys, needle) in [
        (vec!["1"], "ACTIVE SNAPSHOT"),
        (vec!["Tab"], "◇ clair"),
        (vec!["Escape", "Enter"], "snapshots, newest first"),
        (vec!["Escape", "2"], "NEXT CHANGE"),
        (vec!["3"], "Which tool"),
        (vec!["4"], "chain verified"),
        (vec!["5"], "next run"),
        (vec!["?"], "Help"),
    ] {
        t.keys(&keys);
        let screen = t.wait_settled(needle);
        assert!(screen.contains(needle), "{needle}: {screen}");
        shots.push((needle, screen));
    }
    for (needle, screen) in &shots {
        let lines: Vec<&str> = screen.lines().collect();
        assert!(lines.len() <= 24, "{needle}: {screen}");
        for l in &lines {
            assert!(l.chars().count() <= 80, "{needle}: a line too long: {l}");
            // A box's row keeps its right edge: nothing runs off the screen.
            if l.starts_with('│') || l.starts_with('┌') || l.starts_with('└') {
                let last = l.trim_end().chars().last().unwrap();
                assert!(
                    "│┐┘┤┃".contains(last),
                    "{needle}: a cut row: {l:?}\n{screen}"
                );
            }
        }
    }
    t.keys(&["Escape", "q"]);
    t.wait_for("EXITED 0");
}

/// On PostgreSQL the console hears of another host's write (LISTEN/NOTIFY)
/// and shows it within 2 s, with its own timer set to an hour: only the
/// notification can bring it in. (SQLite has no notifications; its console
/// looks every `console.refresh_secs`.)
#[test]
fn on_postgres_the_console_shows_another_hosts_import_within_two_seconds() {
    if pg::test_url().is_none() {
        eprintln!("skipped: PostgreSQL only (set SNAPGOV_TEST_POSTGRES)");
        return;
    }
    let (_dir, db, config) = sandbox();
    std::fs::write(&config, "[console]\nrefresh_secs = 3600\n").unwrap();
    let build = Command::new(BIN)
        .env("SNAPGOV_NOW", NOW)
        .env("SNAPGOV_CONFIG", &config)
        .arg("--db")
        .arg(&db)
        .args(["demo", "--no-console"])
        .output()
        .unwrap();
    assert!(build.status.success());
    let t = Tmux::start(120, 40, &console_cmd(&db, &config, "console"));
    t.wait_for("Tools · timelines");
    assert!(!t.capture().contains("newscanner"));
    // Give the listener a moment to connect, then import from elsewhere.
    std::thread::sleep(Duration::from_secs(1));
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/syft-min.json");
    let out = Command::new(BIN)
        .env("SNAPGOV_NOW", NOW)
        .env("SNAPGOV_CONFIG", &config)
        .env("SNAPGOV_USER", "another-host")
        .arg("--db")
        .arg(&db)
        .args(["ingest", "import", "--tool", "newscanner"])
        .arg(&fixture)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let done = Instant::now();
    let mut screen = t.capture();
    while !screen.contains("newscanner") {
        assert!(
            done.elapsed() < Duration::from_secs(2),
            "the import did not show within 2 s; the screen:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(50));
        screen = t.capture();
    }
    eprintln!("shown {:?} after the import ended", done.elapsed());
    t.keys(&["q"]);
    t.wait_for("EXITED 0");
}

//! Render benchmark for the console: frame time at 200×50 on a store with
//! 50,000 snapshots and 1,000,000 audit records, and the time to the first
//! frame (open the store, load the overview, draw).
//!
//! Run: `cargo bench --bench render` (release build). The store is generated
//! through the store's public write API (`insert_snapshot`, `append_audit`),
//! not the import workflow, which would take far too long for this size.
//! Set `SNAPGOV_BENCH_DB=/path/bench.db` to keep the generated store and
//! reuse it on the next run; `SNAPGOV_BENCH_FRAMES` sets frames per screen.
//! Targets: ≤ 2 ms per frame, ≤ 150 ms to the first frame.

use chrono::{DateTime, Duration, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use serde_json::json;
use snapgov::config::Config;
use snapgov::console::app::App;
use snapgov::console::jobs::{self, Effect};
use snapgov::console::theme::Theme;
use snapgov::console::ui;
use snapgov::domain::audit::{AuditEvent, NewAudit};
use snapgov::domain::snapshot::{
    RecordStats, Snapshot, SnapshotId, SnapshotMetadata, SnapshotState,
};
use snapgov::ops::{Clock, Env};
use snapgov::store::{OpenMode, Store};
use std::path::Path;
use std::time::Instant;

const SNAPSHOTS: usize = 50_000;
const AUDIT: usize = 1_000_000;
const TOOLS: [&str; 10] = [
    "syft",
    "trivy",
    "clair",
    "grype",
    "osv",
    "snyk",
    "anchore",
    "dtrack",
    "licensewatch",
    "secretscan",
];
const W: u16 = 200;
const H: u16 = 50;

fn now() -> DateTime<Utc> {
    snapgov::domain::time::parse_ts("2025-12-04T12:00:00Z").unwrap()
}

fn generate(path: &Path) {
    let t0 = Instant::now();
    let mut store = Store::open(path, OpenMode::ReadWrite).unwrap();
    let per_tool = SNAPSHOTS / TOOLS.len();
    // Each tool imports every 2 hours, ending near now; staggered ages.
    for (n, tool) in TOOLS.iter().enumerate() {
        store
            .write(|tx| -> Result<(), snapgov::store::StoreError> {
                let last_age = Duration::hours(1 + (n as i64 * 53) % 900);
                let mut prev: Option<String> = None;
                for i in 0..per_tool {
                    let back = (per_tool - 1 - i) as i64;
                    let at = now() - last_age - Duration::hours(2 * back);
                    let id = SnapshotId::new(tool, at, 1);
                    let state = if i == per_tool - 1 {
                        SnapshotState::Active
                    } else if i % 97 == 13 {
                        SnapshotState::Failed
                    } else if back > 24 * 90 {
                        SnapshotState::Deleted
                    } else if back > 24 * 15 {
                        SnapshotState::Archived
                    } else {
                        SnapshotState::Previous
                    };
                    let failed = state == SnapshotState::Failed;
                    let s = Snapshot {
                        id: id.clone(),
                        tool: tool.to_string(),
                        tool_version: Some("1.0.0".into()),
                        imported_at: at,
                        source_hash: format!("b3:{:064x}", i * 31 + n),
                        normalized_hash: (!failed).then(|| format!("b3:{:064x}", i * 17 + n)),
                        record_count: if failed { 0 } else { 1000 + (i % 50) as u64 },
                        state,
                        previous_snapshot: prev.clone(),
                        metadata: SnapshotMetadata {
                            source_uri: Some(format!("s3://scans/{tool}/{i}.json")),
                            import_user: "ci-pipeline".into(),
                            import_reason: Some("scheduled_sync".into()),
                        },
                        format: Some("snapgov".into()),
                        generated_at: None,
                        schema_version: None,
                        warnings: Vec::new(),
                        failure_reason: failed.then(|| "truncated feed".to_string()),
                        state_changed_at: Some(at),
                        stats: Some(RecordStats {
                            packages: 900,
                            vulnerabilities: 100,
                            by_severity: [("high".to_string(), 40), ("low".to_string(), 60)].into(),
                        }),
                    };
                    tx.insert_snapshot(&s)?;
                    if !failed {
                        prev = Some(id.to_string());
                    }
                }
                tx.set_active_pointer(tool, prev.as_deref(), now(), "ci-pipeline")?;
                Ok(())
            })
            .unwrap();
    }
    let events = [
        AuditEvent::SnapshotImported,
        AuditEvent::SnapshotActivated,
        AuditEvent::SnapshotArchived,
        AuditEvent::FreshnessOverride,
    ];
    let chunk = 50_000;
    for c in 0..AUDIT / chunk {
        store
            .write(|tx| -> Result<(), snapgov::store::StoreError> {
                for j in 0..chunk {
                    let i = c * chunk + j;
                    let tool = TOOLS[i % TOOLS.len()];
                    let at = now() - Duration::seconds(((AUDIT - i) * 25) as i64);
                    tx.append_audit(&NewAudit {
                        event: events[i % events.len()],
                        timestamp: at,
                        user: ["ci-pipeline", "alice", "bob", "system"][i % 4].into(),
                        tool: Some(tool.into()),
                        snapshot_id: None,
                        details: json!({"tool": tool, "snapshotId": format!("{tool}-{i}"), "recordCount": 1000 + i % 50, "reason": "scheduled_sync"}),
                    })?;
                }
                Ok(())
            })
            .unwrap();
    }
    eprintln!(
        "generated {SNAPSHOTS} snapshots and {AUDIT} audit records in {:.1}s",
        t0.elapsed().as_secs_f64()
    );
}

struct Bench {
    app: App,
    db: std::path::PathBuf,
    env: Env,
    tx: std::sync::mpsc::Sender<jobs::Msg>,
    rx: std::sync::mpsc::Receiver<jobs::Msg>,
    slow: Vec<(String, f64)>,
}

impl Bench {
    fn run(&mut self, fx: Vec<Effect>) {
        for e in fx {
            if let Effect::Run { id, job } = e {
                let name = format!("{job:?}")
                    .split([' ', '{', '('])
                    .next()
                    .unwrap_or("")
                    .to_string();
                let t = Instant::now();
                let msg = jobs::perform(
                    &self.db.as_path().into(),
                    &self.env,
                    false,
                    id,
                    &job,
                    &self.tx,
                );
                self.slow.push((name, t.elapsed().as_secs_f64() * 1e3));
                let mut more = Vec::new();
                while let Ok(m) = self.rx.try_recv() {
                    more.extend(self.app.apply(m));
                }
                more.extend(self.app.apply(msg));
                self.run(more);
            }
        }
    }
    fn key(&mut self, c: KeyCode) {
        let fx = self.app.on_key(KeyEvent::new(c, KeyModifiers::NONE));
        self.run(fx);
    }
}

fn frame_stats(
    term: &mut Terminal<TestBackend>,
    app: &App,
    theme: &Theme,
    n: usize,
) -> (f64, f64, f64) {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        term.draw(|f| {
            ui::render(app, theme, f);
        })
        .unwrap();
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let mean = times.iter().sum::<f64>() / n as f64;
    (mean, times[n / 2], times[(n * 99 / 100).min(n - 1)])
}

fn main() {
    let keep = std::env::var_os("SNAPGOV_BENCH_DB").map(std::path::PathBuf::from);
    let dir = tempfile::tempdir().unwrap();
    let db = keep.clone().unwrap_or_else(|| dir.path().join("bench.db"));
    if !db.exists() {
        generate(&db);
    } else {
        eprintln!("reusing {}", db.display());
    }
    let frames: usize = std::env::var("SNAPGOV_BENCH_FRAMES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let env = Env::new(Config::default(), "bench", Clock::Fixed(now()));
    let theme = Theme::new("auto", true);

    // Time to the first frame: what `snapgov console` does before drawing.
    let t0 = Instant::now();
    Store::open(&db, OpenMode::ReadOnly).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let mut b = Bench {
        app: App::new("bench.db", "bench", false, false),
        db: db.clone(),
        env,
        tx,
        rx,
        slow: Vec::new(),
    };
    b.app.size = (W, H);
    let fx = b.app.start();
    b.run(fx);
    let mut term = Terminal::new(TestBackend::new(W, H)).unwrap();
    term.draw(|f| {
        ui::render(&b.app, &theme, f);
    })
    .unwrap();
    let first = t0.elapsed().as_secs_f64() * 1e3;
    let marks: usize = b
        .app
        .overview
        .as_ref()
        .unwrap()
        .tools
        .iter()
        .map(|t| t.marks.len())
        .sum();

    println!("console render benchmark: {W}×{H}, {SNAPSHOTS} snapshots, {AUDIT} audit records");
    println!("first frame (open store, load overview with {marks} timeline marks, draw): {first:.1} ms  (target ≤ 100 ms)");
    println!(
        "{:<34} {:>9} {:>9} {:>9}",
        "screen", "mean ms", "p50 ms", "p99 ms"
    );
    let report = |name: &str, b: &Bench, term: &mut Terminal<TestBackend>| {
        let (mean, p50, p99) = frame_stats(term, &b.app, &theme, frames);
        println!("{name:<34} {mean:>9.3} {p50:>9.3} {p99:>9.3}");
        p99
    };
    let mut worst: f64 = 0.0;
    worst = worst.max(report("overview (timelines)", &b, &mut term));
    b.key(KeyCode::Enter);
    worst = worst.max(report("snapshot list + detail", &b, &mut term));
    b.key(KeyCode::Esc);
    b.key(KeyCode::Char('2'));
    worst = worst.max(report("SLA", &b, &mut term));
    b.key(KeyCode::Char('1'));
    b.slow.clear();
    b.key(KeyCode::Char('r'));
    worst = worst.max(report("rollback: targets (2000 listed)", &b, &mut term));
    b.key(KeyCode::Esc);
    b.key(KeyCode::Esc);
    b.key(KeyCode::Char('1'));
    b.key(KeyCode::Char('4'));
    worst = worst.max(report("audit browser (newest page)", &b, &mut term));
    for _ in 0..150 {
        b.key(KeyCode::Char('j'));
    }
    worst = worst.max(report("audit browser (scrolled, 2 pages)", &b, &mut term));
    b.key(KeyCode::Char('G'));
    worst = worst.max(report("audit browser (oldest page)", &b, &mut term));
    b.key(KeyCode::Char('5'));
    worst = worst.max(report("retention", &b, &mut term));
    b.key(KeyCode::Char('?'));
    worst = worst.max(report("help", &b, &mut term));
    println!("worst p99 frame: {worst:.3} ms  (target ≤ 2 ms on every screen)");
    println!("data loads (worker threads, off the UI thread):");
    let mut seen = std::collections::BTreeMap::<String, f64>::new();
    for (name, ms) in &b.slow {
        let e = seen.entry(name.clone()).or_default();
        *e = e.max(*ms);
    }
    for (name, ms) in seen {
        println!("  {name:<30} {ms:>9.1} ms (slowest)");
    }
}

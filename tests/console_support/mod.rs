//! Helpers for the console's tests: a demo store built once per test
//! binary with a fixed clock, and a driver that runs the app's effects
//! synchronously, as the event loop runs them in workers.
#![allow(dead_code)]

use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::Terminal;
use snapgov::config::Config;
use snapgov::console::app::App;
use snapgov::console::jobs::{self, Effect, Msg};
use snapgov::console::theme::Theme;
use snapgov::console::ui;
use snapgov::ops::{Clock, Env};
use snapgov::store::{Location, OpenMode, Store};
use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver, Sender};

// A test crate using these helpers declares `mod common;` too.
use crate::common::pg;

pub const NOW: &str = "2025-12-04T12:00:00Z";

pub fn now() -> DateTime<Utc> {
    snapgov::domain::time::parse_ts(NOW).unwrap()
}

pub fn env_at(t: DateTime<Utc>) -> Env {
    Env::new(Config::default(), "tester", Clock::Fixed(t))
}

pub fn env() -> Env {
    env_at(now())
}

/// A test's own store: a file in its temp dir, or (with
/// `SNAPGOV_TEST_POSTGRES`) a schema of its own, dropped with it.
pub struct TestStore {
    pub db: pg::TestDb,
    pub dir: tempfile::TempDir,
}

impl TestStore {
    /// An empty store (nothing written yet).
    pub fn empty() -> TestStore {
        let dir = tempfile::tempdir().unwrap();
        TestStore {
            db: pg::TestDb::new(dir.path()),
            dir,
        }
    }

    pub fn location(&self) -> Location {
        Location::parse(self.db.location())
    }

    pub fn is_postgres(&self) -> bool {
        self.db.is_postgres()
    }
}

/// A private copy of the demo store, built once per test binary.
pub fn demo_db() -> (TestStore, Location) {
    let t = TestStore::empty();
    template::copy_to(&t);
    let loc = t.location();
    (t, loc)
}

/// The demo, built once per test binary (a file on SQLite, a schema of
/// its own on PostgreSQL) and copied into each test's store (building it
/// takes seconds; a copy, a fraction). The template lives as long as the
/// test process and is dropped as it exits, so a run leaves no file or
/// schema behind. (Dropping it whenever no test held a copy rebuilt it
/// over and over: tests come and go two at a time, and console_state took
/// 77 s on PostgreSQL instead of 12.)
mod template {
    use super::*;
    use std::sync::Mutex;

    struct Template {
        db: pg::TestDb,
        _dir: tempfile::TempDir,
    }

    extern "C" {
        fn atexit(f: extern "C" fn()) -> std::os::raw::c_int;
    }

    /// Run by the C library as the process exits (the test harness ends
    /// with `exit`, which drops no statics): drops the template's schema
    /// or its file.
    extern "C" fn drop_template() {
        let mut guard = TEMPLATE.lock().unwrap_or_else(|e| e.into_inner());
        *guard = None;
    }

    static TEMPLATE: Mutex<Option<Template>> = Mutex::new(None);

    /// Fills `t` (a fresh store) with the demo.
    pub fn copy_to(t: &TestStore) {
        let mut guard = TEMPLATE.lock().unwrap_or_else(|e| e.into_inner());
        let tmpl = guard.get_or_insert_with(|| {
            let dir = tempfile::tempdir().unwrap();
            let db = pg::TestDb::new(dir.path());
            let mut store =
                Store::open(Location::parse(db.location()), OpenMode::ReadWrite).unwrap();
            snapgov::ops::demo::build(&mut store, &env()).unwrap();
            // SAFETY: registers a plain function, once per process.
            unsafe { atexit(drop_template) };
            Template { db, _dir: dir }
        });
        if !tmpl.db.is_postgres() {
            std::fs::copy(tmpl.db.file(), t.db.file()).unwrap();
            return;
        }
        // The schema's tables, as this snapgov creates them.
        drop(Store::open(t.location(), OpenMode::ReadWrite).unwrap());
        let from = tmpl.db.schema().unwrap().to_string();
        let to = t.db.schema().unwrap().to_string();
        let mut c = t.db.admin().unwrap();
        let tables: Vec<String> = c
            .query(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1 AND table_name <> 'snapgov_version'",
                &[&from],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let mut sql = String::from("BEGIN;");
        for tb in &tables {
            sql += &format!("INSERT INTO \"{to}\".\"{tb}\" SELECT * FROM \"{from}\".\"{tb}\";");
        }
        let idents = c
            .query(
                "SELECT table_name::text, column_name::text FROM information_schema.columns WHERE table_schema = $1 AND is_identity = 'YES'",
                &[&to],
            )
            .unwrap();
        for r in idents {
            let (tb, col): (String, String) = (r.get(0), r.get(1));
            sql += &format!(
                "SELECT setval(pg_get_serial_sequence('\"{to}\".\"{tb}\"', '{col}'), (SELECT COALESCE(max(\"{col}\"), 0) + 1 FROM \"{to}\".\"{tb}\"), false);"
            );
        }
        sql += "COMMIT;";
        c.batch_execute(&sql).unwrap();
    }
}

/// Runs one SQL statement on the store behind snapgov's back (as an
/// attacker with database access would); how many rows it changed. Written
/// in SQL both engines take (`"user"` quoted).
pub fn sql(db: &Location, sql: &str) -> u64 {
    match db.path() {
        Some(p) => rusqlite::Connection::open(p)
            .unwrap()
            .execute(sql, [])
            .unwrap() as u64,
        None => {
            let url = db.as_arg().into_string().unwrap();
            pg::connect(&url).execute(sql, &[]).unwrap()
        }
    }
}

/// Where a store is: a [`Location`], a SQLite file's path, or a location
/// as `--db` takes it (e.g. `Scratch::location()`).
pub trait StoreAt {
    fn location(&self) -> Location;
}

impl StoreAt for Location {
    fn location(&self) -> Location {
        self.clone()
    }
}

impl StoreAt for std::path::Path {
    fn location(&self) -> Location {
        Location::from(self)
    }
}

/// A location as `--db` takes it (a path, or a PostgreSQL URL).
impl StoreAt for str {
    fn location(&self) -> Location {
        Location::parse(self)
    }
}

impl StoreAt for String {
    fn location(&self) -> Location {
        Location::parse(self)
    }
}

impl StoreAt for PathBuf {
    fn location(&self) -> Location {
        Location::from(self)
    }
}

/// The app and a store, with effects run synchronously.
pub struct Driver {
    pub app: App,
    /// The store: a file, or a PostgreSQL schema.
    pub db: Location,
    pub env: Env,
    pub read_only: bool,
    /// Keep effects instead of running them (to test cancelling).
    pub hold: bool,
    pub held: Vec<Effect>,
    pub quit: bool,
    /// What `y` put on the clipboard.
    pub copied: Vec<String>,
    tx: Sender<Msg>,
    rx: Receiver<Msg>,
    _dir: Option<TestStore>,
}

impl Driver {
    pub fn demo(w: u16, h: u16) -> Driver {
        let (dir, db) = demo_db();
        let mut d = Driver::open(&db, env(), false, w, h);
        d._dir = Some(dir);
        d
    }

    /// Opens the console on `db`: a [`Location`], or a SQLite file's path.
    pub fn open<D: StoreAt + ?Sized>(db: &D, env: Env, read_only: bool, w: u16, h: u16) -> Driver {
        let (tx, rx) = channel();
        let mut app = App::new("demo.db", &env.user, read_only, false);
        app.size = (w, h);
        let mut d = Driver {
            app,
            db: db.location(),
            env,
            read_only,
            hold: false,
            held: Vec::new(),
            quit: false,
            copied: Vec::new(),
            tx,
            rx,
            _dir: None,
        };
        let fx = d.app.start();
        d.run(fx);
        d.draw();
        d
    }

    pub fn run(&mut self, fx: Vec<Effect>) {
        for e in fx {
            if self.hold {
                self.held.push(e);
                continue;
            }
            match e {
                Effect::Quit => self.quit = true,
                Effect::Suspend => {}
                Effect::Copy(t) => self.copied.push(t),
                Effect::Run { id, job } => {
                    let msg =
                        jobs::perform(&self.db, &self.env, self.read_only, id, &job, &self.tx);
                    let mut more = Vec::new();
                    while let Ok(m) = self.rx.try_recv() {
                        more.extend(self.app.apply(m));
                    }
                    more.extend(self.app.apply(msg));
                    self.run(more);
                }
            }
        }
    }

    /// Runs what was held back.
    pub fn release(&mut self) {
        self.hold = false;
        let fx = std::mem::take(&mut self.held);
        self.run(fx);
    }

    pub fn key(&mut self, code: KeyCode) -> &mut Self {
        let fx = self.app.on_key(KeyEvent::new(code, KeyModifiers::NONE));
        self.run(fx);
        self.draw();
        self
    }

    /// Draws a frame, as the event loop does after every event: the app
    /// learns where its list and tabs are.
    pub fn draw(&mut self) {
        let (w, h) = self.app.size;
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        let mut drawn = Default::default();
        t.draw(|f| drawn = ui::render(&self.app, &Theme::new("auto", true), f))
            .unwrap();
        self.app.drawn = drawn;
    }

    pub fn ctrl(&mut self, c: char) -> &mut Self {
        let fx = self
            .app
            .on_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL));
        self.run(fx);
        self.draw();
        self
    }

    /// Presses each character as a key.
    pub fn keys(&mut self, s: &str) -> &mut Self {
        for c in s.chars() {
            self.key(KeyCode::Char(c));
        }
        self
    }

    pub fn buffer(&self, theme: &Theme) -> Buffer {
        let (w, h) = self.app.size;
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| {
            ui::render(&self.app, theme, f);
        })
        .unwrap();
        t.backend().buffer().clone()
    }

    pub fn screen(&self) -> String {
        text(&self.buffer(&Theme::new("auto", true)))
    }

    pub fn resize(&mut self, w: u16, h: u16) -> &mut Self {
        self.app.size = (w, h);
        self.draw();
        self
    }
}

/// The buffer as text, one line per row, trailing spaces trimmed and
/// temporary paths masked.
pub fn text(buf: &Buffer) -> String {
    let w = buf.area.width as usize;
    let mut out = String::new();
    for row in buf.content.chunks(w) {
        let mut line = String::new();
        let mut skip = 0;
        for c in row {
            if skip == 0 {
                line.push_str(c.symbol());
            }
            skip = std::cmp::max(skip, unicode_width(c.symbol())).saturating_sub(1);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    mask_tmp(&out)
}

/// Like `text`, with hex digests masked: the demo's audit chain hashes
/// depend on a temporary path recorded in one of its records.
pub fn text_masked(buf: &Buffer) -> String {
    let t: Vec<char> = text(buf).chars().collect();
    let mut out = String::with_capacity(t.len());
    let mut i = 0;
    while i < t.len() {
        let is_hex = |c: char| c.is_ascii_hexdigit() && !c.is_ascii_uppercase();
        if !is_hex(t[i]) {
            out.push(t[i]);
            i += 1;
            continue;
        }
        let start = i;
        while i < t.len() && is_hex(t[i]) {
            i += 1;
        }
        let run = &t[start..i];
        let letters = run.iter().any(|c| c.is_ascii_lowercase());
        let digits = run.iter().any(|c| c.is_ascii_digit());
        // A digest, or the wrapped tail of one (which ends its JSON string).
        let tail = t.get(i) == Some(&'"');
        if run.len() >= 6 && ((letters && digits) || tail) {
            out.push_str(&"#".repeat(run.len()));
        } else {
            out.extend(run);
        }
    }
    out
}

fn unicode_width(s: &str) -> usize {
    // Every symbol the console draws is one cell wide.
    usize::from(!s.is_empty())
}

fn mask_tmp(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("/.tmp") {
        out.push_str(&rest[..i + 5]);
        rest = &rest[i + 5..];
        let n = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .count()
            .min(6);
        out.push_str(&"X".repeat(n));
        rest = &rest[n..];
    }
    out.push_str(rest);
    out
}

/// Where `needle` is drawn: (x, y) of its first character.
pub fn find(buf: &Buffer, needle: &str) -> Option<(u16, u16)> {
    let w = buf.area.width;
    for y in 0..buf.area.height {
        let line: Vec<&str> = (0..w).map(|x| buf[(x, y)].symbol()).collect();
        let joined: String = line.concat();
        if let Some(byte) = joined.find(needle) {
            let x = joined[..byte].chars().count() as u16;
            return Some((x, y));
        }
    }
    None
}

/// A record snapshot `id` holds that its tool's active data does not
/// (found through the store's own reads, whatever way the snapshot's
/// members are stored), for tests that tamper with it.
pub fn record_only_in(db: &Location, id: &str) -> i64 {
    use snapgov::store::prelude::*;
    use snapgov::store::{DiffSide, StoreError};
    let mut s = Store::open(db.clone(), OpenMode::ReadOnly).unwrap();
    s.read(|q| {
        let (snap, pk) = q.get_snapshot_pk(id)?.expect("the snapshot exists");
        let tool = q.tool_key_of(&snap.tool)?.expect("the tool exists");
        let mut found = None;
        q.diff(DiffSide::Active(tool), DiffSide::Snapshot(pk), |e| {
            found = found.or(e.new);
            Ok(())
        })?;
        Ok::<_, StoreError>(found.expect("the snapshot differs from the active data"))
    })
    .unwrap()
}

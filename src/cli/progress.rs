//! The import's progress on stderr.
//!
//! A bar of the bytes read against the input's size, with the rate and an
//! ETA, for each pass over a file (the hash, then the parse, which may read
//! a file twice); for standard input (no size) a spinner with the bytes and
//! the rate only; a spinner with the step's words while the snapshot is
//! written. Shown only when stderr is a terminal, never with --json or
//! --quiet; plain when NO_COLOR or --no-color asks. When the import
//! succeeds, one line stays: what the last pass read, and how fast.
//!
//! `SNAPGOV_PROGRESS=always` (a hidden switch for tests) shows it even when
//! stderr is not a terminal, each redraw on a line of its own;
//! `SNAPGOV_PROGRESS=never` hides it.

use crate::ops::Progress;
use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle, TermLike};
use std::cell::{Cell, RefCell};
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// The environment variable that forces the progress on or off (tests).
const FORCE_VAR: &str = "SNAPGOV_PROGRESS";

/// An import's progress: drawn on stderr, or nothing.
pub(super) struct ImportProgress(Option<Shown>);

struct Shown {
    pb: ProgressBar,
    color: bool,
    records: Cell<u64>,
    /// The last pass over the input: the final line reports it.
    pass: RefCell<Option<Pass>>,
    started: Instant,
}

struct Pass {
    size: Option<u64>,
    bytes: u64,
    started: Instant,
    /// When the pass ended (the next step began).
    ended: Option<Instant>,
}

impl ImportProgress {
    /// `json`/`quiet`: the run's flags; `no_color`: --no-color or NO_COLOR.
    pub(super) fn new(json: bool, quiet: bool, no_color: bool) -> ImportProgress {
        if json || quiet {
            return ImportProgress(None);
        }
        let forced = std::env::var(FORCE_VAR).ok();
        let target = match forced.as_deref() {
            Some("never") => return ImportProgress(None),
            _ if std::io::stderr().is_terminal() => ProgressDrawTarget::stderr(),
            Some("always") => ProgressDrawTarget::term_like(Box::new(Lines::default())),
            _ => return ImportProgress(None),
        };
        let pb = ProgressBar::with_draw_target(None, target);
        let shown = Shown {
            pb,
            color: !no_color,
            records: Cell::new(0),
            pass: RefCell::new(None),
            started: Instant::now(),
        };
        shown.spin("{spinner} {msg} ({elapsed})");
        ImportProgress(Some(shown))
    }

    /// Ends the display. After a successful import one line stays: the
    /// last pass's bytes (against the size, for a file), its rate, the
    /// records and the time taken.
    pub(super) fn close(&self, ok: bool) {
        let Some(s) = &self.0 else { return };
        s.pb.finish_and_clear();
        if !ok {
            return;
        }
        if let Some(line) = s.summary() {
            eprintln!("{line}");
        }
    }
}

impl Shown {
    fn spin(&self, template: &str) {
        let style = ProgressStyle::with_template(template).expect("valid template");
        self.pb.set_style(style);
        self.pb.enable_steady_tick(Duration::from_millis(120));
    }

    /// Ends the current pass, if one is running.
    fn end_pass(&self) {
        if let Some(p) = self.pass.borrow_mut().as_mut() {
            p.ended.get_or_insert_with(Instant::now);
        }
    }

    fn summary(&self) -> Option<String> {
        let pass = self.pass.borrow();
        let p = pass.as_ref()?;
        let took = p.ended.unwrap_or_else(Instant::now) - p.started;
        let rate = p.bytes as f64 / took.as_secs_f64().max(0.001);
        let read = match p.size {
            Some(size) => format!("{}/{}", HumanBytes(p.bytes), HumanBytes(size)),
            None => HumanBytes(p.bytes).to_string(),
        };
        Some(format!(
            "read {read} ({}/s), {} records in {:.1}s",
            HumanBytes(rate as u64),
            self.records.get(),
            self.started.elapsed().as_secs_f64()
        ))
    }
}

impl Progress for ImportProgress {
    fn set_message(&self, msg: &str) {
        let Some(s) = &self.0 else { return };
        s.end_pass();
        s.spin("{spinner} {msg} ({elapsed})");
        s.pb.set_message(msg.to_string());
    }

    fn inc(&self, n: u64) {
        if let Some(s) = &self.0 {
            s.records.set(s.records.get() + n);
        }
    }

    fn begin_pass(&self, what: &str, size: Option<u64>) {
        let Some(s) = &self.0 else { return };
        s.end_pass();
        s.pb.reset();
        s.pb.set_message(what.to_string());
        match size {
            Some(size) => {
                s.pb.disable_steady_tick();
                s.pb.set_length(size);
                let bar = if s.color {
                    "{wide_bar:.cyan/blue}"
                } else {
                    "{wide_bar}"
                };
                let template = format!(
                    "{{msg}} {bar} {{bytes}}/{{total_bytes}} ({{bytes_per_sec}}, ETA {{eta}})"
                );
                let style = ProgressStyle::with_template(&template)
                    .expect("valid template")
                    .progress_chars("=> ");
                s.pb.set_style(style);
            }
            None => {
                s.pb.unset_length();
                s.spin("{spinner} {msg}: {bytes} ({bytes_per_sec}, {elapsed})");
            }
        }
        *s.pass.borrow_mut() = Some(Pass {
            size,
            bytes: 0,
            started: Instant::now(),
            ended: None,
        });
    }

    fn advance(&self, n: u64) {
        let Some(s) = &self.0 else { return };
        s.pb.inc(n);
        if let Some(p) = s.pass.borrow_mut().as_mut() {
            p.bytes += n;
        }
    }
}

/// Stderr when it is not a terminal (forced on for tests): every redraw on
/// a line of its own, no cursor moves. A redraw's pieces are gathered and
/// written as one line when it is flushed.
#[derive(Debug, Default)]
struct Lines(std::sync::Mutex<String>);

impl Lines {
    fn emit(&self) -> std::io::Result<()> {
        let mut pending = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let line = pending.trim().to_string();
        pending.clear();
        if line.is_empty() {
            return Ok(());
        }
        writeln!(std::io::stderr(), "{line}")
    }
}

impl TermLike for Lines {
    fn width(&self) -> u16 {
        100
    }
    fn move_cursor_up(&self, _n: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_down(&self, _n: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_right(&self, _n: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_left(&self, _n: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.write_str(s)?;
        self.emit()
    }
    fn write_str(&self, s: &str) -> std::io::Result<()> {
        let mut pending = self.0.lock().unwrap_or_else(|p| p.into_inner());
        pending.push_str(&s.replace('\r', ""));
        Ok(())
    }
    fn clear_line(&self) -> std::io::Result<()> {
        Ok(())
    }
    fn flush(&self) -> std::io::Result<()> {
        self.emit()?;
        std::io::stderr().flush()
    }
}

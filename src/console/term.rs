//! The event loop and the terminal. The terminal is restored on quit, on
//! error (a guard's Drop), on panic (a hook chained before color-eyre's),
//! and around Ctrl-Z.

use super::app::App;
use super::changes::Changes;
use super::jobs::{self, Effect, Msg};
use super::theme::Theme;
use super::{ui, Options};
use crate::ops::{Clock, OpError};
use crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event, KeyEventKind};
use crossterm::execute;
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;
use std::io::{stdout, Stdout};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::OnceLock;
use std::thread::ThreadId;
use std::time::{Duration, Instant};

type Term = Terminal<CrosstermBackend<Stdout>>;

/// Whether the console owns the terminal now (the panic hook restores it).
static ACTIVE: AtomicBool = AtomicBool::new(false);
static MOUSE: AtomicBool = AtomicBool::new(false);
static UI_THREAD: OnceLock<ThreadId> = OnceLock::new();

fn restore() {
    let _ = disable_raw_mode();
    if MOUSE.load(Ordering::SeqCst) {
        let _ = execute!(stdout(), DisableMouseCapture);
    }
    let _ = execute!(stdout(), LeaveAlternateScreen, crossterm::cursor::Show);
}

fn enter() -> std::io::Result<()> {
    enable_raw_mode()?;
    execute!(stdout(), EnterAlternateScreen)?;
    if MOUSE.load(Ordering::SeqCst) {
        execute!(stdout(), EnableMouseCapture)?;
    }
    Ok(())
}

/// Chains a hook before the one installed already (color-eyre's, from
/// main): on the UI thread it gives the terminal back first, so the report
/// is readable. Panics of worker threads are caught and shown in the UI.
fn install_panic_hook() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let on_ui = UI_THREAD.get() == Some(&std::thread::current().id());
            if ACTIVE.load(Ordering::SeqCst) {
                if !on_ui {
                    // A worker: caught by catch_unwind and shown in the UI.
                    return;
                }
                ACTIVE.store(false, Ordering::SeqCst);
                restore();
            }
            prev(info);
        }));
    });
}

/// Gives the terminal back when dropped (normal return or error).
struct Guard;
impl Drop for Guard {
    fn drop(&mut self) {
        if ACTIVE.swap(false, Ordering::SeqCst) {
            restore();
        }
    }
}

fn io_err(e: std::io::Error) -> OpError {
    OpError::invalid(format!("terminal error: {e}"))
}

pub fn run(opts: Options) -> Result<u8, OpError> {
    let _ = UI_THREAD.set(std::thread::current().id());
    install_panic_hook();
    MOUSE.store(opts.env.config.console.mouse, Ordering::SeqCst);
    ACTIVE.store(true, Ordering::SeqCst);
    let guard = Guard;
    enter().map_err(io_err)?;
    let mut terminal = Terminal::new(CrosstermBackend::new(stdout())).map_err(io_err)?;
    let r = event_loop(&mut terminal, &opts);
    drop(guard);
    r
}

fn spawn(opts: &Options, id: u64, job: jobs::Job, tx: &Sender<Msg>) {
    let db = opts.db.clone();
    let env = opts.env.clone();
    let ro = opts.read_only;
    let tx = tx.clone();
    std::thread::spawn(move || {
        let msg = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            jobs::perform(&db, &env, ro, id, &job, &tx)
        }))
        .unwrap_or_else(|p| {
            let what = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Msg {
                id,
                result: Err(OpError::invalid(format!(
                    "internal error in a worker: {what}"
                ))),
            }
        });
        let _ = tx.send(msg);
    });
}

fn suspend(terminal: &mut Term) -> std::io::Result<()> {
    restore();
    #[cfg(unix)]
    {
        // Stop ourselves as the shell's Ctrl-Z would (raw mode turned the
        // key into an event); we continue here after `fg`.
        let _ = std::process::Command::new("sh")
            .args(["-c", "kill -TSTP $PPID"])
            .status();
    }
    enter()?;
    terminal.clear()
}

/// The overview is quick to load: it is loaded before the first frame so
/// that the first frame has data in it.
fn first_load(app: &mut App, opts: &Options, tx: &Sender<Msg>) {
    for e in app.start() {
        if let Effect::Run { id, job } = e {
            let msg = jobs::perform(&opts.db, &opts.env, opts.read_only, id, &job, tx);
            let fx = app.apply(msg);
            for e in fx {
                if let Effect::Run { id, job } = e {
                    spawn(opts, id, job, tx);
                }
            }
        }
    }
}

/// How often the console looks for changes itself when the store notifies
/// them (PostgreSQL): a listener that lost its connection is caught up.
const NOTIFIED_REFRESH: Duration = Duration::from_secs(30);

fn event_loop(terminal: &mut Term, opts: &Options) -> Result<u8, OpError> {
    let (tx, rx) = mpsc::channel::<Msg>();
    let theme = Theme::new(&opts.env.config.console.theme, opts.color);
    let mut app = App::new(
        &opts.db.to_string(),
        &opts.env.user,
        opts.read_only,
        opts.env.clock == Clock::System,
    );
    let size = terminal.size().map_err(io_err)?;
    app.size = (size.width, size.height);
    first_load(&mut app, opts, &tx);
    let tick = Duration::from_millis(100);
    // On PostgreSQL, other processes' writes are notified; looking for
    // changes on a timer is then only the fallback.
    let changes = Changes::watch(&opts.db);
    let mut refresh = Duration::from_secs(opts.env.config.console.refresh_secs.max(1));
    if changes.is_some() {
        refresh = refresh.max(NOTIFIED_REFRESH);
    }
    let mut last_tick = Instant::now();
    let mut last_refresh = Instant::now();
    let mut owed = false;
    let mouse = opts.env.config.console.mouse;
    loop {
        let mut drawn = Default::default();
        terminal
            .draw(|f| drawn = ui::render(&app, &theme, f))
            .map_err(io_err)?;
        app.drawn = drawn;
        let timeout = tick.saturating_sub(last_tick.elapsed());
        let mut fx = Vec::new();
        if event::poll(timeout).map_err(io_err)? {
            match event::read().map_err(io_err)? {
                Event::Key(k) if k.kind != KeyEventKind::Release => fx = app.on_key(k),
                Event::Mouse(m) if mouse => fx = app.on_mouse(m),
                Event::Resize(w, h) => app.size = (w, h),
                _ => {}
            }
        }
        while let Ok(msg) = rx.try_recv() {
            fx.extend(app.apply(msg));
        }
        if last_tick.elapsed() >= tick {
            last_tick = Instant::now();
            // A change that arrives while a look is under way may be newer
            // than what that look reads: it is owed another look after.
            owed |= changes.as_ref().is_some_and(Changes::arrived);
            let idle = app.poll_req.is_none() && app.overview_req.is_none();
            let due = (owed && idle) || last_refresh.elapsed() >= refresh;
            if due {
                owed = false;
                last_refresh = Instant::now();
            }
            fx.extend(app.on_tick(due, opts.env.clock.now()));
        }
        for e in fx {
            match e {
                // A rollback still running in a worker dies with the process:
                // its transaction is never committed, so nothing changes.
                Effect::Quit => return Ok(0),
                Effect::Suspend => suspend(terminal).map_err(io_err)?,
                Effect::Run { id, job } => spawn(opts, id, job, &tx),
                Effect::Copy(text) => {
                    // Best effort: a terminal without OSC 52 ignores it.
                    let _ = crossterm::execute!(
                        std::io::stdout(),
                        crossterm::clipboard::CopyToClipboard::to_clipboard_from(text)
                    );
                }
            }
        }
    }
}

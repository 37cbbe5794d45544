//! The operator console: a terminal UI over the same workflows as the CLI.
//!
//! Layout of this module, after the ratatui component template and
//! gitui/bottom: pure state machines ([`app`], [`wizard`], [`audit`],
//! [`widgets`]) that take [`keymap::Action`]s and return [`jobs::Effect`]s;
//! one keymap table ([`keymap`]) behind both the hint bar and the help
//! screen; render functions ([`ui`]) that only read the state; a data layer
//! over `ops` ([`data`], [`jobs`]) whose work runs in worker threads, each
//! with its own store connection; and the event loop (`term`), which owns
//! the terminal and always gives it back.

pub mod actions;
pub mod app;
pub mod audit;
pub mod changes;
pub mod data;
pub mod jobs;
pub mod keymap;
mod term;
pub mod theme;
pub mod ui;
pub mod widgets;
pub mod wizard;
pub mod words;

use crate::ops::{Env, OpError};
use crate::store::{OpenMode, Store, StoreError};
use std::io::IsTerminal;

/// How to run the console.
#[derive(Clone, Debug)]
pub struct Options {
    pub db: crate::store::Location,
    pub env: Env,
    /// Open the store read-only at the SQLite level; rollback is not offered.
    pub read_only: bool,
    /// False with `--no-color` or `NO_COLOR`.
    pub color: bool,
}

/// What the console says when there is no terminal to draw on.
pub fn no_terminal() -> String {
    format!(
        "the console needs a terminal, and standard output is not one; use the CLI instead: {}",
        crate::cli::suggest::read_only_views()
    )
}

/// Runs the console until the operator quits. Returns the exit code.
pub fn run(opts: Options) -> Result<u8, OpError> {
    // The store's path first: a directory would otherwise surface as
    // SQLite's bare "unable to open database file".
    if let Some(dir) = opts.db.path().filter(|p| p.is_dir()) {
        return Err(OpError::usage(format!(
            "{} {} is a directory; give the path of the store file inside it (e.g. {})",
            crate::cli::suggest::db_flag(),
            dir.display(),
            dir.join("snapgov.db").display()
        )));
    }
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(OpError::usage(no_terminal()));
    }
    // Open the store once before touching the terminal, so a missing or
    // unreadable store is reported as the CLI reports it.
    if let Some(path) = opts.db.path().filter(|p| !p.exists()) {
        return Err(StoreError::Missing {
            path: path.to_path_buf(),
        }
        .into());
    }
    if !opts.read_only {
        // Migrates an older store; the workers then open it read-only.
        Store::open(opts.db.clone(), OpenMode::ReadWrite)?;
    }
    Store::open(opts.db.clone(), OpenMode::ReadOnly)?;
    term::run(opts)
}

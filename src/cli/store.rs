//! `snapgov store`: the store as a whole (`copy`).

use super::output::{esc, print_json};
use super::progress::ImportProgress;
use super::Context;
use crate::ops::{self, OpError, Progress};
use crate::store::Location;
use clap::{Args, Subcommand};
use serde_json::json;
use std::ffi::OsString;

type Result<T> = std::result::Result<T, OpError>;

const COPY_HELP: &str = "\
A LOCATION is a SQLite file's path or a PostgreSQL URL,
postgres://USER@HOST[:PORT]/DB (password from the URL, $PGPASSWORD or
~/.pgpass; never printed), with ?options=-csearch_path%3DSCHEMA to use a
schema other than the user's default, and sslmode=require|verify-full for TLS.

The copy keeps everything: every snapshot and its records, the active data,
the whole audit trail (a purged prefix stays purged; the same hashes), holds,
API tokens. The target must be empty (a new SQLite file, or an empty database
or schema): a copy never merges two stores.

Before the copy is kept it is verified on the target: the audit chain is
re-walked and every snapshot's records are re-hashed against its
normalizedHash. All of it is one transaction on the target, so a copy that
fails or does not verify leaves the target empty (exit 6 when it does not
verify). The source is only read, in one consistent view, while others may
go on using it.

Examples:
  snapgov store copy --from ~/.local/share/snapgov/snapgov.db \\
      --to postgres://snapgov@db.internal/snapgov
  snapgov store copy --from postgres://snapgov@db.internal/snapgov --to backup.db";

#[derive(Subcommand, Debug)]
pub enum StoreCmd {
    /// Copy a whole store to a new, empty one: SQLite to PostgreSQL, back,
    /// or between two of the same kind; verified before it is kept.
    #[command(after_help = COPY_HELP)]
    Copy(CopyArgs),
    /// Bring the store's schema up to this snapgov's version (read
    /// commands open a store read-only and refuse one that needs it).
    /// Safe to run again: a current store is left as it is.
    Migrate,
}

#[derive(Args, Debug)]
pub struct CopyArgs {
    /// The store to copy (only read): a SQLite file or a postgres:// URL.
    #[arg(long, value_name = "LOCATION")]
    pub from: OsString,
    /// The empty store to copy into: a SQLite file (created if missing) or
    /// a postgres:// URL.
    #[arg(long, value_name = "LOCATION")]
    pub to: OsString,
}

pub fn run(ctx: &Context, cmd: StoreCmd) -> Result<u8> {
    match cmd {
        StoreCmd::Copy(a) => copy(ctx, a),
        StoreCmd::Migrate => migrate(ctx),
    }
}

fn migrate(ctx: &Context) -> Result<u8> {
    // Schema 4 copies the records table and 5 rebuilds its hash index:
    // seconds on a large store.
    let progress = ImportProgress::new(ctx.json, false, ctx.no_color);
    progress.set_message(
        "migrating the store's schema (on a large store, a few seconds per million records)",
    );
    let out = ops::store_migrate::migrate(&ctx.db);
    progress.close(false);
    let out = out?;
    if ctx.json {
        print_json(&json!({ "migrate": out }));
    } else {
        println!("{}", esc(&out.to_string()));
    }
    Ok(0)
}

fn copy(ctx: &Context, a: CopyArgs) -> Result<u8> {
    let (from, to) = (Location::parse(&a.from), Location::parse(&a.to));
    // The import's spinner: the step ("copying records", "verifying the
    // copy") and the time taken; no bar (the rows have no total up front).
    let progress = ImportProgress::new(ctx.json, false, ctx.no_color);
    let out = ops::store_copy::copy(&from, &to, &ctx.env, &progress);
    progress.close(false);
    let out = out?;
    if ctx.json {
        print_json(&json!({ "copy": out }));
    } else {
        // Escaped line by line: the locations are the user's text.
        for line in out.to_string().lines() {
            println!("{}", esc(line));
        }
    }
    Ok(0)
}

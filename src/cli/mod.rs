//! The command line: argument parsing, the environment (paths, user, clock),
//! and printing. Every command calls one workflow in `ops`.

mod audit;
mod commands;
pub mod glyphs;
mod identity;
mod import;
mod output;
mod progress;
mod retention;
mod rollback;
mod server;
mod snapshots;
mod store;
pub mod suggest;
pub mod words;

use crate::config::Config;
use crate::ops::{Clock, Env, OpError};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

pub use crate::ops::diff::changed_fields;
pub use identity::os_user;
pub use output::{freshness_glyph, Style};

const AFTER_HELP: &str = "\
Paths: the store is --db, else $SNAPGOV_DB, else $XDG_DATA_HOME/snapgov/snapgov.db;
a postgres://USER@HOST/DB URL there selects a PostgreSQL store (password from
the URL, $PGPASSWORD or ~/.pgpass; never printed);
the config is --config, else $SNAPGOV_CONFIG, else $XDG_CONFIG_HOME/snapgov/config.toml.
$SNAPGOV_NOW=<RFC 3339> fixes the clock (demos, tests, \"as of\" checks).

Exit codes: 0 ok, 1 error, 2 usage, 3 import rejected, 4 blocked by freshness,
5 conflict (someone else changed it, or the store is busy), 6 integrity failure.

Start with `snapgov demo` to see it work on generated data.";

#[derive(Parser, Debug)]
#[command(
    name = "snapgov",
    version,
    about = "Govern imported scanner feeds: versioned snapshots, freshness SLA, verified rollback, retention, audit trail",
    after_help = AFTER_HELP,
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOpts,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct GlobalOpts {
    /// The store: a SQLite file, or a postgres://USER@HOST/DB URL for a
    /// PostgreSQL store shared by a team (sslmode=require|verify-full
    /// for TLS).
    #[arg(
        long,
        global = true,
        env = "SNAPGOV_DB",
        value_name = "PATH|URL",
        hide_env_values = true
    )]
    pub db: Option<std::ffi::OsString>,
    /// The config file to read.
    #[arg(long, global = true, env = "SNAPGOV_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Who is acting, as recorded in the audit trail (default: the OS user).
    #[arg(long, global = true, env = "SNAPGOV_USER", value_name = "NAME")]
    pub user: Option<String>,
    /// Print machine-readable JSON (the spec's shapes) instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// Never use colour (also: NO_COLOR set in the environment).
    #[arg(long, global = true)]
    pub no_color: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Snapshot governance commands (import, list, verify, audit, …).
    #[command(subcommand)]
    Ingest(IngestCmd),
    /// Build a store from generated demo data (several tools, 60+ days of
    /// history) and show it. Without --db it uses a fresh temporary store.
    Demo(DemoArgs),
    /// Open the operator console (a terminal UI) on the store: timelines,
    /// SLA, the rollback wizard, the audit browser, retention.
    Console(ConsoleArgs),
    /// Write a generated, realistic scanner feed (for benchmarks and trials).
    #[command(hide = true)]
    Generate(GenerateArgs),
    /// Serve the HTTP API and run the scheduler (retention, SLA checks).
    Serve(server::ServeArgs),
    /// API tokens for `snapgov serve`: create, list, revoke.
    #[command(subcommand)]
    Token(server::TokenCmd),
    /// The config file: `check` validates every key (exit 2 naming the
    /// key, its value and the allowed range) and prints what applies.
    #[command(subcommand)]
    Config(ConfigCmd),
    /// The store as a whole: `copy` moves it between SQLite and PostgreSQL.
    #[command(subcommand)]
    Store(store::StoreCmd),
}

#[derive(Subcommand, Debug)]
pub enum ConfigCmd {
    /// Validate the config file and print the settings that apply.
    Check,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Only build the store and print where it is.
    #[arg(long)]
    pub no_console: bool,
}

#[derive(Args, Debug)]
pub struct ConsoleArgs {
    /// Open the store read-only (at the SQLite level): nothing can be
    /// written, and rollback is not offered.
    #[arg(long)]
    pub read_only: bool,
}

#[derive(Args, Debug)]
pub struct GenerateArgs {
    #[arg(long, value_parser = parse_format)]
    pub format: crate::ingest::Format,
    /// Number of packages.
    #[arg(long, default_value_t = 1000)]
    pub packages: u64,
    /// Findings per 100 packages (formats with findings).
    #[arg(long, default_value_t = 10)]
    pub vuln_percent: u64,
    /// Seed: the same seed gives the same file.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Fraction (per mille) of packages whose version differs from seed 1's.
    #[arg(long, default_value_t = 0)]
    pub churn_permille: u64,
    #[arg(long, short)]
    pub out: PathBuf,
}

#[derive(Subcommand, Debug)]
pub enum IngestCmd {
    /// Import scanner output as a new snapshot of TOOL, made active.
    ///
    /// Several files make one snapshot. The format is detected unless
    /// --format names it. A refused import leaves the active snapshot as it
    /// was and is recorded as a failed snapshot.
    #[command(
        after_help = "Examples:\n  snapgov ingest import --tool syft sbom.json\n  trivy image -f json alpine | snapgov ingest import --tool trivy -\n  snapgov ingest import --tool my-scanner --format snapgov findings.jsonl"
    )]
    Import(ImportArgs),
    /// List snapshots (oldest first).
    Snapshots(SnapshotsArgs),
    /// Show one snapshot record.
    Show {
        /// Snapshot id, e.g. syft-20251204T000000Z-001.
        id: String,
    },
    /// Re-hash a snapshot's stored records and compare with its
    /// normalizedHash; also checks each record is filed under its identity.
    Verify {
        /// Snapshot id.
        #[arg(required_unless_present = "all")]
        id: Option<String>,
        /// Verify every snapshot that still has records.
        #[arg(long, conflicts_with = "id")]
        all: bool,
    },
    /// The audit trail: list, show, verify, checkpoint, purge.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// Freshness SLA per tool (the spec's SLA document with --json).
    Sla {
        /// One tool (default: every tool).
        #[arg(long)]
        tool: Option<String>,
    },
    /// Stream a tool's active records as JSON Lines, behind the freshness guard.
    ///
    /// Stale data prints a warning on stderr; critically old data is refused
    /// (exit 4) unless --override gives a reason, which is audited; expired
    /// data is refused.
    Records(RecordsArgs),
    /// Expire a snapshot: its data becomes unavailable (audited).
    Expire {
        #[arg(long, value_name = "ID")]
        snapshot_id: String,
        #[arg(long)]
        reason: String,
    },
    /// Roll a tool back to an earlier snapshot, verified and atomic.
    ///
    /// Without a target: the active snapshot's predecessor (skipping failed,
    /// expired and deleted ones). Shows the record-level diff first; on a
    /// terminal asks you to type the tool name; in scripts pass --force.
    #[command(
        after_help = "Examples:\n  snapgov ingest rollback --tool syft --dry-run\n  snapgov ingest rollback --tool syft --snapshot-id syft-20251201T000000Z-001 --reason \"corrupt feed\"\n  snapgov ingest rollback --tool trivy --at 2025-12-01T00:00:00Z --force --reason \"compliance\""
    )]
    Rollback(RollbackArgs),
    /// Record-level diff between two snapshots (added, removed, changed).
    Diff {
        from: String,
        to: String,
        /// How many records of each group to show.
        #[arg(long, default_value_t = 10)]
        sample: usize,
    },
    /// Retention: policy and status, runs, holds.
    #[command(subcommand)]
    Retention(RetentionCmd),
}

#[derive(Args, Debug)]
pub struct RecordsArgs {
    #[arg(long)]
    pub tool: String,
    /// Only records of this subject (image, directory, repository).
    #[arg(long)]
    pub subject: Option<String>,
    /// package or vulnerability.
    #[arg(long, value_parser = parse_kind)]
    pub kind: Option<crate::domain::record::RecordKind>,
    /// Only findings of these severities (comma-separated or repeated).
    #[arg(long, value_delimiter = ',', value_parser = parse_severity)]
    pub severity: Vec<crate::domain::record::Severity>,
    /// Read critically old data anyway, for this reason (audited).
    #[arg(long = "override", value_name = "REASON")]
    pub override_reason: Option<String>,
}

#[derive(Args, Debug)]
pub struct RollbackArgs {
    #[arg(long)]
    pub tool: String,
    /// Roll back to this snapshot.
    #[arg(long, value_name = "ID", conflicts_with = "at")]
    pub snapshot_id: Option<String>,
    /// Roll back to the snapshot that was active at this time (RFC 3339).
    #[arg(long, value_name = "TS", value_parser = parse_ts_arg)]
    pub at: Option<chrono::DateTime<chrono::Utc>>,
    /// Verify and show the diff; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Skip the confirmation (needed without a terminal).
    #[arg(long)]
    pub force: bool,
    /// Why (required; prompted for on a terminal).
    #[arg(long)]
    pub reason: Option<String>,
    /// Only proceed if this is still the active snapshot (as previewed).
    #[arg(long, value_name = "ID")]
    pub expect_active: Option<String>,
    /// How many records of each diff group to show.
    #[arg(long, default_value_t = 10)]
    pub sample: usize,
}

#[derive(Subcommand, Debug)]
pub enum RetentionCmd {
    /// Policy, schedule, next run, holds, and what the next run would do.
    Status,
    /// Archive and delete what the policy says (or only list it with --dry-run).
    Run {
        #[arg(long)]
        dry_run: bool,
    },
    /// Holds keep a snapshot from being archived or deleted until they expire.
    #[command(subcommand)]
    Hold(HoldCmd),
}

#[derive(Subcommand, Debug)]
pub enum HoldCmd {
    /// Hold a snapshot until a time.
    Add {
        #[arg(value_name = "ID")]
        snapshot_id: String,
        #[arg(long)]
        reason: String,
        #[arg(long, value_name = "TS", value_parser = parse_ts_arg)]
        until: chrono::DateTime<chrono::Utc>,
    },
    /// Remove a snapshot's hold.
    Remove {
        #[arg(value_name = "ID")]
        snapshot_id: String,
    },
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Tool name (syft, trivy, clair, or any custom name).
    #[arg(long)]
    pub tool: String,
    /// Input format.
    #[arg(long, value_enum, default_value_t = FormatArg::Auto)]
    pub format: FormatArg,
    /// Where the feed came from (recorded in metadata.sourceUri).
    #[arg(long, value_name = "URI")]
    pub source_uri: Option<String>,
    /// Why it is imported (recorded in metadata.importReason).
    #[arg(long)]
    pub reason: Option<String>,
    /// Record the import as made at this time (RFC 3339), e.g. for backfills;
    /// from 2000-01-01T00:00:00Z to 5 minutes past now (clock skew).
    #[arg(long, value_name = "TS", value_parser = parse_ts_arg)]
    pub imported_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Accept a feed with no records.
    #[arg(long)]
    pub allow_empty: bool,
    /// Accept a feed with fewer than half the active snapshot's records.
    #[arg(long)]
    pub allow_shrink: bool,
    /// Make a backfill (--imported-at older than the active snapshot) the
    /// active snapshot anyway; needs --reason, audited as an activation.
    /// Without it a backfill only joins the history.
    #[arg(long)]
    pub activate: bool,
    /// Show no progress on stderr.
    #[arg(long, short)]
    pub quiet: bool,
    /// Files to import; `-` reads standard input.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatArg {
    Auto,
    SyftJson,
    TrivyJson,
    ClairV4,
    Cyclonedx,
    Snapgov,
}

impl FormatArg {
    pub fn to_format(self) -> Option<crate::ingest::Format> {
        use crate::ingest::Format;
        match self {
            FormatArg::Auto => None,
            FormatArg::SyftJson => Some(Format::SyftJson),
            FormatArg::TrivyJson => Some(Format::TrivyJson),
            FormatArg::ClairV4 => Some(Format::ClairV4),
            FormatArg::Cyclonedx => Some(Format::Cyclonedx),
            FormatArg::Snapgov => Some(Format::Snapgov),
        }
    }
}

#[derive(Args, Debug)]
pub struct SnapshotsArgs {
    #[arg(long)]
    pub tool: Option<String>,
    /// active, previous, archived, expired, failed or deleted.
    #[arg(long, value_parser = parse_state)]
    pub state: Option<crate::domain::snapshot::SnapshotState>,
    /// At most this many.
    #[arg(long)]
    pub limit: Option<u64>,
    /// Newest first.
    #[arg(long)]
    pub newest_first: bool,
}

#[derive(Subcommand, Debug)]
pub enum AuditCmd {
    /// List audit records, newest first.
    List(AuditListArgs),
    /// Show one audit record.
    Show {
        /// Audit id, e.g. audit-42.
        id: String,
    },
    /// Re-walk the hash chain and check every snapshot against its import record.
    Verify {
        /// Also check the chain still reaches this checkpoint's head (detects truncation).
        #[arg(long, value_name = "FILE")]
        checkpoint: Option<PathBuf>,
    },
    /// Write the chain's head (sequence and hash) to FILE, outside the store.
    Checkpoint {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Remove audit records older than --before (and the audit retention).
    /// The chain stays verifiable through an audit_purged record.
    Purge {
        #[arg(long, value_name = "TS", value_parser = parse_ts_arg)]
        before: chrono::DateTime<chrono::Utc>,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Args, Debug)]
pub struct AuditListArgs {
    #[arg(long)]
    pub event: Option<String>,
    #[arg(long)]
    pub tool: Option<String>,
    #[arg(long = "by", value_name = "USER")]
    pub by_user: Option<String>,
    #[arg(long, value_name = "TS", value_parser = parse_ts_arg)]
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    #[arg(long, value_name = "TS", value_parser = parse_ts_arg)]
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    /// Text to look for anywhere in a record.
    #[arg(long)]
    pub search: Option<String>,
    #[arg(long, default_value_t = 100)]
    pub limit: u64,
}

fn parse_ts_arg(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    crate::domain::time::parse_ts(s)
}

fn parse_state(s: &str) -> Result<crate::domain::snapshot::SnapshotState, String> {
    use crate::domain::snapshot::SnapshotState;
    SnapshotState::parse(s).ok_or_else(|| {
        format!(
            "`{s}` is not a state; use one of {}",
            SnapshotState::ALL.map(|s| s.as_str()).join(", ")
        )
    })
}

fn parse_kind(s: &str) -> Result<crate::domain::record::RecordKind, String> {
    crate::domain::record::RecordKind::parse(s)
        .ok_or_else(|| format!("`{s}` is not a kind; use package or vulnerability"))
}

fn parse_severity(s: &str) -> Result<crate::domain::record::Severity, String> {
    use crate::domain::record::Severity;
    Severity::parse(&s.to_ascii_lowercase()).ok_or_else(|| {
        format!(
            "`{s}` is not a severity; use {}",
            Severity::ALL.map(|s| s.as_str()).join(", ")
        )
    })
}

fn parse_format(s: &str) -> Result<crate::ingest::Format, String> {
    crate::ingest::Format::parse(s).ok_or_else(|| {
        format!(
            "`{s}` is not a format; use one of {}",
            crate::ingest::Format::known_list()
        )
    })
}

/// Resolved paths and identity for one run.
pub struct Context {
    pub db: crate::store::Location,
    /// Whether --db or SNAPGOV_DB named the store.
    pub db_given: bool,
    pub env: Env,
    pub style: Style,
    pub json: bool,
    /// --no-color, or NO_COLOR set: colour nowhere, stderr included.
    pub no_color: bool,
}

fn default_db() -> crate::store::Location {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("snapgov")
        .join("snapgov.db")
        .into()
}

fn default_config() -> PathBuf {
    dirs::config_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("snapgov")
        .join("config.toml")
}

/// The clock: `SNAPGOV_NOW` if set, else the system clock.
pub fn clock_from_env() -> Result<Clock, OpError> {
    match std::env::var("SNAPGOV_NOW") {
        Ok(s) if !s.trim().is_empty() => crate::domain::time::parse_ts(&s)
            .map(Clock::Fixed)
            .map_err(|m| OpError::usage(format!("SNAPGOV_NOW: {m}"))),
        _ => Ok(Clock::System),
    }
}

impl Context {
    /// The store, for commands that write. Opening it for writing upgrades
    /// a store an older snapgov wrote; that is said on stderr, since it can
    /// take a while (schema 4 copies the records table).
    pub fn open_rw(&self) -> Result<crate::store::Store, OpError> {
        let (store, from) =
            crate::store::Store::open_migrating(&self.db, crate::store::OpenMode::ReadWrite)?;
        if let Some(note) = crate::ops::store_migrate::upgraded_note(&self.db, from) {
            eprintln!("snapgov: {}", output::esc(&note));
        }
        Ok(store)
    }

    /// The store, read-only at the SQLite level, for commands that only read.
    pub fn open_ro(&self) -> Result<crate::store::Store, OpError> {
        Ok(crate::store::Store::open(
            &self.db,
            crate::store::OpenMode::ReadOnly,
        )?)
    }

    pub fn from_global(g: &GlobalOpts) -> Result<Context, OpError> {
        let (config_path, required) = match &g.config {
            Some(p) => (p.clone(), true),
            None => (default_config(), false),
        };
        let config =
            Config::load(&config_path, required).map_err(|e| OpError::usage(e.to_string()))?;
        let user = g
            .user
            .clone()
            .filter(|u| !u.trim().is_empty())
            .unwrap_or_else(os_user);
        Ok(Context {
            db: g
                .db
                .as_ref()
                .map(crate::store::Location::parse)
                .unwrap_or_else(default_db),
            db_given: g.db.is_some(),
            env: Env::new(config, user, clock_from_env()?),
            style: Style::detect(g.no_color),
            json: g.json,
            no_color: g.no_color || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
        })
    }
}

/// Parses the command line, runs it, and returns the exit code.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.global.json;
    let result = Context::from_global(&cli.global)
        .and_then(|mut ctx| commands::dispatch(&mut ctx, cli.command));
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            output::print_error(&e, json);
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

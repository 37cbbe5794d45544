//! The CLI commands the other front ends point at. The CLI owns its own
//! spelling: the console asks here for a command line instead of writing
//! flags itself, so renaming a flag changes every hint at once.

/// Importing a first feed.
pub fn import_command() -> String {
    "snapgov ingest import --tool NAME FILE".into()
}

/// The read-only switch of `snapgov console`.
pub fn read_only_flag() -> &'static str {
    "--read-only"
}

/// Rolling back from the CLI: the dry run, then the real one.
pub fn rollback_commands() -> [String; 2] {
    [
        "snapgov ingest rollback --tool TOOL --dry-run".into(),
        "snapgov ingest rollback --tool TOOL --reason \"…\"".into(),
    ]
}

/// The bare rollback command (its flags are in its own help).
pub fn rollback_command() -> String {
    "snapgov ingest rollback".into()
}

/// The read-only views, for when the console cannot draw.
pub fn read_only_views() -> String {
    "`snapgov ingest snapshots`, `snapgov ingest sla`, `snapgov ingest rollback --tool TOOL --dry-run`, `snapgov ingest audit list`, `snapgov ingest retention status` (each takes --json)".into()
}

/// Re-hashing one snapshot against its recorded hash.
pub fn verify_snapshot_command() -> String {
    "snapgov ingest verify ID".into()
}

/// Walking the audit chain.
pub fn audit_verify_command() -> String {
    "snapgov ingest audit verify".into()
}

/// Walking the audit chain, with the whole report (every problem).
pub fn audit_verify_report_command() -> String {
    "snapgov ingest audit verify --json".into()
}

/// The store's path option, said when a path given to it is wrong.
pub fn db_flag() -> &'static str {
    "--db"
}

//! Versioned schema migrations. `PRAGMA user_version` holds how many have run.

/// Each entry moves the schema one version up; never edit a shipped entry,
/// append a new one.
pub const MIGRATIONS: &[&str] = &[
    // 1: snapshots, content-addressed records, the active data, the audit chain.
    r#"
CREATE TABLE tools (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    active_snapshot TEXT,
    changed_at TEXT,
    changed_by TEXT
);
CREATE TABLE snapshots (
    pk INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    tool TEXT NOT NULL,
    id_ts TEXT NOT NULL,
    seq INTEGER NOT NULL,
    tool_version TEXT,
    imported_at TEXT NOT NULL,
    source_hash TEXT NOT NULL,
    normalized_hash TEXT,
    record_count INTEGER NOT NULL,
    state TEXT NOT NULL,
    previous_snapshot TEXT,
    source_uri TEXT,
    import_user TEXT NOT NULL,
    import_reason TEXT,
    format TEXT,
    generated_at TEXT,
    schema_version TEXT,
    warnings TEXT,
    failure_reason TEXT,
    state_changed_at TEXT,
    stats TEXT,
    UNIQUE (tool, id_ts, seq)
);
CREATE INDEX snapshots_by_tool ON snapshots (tool, imported_at);
CREATE TABLE records (
    id INTEGER PRIMARY KEY,
    hash BLOB NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    severity TEXT,
    subject TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE snapshot_records (
    snapshot INTEGER NOT NULL,
    ident BLOB NOT NULL,
    record INTEGER NOT NULL,
    PRIMARY KEY (snapshot, ident)
) WITHOUT ROWID;
CREATE INDEX snapshot_records_by_record ON snapshot_records (record);
CREATE TABLE active_records (
    tool INTEGER NOT NULL,
    ident BLOB NOT NULL,
    record INTEGER NOT NULL,
    PRIMARY KEY (tool, ident)
) WITHOUT ROWID;
CREATE TABLE audit (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    event TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    user TEXT NOT NULL,
    tool TEXT,
    snapshot_id TEXT,
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_by_event ON audit (event, seq);
CREATE INDEX audit_by_tool ON audit (tool, seq);
CREATE INDEX audit_by_snapshot ON audit (snapshot_id, seq);
CREATE TABLE holds (
    snapshot_id TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"#,
    // 2: API tokens (`snapgov token`): only each token's BLAKE3 hash is kept.
    // A name is unique among live tokens; revoked ones stay for the record.
    // Plus the listing order's index, so a page of all snapshots (the API's
    // default listing) is read in order instead of sorting the whole table.
    r#"
CREATE TABLE tokens (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    revoked_at TEXT,
    revoked_by TEXT
);
CREATE UNIQUE INDEX tokens_live_name ON tokens (name) WHERE revoked_at IS NULL;
CREATE INDEX snapshots_by_time ON snapshots (imported_at, id);
"#,
];

//! Versioned schema migrations. `PRAGMA user_version` (SQLite) or the
//! `snapgov_version` table (PostgreSQL) holds how many have run.

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
    // 3: delta membership. A snapshot whose `base` is set lists in
    // `snapshot_records` only the identities whose record differs from its
    // base snapshot's (record 0, which no record has, marks a removal); one
    // whose `base` is NULL (every snapshot before this version) lists all
    // its members, a checkpoint. See `store::records::chain`.
    r#"
ALTER TABLE snapshots ADD COLUMN base INTEGER;
CREATE INDEX snapshots_by_base ON snapshots (base) WHERE base IS NOT NULL;
"#,
    // 4: the records' hash is unique through an index of its own instead of
    // the column's inline `UNIQUE`, whose index SQLite cannot drop: a first
    // import into an empty store builds it after the load, where inserting
    // each hash at a random place in it made a 3M import superlinear
    // (`store::records::lite`). The table is copied, ids and all.
    r#"
CREATE TABLE records_v4 (
    id INTEGER PRIMARY KEY,
    hash BLOB NOT NULL,
    kind TEXT NOT NULL,
    severity TEXT,
    subject TEXT NOT NULL,
    body TEXT NOT NULL
);
INSERT INTO records_v4 (id, hash, kind, severity, subject, body)
    SELECT id, hash, kind, severity, subject, body FROM records ORDER BY id;
DROP TABLE records;
ALTER TABLE records_v4 RENAME TO records;
CREATE UNIQUE INDEX records_by_hash ON records (hash);
"#,
    // 5: the records' unique index holds the first 16 bytes of the hash,
    // not all 32: half the index, so the page splits a daily import's new
    // records cause in an index a first import built full (one sort, every
    // page packed) cost 5.5 MB instead of 9 MB at 1M records. 128 bits of a
    // BLAKE3 hash still never collide by chance; lookups compare the whole
    // hash (`store::records::lite`).
    r#"
DROP INDEX records_by_hash;
CREATE UNIQUE INDEX records_by_hash ON records (substr(hash, 1, 16));
"#,
];

/// The same versions for PostgreSQL, one entry per entry of [`MIGRATIONS`]
/// (a store's version means the same tables on either engine). Text is
/// compared byte-wise (`COLLATE "C"`), as SQLite does, so listings sort the
/// same on both.
pub const PG_MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE tools (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL UNIQUE,
    active_snapshot TEXT COLLATE "C",
    changed_at TEXT COLLATE "C",
    changed_by TEXT COLLATE "C"
);
CREATE TABLE snapshots (
    pk BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    id TEXT COLLATE "C" NOT NULL UNIQUE,
    tool TEXT COLLATE "C" NOT NULL,
    id_ts TEXT COLLATE "C" NOT NULL,
    seq BIGINT NOT NULL,
    tool_version TEXT COLLATE "C",
    imported_at TEXT COLLATE "C" NOT NULL,
    source_hash TEXT COLLATE "C" NOT NULL,
    normalized_hash TEXT COLLATE "C",
    record_count BIGINT NOT NULL,
    state TEXT COLLATE "C" NOT NULL,
    previous_snapshot TEXT COLLATE "C",
    source_uri TEXT COLLATE "C",
    import_user TEXT COLLATE "C" NOT NULL,
    import_reason TEXT COLLATE "C",
    format TEXT COLLATE "C",
    generated_at TEXT COLLATE "C",
    schema_version TEXT COLLATE "C",
    warnings TEXT COLLATE "C",
    failure_reason TEXT COLLATE "C",
    state_changed_at TEXT COLLATE "C",
    stats TEXT COLLATE "C",
    UNIQUE (tool, id_ts, seq)
);
CREATE INDEX snapshots_by_tool ON snapshots (tool, imported_at);
CREATE TABLE records (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    hash BYTEA NOT NULL UNIQUE,
    kind TEXT COLLATE "C" NOT NULL,
    severity TEXT COLLATE "C",
    subject TEXT COLLATE "C" NOT NULL,
    body TEXT COLLATE "C" NOT NULL
);
CREATE TABLE snapshot_records (
    snapshot BIGINT NOT NULL,
    ident BYTEA NOT NULL,
    record BIGINT NOT NULL,
    PRIMARY KEY (snapshot, ident)
);
CREATE INDEX snapshot_records_by_record ON snapshot_records (record);
CREATE TABLE active_records (
    tool BIGINT NOT NULL,
    ident BYTEA NOT NULL,
    record BIGINT NOT NULL,
    PRIMARY KEY (tool, ident)
);
CREATE TABLE audit (
    seq BIGINT PRIMARY KEY,
    id TEXT COLLATE "C" NOT NULL UNIQUE,
    event TEXT COLLATE "C" NOT NULL,
    timestamp TEXT COLLATE "C" NOT NULL,
    "user" TEXT COLLATE "C" NOT NULL,
    tool TEXT COLLATE "C",
    snapshot_id TEXT COLLATE "C",
    details TEXT COLLATE "C" NOT NULL,
    prev_hash TEXT COLLATE "C" NOT NULL,
    hash TEXT COLLATE "C" NOT NULL
);
CREATE INDEX audit_by_event ON audit (event, seq);
CREATE INDEX audit_by_tool ON audit (tool, seq);
CREATE INDEX audit_by_snapshot ON audit (snapshot_id, seq);
CREATE TABLE holds (
    snapshot_id TEXT COLLATE "C" PRIMARY KEY,
    reason TEXT COLLATE "C" NOT NULL,
    expires_at TEXT COLLATE "C" NOT NULL,
    created_by TEXT COLLATE "C" NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL
);
CREATE TABLE meta (
    key TEXT COLLATE "C" PRIMARY KEY,
    value TEXT COLLATE "C" NOT NULL
);
"#,
    r#"
CREATE TABLE tokens (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL,
    role TEXT COLLATE "C" NOT NULL,
    hash TEXT COLLATE "C" NOT NULL UNIQUE,
    created_at TEXT COLLATE "C" NOT NULL,
    created_by TEXT COLLATE "C" NOT NULL,
    revoked_at TEXT COLLATE "C",
    revoked_by TEXT COLLATE "C"
);
CREATE UNIQUE INDEX tokens_live_name ON tokens (name) WHERE revoked_at IS NULL;
CREATE INDEX snapshots_by_time ON snapshots (imported_at, id);
"#,
    r#"
ALTER TABLE snapshots ADD COLUMN base BIGINT;
CREATE INDEX snapshots_by_base ON snapshots (base) WHERE base IS NOT NULL;
"#,
    // 4: nothing to do here: the constraint `records_hash_key` can already
    // be dropped and added again around a first import (`pg_tune`).
    "SELECT 1",
    // 5: PostgreSQL's btree leaves room in its pages as it builds.
    "SELECT 1",
];

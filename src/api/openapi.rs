//! The OpenAPI 3.1 description of the API, built from the route table
//! ([`super::routes::ROUTES`]) so every served route is described.

use super::extract::{DEFAULT_PAGE, MAX_PAGE};
use super::routes::{Access, Op, Route, ROUTES};
use serde_json::{json, Map, Value};

fn problem(desc: &str) -> Value {
    json!({
        "description": desc,
        "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
    })
}

fn ok_json(desc: &str, schema: &str) -> Value {
    json!({
        "description": desc,
        "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } }
    })
}

fn query(name: &str, desc: &str, schema: Value, required: bool) -> Value {
    json!({ "name": name, "in": "query", "description": desc, "required": required, "schema": schema })
}

fn path(name: &str, desc: &str) -> Value {
    json!({ "name": name, "in": "path", "description": desc, "required": true, "schema": { "type": "string" } })
}

fn body(schema: &str, required: bool) -> Value {
    json!({
        "required": required,
        "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } }
    })
}

fn s() -> Value {
    json!({ "type": "string" })
}

fn ts() -> Value {
    json!({ "type": "string", "format": "date-time" })
}

fn limit() -> Value {
    json!({ "type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": DEFAULT_PAGE })
}

/// Parameters, request body and the success responses of one operation.
fn details(op: Op) -> (Vec<Value>, Option<Value>, Vec<(&'static str, Value)>) {
    let snap_id = || path("snapshotId", "Snapshot id, e.g. syft-20251204T000000Z-001");
    match op {
        Op::Healthz => (vec![], None, vec![("200", ok_json("The server is up", "Health"))]),
        Op::Metrics => (
            vec![],
            None,
            vec![(
                "200",
                json!({
                    "description": "Prometheus text exposition format 0.0.4",
                    "content": { "text/plain": { "schema": { "type": "string" } } }
                }),
            )],
        ),
        Op::OpenApi => (
            vec![],
            None,
            vec![(
                "200",
                json!({ "description": "This document", "content": { "application/json": { "schema": { "type": "object" } } } }),
            )],
        ),
        Op::ListSnapshots => (
            vec![
                query("tool", "Only this tool's snapshots", s(), false),
                query(
                    "state",
                    "Only snapshots in this state",
                    json!({ "type": "string", "enum": ["active", "previous", "archived", "expired", "failed", "deleted"] }),
                    false,
                ),
                query("limit", "Page size", limit(), false),
                query("cursor", "The previous page's nextCursor", s(), false),
                query("newestFirst", "Newest first (default oldest first)", json!({ "type": "boolean", "default": false }), false),
            ],
            None,
            vec![("200", ok_json("A page of snapshots", "SnapshotList"))],
        ),
        Op::GetSnapshot => (
            vec![snap_id()],
            None,
            vec![("200", ok_json("The snapshot record", "SnapshotResponse"))],
        ),
        Op::VerifySnapshot => (
            vec![snap_id()],
            None,
            vec![("200", ok_json("The snapshot re-hashes to its normalizedHash", "VerifySnapshotResponse"))],
        ),
        Op::Rollback => (
            vec![snap_id()],
            Some(body("RollbackRequest", true)),
            vec![(
                "200",
                ok_json("The rollback (status completed), or its preview (status dry_run, with the diff)", "RollbackResponse"),
            )],
        ),
        Op::Expire => (
            vec![snap_id()],
            Some(body("ReasonRequest", true)),
            vec![("200", ok_json("The expired snapshot", "SnapshotResponse"))],
        ),
        Op::Import => (
            vec![
                query("tool", "Tool name (syft, trivy, clair or a custom name)", s(), true),
                query(
                    "format",
                    "Input format (default: detected)",
                    json!({ "type": "string", "enum": ["auto", "syft-json", "trivy-json", "clair-v4", "cyclonedx", "snapgov"] }),
                    false,
                ),
                query("reason", "Why it is imported (metadata.importReason)", s(), false),
                query("sourceUri", "Where the feed came from (metadata.sourceUri)", s(), false),
                query("importedAt", "Record the import as made at this time (backfills); from 2000-01-01T00:00:00Z to 5 minutes past now", ts(), false),
                query("allowEmpty", "Accept a feed with no records", json!({ "type": "boolean" }), false),
                query("allowShrink", "Accept a feed with fewer than half the active snapshot's records", json!({ "type": "boolean" }), false),
                query("activate", "Make a backfill (importedAt older than the active snapshot) active anyway; needs reason, audited", json!({ "type": "boolean" }), false),
            ],
            Some(json!({
                "required": true,
                "description": "The feed as the raw body, or multipart/form-data with one or more file fields (several files make one snapshot) and optionally the parameters as text fields",
                "content": {
                    "application/octet-stream": { "schema": { "type": "string", "format": "binary" } },
                    "application/json": { "schema": { "type": "object" } },
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "file": { "type": "string", "format": "binary" },
                                "tool": { "type": "string" },
                                "format": { "type": "string" },
                                "reason": { "type": "string" }
                            },
                            "required": ["file"]
                        }
                    }
                }
            })),
            vec![("201", ok_json("Imported: the new active snapshot", "ImportResponse"))],
        ),
        Op::Sla => (
            vec![query("tool", "One tool (default: every tool, as an array)", s(), false)],
            None,
            vec![("200", ok_json("The SLA document of the tool, or an array for every tool", "SlaResponse"))],
        ),
        Op::Records => (
            vec![
                query("tool", "The tool", s(), true),
                query("subject", "Only records of this subject", s(), false),
                query("kind", "package or vulnerability", json!({ "type": "string", "enum": ["package", "vulnerability"] }), false),
                query("severity", "Comma-separated severities", s(), false),
                query("override", "Read critically old data anyway, for this reason (audited; needs a token)", s(), false),
            ],
            None,
            vec![(
                "200",
                json!({
                    "description": "The active records, one canonical JSON record per line. Stale data carries a Warning header (199 snapgov \"...\").",
                    "headers": {
                        "Warning": { "description": "Present when the data is stale, or read under an override", "schema": { "type": "string" } },
                        "X-Snapgov-Freshness": { "description": "The tool's freshness state", "schema": { "type": "string" } },
                        "X-Snapgov-Snapshot-Id": { "description": "The active snapshot read", "schema": { "type": "string" } },
                        "X-Snapgov-Record-Count": { "description": "Records in the body", "schema": { "type": "integer" } }
                    },
                    "content": { "application/x-ndjson": { "schema": { "type": "string" } } }
                }),
            )],
        ),
        Op::AuditList => (
            vec![
                query("event", "Only this event", s(), false),
                query("tool", "Only records about this tool", s(), false),
                query("user", "Only records by this user", s(), false),
                query("since", "Only records at or after", ts(), false),
                query("until", "Only records at or before", ts(), false),
                query("q", "Text anywhere in the record (case-insensitive)", s(), false),
                query("limit", "Page size", limit(), false),
                query("cursor", "The previous page's nextCursor (records older than it)", s(), false),
            ],
            None,
            vec![("200", ok_json("A page of audit records, newest first", "AuditList"))],
        ),
        Op::AuditVerify => (
            vec![],
            None,
            vec![("200", ok_json("The chain verifies", "AuditVerifyResponse"))],
        ),
        Op::AuditGet => (
            vec![path("auditId", "Audit id, e.g. audit-42")],
            None,
            vec![("200", ok_json("The audit record", "AuditResponse"))],
        ),
        Op::AuditPurge => (
            vec![],
            Some(body("PurgeRequest", true)),
            vec![("200", ok_json("What was purged", "PurgeResponse"))],
        ),
        Op::RetentionStatus => (
            vec![],
            None,
            vec![("200", ok_json("The retention document and what the next run would do", "RetentionResponse"))],
        ),
        Op::RetentionRun => (
            vec![],
            Some(body("RetentionRunRequest", false)),
            vec![("200", ok_json("What the run did (or would do)", "RetentionRunResponse"))],
        ),
        Op::HoldPut => (
            vec![snap_id()],
            Some(body("HoldRequest", true)),
            vec![("200", ok_json("The hold", "HoldResponse"))],
        ),
        Op::HoldDelete => (
            vec![snap_id()],
            None,
            vec![("200", ok_json("The hold was removed", "HoldResponse"))],
        ),
        Op::TokensList => (
            vec![],
            None,
            vec![("200", ok_json("Every token (never the secret)", "TokenList"))],
        ),
        Op::TokenCreate => (
            vec![],
            Some(body("TokenRequest", true)),
            vec![("201", ok_json("The token: its secret is shown only here", "TokenResponse"))],
        ),
        Op::TokenRevoke => (
            vec![path("name", "Token name")],
            None,
            vec![("200", ok_json("The revoked token", "TokenResponse"))],
        ),
    }
}

/// The error responses an operation can give.
fn errors(route: &Route) -> Vec<(&'static str, Value)> {
    let mut out = Vec::new();
    let has_input = !matches!(
        route.op,
        Op::Healthz
            | Op::OpenApi
            | Op::Metrics
            | Op::TokensList
            | Op::RetentionStatus
            | Op::AuditVerify
    );
    if has_input {
        out.push(("400", problem("Bad input: a malformed parameter or body")));
    }
    if route.access != Access::Public {
        out.push(("401", problem("No token, or an unknown or revoked one")));
        out.push(("403", problem("The token's role does not allow this")));
    }
    match route.op {
        Op::GetSnapshot
        | Op::VerifySnapshot
        | Op::Rollback
        | Op::Expire
        | Op::HoldPut
        | Op::HoldDelete
        | Op::AuditGet
        | Op::TokenRevoke
        | Op::Records => {
            out.push(("404", problem("No such snapshot, record, tool or token")));
        }
        _ => {}
    }
    if matches!(route.op, Op::Rollback | Op::TokenCreate) {
        out.push(("409", problem("Conflict: the active snapshot changed since the preview (expectedActive), or the name is taken")));
    }
    if matches!(
        route.op,
        Op::Import
            | Op::Rollback
            | Op::Expire
            | Op::AuditPurge
            | Op::RetentionRun
            | Op::HoldPut
            | Op::TokenCreate
            | Op::TokenRevoke
            | Op::HoldDelete
    ) {
        out.push((
            "413",
            problem("The request body is over server.max_body_bytes; nothing was stored"),
        ));
    }
    if matches!(
        route.op,
        Op::Import | Op::Rollback | Op::Expire | Op::HoldPut | Op::VerifySnapshot
    ) {
        out.push(("422", problem("Refused: validation failed (an import is recorded as a failed snapshot) or the operation is not allowed in this state")));
    }
    if route.op == Op::Records {
        out.push(("423", problem("Blocked by freshness: critical data needs an override reason; expired data is unavailable")));
    }
    if route.op != Op::OpenApi {
        out.push(("500", problem("Integrity failure (a hash or the audit chain does not verify) or an internal error")));
        out.push((
            "503",
            problem("The store stayed locked by another writer; retry (Retry-After)"),
        ));
    }
    out
}

fn schemas() -> Value {
    let snapshot = json!({
        "type": "object",
        "required": ["id", "tool", "importedAt", "sourceHash", "recordCount", "state", "metadata"],
        "properties": {
            "id": { "type": "string", "example": "syft-20251204T000000Z-001" },
            "tool": { "type": "string" },
            "toolVersion": { "type": ["string", "null"] },
            "importedAt": { "type": "string", "format": "date-time" },
            "sourceHash": { "type": "string", "example": "b3:..." },
            "normalizedHash": { "type": ["string", "null"] },
            "recordCount": { "type": "integer" },
            "state": { "type": "string", "enum": ["active", "previous", "archived", "expired", "failed", "deleted"] },
            "previousSnapshot": { "type": ["string", "null"] },
            "metadata": {
                "type": "object",
                "properties": {
                    "sourceUri": { "type": ["string", "null"] },
                    "importUser": { "type": "string" },
                    "importReason": { "type": ["string", "null"] }
                }
            },
            "format": { "type": "string" },
            "generatedAt": { "type": "string" },
            "schemaVersion": { "type": "string" },
            "warnings": { "type": "array", "items": { "type": "string" } },
            "failureReason": { "type": "string" },
            "stateChangedAt": { "type": "string", "format": "date-time" },
            "stats": { "type": "object" }
        }
    });
    let sla = json!({
        "type": "object",
        "required": ["tool", "state", "nextCheck", "thresholds"],
        "properties": {
            "tool": { "type": "string" },
            "snapshotId": { "type": ["string", "null"] },
            "importedAt": { "type": ["string", "null"], "format": "date-time" },
            "age": { "type": ["string", "null"], "example": "P2D" },
            "state": { "type": "string", "enum": ["fresh", "stale", "critical", "expired", "no_snapshot"] },
            "nextCheck": { "type": "string", "format": "date-time" },
            "thresholds": {
                "type": "object",
                "properties": { "maxAge": { "type": "string" }, "stale": { "type": "string" }, "critical": { "type": "string" } }
            },
            "overdue": { "type": "boolean" }
        }
    });
    let snap_ref = json!({
        "type": "object",
        "properties": { "snapshotId": { "type": "string" }, "recordCount": { "type": "integer" } }
    });
    let audit = json!({
        "type": "object",
        "required": ["id", "event", "timestamp", "user", "details", "hash", "prevHash"],
        "properties": {
            "id": { "type": "string", "example": "audit-12345" },
            "event": { "type": "string" },
            "timestamp": { "type": "string", "format": "date-time" },
            "user": { "type": "string" },
            "details": { "type": "object" },
            "hash": { "type": "string" },
            "prevHash": { "type": "string" }
        }
    });
    let token = json!({
        "type": "object",
        "properties": {
            "name": { "type": "string" },
            "role": { "type": "string", "enum": ["viewer", "operator", "admin"] },
            "fingerprint": { "type": "string" },
            "createdAt": { "type": "string", "format": "date-time" },
            "createdBy": { "type": "string" },
            "revokedAt": { "type": ["string", "null"] },
            "revokedBy": { "type": ["string", "null"] },
            "token": { "type": "string", "description": "Only in the creation response" }
        }
    });
    let obj = |key: &str, inner: Value| -> Value {
        json!({ "type": "object", "required": [key], "properties": { key: inner } })
    };
    json!({
        "Problem": {
            "type": "object",
            "required": ["type", "title", "status", "detail"],
            "properties": {
                "type": { "type": "string", "example": "urn:snapgov:problem:not-found" },
                "title": { "type": "string" },
                "status": { "type": "integer" },
                "detail": { "type": "string" },
                "exitCode": { "type": "integer", "description": "The CLI exit code with the same meaning" },
                "snapshotId": { "type": "string", "description": "For a refused import: the failed snapshot recorded for it" }
            }
        },
        "Health": { "type": "object", "properties": { "status": { "type": "string" }, "schemaVersion": { "type": "integer" } } },
        "Snapshot": snapshot,
        "SnapshotResponse": obj("snapshot", json!({ "$ref": "#/components/schemas/Snapshot" })),
        "SnapshotList": {
            "type": "object",
            "required": ["snapshots", "nextCursor"],
            "properties": {
                "snapshots": { "type": "array", "items": { "$ref": "#/components/schemas/Snapshot" } },
                "nextCursor": { "type": ["string", "null"], "description": "Pass as cursor for the next page; null on the last page" }
            }
        },
        "VerifySnapshotResponse": obj("verify", json!({
            "type": "object",
            "properties": {
                "snapshotId": { "type": "string" }, "status": { "type": "string" },
                "expectedHash": { "type": ["string", "null"] }, "actualHash": { "type": ["string", "null"] },
                "expectedCount": { "type": "integer" }, "actualCount": { "type": "integer" }
            }
        })),
        "RollbackRequest": {
            "type": "object",
            "properties": {
                "reason": { "type": "string", "description": "Required unless dryRun" },
                "dryRun": { "type": "boolean", "default": false },
                "expectedActive": { "type": "string", "description": "Fail with 409 unless this is still the tool's active snapshot. Required for a rollback (not a dry run) unless force is true" },
                "force": { "type": "boolean", "default": false, "description": "Roll back from whatever snapshot is active when the request arrives (no expectedActive)" },
                "sample": { "type": "integer", "default": 10, "description": "Diff records of each group in a dry run" }
            }
        },
        "RollbackResponse": obj("rollback", json!({
            "type": "object",
            "required": ["status", "tool", "from", "to", "executedAt", "executedBy"],
            "properties": {
                "status": { "type": "string", "enum": ["completed", "dry_run"] },
                "tool": { "type": "string" },
                "from": snap_ref.clone(),
                "to": snap_ref,
                "executedAt": { "type": "string", "format": "date-time" },
                "executedBy": { "type": "string" },
                "reason": { "type": ["string", "null"] },
                "recordsAffected": { "type": "integer" },
                "targetWasArchived": { "type": "boolean" },
                "diff": { "type": "object", "description": "Dry run only: added, removed and changed counts and samples" }
            }
        })),
        "ReasonRequest": { "type": "object", "required": ["reason"], "properties": { "reason": { "type": "string" } } },
        "ImportResponse": obj("import", json!({
            "type": "object",
            "properties": {
                "snapshot": { "$ref": "#/components/schemas/Snapshot" },
                "replaced": { "type": ["string", "null"] },
                "recordsReceived": { "type": "integer" },
                "recordsMerged": { "type": "integer" },
                "recordsAffected": { "type": "integer" },
                "activated": { "type": "boolean", "description": "False for a backfill kept in history (older than the active snapshot, without activate)" }
            }
        })),
        "Sla": sla,
        "SlaResponse": obj("sla", json!({
            "oneOf": [
                { "$ref": "#/components/schemas/Sla" },
                { "type": "array", "items": { "$ref": "#/components/schemas/Sla" } }
            ]
        })),
        "AuditRecord": audit,
        "AuditResponse": obj("audit", json!({ "$ref": "#/components/schemas/AuditRecord" })),
        "AuditList": {
            "type": "object",
            "required": ["audit", "nextCursor"],
            "properties": {
                "audit": { "type": "array", "items": { "$ref": "#/components/schemas/AuditRecord" } },
                "nextCursor": { "type": ["string", "null"] }
            }
        },
        "AuditVerifyResponse": obj("verify", json!({
            "type": "object",
            "properties": {
                "status": { "type": "string", "enum": ["ok", "failed"] },
                "recordsChecked": { "type": "integer" },
                "head": { "type": ["string", "null"] },
                "headHash": { "type": ["string", "null"] },
                "snapshotsChecked": { "type": "integer" }
            }
        })),
        "PurgeRequest": {
            "type": "object",
            "required": ["before", "reason"],
            "properties": { "before": { "type": "string", "format": "date-time" }, "reason": { "type": "string" } }
        },
        "PurgeResponse": obj("purge", json!({ "type": "object" })),
        "RetentionResponse": obj("retention", json!({
            "type": "object",
            "properties": {
                "schedule": { "type": "string", "example": "0 0 * * *" },
                "rules": { "type": "array", "items": { "type": "object" } },
                "exceptions": { "type": "array", "items": { "type": "object" } },
                "nextRun": { "type": "string", "format": "date-time" },
                "auditMaxAge": { "type": "string" },
                "pending": { "type": "object" }
            }
        })),
        "RetentionRunRequest": { "type": "object", "properties": { "dryRun": { "type": "boolean", "default": false } } },
        "RetentionRunResponse": obj("retentionRun", json!({ "type": "object" })),
        "HoldRequest": {
            "type": "object",
            "required": ["reason", "expiresAt"],
            "properties": {
                "reason": { "type": "string" },
                "expiresAt": { "type": "string", "format": "date-time" },
                "until": { "type": "string", "format": "date-time", "description": "Alias of expiresAt" }
            }
        },
        "HoldResponse": obj("hold", json!({ "type": "object" })),
        "Token": token,
        "TokenRequest": {
            "type": "object",
            "required": ["name", "role"],
            "properties": { "name": { "type": "string" }, "role": { "type": "string", "enum": ["viewer", "operator", "admin"] } }
        },
        "TokenResponse": obj("token", json!({ "$ref": "#/components/schemas/Token" })),
        "TokenList": obj("tokens", json!({ "type": "array", "items": { "$ref": "#/components/schemas/Token" } }))
    })
}

fn operation_id(op: Op) -> String {
    let s = format!("{op:?}");
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => s,
    }
}

/// The document served at `/api/v1/openapi.json`.
pub fn document() -> Value {
    let mut paths = Map::new();
    for r in ROUTES {
        let (params, req_body, ok) = details(r.op);
        let mut responses = Map::new();
        for (code, v) in ok.into_iter().chain(errors(r)) {
            responses.insert(code.to_string(), v);
        }
        let mut op = json!({
            "operationId": operation_id(r.op),
            "summary": r.summary,
            "tags": [tag(r.path)],
            "responses": responses,
        });
        if !params.is_empty() {
            op["parameters"] = Value::Array(params);
        }
        if let Some(b) = req_body {
            op["requestBody"] = b;
        }
        match r.access {
            Access::Public => op["security"] = json!([]),
            Access::Read => {
                op["security"] = json!([{ "bearer": [] }]);
                op["x-snapgov-role"] = json!("viewer (none when server.anonymous_reads)");
            }
            Access::Role(role) => {
                op["security"] = json!([{ "bearer": [] }]);
                op["x-snapgov-role"] = json!(role.as_str());
            }
        }
        let entry = paths
            .entry(r.path.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        entry[r.method.lower()] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "snapgov API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Snapshot governance for imported scanner feeds: versioned snapshots, freshness SLA, verified rollback, retention and a hash-chained audit trail. Errors are application/problem+json with the CLI's meanings (exitCode). Tokens: an admin creates them with POST /api/v1/tokens (roles viewer, operator, admin), or with `snapgov token create`."
        },
        "servers": [{ "url": "/" }],
        "security": [{ "bearer": [] }],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer", "description": "A token from `snapgov token create`; its name is the user the audit trail records" }
            },
            "schemas": schemas()
        }
    })
}

fn tag(path: &str) -> &'static str {
    if path.contains("/snapshots") || path.contains("/imports") {
        "snapshots"
    } else if path.contains("/sla") || path.contains("/records") {
        "freshness"
    } else if path.contains("/audit") {
        "audit"
    } else if path.contains("/retention") {
        "retention"
    } else if path.contains("/tokens") {
        "tokens"
    } else {
        "service"
    }
}

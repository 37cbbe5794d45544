//! The route table: every route the server serves, with who may call it.
//! The router ([`super::router`]) and the OpenAPI document
//! ([`super::openapi`]) are both built from [`ROUTES`], so they cannot
//! drift apart.

use crate::ops::tokens::Role;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Post,
    Put,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }
    /// The OpenAPI operation key.
    pub fn lower(self) -> &'static str {
        match self {
            Method::Get => "get",
            Method::Post => "post",
            Method::Put => "put",
            Method::Delete => "delete",
        }
    }
}

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone (health, the API description).
    Public,
    /// A token of any role; no token when `server.anonymous_reads` is on.
    Read,
    /// A token of at least this role.
    Role(Role),
}

/// Each operation the API offers; one handler each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    Healthz,
    Metrics,
    OpenApi,
    ListSnapshots,
    GetSnapshot,
    VerifySnapshot,
    Rollback,
    Expire,
    Import,
    Sla,
    Records,
    AuditList,
    AuditVerify,
    AuditGet,
    AuditPurge,
    RetentionStatus,
    RetentionRun,
    HoldPut,
    HoldDelete,
    TokensList,
    TokenCreate,
    TokenRevoke,
}

#[derive(Clone, Copy, Debug)]
pub struct Route {
    pub method: Method,
    /// axum and OpenAPI share the `{param}` syntax.
    pub path: &'static str,
    pub op: Op,
    pub access: Access,
    pub summary: &'static str,
}

const fn r(
    method: Method,
    path: &'static str,
    op: Op,
    access: Access,
    summary: &'static str,
) -> Route {
    Route {
        method,
        path,
        op,
        access,
        summary,
    }
}

use Access::{Public, Read};
use Method::{Delete, Get, Post, Put};
const OPERATOR: Access = Access::Role(Role::Operator);
const ADMIN: Access = Access::Role(Role::Admin);

#[rustfmt::skip]
pub const ROUTES: &[Route] = &[
    r(Get, "/healthz", Op::Healthz, Public, "Liveness: the server is up and its store opens"),
    r(Get, "/metrics", Op::Metrics, Read, "Prometheus metrics: per-tool freshness, imports, rollbacks, audit chain"),
    r(Get, "/api/v1/openapi.json", Op::OpenApi, Public, "This API's OpenAPI 3.1 description"),
    r(Get, "/api/v1/ingest/snapshots", Op::ListSnapshots, Read, "List snapshots (filter by tool and state; paged)"),
    r(Get, "/api/v1/ingest/snapshots/{snapshotId}", Op::GetSnapshot, Read, "One snapshot record"),
    r(Get, "/api/v1/ingest/snapshots/{snapshotId}/verify", Op::VerifySnapshot, Read, "Re-hash a snapshot's stored records against its normalizedHash"),
    r(Post, "/api/v1/ingest/snapshots/{snapshotId}/rollback", Op::Rollback, OPERATOR, "Roll the snapshot's tool back to this snapshot (verified, atomic), or preview it with dryRun"),
    r(Post, "/api/v1/ingest/snapshots/{snapshotId}/expire", Op::Expire, OPERATOR, "Expire a snapshot: its data becomes unavailable"),
    r(Post, "/api/v1/ingest/imports", Op::Import, OPERATOR, "Import a scanner feed (raw body or multipart) as the tool's new active snapshot"),
    r(Get, "/api/v1/ingest/sla", Op::Sla, Read, "The freshness SLA of one tool, or of every tool"),
    r(Get, "/api/v1/ingest/records", Op::Records, Read, "A tool's active records as JSON Lines, behind the freshness guard"),
    r(Get, "/api/v1/ingest/audit", Op::AuditList, Read, "Audit records, newest first (filtered; paged)"),
    r(Get, "/api/v1/ingest/audit/verify", Op::AuditVerify, Read, "Re-walk the audit hash chain and check every snapshot against its import record"),
    r(Get, "/api/v1/ingest/audit/{auditId}", Op::AuditGet, Read, "One audit record"),
    r(Post, "/api/v1/ingest/audit/purge", Op::AuditPurge, ADMIN, "Purge audit records older than the audit retention (attested in the chain)"),
    r(Get, "/api/v1/ingest/retention", Op::RetentionStatus, Read, "Retention policy, schedule, next run, holds, and what the next run would do"),
    r(Post, "/api/v1/ingest/retention/run", Op::RetentionRun, OPERATOR, "Run retention now (or list what it would do with dryRun)"),
    r(Put, "/api/v1/ingest/retention/holds/{snapshotId}", Op::HoldPut, OPERATOR, "Hold a snapshot from retention until a time"),
    r(Delete, "/api/v1/ingest/retention/holds/{snapshotId}", Op::HoldDelete, OPERATOR, "Remove a snapshot's retention hold"),
    r(Get, "/api/v1/tokens", Op::TokensList, ADMIN, "List API tokens (never the tokens themselves)"),
    r(Post, "/api/v1/tokens", Op::TokenCreate, ADMIN, "Create an API token; the response is the only time it is shown"),
    r(Delete, "/api/v1/tokens/{name}", Op::TokenRevoke, ADMIN, "Revoke an API token"),
];

/// `(METHOD, path)` of every route, as served.
pub fn route_list() -> Vec<(&'static str, &'static str)> {
    ROUTES.iter().map(|r| (r.method.as_str(), r.path)).collect()
}

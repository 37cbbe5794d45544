//! Errors as RFC 9457 problem documents (`application/problem+json`), with
//! the same meanings as the CLI's exit codes.

use crate::domain::problem::{Hint, Param, Words};
use crate::ops::OpError;
use crate::store::StoreError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

pub const PROBLEM_JSON: &str = "application/problem+json";

/// A failed request: status, a short kind (the problem `type`'s last part),
/// a human detail, and extension members.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub detail: String,
    pub extra: Map<String, Value>,
    /// Extra response headers (WWW-Authenticate, Retry-After).
    pub headers: Vec<(header::HeaderName, String)>,
}

impl ApiError {
    pub fn new(status: StatusCode, kind: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError {
            status,
            kind,
            detail: detail.into(),
            extra: Map::new(),
            headers: Vec::new(),
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad-request", detail)
    }

    pub fn unauthorized(detail: impl Into<String>, invalid_token: bool) -> ApiError {
        let challenge = if invalid_token {
            "Bearer realm=\"snapgov\", error=\"invalid_token\""
        } else {
            "Bearer realm=\"snapgov\""
        };
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
            .with_header(header::WWW_AUTHENTICATE, challenge)
    }

    pub fn forbidden(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    pub fn too_large(limit: u64) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            format!("the request body is larger than the server's limit of {limit} bytes (server.max_body_bytes); nothing was stored"),
        )
        .with("limit", json!(limit))
        .with_header(header::CONNECTION, "close")
    }

    pub fn internal(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", detail)
    }

    pub fn with(mut self, key: &str, v: Value) -> ApiError {
        self.extra.insert(key.to_string(), v);
        self
    }

    pub fn with_header(mut self, name: header::HeaderName, v: &str) -> ApiError {
        self.headers.push((name, v.to_string()));
        self
    }

    fn title(&self) -> &'static str {
        self.status.canonical_reason().unwrap_or("Error")
    }

    /// The problem document.
    pub fn body(&self) -> Value {
        let mut m = Map::new();
        m.insert(
            "type".into(),
            json!(format!("urn:snapgov:problem:{}", self.kind)),
        );
        m.insert("title".into(), json!(self.title()));
        m.insert("status".into(), json!(self.status.as_u16()));
        m.insert("detail".into(), json!(self.detail));
        for (k, v) in &self.extra {
            m.insert(k.clone(), v.clone());
        }
        Value::Object(m)
    }
}

/// How the API words a refusal's input and hint: in the request's own
/// parameters and endpoints, never a CLI flag.
pub struct ApiWords;

/// The request's own name for an input (a query or body member).
fn api_param(p: Param) -> &'static str {
    match p {
        Param::Reason => "reason",
        Param::Until => "expiresAt",
        Param::Before => "before",
        Param::ImportedAt => "importedAt",
        Param::Activate => "activate",
        Param::SnapshotId => "snapshotId",
        Param::ExpectActive => "expectedActive",
        Param::Tool => "tool",
        Param::Format => "format",
    }
}

impl Words for ApiWords {
    fn param(&self, p: Param) -> String {
        match p {
            // A switch is named as it is set.
            Param::Activate => "activate=true".into(),
            other => api_param(other).into(),
        }
    }

    fn hint(&self, h: &Hint) -> String {
        match h {
            Hint::GiveReason => "give it as \"reason\" in the request (it is audited)".into(),
            Hint::AllowEmpty => "if it is really empty, import again with allowEmpty=true".into(),
            Hint::AllowShrink => "if the shrink is real, import again with allowShrink=true".into(),
            Hint::OverrideFreshness => {
                "import a fresh feed, or send override=REASON to read it anyway (audited)".into()
            }
            Hint::ImportFirst { tool } => {
                format!("import one with POST /api/v1/ingest/imports?tool={tool}")
            }
            Hint::ImportOrRollBack { tool } => format!(
                "import a new feed (POST /api/v1/ingest/imports?tool={tool}) or roll back (POST /api/v1/ingest/snapshots/{{snapshotId}}/rollback)"
            ),
            Hint::NameSnapshot => {
                "name one in the path (POST /api/v1/ingest/snapshots/{snapshotId}/rollback)".into()
            }
            Hint::ChooseRestorable { tool } => format!(
                "choose a previous or archived snapshot (GET /api/v1/ingest/snapshots?tool={tool})"
            ),
            Hint::NameFormat => "name it with format=NAME".into(),
            Hint::UpgradeOrOtherStore => "upgrade snapgov, or serve another store".into(),
            Hint::OtherStore => "serve another store".into(),
            Hint::ImportOrDemo => "import a feed first (POST /api/v1/ingest/imports)".into(),
            Hint::MigrateWithWriteAccess => {
                "let the server open the store for writing once to migrate it".into()
            }
            Hint::TryAgain => "try again".into(),
        }
    }
}

impl From<OpError> for ApiError {
    fn from(e: OpError) -> ApiError {
        let detail = e.worded(&ApiWords);
        let (status, kind) = match &e {
            OpError::Usage(_) => (StatusCode::BAD_REQUEST, "bad-request"),
            OpError::NotFound(_) => (StatusCode::NOT_FOUND, "not-found"),
            OpError::Rejected { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "import-rejected"),
            OpError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            OpError::Blocked(_) => (StatusCode::LOCKED, "blocked-by-freshness"),
            OpError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            OpError::Integrity(_) | OpError::Store(StoreError::Corrupt(_)) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "integrity")
            }
            // The CLI's exit 5: another writer kept the store locked.
            OpError::Store(StoreError::Busy) => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
            // The database restarted under the request; nothing changed.
            OpError::Store(StoreError::Unavailable(_)) => {
                (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
            }
            OpError::Store(_) | OpError::Fault(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
        };
        let mut err = ApiError::new(status, kind, detail).with("exitCode", json!(e.exit_code()));
        if let OpError::Rejected {
            snapshot_id: Some(id),
            ..
        } = &e
        {
            err = err.with("snapshotId", json!(id));
        }
        // The codes behind the wording, for clients that act on them.
        if let Some(h) = e.hint() {
            err = err.with("hint", json!(h.code()));
        }
        if let Some(p) = e.param() {
            err = err.with("param", json!(api_param(p)));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            err = err.with_header(header::RETRY_AFTER, "1");
        }
        err
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.body()).expect("problem serializes");
        let mut resp = (self.status, body).into_response();
        let h = resp.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        for (name, v) in &self.headers {
            if let Ok(v) = HeaderValue::from_str(v) {
                h.insert(name.clone(), v);
            }
        }
        resp
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        OpError::from(e).into()
    }
}

#[cfg(test)]
mod wording_tests {
    use super::*;
    use crate::domain::problem::Problem;

    #[test]
    fn a_refusal_names_the_request_parameter_and_its_hint_code() {
        let e = OpError::usage(Problem::new("a hold needs a reason").hint(Hint::GiveReason));
        let body = ApiError::from(e).body();
        assert_eq!(
            body["detail"],
            "a hold needs a reason; give it as \"reason\" in the request (it is audited)"
        );
        assert_eq!(body["hint"], "give-reason");
        let e = OpError::usage(
            Problem::new("9999-01-01T00:00:00Z is outside").param(Param::ImportedAt),
        );
        let body = ApiError::from(e).body();
        assert_eq!(
            body["detail"],
            "importedAt: 9999-01-01T00:00:00Z is outside"
        );
        assert_eq!(body["param"], "importedAt");
    }
}

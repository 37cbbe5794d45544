//! Errors as RFC 9457 problem documents (`application/problem+json`), with
//! the same meanings as the CLI's exit codes.

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

/// The workflows word their hints for the CLI (`--reason TEXT`); over HTTP
/// the same hint names the request's own parameter. Longer phrases first,
/// so `--reason TEXT` is not half-replaced by `--reason`.
const API_WORDING: [(&str, &str); 13] = [
    ("(--reason TEXT)", "(\"reason\" in the request)"),
    ("--reason TEXT", "\"reason\""),
    ("--override REASON", "override=REASON"),
    ("--imported-at", "importedAt"),
    ("--allow-empty", "allowEmpty=true"),
    ("--allow-shrink", "allowShrink=true"),
    ("--activate", "activate=true"),
    ("--until", "expiresAt"),
    ("--before", "before"),
    ("--snapshot-id", "the snapshotId in the path"),
    ("--dry-run", "dryRun"),
    ("--force", "force"),
    ("--reason", "\"reason\""),
];

/// A workflow's message in the API's words.
pub fn api_wording(detail: &str) -> String {
    let mut out = detail.to_string();
    for (cli, api) in API_WORDING {
        if out.contains(cli) {
            out = out.replace(cli, api);
        }
    }
    out
}

impl From<OpError> for ApiError {
    fn from(e: OpError) -> ApiError {
        let detail = api_wording(&e.to_string());
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
    use super::api_wording;

    #[test]
    fn cli_flags_become_api_parameters() {
        assert_eq!(
            api_wording("a hold needs a reason (--reason TEXT)"),
            "a hold needs a reason (\"reason\" in the request)"
        );
        assert_eq!(
            api_wording("import again with --allow-shrink"),
            "import again with allowShrink=true"
        );
        assert_eq!(
            api_wording("--imported-at 9999-01-01T00:00:00Z is outside"),
            "importedAt 9999-01-01T00:00:00Z is outside"
        );
        assert_eq!(api_wording("no flags here"), "no flags here");
    }
}

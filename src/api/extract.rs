//! Extractors whose failures are problem documents (400), not plain text,
//! and the page sizes the listing endpoints accept.

use crate::api::error::{ApiError, ApiResult};
use crate::api::AppState;
use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use std::sync::Arc;

/// Default and largest page sizes of the listing endpoints.
pub const DEFAULT_PAGE: u64 = 100;
pub const MAX_PAGE: u64 = 1000;

/// Query parameters; unknown or malformed ones are a 400.
pub struct Q<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Q<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let q = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded_de(q)?;
        Ok(Q(de))
    }
}

fn serde_urlencoded_de<T: DeserializeOwned>(q: &str) -> ApiResult<T> {
    axum::extract::Query::<T>::try_from_uri(
        &format!("/?{q}")
            .parse()
            .map_err(|_| ApiError::bad_request("the query string is malformed"))?,
    )
    .map(|axum::extract::Query(v)| v)
    .map_err(|e| ApiError::bad_request(format!("bad query parameters: {}", e.body_text())))
}

/// A path parameter.
pub struct P(pub String);

impl<S: Send + Sync> FromRequestParts<S> for P {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<String>::from_request_parts(parts, s)
            .await
            .map(|axum::extract::Path(v)| P(v))
            .map_err(|e| ApiError::bad_request(format!("bad path: {}", e.body_text())))
    }
}

/// A JSON request body, read up to `server.max_body_bytes` (413 past it).
/// Malformed JSON, or a member of the wrong type, is a 400; an empty body
/// means `{}`.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<Arc<AppState>> for JsonBody<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, st: &Arc<AppState>) -> Result<Self, ApiError> {
        let limit = st.config.server.max_body_bytes;
        let mut stream = req.into_body().into_data_stream();
        let mut bytes: Vec<u8> = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk
                .map_err(|e| ApiError::bad_request(format!("cannot read the request body: {e}")))?;
            if (bytes.len() + chunk.len()) as u64 > limit {
                crate::api::auth::drain(Body::from_stream(stream)).await;
                return Err(ApiError::too_large(limit));
            }
            bytes.extend_from_slice(&chunk);
        }
        let text: &[u8] = if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            b"{}"
        } else {
            &bytes
        };
        let mut de = serde_json::Deserializer::from_slice(text);
        let v = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let what = if inner.is_syntax() || inner.is_eof() {
                "the request body is not valid JSON"
            } else {
                "the request body does not have the expected shape"
            };
            ApiError::bad_request(if path == "." || path.is_empty() {
                format!("{what}: {inner}")
            } else {
                format!("{what}: at `{path}`: {inner}")
            })
        })?;
        de.end().map_err(|e| {
            ApiError::bad_request(format!("the request body is not valid JSON: {e}"))
        })?;
        Ok(JsonBody(v))
    }
}

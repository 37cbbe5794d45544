//! Service endpoints: health, OpenAPI document, metrics, and the
//! fallbacks for unknown routes and methods.

use super::shared::*;
use crate::api::error::{ApiError, ApiResult};
use crate::ops::{self};
use crate::store::prelude::*;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub async fn healthz(State(st): St) -> ApiResult<Response> {
    // A read through a pooled connection: the store opens and answers.
    st.blocking(|store, _| {
        store.tools()?;
        Ok(json_ok(json!({
            "status": "ok",
            "schemaVersion": crate::store::schema_version(),
        })))
    })
    .await
}

pub async fn openapi() -> Response {
    json_ok(crate::api::openapi::document())
}

pub async fn metrics(State(st): St) -> ApiResult<Response> {
    let text = st
        .blocking(|store, st| {
            let env = ops::Env::new(st.config.clone(), "metrics", st.clock);
            let tools = store.read(|r| ops::sla::gauges(r, &env))?;
            Ok(st.metrics.render(&tools.0, tools.1))
        })
        .await?;
    let mut resp = text.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(resp)
}

pub async fn no_route(req: Request) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no-route",
        format!(
            "no route {} {}; the API is described at /api/v1/openapi.json",
            req.method(),
            req.uri().path()
        ),
    )
}

pub async fn method_not_allowed(req: Request) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        format!(
            "{} is not allowed on {}; see /api/v1/openapi.json",
            req.method(),
            req.uri().path()
        ),
    )
}

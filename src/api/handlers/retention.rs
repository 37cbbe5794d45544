//! Retention: status, a run, and legal holds.

use super::shared::*;
use crate::api::error::{ApiError, ApiResult};
use crate::api::extract::{JsonBody, P};
use crate::domain::time::parse_ts;
use crate::ops::{self};
use axum::extract::State;
use axum::response::Response;
use axum::Extension;
use serde::Deserialize;
use serde_json::json;

pub async fn retention_status(State(st): St, Extension(who): Who) -> ApiResult<Response> {
    let env = st.env(&who);
    st.blocking(move |store, _| {
        let s = ops::retention::status(store, &env)?;
        Ok(json_ok(json!({ "retention": s })))
    })
    .await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RunBody {
    #[serde(default)]
    dry_run: bool,
}

pub async fn retention_run(
    State(st): St,
    Extension(who): Who,
    JsonBody(b): JsonBody<RunBody>,
) -> ApiResult<Response> {
    let env = st.env(&who);
    let r = st
        .blocking(move |store, _| {
            let rep = ops::retention::run(store, &env, b.dry_run)?;
            Ok(json_ok(json!({ "retentionRun": rep })))
        })
        .await?;
    st.sla_poke.notify_one();
    Ok(r)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HoldBody {
    reason: Option<String>,
    /// The response's name for it; `until` (the CLI's) is kept as an alias.
    #[serde(alias = "until")]
    expires_at: Option<String>,
}

pub async fn hold_put(
    State(st): St,
    Extension(who): Who,
    P(id): P,
    JsonBody(b): JsonBody<HoldBody>,
) -> ApiResult<Response> {
    let until = b
        .expires_at
        .as_deref()
        .ok_or_else(|| {
            ApiError::bad_request(
                "a hold needs \"expiresAt\" (RFC 3339, e.g. 2026-12-01T00:00:00Z) in the body",
            )
        })
        .and_then(|t| parse_ts(t).map_err(|m| ApiError::bad_request(format!("expiresAt: {m}"))))?;
    let env = st.env(&who);
    st.blocking(move |store, _| {
        let h =
            ops::retention::hold_add(store, &env, &id, b.reason.as_deref().unwrap_or(""), until)?;
        Ok(json_ok(json!({ "hold": h })))
    })
    .await
}

pub async fn hold_delete(State(st): St, Extension(who): Who, P(id): P) -> ApiResult<Response> {
    let env = st.env(&who);
    st.blocking(move |store, _| {
        ops::retention::hold_remove(store, &env, &id)?;
        Ok(json_ok(
            json!({ "hold": { "snapshotId": id, "removed": true } }),
        ))
    })
    .await
}

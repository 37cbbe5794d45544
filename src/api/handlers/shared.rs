//! What every handler file uses: the state and identity extractors'
//! short names, and the JSON and tool-name helpers.

use crate::api::error::{ApiError, ApiResult};
use crate::api::AppState;
use crate::domain::snapshot::validate_tool_name;
use crate::ops::tokens::Identity;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::Value;
use std::sync::Arc;

pub(super) type St = State<Arc<AppState>>;
pub(super) type Who = Extension<Identity>;

pub(super) fn json_ok(v: Value) -> Response {
    Json(v).into_response()
}

pub(super) fn bad_tool(tool: &str) -> ApiResult<()> {
    validate_tool_name(tool).map_err(ApiError::bad_request)
}

//! API tokens.

use super::shared::*;
use crate::api::error::{ApiError, ApiResult};
use crate::api::extract::{JsonBody, P};
use crate::ops::tokens::Role;
use crate::ops::{self};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::json;

pub async fn tokens_list(State(st): St) -> ApiResult<Response> {
    st.blocking(|store, _| {
        let t = ops::tokens::list(store)?;
        Ok(json_ok(json!({ "tokens": t })))
    })
    .await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TokenBody {
    name: String,
    role: String,
}

pub async fn token_create(
    State(st): St,
    Extension(who): Who,
    JsonBody(b): JsonBody<TokenBody>,
) -> ApiResult<Response> {
    let role = Role::parse(&b.role).ok_or_else(|| {
        ApiError::bad_request(format!(
            "`{}` is not a role; use viewer, operator or admin",
            b.role
        ))
    })?;
    let env = st.env(&who);
    st.blocking(move |store, _| {
        let c = ops::tokens::create(store, &env, &b.name, role)?;
        Ok((StatusCode::CREATED, Json(json!({ "token": c }))).into_response())
    })
    .await
}

pub async fn token_revoke(State(st): St, Extension(who): Who, P(name): P) -> ApiResult<Response> {
    let env = st.env(&who);
    st.blocking(move |store, _| {
        let t = ops::tokens::revoke(store, &env, &name)?;
        Ok(json_ok(json!({ "token": t })))
    })
    .await
}

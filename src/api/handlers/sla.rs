//! The freshness SLA of each tool.

use super::shared::*;
use crate::api::error::ApiResult;
use crate::api::extract::Q;
use crate::ops::{self};
use axum::extract::State;
use axum::response::Response;
use axum::Extension;
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SlaQuery {
    tool: Option<String>,
}

pub async fn sla(State(st): St, Extension(who): Who, Q(q): Q<SlaQuery>) -> ApiResult<Response> {
    let env = st.env(&who);
    st.blocking(move |store, _| {
        let report = ops::sla::report(store, &env, q.tool.as_deref())?;
        if q.tool.is_some() {
            Ok(json_ok(json!({ "sla": report[0].doc() })))
        } else {
            let docs: Vec<_> = report.iter().map(|r| r.doc()).collect();
            Ok(json_ok(json!({ "sla": docs })))
        }
    })
    .await
}

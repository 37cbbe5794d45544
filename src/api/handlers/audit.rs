//! The audit trail: listing, one entry, verification and purge.

use super::shared::*;
use crate::api::error::{ApiError, ApiResult};
use crate::api::extract::{JsonBody, DEFAULT_PAGE, MAX_PAGE, P, Q};
use crate::api::metrics::AuditStatus;
use crate::domain::audit::parse_audit_id;
use crate::domain::time::parse_ts;
use crate::ops::{self, OpError};
use crate::store::AuditFilter;
use axum::extract::State;
use axum::response::Response;
use axum::Extension;
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuditQuery {
    event: Option<String>,
    tool: Option<String>,
    user: Option<String>,
    since: Option<String>,
    until: Option<String>,
    q: Option<String>,
    limit: Option<u64>,
    /// Records older than this sequence (the previous page's `nextCursor`).
    cursor: Option<String>,
}

pub async fn audit_list(State(st): St, Q(q): Q<AuditQuery>) -> ApiResult<Response> {
    let ts = |v: &Option<String>| {
        v.as_deref()
            .map(|s| parse_ts(s).map_err(ApiError::bad_request))
            .transpose()
    };
    let limit = q.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and {MAX_PAGE}"
        )));
    }
    let before_seq = match &q.cursor {
        Some(c) => Some(parse_audit_id(c).ok_or_else(|| {
            ApiError::bad_request(format!(
                "cursor `{c}` is not a nextCursor from a previous page"
            ))
        })?),
        None => None,
    };
    let filter = AuditFilter {
        event: q.event,
        tool: q.tool,
        user: q.user,
        since: ts(&q.since)?,
        until: ts(&q.until)?,
        text: q.q,
        before_seq,
        limit: Some(limit + 1),
        ..Default::default()
    };
    st.blocking(move |store, _| {
        let mut recs = ops::audit::list(store, &filter)?;
        let next = if recs.len() as u64 > limit {
            recs.truncate(limit as usize);
            recs.last().map(|(seq, _)| seq.to_string())
        } else {
            None
        };
        let v: Vec<_> = recs.iter().map(|(_, r)| r).collect();
        Ok(json_ok(json!({ "audit": v, "nextCursor": next })))
    })
    .await
}

pub async fn audit_get(State(st): St, P(id): P) -> ApiResult<Response> {
    st.blocking(move |store, _| {
        let r = ops::audit::show(store, &id)?;
        Ok(json_ok(json!({ "audit": r })))
    })
    .await
}

pub async fn audit_verify(State(st): St) -> ApiResult<Response> {
    st.blocking(move |store, st| {
        let env = ops::Env::new(st.config.clone(), "system", st.clock);
        let r = ops::audit::verify(store, &env, None)?;
        st.metrics.set_audit(AuditStatus {
            ok: r.is_ok(),
            records: r.records_checked,
            at: st.clock.now(),
        });
        if r.is_ok() {
            Ok(json_ok(json!({ "verify": r })))
        } else {
            let v = serde_json::to_value(&r).expect("serializes");
            Err(ApiError::from(OpError::integrity(format!(
                "audit verification failed: {}",
                r.summary("the `verify` report lists them all")
            )))
            .with("verify", v))
        }
    })
    .await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PurgeBody {
    before: String,
    reason: Option<String>,
}

pub async fn audit_purge(
    State(st): St,
    Extension(who): Who,
    JsonBody(b): JsonBody<PurgeBody>,
) -> ApiResult<Response> {
    let before = parse_ts(&b.before).map_err(ApiError::bad_request)?;
    let env = st.env(&who);
    st.blocking(move |store, _| {
        let r = ops::audit::purge(store, &env, before, b.reason.as_deref().unwrap_or(""))?;
        Ok(json_ok(json!({ "purge": r })))
    })
    .await
}

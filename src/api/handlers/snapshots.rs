//! Snapshots: listing, one snapshot, its verification, rollback and
//! expiry.

use super::shared::*;
use crate::api::error::{ApiError, ApiResult};
use crate::api::extract::{JsonBody, DEFAULT_PAGE, MAX_PAGE, P, Q};
use crate::domain::snapshot::SnapshotState;
use crate::domain::snapshot_sorted::SortedKeys;
use crate::ops::rollback::{Quiet, Target};
use crate::ops::{self, OpError};
use crate::store::prelude::*;
use crate::store::{SnapshotFilter, StoreError};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SnapshotsQuery {
    tool: Option<String>,
    state: Option<String>,
    limit: Option<u64>,
    cursor: Option<String>,
    #[serde(default)]
    newest_first: bool,
}

pub async fn list_snapshots(State(st): St, Q(q): Q<SnapshotsQuery>) -> ApiResult<Response> {
    if let Some(t) = &q.tool {
        bad_tool(t)?;
    }
    let state = match &q.state {
        Some(s) => Some(SnapshotState::parse(s).ok_or_else(|| {
            ApiError::bad_request(format!(
                "`{s}` is not a state; use one of {}",
                SnapshotState::ALL.map(|s| s.as_str()).join(", ")
            ))
        })?),
        None => None,
    };
    let limit = q.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and {MAX_PAGE}"
        )));
    }
    st.blocking(move |store, _| {
        let filter = SnapshotFilter {
            tool: q.tool,
            state,
            after: q.cursor.clone(),
            limit: Some(limit + 1),
            newest_first: q.newest_first,
        };
        let mut snaps = ops::snapshots::list(store, &filter)?;
        // An unknown cursor lists nothing; only then is it looked up, so
        // that a page costs one query.
        if let Some(c) = q.cursor.as_ref().filter(|_| snaps.is_empty()) {
            if store.get_snapshot(c)?.is_none() {
                return Err(ApiError::bad_request(format!(
                    "cursor `{c}` is not a snapshot id from a previous page"
                )));
            }
        }
        let next = if snaps.len() as u64 > limit {
            snaps.truncate(limit as usize);
            snaps.last().map(|s| s.id.clone())
        } else {
            None
        };
        // Written straight out, not through a `Value`: most of a page's
        // cost was building that tree (`domain::snapshot_sorted`).
        Ok(Json(SnapshotPage {
            next_cursor: next,
            snapshots: snaps.iter().map(SortedKeys).collect(),
        })
        .into_response())
    })
    .await
}

/// A page of the listing, keys sorted as the other JSON outputs print them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SnapshotPage<'a> {
    next_cursor: Option<crate::domain::snapshot::SnapshotId>,
    snapshots: Vec<SortedKeys<'a>>,
}

pub async fn get_snapshot(State(st): St, P(id): P) -> ApiResult<Response> {
    st.blocking(move |store, _| {
        let s = ops::snapshots::get(store, &id)?;
        Ok(json_ok(json!({ "snapshot": s })))
    })
    .await
}

pub async fn verify_snapshot(State(st): St, P(id): P) -> ApiResult<Response> {
    st.blocking(move |store, _| {
        let r = ops::snapshots::verify_deep(store, &id)?;
        if r.is_ok() {
            Ok(json_ok(json!({ "verify": r })))
        } else {
            let v = serde_json::to_value(&r).expect("serializes");
            Err(ApiError::from(r.into_error()).with("verify", v))
        }
    })
    .await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RollbackBody {
    reason: Option<String>,
    #[serde(default)]
    dry_run: bool,
    /// The active snapshot the caller's preview was computed against.
    expected_active: Option<String>,
    /// Roll back without naming the active snapshot (it is read when the
    /// request arrives).
    #[serde(default)]
    force: bool,
    /// Records of each diff group to include in a dry run.
    sample: Option<usize>,
}

pub async fn rollback(
    State(st): St,
    Extension(who): Who,
    P(id): P,
    JsonBody(b): JsonBody<RollbackBody>,
) -> ApiResult<Response> {
    let env = st.env(&who);
    let out = st
        .blocking(move |store, st| {
            let target = ops::snapshots::get(store, &id)?;
            let tool = target.tool.clone();
            if b.dry_run {
                let plan = ops::rollback::plan(
                    store,
                    &tool,
                    &Target::Id(id),
                    b.sample.unwrap_or(10).min(1000),
                )?;
                if let Some(exp) = &b.expected_active {
                    if *exp != plan.from.id {
                        return Err(OpError::conflict(format!(
                            "{tool}'s active snapshot is {}, not {exp}",
                            plan.from.id
                        ))
                        .into());
                    }
                }
                let resp = ops::rollback::dry_run_response(&plan, &env, b.reason.as_deref());
                return Ok((false, json_ok(json!({ "rollback": resp }))));
            }
            // A rollback acts on the active snapshot its caller saw: without
            // expectedActive, two racing rollbacks (or one racing an import)
            // would both succeed, the second undoing what nobody reviewed.
            let now = ops::rollback::resolve_now(store, &tool, &Target::Id(id.clone()));
            let expected = match (b.expected_active, b.force) {
                (Some(e), _) => e,
                (None, true) => String::from(now?.0.id),
                (None, false) => {
                    // A rollback that cannot run says why first (422).
                    now?;
                    return Err(OpError::usage(
                        "a rollback needs expectedActive (the active snapshot your preview showed, e.g. from a dryRun), or force: true to roll back from whatever is active now",
                    )
                    .into())
                }
            };
            let r = ops::rollback::execute(
                store,
                &env,
                &tool,
                &Target::Id(id),
                Some(&expected),
                b.reason.as_deref().unwrap_or(""),
                &Quiet,
            );
            let result = match &r {
                Ok(_) => "ok",
                Err(OpError::Conflict(_)) | Err(OpError::Store(StoreError::Busy)) => "conflict",
                Err(OpError::Integrity(_)) | Err(OpError::Fault(_)) => "failed",
                Err(OpError::Usage(_) | OpError::Invalid(_) | OpError::NotFound(_)) => "refused",
                Err(_) => "error",
            };
            st.metrics.inc(
                "snapgov_rollbacks_total",
                &[("tool", &tool), ("result", result)],
            );
            Ok((true, json_ok(json!({ "rollback": r? }))))
        })
        .await?;
    if out.0 {
        st.sla_poke.notify_one();
    }
    Ok(out.1)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReasonBody {
    reason: Option<String>,
}

pub async fn expire(
    State(st): St,
    Extension(who): Who,
    P(id): P,
    JsonBody(b): JsonBody<ReasonBody>,
) -> ApiResult<Response> {
    let env = st.env(&who);
    let r = st
        .blocking(move |store, _| {
            let s = ops::expire::expire(store, &env, &id, b.reason.as_deref().unwrap_or(""))?;
            Ok(json_ok(json!({ "snapshot": s })))
        })
        .await?;
    st.sla_poke.notify_one();
    Ok(r)
}

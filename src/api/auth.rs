//! Bearer-token authentication and role checks (run before a handler, and
//! so before any request body is read), and the early body size check.

use super::error::{ApiError, ApiResult};
use super::routes::Access;
use super::AppState;
use crate::ops::tokens::{self, Identity, Role};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// The name reads without a token are recorded as (when allowed).
pub const ANONYMOUS: &str = "anonymous";

#[derive(Clone)]
pub struct Guard {
    pub state: Arc<AppState>,
    pub access: Access,
}

/// The token in `Authorization: Bearer TOKEN`, if any.
fn bearer(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(v) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let v = v
        .to_str()
        .map_err(|_| ApiError::unauthorized("the Authorization header is not text", true))?;
    let (scheme, token) = v.trim().split_once(' ').unwrap_or((v.trim(), ""));
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::unauthorized(
            "use `Authorization: Bearer TOKEN` (create a token with `snapgov token create`)",
            true,
        ));
    }
    Ok(Some(token.trim().to_string()))
}

/// Whether a request's `Host` may be served without a token: a browser page
/// elsewhere can reach a local server through DNS rebinding (its own name,
/// resolved to 127.0.0.1), and would then read the API anonymously. Its
/// requests carry that foreign name in `Host`; IP literals, `localhost` and
/// the names in `server.allowed_hosts` are served.
pub fn anonymous_host_allowed(host: Option<&str>, allowed: &[String]) -> bool {
    let Some(host) = host else {
        return false;
    };
    let host = host.trim().to_ascii_lowercase();
    // Strip the port: `[::1]:7878`, `127.0.0.1:7878`, `name:7878`.
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host.as_str(), |(h, _)| h)
    };
    let name = name.trim_end_matches('.');
    name.parse::<std::net::IpAddr>().is_ok()
        || name == "localhost"
        || name.ends_with(".localhost")
        || allowed.iter().any(|a| a == name)
}

async fn identify(
    state: &Arc<AppState>,
    token: Option<String>,
    access: Access,
    host_ok: bool,
) -> ApiResult<Identity> {
    let needed = match access {
        Access::Public | Access::Read => Role::Viewer,
        Access::Role(r) => r,
    };
    let Some(token) = token else {
        if access == Access::Read && state.config.server.anonymous_reads && host_ok {
            return Ok(Identity {
                name: ANONYMOUS.into(),
                role: Role::Viewer,
            });
        }
        if access == Access::Read && state.config.server.anonymous_reads {
            return Err(ApiError::forbidden(
                "reads without a token are served only to loopback addresses, IP literals and the names in server.allowed_hosts; this request's Host header is none of them (send a token, or add the name to server.allowed_hosts)",
            ));
        }
        return Err(ApiError::unauthorized(
            format!(
                "this needs a token with role {needed} or above: send `Authorization: Bearer TOKEN` (an admin creates one with POST /api/v1/tokens, role {needed})"
            ),
            false,
        ));
    };
    let who = state
        .blocking(move |store, _| Ok(tokens::authenticate(store, &token)?))
        .await?
        .ok_or_else(|| ApiError::unauthorized("the token is unknown or was revoked", true))?;
    if !who.role.allows(needed) {
        return Err(ApiError::forbidden(format!(
            "token {} has role {}; this needs {needed}",
            who.name, who.role
        )));
    }
    Ok(who)
}

/// Checks the caller may use the route; hands its identity to the handler.
pub async fn guard(State(g): State<Guard>, mut req: Request, next: Next) -> Response {
    if g.access == Access::Public {
        return next.run(req).await;
    }
    let token = match bearer(req.headers()) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let host_ok = anonymous_host_allowed(
        req.headers()
            .get(header::HOST)
            .and_then(|v| v.to_str().ok()),
        &g.state.config.server.allowed_hosts,
    );
    match identify(&g.state, token, g.access, host_ok).await {
        Ok(who) => {
            req.extensions_mut().insert(who);
            next.run(req).await
        }
        Err(e) => e.into_response(),
    }
}

/// Refuses a body whose declared length is over the limit before anything
/// reads it. (Bodies without a length are counted as they are read.)
pub async fn content_length_limit(State(limit): State<u64>, req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        drain(req.into_body()).await;
        return ApiError::too_large(limit).into_response();
    }
    next.run(req).await
}

/// How much of a refused body is read (and discarded) before answering.
const DRAIN_MAX: u64 = 8 << 20;
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(2);

/// Reads and discards what is left of a refused request body, a bounded
/// amount for a bounded time, so the client finishes sending and reads the
/// 413 instead of a connection reset. (The 413 also closes the connection.)
pub async fn drain(body: axum::body::Body) {
    use futures_util::StreamExt;
    let mut stream = body.into_data_stream();
    let mut n: u64 = 0;
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        while let Some(Ok(chunk)) = stream.next().await {
            n += chunk.len() as u64;
            if n > DRAIN_MAX {
                break;
            }
        }
    })
    .await;
}

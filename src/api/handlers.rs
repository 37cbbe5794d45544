//! One handler per operation: read the request, call the workflow in
//! `ops` (in `spawn_blocking`), shape the spec's JSON.

use super::auth::ANONYMOUS;
use super::error::{ApiError, ApiResult};
use super::metrics::{AuditStatus, ToolGauges};
use super::AppState;
use crate::domain::audit::parse_audit_id;
use crate::domain::record::{RecordKind, Severity};
use crate::domain::snapshot::{validate_tool_name, SnapshotState};
use crate::domain::time::parse_ts;
use crate::ops::rollback::{Quiet, Target};
use crate::ops::tokens::{Identity, Role};
use crate::ops::{self, NoProgress, OpError};
use crate::store::prelude::*;
use crate::store::{AuditFilter, SnapshotFilter, StoreError};
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Multipart, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use std::io::Write;
use std::sync::Arc;

type St = State<Arc<AppState>>;
type Who = Extension<Identity>;

/// Default and largest page sizes of the listing endpoints.
pub const DEFAULT_PAGE: u64 = 100;
pub const MAX_PAGE: u64 = 1000;

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        OpError::from(e).into()
    }
}

// ---------------------------------------------------------------------------
// Extractors whose failures are problem documents (400), not plain text.

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
                super::auth::drain(Body::from_stream(stream)).await;
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

fn json_ok(v: Value) -> Response {
    Json(v).into_response()
}

fn bad_tool(tool: &str) -> ApiResult<()> {
    validate_tool_name(tool).map_err(ApiError::bad_request)
}

// ---------------------------------------------------------------------------
// Service endpoints.

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
    json_ok(super::openapi::document())
}

pub async fn metrics(State(st): St) -> ApiResult<Response> {
    let text = st
        .blocking(|store, st| {
            let env = ops::Env::new(st.config.clone(), "metrics", st.clock);
            let tools = store.read(|r| -> ops::Result<(Vec<ToolGauges>, u64)> {
                let mut out = Vec::new();
                for status in ops::sla::report(r, &env, None)? {
                    let last_import = r
                        .list_snapshots(&SnapshotFilter {
                            tool: Some(status.tool.clone()),
                            newest_first: true,
                            limit: Some(20),
                            ..Default::default()
                        })?
                        .into_iter()
                        .find(|s| s.state != SnapshotState::Failed)
                        .map(|s| s.imported_at);
                    out.push(ToolGauges {
                        status,
                        last_import,
                    });
                }
                Ok((out, r.count_snapshots()?))
            })?;
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

// ---------------------------------------------------------------------------
// Snapshots.

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
        if let Some(c) = &q.cursor {
            if store.get_snapshot(c)?.is_none() {
                return Err(ApiError::bad_request(format!(
                    "cursor `{c}` is not a snapshot id from a previous page"
                )));
            }
        }
        let filter = SnapshotFilter {
            tool: q.tool,
            state,
            after: q.cursor,
            limit: Some(limit + 1),
            newest_first: q.newest_first,
        };
        let mut snaps = ops::snapshots::list(store, &filter)?;
        let next = if snaps.len() as u64 > limit {
            snaps.truncate(limit as usize);
            snaps.last().map(|s| s.id.clone())
        } else {
            None
        };
        Ok(json_ok(json!({ "snapshots": snaps, "nextCursor": next })))
    })
    .await
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
        let r = ops::snapshots::verify(store, &id)?;
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
                        return Err(OpError::Conflict(format!(
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
                (None, true) => now?.0.id,
                (None, false) => {
                    // A rollback that cannot run says why first (422).
                    now?;
                    return Err(OpError::Usage(
                        "a rollback needs expectedActive (the active snapshot your preview showed, e.g. from a dryRun), or force: true to roll back from whatever is active now".into(),
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

// ---------------------------------------------------------------------------
// Imports: the body is spooled to a temporary file, never held in memory.

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImportParams {
    tool: Option<String>,
    format: Option<String>,
    reason: Option<String>,
    source_uri: Option<String>,
    imported_at: Option<String>,
    allow_empty: Option<bool>,
    allow_shrink: Option<bool>,
    activate: Option<bool>,
}

impl ImportParams {
    /// Sets a parameter given as a multipart text field.
    fn set(&mut self, name: &str, v: String) -> ApiResult<()> {
        let flag = |v: &str| match v {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" | "" => Ok(false),
            _ => Err(ApiError::bad_request(format!(
                "form field {name} must be true or false"
            ))),
        };
        match name {
            "tool" => self.tool = Some(v),
            "format" => self.format = Some(v),
            "reason" => self.reason = Some(v),
            "sourceUri" => self.source_uri = Some(v),
            "importedAt" => self.imported_at = Some(v),
            "allowEmpty" => self.allow_empty = Some(flag(&v)?),
            "allowShrink" => self.allow_shrink = Some(flag(&v)?),
            "activate" => self.activate = Some(flag(&v)?),
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown form field `{other}`; send the feed as a file field plus tool, format, reason, sourceUri, importedAt, allowEmpty, allowShrink, activate"
                )))
            }
        }
        Ok(())
    }

    fn request(self, inputs: Vec<ops::import::Input>) -> ApiResult<ops::import::ImportRequest> {
        let tool = self
            .tool
            .ok_or_else(|| ApiError::bad_request("name the tool: ?tool=NAME"))?;
        bad_tool(&tool)?;
        let mut req = ops::import::ImportRequest::new(&tool, inputs);
        req.format = match self.format.as_deref() {
            None | Some("auto") => None,
            Some(f) => Some(crate::ingest::Format::parse(f).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "`{f}` is not a format; use auto or one of {}",
                    crate::ingest::Format::known_list()
                ))
            })?),
        };
        req.reason = self.reason;
        req.source_uri = self.source_uri;
        req.imported_at = self
            .imported_at
            .map(|t| parse_ts(&t).map_err(ApiError::bad_request))
            .transpose()?;
        req.allow_empty = self.allow_empty.unwrap_or(false);
        req.allow_shrink = self.allow_shrink.unwrap_or(false);
        req.activate = self.activate.unwrap_or(false);
        Ok(req)
    }
}

/// Writes body chunks to a temporary file on a blocking thread, counting
/// them against the limit.
struct Spooler {
    tx: tokio::sync::mpsc::Sender<Bytes>,
    join: tokio::task::JoinHandle<std::io::Result<crate::ingest::spool::Spool>>,
}

impl Spooler {
    fn new() -> Spooler {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(16);
        let join = tokio::task::spawn_blocking(move || {
            let mut f = crate::ingest::spool::Spool::new()?;
            {
                let mut w = std::io::BufWriter::with_capacity(1 << 20, f.file_mut());
                while let Some(b) = rx.blocking_recv() {
                    w.write_all(&b)?;
                }
                w.flush()?;
            }
            Ok(f)
        });
        Spooler { tx, join }
    }

    async fn push(&self, b: Bytes) -> ApiResult<()> {
        self.tx
            .send(b)
            .await
            .map_err(|_| ApiError::internal("cannot spool the upload to a temporary file"))
    }

    async fn finish(self) -> ApiResult<crate::ingest::spool::Spool> {
        drop(self.tx);
        self.join
            .await
            .map_err(|e| ApiError::internal(format!("the upload spooler failed: {e}")))?
            .map_err(|e| ApiError::internal(format!("cannot spool the upload: {e}")))
    }
}

pub async fn import(
    State(st): St,
    Extension(who): Who,
    Q(params): Q<ImportParams>,
    req: Request,
) -> ApiResult<Response> {
    let limit = st.config.server.max_body_bytes;
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    let mut params = params;
    let mut files = Vec::new();
    let mut total: u64 = 0;
    if multipart {
        let mut mp = Multipart::from_request(req, &st)
            .await
            .map_err(|e| ApiError::bad_request(e.body_text()))?;
        let mp_err = |e: axum::extract::multipart::MultipartError| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::too_large(limit)
            } else {
                ApiError::bad_request(format!("bad multipart body: {}", e.body_text()))
            }
        };
        while let Some(mut field) = mp.next_field().await.map_err(mp_err)? {
            let name = field.name().unwrap_or("").to_string();
            if field.file_name().is_some() || name == "file" {
                let sp = Spooler::new();
                while let Some(chunk) = field.chunk().await.map_err(mp_err)? {
                    total += chunk.len() as u64;
                    if total > limit {
                        return Err(ApiError::too_large(limit));
                    }
                    sp.push(chunk).await?;
                }
                files.push(sp.finish().await?);
            } else {
                let v = field.text().await.map_err(mp_err)?;
                params.set(&name, v)?;
            }
        }
        if files.is_empty() {
            return Err(ApiError::bad_request(
                "the multipart body has no file field; send the feed as `file`",
            ));
        }
    } else {
        let sp = Spooler::new();
        let mut stream = req.into_body().into_data_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk
                .map_err(|e| ApiError::bad_request(format!("cannot read the request body: {e}")))?;
            total += chunk.len() as u64;
            if total > limit {
                super::auth::drain(Body::from_stream(stream)).await;
                return Err(ApiError::too_large(limit));
            }
            sp.push(chunk).await?;
        }
        files.push(sp.finish().await?);
    }
    let inputs = files
        .iter()
        .enumerate()
        .map(|(i, f)| ops::import::Input::Named {
            path: f.path().to_path_buf(),
            name: format!("upload-{}", i + 1),
        })
        .collect();
    let ireq = params.request(inputs)?;
    let env = st.env(&who);
    let out = st
        .blocking(move |store, st| {
            let r = ops::import::import(store, &env, &ireq, &NoProgress);
            drop(files);
            let result = match &r {
                Ok(_) => "ok",
                Err(OpError::Rejected { .. }) => "rejected",
                Err(_) => "error",
            };
            st.metrics.inc(
                "snapgov_imports_total",
                &[("tool", &ireq.tool), ("result", result)],
            );
            let out = r?;
            let loc = format!("/api/v1/ingest/snapshots/{}", out.snapshot.id);
            let body = json!({
                "import": {
                    "snapshot": out.snapshot,
                    "replaced": out.replaced,
                    "recordsReceived": out.records_received,
                    "recordsMerged": out.records_merged,
                    "recordsAffected": out.records_affected,
                    "activated": out.activated,
                }
            });
            Ok((loc, body))
        })
        .await;
    // A refused import is recorded too (a failed snapshot): SLA unchanged,
    // but wake the scheduler either way; it is cheap.
    st.sla_poke.notify_one();
    let (loc, body) = out?;
    let mut resp = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&loc) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

// ---------------------------------------------------------------------------
// SLA and records.

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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordsParams {
    tool: Option<String>,
    subject: Option<String>,
    kind: Option<String>,
    /// Comma-separated severities.
    severity: Option<String>,
    /// Read critically old data anyway, for this reason (audited).
    #[serde(rename = "override")]
    override_reason: Option<String>,
}

/// Where a records response is collected before it is sent: memory up to
/// a size, then a temporary file.
enum Spool {
    Mem(Vec<u8>),
    File(std::io::BufWriter<std::fs::File>),
}

const SPOOL_IN_MEMORY: usize = 1 << 20;

impl Spool {
    fn write_line(&mut self, line: &str) -> std::io::Result<()> {
        if let Spool::Mem(v) = self {
            if v.len() + line.len() < SPOOL_IN_MEMORY {
                v.extend_from_slice(line.as_bytes());
                v.push(b'\n');
                return Ok(());
            }
            let mut w = std::io::BufWriter::with_capacity(1 << 16, tempfile::tempfile()?);
            w.write_all(v)?;
            *self = Spool::File(w);
        }
        if let Spool::File(w) = self {
            w.write_all(line.as_bytes())?;
            w.write_all(b"\n")?;
        }
        Ok(())
    }

    fn into_body(self) -> std::io::Result<Body> {
        match self {
            Spool::Mem(v) => Ok(Body::from(v)),
            Spool::File(w) => {
                use std::io::{Read, Seek};
                let mut f = w.into_inner().map_err(|e| e.into_error())?;
                f.seek(std::io::SeekFrom::Start(0))?;
                let (tx, mut rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
                tokio::task::spawn_blocking(move || {
                    let mut buf = vec![0u8; 1 << 16];
                    loop {
                        match f.read(&mut buf) {
                            Ok(0) => break,
                            Ok(n) => {
                                if tx
                                    .blocking_send(Ok(Bytes::copy_from_slice(&buf[..n])))
                                    .is_err()
                                {
                                    break;
                                }
                            }
                            Err(e) => {
                                let _ = tx.blocking_send(Err(e));
                                break;
                            }
                        }
                    }
                });
                Ok(Body::from_stream(futures_util::stream::poll_fn(
                    move |cx| rx.poll_recv(cx),
                )))
            }
        }
    }
}

/// A header-safe version of a message.
fn header_text(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '"' => '\'',
            c if c.is_ascii() && !c.is_ascii_control() => c,
            _ => '?',
        })
        .collect()
}

pub async fn records(
    State(st): St,
    Extension(who): Who,
    Q(p): Q<RecordsParams>,
) -> ApiResult<Response> {
    let tool = p
        .tool
        .ok_or_else(|| ApiError::bad_request("name the tool: ?tool=NAME"))?;
    bad_tool(&tool)?;
    let kind = match &p.kind {
        Some(k) => Some(RecordKind::parse(k).ok_or_else(|| {
            ApiError::bad_request(format!("`{k}` is not a kind; use package or vulnerability"))
        })?),
        None => None,
    };
    let mut severities = Vec::new();
    for s in p
        .severity
        .iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        severities.push(Severity::parse(&s.to_ascii_lowercase()).ok_or_else(|| {
            ApiError::bad_request(format!(
                "`{s}` is not a severity; use {}",
                Severity::ALL.map(|s| s.as_str()).join(", ")
            ))
        })?);
    }
    if p.override_reason.is_some() && who.name == ANONYMOUS {
        return Err(ApiError::unauthorized(
            "an override is audited under the reader's name: present a token",
            false,
        ));
    }
    let q = ops::records::RecordsQuery {
        tool,
        subject: p.subject,
        kind,
        severities,
        override_reason: p.override_reason,
    };
    let env = st.env(&who);
    let (cleared, n, spool) = st
        .blocking(move |store, _| {
            let mut spool = Spool::Mem(Vec::new());
            let (cleared, n) = ops::records::query(store, &env, &q, |line| spool.write_line(line))?;
            Ok((cleared, n, spool))
        })
        .await?;
    let body = spool
        .into_body()
        .map_err(|e| ApiError::internal(format!("cannot read the spooled records: {e}")))?;
    let mut resp = Response::new(body);
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    let doc = cleared.status.doc();
    if let Ok(v) = HeaderValue::from_str(&doc.state) {
        h.insert("x-snapgov-freshness", v);
    }
    if let Some(id) = doc
        .snapshot_id
        .as_deref()
        .and_then(|i| HeaderValue::from_str(i).ok())
    {
        h.insert("x-snapgov-snapshot-id", id);
    }
    h.insert("x-snapgov-record-count", HeaderValue::from(n));
    if let Some(w) = &cleared.warning {
        if let Ok(v) = HeaderValue::from_str(&format!("199 snapgov \"{}\"", header_text(w))) {
            h.insert(header::WARNING, v);
        }
    }
    Ok(resp)
}

// ---------------------------------------------------------------------------
// Audit.

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
            Err(ApiError::from(OpError::Integrity(format!(
                "audit verification failed: {}",
                r.problems().join("; ")
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

// ---------------------------------------------------------------------------
// Retention.

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

// ---------------------------------------------------------------------------
// Tokens.

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

//! Imports: the body is spooled to a temporary file, never held in memory.

use super::shared::*;
use crate::api::error::{ApiError, ApiResult};
use crate::api::extract::Q;
use crate::domain::time::parse_ts;
use crate::ingest::spool::Spool;
use crate::ops::{self, NoProgress, OpError};
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::json;
use std::io::Write;

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
    let files = if multipart {
        receive_multipart(req, &st, &mut params, limit).await?
    } else {
        vec![receive_raw(req, limit).await?]
    };
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
            Ok((loc, json!({ "import": out })))
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

/// A multipart body: each file field spooled, the text fields set as
/// parameters; `limit` counts the whole body.
async fn receive_multipart(
    req: Request,
    st: &std::sync::Arc<crate::api::AppState>,
    params: &mut ImportParams,
    limit: u64,
) -> ApiResult<Vec<Spool>> {
    let mut files = Vec::new();
    let mut total: u64 = 0;
    let mut mp = Multipart::from_request(req, st)
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
    Ok(files)
}

/// A raw body: the feed itself, spooled as it arrives.
async fn receive_raw(req: Request, limit: u64) -> ApiResult<Spool> {
    let sp = Spooler::new();
    let mut total: u64 = 0;
    let mut stream = req.into_body().into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk
            .map_err(|e| ApiError::bad_request(format!("cannot read the request body: {e}")))?;
        total += chunk.len() as u64;
        if total > limit {
            crate::api::auth::drain(Body::from_stream(stream)).await;
            return Err(ApiError::too_large(limit));
        }
        sp.push(chunk).await?;
    }
    sp.finish().await
}

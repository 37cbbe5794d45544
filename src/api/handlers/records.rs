//! Active records, streamed as JSON Lines.

use super::shared::*;
use crate::api::auth::ANONYMOUS;
use crate::api::error::{ApiError, ApiResult};
use crate::api::extract::Q;
use crate::domain::record::{RecordKind, Severity};
use crate::ops::{self};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::Response;
use axum::Extension;
use serde::Deserialize;
use std::io::Write;

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
    let q = ops::guarded_read::RecordsQuery {
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
            let (cleared, n) =
                ops::guarded_read::query(store, &env, &q, |line| spool.write_line(line))?;
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

//! `snapgov serve`: the HTTP API and the scheduler, on tokio.
//!
//! Every request is authenticated from the route table ([`routes::ROUTES`]),
//! then calls the same `ops` workflow as the CLI and the console. rusqlite is
//! blocking, so each workflow call runs in `spawn_blocking` on a connection
//! from a small pool; WAL mode lets readers run beside the one writer.

mod auth;
pub mod error;
mod extract;
mod handlers;
pub mod metrics;
pub mod openapi;
pub mod pool;
pub mod routes;
mod scheduler;

pub use pool::Pool;

use crate::config::Config;
use crate::ops::tokens::Identity;
use crate::ops::{Clock, Env, OpError};
use crate::store::{OpenMode, Store};
use axum::extract::DefaultBodyLimit;
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Router;
use error::{ApiError, ApiResult};
use routes::{Method, Op, ROUTES};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// The most store work that runs at once (more waits for a turn instead of
/// opening connections); as many connections stay open between requests.
const MAX_CONCURRENT: usize = pool::POOL_IDLE;

/// What a client is told about a bug (a panic): nothing about its insides.
const INTERNAL_DETAIL: &str =
    "the server failed while handling this request; nothing was changed by it if it was a write that did not complete; the server log has the details";

/// Turns a panic in a handler into a plain 500 problem (no panic text).
fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    use axum::response::IntoResponse;
    tracing::error!("a request handler panicked");
    ApiError::internal(INTERNAL_DETAIL).into_response()
}

/// Logs panics as one structured event, their text escaped, instead of
/// the raw (multi-line, possibly coloured) default report.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".into());
        let at = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        tracing::error!(
            panic = %crate::domain::text::escape_control(&msg),
            location = %at,
            "internal error (a bug): a thread panicked"
        );
    }));
}

/// What every handler shares.
pub struct AppState {
    pub config: Config,
    pub clock: Clock,
    pub pool: Pool,
    pub metrics: metrics::Metrics,
    /// Wakes the scheduler for an SLA check (after imports and rollbacks).
    pub sla_poke: tokio::sync::Notify,
    /// Turns at the store (see [`MAX_CONCURRENT`]).
    permits: Arc<tokio::sync::Semaphore>,
}

impl AppState {
    pub fn new(db: crate::store::Location, config: Config, clock: Clock) -> AppState {
        AppState {
            config,
            clock,
            pool: Pool::new(db),
            metrics: metrics::Metrics::default(),
            sla_poke: tokio::sync::Notify::new(),
            permits: Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT)),
        }
    }

    /// The workflow environment for a request by `who`.
    pub fn env(&self, who: &Identity) -> Env {
        Env::new(self.config.clone(), who.name.clone(), self.clock)
    }

    /// Runs blocking store work off the async threads, on a pooled connection.
    pub async fn blocking<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut Store, &AppState) -> ApiResult<T> + Send + 'static,
    ) -> ApiResult<T> {
        let st = Arc::clone(self);
        // The turn is held by the blocking work itself, so a request the
        // client gave up on still counts until its work is done.
        let turn = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| ApiError::internal("the server is shutting down"))?;
        tokio::task::spawn_blocking(move || {
            let _turn = turn;
            let mut store = st.pool.take()?;
            let out = f(&mut store, &st);
            // The client may not have seen its socket close yet when the
            // request already failed for it.
            if matches!(&out, Err(e) if e.kind == "unavailable") {
                st.pool.discard(store);
            } else {
                st.pool.put(store);
            }
            out
        })
        .await
        .map_err(|e| {
            // A JoinError's text carries the panic message: it goes to the
            // log (escaped, by the panic hook), never into the response.
            tracing::error!(panicked = e.is_panic(), "a request's worker failed");
            ApiError::internal(INTERNAL_DETAIL)
        })?
    }
}

fn filter(m: Method) -> MethodFilter {
    match m {
        Method::Get => MethodFilter::GET,
        Method::Post => MethodFilter::POST,
        Method::Put => MethodFilter::PUT,
        Method::Delete => MethodFilter::DELETE,
    }
}

/// The handler of each operation.
fn endpoint(op: Op, m: MethodFilter) -> MethodRouter<Arc<AppState>> {
    use handlers as h;
    match op {
        Op::Healthz => on(m, h::healthz),
        Op::Metrics => on(m, h::metrics),
        Op::OpenApi => on(m, h::openapi),
        Op::ListSnapshots => on(m, h::list_snapshots),
        Op::GetSnapshot => on(m, h::get_snapshot),
        Op::VerifySnapshot => on(m, h::verify_snapshot),
        Op::Rollback => on(m, h::rollback),
        Op::Expire => on(m, h::expire),
        Op::Import => on(m, h::import),
        Op::Sla => on(m, h::sla),
        Op::Records => on(m, h::records),
        Op::AuditList => on(m, h::audit_list),
        Op::AuditVerify => on(m, h::audit_verify),
        Op::AuditGet => on(m, h::audit_get),
        Op::AuditPurge => on(m, h::audit_purge),
        Op::RetentionStatus => on(m, h::retention_status),
        Op::RetentionRun => on(m, h::retention_run),
        Op::HoldPut => on(m, h::hold_put),
        Op::HoldDelete => on(m, h::hold_delete),
        Op::TokensList => on(m, h::tokens_list),
        Op::TokenCreate => on(m, h::token_create),
        Op::TokenRevoke => on(m, h::token_revoke),
    }
}

/// The router: every route of [`ROUTES`], each behind its access check.
pub fn router(state: Arc<AppState>) -> Router {
    let mut by_path: BTreeMap<&str, MethodRouter<Arc<AppState>>> = BTreeMap::new();
    for r in ROUTES {
        let ep =
            endpoint(r.op, filter(r.method)).route_layer(axum::middleware::from_fn_with_state(
                auth::Guard {
                    state: Arc::clone(&state),
                    access: r.access,
                },
                auth::guard,
            ));
        let merged = match by_path.remove(r.path) {
            Some(prev) => prev.merge(ep),
            None => ep,
        };
        by_path.insert(r.path, merged);
    }
    let mut router = Router::new();
    for (path, mr) in by_path {
        router = router.route(path, mr);
    }
    let limit = state.config.server.max_body_bytes;
    router
        .fallback(handlers::no_route)
        .method_not_allowed_fallback(handlers::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            limit,
            auth::content_length_limit,
        ))
        .layer(DefaultBodyLimit::max(
            usize::try_from(limit).unwrap_or(usize::MAX),
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            std::time::Duration::from_secs(state.config.server.request_timeout_secs),
        ))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            panic_response,
        ))
        .with_state(state)
}

/// How `snapgov serve` runs.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    pub db: crate::store::Location,
    pub config: Config,
    pub clock: Clock,
    pub listen: String,
    /// The operator says a TLS-terminating proxy is in front.
    pub behind_tls_proxy: bool,
    /// How to get rid of the plain-HTTP warning, in the launcher's words.
    pub exposure_hint: String,
    /// Run the scheduler (retention, SLA checks) beside the API.
    pub scheduler: bool,
}

/// Why the listen address deserves a warning, if it does.
/// `way_out` is the launcher's own words for the fix (its option for "a
/// proxy terminates TLS in front of me").
pub fn exposure_warning(
    addr: &SocketAddr,
    behind_tls_proxy: bool,
    way_out: &str,
) -> Option<String> {
    if addr.ip().is_loopback() || behind_tls_proxy {
        return None;
    }
    Some(format!(
        "serving plain HTTP on {addr}, which is not a loopback address: bearer tokens and data cross the network unencrypted; {way_out}"
    ))
}

/// Runs the server until SIGTERM or Ctrl-C, then finishes the requests and
/// the scheduled run in progress and returns.
pub fn serve(opts: ServeOptions) -> Result<(), OpError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("snapgov-api")
        .build()
        .map_err(|e| OpError::invalid(format!("cannot start the async runtime: {e}")))?;
    rt.block_on(serve_async(opts, shutdown_signal()))
}

/// Serves until `shutdown` completes.
pub async fn serve_async(
    opts: ServeOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), OpError> {
    let addr = resolve_listen(&opts.listen).await?;
    // Open (create, migrate) the store once before taking requests; off the
    // async threads, as every use of a connection (PostgreSQL's client
    // blocks on a runtime of its own).
    let db = opts.db.clone();
    let (first, from) =
        tokio::task::spawn_blocking(move || Store::open_migrating(db, OpenMode::ReadWrite))
            .await
            .map_err(|e| OpError::invalid(format!("cannot open the store: {e}")))??;
    if let Some(note) = crate::ops::store_migrate::upgraded_note(&opts.db, from) {
        eprintln!("{}", crate::domain::text::escaped(&note));
        tracing::info!("{note}");
    }
    let state = Arc::new(AppState::new(
        opts.db.clone(),
        opts.config.clone(),
        opts.clock,
    ));
    state.pool.put(first);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| OpError::usage(format!("cannot listen on {addr}: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| OpError::invalid(format!("cannot read the listening address: {e}")))?;
    if let Some(w) = exposure_warning(&local, opts.behind_tls_proxy, &opts.exposure_hint) {
        eprintln!("warning: {w}");
        tracing::warn!(address = %local, "{w}");
    }
    // Tests and scripts read this line to learn the port (with --listen ADDR:0).
    eprintln!("listening on {local}");
    tracing::info!(address = %local, db = %opts.db, "snapgov API listening");

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let sched = if opts.scheduler {
        Some(tokio::spawn(scheduler::run(Arc::clone(&state), stop_rx)))
    } else {
        None
    };
    let app = router(Arc::clone(&state));
    accept_loop(listener, app, &opts.config.server, shutdown).await;
    tracing::info!("shutting down: finishing the scheduler's run in progress");
    let _ = stop_tx.send(true);
    if let Some(h) = sched {
        let _ = h.await;
    }
    // Connections are closed off the async threads too.
    let st = Arc::clone(&state);
    let _ = tokio::task::spawn_blocking(move || st.pool.clear()).await;
    eprintln!("stopped");
    Ok(())
}

/// `HOST:PORT` to a socket address; host names are resolved (the first
/// address wins), so `localhost:7878` works.
async fn resolve_listen(listen: &str) -> Result<SocketAddr, OpError> {
    if let Ok(a) = listen.parse::<SocketAddr>() {
        return Ok(a);
    }
    let bad = || {
        OpError::usage(format!(
            "`{}` is not an address like 127.0.0.1:7878 or localhost:7878",
            crate::domain::text::escape_control(listen)
        ))
    };
    if listen
        .rsplit_once(':')
        .is_none_or(|(h, p)| h.is_empty() || p.parse::<u16>().is_err())
    {
        return Err(bad());
    }
    let mut addrs = tokio::net::lookup_host(listen).await.map_err(|e| {
        OpError::usage(format!(
            "cannot resolve `{}`: {e}",
            crate::domain::text::escape_control(listen)
        ))
    })?;
    addrs.next().ok_or_else(bad)
}

/// Open connections per client address.
type PerIp = Arc<Mutex<std::collections::HashMap<std::net::IpAddr, u64>>>;

/// Holds one of a client address's connection slots until dropped.
struct IpSlot {
    map: PerIp,
    ip: std::net::IpAddr,
}

impl IpSlot {
    fn take(map: &PerIp, ip: std::net::IpAddr, limit: u64) -> Option<IpSlot> {
        let mut m = map.lock().unwrap_or_else(|e| e.into_inner());
        let n = m.entry(ip).or_insert(0);
        if *n >= limit {
            return None;
        }
        *n += 1;
        Some(IpSlot {
            map: Arc::clone(map),
            ip,
        })
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut m = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = m.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.ip);
            }
        }
    }
}

/// Accepts connections until `shutdown`, then lets the open ones finish.
///
/// Each connection is served by hyper's HTTP/1 server with a header-read
/// timeout (a client that never finishes its headers is dropped after
/// `header_read_timeout_secs`); at most `max_connections` are open at once
/// (more wait in the listen backlog), and at most `max_connections_per_ip`
/// from one address (more are closed at once), so a few clients holding
/// half-sent requests cannot starve everyone else.
async fn accept_loop(
    listener: tokio::net::TcpListener,
    app: Router,
    cfg: &crate::config::ServerSettings,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;
    let total = Arc::new(tokio::sync::Semaphore::new(
        usize::try_from(cfg.max_connections).unwrap_or(usize::MAX),
    ));
    let per_ip: PerIp = Arc::default();
    let header_timeout = std::time::Duration::from_secs(cfg.header_read_timeout_secs);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = Arc::clone(&total).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors and the like: wait, retry.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let Some(slot) = IpSlot::take(&per_ip, peer.ip(), cfg.max_connections_per_ip) else {
            tracing::debug!(peer = %peer.ip(), "connection refused: too many from this address");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
            drop(slot);
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested");
}

/// Sets up logging for `serve`: `RUST_LOG`-style filter from `SNAPGOV_LOG`
/// (default `info`), as text or JSON lines on stderr.
pub fn init_logging(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("SNAPGOV_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,tower_http=info"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = if json {
        b.json().try_init()
    } else {
        b.with_ansi(false).try_init()
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    #[test]
    fn only_non_loopback_addresses_without_a_proxy_warn() {
        let a = |s: &str| s.parse::<SocketAddr>().unwrap();
        let warn = |s: &str, proxy| exposure_warning(&a(s), proxy, "put TLS in front");
        assert!(warn("127.0.0.1:7878", false).is_none());
        assert!(warn("[::1]:7878", false).is_none());
        let w = warn("0.0.0.0:7878", false).unwrap();
        assert!(w.contains("TLS") && w.contains("0.0.0.0:7878"), "{w}");
        assert!(warn("192.0.2.10:443", false).is_some());
        assert!(warn("0.0.0.0:7878", true).is_none());
    }

    #[test]
    fn errors_keep_the_cli_meanings() {
        use crate::store::StoreError;
        let cases = [
            (OpError::usage("u"), StatusCode::BAD_REQUEST, 2),
            (OpError::not_found("n"), StatusCode::NOT_FOUND, 1),
            (
                OpError::Rejected {
                    problem: "r".into(),
                    snapshot_id: Some("syft-20251204T000000Z-001".into()),
                },
                StatusCode::UNPROCESSABLE_ENTITY,
                3,
            ),
            (OpError::invalid("i"), StatusCode::UNPROCESSABLE_ENTITY, 1),
            (OpError::blocked("b"), StatusCode::LOCKED, 4),
            (OpError::conflict("c"), StatusCode::CONFLICT, 5),
            (
                OpError::Store(StoreError::Busy),
                StatusCode::SERVICE_UNAVAILABLE,
                5,
            ),
            (
                OpError::integrity("x"),
                StatusCode::INTERNAL_SERVER_ERROR,
                6,
            ),
            (
                OpError::Store(StoreError::Corrupt("x".into())),
                StatusCode::INTERNAL_SERVER_ERROR,
                6,
            ),
        ];
        for (e, status, code) in cases {
            let rejected = matches!(e, OpError::Rejected { .. });
            let a = ApiError::from(e);
            assert_eq!(a.status, status);
            let b = a.body();
            assert_eq!(b["status"], status.as_u16());
            assert_eq!(b["exitCode"], code);
            assert!(b["type"]
                .as_str()
                .unwrap()
                .starts_with("urn:snapgov:problem:"));
            assert!(b["title"].is_string() && b["detail"].is_string());
            if rejected {
                assert_eq!(b["snapshotId"], "syft-20251204T000000Z-001");
            }
        }
    }
}

//! Issue 10 through the HTTP API: racing rollbacks (item 9), panics (11),
//! slow clients and connection limits (12), the Host check with anonymous
//! reads (13), and `--listen localhost:PORT` (14).

mod api_common;
mod common;

use api_common::{client, expect, problem, Scratch, Server};
use serde_json::json;
use std::time::{Duration, Instant};

/// `snapgov serve` started by `sh` (so that a test can lower its file
/// limit first), with extra environment.
fn start(s: &Scratch, prelude: &str, env: &[(&str, &str)], listen: &str) -> Server {
    let base = s.cmd(&[]);
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg(format!("{prelude} exec \"$0\" serve --listen {listen}"))
        .arg(env!("CARGO_BIN_EXE_snapgov"));
    for (k, v) in base.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    Server::spawn(cmd)
}

/// Item 9: the API runs a rollback only against the active snapshot its
/// caller names (`expectedActive`), unless `force` is set; of two
/// rollbacks from the same preview the second gets 409.
#[test]
fn api_rollback_needs_expected_active_or_force() {
    let s = Scratch::demo("");
    let op = s.token("operator", "otto");
    let srv = start(&s, "", &[], "127.0.0.1:0");
    let api = srv.api(Some(&op));
    let prevs = s.previous_ids("trivy");
    assert!(prevs.len() >= 2);
    let active = s.active_id("trivy");
    let post = |target: &str, body: serde_json::Value| {
        api.post(
            &format!("/api/v1/ingest/snapshots/{target}/rollback"),
            &body,
        )
    };
    let before = api_common::dump(&s.db());
    let p = problem(post(&prevs[0], json!({"reason": "r"})), 400);
    assert!(
        p["detail"].as_str().unwrap().contains("expectedActive"),
        "{p}"
    );
    assert_eq!(before, api_common::dump(&s.db()));
    // Two operators previewed the same state and roll back to different
    // snapshots: the second one loses.
    expect(
        post(&prevs[0], json!({"reason": "r", "expectedActive": active})),
        200,
    );
    let p = problem(
        post(&prevs[1], json!({"reason": "r", "expectedActive": active})),
        409,
    );
    assert_eq!(p["exitCode"], 5);
    // force: true rolls back from whatever is active.
    let v = expect(post(&prevs[1], json!({"reason": "r", "force": true})), 200);
    assert_eq!(v["rollback"]["from"]["snapshotId"], prevs[0].as_str());
}

/// Item 11: a panic in a request (a bug, here injected) answers a plain
/// 500 problem without the panic's text, is logged as one escaped line, and
/// the server keeps serving.
#[cfg(feature = "fault-injection")]
#[test]
fn a_panicking_request_gets_a_plain_500_and_the_server_lives_on() {
    let s = Scratch::new("");
    let op = s.token("operator", "otto");
    let srv = start(
        &s,
        "",
        &[("SNAPGOV_FAULT", "import_begin:panic")],
        "127.0.0.1:0",
    );
    let c = client();
    let r = srv.api(Some(&op)).post_raw(
        "/api/v1/ingest/imports?tool=syft",
        std::fs::read(api_common::fixture("syft-min.json")).unwrap(),
    );
    assert_eq!(r.status(), 500);
    let body = r.text().unwrap();
    assert!(
        !body.contains("panic") && !body.contains("fault injection") && !body.contains(".rs:"),
        "panic text in the body: {body}"
    );
    let p: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(p["status"], 500);
    expect(c.get(srv.url("/healthz")).send().unwrap(), 200);
    std::thread::sleep(Duration::from_millis(200));
    let log = srv.log().join("\n");
    assert!(
        log.contains("fault injection: panic at step import_begin"),
        "{log}"
    );
    assert!(!log.contains('\u{1b}'), "{log:?}");
    assert!(!log.contains("stack backtrace"), "{log}");
}

/// Item 12: hundreds of connections that never finish their headers (from
/// another address) do not keep `/healthz` from answering within a
/// second, even with the server's file limit below their number; they are
/// closed after the header-read timeout.
#[test]
fn slow_connections_do_not_starve_healthz() {
    let s = Scratch::new(
        "[server]\nheader_read_timeout_secs = 2\nmax_connections = 150\nmax_connections_per_ip = 40\n",
    );
    let srv = start(&s, "ulimit -n 200 &&", &[], "127.0.0.1:0");
    let port = srv.port();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // 400 connections from 127.0.0.2: half send part of a request, half
    // nothing at all.
    let held: Vec<tokio::net::TcpStream> = rt.block_on(async {
        let mut v = Vec::new();
        for i in 0..400 {
            let sock = tokio::net::TcpSocket::new_v4().unwrap();
            sock.bind("127.0.0.2:0".parse().unwrap()).unwrap();
            let Ok(Ok(st)) = tokio::time::timeout(
                Duration::from_millis(500),
                sock.connect(format!("127.0.0.1:{port}").parse().unwrap()),
            )
            .await
            else {
                continue;
            };
            if i % 2 == 0 {
                let _ = st.writable().await;
                let _ = st.try_write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n");
            }
            v.push(st);
        }
        v
    });
    assert!(held.len() > 250, "only {} connections opened", held.len());
    std::thread::sleep(Duration::from_millis(300));
    let c = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    for _ in 0..3 {
        let t = Instant::now();
        let r = c.get(srv.url("/healthz")).send();
        let took = t.elapsed();
        assert!(
            r.as_ref().is_ok_and(|r| r.status() == 200) && took < Duration::from_secs(1),
            "/healthz with {} slow connections held: {r:?} after {took:?}",
            held.len()
        );
    }
    // After the header-read timeout the server has closed every one of them.
    std::thread::sleep(Duration::from_secs(4));
    let open = rt.block_on(async {
        let mut open = 0;
        for st in &held {
            let mut b = [0u8; 256];
            // Readable within 20 ms: closed by the server (EOF, a reset,
            // or its 408 answer followed by EOF).
            if tokio::time::timeout(Duration::from_millis(20), st.try_read_wait(&mut b))
                .await
                .is_err()
            {
                open += 1;
            }
        }
        open
    });
    assert_eq!(
        open, 0,
        "{open} slow connections still open after the timeout"
    );
    drop(held);
}

trait TryReadWait {
    async fn try_read_wait(&self, b: &mut [u8]) -> std::io::Result<usize>;
}

impl TryReadWait for tokio::net::TcpStream {
    /// Waits until the socket is readable (data, EOF or an error).
    async fn try_read_wait(&self, b: &mut [u8]) -> std::io::Result<usize> {
        loop {
            self.readable().await?;
            match self.try_read(b) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

/// Item 13: with anonymous reads, a request whose `Host` is a foreign name
/// (DNS rebinding) gets 403; IP literals, localhost and configured names
/// are served.
#[test]
fn anonymous_reads_check_the_host_header() {
    let s =
        Scratch::demo("[server]\nanonymous_reads = true\nallowed_hosts = [\"snapgov.internal\"]\n");
    let srv = start(&s, "", &[], "127.0.0.1:0");
    let c = client();
    let get = |host: &str| {
        c.get(srv.url("/api/v1/ingest/snapshots"))
            .header("Host", host)
            .send()
            .unwrap()
    };
    let port = srv.port();
    for bad in [
        format!("attacker.example:{port}"),
        "attacker.example".into(),
        format!("snapgov.internal.attacker.example:{port}"),
    ] {
        let p = problem(get(&bad), 403);
        assert!(
            p["detail"].as_str().unwrap().contains("allowed_hosts"),
            "{p}"
        );
    }
    for good in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
        format!("snapgov.internal:{port}"),
        "SNAPGOV.internal".into(),
    ] {
        expect(get(&good), 200);
    }
    // With a token, any Host is served (a rebinding page has no token).
    let tok = s.token("viewer", "vera");
    let r = srv
        .api(Some(&tok))
        .request(reqwest::Method::GET, "/api/v1/ingest/snapshots")
        .header("Host", "attacker.example")
        .send()
        .unwrap();
    expect(r, 200);
}

/// Item 14: `--listen localhost:PORT` resolves the name.
#[test]
fn listen_accepts_a_host_name() {
    let s = Scratch::new("");
    let srv = start(&s, "", &[], "localhost:0");
    let r = client().get(srv.url("/healthz")).send().unwrap();
    assert_eq!(r.status(), 200);
}

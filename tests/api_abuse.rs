//! API abuse: path traversal and SQL metacharacters in ids and every query
//! parameter, unauthenticated and wrong-role writes, and a slow client. All
//! refused cleanly; nothing reaches the store.

mod api_common;
mod common;

use api_common::{client, Scratch};
use std::io::{Read, Write};

const HOSTILE: [&str; 8] = [
    "../../../../etc/passwd",
    "..%2F..%2Fetc%2Fpasswd",
    "' OR '1'='1",
    "syft'; DROP TABLE snapshots; --",
    "\" OR 1=1 --",
    "%00",
    "syft-20251204T000000Z-001%27--",
    "😀",
];

#[test]
fn hostile_ids_and_parameters_are_refused_and_change_nothing() {
    let s = Scratch::demo("");
    let viewer = s.token("viewer", "v");
    let operator = s.token("operator", "op");
    let server = s.serve();
    let before = s.dump();
    let c = client();
    let mut tried = 0;
    for h in HOSTILE {
        let enc: String = h.bytes().map(|b| format!("%{b:02X}")).collect();
        for (method, path) in [
            ("GET", format!("/api/v1/ingest/snapshots/{enc}")),
            ("GET", format!("/api/v1/ingest/snapshots/{enc}/verify")),
            ("POST", format!("/api/v1/ingest/snapshots/{enc}/rollback")),
            ("GET", format!("/api/v1/ingest/audit/{enc}")),
        ] {
            let req = match method {
                "GET" => c.get(server.url(&path)).bearer_auth(&viewer),
                _ => c
                    .post(server.url(&path))
                    .bearer_auth(&operator)
                    .json(&serde_json::json!({"reason": "x", "dryRun": false})),
            };
            let r = req.send().unwrap();
            let st = r.status().as_u16();
            assert!([400, 404, 422].contains(&st), "{method} {path}: {st}");
            tried += 1;
        }
        for param in [
            "tool", "state", "event", "user", "since", "until", "q", "cursor", "limit", "subject",
            "kind", "severity",
        ] {
            for endpoint in [
                "/api/v1/ingest/snapshots",
                "/api/v1/ingest/audit",
                "/api/v1/ingest/sla",
                "/api/v1/ingest/records",
            ] {
                let r = c
                    .get(server.url(&format!("{endpoint}?{param}={enc}")))
                    .bearer_auth(&viewer)
                    .send()
                    .unwrap();
                let st = r.status().as_u16();
                // Accepted as a plain (unmatched) value, or refused as bad input.
                assert!(
                    [200, 400, 404, 422].contains(&st),
                    "{endpoint}?{param}={h}: {st}"
                );
                if st == 200 && endpoint == "/api/v1/ingest/snapshots" && param == "tool" {
                    let v: serde_json::Value = r.json().unwrap();
                    assert_eq!(
                        v["snapshots"].as_array().map(|a| a.len()),
                        Some(0),
                        "{h} matched snapshots"
                    );
                }
                tried += 1;
            }
        }
    }
    // Writes without a token, and with a viewer's.
    for (path, body) in [
        ("/api/v1/ingest/imports?tool=syft", "{}"),
        (
            "/api/v1/ingest/audit/purge",
            "{\"before\":\"2020-01-01T00:00:00Z\",\"reason\":\"x\"}",
        ),
    ] {
        let r = c.post(server.url(path)).body(body).send().unwrap();
        assert_eq!(r.status().as_u16(), 401, "{path}");
        let r = c
            .post(server.url(path))
            .bearer_auth(&viewer)
            .body(body)
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 403, "{path}");
        tried += 2;
    }
    eprintln!("hostile API requests: {tried}");
    assert_eq!(s.dump(), before, "a refused request changed the store");
}

#[test]
fn a_slow_client_does_not_hold_up_other_requests() {
    let s = Scratch::demo("");
    let viewer = s.token("viewer", "v");
    let server = s.serve();
    let addr = server.base.trim_start_matches("http://").to_string();
    // A client that sends half a request and then stalls.
    let mut slow = std::net::TcpStream::connect(&addr).unwrap();
    slow.write_all(b"POST /api/v1/ingest/imports?tool=syft HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{\"artifacts\": [").unwrap();
    let t = std::time::Instant::now();
    let r = client()
        .get(server.url("/api/v1/ingest/sla"))
        .bearer_auth(&viewer)
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        t.elapsed().as_secs() < 5,
        "a stalled client held up others for {:?}",
        t.elapsed()
    );
    // Give up on it: the server answers (401, no token) or closes; it does not store anything.
    drop(slow.shutdown(std::net::Shutdown::Write));
    let mut buf = Vec::new();
    let _ = slow.read_to_end(&mut buf);
    let v = s.cli_json(&["ingest", "snapshots", "--state", "failed"]);
    assert_eq!(
        v["snapshots"].as_array().unwrap().len(),
        1,
        "only the demo's own failed import"
    );
}

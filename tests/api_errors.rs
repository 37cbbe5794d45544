//! Every refusal the API words with a hint or a parameter, reached over
//! HTTP: the detail names the request's own parameters and endpoints, never
//! a CLI flag, and carries the codes (`hint`, `param`) behind the wording.

mod api_common;
mod common;

use api_common::*;
use serde_json::{json, Value};

fn bearer(t: &str) -> String {
    format!("Bearer {t}")
}

/// The problem's detail, hint and param, after the shared checks.
fn refusal(v: &Value) -> (&str, Option<&str>, Option<&str>) {
    let detail = v["detail"].as_str().unwrap();
    assert_no_cli_flag(detail);
    (detail, v["hint"].as_str(), v["param"].as_str())
}

#[test]
fn every_hinted_refusal_is_worded_in_the_apis_terms() {
    let s = Scratch::demo("");
    let op = s.token("operator", "otto");
    let admin = s.token("admin", "ada");
    let srv = s.serve();
    let c = client();
    let post = |t: &str, path: &str, body: Value| {
        c.post(srv.url(path))
            .header("Authorization", bearer(t))
            .json(&body)
            .send()
            .unwrap()
    };
    let import = |query: &str, body: Vec<u8>| {
        c.post(srv.url(&format!("/api/v1/ingest/imports?{query}")))
            .header("Authorization", bearer(&op))
            .body(body)
            .send()
            .unwrap()
    };
    let get = |path: &str| {
        c.get(srv.url(path))
            .header("Authorization", bearer(&op))
            .send()
            .unwrap()
    };

    // The freshness guard: critical (clair), expired (licensewatch), unknown.
    let v = problem(get("/api/v1/ingest/records?tool=clair"), 423);
    let (d, hint, _) = refusal(&v);
    assert_eq!(hint, Some("override-freshness"));
    assert!(d.contains("override=REASON"), "{d}");
    let v = problem(get("/api/v1/ingest/records?tool=licensewatch"), 423);
    let (d, hint, _) = refusal(&v);
    assert_eq!(hint, Some("import-or-roll-back"));
    assert!(
        d.contains("POST /api/v1/ingest/imports?tool=licensewatch"),
        "{d}"
    );
    let v = problem(get("/api/v1/ingest/records?tool=newtool"), 404);
    let (d, hint, _) = refusal(&v);
    assert_eq!(hint, Some("import-first"));
    assert!(
        d.contains("POST /api/v1/ingest/imports?tool=newtool"),
        "{d}"
    );

    // Imports: empty, shrinking, unrecognized, misdated, activated without a reason.
    let small = std::fs::read(fixture("syft-min.json")).unwrap();
    let mut doc: Value = serde_json::from_slice(&small).unwrap();
    doc["artifacts"] = json!([]);
    let v = problem(import("tool=syft", doc.to_string().into_bytes()), 422);
    let (d, hint, _) = refusal(&v);
    assert_eq!(hint, Some("allow-empty"), "{d}");
    assert!(d.contains("allowEmpty=true"), "{d}");
    let v = problem(import("tool=syft", small.clone()), 422);
    let (d, hint, _) = refusal(&v);
    assert_eq!(hint, Some("allow-shrink"));
    assert!(d.contains("allowShrink=true"), "{d}");
    let v = problem(import("tool=syft", b"hello".to_vec()), 422);
    let (d, hint, _) = refusal(&v);
    assert_eq!(hint, Some("name-format"));
    assert!(d.contains("format=NAME"), "{d}");
    let v = problem(
        import(
            "tool=syft&allowShrink=true&importedAt=9999-01-01T00:00:00Z",
            small.clone(),
        ),
        400,
    );
    let (d, _, param) = refusal(&v);
    assert_eq!(param, Some("importedAt"));
    assert!(d.starts_with("importedAt: "), "{d}");
    let v = problem(
        import(
            "tool=syft&allowShrink=true&importedAt=2025-11-01T00:00:00Z&activate=true",
            small,
        ),
        400,
    );
    let (d, hint, param) = refusal(&v);
    assert_eq!((hint, param), (Some("give-reason"), Some("activate")));
    assert!(d.contains("\"reason\" in the request"), "{d}");

    // Governance: reasons, a snapshot that cannot be restored, bounds.
    let snaps = s.cli_json(&["ingest", "snapshots"]);
    let failed = snaps["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["state"] == "failed")
        .expect("the demo has a failed import");
    let (failed, tool) = (
        failed["id"].as_str().unwrap().to_string(),
        failed["tool"].as_str().unwrap().to_string(),
    );
    let v = problem(
        post(
            &op,
            &format!("/api/v1/ingest/snapshots/{failed}/rollback"),
            json!({"reason": "r", "force": true}),
        ),
        422,
    );
    let (d, hint, _) = refusal(&v);
    assert_eq!(hint, Some("choose-restorable"), "{d}");
    assert!(
        d.contains(&format!("GET /api/v1/ingest/snapshots?tool={tool}")),
        "{d}"
    );
    let syft = s.cli_json(&["ingest", "sla", "--tool", "syft"])["sla"]["snapshotId"]
        .as_str()
        .unwrap()
        .to_string();
    let v = problem(
        post(
            &op,
            &format!("/api/v1/ingest/snapshots/{syft}/expire"),
            json!({}),
        ),
        400,
    );
    assert_eq!(refusal(&v).1, Some("give-reason"));
    let hold = srv.url(&format!("/api/v1/ingest/retention/holds/{syft}"));
    let put = |body: Value| {
        c.put(&hold)
            .header("Authorization", bearer(&op))
            .json(&body)
            .send()
            .unwrap()
    };
    let v = problem(put(json!({"expiresAt": "2026-06-01T00:00:00Z"})), 400);
    assert_eq!(refusal(&v).1, Some("give-reason"));
    let v = problem(
        put(json!({"reason": "r", "expiresAt": "2020-01-01T00:00:00Z"})),
        400,
    );
    let (d, _, param) = refusal(&v);
    assert_eq!(param, Some("expiresAt"));
    assert!(d.starts_with("expiresAt: "), "{d}");
    let v = problem(
        post(
            &admin,
            "/api/v1/ingest/audit/purge",
            json!({"before": "2025-12-01T00:00:00Z", "reason": "too new"}),
        ),
        400,
    );
    let (d, _, param) = refusal(&v);
    assert_eq!(param, Some("before"));
    assert!(d.starts_with("before: "), "{d}");
    let v = problem(
        post(
            &admin,
            "/api/v1/ingest/audit/purge",
            json!({"before": "2024-01-01T00:00:00Z"}),
        ),
        400,
    );
    assert_eq!(refusal(&v).1, Some("give-reason"));
}

#[test]
fn the_cli_words_the_same_refusals_with_its_flags() {
    let s = Scratch::demo("");
    let out = s.cli(&["ingest", "records", "--tool", "clair"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(err.contains("--override REASON"), "{err}");
    let out = s.cli(&["--json", "ingest", "records", "--tool", "clair"]);
    let v: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(v["error"]["hint"], "override-freshness");
    let out = s.cli(&[
        "ingest",
        "retention",
        "hold",
        "add",
        "syft-20251204T000000Z-001",
        "--reason",
        "r",
        "--until",
        "2020-01-01T00:00:00Z",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--until: 2020-01-01T00:00:00Z is not in the future"),
        "{err}"
    );
}

//! The OpenAPI document: valid enough to load, and describing exactly the
//! routes the server serves.

mod api_common;
mod common;

use api_common::*;
use serde_json::Value;
use snapgov::api::routes::{route_list, ROUTES};
use std::collections::BTreeSet;

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn doc_routes(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (m, _) in item.as_object().unwrap() {
            if METHODS.contains(&m.as_str()) {
                out.insert((m.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

/// Every `$ref` in the document points at something that exists.
fn check_refs(doc: &Value, v: &Value) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                let ptr = r.strip_prefix('#').expect("local ref");
                assert!(doc.pointer(ptr).is_some(), "dangling $ref {r}");
            }
            m.values().for_each(|x| check_refs(doc, x));
        }
        Value::Array(a) => a.iter().for_each(|x| check_refs(doc, x)),
        _ => {}
    }
}

#[test]
fn the_document_is_openapi_3_and_every_operation_has_responses() {
    let doc = snapgov::api::openapi::document();
    // It round-trips as JSON text.
    let text = serde_json::to_string(&doc).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let mut op_ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        assert!(path.starts_with('/'), "{path}");
        for (m, op) in item.as_object().unwrap() {
            assert!(METHODS.contains(&m.as_str()), "{path}: {m}");
            let responses = op["responses"]
                .as_object()
                .unwrap_or_else(|| panic!("{m} {path} has no responses"));
            assert!(!responses.is_empty(), "{m} {path}");
            assert!(
                responses.keys().any(|k| k.starts_with('2')),
                "{m} {path} has no success response"
            );
            for (code, r) in responses {
                assert!(code.len() == 3 && code.parse::<u16>().is_ok(), "{code}");
                assert!(r["description"].is_string(), "{m} {path} {code}");
            }
            assert!(
                op_ids.insert(op["operationId"].as_str().unwrap().to_string()),
                "duplicate operationId"
            );
            // Every {param} in the path is declared.
            for seg in path.split('/').filter(|s| s.starts_with('{')) {
                let name = seg.trim_matches(|c| c == '{' || c == '}');
                let declared = op["parameters"].as_array().is_some_and(|ps| {
                    ps.iter()
                        .any(|p| p["name"] == name && p["in"] == "path" && p["required"] == true)
                });
                assert!(declared, "{m} {path}: path parameter {name} undeclared");
            }
            // Routes behind a token say so, and can answer 401.
            if op["security"] != serde_json::json!([]) {
                assert!(responses.contains_key("401"), "{m} {path}");
            }
        }
    }
    check_refs(&doc, &doc);
}

#[test]
fn the_document_covers_exactly_the_route_table() {
    let doc = snapgov::api::openapi::document();
    let table: BTreeSet<(String, String)> = route_list()
        .into_iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(table.len(), ROUTES.len(), "a route is listed twice");
    assert_eq!(doc_routes(&doc), table);
    // The endpoints are all there.
    for (m, p) in [
        ("GET", "/api/v1/ingest/snapshots"),
        ("GET", "/api/v1/ingest/snapshots/{snapshotId}"),
        ("POST", "/api/v1/ingest/snapshots/{snapshotId}/rollback"),
        ("GET", "/api/v1/ingest/sla"),
        ("POST", "/api/v1/ingest/imports"),
        ("GET", "/api/v1/ingest/records"),
        ("GET", "/api/v1/ingest/audit"),
        ("GET", "/api/v1/ingest/audit/verify"),
        ("GET", "/healthz"),
        ("GET", "/metrics"),
        ("GET", "/api/v1/openapi.json"),
    ] {
        assert!(table.contains(&(m.to_string(), p.to_string())), "{m} {p}");
    }
}

#[test]
fn the_server_serves_every_route_of_the_document_and_nothing_else() {
    let s = Scratch::new("");
    let srv = s.serve();
    let c = client();
    let doc = expect(c.get(srv.url("/api/v1/openapi.json")).send().unwrap(), 200);
    assert_eq!(doc, snapgov::api::openapi::document());
    for (m, path) in doc_routes(&doc) {
        let concrete = path
            .replace("{snapshotId}", "syft-20251204T000000Z-001")
            .replace("{auditId}", "audit-1")
            .replace("{name}", "someone");
        let method = reqwest::Method::from_bytes(m.as_bytes()).unwrap();
        let r = c.request(method, srv.url(&concrete)).send().unwrap();
        let status = r.status().as_u16();
        let body = r.text().unwrap();
        // Routed: whatever the answer (401 without a token, 200 for public
        // routes), it is not the router's "no such route/method".
        assert!(
            !body.contains("urn:snapgov:problem:no-route")
                && !body.contains("urn:snapgov:problem:method-not-allowed"),
            "{m} {path} is in the document but not served: {status} {body}"
        );
    }
    // And something outside the document is not served.
    let r = c.get(srv.url("/api/v1/ingest/nothing")).send().unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().unwrap().contains("urn:snapgov:problem:no-route"));
}

//! The HTTP API end to end: the real `snapgov serve` on 127.0.0.1 (port 0),
//! a real HTTP client, the demo store as of a fixed clock.

mod api_common;
mod common;

use api_common::*;
use serde_json::{json, Value};
use std::time::Duration;

#[test]
fn health_and_the_api_description_need_no_token() {
    let s = Scratch::demo("");
    let srv = s.serve();
    let anon = srv.api(None);
    let v = expect(anon.get("/healthz"), 200);
    assert_eq!(v["status"], "ok");
    assert_eq!(v["schemaVersion"], snapgov::store::schema_version());
    let doc = expect(anon.get("/api/v1/openapi.json"), 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
}

#[test]
fn tokens_and_roles_decide_who_may_do_what() {
    let s = Scratch::demo("");
    let viewer = s.token("viewer", "vera");
    let operator = s.token("operator", "otto");
    let admin = s.token("admin", "ada");
    let revoked = s.token("operator", "gone");
    s.cli_json(&["token", "revoke", "gone"]);
    let srv = s.serve();
    let anon = srv.api(None);
    let (as_viewer, as_operator, as_admin, as_revoked) = (
        anon.as_token(&viewer),
        anon.as_token(&operator),
        anon.as_token(&admin),
        anon.as_token(&revoked),
    );
    let snaps = "/api/v1/ingest/snapshots";

    // No token: 401 with a Bearer challenge.
    let r = anon.get(snaps);
    assert_eq!(
        r.headers()["www-authenticate"].to_str().unwrap(),
        "Bearer realm=\"snapgov\""
    );
    problem(r, 401);
    // An unknown, a malformed and a revoked token: 401.
    problem(anon.with_auth("Bearer sgv_0000").get(snaps), 401);
    problem(anon.with_auth("Basic dXNlcjpwdw==").get(snaps), 401);
    let r = as_revoked.get(snaps);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("invalid_token"));
    problem(r, 401);
    // Every role reads.
    for api in [&as_viewer, &as_operator, &as_admin] {
        expect(api.get(snaps), 200);
    }

    // A viewer's rollback is 403; without a token 401; nothing changes.
    let active = s.active_id("syft");
    let target = s.previous_ids("syft").pop().unwrap();
    let before = s.dump();
    let rb = &format!("/api/v1/ingest/snapshots/{target}/rollback");
    let body = json!({"reason": "test", "dryRun": false, "force": true});
    let p = problem(as_viewer.post(rb, &body), 403);
    assert!(p["detail"].as_str().unwrap().contains("operator"), "{p}");
    problem(anon.post(rb, &body), 401);
    problem(as_revoked.post(rb, &body), 401);
    // Token management and purge are admin-only.
    let tokens = "/api/v1/tokens";
    problem(as_operator.get(tokens), 403);
    problem(
        as_operator.post(
            "/api/v1/ingest/audit/purge",
            &json!({"before": "2024-01-01T00:00:00Z", "reason": "x"}),
        ),
        403,
    );
    assert_eq!(before, s.dump(), "refused requests changed the store");

    // An operator's rollback is recorded under the token's name.
    let v = expect(as_operator.post(rb, &body), 200);
    assert_eq!(v["rollback"]["status"], "completed");
    assert_eq!(v["rollback"]["executedBy"], "otto");
    assert_eq!(v["rollback"]["from"]["snapshotId"], active.as_str());
    let a = s.cli_json(&common::audit_list_args("snapshot_rolled_back", "1"));
    assert_eq!(a["audit"][0]["user"], "otto");

    // Tokens over the API (admin): create, list, revoke; audited.
    let v = expect(
        as_admin.post(tokens, &json!({"name": "dash", "role": "viewer"})),
        201,
    );
    let dash = v["token"]["token"].as_str().unwrap().to_string();
    let as_dash = anon.as_token(&dash);
    expect(as_dash.get(snaps), 200);
    let list = expect(as_admin.get(tokens), 200);
    let names: Vec<&str> = list["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"dash") && names.contains(&"gone"),
        "{names:?}"
    );
    assert!(
        !list.to_string().contains(&dash[4..]),
        "the list shows a secret"
    );
    problem(
        as_admin.post(tokens, &json!({"name": "dash", "role": "viewer"})),
        409,
    );
    problem(
        as_admin.post(tokens, &json!({"name": "x", "role": "root"})),
        400,
    );
    expect(as_admin.delete("/api/v1/tokens/dash"), 200);
    problem(as_dash.get(snaps), 401);
    problem(as_admin.delete("/api/v1/tokens/dash"), 404);
    let a = s.cli_json(&["ingest", "audit", "list", "--by", "ada"]);
    let events: Vec<&str> = a["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["token_revoked", "token_created"]);
}

#[test]
fn snapshots_list_page_get_and_verify() {
    let s = Scratch::demo("");
    let t = s.token("viewer", "vera");
    let srv = s.serve();
    let api = srv.api(Some(&t));
    let get = |path: &str| api.get(path);

    let all = s.cli_json(&["ingest", "snapshots"])["snapshots"]
        .as_array()
        .unwrap()
        .clone();
    assert!(all.len() > 50);
    // Paging walks every snapshot once, in the CLI's order.
    let mut seen: Vec<Value> = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(cur) => format!("/api/v1/ingest/snapshots?limit=7&cursor={cur}"),
            None => "/api/v1/ingest/snapshots?limit=7".to_string(),
        };
        let v = expect(get(&q), 200);
        let page = v["snapshots"].as_array().unwrap();
        assert!(page.len() <= 7);
        seen.extend(page.iter().cloned());
        match v["nextCursor"].as_str() {
            Some(n) => cursor = Some(n.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, all);
    // A page is the bytes the CLI's JSON would be, compact: keys sorted at
    // every level (the listing serializes its snapshots directly).
    let body = get("/api/v1/ingest/snapshots?limit=1000").text().unwrap();
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["snapshots"].as_array().unwrap().len(), all.len());
    assert_eq!(body, serde_json::to_string(&v).unwrap());
    // The last snapshot as a cursor: an empty page, not an unknown cursor.
    let last = all.last().unwrap()["id"].as_str().unwrap();
    let v = expect(get(&format!("/api/v1/ingest/snapshots?cursor={last}")), 200);
    assert_eq!(v["snapshots"], json!([]));
    assert!(v["nextCursor"].is_null());

    // Filters: the spec's example.
    let v = expect(get("/api/v1/ingest/snapshots?tool=syft&state=active"), 200);
    let arr = v["snapshots"].as_array().unwrap();
    assert_eq!(arr.len(), 1);
    assert_eq!(arr[0]["tool"], "syft");
    assert_eq!(arr[0]["state"], "active");
    assert!(v["nextCursor"].is_null());
    let id = arr[0]["id"].as_str().unwrap().to_string();
    let newest = expect(
        get("/api/v1/ingest/snapshots?tool=syft&newestFirst=true&limit=1"),
        200,
    );
    assert_eq!(newest["snapshots"][0]["id"], id.as_str());

    // One snapshot: the spec's record, as the CLI shows it.
    let v = expect(get(&format!("/api/v1/ingest/snapshots/{id}")), 200);
    assert_eq!(v, s.cli_json(&["ingest", "show", &id]));
    for k in common::SNAPSHOT_KEYS {
        assert!(v["snapshot"].get(k).is_some(), "missing {k}");
    }
    let v = expect(get(&format!("/api/v1/ingest/snapshots/{id}/verify")), 200);
    assert_eq!(v["verify"]["status"], "verified");

    // Unknown ids: 404; bad parameters: 400.
    problem(
        get("/api/v1/ingest/snapshots/syft-20200101T000000Z-001"),
        404,
    );
    problem(get("/api/v1/ingest/snapshots/not-an-id"), 404);
    problem(
        get("/api/v1/ingest/snapshots/syft-20200101T000000Z-001/verify"),
        404,
    );
    problem(get("/api/v1/ingest/snapshots?state=sleepy"), 400);
    problem(get("/api/v1/ingest/snapshots?limit=0"), 400);
    problem(get("/api/v1/ingest/snapshots?limit=abc"), 400);
    problem(get("/api/v1/ingest/snapshots?tool=Bad/Tool"), 400);
    problem(
        get("/api/v1/ingest/snapshots?cursor=syft-20200101T000000Z-001"),
        400,
    );
    problem(get("/api/v1/ingest/snapshots?colour=red"), 400);
    // Unknown routes and methods are problems too.
    let p = problem(get("/api/v1/nothing-here"), 404);
    assert_eq!(p["type"], "urn:snapgov:problem:no-route");
    problem(srv.api(None).delete("/api/v1/ingest/sla"), 405);
}

/// Two records filed under each other's identity keep the snapshot's hash
/// and count: only the deep check finds them, and the API runs the same
/// check as `ingest verify`.
#[test]
fn the_api_verifies_a_snapshot_as_deeply_as_the_cli() {
    let s = Scratch::demo("");
    let t = s.token("viewer", "vera");
    let id = s.cli_json(&["ingest", "snapshots", "--tool", "syft", "--state", "active"])
        ["snapshots"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let member = |extra: &str| {
        format!("(SELECT sr.record FROM snapshot_records sr JOIN snapshots s ON s.pk = sr.snapshot WHERE s.id = '{id}' ORDER BY sr.ident LIMIT 1 {extra})")
    };
    s.sql(&format!(
            "CREATE TEMP TABLE pair AS SELECT {a} AS a, {b} AS b; UPDATE snapshot_records SET record = CASE record WHEN (SELECT a FROM pair) THEN (SELECT b FROM pair) ELSE (SELECT a FROM pair) END WHERE snapshot = (SELECT pk FROM snapshots WHERE id = '{id}') AND record IN ((SELECT a FROM pair), (SELECT b FROM pair))",
            a = member(""),
            b = member("OFFSET 1")
        ));

    let out = s.cli(&["--json", "ingest", "verify", &id]);
    assert!(!out.status.success());
    let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(cli["verify"]["status"], "mismatch");
    assert!(
        cli["verify"]["badRecord"]
            .as_str()
            .is_some_and(|b| b.contains("filed under another identity")),
        "{cli}"
    );

    let srv = s.serve();
    let resp = srv
        .api(Some(&t))
        .get(&format!("/api/v1/ingest/snapshots/{id}/verify"));
    let api = problem(resp, 500);
    assert_eq!(api["verify"], cli["verify"]);
}

#[test]
fn rollback_dry_run_conflict_and_execute() {
    let s = Scratch::demo("");
    let op = s.token("operator", "otto");
    let srv = s.serve();
    let api = srv.api(Some(&op));
    let post = |path: &str, body: &str| {
        api.request(reqwest::Method::POST, path)
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .unwrap()
    };
    let active = s.active_id("trivy");
    let prev = s.previous_ids("trivy").pop().unwrap();
    let path = format!("/api/v1/ingest/snapshots/{prev}/rollback");
    let before = s.dump();

    // The dry run: the spec's response with status dry_run and the diff,
    // the same as the CLI's; nothing changes.
    let v = expect(post(&path, r#"{"reason": "preview", "dryRun": true}"#), 200);
    let cli = s.cli_json(&[
        "ingest",
        "rollback",
        "--tool",
        "trivy",
        "--snapshot-id",
        &prev,
        "--dry-run",
        "--reason",
        "preview",
        "--user",
        "otto",
    ]);
    assert_eq!(v, cli);
    assert_eq!(v["rollback"]["status"], "dry_run");
    assert_eq!(v["rollback"]["from"]["snapshotId"], active.as_str());
    assert_eq!(v["rollback"]["to"]["snapshotId"], prev.as_str());
    assert!(v["rollback"]["diff"]["added"]["total"].is_u64());
    assert_eq!(before, s.dump());

    // Bad input: 400; nothing changes.
    problem(post(&path, r#"{"reason": "x", "dryRun": tru"#), 400);
    problem(post(&path, r#"{"reason": 5}"#), 400);
    problem(
        post(&path, r#"{"reason": "x", "dryRun": false, "surprise": 1}"#),
        400,
    );
    problem(post(&path, r#"{"dryRun": false}"#), 400); // a rollback needs a reason
    problem(post(&path, "[1, 2"), 400);
    // Unknown target: 404.
    problem(
        post(
            "/api/v1/ingest/snapshots/trivy-20200101T000000Z-001/rollback",
            r#"{"reason": "x"}"#,
        ),
        404,
    );
    // The active snapshot itself: not allowed in this state (422).
    problem(
        post(
            &format!("/api/v1/ingest/snapshots/{active}/rollback"),
            r#"{"reason": "x"}"#,
        ),
        422,
    );
    // The preview went stale: 409, naming the real active snapshot.
    let p = problem(
        post(
            &path,
            &json!({"reason": "x", "expectedActive": prev}).to_string(),
        ),
        409,
    );
    assert!(p["detail"].as_str().unwrap().contains(&active), "{p}");
    assert_eq!(p["exitCode"], 5);
    problem(
        post(
            &path,
            &json!({"reason": "x", "dryRun": true, "expectedActive": prev}).to_string(),
        ),
        409,
    );
    // The refused rollback changed nothing but the trail, where the attempt
    // is recorded like any refused rollback (the refused dry run is not).
    let data = |d: Vec<String>| -> Vec<String> {
        d.into_iter()
            .filter(|r| !r.starts_with("audit:") && !r.starts_with("meta:"))
            .collect()
    };
    assert_eq!(
        data(before.clone()),
        data(s.dump()),
        "a refused rollback changed the store"
    );
    let refused: Vec<String> = s
        .dump()
        .into_iter()
        .filter(|r| r.starts_with("audit:") && !before.contains(r))
        .collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(
        refused[0].contains("snapshot_rollback_failed") && refused[0].contains("expectedActive"),
        "{refused:?}"
    );

    // With the right expectation it runs: the spec's response.
    let v = expect(
        post(&path, &json!({"reason": "Data corruption detected", "dryRun": false, "expectedActive": active}).to_string()),
        200,
    );
    let r = &v["rollback"];
    assert_eq!(r["status"], "completed");
    assert_eq!(r["tool"], "trivy");
    assert_eq!(r["from"]["snapshotId"], active.as_str());
    assert_eq!(r["to"]["snapshotId"], prev.as_str());
    assert_eq!(r["executedAt"], NOW);
    assert_eq!(r["executedBy"], "otto");
    assert_eq!(r["reason"], "Data corruption detected");
    assert_eq!(
        s.cli_json(&["ingest", "sla", "--tool", "trivy"])["sla"]["snapshotId"],
        prev.as_str()
    );
    // Back to the old one, with the now stale expectation: conflict.
    problem(
        post(
            &format!("/api/v1/ingest/snapshots/{active}/rollback"),
            &json!({"reason": "x", "expectedActive": active}).to_string(),
        ),
        409,
    );
    // Counted in the metrics.
    let m = api.get("/metrics").text().unwrap();
    assert!(
        m.contains("snapgov_rollbacks_total{tool=\"trivy\",result=\"ok\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("snapgov_rollbacks_total{tool=\"trivy\",result=\"conflict\"} 2"),
        "{m}"
    );
}

#[test]
fn sla_and_the_freshness_guard_on_records() {
    let s = Scratch::demo("");
    let t = s.token("viewer", "vera");
    let srv = s.serve();
    let api = srv.api(Some(&t));
    let get = |path: &str| api.get(path);

    // SLA: one tool is the spec's object, all tools an array; as the CLI.
    let one = expect(get("/api/v1/ingest/sla?tool=syft"), 200);
    assert_eq!(one, s.cli_json(&["ingest", "sla", "--tool", "syft"]));
    assert_eq!(one["sla"]["state"], "fresh");
    for k in common::SLA_KEYS {
        assert!(one["sla"].get(k).is_some(), "missing {k}");
    }
    let all = expect(get("/api/v1/ingest/sla"), 200);
    assert_eq!(all, s.cli_json(&["ingest", "sla"]));
    let states: Vec<(&str, &str)> = all["sla"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["tool"].as_str().unwrap(), d["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        states,
        [
            ("clair", "critical"),
            ("licensewatch", "expired"),
            ("syft", "fresh"),
            ("trivy", "stale")
        ]
    );
    problem(get("/api/v1/ingest/sla?tool=No%20Such"), 400);

    // Fresh: records, no warning.
    let r = get("/api/v1/ingest/records?tool=syft&kind=package");
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("warning").is_none());
    assert_eq!(r.headers()["content-type"], "application/x-ndjson");
    let n: usize = r.headers()["x-snapgov-record-count"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let body = r.text().unwrap();
    assert_eq!(body.lines().count(), n);
    assert!(n > 0);
    for line in body.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["kind"], "package");
    }
    // The same lines as the CLI.
    let cli = s.cli(&["ingest", "records", "--tool", "syft", "--kind", "package"]);
    assert_eq!(body.as_bytes(), &cli.stdout[..]);

    // Stale: records with a Warning header.
    let r = get("/api/v1/ingest/records?tool=trivy&severity=critical,high");
    assert_eq!(r.status(), 200);
    let w = r.headers()["warning"].to_str().unwrap().to_string();
    assert!(
        w.starts_with("199 snapgov \"") && w.contains("stale"),
        "{w}"
    );
    assert_eq!(r.headers()["x-snapgov-freshness"], "stale");

    // Critical: 423 until an override reason is given, which is audited.
    let before = s.cli_json(&["ingest", "audit", "list", "--event", "freshness_override"]);
    let p = problem(get("/api/v1/ingest/records?tool=clair"), 423);
    assert_eq!(p["exitCode"], 4);
    assert!(
        p["detail"].as_str().unwrap().contains("critically old"),
        "{p}"
    );
    let r = get("/api/v1/ingest/records?tool=clair&override=incident%20INC-42");
    assert_eq!(r.status(), 200);
    assert!(r.headers()["warning"]
        .to_str()
        .unwrap()
        .contains("override"));
    assert!(!r.text().unwrap().is_empty());
    let after = s.cli_json(&["ingest", "audit", "list", "--event", "freshness_override"]);
    let new = &after["audit"].as_array().unwrap()[0];
    assert_eq!(
        after["audit"].as_array().unwrap().len(),
        before["audit"].as_array().unwrap().len() + 1
    );
    assert_eq!(new["user"], "vera");
    assert_eq!(new["details"]["tool"], "clair");
    assert_eq!(new["details"]["reason"], "incident INC-42");
    assert_eq!(new["details"]["state"], "critical");
    // The same record through the API's audit browsing.
    let v = expect(
        get("/api/v1/ingest/audit?event=freshness_override&limit=1"),
        200,
    );
    assert_eq!(&v["audit"][0], new);

    // Expired: unavailable, even with an override.
    problem(get("/api/v1/ingest/records?tool=licensewatch"), 423);
    problem(
        get("/api/v1/ingest/records?tool=licensewatch&override=please"),
        423,
    );
    // Unknown tool 404; bad parameters 400.
    problem(get("/api/v1/ingest/records?tool=nosuchtool"), 404);
    problem(get("/api/v1/ingest/records"), 400);
    problem(get("/api/v1/ingest/records?tool=syft&kind=widget"), 400);
    problem(get("/api/v1/ingest/records?tool=syft&severity=dire"), 400);
}

#[test]
fn imports_raw_multipart_refused_and_oversize() {
    let s = Scratch::new("[server]\nmax_body_bytes = 65536\n");
    let op = s.token("operator", "pipeline");
    let viewer = s.token("viewer", "vera");
    let srv = s.serve();
    let api = srv.api(Some(&op));
    let feed = std::fs::read(fixture("syft-min.json")).unwrap();

    // Raw body with parameters in the query.
    let r = api.post_raw(
        "/api/v1/ingest/imports?tool=syft&reason=nightly&sourceUri=s3://b/sbom.json",
        feed.clone(),
    );
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    let v = expect(r, 201);
    let snap = &v["import"]["snapshot"];
    assert_eq!(snap["id"], "syft-20251204T120000Z-001");
    assert_eq!(loc, "/api/v1/ingest/snapshots/syft-20251204T120000Z-001");
    assert_eq!(snap["state"], "active");
    assert_eq!(snap["metadata"]["importUser"], "pipeline");
    assert_eq!(snap["metadata"]["importReason"], "nightly");
    assert_eq!(snap["metadata"]["sourceUri"], "s3://b/sbom.json");
    assert_eq!(
        snap["sourceHash"],
        format!("b3:{}", blake3::hash(&feed).to_hex()).as_str()
    );
    // The same feed through the CLI gives the same normalized hash.
    let cli = s.cli_json(&[
        "ingest",
        "import",
        "--tool",
        "cli-syft",
        fixture("syft-min.json").to_str().unwrap(),
    ]);
    assert_eq!(
        cli["import"]["snapshot"]["normalizedHash"],
        snap["normalizedHash"]
    );

    // Multipart: parameters as fields, the feed as a file.
    let boundary = "snapgov-test-boundary";
    let trivy = std::fs::read(fixture("trivy-min.json")).unwrap();
    let mut mp = Vec::new();
    mp.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"tool\"\r\n\r\ntrivy\r\n")
            .as_bytes(),
    );
    mp.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"format\"\r\n\r\ntrivy-json\r\n"
        )
        .as_bytes(),
    );
    mp.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"report.json\"\r\nContent-Type: application/json\r\n\r\n").as_bytes());
    mp.extend_from_slice(&trivy);
    mp.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let v = expect(
        api.request(reqwest::Method::POST, "/api/v1/ingest/imports")
            .header(
                "Content-Type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(mp)
            .send()
            .unwrap(),
        201,
    );
    assert_eq!(v["import"]["snapshot"]["tool"], "trivy");
    assert_eq!(v["import"]["snapshot"]["format"], "trivy-json");

    // A refused import: 422 naming the failed snapshot recorded for it.
    let p = problem(
        api.post_raw("/api/v1/ingest/imports?tool=syft", Vec::<u8>::new()),
        422,
    );
    assert_eq!(p["exitCode"], 3);
    let failed = p["snapshotId"].as_str().unwrap();
    assert_eq!(
        s.cli_json(&["ingest", "show", failed])["snapshot"]["state"],
        "failed"
    );

    // Bad parameters: 400; a viewer may not import: 403; no token: 401.
    let send = |url: &str, tok: Option<&str>| srv.api(tok).post_raw(url, feed.clone());
    problem(send("/api/v1/ingest/imports", Some(&op)), 400);
    problem(
        send("/api/v1/ingest/imports?tool=syft&format=word", Some(&op)),
        400,
    );
    problem(
        send(
            "/api/v1/ingest/imports?tool=syft&importedAt=yesterday",
            Some(&op),
        ),
        400,
    );
    problem(send("/api/v1/ingest/imports?tool=syft", Some(&viewer)), 403);
    problem(send("/api/v1/ingest/imports?tool=syft", None), 401);

    // Oversize: 413 before anything is stored, with a declared length and
    // streamed without one.
    let before = s.dump();
    let big = vec![b' '; 65537];
    let p = problem(
        api.post_raw("/api/v1/ingest/imports?tool=syft", big.clone()),
        413,
    );
    assert_eq!(p["limit"], 65536);
    let chunked = reqwest::blocking::Body::new(std::io::Cursor::new(big.clone()));
    problem(
        api.post_raw("/api/v1/ingest/imports?tool=syft", chunked),
        413,
    );
    // JSON bodies have the same limit.
    let mut huge = String::from("{\"reason\": \"");
    huge.push_str(&"x".repeat(70_000));
    huge.push_str("\"}");
    problem(
        api.post_raw(
            "/api/v1/ingest/snapshots/syft-20251204T120000Z-001/expire",
            huge,
        ),
        413,
    );
    assert_eq!(before, s.dump(), "an oversize request changed the store");

    // Counted in the metrics.
    let m = api.get("/metrics").text().unwrap();
    assert!(
        m.contains("snapgov_imports_total{tool=\"syft\",result=\"ok\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("snapgov_imports_total{tool=\"syft\",result=\"rejected\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("snapgov_imports_total{tool=\"trivy\",result=\"ok\"} 1"),
        "{m}"
    );
}

#[test]
fn audit_browsing_retention_holds_expiry_and_purge() {
    let s = Scratch::demo("");
    let viewer = s.token("viewer", "vera");
    let op = s.token("operator", "otto");
    let admin = s.token("admin", "ada");
    let srv = s.serve();
    let as_viewer = srv.api(Some(&viewer));
    let as_op = as_viewer.as_token(&op);
    let get = |path: &str| as_viewer.get(path);

    // Audit list: newest first, as the CLI; filters; paging by cursor.
    let cli = s.cli_json(&["ingest", "audit", "list", "--limit", "1000"]);
    let mut all: Vec<Value> = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(cur) => format!("/api/v1/ingest/audit?limit=50&cursor={cur}"),
            None => "/api/v1/ingest/audit?limit=50".into(),
        };
        let v = expect(get(&q), 200);
        all.extend(v["audit"].as_array().unwrap().iter().cloned());
        match v["nextCursor"].as_str() {
            Some(n) => cursor = Some(n.to_string()),
            None => break,
        }
    }
    assert_eq!(Value::Array(all), cli["audit"]);
    let v = expect(
        get("/api/v1/ingest/audit?event=snapshot_rolled_back&tool=syft&user=bob"),
        200,
    );
    let recs = v["audit"].as_array().unwrap();
    assert!(!recs.is_empty());
    for r in recs {
        assert_eq!(r["event"], "snapshot_rolled_back");
        assert_eq!(r["user"], "bob");
    }
    let v = expect(
        get("/api/v1/ingest/audit?since=2025-12-01T00:00:00Z&until=2025-12-02T00:00:00Z"),
        200,
    );
    for r in v["audit"].as_array().unwrap() {
        let ts = r["timestamp"].as_str().unwrap();
        assert!(
            ("2025-12-01T00:00:00Z"..="2025-12-02T00:00:00Z").contains(&ts),
            "{ts}"
        );
    }
    let v = expect(get("/api/v1/ingest/audit?q=compliance"), 200);
    assert!(!v["audit"].as_array().unwrap().is_empty());
    problem(get("/api/v1/ingest/audit?event=party"), 400);
    problem(get("/api/v1/ingest/audit?since=yesterday"), 400);
    problem(get("/api/v1/ingest/audit?cursor=abc"), 400);
    let v = expect(get("/api/v1/ingest/audit/audit-1"), 200);
    assert_eq!(v["audit"]["id"], "audit-1");
    problem(get("/api/v1/ingest/audit/audit-999999"), 404);
    let v = expect(get("/api/v1/ingest/audit/verify"), 200);
    assert_eq!(v["verify"]["status"], "ok");

    // Retention: status as the CLI; a dry run; holds; a run.
    let v = expect(get("/api/v1/ingest/retention"), 200);
    assert_eq!(v, s.cli_json(&["ingest", "retention", "status"]));
    assert_eq!(v["retention"]["schedule"], "0 0 * * *");
    let post = |tok: &str, path: &str, body: Value| as_viewer.as_token(tok).post(path, &body);
    problem(
        post(&viewer, "/api/v1/ingest/retention/run", json!({})),
        403,
    );
    let dry = expect(
        post(&op, "/api/v1/ingest/retention/run", json!({"dryRun": true})),
        200,
    );
    assert_eq!(dry["retentionRun"]["dryRun"], true);
    let syft_prev = s.previous_ids("syft").swap_remove(0);
    let hold = &format!("/api/v1/ingest/retention/holds/{syft_prev}");
    problem(
        as_viewer.put(
            hold,
            &json!({"reason": "r", "until": "2026-06-01T00:00:00Z"}),
        ),
        403,
    );
    problem(
        as_op.put(hold, &json!({"reason": "r", "until": "soon"})),
        400,
    );
    problem(
        as_op.put(
            hold,
            &json!({"reason": "r", "until": "2020-01-01T00:00:00Z"}),
        ),
        400,
    );
    let v = expect(
        as_op.put(
            hold,
            &json!({"reason": "legal hold", "until": "2026-06-01T00:00:00Z"}),
        ),
        200,
    );
    assert_eq!(v["hold"]["snapshotId"], syft_prev.as_str());
    assert_eq!(v["hold"]["createdBy"], "otto");
    problem(
        as_op.put(
            "/api/v1/ingest/retention/holds/syft-20200101T000000Z-001",
            &json!({"reason": "r", "until": "2026-06-01T00:00:00Z"}),
        ),
        404,
    );
    let run = expect(post(&op, "/api/v1/ingest/retention/run", json!({})), 200);
    assert_eq!(run["retentionRun"]["dryRun"], false);
    assert!(!run["retentionRun"]["archived"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i == syft_prev.as_str()));
    expect(as_op.delete(hold), 200);
    problem(as_op.delete(hold), 404);

    // Expiry: operator only, needs a reason, then the data is unavailable.
    let syft_active = s.active_id("syft");
    let exp = format!("/api/v1/ingest/snapshots/{syft_active}/expire");
    problem(post(&viewer, &exp, json!({"reason": "bad feed"})), 403);
    problem(post(&op, &exp, json!({})), 400);
    let v = expect(post(&op, &exp, json!({"reason": "bad feed"})), 200);
    assert_eq!(v["snapshot"]["state"], "expired");
    problem(post(&op, &exp, json!({"reason": "again"})), 422);
    problem(get("/api/v1/ingest/records?tool=syft"), 423);

    // Purge: admin only; the audit retention is enforced.
    problem(
        post(
            &admin,
            "/api/v1/ingest/audit/purge",
            json!({"before": "2025-12-01T00:00:00Z", "reason": "too new"}),
        ),
        400,
    );
    problem(
        post(
            &admin,
            "/api/v1/ingest/audit/purge",
            json!({"before": "not a time", "reason": "x"}),
        ),
        400,
    );
    let v = expect(
        post(
            &admin,
            "/api/v1/ingest/audit/purge",
            json!({"before": "2024-01-01T00:00:00Z", "reason": "yearly"}),
        ),
        200,
    );
    assert_eq!(v["purge"]["purged"], 0);
    let v = expect(get("/api/v1/ingest/audit/verify"), 200);
    assert_eq!(v["verify"]["status"], "ok");
}

#[test]
fn metrics_show_each_tool_and_the_audit_chain() {
    let s = Scratch::demo("");
    let t = s.token("viewer", "prometheus");
    let srv = s.serve();
    let api = srv.api(Some(&t));
    problem(api.anonymous().get("/metrics"), 401);
    // The scheduler verifies the chain at start.
    assert!(srv.wait_log("scheduler started", Duration::from_secs(30)));
    let mut text = String::new();
    for _ in 0..100 {
        let r = api.get("/metrics");
        assert_eq!(r.status(), 200);
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"));
        text = r.text().unwrap();
        if text.lines().any(|l| l == "snapgov_audit_chain_ok 1") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    for needle in [
        "# TYPE snapgov_snapshot_age_seconds gauge",
        "snapgov_snapshot_age_seconds{tool=\"syft\"} ",
        "snapgov_freshness_state{tool=\"syft\",state=\"fresh\"} 1",
        "snapgov_freshness_state{tool=\"trivy\",state=\"stale\"} 1",
        "snapgov_freshness_state{tool=\"clair\",state=\"critical\"} 1",
        "snapgov_freshness_state{tool=\"licensewatch\",state=\"expired\"} 1",
        "snapgov_freshness_state{tool=\"syft\",state=\"stale\"} 0",
        "snapgov_active_records{tool=\"syft\"} ",
        "snapgov_last_import_timestamp_seconds{tool=\"syft\"} ",
        "# TYPE snapgov_imports_total counter",
        "# TYPE snapgov_rollbacks_total counter",
        "snapgov_sla_transitions_total{tool=\"clair\",to=\"critical\"} 1",
        "snapgov_scheduler_runs_total{task=\"sla_check\",result=\"ok\"}",
        "snapgov_audit_chain_ok 1",
    ] {
        // Samples are matched at the start of a line, comments whole.
        let found = text.lines().any(|l| {
            if needle.starts_with('#') {
                l == needle
            } else {
                l.starts_with(needle)
            }
        });
        assert!(found, "missing `{needle}` in:\n{text}");
    }
    // Every sample line is `name{labels} value`.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (_, v) = line.rsplit_once(' ').unwrap();
        v.parse::<f64>()
            .unwrap_or_else(|_| panic!("bad sample: {line}"));
    }
}

#[test]
fn anonymous_reads_only_when_the_config_allows() {
    let s = Scratch::demo("[server]\nanonymous_reads = true\n");
    let srv = s.serve();
    let anon = srv.api(None);
    expect(anon.get("/api/v1/ingest/snapshots?limit=1"), 200);
    expect(anon.get("/api/v1/ingest/sla"), 200);
    let r = anon.get("/api/v1/ingest/records?tool=syft");
    assert_eq!(r.status(), 200);
    assert!(r.text().unwrap().lines().count() > 10);
    // Writes still need a token, and so does an (audited) override.
    problem(
        anon.post(
            "/api/v1/ingest/snapshots/syft-20251203T000000Z-001/rollback",
            &json!({"reason": "x"}),
        ),
        401,
    );
    problem(
        anon.get("/api/v1/ingest/records?tool=clair&override=x"),
        401,
    );
    problem(anon.get("/api/v1/tokens"), 401);
    // A bad token is refused, not downgraded to anonymous.
    problem(anon.as_token("sgv_x").get("/api/v1/ingest/sla"), 401);
}

#[test]
fn the_scheduler_logs_each_transition_once_and_sigterm_stops_cleanly() {
    let s = Scratch::demo("");
    let op = s.token("operator", "otto");
    let mut srv = Server::start(&s, &["--log-format", "json"]);
    assert!(srv.wait_log("SLA transition", Duration::from_secs(30)));
    // An import pokes the scheduler to look again.
    let feed = std::fs::read(fixture("syft-min.json")).unwrap();
    expect(
        srv.api(Some(&op))
            .post_raw("/api/v1/ingest/imports?tool=newtool", feed),
        201,
    );
    std::thread::sleep(Duration::from_millis(1500));
    let status = srv.terminate();
    assert!(status.success(), "{status:?}");
    let log = srv.log();
    assert!(log.iter().any(|l| l == "stopped"), "{log:#?}");
    let transitions: Vec<Value> = log
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| {
            v["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("SLA transition"))
        })
        .collect();
    let seen: Vec<(String, String, String)> = transitions
        .iter()
        .map(|v| {
            (
                v["fields"]["tool"].as_str().unwrap().to_string(),
                v["fields"]["to"].as_str().unwrap().to_string(),
                v["level"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want = [
        ("clair", "critical", "ERROR"),
        ("licensewatch", "expired", "ERROR"),
        ("trivy", "stale", "WARN"),
    ];
    assert_eq!(
        seen,
        want.map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string())),
        "{log:#?}"
    );
    for v in &transitions {
        assert!(v["fields"]["snapshotId"].is_string());
        assert_eq!(v["fields"]["from"], "unknown");
    }
}

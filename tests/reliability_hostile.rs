//! Hostile input: hundreds of malformed feeds made by the test (truncated at
//! structural points, wrong types, missing fields, unknown formats, invalid
//! UTF-8, huge strings, deep nesting, duplicate keys, NaN, a sparse 2 GB
//! file, /dev/zero on stdin). Each must be refused with a clear error naming
//! the file, without a panic, leaving the store's data exactly as it was.

mod common;

use common::pg::TestDb;
use common::{import_args, Sandbox};
use snapgov::config::Config;
use snapgov::ingest::Format;
use snapgov::ops::import::{import, ImportRequest, Input};
use snapgov::ops::{Clock, Env, NoProgress, OpError};
use snapgov::store::OpenMode;
use snapgov::synthetic_feed::FeedSpec;
use std::path::Path;

const DATA_TABLES: [&str; 4] = ["records", "snapshot_records", "active_records", "tools"];

fn generated(format: Format, packages: u64) -> Vec<u8> {
    let mut v = Vec::new();
    snapgov::synthetic_feed::write_feed(
        format,
        &FeedSpec {
            packages,
            vuln_percent: 30,
            ..Default::default()
        },
        &mut v,
    )
    .unwrap();
    v
}

/// Byte offsets just after structural characters, evenly sampled.
fn cut_points(bytes: &[u8], want: usize) -> Vec<usize> {
    let all: Vec<usize> = bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| matches!(b, b'{' | b'[' | b',' | b':' | b'"' | b'}' | b']'))
        .map(|(i, _)| i + 1)
        .filter(|i| *i < bytes.len() - 1)
        .collect();
    let step = (all.len() / want).max(1);
    all.into_iter().step_by(step).take(want).collect()
}

fn corpus() -> Vec<(String, Vec<u8>)> {
    let mut c: Vec<(String, Vec<u8>)> = Vec::new();
    for (fmt, ext) in [
        (Format::SyftJson, "json"),
        (Format::TrivyJson, "json"),
        (Format::ClairV4, "json"),
        (Format::Cyclonedx, "json"),
        (Format::Snapgov, "jsonl"),
    ] {
        let full = generated(fmt, 6);
        for cut in cut_points(&full, 45) {
            let mut t = full[..cut].to_vec();
            if fmt == Format::Snapgov && (t.ends_with(b"\n") || t.ends_with(b"}")) {
                // Cut at a line's end, JSON Lines is still valid: not hostile.
                continue;
            }
            if t.iter().all(|b| b.is_ascii_whitespace()) {
                continue;
            }
            c.push((format!("{fmt}-cut{cut}.{ext}"), std::mem::take(&mut t)));
        }
    }
    // Real files, truncated too, when the shared fixtures are present.
    let real = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/real");
    for rel in [
        "trivy/trivy-golden-repository-npm-lockfile-packages-and-vulns.json",
        "syft/syft-json-schema-3.3.2-bomber-go-modules-directory.json",
        "clair/clair-v4-vulnerability-report-rhel8-few-vulns.json",
    ] {
        if let Ok(full) = std::fs::read(real.join(rel)) {
            for cut in cut_points(&full, 20) {
                c.push((
                    format!("real-{}-cut{cut}.json", rel.split('/').next().unwrap()),
                    full[..cut].to_vec(),
                ));
            }
        }
    }
    let syft = String::from_utf8(generated(Format::SyftJson, 4)).unwrap();
    let trivy = String::from_utf8(generated(Format::TrivyJson, 4)).unwrap();
    let clair = String::from_utf8(generated(Format::ClairV4, 4)).unwrap();
    let cdx = String::from_utf8(generated(Format::Cyclonedx, 4)).unwrap();
    let mut text = |name: &str, s: String| c.push((name.to_string(), s.into_bytes()));
    // Wrong types.
    text(
        "type-syft-name.json",
        syft.replacen("\"name\":\"", "\"name\":5,\"was\":\"", 1),
    );
    text(
        "type-syft-version.json",
        syft.replacen("\"version\":\"", "\"version\":{\"x\":\"", 1)
            .replacen("\",\"type\"", "\"},\"type\"", 1),
    );
    text(
        "type-syft-artifacts.json",
        syft.replacen("{\"artifacts\":[", "{\"artifacts\":{\"a\":[", 1)
            .replacen(
                "\n],\n\"artifactRelationships\"",
                "\n]},\n\"artifactRelationships\"",
                1,
            ),
    );
    text(
        "type-trivy-results.json",
        trivy.replacen("\"Results\":[", "\"Results\":\"none\",\"was\":[", 1),
    );
    text(
        "type-trivy-vulnid.json",
        trivy.replacen(
            "\"VulnerabilityID\":\"",
            "\"VulnerabilityID\":true,\"was\":\"",
            1,
        ),
    );
    text(
        "type-clair-packages.json",
        clair.replacen("\"packages\":{", "\"packages\":[],\"was\":{", 1),
    );
    text(
        "type-cdx-components.json",
        cdx.replacen("\"components\":[", "\"components\":\"x\",\"was\":[", 1),
    );
    // Missing required fields.
    text(
        "missing-syft-name.json",
        syft.replacen("\"name\":\"", "\"nome\":\"", 1),
    );
    text(
        "missing-trivy-id.json",
        trivy.replacen("\"VulnerabilityID\":", "\"VulnID\":", 1),
    );
    text(
        "missing-cdx-name.json",
        cdx.replacen("\"name\":\"", "\"nam\":\"", 1),
    );
    text("missing-native-name.jsonl", "{\"format\":\"snapgov\",\"version\":1}\n{\"kind\":\"package\",\"ecosystem\":\"npm\",\"version\":\"1\"}\n".into());
    // Unknown formats and not-JSON.
    for (i, s) in [
        "{\"hello\": 1}",
        "[1, 2, 3]",
        "\"just a string\"",
        "42",
        "null",
        "<?xml version=\"1.0\"?><bom/>",
        "name,version\nopenssl,3\n",
        "artifacts:\n  - name: x\n",
        "{}",
        "[]",
        "{\"bomFormat\": \"SPDX\"}",
    ]
    .iter()
    .enumerate()
    {
        text(&format!("unknown-{i}.json"), s.to_string());
    }
    // Invalid UTF-8 inside a string, and a lone surrogate escape.
    let mut bad = syft.clone().into_bytes();
    let at = syft.find("\"name\":\"").unwrap() + 8;
    bad.splice(at..at, [0xff, 0xfe]);
    c.push(("utf8.json".into(), bad));
    c.push(("nul.json".into(), vec![0, 0, 0, b'{']));
    // A huge string (over the record limit).
    c.push((
        "huge-string.json".into(),
        syft.replacen(
            "\"name\":\"",
            &format!("\"name\":\"{}", "A".repeat(3 << 20)),
            1,
        )
        .into_bytes(),
    ));
    // 10^5-deep nesting.
    let mut deep = b"{\"artifacts\":".to_vec();
    deep.extend(std::iter::repeat_n(b'[', 100_000));
    deep.extend(std::iter::repeat_n(b']', 100_000));
    deep.push(b'}');
    c.push(("deep.json".into(), deep));
    // Duplicate keys, NaN and Infinity.
    c.push((
        "dup-keys.json".into(),
        syft.replacen("{\"artifacts\":[", "{\"artifacts\":[],\"artifacts\":[", 1)
            .into_bytes(),
    ));
    c.push((
        "nan.json".into(),
        syft.replacen("\"size\":", "\"size\":NaN,\"was\":", 1)
            .into_bytes(),
    ));
    c.push((
        "infinity.json".into(),
        trivy
            .replacen("\"SchemaVersion\":2", "\"SchemaVersion\":Infinity", 1)
            .into_bytes(),
    ));
    c
}

#[test]
fn a_corpus_of_hostile_feeds_is_refused_cleanly_and_changes_no_data() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new(dir.path());
    let mut store = db.open(OpenMode::ReadWrite);
    let env = Env::new(
        Config::default(),
        "tester",
        Clock::Fixed(
            chrono::DateTime::parse_from_rfc3339("2025-12-04T00:00:00Z")
                .unwrap()
                .into(),
        ),
    );
    let good = dir.path().join("good.json");
    std::fs::write(&good, generated(Format::SyftJson, 50)).unwrap();
    let ok = import(
        &mut store,
        &env,
        &ImportRequest::new("syft", vec![Input::File(good)]),
        &NoProgress,
    )
    .unwrap();
    let before: Vec<_> = db
        .dump()
        .into_iter()
        .filter(|(t, _)| DATA_TABLES.contains(&t.as_str()))
        .collect();

    let cases = corpus();
    assert!(cases.len() >= 200, "only {} cases", cases.len());
    let mut kinds = std::collections::BTreeMap::<&str, usize>::new();
    for (name, bytes) in &cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        // Shrinking is allowed here so that only the input itself can refuse it.
        let mut req = ImportRequest::new("syft", vec![Input::File(path.clone())]);
        req.allow_shrink = true;
        let err = match import(&mut store, &env, &req, &NoProgress) {
            Err(e) => e,
            Ok(out) => panic!("{name} was accepted: {} records", out.snapshot.record_count),
        };
        let msg = err.to_string();
        assert!(matches!(err, OpError::Rejected { .. }), "{name}: {err:?}");
        assert!(
            msg.contains(name.as_str()),
            "{name}: the error does not name the file: {msg}"
        );
        let kind = [
            "line",
            "nested deeper",
            "unrecognized",
            "over the limit",
            "empty",
            "missing",
            "expected",
            "duplicate",
        ]
        .into_iter()
        .find(|k| msg.contains(k))
        .unwrap_or_else(|| panic!("{name}: unclear error: {msg}"));
        *kinds.entry(kind).or_default() += 1;
        if !name.contains("-cut") {
            eprintln!("{name}: {msg}");
        }
        std::fs::remove_file(&path).unwrap();
    }
    eprintln!(
        "hostile feeds: {} refused; by message: {kinds:?}",
        cases.len()
    );
    let after: Vec<_> = db
        .dump()
        .into_iter()
        .filter(|(t, _)| DATA_TABLES.contains(&t.as_str()))
        .collect();
    assert_eq!(before, after, "a refused feed changed the store's data");
    let active = snapgov::store::prelude::SnapshotReads::active_snapshot(&store, "syft")
        .unwrap()
        .unwrap();
    assert_eq!(active.id, ok.snapshot.id);
    assert!(snapgov::ops::audit::verify(&store, &env, None)
        .unwrap()
        .is_ok());
}

#[test]
fn a_sparse_2gb_file_and_endless_stdin_are_refused_fast() {
    let sb = Sandbox::new();
    let sparse = sb.path("sparse.json");
    std::fs::File::create(&sparse)
        .unwrap()
        .set_len(2 << 30)
        .unwrap();
    let t = std::time::Instant::now();
    let r = sb.run(&import_args("syft", &[], sparse.to_str().unwrap()));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("sparse.json") && r.stderr.contains("not a JSON object"),
        "{}",
        r.stderr
    );
    assert!(t.elapsed().as_secs() < 20, "took {:?}", t.elapsed());

    // /dev/zero on stdin: refused at its first byte.
    let bin = env!("CARGO_BIN_EXE_snapgov");
    let run = |cmd: String, extra_env: &[(&str, &str)]| -> common::Run {
        let mut c = std::process::Command::new("sh");
        c.args(["-c", &cmd])
            .env("SNAPGOV_DB", sb.location())
            .env("SNAPGOV_CONFIG", sb.path("config.toml"))
            .env("SNAPGOV_NOW", common::NOW);
        for (k, v) in extra_env {
            c.env(k, v);
        }
        c.output().unwrap().into()
    };
    let r = run(
        // Under a 1 GiB address-space cap: memory must not grow with the input.
        format!("ulimit -v 1048576; {bin} ingest import --tool syft - < /dev/zero"),
        &[],
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("byte 0x00"), "{}", r.stderr);
    // Endless whitespace stops at the configured size limit.
    std::fs::write(
        sb.path("config.toml"),
        "[limits]\nmax_input_bytes = 5000000\n",
    )
    .unwrap();
    let r = run(
        format!(
            "tr '\\000' ' ' < /dev/zero | (ulimit -v 1048576; {bin} ingest import --tool syft -)"
        ),
        &[],
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("over the limit of 5000000 bytes"),
        "{}",
        r.stderr
    );
    // Nothing was stored but the failures.
    let v = sb.json(&["ingest", "snapshots"]);
    assert!(v["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["state"] == "failed"));
}

//! Streaming benchmark (ignored by default; run it in release mode):
//!
//! ```text
//! cargo test --release --test ingest_bench -- --ignored --nocapture
//! ```
//!
//! Generates a syft-json feed of `SNAPGOV_BENCH_PACKAGES` artifacts (default
//! 1,000,000, about 1 GB; metadata written after the artifacts, as syft
//! does), detects and parses it, and reports the time and the process's peak
//! resident memory (Linux), which must stay under 256 MB.

use snapgov::domain::record::NormalizedRecord;
use snapgov::ingest::{detect::detect, parse_file, Format, Limits};
use std::io::{BufWriter, Write};
use std::time::Instant;

fn write_feed(out: &mut impl Write, packages: usize) -> std::io::Result<()> {
    out.write_all(b"{\n  \"artifacts\": [\n")?;
    for i in 0..packages {
        if i > 0 {
            out.write_all(b",\n")?;
        }
        write!(
            out,
            r#"    {{"id": "{i:016x}", "name": "package-{i}", "version": "1.{v}.{i}", "type": "npm", "foundBy": "javascript-package-cataloger", "locations": [{{"path": "/app/node_modules/package-{i}/package.json", "layerID": "sha256:5e0d7f1c9a3b6d2e8f4a1c7b9d3e5f2a8c6b4d1e9f7a3c5b2d8e6f4a1c9b7d3e", "accessPath": "/app/node_modules/package-{i}/package.json", "annotations": {{"evidence": "primary"}}}}], "licenses": [{{"value": "MIT", "spdxExpression": "MIT", "type": "declared", "urls": [], "locations": [{{"path": "/app/node_modules/package-{i}/package.json"}}]}}], "language": "javascript", "cpes": [{{"cpe": "cpe:2.3:a:package-{i}:package-{i}:1.{v}.{i}:*:*:*:*:*:*:*", "source": "syft-generated"}}], "purl": "pkg:npm/package-{i}@1.{v}.{i}", "metadataType": "javascript-npm-package", "metadata": {{"name": "package-{i}", "version": "1.{v}.{i}", "author": "Example Author <author@example.com>", "homepage": "https://example.com/package-{i}", "description": "A generated package used to measure snapgov's streaming syft-json parser", "url": "https://github.com/example/package-{i}", "private": false}}}}"#,
            v = i % 97
        )?;
    }
    out.write_all(b"\n  ],\n  \"artifactRelationships\": [],\n  \"files\": [],\n")?;
    out.write_all(br#"  "source": {"id": "bench", "name": "registry.example/bench", "version": "1.0", "type": "image", "metadata": {"userInput": "registry.example/bench:1.0"}},"#)?;
    out.write_all(b"\n  \"distro\": {},\n")?;
    out.write_all(br#"  "descriptor": {"name": "syft", "version": "1.32.0"}, "schema": {"version": "16.0.39", "url": "https://example.com"}"#)?;
    out.write_all(b"\n}\n")
}

/// Peak resident set size of this process in kB (Linux `VmHWM`).
fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
#[ignore = "benchmark: generates a ~1 GB feed; run with --release -- --ignored"]
fn syft_feed_streams_in_bounded_memory() {
    let packages: usize = std::env::var("SNAPGOV_BENCH_PACKAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feed.syft.json");
    let t = Instant::now();
    {
        let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(&path).unwrap());
        write_feed(&mut out, packages).unwrap();
        out.flush().unwrap();
    }
    let size = std::fs::metadata(&path).unwrap().len();
    eprintln!(
        "generated {packages} packages, {} MB, in {:.2?}",
        size >> 20,
        t.elapsed()
    );

    let limits = Limits::default();
    let t = Instant::now();
    let format = detect(&path, "feed.syft.json", &limits).unwrap();
    assert_eq!(format, Format::SyftJson);
    eprintln!("detect: {:.2?}", t.elapsed());

    let t = Instant::now();
    let mut count = 0usize;
    let mut bytes = 0usize;
    let mut sink = |r: NormalizedRecord| {
        count += 1;
        bytes += r.package_id.len();
        Ok(())
    };
    let meta = parse_file(format, &path, "feed.syft.json", &limits, &mut sink).unwrap();
    let elapsed = t.elapsed();
    assert_eq!(count, packages);
    assert_eq!(meta.subject.as_deref(), Some("registry.example/bench:1.0"));
    eprintln!(
        "parse: {count} records in {elapsed:.2?} ({:.0} MB/s, {bytes} id bytes)",
        size as f64 / (1 << 20) as f64 / elapsed.as_secs_f64()
    );
    if let Some(kb) = peak_rss_kb() {
        eprintln!("peak RSS: {} MB", kb >> 10);
        assert!(kb < 256 * 1024, "peak RSS {} MB is over 256 MB", kb >> 10);
    }
}

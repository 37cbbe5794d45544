//! Replays fuzzing inputs (tests/fuzz_regressions/) and the project's own
//! fixtures through every parser the fuzz targets cover: each may be refused,
//! none may panic.

use snapgov::ingest::{detect::detect, parse_file, Format, Limits};
use std::path::Path;

fn inputs() -> Vec<std::path::PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut out = Vec::new();
    for dir in ["fuzz_regressions", "fixtures"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.is_file() && p.extension().is_none_or(|x| x != "md") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_replayed_input_is_parsed_or_refused_without_a_panic() {
    let limits = Limits::default();
    let mut replayed = 0;
    for p in inputs() {
        let outcome = std::panic::catch_unwind(|| {
            let _ = detect(&p, "replay", &limits);
            for f in Format::ALL {
                let mut sink = |_r: snapgov::domain::record::NormalizedRecord| Ok(());
                let _ = parse_file(f, &p, "replay", &limits, &mut sink);
            }
            if let Ok(text) = std::fs::read_to_string(&p) {
                let _ = snapgov::config::Config::parse(&text, "replay");
                let _ = snapgov::domain::time::parse_duration(&text);
                let _ = snapgov::domain::time::parse_ts(&text);
                let _ = snapgov::domain::retention::parse_schedule(&text);
                let _ = snapgov::domain::snapshot::SnapshotId::parse(&text);
            }
        });
        assert!(outcome.is_ok(), "{} panicked", p.display());
        replayed += 1;
    }
    assert!(replayed >= 14, "only {replayed} inputs found");
}

//! Every real scanner output, re-serialized with its keys sorted, its arrays
//! reversed and other whitespace, gives the same normalizedHash and count.

mod common;

use common::{parse_merged, reshuffle};
use snapgov::domain::record::NormalizedRecord;
use snapgov::store::records::normalized_hash_of;
use std::path::Path;

fn hash_of(path: &Path) -> (String, usize) {
    let merged = parse_merged(path);
    let records: Vec<NormalizedRecord> = merged.into_values().collect();
    (normalized_hash_of(&records), records.len())
}

#[test]
fn reserialized_real_files_hash_the_same() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/real");
    if !root.exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{} is missing in CI",
            root.display()
        );
        eprintln!("skipping: {} not found", root.display());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for sub in ["syft", "trivy", "clair"] {
        for e in std::fs::read_dir(root.join(sub)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_none_or(|x| x != "json") {
                continue;
            }
            let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
            let q = dir.path().join(p.file_name().unwrap());
            std::fs::write(&q, serde_json::to_string_pretty(&reshuffle(&v)).unwrap()).unwrap();
            assert_ne!(std::fs::read(&p).unwrap(), std::fs::read(&q).unwrap());
            assert_eq!(hash_of(&p), hash_of(&q), "{}", p.display());
            checked += 1;
        }
    }
    assert_eq!(checked, 16);
}

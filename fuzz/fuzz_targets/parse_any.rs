#![no_main]
//! Detection, then the detected parser, on arbitrary bytes.
use libfuzzer_sys::fuzz_target;
use snapgov::ingest::{detect::detect, parse_file, Limits};

fuzz_target!(|data: &[u8]| {
    let mut f = tempfile::NamedTempFile::new().expect("temp file");
    std::io::Write::write_all(&mut f, data).expect("write");
    let limits = Limits::default();
    if let Ok(format) = detect(f.path(), "fuzz", &limits) {
        let mut sink = |r: snapgov::domain::record::NormalizedRecord| {
            // Whatever parses must hash and merge without panicking.
            let mut copy = r.clone();
            copy.merge_from(&r);
            let _ = snapgov::domain::record::record_hash(&copy.canonical_json());
            Ok(())
        };
        let _ = parse_file(format, f.path(), "fuzz", &limits, &mut sink);
    }
});

#![no_main]
//! The clair parser on arbitrary bytes: it may refuse them, never panic.
use libfuzzer_sys::fuzz_target;
use snapgov::ingest::{parse_file, Format, Limits};

fuzz_target!(|data: &[u8]| {
    let mut f = tempfile::NamedTempFile::new().expect("temp file");
    std::io::Write::write_all(&mut f, data).expect("write");
    let mut sink = |_r: snapgov::domain::record::NormalizedRecord| Ok(());
    let _ = parse_file(Format::ClairV4, f.path(), "fuzz", &Limits::default(), &mut sink);
});

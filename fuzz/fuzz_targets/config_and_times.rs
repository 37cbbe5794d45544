#![no_main]
//! The config file, ISO 8601 durations and timestamps, cron schedules and
//! snapshot ids on arbitrary text: refused or parsed, never a panic.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = snapgov::config::Config::parse(text, "fuzz.toml");
    let _ = snapgov::domain::time::parse_duration(text);
    let _ = snapgov::domain::time::parse_ts(text);
    if let Ok(t) = snapgov::domain::time::parse_ts("2025-12-04T00:00:00Z") {
        let _ = snapgov::domain::retention::next_run(text, t);
    }
    let _ = snapgov::domain::snapshot::SnapshotId::parse(text);
    let _ = snapgov::domain::audit::parse_audit_id(text);
});

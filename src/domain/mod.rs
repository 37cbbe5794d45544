//! Pure types and rules. No I/O, no clock: "now" is always a parameter.

pub mod audit;
pub mod freshness;
pub mod problem;
pub mod record;
pub mod retention;
pub mod snapshot;
pub mod snapshot_sorted;
pub mod text;
pub mod time;

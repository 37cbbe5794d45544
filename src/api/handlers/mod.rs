//! One handler per operation: read the request, call the workflow in
//! `ops` (in `spawn_blocking`), shape the spec's JSON.
//!
//! One file per resource; the extractors are in [`super::extract`].

mod audit;
mod imports;
mod records;
mod retention;
mod service;
mod shared;
mod sla;
mod snapshots;
mod tokens;

pub use audit::*;
pub use imports::*;
pub use records::*;
pub use retention::*;
pub use service::*;
pub use sla::*;
pub use snapshots::*;
pub use tokens::*;

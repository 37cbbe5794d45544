//! Reading JSON under the [`Limits`](super::Limits): the machinery every
//! format parser shares, and that knows nothing of any format.
//!
//! - [`open`]: opening a file (size limit, empty file, BOM) and decoding a
//!   whole document from a depth-guarded stream (Clair, CycloneDX, JSON
//!   Lines, detection);
//! - [`depth`]: the nesting-depth guard for those streams;
//! - [`errors`]: serde errors mapped to [`IngestError`](super::IngestError)
//!   with file positions and JSON paths;
//! - [`split`]: the structural splitter for large documents, with its byte
//!   scanning in [`scan`];
//! - [`two_pass`]: the two-pass reading of a document whose records come
//!   before the member they need (syft, Trivy, snapgov documents).
//!
//! # Nesting depth
//!
//! Streams that serde reads go through the [`depth`] guard, which fails once
//! nesting exceeds `limits.max_depth`; the failure surfaces as
//! `IngestError::TooDeep`. The splitter checks depth in its own lexer. A
//! top-level object is depth 1. serde_json also has a fixed recursion limit
//! (it refuses the 128th nested level of a value it decodes; values it skips
//! are not limited), and that error is mapped to `TooDeep` too, so a
//! `max_depth` above 127 is honoured only for the parts snapgov skips.

pub(crate) mod depth;
pub(crate) mod errors;
pub(crate) mod open;
mod scan;
pub(crate) mod split;
pub(crate) mod two_pass;

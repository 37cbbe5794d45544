//! Content-addressed records, each snapshot's membership, the tools' active
//! data, and the streaming hash and diff over them.
//!
//! A record is stored once per distinct content (`records.hash`); a snapshot
//! lists `(identity key, record)` pairs, in full or as a delta from a base
//! snapshot ([`chain`]); `active_records` holds each tool's live data, which
//! queries read and which rollback restores.
//!
//! [`hash`] is the normalized hash and counts; [`sorter`] the bounded-memory
//! sort the writer feeds them through; [`writer`] the writes ([`lite`] and
//! [`bulk`] per engine); [`reads`] the reads, verification and diff.

mod bulk;
mod chain;
mod fresh;
mod hash;
mod lite;
mod members;
mod pg_reads;
mod pg_tune;
mod reads;
mod rehash;
mod sorter;
mod unordered;
mod writer;

pub use hash::{normalized_hash_of, RecordsSummary};
pub use reads::{BadRecord, ContentHashes, DiffEntry, DiffSide, RecordFilter, RecordReads};
pub use writer::{ReadyRecord, RecordWriter, Written};

//! The workflows. Each operation has exactly one implementation here, which
//! the CLI, the console and the API all call.

pub mod audit;
pub mod demo;
pub mod diff;
pub mod expire;
pub mod fault;
pub mod import;
pub mod records;
pub mod retention;
pub mod rollback;
pub mod scheduler;
pub mod sla;
pub mod snapshots;
pub mod tokens;

use crate::config::Config;
use crate::store::StoreError;
use chrono::{DateTime, Utc};

/// Where "now" comes from. Rules never read the clock themselves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    System,
    /// A fixed instant (`SNAPGOV_NOW`): demos, tests, "as of" checks.
    Fixed(DateTime<Utc>),
}

impl Clock {
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => crate::domain::time::truncate(Utc::now()),
            Clock::Fixed(t) => *t,
        }
    }
}

/// What every workflow needs besides the store.
#[derive(Clone, Debug)]
pub struct Env {
    pub config: Config,
    /// Who is acting (recorded in the audit trail).
    pub user: String,
    pub clock: Clock,
}

impl Env {
    pub fn new(config: Config, user: impl Into<String>, clock: Clock) -> Env {
        Env {
            config,
            user: user.into(),
            clock,
        }
    }
}

/// The user automatic actions are recorded as.
pub const SYSTEM_USER: &str = "system";

/// Why a workflow did not complete. Each kind has its own exit code (and
/// HTTP status), documented in the README.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Wrong use: a bad argument or option value (exit 2).
    #[error("{0}")]
    Usage(String),
    /// Something named does not exist (exit 1; HTTP 404).
    #[error("{0}")]
    NotFound(String),
    /// An import was refused by parsing or validation (exit 3).
    #[error("{message}")]
    Rejected {
        message: String,
        /// The failed-import snapshot recorded for it, if one was.
        snapshot_id: Option<String>,
    },
    /// Blocked by the freshness SLA (exit 4; HTTP 423).
    #[error("{0}")]
    Blocked(String),
    /// Someone else changed what this operation depended on (exit 5; HTTP 409).
    #[error("{0}")]
    Conflict(String),
    /// A hash or the audit chain does not verify (exit 6; HTTP 500).
    #[error("{0}")]
    Integrity(String),
    /// The operation is not allowed in this state (exit 1; HTTP 422).
    #[error("{0}")]
    Invalid(String),
    /// An injected fault (fault-injection builds only). Every fault point
    /// sits inside a write transaction, so the message can promise that
    /// the work was undone, which an operator needs to know first.
    #[error("injected fault at step {0}: its transaction was undone, so every tool's active snapshot is unchanged")]
    Fault(&'static str),
}

impl OpError {
    pub fn exit_code(&self) -> i32 {
        match self {
            OpError::Usage(_) => 2,
            OpError::Rejected { .. } => 3,
            OpError::Blocked(_) => 4,
            OpError::Conflict(_) => 5,
            OpError::Store(StoreError::Busy) => 5,
            OpError::Integrity(_) => 6,
            OpError::Store(StoreError::Corrupt(_)) => 6,
            _ => 1,
        }
    }
}

pub type Result<T, E = OpError> = std::result::Result<T, E>;

/// Receives progress of long work (a bar on a terminal, nothing elsewhere).
pub trait Progress {
    fn set_message(&self, _msg: &str) {}
    fn inc(&self, _n: u64) {}
    fn finish(&self) {}
}

/// Progress that shows nothing.
pub struct NoProgress;
impl Progress for NoProgress {}

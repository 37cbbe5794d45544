//! The workflows. Each operation has exactly one implementation here, which
//! the CLI, the console and the API all call.

pub mod audit;
pub mod demo;
pub mod diff;
pub mod expire;
pub mod fault;
pub mod guarded_read;
pub mod import;
pub mod retention;
pub mod rollback;
pub mod scheduler;
pub mod sla;
pub mod snapshots;
pub mod store_copy;
pub mod store_migrate;
pub mod tokens;

use crate::config::Config;
use crate::domain::problem::{Hint, Param, Problem, Words};
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
/// HTTP status), documented in the README. The facts travel as a
/// [`Problem`]; each front end words its parameter and hint.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Wrong use: a bad argument or option value (exit 2).
    #[error("{0}")]
    Usage(Problem),
    /// Something named does not exist (exit 1; HTTP 404).
    #[error("{0}")]
    NotFound(Problem),
    /// An import was refused by parsing or validation (exit 3).
    #[error("{problem}")]
    Rejected {
        problem: Problem,
        /// The failed-import snapshot recorded for it, if one was.
        snapshot_id: Option<String>,
    },
    /// Blocked by the freshness SLA (exit 4; HTTP 423).
    #[error("{0}")]
    Blocked(Problem),
    /// Someone else changed what this operation depended on (exit 5; HTTP 409).
    #[error("{0}")]
    Conflict(Problem),
    /// A hash or the audit chain does not verify (exit 6; HTTP 500).
    #[error("{0}")]
    Integrity(Problem),
    /// The operation is not allowed in this state (exit 1; HTTP 422).
    #[error("{0}")]
    Invalid(Problem),
    /// An injected fault (fault-injection builds only). Every fault point
    /// sits inside a write transaction, so the message can promise that
    /// the work was undone, which an operator needs to know first.
    #[error("injected fault at step {0}: its transaction was undone, so every tool's active snapshot is unchanged")]
    Fault(&'static str),
}

impl OpError {
    pub fn usage(p: impl Into<Problem>) -> OpError {
        OpError::Usage(p.into())
    }
    pub fn not_found(p: impl Into<Problem>) -> OpError {
        OpError::NotFound(p.into())
    }
    pub fn blocked(p: impl Into<Problem>) -> OpError {
        OpError::Blocked(p.into())
    }
    pub fn conflict(p: impl Into<Problem>) -> OpError {
        OpError::Conflict(p.into())
    }
    pub fn integrity(p: impl Into<Problem>) -> OpError {
        OpError::Integrity(p.into())
    }
    pub fn invalid(p: impl Into<Problem>) -> OpError {
        OpError::Invalid(p.into())
    }

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

    /// The refusal's facts, if it is one of ours rather than the store's.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            OpError::Usage(p)
            | OpError::NotFound(p)
            | OpError::Blocked(p)
            | OpError::Conflict(p)
            | OpError::Integrity(p)
            | OpError::Invalid(p)
            | OpError::Rejected { problem: p, .. } => Some(p),
            OpError::Store(_) | OpError::Fault(_) => None,
        }
    }

    /// What the user can do about it, as a code.
    pub fn hint(&self) -> Option<Hint> {
        match self {
            OpError::Store(e) => e.hint(),
            other => other.problem().and_then(|p| p.hint.clone()),
        }
    }

    /// The input at fault, if one is.
    pub fn param(&self) -> Option<Param> {
        self.problem().and_then(|p| p.param)
    }

    /// The whole message in a front end's words.
    pub fn worded(&self, words: &dyn Words) -> String {
        match self {
            OpError::Store(e) => match e.hint() {
                Some(h) => format!("{e}; {}", words.hint(&h)),
                None => e.to_string(),
            },
            OpError::Fault(_) => self.to_string(),
            other => other
                .problem()
                .map_or_else(|| other.to_string(), |p| p.worded(words)),
        }
    }
}

pub type Result<T, E = OpError> = std::result::Result<T, E>;

/// Receives progress of long work (a bar on a terminal, nothing elsewhere).
///
/// An import reads its input in passes (hashing it, then parsing it once or
/// twice): each begins with [`Progress::begin_pass`], then reports the bytes
/// read with [`Progress::advance`]. Work that reads no input is announced
/// with [`Progress::set_message`].
pub trait Progress {
    /// What is being done now, when it is not a pass over the input.
    fn set_message(&self, _msg: &str) {}
    /// `n` more records read.
    fn inc(&self, _n: u64) {}
    /// A pass over an input begins: `what` it does, in words; `size` in
    /// bytes when the input has one (a file), `None` for a stream (stdin).
    fn begin_pass(&self, _what: &str, _size: Option<u64>) {}
    /// `n` more bytes of the input read in the current pass.
    fn advance(&self, _n: u64) {}
    fn finish(&self) {}
}

/// Progress that shows nothing.
pub struct NoProgress;
impl Progress for NoProgress {}

//! Why something was refused, as facts and codes rather than sentences in one
//! front end's words.
//!
//! A [`Problem`] holds the facts (a message naming ids, counts, values), the
//! input at fault ([`Param`]) and what the user can do next ([`Hint`]). The
//! lower layers never spell a CLI flag or an API parameter: each front end
//! implements [`Words`] and says "--allow-empty", "allowEmpty=true" or "press
//! a" in its own terms.

use std::fmt;

/// An input a user gives, named by each front end its own way (a CLI flag,
/// an API parameter, a console field).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Param {
    Reason,
    /// The end of an audit hold.
    Until,
    /// The cut-off of an audit purge.
    Before,
    /// The instant a backfilled import is dated at.
    ImportedAt,
    /// Make a backfill active over a newer snapshot.
    Activate,
    /// The snapshot a rollback restores.
    SnapshotId,
    /// The snapshot expected to be active (a dry run's handle).
    ExpectActive,
    Tool,
    Format,
}

impl Param {
    /// A code for machine-readable output (`"param": "importedAt"`), the
    /// same in every front end.
    pub fn code(self) -> &'static str {
        match self {
            Param::Reason => "reason",
            Param::Until => "until",
            Param::Before => "before",
            Param::ImportedAt => "importedAt",
            Param::Activate => "activate",
            Param::SnapshotId => "snapshotId",
            Param::ExpectActive => "expectActive",
            Param::Tool => "tool",
            Param::Format => "format",
        }
    }
}

/// What the user can do about a problem, as a code each front end words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hint {
    /// Give the reason (it is audited).
    GiveReason,
    /// The feed really is empty: import again, allowing that.
    AllowEmpty,
    /// The feed really shrank: import again, allowing that.
    AllowShrink,
    /// Import a fresh feed, or read the critically old data anyway with a
    /// reason (audited).
    OverrideFreshness,
    /// The tool has no snapshot yet: import a first feed.
    ImportFirst { tool: String },
    /// The active snapshot was expired: import a new feed or roll back.
    ImportOrRollBack { tool: String },
    /// No snapshot can be chosen for you: name the one to restore.
    NameSnapshot,
    /// Choose a previous or archived snapshot from the tool's list.
    ChooseRestorable { tool: String },
    /// The input's format was not recognized: name it.
    NameFormat,
    /// The store was written by a newer snapgov.
    UpgradeOrOtherStore,
    /// The file is not a snapgov store.
    OtherStore,
    /// No store yet: import a feed or build the demo.
    ImportOrDemo,
    /// The store's schema needs a migration, which needs write access.
    MigrateWithWriteAccess,
    /// Another writer held the store: try again.
    TryAgain,
}

impl Hint {
    /// A stable code for machine-readable output (`"hint": "allow-empty"`).
    pub fn code(&self) -> &'static str {
        match self {
            Hint::GiveReason => "give-reason",
            Hint::AllowEmpty => "allow-empty",
            Hint::AllowShrink => "allow-shrink",
            Hint::OverrideFreshness => "override-freshness",
            Hint::ImportFirst { .. } => "import-first",
            Hint::ImportOrRollBack { .. } => "import-or-roll-back",
            Hint::NameSnapshot => "name-snapshot",
            Hint::ChooseRestorable { .. } => "choose-restorable",
            Hint::NameFormat => "name-format",
            Hint::UpgradeOrOtherStore => "upgrade-or-other-store",
            Hint::OtherStore => "other-store",
            Hint::ImportOrDemo => "import-or-demo",
            Hint::MigrateWithWriteAccess => "migrate-with-write-access",
            Hint::TryAgain => "try-again",
        }
    }
}

/// How a front end names inputs and words hints.
pub trait Words {
    fn param(&self, p: Param) -> String;
    /// The hint as a clause that can follow "; ".
    fn hint(&self, h: &Hint) -> String;
}

/// The facts of a refusal, with the input at fault and a hint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The facts, in no front end's words: never a flag or a parameter name.
    pub message: String,
    pub param: Option<Param>,
    pub hint: Option<Hint>,
}

impl Problem {
    pub fn new(message: impl Into<String>) -> Problem {
        Problem {
            message: message.into(),
            param: None,
            hint: None,
        }
    }

    pub fn param(mut self, p: Param) -> Problem {
        self.param = Some(p);
        self
    }

    pub fn hint(mut self, h: Hint) -> Problem {
        self.hint = Some(h);
        self
    }

    /// "PARAM: message; hint", in a front end's words.
    pub fn worded(&self, words: &dyn Words) -> String {
        let mut out = match self.param {
            Some(p) => format!("{}: {}", words.param(p), self.message),
            None => self.message.clone(),
        };
        if let Some(h) = &self.hint {
            out.push_str("; ");
            out.push_str(&words.hint(h));
        }
        out
    }
}

impl From<String> for Problem {
    fn from(message: String) -> Problem {
        Problem::new(message)
    }
}

impl From<&str> for Problem {
    fn from(message: &str) -> Problem {
        Problem::new(message)
    }
}

/// Plain words, for logs and anything that is not a front end.
pub struct PlainWords;

impl Words for PlainWords {
    fn param(&self, p: Param) -> String {
        p.code().to_string()
    }

    fn hint(&self, h: &Hint) -> String {
        format!("hint: {}", h.code())
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.worded(&PlainWords))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Flags;
    impl Words for Flags {
        fn param(&self, p: Param) -> String {
            format!("<{}>", p.code())
        }
        fn hint(&self, h: &Hint) -> String {
            format!("try <{}>", h.code())
        }
    }

    #[test]
    fn a_problem_is_worded_by_the_front_end_with_param_first_and_hint_last() {
        let p = Problem::new("2020-01-01 is not in the future")
            .param(Param::Until)
            .hint(Hint::GiveReason);
        assert_eq!(
            p.worded(&Flags),
            "<until>: 2020-01-01 is not in the future; try <give-reason>"
        );
        assert_eq!(
            p.to_string(),
            "until: 2020-01-01 is not in the future; hint: give-reason"
        );
        assert_eq!(Problem::new("plain").worded(&Flags), "plain");
    }
}

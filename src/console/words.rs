//! How the console words a refusal's input and hint: what can be done here
//! is said in the console's terms (the wizard's fields and lists); what only
//! the command line can do is said as the CLI says it.

use crate::cli::words::CliWords;
use crate::domain::problem::{Hint, Param, Words};

pub struct ConsoleWords;

/// A workflow's error as the console shows it.
pub fn say(e: &crate::ops::OpError) -> String {
    e.worded(&ConsoleWords)
}

impl Words for ConsoleWords {
    fn param(&self, p: Param) -> String {
        match p {
            Param::Reason => "the reason".into(),
            Param::SnapshotId => "the target".into(),
            Param::ExpectActive => "the previewed active snapshot".into(),
            other => CliWords.param(other),
        }
    }

    fn hint(&self, h: &Hint) -> String {
        match h {
            Hint::GiveReason => "type a reason (it is audited)".into(),
            Hint::NameSnapshot => "choose a target from the list".into(),
            Hint::ChooseRestorable { .. } => {
                "choose a previous or archived snapshot from the list".into()
            }
            Hint::ImportOrRollBack { tool } => {
                format!("import a new feed for {tool}, or roll it back with the wizard")
            }
            Hint::TryAgain => "try again".into(),
            other => CliWords.hint(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::problem::Problem;

    #[test]
    fn the_console_words_what_it_can_do_itself_and_defers_the_rest_to_the_cli() {
        let p = Problem::new("a rollback needs a reason").hint(Hint::GiveReason);
        assert_eq!(
            p.worded(&ConsoleWords),
            "a rollback needs a reason; type a reason (it is audited)"
        );
        let p = Problem::new("the feed is empty").hint(Hint::AllowEmpty);
        assert_eq!(p.worded(&ConsoleWords), p.worded(&CliWords));
    }
}

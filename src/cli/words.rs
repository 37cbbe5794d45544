//! How the CLI words the inputs and hints of a refusal: in its own flags
//! and commands. The lower layers hand over codes ([`Param`], [`Hint`]); this
//! is the one place their command-line spelling lives.

use crate::domain::problem::{Hint, Param, Words};

pub struct CliWords;

impl Words for CliWords {
    fn param(&self, p: Param) -> String {
        match p {
            Param::Reason => "--reason",
            Param::Until => "--until",
            Param::Before => "--before",
            Param::ImportedAt => "--imported-at",
            Param::Activate => "--activate",
            Param::SnapshotId => "--snapshot-id",
            Param::ExpectActive => "--expect-active",
            Param::Tool => "--tool",
            Param::Format => "--format",
        }
        .to_string()
    }

    fn hint(&self, h: &Hint) -> String {
        match h {
            Hint::GiveReason => "give it with --reason TEXT (it is audited)".into(),
            Hint::AllowEmpty => "if it is really empty, import again with --allow-empty".into(),
            Hint::AllowShrink => "if the shrink is real, import again with --allow-shrink".into(),
            Hint::OverrideFreshness => {
                "import a fresh feed, or pass --override REASON to read it anyway (audited)".into()
            }
            Hint::ImportFirst { tool } => {
                format!("import one with `snapgov ingest import --tool {tool} FILE`")
            }
            Hint::ImportOrRollBack { tool } => {
                format!("import a new feed or roll back (`snapgov ingest rollback --tool {tool}`)")
            }
            Hint::NameSnapshot => "name one with --snapshot-id".into(),
            Hint::ChooseRestorable { tool } => format!(
                "choose a previous or archived snapshot (`snapgov ingest snapshots --tool {tool}`)"
            ),
            Hint::NameFormat => "pass --format to choose one".into(),
            Hint::UpgradeOrOtherStore => "upgrade snapgov or point --db at another store".into(),
            Hint::OtherStore => "point --db at another file".into(),
            Hint::ImportOrDemo => {
                "import a feed first (snapgov ingest import), or run `snapgov demo`".into()
            }
            Hint::MigrateWithWriteAccess => {
                "run `snapgov store migrate` once (it needs write access to the store)".into()
            }
            Hint::TryAgain => "try again".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::problem::Problem;

    #[test]
    fn the_cli_names_its_own_flags() {
        let p = Problem::new("the feed for syft has no records").hint(Hint::AllowEmpty);
        assert!(p
            .worded(&CliWords)
            .ends_with("import again with --allow-empty"));
        let p = Problem::new("2020-01-01T00:00:00Z is not in the future").param(Param::Until);
        assert_eq!(
            p.worded(&CliWords),
            "--until: 2020-01-01T00:00:00Z is not in the future"
        );
    }
}

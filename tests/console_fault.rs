//! A fault inside the rollback workflow shows in the wizard, and nothing
//! changes (fault-injection builds only; alone in its binary because it
//! sets SNAPGOV_FAULT for the process).
#![cfg(feature = "fault-injection")]

mod common;
mod console_support;

use console_support::Driver;
use crossterm::event::KeyCode;
use snapgov::console::wizard::{FailKind, StepState, WizardStep};
use snapgov::ops::rollback::Step as WStep;
use snapgov::store::prelude::*;
use snapgov::store::{AuditFilter, OpenMode, Store};

#[test]
fn a_fault_at_restore_is_undone_and_explained() {
    let mut d = Driver::demo(120, 40);
    let store = Store::open(&d.db, OpenMode::ReadOnly).unwrap();
    let before = store.active_snapshot("syft").unwrap().unwrap().id;
    drop(store);
    d.keys("jjr")
        .key(KeyCode::Enter)
        .key(KeyCode::Enter)
        .key(KeyCode::Enter);
    d.keys("fault drill").key(KeyCode::Enter).keys("syft");
    std::env::set_var("SNAPGOV_FAULT", "restore");
    d.key(KeyCode::Enter);
    std::env::remove_var("SNAPGOV_FAULT");
    let w = &d.app.wizard;
    assert!(matches!(w.step, WizardStep::Result { .. }));
    let f = w.outcome().cloned().unwrap().unwrap_err();
    assert_eq!(f.kind, FailKind::Fault);
    assert!(f.message.contains("restore"), "{}", f.message);
    assert!(f.next.contains("nothing was changed"), "{}", f.next);
    let state = |s: WStep| w.steps().iter().find(|e| e.0 == s).unwrap().1;
    assert_eq!(state(WStep::VerifyTarget), StepState::Done);
    assert_eq!(state(WStep::Savepoint), StepState::Done);
    assert_eq!(state(WStep::Restore), StepState::Failed);
    assert_eq!(state(WStep::Commit), StepState::Pending);
    let store = Store::open(&d.db, OpenMode::ReadOnly).unwrap();
    assert_eq!(store.active_snapshot("syft").unwrap().unwrap().id, before);
    let failed = store
        .audit_list(&AuditFilter {
            event: Some("snapshot_rollback_failed".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(failed.len(), 1, "the failed attempt is audited");
    assert!(d.screen().contains("What now"));
    d.key(KeyCode::Enter);
    assert!(matches!(d.app.wizard.step, WizardStep::Tool));
}

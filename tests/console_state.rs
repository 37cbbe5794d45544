//! The console's state machines, driven without a terminal: navigation,
//! the rollback wizard (with its failures), the audit browser's paging and
//! filters, refresh after another process writes, read-only, the mouse.

mod common;
mod console_support;

use console_support::{env, now, Driver};
use crossterm::event::{KeyCode, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use snapgov::console::app::Screen;
use snapgov::console::audit::{Chain, Form, PageDir, PAGE};
use snapgov::console::jobs::{self, Effect, Job};
use snapgov::console::widgets::Pane;
use snapgov::console::wizard::{ConfirmFocus, FailKind, WizardStep};
use snapgov::ops::diff::Change;
use snapgov::ops::OpError;
use snapgov::store::prelude::*;
use snapgov::store::{OpenMode, Store};

fn active_of(d: &Driver, tool: &str) -> String {
    let store = Store::open(&d.db, OpenMode::ReadOnly).unwrap();
    store.active_snapshot(tool).unwrap().unwrap().id.to_string()
}

fn audit_count(d: &Driver) -> u64 {
    let store = Store::open(&d.db, OpenMode::ReadOnly).unwrap();
    store.audit_count().unwrap()
}

/// Overview → syft → `r` → verified target → preview → the reason field.
fn to_reason(d: &mut Driver) {
    to_preview(d);
    d.key(KeyCode::Enter);
    assert!(matches!(d.app.wizard.step, WizardStep::Reason));
}

/// Overview → syft → `r` → verified target → preview.
fn to_preview(d: &mut Driver) {
    d.keys("jjr").key(KeyCode::Enter).key(KeyCode::Enter);
    assert!(matches!(d.app.wizard.step, WizardStep::Preview));
}

/// A terminal sends Escape as a lone byte: Escape with a key right after it
/// (typed fast, or arriving together over a slow link or while the console
/// was busy drawing) reads as Alt+key. The console binds no Alt keys, so
/// that is honoured as the two keys; in a text field it stays the field's.
#[test]
fn escape_then_a_key_arriving_together_is_both_keys() {
    let alt = |d: &mut Driver, c: char| {
        let fx = d.app.on_key(crossterm::event::KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::ALT,
        ));
        d.run(fx);
        d.draw();
    };
    let mut d = Driver::demo(120, 40);
    d.keys("?");
    assert!(d.app.help.is_some());
    // Escape closes the help, then `2` goes to the SLA screen.
    alt(&mut d, '2');
    assert!(d.app.help.is_none(), "the Escape closed the help");
    assert_eq!(d.app.screen, Screen::Sla, "the key after it was honoured");

    d.keys("1jj").key(KeyCode::Enter);
    assert!(d.app.snapshots.is_some());
    // Escape goes back from the snapshot list; `q` then quits at the top.
    alt(&mut d, 'q');
    assert!(d.app.snapshots.is_none());
    assert!(d.quit, "Escape, then q at the top level, quits");

    let mut d = Driver::demo(120, 40);
    to_reason(&mut d);
    d.keys("ab");
    alt(&mut d, 'q');
    assert!(
        !d.quit && matches!(d.app.wizard.step, WizardStep::Reason),
        "in a text field Alt+key is the field's, not a way out"
    );
}

#[test]
fn q_quits_only_at_the_top_and_ctrl_c_always() {
    let mut d = Driver::demo(120, 40);
    d.keys("jj").key(KeyCode::Enter);
    assert!(d.app.snapshots.is_some());
    d.keys("q");
    assert!(
        !d.quit && d.app.snapshots.is_none(),
        "q goes back from a layer"
    );
    d.keys("q");
    assert!(d.quit, "q quits at the top level");

    let mut d = Driver::demo(120, 40);
    to_reason(&mut d);
    d.keys("q1");
    assert_eq!(
        d.app.wizard.reason.text(),
        "q1",
        "letters and digits are text in a field"
    );
    assert!(!d.quit);
    d.ctrl('c');
    assert!(d.quit, "Ctrl-C quits from a text field");
}

#[test]
fn screens_help_and_esc_layers() {
    let mut d = Driver::demo(120, 40);
    for (k, s) in [
        ("2", Screen::Sla),
        ("3", Screen::Rollback),
        ("4", Screen::Audit),
        ("5", Screen::Retention),
        ("1", Screen::Overview),
    ] {
        d.keys(k);
        assert_eq!(d.app.screen, s);
    }
    assert!(d.app.retention.is_some(), "retention loaded on first visit");
    d.keys("?");
    assert!(d.app.help.is_some());
    d.keys("2");
    assert_eq!(
        d.app.screen,
        Screen::Overview,
        "keys go to the help while it is open"
    );
    d.key(KeyCode::Esc);
    assert!(d.app.help.is_none());
    d.key(KeyCode::F(1));
    assert!(d.app.help.is_some());
    d.keys("?");
    // Selecting a tool opens its snapshot list; Tab moves to the detail pane;
    // Esc goes back one layer at a time.
    d.keys("G").key(KeyCode::Enter);
    let list = d.app.snapshots.as_ref().unwrap();
    assert_eq!(list.tool, "trivy");
    assert_eq!(
        list.items.len(),
        29,
        "every trivy snapshot, the failed one too"
    );
    d.key(KeyCode::Tab);
    assert_eq!(d.app.snapshots.as_ref().unwrap().focus, Pane::Detail);
    d.key(KeyCode::Esc);
    assert_eq!(d.app.snapshots.as_ref().unwrap().focus, Pane::List);
    d.key(KeyCode::Esc);
    assert!(d.app.snapshots.is_none());
}

#[test]
fn snapshot_list_deltas_and_paging() {
    let mut d = Driver::demo(120, 40);
    d.keys("jj").key(KeyCode::Enter);
    let l = d.app.snapshots.as_ref().unwrap();
    assert_eq!(l.tool, "syft");
    assert!(l.exhausted, "64 snapshots fit one page");
    // Newest first, each with its change from its predecessor.
    assert!(l.items[0].imported_at > l.items[1].imported_at);
    let i = (0..l.items.len() - 1)
        .find(|&i| l.items[i].record_count != l.items[i + 1].record_count)
        .unwrap();
    assert_eq!(
        l.delta(i),
        Some(l.items[i].record_count as i64 - l.items[i + 1].record_count as i64)
    );
    d.keys("G");
    let l = d.app.snapshots.as_ref().unwrap();
    assert_eq!(l.nav.sel, l.items.len() - 1);
}

#[test]
fn the_wizard_keeps_choices_when_going_back() {
    let mut d = Driver::demo(120, 40);
    d.keys("jjr");
    let w = &d.app.wizard;
    assert!(matches!(w.step, WizardStep::Target));
    assert_eq!(w.tool.as_deref(), Some("syft"));
    // The default target is the previous snapshot, preselected.
    let t = w.targets.as_ref().unwrap();
    assert_eq!(t.list[w.target_nav.sel].id, t.default.clone().unwrap());
    // Choose the third target instead, then walk forward and back.
    d.keys("jj").key(KeyCode::Enter);
    let target = d.app.wizard.target.clone().unwrap();
    assert!(matches!(d.app.wizard.step, WizardStep::Verify));
    assert!(d.app.wizard.plan.as_ref().unwrap().verification.is_ok());
    d.key(KeyCode::Enter).keys("c");
    assert_eq!(d.app.wizard.preview.filter.change, Some(Change::Added));
    assert!(d
        .app
        .wizard
        .preview
        .items
        .iter()
        .all(|i| i.change == Change::Added));
    d.key(KeyCode::Enter).keys("because");
    d.key(KeyCode::Esc).key(KeyCode::Esc);
    assert!(matches!(d.app.wizard.step, WizardStep::Verify));
    d.key(KeyCode::Esc);
    assert!(matches!(d.app.wizard.step, WizardStep::Target));
    assert_eq!(
        d.app.wizard.targets.as_ref().unwrap().list[d.app.wizard.target_nav.sel].id,
        target,
        "the chosen target is still selected"
    );
    d.key(KeyCode::Esc);
    assert!(matches!(d.app.wizard.step, WizardStep::Tool));
    assert_eq!(d.app.wizard.tools[d.app.wizard.tool_nav.sel].name, "syft");
    d.key(KeyCode::Enter)
        .key(KeyCode::Enter)
        .key(KeyCode::Enter);
    assert!(matches!(d.app.wizard.step, WizardStep::Preview));
    assert_eq!(
        d.app.wizard.preview.filter.change,
        Some(Change::Added),
        "filters kept"
    );
    d.key(KeyCode::Enter);
    assert_eq!(d.app.wizard.reason.text(), "because", "reason kept");
}

#[test]
fn the_diff_preview_filters_pages_and_searches_in_the_store() {
    let mut d = Driver::demo(120, 40);
    to_preview(&mut d);
    let p = d.app.wizard.plan.clone().unwrap();
    let total = p.diff.total() as usize;
    assert_eq!(d.app.wizard.preview.items.len(), total.min(jobs::DIFF_PAGE));
    for (key, change, n) in [
        ("c", Some(Change::Added), p.diff.added.total),
        ("c", Some(Change::Removed), p.diff.removed.total),
        ("c", Some(Change::Changed), p.diff.changed.total),
        ("c", None, p.diff.total()),
    ] {
        d.keys(key);
        assert_eq!(d.app.wizard.preview.filter.change, change);
        assert_eq!(d.app.wizard.preview.items.len() as u64, n);
    }
    let changed = d
        .app
        .wizard
        .preview
        .items
        .iter()
        .find(|i| i.change == Change::Changed)
        .unwrap()
        .clone();
    assert!(
        changed.old.is_some() && changed.new.is_some(),
        "changed ones carry old and new"
    );
    let needle: String = changed.identity.chars().skip(4).take(8).collect();
    d.keys("/").keys(&needle).key(KeyCode::Enter);
    assert_eq!(
        d.app.wizard.preview.filter.text.as_deref(),
        Some(needle.as_str())
    );
    assert!(d
        .app
        .wizard
        .preview
        .items
        .iter()
        .any(|i| i.identity == changed.identity));
    assert!(d
        .app
        .wizard
        .preview
        .items
        .iter()
        .all(|i| i.identity.contains(&needle)));
    d.keys("t");
    assert_eq!(
        d.app.wizard.preview.filter.kind.map(|k| k.as_str()),
        Some("package")
    );
    d.keys("x");
    assert_eq!(d.app.wizard.preview.items.len(), total.min(jobs::DIFF_PAGE));
}

#[test]
fn confirmation_starts_on_cancel_and_cancel_changes_nothing() {
    let mut d = Driver::demo(120, 40);
    let before = (active_of(&d, "syft"), audit_count(&d));
    to_preview(&mut d);
    d.key(KeyCode::Enter);
    d.key(KeyCode::Enter);
    assert!(
        matches!(d.app.wizard.step, WizardStep::Reason),
        "a reason is required"
    );
    assert!(d
        .app
        .wizard
        .note
        .as_deref()
        .unwrap()
        .contains("reason is required"));
    d.keys("test").key(KeyCode::Enter);
    assert!(matches!(d.app.wizard.step, WizardStep::Confirm(_)));
    assert_eq!(d.app.wizard.confirm_focus(), ConfirmFocus::Cancel);
    d.keys("syf");
    assert_eq!(d.app.wizard.confirm_focus(), ConfirmFocus::Cancel);
    d.key(KeyCode::Enter);
    assert_eq!(d.app.screen, Screen::Overview);
    assert!(d
        .app
        .flash
        .as_ref()
        .unwrap()
        .0
        .contains("cancelled; nothing was changed"));
    assert_eq!((active_of(&d, "syft"), audit_count(&d)), before);
}

#[test]
fn a_confirmed_rollback_runs_the_workflow_and_reports_like_the_cli() {
    let mut d = Driver::demo(120, 40);
    to_preview(&mut d);
    let plan = d.app.wizard.plan.clone().unwrap();
    d.key(KeyCode::Enter)
        .keys("corrupt feed")
        .key(KeyCode::Enter);
    // [Roll back] is disabled until the name is typed: Tab cannot reach it.
    d.key(KeyCode::Tab);
    assert_eq!(d.app.wizard.confirm_focus(), ConfirmFocus::Cancel);
    d.keys("syft");
    assert_eq!(d.app.wizard.confirm_focus(), ConfirmFocus::RollBack);
    // Once typed, Tab moves between the buttons.
    d.key(KeyCode::Tab);
    assert_eq!(d.app.wizard.confirm_focus(), ConfirmFocus::Cancel);
    d.key(KeyCode::Tab);
    assert_eq!(d.app.wizard.confirm_focus(), ConfirmFocus::RollBack);
    d.key(KeyCode::Enter);
    let w = &d.app.wizard;
    assert!(matches!(w.step, WizardStep::Result { .. }));
    assert_eq!(w.steps().len(), 7);
    assert!(w
        .steps()
        .iter()
        .all(|s| s.1 == snapgov::console::wizard::StepState::Done));
    let r = w.outcome().cloned().unwrap().unwrap();
    assert_eq!(r.to.snapshot_id, plan.to.id);
    let sentence = r.to_string();
    assert!(sentence.starts_with(&format!(
        "rolled syft back from {} ({} records) to {}",
        plan.from.id, plan.from.record_count, plan.to.id
    )));
    assert!(
        sentence.ends_with("by tester at 2025-12-04T12:00:00Z"),
        "{sentence}"
    );
    assert_eq!(active_of(&d, "syft"), plan.to.id);
    d.key(KeyCode::Enter);
    assert_eq!(d.app.screen, Screen::Overview);
    assert_eq!(d.app.flash.as_ref().unwrap().0, sentence);
    let syft = d
        .app
        .overview
        .as_ref()
        .unwrap()
        .tools
        .iter()
        .find(|t| t.name() == "syft")
        .unwrap();
    assert_eq!(
        syft.active().unwrap().id,
        plan.to.id,
        "the overview was reloaded"
    );
}

#[test]
fn a_conflict_is_shown_in_the_wizard_with_what_to_do() {
    let mut d = Driver::demo(120, 40);
    to_preview(&mut d);
    let plan = d.app.wizard.plan.clone().unwrap();
    // Someone else rolls syft back meanwhile, to another snapshot.
    let elsewhere = d.app.wizard.targets.as_ref().unwrap().list[3]
        .id
        .to_string();
    let mut store = Store::open(&d.db, OpenMode::ReadWrite).unwrap();
    let mut other = env();
    other.user = "mallory".into();
    snapgov::ops::rollback::execute(
        &mut store,
        &other,
        "syft",
        &snapgov::ops::rollback::Target::Id(elsewhere),
        None,
        "elsewhere",
        &snapgov::ops::rollback::Quiet,
    )
    .unwrap();
    drop(store);
    let after_other = active_of(&d, "syft");
    d.key(KeyCode::Enter)
        .keys("mine")
        .key(KeyCode::Enter)
        .keys("syft")
        .key(KeyCode::Enter);
    let w = &d.app.wizard;
    assert!(matches!(w.step, WizardStep::Result { .. }));
    let f = w.outcome().cloned().unwrap().unwrap_err();
    assert_eq!(f.kind, FailKind::Conflict);
    assert!(
        f.message.contains("mallory") && f.message.contains(plan.from.id.as_str()),
        "{}",
        f.message
    );
    assert!(f.next.contains("preview again"));
    assert_eq!(active_of(&d, "syft"), after_other, "nothing changed");
    assert!(d.screen().contains("What now"));
    // Enter reloads the targets against the new state.
    d.key(KeyCode::Enter);
    let w = &d.app.wizard;
    assert!(matches!(w.step, WizardStep::Target));
    assert_eq!(w.targets.as_ref().unwrap().active.id, after_other);
}

#[test]
fn a_target_that_does_not_verify_is_refused_in_the_wizard() {
    let mut d = Driver::demo(120, 40);
    d.keys("jjr");
    let target = d
        .app
        .wizard
        .targets
        .as_ref()
        .unwrap()
        .default
        .clone()
        .unwrap();
    // Edit one stored record only the target uses (as an attacker would).
    let n = console_support::sql(
        &d.db,
        &format!(
            "UPDATE records SET body = replace(body, '\"version\":\"', '\"version\":\"6') WHERE id = {}",
            console_support::record_only_in(&d.db, &target)
        ),
    );
    assert_eq!(n, 1);
    let before = (active_of(&d, "syft"), audit_count(&d));
    d.key(KeyCode::Enter);
    let w = &d.app.wizard;
    assert!(matches!(w.step, WizardStep::Verify));
    assert!(w.plan.is_none());
    let f = w.failure.clone().unwrap();
    assert_eq!(f.kind, FailKind::Integrity);
    assert!(
        f.message.contains(&target) && f.message.contains("altered"),
        "{}",
        f.message
    );
    assert!(d.screen().contains("What now"));
    d.key(KeyCode::Enter);
    assert!(
        matches!(d.app.wizard.step, WizardStep::Target),
        "back to choose another"
    );
    assert_eq!((active_of(&d, "syft"), audit_count(&d)), before);
}

#[test]
fn esc_cancels_a_verification_in_progress() {
    let mut d = Driver::demo(120, 40);
    d.keys("jjr");
    d.hold = true;
    d.key(KeyCode::Enter);
    assert!(matches!(d.app.wizard.step, WizardStep::Verify));
    assert!(d.app.wizard.plan_req.is_some());
    assert!(d.screen().contains("re-hashing"));
    d.app.on_tick(false, d.app.now());
    assert!(d.app.busy());
    d.key(KeyCode::Esc);
    assert!(matches!(d.app.wizard.step, WizardStep::Target));
    // The worker finishes anyway; its result is dropped.
    d.release();
    assert!(d.app.wizard.plan.is_none());
    assert!(matches!(d.app.wizard.step, WizardStep::Target));
}

#[test]
fn read_only_never_writes() {
    let (_dir, db) = console_support::demo_db();
    let mut d = Driver::open(&db, env(), true, 120, 40);
    d.keys("jjr");
    assert_eq!(d.app.screen, Screen::Overview);
    assert!(d.app.flash.as_ref().unwrap().0.contains("read-only"));
    d.keys("3").key(KeyCode::Enter);
    assert!(d.app.wizard.targets_req.is_none());
    // Even asked directly, the job refuses to write.
    let (tx, _rx) = std::sync::mpsc::channel();
    let m = jobs::perform(
        &db,
        &env(),
        true,
        1,
        &Job::Execute {
            tool: "syft".into(),
            target: "x".into(),
            expected_active: "y".into(),
            reason: "z".into(),
        },
        &tx,
    );
    assert!(matches!(m.result, Err(OpError::Usage(_))));
}

#[test]
fn changes_by_another_process_appear_on_the_next_refresh() {
    let mut d = Driver::demo(120, 40);
    d.keys("4");
    let head = d.app.audit.rows[0].0;
    d.keys("1");
    // Nothing changed: a refresh only polls.
    let fx = d.app.on_tick(true, d.app.now());
    assert!(matches!(
        &fx[..],
        [Effect::Run {
            job: Job::Fingerprint,
            ..
        }]
    ));
    d.run(fx);
    assert!(d.app.overview_req.is_none());
    // Another operator rolls trivy back.
    let mut store = Store::open(&d.db, OpenMode::ReadWrite).unwrap();
    let r = snapgov::ops::rollback::execute(
        &mut store,
        &env(),
        "trivy",
        &snapgov::ops::rollback::Target::Previous,
        None,
        "elsewhere",
        &snapgov::ops::rollback::Quiet,
    )
    .unwrap();
    drop(store);
    let fx = d.app.on_tick(true, d.app.now());
    d.run(fx);
    let trivy = d
        .app
        .overview
        .as_ref()
        .unwrap()
        .tools
        .iter()
        .find(|t| t.name() == "trivy")
        .unwrap();
    assert_eq!(trivy.active().unwrap().id, r.to.snapshot_id);
    assert!(
        d.app.audit.rows[0].0 > head,
        "the audit browser at the top shows new records"
    );
}

/// On PostgreSQL the console is told of other hosts' writes (LISTEN/NOTIFY)
/// and refreshes at once: a rollback made by another process shows within
/// 2 s, with no timer. SQLite has no notifications (the timer finds changes).
#[test]
fn on_postgres_a_write_by_another_process_is_shown_within_two_seconds() {
    use snapgov::console::changes::Changes;
    let mut d = Driver::demo(120, 40);
    let Some(changes) = Changes::watch(&d.db) else {
        eprintln!("skipped: notifications are PostgreSQL's (set SNAPGOV_TEST_POSTGRES)");
        return;
    };
    // The listener is up once a write it hears arrives; the demo's own
    // writes were before it.
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(!changes.arrived(), "nothing was written yet");
    let before = active_of(&d, "trivy");
    let cfg = tempfile::tempdir().unwrap();
    std::fs::write(cfg.path().join("config.toml"), "").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_snapgov"))
        .args([
            "ingest",
            "rollback",
            "--tool",
            "trivy",
            "--force",
            "--reason",
            "elsewhere",
        ])
        .env("SNAPGOV_DB", d.db.as_arg())
        .env("SNAPGOV_CONFIG", cfg.path().join("config.toml"))
        .env("SNAPGOV_NOW", console_support::NOW)
        .env("SNAPGOV_USER", "other")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = active_of(&d, "trivy");
    assert_ne!(before, after);
    let start = std::time::Instant::now();
    while !changes.arrived() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(2),
            "not told of the rollback within 2 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // Told: the event loop refreshes now (as `term` does on a notification).
    let fx = d.app.on_tick(true, d.app.now());
    d.run(fx);
    let trivy = d
        .app
        .overview
        .as_ref()
        .unwrap()
        .tools
        .iter()
        .find(|t| t.name() == "trivy")
        .unwrap();
    assert_eq!(trivy.active().unwrap().id.to_string(), after);
}

#[test]
fn the_audit_browser_pages_through_the_store() {
    let mut d = Driver::demo(120, 40);
    d.keys("4");
    let a = &d.app.audit;
    assert_eq!(a.rows.len() as u64, PAGE);
    assert!(a.at_top && !a.at_bottom);
    assert!(
        matches!(a.chain, Chain::Verified { records: 300, .. }),
        "{:?}",
        a.chain
    );
    let newest = a.rows[0].0;
    assert!(a.rows.windows(2).all(|w| w[0].0 > w[1].0), "newest first");
    // Scrolling near the end fetches the next page (before_seq).
    for _ in 0..(PAGE - 10) {
        d.keys("j");
    }
    let a = &d.app.audit;
    assert!(a.rows.len() as u64 > PAGE && a.at_bottom);
    assert_eq!(a.rows.last().unwrap().0, 1);
    // G jumps to the oldest, g back to the newest.
    d.keys("g");
    d.keys("G");
    assert_eq!(d.app.audit.selected().unwrap().0, 1);
    d.keys("g");
    assert_eq!(d.app.audit.selected().unwrap().0, newest);
    // Tab shows the record's JSON and scrolls it.
    d.key(KeyCode::Tab).keys("jj");
    assert_eq!(
        (d.app.audit.focus, d.app.audit.detail_scroll),
        (Pane::Detail, 2)
    );
}

#[test]
fn a_window_far_from_the_top_pages_newer_records_back_in() {
    let mut d = Driver::demo(120, 40);
    d.keys("4G");
    let a = &d.app.audit;
    assert!(a.at_bottom && !a.at_top);
    assert_eq!(a.selected().unwrap().0, 1, "G: the oldest record");
    let window_top = a.rows[0].0;
    // Up past the window's first row loads the newer records above it.
    for _ in 0..PAGE {
        d.keys("k");
    }
    let a = &d.app.audit;
    assert!(a.rows[0].0 > window_top, "newer records were paged in");
    assert!(a.at_top);
    assert!(
        a.rows.windows(2).all(|w| w[0].0 == w[1].0 + 1),
        "one contiguous window"
    );
    assert_eq!(a.req.map(|r| r.1), None::<PageDir>);
}

#[test]
fn audit_filters_by_event_tool_user_time_and_text() {
    let mut d = Driver::demo(120, 40);
    d.keys("4f");
    // Event and tool are chosen with ← → from the known values.
    d.key(KeyCode::Right).key(KeyCode::Right);
    d.key(KeyCode::Tab).key(KeyCode::Right);
    d.key(KeyCode::Enter);
    let a = &d.app.audit;
    assert_eq!(a.query.event.as_deref(), Some("snapshot_activated"));
    assert_eq!(a.query.tool.as_deref(), Some("clair"));
    assert!(!a.rows.is_empty());
    assert!(a
        .rows
        .iter()
        .all(|(_, r)| r.event == "snapshot_activated" && r.details.to_string().contains("clair")));
    // User and a relative time range, typed.
    d.keys("x")
        .keys("f")
        .key(KeyCode::Down)
        .key(KeyCode::Down)
        .keys("bob");
    d.key(KeyCode::Down).keys("P30D").key(KeyCode::Enter);
    let a = &d.app.audit;
    assert!(a
        .rows
        .iter()
        .all(|(_, r)| r.user == "bob" && r.timestamp >= now() - chrono::Duration::days(30)));
    assert!(!a.rows.is_empty());
    // Free text.
    d.keys("x/").keys("Q4 compliance").key(KeyCode::Enter);
    let a = &d.app.audit;
    assert_eq!(a.rows.len(), 1);
    assert_eq!(a.rows[0].1.event, "retention_hold_added");
    // Nonsense is refused in the form, naming the field.
    d.keys("f").keys("nope").key(KeyCode::Enter);
    assert!(d
        .app
        .audit
        .form
        .as_ref()
        .unwrap()
        .error
        .as_deref()
        .unwrap()
        .contains("not an audit event"));
    d.key(KeyCode::Esc);
    assert!(d.app.audit.form.is_none());
    let mut f = Form::default();
    f.fields[3] = snapgov::console::widgets::TextField::with("yesterday");
    assert!(f.parse(now()).unwrap_err().starts_with("since"));
    f.fields[3] = snapgov::console::widgets::TextField::with("2025-12-01T00:00:00Z");
    f.fields[4] = snapgov::console::widgets::TextField::with("2025-11-01T00:00:00Z");
    assert!(f.parse(now()).unwrap_err().contains("after until"));
}

#[test]
fn a_broken_chain_is_named_on_the_badge() {
    let (_dir, db) = console_support::demo_db();
    console_support::sql(&db, "UPDATE audit SET \"user\" = 'mallory' WHERE seq = 120");
    let mut d = Driver::open(&db, env(), false, 120, 40);
    d.keys("4");
    match &d.app.audit.chain {
        Chain::Broken { at, .. } => assert_eq!(at, "audit-120"),
        other => panic!("{other:?}"),
    }
    assert!(d.screen().contains("✗ chain broken at audit-120"));
}

#[test]
fn the_mouse_selects_scrolls_and_switches_screens() {
    let mut d = Driver::demo(120, 40);
    let click = |x, y| MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: x,
        row: y,
        modifiers: KeyModifiers::NONE,
    };
    let b = d.buffer(&snapgov::console::theme::Theme::mono());
    let (x, y) = console_support::find(&b, "trivy ").unwrap();
    let fx = d.app.on_mouse(click(x, y));
    d.run(fx);
    assert_eq!(d.app.selected_tool().as_deref(), Some("trivy"));
    let fx = d.app.on_mouse(click(x, y));
    d.run(fx);
    assert_eq!(
        d.app.snapshots.as_ref().unwrap().tool,
        "trivy",
        "a second click opens it"
    );
    let fx = d.app.on_mouse(MouseEvent {
        kind: MouseEventKind::ScrollDown,
        column: x,
        row: y,
        modifiers: KeyModifiers::NONE,
    });
    d.run(fx);
    assert_eq!(d.app.snapshots.as_ref().unwrap().nav.sel, 1);
    let (x, _) = console_support::find(&b, "4 Audit").unwrap();
    let fx = d.app.on_mouse(click(x, 0));
    d.run(fx);
    assert_eq!(d.app.screen, Screen::Audit);
}

#[test]
fn with_a_moving_clock_ages_are_reassessed() {
    let mut d = Driver::demo(120, 40);
    d.app.live_clock = true;
    // The overview was loaded "as of" the fixed demo time, long ago for a
    // moving clock: the next refresh reloads it.
    let fx = d.app.on_tick(true, chrono::Utc::now());
    assert!(matches!(
        &fx[..],
        [Effect::Run {
            job: Job::Overview { .. },
            ..
        }]
    ));
    assert!(d.app.overview_followup);
    // Ctrl-Z suspends from anywhere, a text field included.
    d.keys("jjr")
        .key(KeyCode::Enter)
        .key(KeyCode::Enter)
        .key(KeyCode::Enter);
    let fx = d.app.on_key(crossterm::event::KeyEvent::new(
        KeyCode::Char('z'),
        KeyModifiers::CONTROL,
    ));
    assert!(matches!(&fx[..], [Effect::Suspend]));
}

// ---- issue 12: the wizard's safety -------------------------------------

/// Overview → syft → `r` → verified target → preview → reason → Confirm.
fn to_confirm(d: &mut Driver) {
    to_preview(d);
    d.key(KeyCode::Enter).keys("bad feed").key(KeyCode::Enter);
    assert!(matches!(d.app.wizard.step, WizardStep::Confirm(_)));
}

#[test]
fn a_mistyped_confirmation_never_reaches_execute() {
    let mut d = Driver::demo(120, 40);
    let before = (active_of(&d, "syft"), audit_count(&d));
    to_confirm(&mut d);
    d.keys("syfx");
    // Every way of moving the focus, then Enter: nothing runs.
    for k in [
        KeyCode::Tab,
        KeyCode::Right,
        KeyCode::Left,
        KeyCode::BackTab,
    ] {
        d.key(k);
        assert_eq!(
            d.app.wizard.confirm_focus(),
            ConfirmFocus::Cancel,
            "{k:?} cannot focus a disabled [Roll back]"
        );
        d.key(KeyCode::Enter);
        if d.app.screen != Screen::Rollback {
            // Enter on Cancel left the wizard: start again.
            to_confirm(&mut d);
            d.keys("syfx");
        }
        assert!(!matches!(d.app.wizard.step, WizardStep::Execute { .. }));
        assert!(!matches!(d.app.wizard.step, WizardStep::Result { .. }));
    }
    // The exact name then one more letter: disabled again.
    d.key(KeyCode::Backspace).keys("tx");
    assert_eq!(d.app.wizard.confirmation().unwrap().typed.text(), "syftx");
    assert_eq!(d.app.wizard.confirm_focus(), ConfirmFocus::Cancel);
    d.key(KeyCode::Tab).key(KeyCode::Enter);
    assert!(!matches!(d.app.wizard.step, WizardStep::Result { .. }));
    assert_eq!((active_of(&d, "syft"), audit_count(&d)), before);
    // The screen says why the button is disabled.
    if d.app.screen == Screen::Rollback {
        assert!(d.screen().contains("type syft"), "{}", d.screen());
    }
}

#[test]
fn a_new_wizard_starts_on_the_default_target() {
    let mut d = Driver::demo(120, 40);
    d.keys("jjr").keys("jj").key(KeyCode::Enter);
    assert!(matches!(d.app.wizard.step, WizardStep::Verify));
    d.key(KeyCode::Esc).key(KeyCode::Esc).key(KeyCode::Esc);
    assert_eq!(d.app.screen, Screen::Overview);
    // Another process changes syft meanwhile.
    let mut store = Store::open(&d.db, OpenMode::ReadWrite).unwrap();
    snapgov::ops::rollback::execute(
        &mut store,
        &env(),
        "syft",
        &snapgov::ops::rollback::Target::Previous,
        None,
        "elsewhere",
        &snapgov::ops::rollback::Quiet,
    )
    .unwrap();
    drop(store);
    let fx = d.app.on_tick(true, d.app.now());
    d.run(fx);
    d.keys("r");
    let w = &d.app.wizard;
    assert!(matches!(w.step, WizardStep::Target));
    assert_eq!(Some(w.target_nav.sel), w.default_index());
}

#[test]
fn confirm_notices_a_concurrent_change_and_a_refused_execute_is_audited() {
    let mut d = Driver::demo(120, 40);
    to_confirm(&mut d);
    let plan = d.app.wizard.plan.clone().unwrap();
    let elsewhere = d.app.wizard.targets.as_ref().unwrap().list[3]
        .id
        .to_string();
    let mut store = Store::open(&d.db, OpenMode::ReadWrite).unwrap();
    let mut other = env();
    other.user = "mallory".into();
    snapgov::ops::rollback::execute(
        &mut store,
        &other,
        "syft",
        &snapgov::ops::rollback::Target::Id(elsewhere.clone()),
        None,
        "elsewhere",
        &snapgov::ops::rollback::Quiet,
    )
    .unwrap();
    drop(store);
    // The refresh notices it on the Confirm step.
    let fx = d.app.on_tick(true, d.app.now());
    d.run(fx);
    let screen = d.screen();
    assert!(
        screen.contains("changed") && screen.contains(&elsewhere),
        "{screen}"
    );
    // Executing anyway (typed before the refresh) is refused and audited.
    let mut d2 = Driver::demo(120, 40);
    to_confirm(&mut d2);
    let mut store = Store::open(&d2.db, OpenMode::ReadWrite).unwrap();
    snapgov::ops::rollback::execute(
        &mut store,
        &other,
        "syft",
        &snapgov::ops::rollback::Target::Id(elsewhere),
        None,
        "elsewhere",
        &snapgov::ops::rollback::Quiet,
    )
    .unwrap();
    drop(store);
    let count = audit_count(&d2);
    d2.keys("syft").key(KeyCode::Enter);
    assert_eq!(
        d2.app.wizard.outcome().cloned().unwrap().unwrap_err().kind,
        FailKind::Conflict
    );
    // Refused as the CLI and the API refuse: one audit record of the
    // refused attempt, by this operator, naming what it expected.
    assert_eq!(audit_count(&d2), count + 1, "the refusal is audited once");
    let store = Store::open(&d2.db, OpenMode::ReadOnly).unwrap();
    let (_, rec) = snapgov::ops::audit::list(
        &store,
        &snapgov::store::AuditFilter {
            limit: Some(1),
            ..Default::default()
        },
    )
    .unwrap()
    .remove(0);
    assert_eq!(rec.event, "snapshot_rollback_failed");
    assert_ne!(rec.user, "mallory");
    assert_eq!(rec.details["expectedActive"], plan.from.id.as_str());
    let f = d2.app.wizard.outcome().cloned().unwrap().unwrap_err();
    assert!(f.message.contains(plan.from.id.as_str()), "{}", f.message);
}

#[test]
fn the_wizard_shows_consequences_before_confirm() {
    let mut d = Driver::demo(200, 50);
    // syft rolled back once, with a reason: its old active is marked.
    let mut store = Store::open(&d.db, OpenMode::ReadWrite).unwrap();
    let r = snapgov::ops::rollback::execute(
        &mut store,
        &env(),
        "syft",
        &snapgov::ops::rollback::Target::Previous,
        None,
        "corrupt nightly SBOM",
        &snapgov::ops::rollback::Quiet,
    )
    .unwrap();
    drop(store);
    let fx = d.app.reload_all();
    d.run(fx);
    d.keys("jjr");
    let screen = d.screen();
    assert!(screen.contains("AFTER"), "a freshness column: {screen}");
    let line = screen
        .lines()
        .find(|l| l.contains(&r.from.snapshot_id))
        .unwrap();
    assert!(
        line.contains("rolled back from") && line.contains("corrupt nightly"),
        "{line}"
    );
    // An old archived target: the tool would be critical, said before Confirm.
    let t = d.app.wizard.targets.clone().unwrap();
    let old = t
        .list
        .iter()
        .position(|s| (now() - s.imported_at).num_days() > 45)
        .expect("an old target");
    let row = screen
        .lines()
        .find(|l| l.contains(t.list[old].id.as_str()))
        .map(String::from);
    if let Some(row) = row {
        assert!(row.contains("critical"), "{row}");
    }
    d.keys("g");
    for _ in 0..old {
        d.keys("j");
    }
    d.key(KeyCode::Enter);
    assert!(matches!(d.app.wizard.step, WizardStep::Verify));
    let screen = d.screen();
    assert!(
        screen.contains("critical") && screen.contains("refused"),
        "{screen}"
    );
    d.key(KeyCode::Enter).key(KeyCode::Enter).keys("x");
    assert!(d.screen().contains("critical"), "the reason step warns too");
}

// ---- issue 12: help and audit navigation --------------------------------

#[test]
fn help_scrolls_with_the_keys_shows_this_screen_first_and_stops_at_the_end() {
    let mut d = Driver::demo(200, 50);
    d.keys("4?");
    let screen = d.screen();
    let first_title = screen
        .lines()
        .find(|l| l.contains("Audit (4)") || l.contains("Everywhere"))
        .unwrap();
    assert!(
        first_title.contains("Audit (4)"),
        "this screen's keys first"
    );
    d.keys("j");
    assert_eq!(d.app.help, Some(1), "j scrolls the help");
    d.key(KeyCode::PageDown);
    assert!(d.app.help.unwrap() > 1, "PgDn scrolls the help");
    d.keys("G");
    let end = d.app.help.unwrap();
    let screen = d.screen();
    // The last help entry is visible, and nothing scrolls past it.
    assert!(screen.contains("close the help"), "{screen}");
    d.keys("jjj").key(KeyCode::PageDown);
    assert_eq!(d.app.help, Some(end), "no scrolling into blank space");
    for _ in 0..5 {
        d.app.on_mouse(MouseEvent {
            kind: MouseEventKind::ScrollDown,
            column: 10,
            row: 10,
            modifiers: KeyModifiers::NONE,
        });
    }
    assert_eq!(d.app.help, Some(end), "nor with the wheel");
    assert!(d.screen().lines().rev().nth(2).unwrap().contains('│'));
    d.keys("k");
    assert_eq!(d.app.help, Some(end - 1));
    d.keys("g");
    assert_eq!(d.app.help, Some(0));
    d.keys("q");
    assert!(d.app.help.is_none() && !d.quit);
}

#[test]
fn audit_big_g_and_small_g_jump_to_the_ends_with_a_full_page() {
    let mut d = Driver::demo(120, 40);
    let newest = audit_count(&d);
    d.keys("4G");
    let page = d.app.page();
    let a = &d.app.audit;
    assert_eq!(a.selected().unwrap().0, 1, "G: the oldest record");
    assert_eq!(
        a.nav.offset_for(page) + page,
        a.rows.len(),
        "a full page ends on the oldest record"
    );
    let screen = d.screen();
    let shown = screen.lines().filter(|l| l.contains("snapshot_")).count();
    assert!(shown >= page - 1, "{shown} rows shown of {page}:\n{screen}");
    d.keys("g");
    let a = &d.app.audit;
    assert_eq!(a.selected().unwrap().0, newest, "one g: the newest record");
    assert_eq!(a.nav.offset_for(page), 0);
}

// ---- issue 12: hints, help and README from one keymap ------------------

#[test]
fn the_readme_lists_exactly_the_keymap() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let (b, e) = ("<!-- keys:begin -->\n", "<!-- keys:end -->");
    let start = readme.find(b).expect("README has the keys markers") + b.len();
    let end = readme.find(e).unwrap();
    let table = snapgov::console::keymap::readme_table();
    if std::env::var_os("UPDATE_README").is_some() {
        let new = format!("{}{}{}", &readme[..start], table, &readme[end..]);
        std::fs::write(&path, new).unwrap();
        return;
    }
    let have: Vec<&str> = readme[start..end].lines().collect();
    let want: Vec<&str> = table.lines().collect();
    let missing: Vec<&&str> = want.iter().filter(|l| !have.contains(l)).collect();
    let extra: Vec<&&str> = have.iter().filter(|l| !want.contains(l)).collect();
    assert!(
        have == want,
        "README's console keys differ from the keymap (UPDATE_README=1 rewrites them); missing {missing:?}, not in the keymap {extra:?}"
    );
}

fn hint_words(d: &Driver) -> Vec<String> {
    snapgov::console::keymap::hints(&d.app.scopes(), d.app.read_only)
        .into_iter()
        .map(|(k, w)| format!("{k} {w}"))
        .collect()
}

#[test]
fn hints_show_only_what_works_now() {
    // Read-only: no rollback offered anywhere.
    let (_dir, db) = console_support::demo_db();
    let mut d = Driver::open(&db, env(), true, 120, 40);
    for k in ["1", "2"] {
        d.keys(k);
        assert!(
            !hint_words(&d).iter().any(|h| h.contains("rollback")),
            "{:?}",
            hint_words(&d)
        );
    }
    d.keys("1").key(KeyCode::Enter);
    assert!(!hint_words(&d).iter().any(|h| h.contains("rollback")));
    // Retention has hints, and they work.
    let mut d = Driver::demo(120, 40);
    d.keys("5");
    assert!(!hint_words(&d).is_empty());
    d.keys("j");
    assert_eq!(d.app.retention_scroll, 1);
    // Tab on the overview does what its hint says.
    d.keys("1");
    assert!(hint_words(&d).iter().any(|h| h == "Tab timeline"));
    d.key(KeyCode::Tab);
    assert_eq!(d.app.overview_focus, Pane::Detail);
    // Zoom: one help line per key, no duplicates.
    for (_, binds) in snapgov::console::keymap::help_sections() {
        let mut labels: Vec<&str> = binds.iter().map(|b| b.label).collect();
        labels.sort();
        labels.dedup();
        assert_eq!(labels.len(), binds.len());
    }
    // After a conflict, Enter reloads, and the hint says so.
    let mut d = Driver::demo(120, 40);
    to_confirm(&mut d);
    let elsewhere = d.app.wizard.targets.as_ref().unwrap().list[3]
        .id
        .to_string();
    let mut store = Store::open(&d.db, OpenMode::ReadWrite).unwrap();
    snapgov::ops::rollback::execute(
        &mut store,
        &env(),
        "syft",
        &snapgov::ops::rollback::Target::Id(elsewhere),
        None,
        "elsewhere",
        &snapgov::ops::rollback::Quiet,
    )
    .unwrap();
    drop(store);
    d.keys("syft").key(KeyCode::Enter);
    assert!(matches!(d.app.wizard.step, WizardStep::Result { .. }));
    let h = hint_words(&d);
    assert!(h.contains(&"Enter reload".to_string()), "{h:?}");
    assert!(!h.iter().any(|x| x.contains("done")), "{h:?}");
    // Confirm: before the name is typed Enter cancels and Tab moves nothing.
    let mut d = Driver::demo(120, 40);
    to_confirm(&mut d);
    let h = hint_words(&d);
    assert!(h.contains(&"Enter cancel".to_string()), "{h:?}");
    assert!(!h.iter().any(|x| x.contains("focus")), "{h:?}");
    d.keys("syft");
    let h = hint_words(&d);
    assert!(h.contains(&"Tab ← → focus".to_string()), "{h:?}");
    assert!(h.contains(&"Enter press".to_string()), "{h:?}");
    // `/` is never a dead key: where there is nothing to filter it is not bound.
    let mut d = Driver::demo(120, 40);
    d.keys("5");
    assert!(!hint_words(&d).iter().any(|h| h.starts_with('/')));
}

// ---- issue 12 item 13: the smaller defects ------------------------------

#[test]
fn verify_and_reload_say_what_they_do() {
    let mut d = Driver::demo(120, 40);
    d.keys("4");
    d.hold = true;
    d.keys("v");
    assert!(
        d.app.flash.as_ref().unwrap().0.contains("verifying"),
        "{:?}",
        d.app.flash
    );
    d.release();
    let toast = d.app.toasts.last().expect("a toast when verification ends");
    assert!(
        toast.text.contains("verification finished"),
        "{}",
        toast.text
    );
    d.keys("1");
    d.hold = true;
    d.keys("R");
    assert!(d.app.flash.as_ref().unwrap().0.contains("reloading"));
    d.release();
}

#[test]
fn an_empty_store_says_so_on_every_screen() {
    let t = console_support::TestStore::empty();
    let db = t.location();
    Store::open(&db, OpenMode::ReadWrite).unwrap();
    let mut d = Driver::open(&db, env(), false, 120, 40);
    assert!(d.screen().contains("no tools yet"));
    d.keys("2");
    assert!(d.screen().contains("no tools yet"), "{}", d.screen());
    d.keys("4");
    let s = d.screen();
    assert!(!s.contains("verified up to - (0)"), "{s}");
    assert!(s.contains("the audit trail is empty"), "{s}");
}

#[test]
fn the_audit_detail_scroll_follows_the_selection() {
    let mut d = Driver::demo(120, 40);
    d.keys("4").key(KeyCode::Tab).keys("jjj");
    assert_eq!(d.app.audit.detail_scroll, 3);
    // A click on another row selects it: its JSON starts at the top.
    let rows =
        snapgov::console::ui::list_area(&d.app, ratatui::layout::Rect::new(0, 0, 120, 40)).unwrap();
    d.app.on_mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: rows.x + 2,
        row: rows.y + 4,
        modifiers: KeyModifiers::NONE,
    });
    assert_eq!(d.app.audit.nav.sel, 4);
    assert_eq!(d.app.audit.detail_scroll, 0);
}

#[test]
fn cut_cells_end_with_an_ellipsis_and_ages_are_compact_everywhere() {
    let mut d = Driver::demo(80, 24);
    d.keys("4");
    let s = d.screen();
    let row = s
        .lines()
        .find(|l| l.contains("snapshot_imported"))
        .unwrap()
        .to_string();
    assert!(row.trim_end_matches('│').trim_end().ends_with('…'), "{row}");
    d.resize(200, 50).keys("2");
    let s = d.screen();
    assert!(s.contains("32d23h"), "{s}");
    assert!(!s.contains("P32D"), "no ISO ages: {s}");
}

#[test]
fn a_snapshot_detail_names_its_retention_hold() {
    let mut d = Driver::demo(160, 48);
    let id = active_of(&d, "syft");
    let mut store = Store::open(&d.db, OpenMode::ReadWrite).unwrap();
    snapgov::ops::retention::hold_add(
        &mut store,
        &env(),
        &id,
        "legal case 42",
        now() + chrono::Duration::days(30),
    )
    .unwrap();
    drop(store);
    let fx = d.app.reload_all();
    d.run(fx);
    d.keys("jj").key(KeyCode::Enter);
    let s = d.screen();
    assert!(
        s.contains("retention hold until") && s.contains("legal case"),
        "{s}"
    );
}

#[test]
fn a_directory_as_db_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let err = snapgov::console::run(snapgov::console::Options {
        db: dir.path().into(),
        env: env(),
        read_only: false,
        color: false,
    })
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("is a directory") && err.contains(&dir.path().display().to_string()),
        "{err}"
    );
}

// ---- issue 12 item 10: text fields ---------------------------------------

#[test]
fn text_fields_edit_like_a_shell_and_errors_sit_beside_them() {
    let mut d = Driver::demo(120, 40);
    to_preview(&mut d);
    d.key(KeyCode::Enter);
    assert!(matches!(d.app.wizard.step, WizardStep::Reason));
    d.keys("hello world");
    d.key(KeyCode::Home).keys("X");
    assert_eq!(d.app.wizard.reason.text(), "Xhello world");
    d.key(KeyCode::End).ctrl('w');
    assert_eq!(d.app.wizard.reason.text(), "Xhello ");
    d.key(KeyCode::Left).key(KeyCode::Left).keys("-");
    assert_eq!(d.app.wizard.reason.text(), "Xhell-o ");
    d.ctrl('u');
    assert_eq!(d.app.wizard.reason.text(), "");
    d.key(KeyCode::Enter);
    let s = d.screen();
    let lines: Vec<&str> = s.lines().collect();
    let at = lines.iter().position(|l| l.contains("Reason:")).unwrap();
    assert!(
        lines[at + 1].contains("a reason is required"),
        "the error sits under its field:\n{s}"
    );
    // The audit filter form: the same editing, and ← → still choose events.
    d.key(KeyCode::Esc).key(KeyCode::Esc).key(KeyCode::Esc);
    d.keys("4f");
    d.key(KeyCode::Right);
    assert_eq!(
        d.app.audit.form.as_ref().unwrap().fields[0].text(),
        "snapshot_imported"
    );
    for _ in 0..5 {
        d.key(KeyCode::Tab);
    }
    d.keys("abc").key(KeyCode::Left).keys("X");
    assert_eq!(d.app.audit.form.as_ref().unwrap().fields[5].text(), "abXc");
}

// ---- issue 12 item 8: a readable, navigable timeline ----------------------

fn row_of<'a>(screen: &'a str, tool: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.starts_with(&format!("│{tool} ")))
        .unwrap_or_else(|| panic!("no row for {tool}:\n{screen}"))
}

#[test]
fn timeline_marks_show_state_without_colour() {
    let d = Driver::demo(160, 48);
    let mono =
        console_support::text(&d.buffer(&snapgov::console::theme::Theme::new("auto", false)));
    // The active snapshot has its own glyph, readable without colour.
    for tool in ["syft", "trivy"] {
        assert!(row_of(&mono, tool).contains('◆'), "{}", row_of(&mono, tool));
    }
    // syft and trivy were rolled back from a snapshot 25 / 40 days ago.
    assert!(
        row_of(&mono, "syft").contains('↶'),
        "{}",
        row_of(&mono, "syft")
    );
    assert!(
        row_of(&mono, "trivy").contains('↶'),
        "{}",
        row_of(&mono, "trivy")
    );
    // Failed (✗) and critical (✖) are never both timeline marks.
    assert!(row_of(&mono, "trivy").contains('✗'));
    let tl: String = row_of(&mono, "trivy").chars().skip(60).collect();
    assert!(!tl.contains('✖'), "{tl}");
    // The legend names every mark glyph the timeline uses.
    let legend = mono.lines().find(|l| l.contains("archived")).unwrap();
    for g in ["◆", "○", "▣", "↶", "✗", "⊘", "·"] {
        assert!(legend.contains(g), "{g} in the legend: {legend}");
    }
}

#[test]
fn an_active_snapshot_outside_the_window_is_marked() {
    let (_dir, db) = console_support::demo_db();
    let later = now() + chrono::Duration::days(90);
    let mut d = Driver::open(&db, console_support::env_at(later), false, 160, 48);
    d.keys("+++");
    let s = d.screen();
    for tool in ["clair", "syft", "trivy"] {
        assert!(row_of(&s, tool).contains('◀'), "{}", row_of(&s, tool));
    }
    assert!(
        s.contains("active snapshot is older than the window"),
        "{s}"
    );
}

#[test]
fn axis_labels_never_collide() {
    for w in [80u16, 120, 200] {
        let mut d = Driver::demo(w, 40);
        for _ in 0..8 {
            let s = d.screen();
            let lines: Vec<&str> = s.lines().collect();
            let at = lines
                .iter()
                .position(|l| (l.contains('┤') || l.contains('┴')) && l.contains('─'))
                .unwrap_or_else(|| panic!("{w}: no axis:\n{s}"));
            let labels = lines[at + 1];
            let days = d.app.window_days;
            assert!(!labels.contains("now now"), "{labels}");
            assert_eq!(labels.matches("now").count(), 1, "{w}×{days}: {labels}");
            assert!(
                labels.contains(&format!("-{days}d")),
                "{w}×{days}: {labels}"
            );
            for tok in labels.split_whitespace().filter(|t| !t.starts_with('│')) {
                let tok = tok.trim_end_matches('│');
                let ok = tok == "now"
                    || tok == format!("-{days}d")
                    || ["△", "▲", "✖"].iter().any(|g| {
                        tok.starts_with(g)
                            && tok[g.len()..].chars().all(|c| c.is_ascii_alphanumeric())
                    })
                    || tok.is_empty()
                    || tok.contains("thresholds")
                    || tok.contains(':')
                    || tok.chars().all(|c| c.is_ascii_alphanumeric());
                assert!(ok, "{w}×{days}: a collided label {tok:?} in {labels}");
            }
            d.keys("-");
        }
    }
}

#[test]
fn the_timeline_cursor_moves_mark_to_mark_and_describes_it() {
    let mut d = Driver::demo(160, 48);
    d.keys("jj").key(KeyCode::Tab);
    let marks = d.app.overview.as_ref().unwrap().tools[2].marks.clone();
    let s = d.screen();
    assert!(
        s.contains(marks[0].id.as_str()) && s.contains("active"),
        "{s}"
    );
    d.key(KeyCode::Left).key(KeyCode::Left);
    let s = d.screen();
    let info = s
        .lines()
        .find(|l| l.contains(marks[2].id.as_str()))
        .unwrap();
    assert!(
        info.contains(&marks[2].record_count.to_string()) && info.contains("records"),
        "{info}"
    );
    assert!(info.contains("hold"), "says whether it is held: {info}");
    d.key(KeyCode::Esc);
    assert_eq!(d.app.overview_focus, Pane::List);
}

// ---- issue 12 item 9: small screens ---------------------------------------

#[test]
fn every_screen_is_complete_at_80x24_and_below_it_the_size_is_named() {
    let mut d = Driver::demo(79, 24);
    assert!(d.screen().contains("need 80×24"), "{}", d.screen());
    d.resize(80, 23);
    assert!(d.screen().contains("need 80×24"));
    d.resize(80, 24);
    let s = d.screen();
    assert!(
        s.contains("ACTIVE SNAPSHOT") && s.contains("FRESHNESS"),
        "{s}"
    );
    assert!(s.contains("┊sla"), "the legend is whole: {s}");
    d.keys("jjr").key(KeyCode::Enter);
    let s = d.screen();
    assert!(
        s.contains("would change") && s.contains("Enter:"),
        "Verify keeps its outcome and its keys at 80×24:\n{s}"
    );
}

// ---- issue 12 item 7: the diff detail -------------------------------------

/// Overview → trivy → `r` → an older target verified → preview.
fn trivy_preview(d: &mut Driver) {
    d.keys("jjjr")
        .keys("jjjjjjjj")
        .key(KeyCode::Enter)
        .key(KeyCode::Enter);
    assert!(matches!(d.app.wizard.step, WizardStep::Preview));
}

#[test]
fn the_diff_detail_shows_full_values_grouped_and_sorted() {
    let mut d = Driver::demo(200, 50);
    trivy_preview(&mut d);
    // Load every page.
    d.keys("G");
    let items = d.app.wizard.preview.items.clone();
    assert!(items.len() > 5, "{}", items.len());
    // Grouped by change type.
    let order = |c: Change| match c {
        Change::Added => 0,
        Change::Removed => 1,
        Change::Changed => 2,
    };
    assert!(
        items
            .windows(2)
            .all(|w| order(w[0].change) <= order(w[1].change)),
        "grouped by change"
    );
    // A changed record: each differing field old and new, in full.
    let i = items
        .iter()
        .position(|it| it.change == Change::Changed)
        .unwrap();
    let it = &items[i];
    let lines = snapgov::console::wizard::detail_lines(it);
    let (o, n) = (it.old.as_ref().unwrap(), it.new.as_ref().unwrap());
    let field = o
        .as_object()
        .unwrap()
        .keys()
        .find(|k| o[k.as_str()] != n[k.as_str()])
        .unwrap();
    let old_full = serde_json::to_string_pretty(&o[field.as_str()]).unwrap();
    let new_full = serde_json::to_string_pretty(&n[field.as_str()]).unwrap();
    let text = lines.join("\n");
    assert!(text.contains(&format!("{field}:")), "{text}");
    for l in old_full.lines().chain(new_full.lines()) {
        assert!(text.contains(l.trim()), "{l} in\n{text}");
    }
    assert!(!text.contains('…'), "{text}");
    // An added record, pretty-printed.
    if let Some(a) = items.iter().find(|it| it.change == Change::Added) {
        let lines = snapgov::console::wizard::detail_lines(a);
        let pretty = serde_json::to_string_pretty(a.new.as_ref().unwrap()).unwrap();
        for l in pretty.lines() {
            assert!(lines.iter().any(|x| x.contains(l)), "{l}");
        }
    }
    // Sorted by severity, worst first, with `o`.
    d.keys("o");
    let rank = |s: &Option<snapgov::domain::record::Severity>| match s.map(|s| s.as_str()) {
        Some("critical") => 0,
        Some("high") => 1,
        Some("medium") => 2,
        Some("low") => 3,
        Some(_) => 4,
        None => 5,
    };
    let items = &d.app.wizard.preview.items;
    assert!(
        items
            .windows(2)
            .all(|w| rank(&w[0].severity) <= rank(&w[1].severity)),
        "worst first"
    );
    // Next critical: from the top, C lands on a critical record, then the next.
    let crit: Vec<usize> = items
        .iter()
        .enumerate()
        .filter(|(_, it)| it.severity.map(|s| s.as_str()) == Some("critical"))
        .map(|(i, _)| i)
        .collect();
    d.keys("xG");
    let items = d.app.wizard.preview.items.clone();
    let crit_x: Vec<usize> = items
        .iter()
        .enumerate()
        .filter(|(_, it)| it.severity.map(|s| s.as_str()) == Some("critical"))
        .map(|(i, _)| i)
        .collect();
    assert!(!crit.is_empty() && crit.len() == crit_x.len());
    d.keys("gC");
    assert_eq!(d.app.wizard.preview.nav.sel, crit_x[0]);
}

// ---- issue 12: governance actions from the console ------------------------

fn newest_audit(d: &Driver) -> snapgov::domain::audit::AuditRecord {
    let store = Store::open(&d.db, OpenMode::ReadOnly).unwrap();
    snapgov::ops::audit::list(
        &store,
        &snapgov::store::AuditFilter {
            limit: Some(1),
            ..Default::default()
        },
    )
    .unwrap()
    .remove(0)
    .1
}

fn state_of(d: &Driver, id: &str) -> String {
    let store = Store::open(&d.db, OpenMode::ReadOnly).unwrap();
    store.get_snapshot(id).unwrap().unwrap().state.to_string()
}

#[test]
fn expire_from_the_console_needs_a_reason_and_the_exact_name_and_is_audited() {
    let mut d = Driver::demo(120, 40);
    d.keys("jj").key(KeyCode::Enter).keys("j");
    let id = d.app.snapshots.as_ref().unwrap().items[1].id.to_string();
    let before = audit_count(&d);
    d.keys("e");
    assert!(d.app.dialog.is_some());
    // No reason: refused, beside the field.
    d.key(KeyCode::Enter);
    assert!(
        d.screen().contains("a reason is required"),
        "{}",
        d.screen()
    );
    d.keys("feed was wrong")
        .key(KeyCode::Tab)
        .keys("syfx")
        .key(KeyCode::Enter);
    assert!(d.screen().contains("type syft exactly"), "{}", d.screen());
    assert_eq!(
        (audit_count(&d), state_of(&d, &id)),
        (before, "previous".into())
    );
    d.key(KeyCode::Backspace).keys("t").key(KeyCode::Enter);
    assert!(d.app.dialog.is_none());
    assert_eq!(state_of(&d, &id), "expired");
    let rec = newest_audit(&d);
    assert_eq!(rec.event.as_str(), "snapshot_expired");
    assert_eq!(rec.user, "tester");
    assert_eq!(rec.details["reason"], "feed was wrong");
    assert!(d.app.flash.as_ref().unwrap().0.contains("expired"));
}

#[test]
fn holds_are_added_and_removed_from_the_console() {
    let mut d = Driver::demo(120, 40);
    d.keys("jj").key(KeyCode::Enter).keys("jj");
    let id = d.app.snapshots.as_ref().unwrap().items[2].id.clone();
    d.keys("h").keys("legal case 7").key(KeyCode::Enter);
    assert!(d.app.dialog.is_none(), "{}", d.screen());
    let rec = newest_audit(&d);
    assert_eq!(rec.event.as_str(), "retention_hold_added");
    let store = Store::open(&d.db, OpenMode::ReadOnly).unwrap();
    let h = store
        .holds()
        .unwrap()
        .into_iter()
        .find(|h| h.snapshot_id == id)
        .unwrap();
    assert_eq!(h.expires_at, now() + chrono::Duration::days(30));
    drop(store);
    assert!(d.screen().contains("legal case 7"), "the detail names it");
    d.keys("H").key(KeyCode::Enter);
    assert_eq!(newest_audit(&d).event.as_str(), "retention_hold_removed");
    // Esc cancels and changes nothing.
    let before = audit_count(&d);
    d.keys("h").key(KeyCode::Esc);
    assert!(d.app.dialog.is_none() && audit_count(&d) == before);
}

#[test]
fn retention_runs_after_its_dry_run_and_a_checkpoint_verifies() {
    let mut d = Driver::demo(120, 40);
    d.keys("5X");
    let dlg = d.app.dialog.as_ref().unwrap();
    let p = dlg.preview.as_ref().expect("the dry run first");
    let planned = p.archived.len() + p.deleted.len();
    assert!(d.screen().contains("dry run: would archive"));
    d.keys("ru").key(KeyCode::Enter);
    assert!(d.app.dialog.is_some(), "run must be typed exactly");
    d.keys("n").key(KeyCode::Enter);
    assert!(d.app.dialog.is_none(), "{}", d.screen());
    let store = Store::open(&d.db, OpenMode::ReadOnly).unwrap();
    let by_me = |ev: &str| {
        snapgov::ops::audit::list(
            &store,
            &snapgov::store::AuditFilter {
                event: Some(ev.into()),
                user: Some("tester".into()),
                ..Default::default()
            },
        )
        .unwrap()
        .len()
    };
    // Audited as the CLI's run is: one record per snapshot it archived or deleted.
    assert!(planned > 0, "the demo has something to retain");
    assert_eq!(
        by_me("snapshot_archived") + by_me("snapshot_deleted"),
        planned
    );
    drop(store);
    // Checkpoint + verify.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cp.json");
    d.keys("4c");
    d.ctrl('u')
        .keys(&file.display().to_string())
        .key(KeyCode::Enter);
    assert!(d.app.dialog.is_none(), "{}", d.screen());
    assert!(file.exists());
    assert!(
        d.app
            .flash
            .as_ref()
            .unwrap()
            .0
            .contains("the chain verifies"),
        "{:?}",
        d.app.flash
    );
}

#[test]
fn roll_forward_again_after_a_rollback() {
    let mut d = Driver::demo(120, 40);
    let before = active_of(&d, "syft");
    to_confirm(&mut d);
    d.keys("syft").key(KeyCode::Enter).key(KeyCode::Enter);
    assert_ne!(active_of(&d, "syft"), before);
    // In syft's list, the snapshot rolled back from is offered as a target.
    d.keys("1").keys("gjj").key(KeyCode::Enter);
    let i = d
        .app
        .snapshots
        .as_ref()
        .unwrap()
        .items
        .iter()
        .position(|s| s.id == before)
        .unwrap();
    d.keys("g");
    for _ in 0..i {
        d.keys("j");
    }
    d.keys("r");
    assert!(matches!(d.app.wizard.step, WizardStep::Target));
    let w = &d.app.wizard;
    assert_eq!(
        w.targets.as_ref().unwrap().list[w.target_nav.sel].id,
        before
    );
    d.key(KeyCode::Enter)
        .key(KeyCode::Enter)
        .key(KeyCode::Enter);
    d.keys("forward again")
        .key(KeyCode::Enter)
        .keys("syft")
        .key(KeyCode::Enter);
    assert_eq!(active_of(&d, "syft"), before);
}

#[test]
fn read_only_hides_every_governance_action() {
    let (_dir, db) = console_support::demo_db();
    let mut d = Driver::open(&db, env(), true, 120, 40);
    let before = audit_count(&d);
    d.keys("jj").key(KeyCode::Enter);
    for k in ["e", "h", "H"] {
        d.keys(k);
        assert!(d.app.dialog.is_none(), "{k}");
    }
    let h = hint_words(&d);
    assert!(
        !h.iter().any(|x| x.contains("expire") || x.contains("hold")),
        "{h:?}"
    );
    d.keys("5X");
    assert!(d.app.dialog.is_none());
    d.keys("4c");
    assert!(d.app.dialog.is_none());
    assert!(d.app.flash.as_ref().unwrap().0.contains("read-only"));
    assert_eq!(audit_count(&d), before);
}

// ---- issue 12: copy, toasts, position counters ----------------------------

#[test]
fn y_copies_the_selected_id() {
    let mut d = Driver::demo(120, 40);
    d.keys("jj").key(KeyCode::Enter).keys("jy");
    let id = d.app.snapshots.as_ref().unwrap().items[1].id.to_string();
    assert_eq!(d.copied, vec![id.clone()]);
    assert!(d.app.flash.as_ref().unwrap().0.contains(&id));
    d.key(KeyCode::Esc).keys("4y");
    assert_eq!(d.copied[1], d.app.audit.rows[0].1.id);
    d.key(KeyCode::Tab).keys("y");
    assert_eq!(
        d.copied[2], d.app.audit.rows[0].1.hash,
        "the hash from the detail"
    );
}

#[test]
fn changes_made_elsewhere_are_toasted() {
    let mut d = Driver::demo(120, 40);
    let mut store = Store::open(&d.db, OpenMode::ReadWrite).unwrap();
    let old = store
        .list_snapshots(&snapgov::store::SnapshotFilter {
            tool: Some("trivy".into()),
            state: Some(snapgov::domain::snapshot::SnapshotState::Archived),
            limit: Some(1),
            ..Default::default()
        })
        .unwrap()
        .remove(0);
    snapgov::ops::rollback::execute(
        &mut store,
        &env(),
        "trivy",
        &snapgov::ops::rollback::Target::Id(old.id.to_string()),
        None,
        "elsewhere",
        &snapgov::ops::rollback::Quiet,
    )
    .unwrap();
    drop(store);
    let fx = d.app.on_tick(true, d.app.now());
    d.run(fx);
    let texts: Vec<&str> = d.app.toasts.iter().map(|t| t.text.as_str()).collect();
    assert!(
        texts
            .iter()
            .any(|t| t.contains("trivy: the active snapshot is now")),
        "{texts:?}"
    );
    assert!(
        texts.iter().any(|t| t.contains("trivy became")),
        "{texts:?}"
    );
    assert!(d.screen().contains("trivy became"));
    // They fade.
    for _ in 0..snapgov::console::app::TOAST_TICKS {
        d.app.on_tick(false, d.app.now());
    }
    assert!(d.app.toasts.is_empty());
}

#[test]
fn long_lists_show_their_position() {
    let mut d = Driver::demo(120, 40);
    d.keys("jj").key(KeyCode::Enter);
    assert!(d.screen().contains("1/64"), "{}", d.screen());
    d.keys("jjj");
    assert!(d.screen().contains("4/64"));
    d.key(KeyCode::Esc).keys("4");
    assert!(d.screen().contains("1/200"), "{}", d.screen());
}

/// The row of the list on screen that shows `label` (its first cell).
fn line_of(d: &Driver, label: &str) -> Option<u16> {
    let buf = d.buffer(&snapgov::console::theme::Theme::mono());
    console_support::find(&buf, label).map(|(_, y)| y)
}

#[test]
fn slash_narrows_lists_as_you_type_with_n_and_shift_n() {
    let mut d = Driver::demo(120, 40);
    d.keys("/tri");
    assert_eq!(
        d.app.selected_tool().as_deref(),
        Some("trivy"),
        "as you type"
    );
    let screen = d.screen();
    assert!(screen.contains("filter: tri"), "{screen}");
    assert!(screen.contains("1/1 of 4"), "{screen}");
    assert!(
        !screen.contains("clair"),
        "non-matching rows hidden: {screen}"
    );
    // The matched text is highlighted (underlined and bold: it reads
    // without colour), the rest of the row is not.
    let buf = d.buffer(&snapgov::console::theme::Theme::new("auto", false));
    let (x, y) = console_support::find(&buf, "trivy ").unwrap();
    let m = |x: u16| buf[(x, y)].modifier;
    use ratatui::style::Modifier;
    assert!((0..3).all(|i| m(x + i).contains(Modifier::UNDERLINED | Modifier::BOLD)));
    assert!(!m(x + 3).contains(Modifier::UNDERLINED));
    // Esc clears it: every row is back.
    d.key(KeyCode::Esc);
    assert!(d.app.find.is_none());
    assert!(d.screen().contains("clair"));
    assert_eq!(d.app.selected_tool().as_deref(), Some("trivy"));

    // "s" matches licensewatch and syft; from trivy it wraps to the first.
    d.keys("/s");
    assert_eq!(d.app.selected_tool().as_deref(), Some("licensewatch"));
    d.key(KeyCode::Enter);
    let screen = d.screen();
    assert!(
        !screen.contains("clair") && !screen.contains("trivy"),
        "Enter keeps the filter: {screen}"
    );
    assert!(screen.contains("filter: s  1/2 of 4"), "{screen}");
    let (lw, sy) = (
        line_of(&d, "licensewatch ").unwrap(),
        line_of(&d, "syft ").unwrap(),
    );
    assert_eq!(sy, lw + 1, "the remaining rows close up");
    // j/k and G/g move among the remaining rows only.
    d.keys("j");
    assert_eq!(d.app.selected_tool().as_deref(), Some("syft"));
    d.keys("j");
    assert_eq!(
        d.app.selected_tool().as_deref(),
        Some("syft"),
        "the last match"
    );
    d.keys("k");
    assert_eq!(d.app.selected_tool().as_deref(), Some("licensewatch"));
    d.keys("G");
    assert_eq!(d.app.selected_tool().as_deref(), Some("syft"));
    assert!(d.screen().contains("filter: s  2/2 of 4"));
    d.keys("g");
    assert_eq!(d.app.selected_tool().as_deref(), Some("licensewatch"));
    d.keys("n");
    assert_eq!(d.app.selected_tool().as_deref(), Some("syft"));
    d.keys("n");
    assert_eq!(
        d.app.selected_tool().as_deref(),
        Some("licensewatch"),
        "wraps"
    );
    d.keys("N");
    assert_eq!(d.app.selected_tool().as_deref(), Some("syft"));
    // A click on a shown row selects the tool drawn there.
    let fx = d.app.on_mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: 3,
        row: lw,
        modifiers: KeyModifiers::NONE,
    });
    d.run(fx);
    assert_eq!(d.app.selected_tool().as_deref(), Some("licensewatch"));
    d.key(KeyCode::Esc);
    assert!(d.app.find.is_none() && d.screen().contains("clair"));

    // No match: nothing shown, and Enter opens nothing hidden.
    d.keys("/zzz").key(KeyCode::Enter);
    assert!(
        d.screen().contains("filter: zzz  no match"),
        "{}",
        d.screen()
    );
    d.key(KeyCode::Enter);
    assert!(d.app.snapshots.is_none(), "a hidden row is not opened");
    d.key(KeyCode::Esc);

    // In a snapshot list, by id.
    d.keys("gjj").key(KeyCode::Enter).keys("/1120");
    let l = d.app.snapshots.as_ref().unwrap();
    assert!(
        l.items[l.nav.sel].id.as_str().contains("1120"),
        "{}",
        l.items[l.nav.sel].id
    );
    let total = l.items.len();
    let matching = l
        .items
        .iter()
        .filter(|s| s.id.as_str().contains("1120"))
        .count();
    assert!(matching < total);
    let screen = d.screen();
    assert!(
        screen.contains(&format!("1/{matching} of {total}")),
        "{screen}"
    );
    let newest = l.items[0].id.as_str().trim_start_matches("syft-");
    assert!(!screen.contains(newest), "the newest is hidden: {screen}");
    let first_row = screen.lines().nth(3).unwrap();
    assert!(first_row.contains("1120"), "{screen}");
}

#[test]
fn slash_narrows_the_wizard_lists() {
    let mut d = Driver::demo(120, 40);
    d.keys("3/sy");
    assert_eq!(d.app.wizard.tools[d.app.wizard.tool_nav.sel].name, "syft");
    assert!(!d.screen().contains("clair"), "{}", d.screen());
    d.key(KeyCode::Enter).key(KeyCode::Enter);
    assert!(
        matches!(d.app.wizard.step, WizardStep::Target),
        "{}",
        d.screen()
    );
    assert!(d.app.find.is_none(), "a new list starts unfiltered");
    let targets = d.app.wizard.targets.as_ref().unwrap().list.clone();
    let pick = targets.last().unwrap().id.to_string();
    // Its timestamp: unique to it.
    let needle = &pick[pick.len() - 20..pick.len() - 4];
    d.keys("/").keys(needle).key(KeyCode::Enter);
    assert_eq!(
        targets[d.app.wizard.target_nav.sel].id,
        pick,
        "{}",
        d.screen()
    );
    let other = &targets[0].id;
    assert!(!d.screen().contains(other.as_str()), "{}", d.screen());
}

#[test]
fn slash_narrows_the_diff_rows_then_searches_the_whole_diff() {
    let mut d = Driver::demo(120, 40);
    to_preview(&mut d);
    let loaded = d.app.wizard.preview.items.clone();
    let pick = loaded.last().unwrap().clone();
    let needle = pick.identity.clone();
    let other = loaded
        .iter()
        .find(|i| !i.identity.contains(&needle))
        .unwrap()
        .identity
        .clone();
    assert!(d.screen().contains(&other), "{}", d.screen());
    d.keys("/").keys(&needle);
    // As you type: the rows loaded narrow at once, nothing is asked of the store.
    assert_eq!(d.app.wizard.preview.items.len(), loaded.len());
    assert_eq!(
        d.app.wizard.preview.items[d.app.wizard.preview.nav.sel].identity,
        pick.identity
    );
    let screen = d.screen();
    assert!(!screen.contains(&other), "{screen}");
    assert!(screen.contains(&format!("filter: {needle}")), "{screen}");
    // Enter keeps it and searches the whole diff in the store.
    d.key(KeyCode::Enter);
    let p = &d.app.wizard.preview;
    assert_eq!(p.filter.text.as_deref(), Some(needle.as_str()));
    assert!(!p.items.is_empty() && p.items.iter().all(|i| i.identity.contains(&needle)));
    assert!(d.app.find.is_some(), "the filter stays");
    assert!(matches!(d.app.wizard.step, WizardStep::Preview));
    // Esc clears both: every row is back.
    d.key(KeyCode::Esc);
    assert!(d.app.find.is_none());
    assert_eq!(d.app.wizard.preview.filter.text, None);
    assert_eq!(d.app.wizard.preview.items.len(), loaded.len());
    assert!(
        matches!(d.app.wizard.step, WizardStep::Preview),
        "Esc clears, it does not go back"
    );
    assert!(d.screen().contains(&other));
}

#[test]
fn slash_narrows_the_audit_rows_then_searches_the_trail() {
    let mut d = Driver::demo(120, 40);
    d.keys("4");
    let loaded = d.app.audit.rows.clone();
    let hit = loaded
        .iter()
        .position(|(_, r)| r.event == "snapshot_rolled_back")
        .expect("the demo has a rollback");
    let miss = loaded
        .iter()
        .find(|(_, r)| {
            !r.event.contains("rolled")
                && !r.details.to_string().contains("rolled")
                && !r.user.contains("rolled")
        })
        .unwrap()
        .1
        .id
        .clone();
    assert!(d.screen().contains(&format!("│{miss} ")));
    d.keys("/rolled_b");
    assert_eq!(
        d.app.audit.rows.len(),
        loaded.len(),
        "the loaded rows narrow"
    );
    assert_eq!(d.app.audit.nav.sel, hit);
    let screen = d.screen();
    assert!(!screen.contains(&format!("│{miss} ")), "{screen}");
    assert!(screen.contains("filter: rolled_b"), "{screen}");
    d.key(KeyCode::Enter);
    assert_eq!(d.app.audit.query.text.as_deref(), Some("rolled_b"));
    assert!(d
        .app
        .audit
        .rows
        .iter()
        .all(|(_, r)| r.event.contains("rolled_b") || r.details.to_string().contains("rolled_b")));
    d.key(KeyCode::Esc);
    assert!(d.app.find.is_none());
    assert_eq!(d.app.audit.query.text, None);
    assert_eq!(d.app.audit.rows.len(), loaded.len());
    // The store-side filter form (f) is still there.
    d.keys("f");
    assert!(d.app.audit.form.is_some());
}

/// The clock is an input of the state machine, never read inside it: a
/// tick carries "now", and the overview's ages are re-assessed once the
/// ticked clock is 30 s past them (a live clock), not before, whatever the
/// wall clock says.
#[test]
fn the_clock_reaches_the_state_only_through_ticks() {
    let mut d = Driver::demo(120, 40);
    d.app.live_clock = true;
    let at = d.app.overview.as_ref().unwrap().now;
    let fx = d.app.on_tick(true, at + chrono::Duration::seconds(10));
    assert!(d.app.overview_req.is_none(), "reloaded after 10 s: {fx:?}");
    d.run(fx);
    let fx = d.app.on_tick(true, at + chrono::Duration::seconds(31));
    assert!(
        d.app.overview_req.is_some(),
        "not reloaded after 31 s: {fx:?}"
    );
    d.run(fx);
}

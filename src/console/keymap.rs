//! The one keymap table: each entry is a key (or keys), the action it
//! triggers in a scope, and its help text. The bottom hint bar and the help
//! screen are both generated from this table, so they cannot disagree with
//! what the keys do.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key asks for. The app's state machines handle actions, never keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Quit,
    ForceQuit,
    Suspend,
    Back,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Enter,
    NextPane,
    PrevPane,
    Search,
    /// Go to screen 1–5 (0 in the table: the digit pressed).
    Screen(u8),
    Help,
    Rollback,
    Refresh,
    ZoomIn,
    ZoomOut,
    Filter,
    ClearFilters,
    VerifyChain,
    CycleChange,
    CycleKind,
    CycleSeverity,
    /// Copy the selected id (OSC 52).
    Copy,
    /// The next / previous row matching the `/` find.
    NextMatch,
    PrevMatch,
    Expire,
    HoldAdd,
    HoldRemove,
    RetentionRun,
    Checkpoint,
    /// The diff list: grouped by change, or worst severity first.
    ToggleSort,
    /// The diff list: the next critical finding.
    NextCritical,
    Backspace,
}

impl Action {
    /// Actions that change the store: not offered in a read-only console.
    pub fn writes(self) -> bool {
        matches!(
            self,
            Action::Rollback
                | Action::Expire
                | Action::HoldAdd
                | Action::HoldRemove
                | Action::RetentionRun
                | Action::Checkpoint
        )
    }
}

/// Where a binding applies. Several scopes are active at once, most
/// specific first; text-entry scopes take every printable key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    Global,
    Overview,
    Snapshots,
    Sla,
    WizardList,
    WizardVerify,
    WizardPreview,
    WizardReason,
    WizardConfirm,
    /// Confirm with the tool's name typed exactly: [ Roll back ] is enabled.
    WizardConfirmReady,
    /// Confirm after a refresh saw the active snapshot change.
    WizardStale,
    WizardRunning,
    WizardResult,
    /// The result of a refused rollback (conflict, integrity): Enter retries.
    WizardRetry,
    Audit,
    AuditForm,
    Retention,
    /// A governance action's dialog (expire, hold, retention, checkpoint).
    Dialog,
    Input,
    Help,
}

impl Scope {
    pub fn title(self) -> &'static str {
        match self {
            Scope::Global => "Everywhere",
            Scope::Overview => "Overview (1)",
            Scope::Snapshots => "Snapshot list",
            Scope::Sla => "SLA (2)",
            Scope::WizardList => "Rollback (3): choosing the tool or target",
            Scope::WizardVerify => "Rollback: verification",
            Scope::WizardPreview => "Rollback: dry-run diff",
            Scope::WizardReason => "Rollback: reason",
            Scope::WizardConfirm => "Rollback: confirmation, name not typed yet",
            Scope::WizardConfirmReady => "Rollback: confirmation, name typed",
            Scope::WizardStale => "Rollback: confirmation, after a change elsewhere",
            Scope::WizardRunning => "Rollback: running",
            Scope::WizardResult => "Rollback: result",
            Scope::WizardRetry => "Rollback: refused (conflict or integrity)",
            Scope::Audit => "Audit (4)",
            Scope::AuditForm => "Audit filters",
            Scope::Retention => "Retention (5)",
            Scope::Dialog => "A governance action's dialog",
            Scope::Input => "Typing in a field",
            Scope::Help => "Help",
        }
    }

    /// Scopes whose printable keys go into a text field.
    pub fn takes_text(self) -> bool {
        matches!(
            self,
            Scope::Input
                | Scope::AuditForm
                | Scope::WizardReason
                | Scope::WizardConfirm
                | Scope::WizardConfirmReady
                | Scope::Dialog
        )
    }
}

/// A key as the table writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum K {
    Ch(char),
    Ctrl(char),
    Code(KeyCode),
}

impl K {
    pub fn matches(self, ev: &KeyEvent) -> bool {
        let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
        let alt = ev.modifiers.contains(KeyModifiers::ALT);
        match self {
            K::Ch(c) => !ctrl && !alt && ev.code == KeyCode::Char(c),
            K::Ctrl(c) => ctrl && matches!(ev.code, KeyCode::Char(x) if x.eq_ignore_ascii_case(&c)),
            K::Code(code) => ev.code == code,
        }
    }
}

#[derive(Debug)]
pub struct Binding {
    pub scope: Scope,
    pub keys: &'static [K],
    /// How the help and hint bar write the key(s).
    pub label: &'static str,
    pub action: Action,
    /// The help screen's text.
    pub help: &'static str,
    /// The hint bar's word, if the binding is shown there.
    pub hint: Option<&'static str>,
}

const fn b(
    scope: Scope,
    keys: &'static [K],
    label: &'static str,
    action: Action,
    help: &'static str,
    hint: Option<&'static str>,
) -> Binding {
    Binding {
        scope,
        keys,
        label,
        action,
        help,
        hint,
    }
}

use Action as A;
use KeyCode as C;
use Scope as S;

const UP: &[K] = &[K::Code(C::Up), K::Ch('k')];
const DOWN: &[K] = &[K::Code(C::Down), K::Ch('j')];
const ENTER: &[K] = &[K::Code(C::Enter)];
const ESC: &[K] = &[K::Code(C::Esc)];
const TAB: &[K] = &[K::Code(C::Tab)];
const BACKSPACE: &[K] = &[K::Code(C::Backspace)];

/// The keymap. Order matters only for display.
pub static BINDINGS: &[Binding] = &[
    // Specific scopes first: their hints lead the bar.
    b(
        S::Overview,
        ENTER,
        "Enter",
        A::Enter,
        "open the selected tool's snapshot list",
        Some("snapshots"),
    ),
    b(
        S::Overview,
        &[K::Ch('r')],
        "r",
        A::Rollback,
        "roll the selected tool back (wizard)",
        Some("rollback"),
    ),
    b(
        S::Overview,
        &[K::Ch('/')],
        "/",
        A::Search,
        "filter the tools as you type, matches highlighted (n N: next / previous match)",
        Some("filter"),
    ),
    b(
        S::Overview,
        &[K::Ch('+'), K::Ch('=')],
        "+",
        A::ZoomIn,
        "zoom the timeline in (fewer days, down to 7)",
        Some("zoom in"),
    ),
    b(
        S::Overview,
        &[K::Ch('-')],
        "-",
        A::ZoomOut,
        "zoom the timeline out (more days, up to 365)",
        Some("zoom out"),
    ),
    b(
        S::Overview,
        TAB,
        "Tab",
        A::NextPane,
        "switch between the tool list and the timeline cursor (← → mark to mark)",
        Some("timeline"),
    ),
    b(
        S::Snapshots,
        TAB,
        "Tab",
        A::NextPane,
        "switch between the list and the detail pane",
        Some("detail"),
    ),
    b(
        S::Snapshots,
        &[K::Ch('r')],
        "r",
        A::Rollback,
        "roll back, or forward again to a newer (↶) snapshot: the wizard, the selected one as target",
        Some("rollback"),
    ),
    b(
        S::Snapshots,
        &[K::Ch('/')],
        "/",
        A::Search,
        "filter the snapshots by id as you type (n N: next / previous match)",
        Some("filter"),
    ),
    b(
        S::Snapshots,
        &[K::Ch('e')],
        "e",
        A::Expire,
        "expire the selected snapshot (reason, typed tool name; audited)",
        Some("expire"),
    ),
    b(
        S::Snapshots,
        &[K::Ch('h')],
        "h",
        A::HoldAdd,
        "hold the selected snapshot against retention (reason, until; audited)",
        Some("hold"),
    ),
    b(
        S::Snapshots,
        &[K::Ch('H')],
        "H",
        A::HoldRemove,
        "remove the selected snapshot's retention hold (audited)",
        None,
    ),
    b(
        S::Snapshots,
        ESC,
        "Esc",
        A::Back,
        "back to the overview",
        Some("back"),
    ),
    b(
        S::Sla,
        ENTER,
        "Enter",
        A::Enter,
        "open the selected tool's snapshot list",
        Some("snapshots"),
    ),
    b(
        S::Sla,
        &[K::Ch('/')],
        "/",
        A::Search,
        "filter the tools as you type, matches highlighted (n N: next / previous match)",
        Some("filter"),
    ),
    b(
        S::Sla,
        &[K::Ch('r')],
        "r",
        A::Rollback,
        "roll the selected tool back (wizard)",
        Some("rollback"),
    ),
    b(
        S::WizardList,
        ENTER,
        "Enter",
        A::Enter,
        "choose and go to the next step",
        Some("choose"),
    ),
    b(
        S::WizardList,
        &[K::Ch('/')],
        "/",
        A::Search,
        "filter the tools or targets as you type (n N: next / previous match)",
        Some("filter"),
    ),
    b(
        S::WizardList,
        ESC,
        "Esc",
        A::Back,
        "back one step (choices are kept)",
        Some("back"),
    ),
    b(
        S::WizardVerify,
        ENTER,
        "Enter",
        A::Enter,
        "continue to the dry-run diff (once verified)",
        Some("continue"),
    ),
    b(
        S::WizardVerify,
        ESC,
        "Esc",
        A::Back,
        "cancel the verification / back to the target",
        Some("back"),
    ),
    b(
        S::WizardPreview,
        ENTER,
        "Enter",
        A::Enter,
        "continue: give the reason",
        Some("continue"),
    ),
    b(
        S::WizardPreview,
        &[K::Ch('c')],
        "c",
        A::CycleChange,
        "show only added / removed / changed records (cycles)",
        Some("change"),
    ),
    b(
        S::WizardPreview,
        &[K::Ch('t')],
        "t",
        A::CycleKind,
        "show only packages / findings (cycles)",
        Some("kind"),
    ),
    b(
        S::WizardPreview,
        &[K::Ch('s')],
        "s",
        A::CycleSeverity,
        "show only one severity (cycles)",
        Some("severity"),
    ),
    b(
        S::WizardPreview,
        &[K::Ch('o')],
        "o",
        A::ToggleSort,
        "order: grouped by change (added, removed, changed) / worst severity first",
        Some("order"),
    ),
    b(
        S::WizardPreview,
        &[K::Ch('C')],
        "C",
        A::NextCritical,
        "jump to the next critical finding",
        Some("next critical"),
    ),
    b(
        S::WizardPreview,
        &[K::Ch('/')],
        "/",
        A::Search,
        "filter the rows by identity as you type; Enter searches the whole diff (n N: next / previous match)",
        Some("filter"),
    ),
    b(
        S::WizardPreview,
        &[K::Ch('x')],
        "x",
        A::ClearFilters,
        "clear the diff filters",
        None,
    ),
    b(
        S::WizardPreview,
        TAB,
        "Tab",
        A::NextPane,
        "switch between the list and the old → new pane",
        None,
    ),
    b(
        S::WizardPreview,
        ESC,
        "Esc",
        A::Back,
        "back to the verification",
        Some("back"),
    ),
    b(
        S::WizardReason,
        ENTER,
        "Enter",
        A::Enter,
        "continue to the confirmation (a reason is required)",
        Some("continue"),
    ),
    b(
        S::WizardReason,
        ESC,
        "Esc",
        A::Back,
        "back to the diff (the text is kept)",
        Some("back"),
    ),
    b(
        S::WizardReason,
        BACKSPACE,
        "Backspace",
        A::Backspace,
        "delete a character",
        None,
    ),
    b(
        S::WizardConfirm,
        &[
            K::Code(C::Tab),
            K::Code(C::Left),
            K::Code(C::Right),
            K::Code(C::BackTab),
        ],
        "Tab ← →",
        A::NextPane,
        "(says why: [ Roll back ] is disabled until the tool name is typed exactly)",
        None,
    ),
    b(
        S::WizardConfirm,
        ENTER,
        "Enter",
        A::Enter,
        "press Cancel (focus starts there): nothing is changed",
        Some("cancel"),
    ),
    b(
        S::WizardConfirm,
        ESC,
        "Esc",
        A::Back,
        "back to the reason",
        Some("back"),
    ),
    b(
        S::WizardConfirm,
        BACKSPACE,
        "Backspace",
        A::Backspace,
        "delete a character of the typed tool name",
        None,
    ),
    b(
        S::WizardConfirmReady,
        &[
            K::Code(C::Tab),
            K::Code(C::Left),
            K::Code(C::Right),
            K::Code(C::BackTab),
        ],
        "Tab ← →",
        A::NextPane,
        "move between [ Cancel ] and [ Roll back ]",
        Some("focus"),
    ),
    b(
        S::WizardConfirmReady,
        ENTER,
        "Enter",
        A::Enter,
        "press the focused button (typing the name focused [ Roll back ])",
        Some("press"),
    ),
    b(
        S::WizardConfirmReady,
        ESC,
        "Esc",
        A::Back,
        "back to the reason",
        Some("back"),
    ),
    b(
        S::WizardConfirmReady,
        BACKSPACE,
        "Backspace",
        A::Backspace,
        "delete a character (disables [ Roll back ] again)",
        None,
    ),
    b(
        S::WizardStale,
        ENTER,
        "Enter",
        A::Enter,
        "reload the targets against the new active snapshot",
        Some("reload"),
    ),
    b(
        S::WizardStale,
        ESC,
        "Esc",
        A::Back,
        "back to the reason",
        Some("back"),
    ),
    b(
        S::WizardResult,
        ENTER,
        "Enter",
        A::Enter,
        "done: back to the overview",
        Some("done"),
    ),
    b(
        S::WizardResult,
        ESC,
        "Esc",
        A::Back,
        "back to the overview",
        None,
    ),
    b(
        S::WizardRetry,
        ENTER,
        "Enter",
        A::Enter,
        "reload the targets and preview again against the new state",
        Some("reload"),
    ),
    b(
        S::WizardRetry,
        ESC,
        "Esc",
        A::Back,
        "give up: back to the overview (nothing was changed)",
        Some("back"),
    ),
    b(
        S::Retention,
        &[K::Ch('X')],
        "X",
        A::RetentionRun,
        "run retention: its dry run first, then type run (audited)",
        Some("run retention"),
    ),
    b(
        S::Retention,
        DOWN,
        "↓ j",
        A::Down,
        "scroll the retention panel (↑ k up, PgDn PgUp, g top)",
        Some("scroll"),
    ),
    b(
        S::Audit,
        &[K::Ch('f')],
        "f",
        A::Filter,
        "filter by event, tool, user, time range and text",
        Some("filter form"),
    ),
    b(
        S::Audit,
        &[K::Ch('/')],
        "/",
        A::Search,
        "filter the rows as you type; Enter searches the whole trail: id, event, user, details (n N: next / previous match)",
        Some("filter"),
    ),
    b(
        S::Audit,
        &[K::Ch('x')],
        "x",
        A::ClearFilters,
        "clear all filters",
        Some("clear"),
    ),
    b(
        S::Audit,
        &[K::Ch('v')],
        "v",
        A::VerifyChain,
        "verify the hash chain again",
        Some("verify"),
    ),
    b(
        S::Audit,
        &[K::Ch('c')],
        "c",
        A::Checkpoint,
        "write a checkpoint of the chain's head to a file and verify against it",
        Some("checkpoint"),
    ),
    b(
        S::Audit,
        TAB,
        "Tab",
        A::NextPane,
        "switch between the table and the record's JSON",
        Some("detail"),
    ),
    b(
        S::AuditForm,
        &[K::Code(C::Tab), K::Code(C::Down)],
        "Tab ↓",
        A::Down,
        "next field",
        Some("next"),
    ),
    b(
        S::AuditForm,
        &[K::Code(C::BackTab), K::Code(C::Up)],
        "S-Tab ↑",
        A::Up,
        "previous field",
        None,
    ),
    b(
        S::AuditForm,
        &[K::Code(C::Left)],
        "← →",
        A::Left,
        "choose the event or tool (cycles the known ones)",
        Some("choose"),
    ),
    b(
        S::AuditForm,
        &[K::Code(C::Right)],
        "→",
        A::Right,
        "next choice",
        None,
    ),
    b(
        S::AuditForm,
        ENTER,
        "Enter",
        A::Enter,
        "apply the filters",
        Some("apply"),
    ),
    b(
        S::AuditForm,
        ESC,
        "Esc",
        A::Back,
        "close without applying",
        Some("cancel"),
    ),
    b(
        S::AuditForm,
        BACKSPACE,
        "Backspace",
        A::Backspace,
        "delete a character",
        None,
    ),
    b(
        S::Dialog,
        ENTER,
        "Enter",
        A::Enter,
        "do it (when every field is right)",
        Some("do it"),
    ),
    b(S::Dialog, ESC, "Esc", A::Back, "cancel: nothing is changed", Some("cancel")),
    b(
        S::Dialog,
        &[K::Code(C::Tab), K::Code(C::Down)],
        "Tab ↓",
        A::Down,
        "next field",
        Some("next field"),
    ),
    b(
        S::Dialog,
        &[K::Code(C::BackTab), K::Code(C::Up)],
        "S-Tab ↑",
        A::Up,
        "previous field",
        None,
    ),
    b(
        S::Dialog,
        BACKSPACE,
        "Backspace",
        A::Backspace,
        "delete a character",
        None,
    ),
    b(S::Input, ENTER, "Enter", A::Enter, "apply", Some("apply")),
    // Documentation only (no keys of its own): tui-input reads these in
    // every text field, once the field's scope has not claimed the key.
    b(
        S::Input,
        &[],
        "← → Home End",
        A::Backspace,
        "in any text field: move the cursor; Ctrl-U clears, Ctrl-W deletes a word, Ctrl-K to the end",
        None,
    ),
    b(S::Input, ESC, "Esc", A::Back, "cancel", Some("cancel")),
    b(
        S::Input,
        BACKSPACE,
        "Backspace",
        A::Backspace,
        "delete a character",
        None,
    ),
    b(
        S::Help,
        &[K::Code(C::Esc), K::Ch('?'), K::Code(C::F(1)), K::Ch('q')],
        "Esc ? q",
        A::Back,
        "close the help",
        Some("close"),
    ),
    b(
        S::Help,
        &[K::Code(C::Down), K::Ch('j')],
        "↓ j",
        A::Down,
        "scroll down (↑ k up, PgDn PgUp a page, g G the ends)",
        Some("scroll"),
    ),
    // Everywhere.
    b(
        S::Global,
        &[K::Ctrl('c')],
        "Ctrl-C",
        A::ForceQuit,
        "quit, from anywhere",
        None,
    ),
    b(
        S::Global,
        &[K::Ch('q')],
        "q",
        A::Quit,
        "quit (at the top level; elsewhere: back)",
        Some("quit"),
    ),
    b(
        S::Global,
        &[K::Ch('?'), K::Code(C::F(1))],
        "? F1",
        A::Help,
        "this help",
        Some("help"),
    ),
    b(
        S::Global,
        &[K::Ch('1'), K::Ch('2'), K::Ch('3'), K::Ch('4'), K::Ch('5')],
        "1-5",
        A::Screen(0),
        "screens: 1 overview, 2 SLA, 3 rollback, 4 audit, 5 retention",
        Some("screens"),
    ),
    b(
        S::Global,
        &[K::Ch('n')],
        "n",
        A::NextMatch,
        "the next row matching the filter (/)",
        None,
    ),
    b(
        S::Global,
        &[K::Ch('N')],
        "N",
        A::PrevMatch,
        "the previous row matching the filter (/)",
        None,
    ),
    b(S::Global, UP, "↑ k", A::Up, "move up", None),
    b(S::Global, DOWN, "↓ j", A::Down, "move down", None),
    b(
        S::Global,
        &[K::Code(C::Left), K::Ch('h')],
        "← h",
        A::Left,
        "back out of a list, or to the left pane",
        None,
    ),
    b(
        S::Global,
        &[K::Code(C::Right), K::Ch('l')],
        "→ l",
        A::Right,
        "open the selection, or to the right pane",
        None,
    ),
    b(
        S::Global,
        &[K::Code(C::PageUp), K::Ctrl('b')],
        "PgUp Ctrl-B",
        A::PageUp,
        "page up",
        None,
    ),
    b(
        S::Global,
        &[K::Code(C::PageDown), K::Ctrl('f')],
        "PgDn Ctrl-F",
        A::PageDown,
        "page down",
        None,
    ),
    b(
        S::Global,
        &[K::Ch('g'), K::Code(C::Home)],
        "g Home",
        A::Top,
        "go to the top (audit: the newest record)",
        None,
    ),
    b(
        S::Global,
        &[K::Ch('G'), K::Code(C::End)],
        "G End",
        A::Bottom,
        "go to the bottom (audit: the oldest record)",
        None,
    ),
    b(S::Global, TAB, "Tab", A::NextPane, "next pane", None),
    b(
        S::Global,
        &[K::Code(C::BackTab)],
        "S-Tab",
        A::PrevPane,
        "previous pane",
        None,
    ),
    b(S::Global, ENTER, "Enter", A::Enter, "open / choose", None),
    b(S::Global, ESC, "Esc", A::Back, "back one layer", None),
    b(
        S::Global,
        &[K::Ch('R'), K::Ctrl('r')],
        "R Ctrl-R",
        A::Refresh,
        "reload from the store now (it also reloads by itself)",
        None,
    ),
    b(
        S::Global,
        &[K::Ch('y')],
        "y",
        A::Copy,
        "copy the selected id to the clipboard (OSC 52: works over SSH)",
        Some("copy"),
    ),
    b(
        S::Global,
        &[K::Ctrl('z')],
        "Ctrl-Z",
        A::Suspend,
        "suspend to the shell (fg to return)",
        None,
    ),
];

/// The action a key triggers in the given scopes (most specific first), if
/// any. In text-entry scopes, printable keys are text, not actions, except
/// Ctrl-C which always quits.
pub fn lookup(scopes: &[Scope], ev: &KeyEvent) -> Option<Action> {
    let text_mode = scopes.first().is_some_and(|s| s.takes_text());
    for &scope in scopes {
        for bnd in BINDINGS.iter().filter(|b| b.scope == scope) {
            if let Some(k) = bnd.keys.iter().find(|k| k.matches(ev)) {
                if text_mode
                    && scope == Scope::Global
                    && !matches!(bnd.action, Action::ForceQuit | Action::Suspend)
                {
                    continue;
                }
                return Some(match (bnd.action, k) {
                    (Action::Screen(0), K::Ch(c)) => {
                        Action::Screen(c.to_digit(10).unwrap_or(1) as u8)
                    }
                    (a, _) => a,
                });
            }
        }
    }
    None
}

/// The hint bar's entries for the active scopes: (key label, word).
pub fn hints(scopes: &[Scope], read_only: bool) -> Vec<(&'static str, &'static str)> {
    let text_mode = scopes.first().is_some_and(|s| s.takes_text());
    // Over the help, global keys only scroll it (its own hints say so).
    let modal = text_mode || scopes.first() == Some(&Scope::Help);
    let mut out = Vec::new();
    for &scope in scopes {
        if modal && scope == Scope::Global {
            continue;
        }
        for bnd in BINDINGS
            .iter()
            .filter(|b| b.scope == scope && !(read_only && b.action.writes()))
        {
            if let Some(h) = bnd.hint {
                if !out.iter().any(|(l, _)| *l == bnd.label) {
                    out.push((bnd.label, h));
                }
            }
        }
    }
    out
}

/// The order scopes are listed in the help (after the current ones).
const HELP_ORDER: [Scope; 19] = [
    S::Global,
    S::Overview,
    S::Snapshots,
    S::Sla,
    S::WizardList,
    S::WizardVerify,
    S::WizardPreview,
    S::WizardReason,
    S::WizardConfirm,
    S::WizardConfirmReady,
    S::WizardStale,
    S::WizardResult,
    S::WizardRetry,
    S::Audit,
    S::AuditForm,
    S::Retention,
    S::Dialog,
    S::Input,
    S::Help,
];

/// The help screen: every scope with its bindings, in table order.
pub fn help_sections() -> Vec<(Scope, Vec<&'static Binding>)> {
    sections(&HELP_ORDER)
}

fn sections(order: &[Scope]) -> Vec<(Scope, Vec<&'static Binding>)> {
    let mut out: Vec<(Scope, Vec<&'static Binding>)> = Vec::new();
    for &scope in order {
        let v: Vec<_> = BINDINGS.iter().filter(|b| b.scope == scope).collect();
        if !v.is_empty() {
            out.push((scope, v));
        }
    }
    out
}

/// The README's table of keys, generated from the table above (a test
/// keeps the README's copy identical).
pub fn readme_table() -> String {
    let mut out = String::from("| where | key | does |\n|---|---|---|\n");
    for (scope, binds) in help_sections() {
        for b in binds {
            out.push_str(&format!(
                "| {} | `{}` | {} |\n",
                scope.title(),
                b.label.replace('|', "\\|"),
                b.help.replace('|', "\\|")
            ));
        }
    }
    out
}

/// The glyph legends the help starts with.
pub const LEGEND: [&str; 2] = [
    "Freshness: ● fresh  △ stale  ▲ stale (overdue)  ✖ critical  ⊘ expired",
    "Snapshots: ◆ active  ○ previous  ▣ archived  ↶ rolled back from  ⊘ expired  ✗ failed  · deleted",
];

/// One line of the help overlay (never wrapped: the count is exact, so
/// the help scrolls exactly to its last line).
#[derive(Clone, Copy, Debug)]
pub enum HelpLine {
    Legend(&'static str),
    Blank,
    Title(Scope),
    Key(&'static Binding),
}

/// The help's lines: the keys of the screen in use first (lazygit), then
/// everywhere, then every other scope.
pub fn help_lines(current: &[Scope]) -> Vec<HelpLine> {
    let mut order: Vec<Scope> = current
        .iter()
        .copied()
        .filter(|s| *s != S::Global && *s != S::Help)
        .collect();
    for s in HELP_ORDER {
        if !order.contains(&s) {
            order.push(s);
        }
    }
    let mut out: Vec<HelpLine> = LEGEND.iter().map(|l| HelpLine::Legend(l)).collect();
    for (scope, binds) in sections(&order) {
        out.push(HelpLine::Blank);
        out.push(HelpLine::Title(scope));
        out.extend(binds.into_iter().map(HelpLine::Key));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn vim_and_arrow_keys_do_the_same() {
        let s = [Scope::Overview, Scope::Global];
        assert_eq!(lookup(&s, &key(KeyCode::Char('j'))), Some(Action::Down));
        assert_eq!(lookup(&s, &key(KeyCode::Down)), Some(Action::Down));
        assert_eq!(lookup(&s, &key(KeyCode::Char('k'))), Some(Action::Up));
        assert_eq!(
            lookup(&s, &key(KeyCode::Char('3'))),
            Some(Action::Screen(3))
        );
        assert_eq!(lookup(&s, &key(KeyCode::F(1))), Some(Action::Help));
        assert_eq!(
            lookup(&s, &KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            Some(Action::Bottom)
        );
    }

    #[test]
    fn text_fields_take_letters_but_ctrl_c_still_quits() {
        let s = [Scope::WizardReason, Scope::Global];
        assert_eq!(lookup(&s, &key(KeyCode::Char('q'))), None);
        assert_eq!(lookup(&s, &key(KeyCode::Char('1'))), None);
        assert_eq!(lookup(&s, &key(KeyCode::Enter)), Some(Action::Enter));
        assert_eq!(
            lookup(
                &s,
                &KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)
            ),
            Some(Action::ForceQuit)
        );
    }

    #[test]
    fn every_hint_is_a_working_key() {
        for scope in help_sections().into_iter().map(|(s, _)| s) {
            // As the app activates them: the help alone, else scope + global.
            let scopes: Vec<Scope> = if scope == Scope::Help || scope == Scope::Global {
                vec![scope]
            } else {
                vec![scope, Scope::Global]
            };
            for (label, _) in hints(&scopes, false) {
                let b = BINDINGS
                    .iter()
                    .find(|b| b.label == label && (b.scope == scope || b.scope == Scope::Global))
                    .unwrap();
                let k = b.keys[0];
                let ev = match k {
                    K::Ch(c) => key(KeyCode::Char(c)),
                    K::Ctrl(c) => KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL),
                    K::Code(c) => key(c),
                };
                let got = lookup(&scopes, &ev);
                let want = match b.action {
                    Action::Screen(0) => Action::Screen(1),
                    a => a,
                };
                assert_eq!(got, Some(want), "{scope:?} {label}");
            }
        }
    }
}

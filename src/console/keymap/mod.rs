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

mod table;
pub use table::BINDINGS;
use Scope as S;

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

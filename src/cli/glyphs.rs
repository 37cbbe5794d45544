//! The glyph of each state, so that nothing is said by colour alone. Both
//! front ends draw them: the console takes them from here.

use crate::domain::snapshot::SnapshotState;

/// The glyph that goes with a freshness state word (never colour alone).
pub fn freshness_glyph(state: &str, overdue: bool) -> &'static str {
    match state {
        "fresh" => "●",
        "stale" if overdue => "▲",
        "stale" => "△",
        "critical" => "✖",
        "expired" => "⊘",
        _ => "?",
    }
}

/// The glyph of a snapshot state (● active ○ previous ▣ archived ⊘ expired
/// ✗ failed · deleted).
pub fn state_glyph(s: SnapshotState) -> &'static str {
    match s {
        SnapshotState::Active => "●",
        SnapshotState::Previous => "○",
        SnapshotState::Archived => "▣",
        SnapshotState::Expired => "⊘",
        SnapshotState::Failed => "✗",
        SnapshotState::Deleted => "·",
    }
}

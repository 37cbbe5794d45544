//! Colours and glyphs. Every freshness and snapshot state has a glyph and a
//! word, so nothing is said by colour alone. Colours are the terminal's own
//! named ANSI colours (the operator's palette), never RGB. Whether to use
//! colour at all is a parameter (`--no-color` / `NO_COLOR` are read once, by
//! the caller), so rendering never looks at the environment.

use crate::domain::freshness::Freshness;
use crate::domain::snapshot::SnapshotState;
use ratatui::style::{Color, Modifier, Style};

/// Which palette: `auto` (the terminal's red/yellow/green), `colorblind`
/// (blue/yellow/magenta, safe for red-green colour blindness) or `mono`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Palette {
    Auto,
    Colorblind,
    Mono,
}

impl Palette {
    pub fn parse(name: &str) -> Palette {
        match name {
            "colorblind" => Palette::Colorblind,
            "mono" => Palette::Mono,
            _ => Palette::Auto,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Theme {
    pub palette: Palette,
}

/// The glyphs are the CLI's: one table for both front ends.
pub use crate::cli::glyphs::state_glyph;

/// The glyph of a freshness state: the CLI's own table.
pub fn freshness_glyph(f: Freshness, overdue: bool) -> &'static str {
    crate::cli::glyphs::freshness_glyph(f.as_str(), overdue)
}

/// The freshness word for people ("stale (overdue)").
pub fn freshness_word(f: Freshness, overdue: bool) -> &'static str {
    match (f, overdue) {
        (Freshness::Stale, true) => "stale (overdue)",
        (f, _) => f.as_str(),
    }
}

impl Theme {
    /// `name` is the config's `console.theme`; `color` is false with
    /// `--no-color` or `NO_COLOR`, which force the mono palette.
    pub fn new(name: &str, color: bool) -> Theme {
        let palette = if color {
            Palette::parse(name)
        } else {
            Palette::Mono
        };
        Theme { palette }
    }

    pub fn mono() -> Theme {
        Theme {
            palette: Palette::Mono,
        }
    }

    pub fn color(&self) -> bool {
        self.palette != Palette::Mono
    }

    fn fg(&self, auto: Color, colorblind: Color) -> Style {
        match self.palette {
            Palette::Auto => Style::new().fg(auto),
            Palette::Colorblind => Style::new().fg(colorblind),
            Palette::Mono => Style::new(),
        }
    }

    /// The style of a freshness state. In mono, emphasis grows with urgency.
    pub fn freshness(&self, f: Freshness, overdue: bool) -> Style {
        match (f, overdue) {
            (Freshness::Fresh, _) => self.fg(Color::Green, Color::Blue),
            (Freshness::Stale, false) => self.fg(Color::Yellow, Color::Yellow),
            (Freshness::Stale, true) => self
                .fg(Color::LightRed, Color::LightYellow)
                .add_modifier(Modifier::BOLD),
            (Freshness::Critical, _) => self
                .fg(Color::Red, Color::Magenta)
                .add_modifier(Modifier::BOLD),
            (Freshness::Expired, _) => self
                .fg(Color::Magenta, Color::Gray)
                .add_modifier(Modifier::ITALIC),
        }
    }

    /// The style of a snapshot state word.
    pub fn state(&self, s: SnapshotState) -> Style {
        match s {
            SnapshotState::Active => self
                .fg(Color::Green, Color::Blue)
                .add_modifier(Modifier::BOLD),
            SnapshotState::Previous => Style::new(),
            SnapshotState::Archived => self.fg(Color::Cyan, Color::Cyan),
            SnapshotState::Expired => self.fg(Color::Magenta, Color::Gray),
            SnapshotState::Failed => self
                .fg(Color::Red, Color::Magenta)
                .add_modifier(Modifier::BOLD),
            SnapshotState::Deleted => self.dim(),
        }
    }

    pub fn dim(&self) -> Style {
        match self.palette {
            Palette::Mono => Style::new().add_modifier(Modifier::DIM),
            _ => Style::new().fg(Color::DarkGray),
        }
    }
    pub fn title(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }
    pub fn header(&self) -> Style {
        self.fg(Color::Cyan, Color::Cyan)
            .add_modifier(Modifier::BOLD)
    }
    pub fn border(&self) -> Style {
        self.dim()
    }
    pub fn focused_border(&self) -> Style {
        self.fg(Color::Cyan, Color::Cyan)
    }
    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }
    pub fn key(&self) -> Style {
        self.fg(Color::Cyan, Color::Cyan)
            .add_modifier(Modifier::BOLD)
    }
    pub fn ok(&self) -> Style {
        self.fg(Color::Green, Color::Blue)
            .add_modifier(Modifier::BOLD)
    }
    pub fn warn(&self) -> Style {
        self.fg(Color::Yellow, Color::Yellow)
            .add_modifier(Modifier::BOLD)
    }
    pub fn error(&self) -> Style {
        self.fg(Color::Red, Color::Magenta)
            .add_modifier(Modifier::BOLD)
    }
    pub fn added(&self) -> Style {
        self.fg(Color::Green, Color::Blue)
    }
    pub fn removed(&self) -> Style {
        self.fg(Color::Red, Color::Yellow)
    }
    pub fn changed(&self) -> Style {
        self.fg(Color::Yellow, Color::Cyan)
    }
    /// A button or tab that has the focus.
    pub fn focus(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
    }
    /// The active snapshot's mark on a timeline.
    pub fn highlight(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
    }
    /// A threshold guide on a timeline.
    pub fn guide(&self, f: Freshness) -> Style {
        match self.palette {
            Palette::Mono => Style::new().add_modifier(Modifier::DIM),
            _ => self.freshness(f, false).remove_modifier(Modifier::BOLD),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_glyphs_are_the_clis() {
        let plain = crate::cli::Style { color: false };
        for s in SnapshotState::ALL {
            assert_eq!(
                plain.state(s),
                format!("{} {}", state_glyph(s), s.as_str()),
                "{s}"
            );
        }
    }

    #[test]
    fn no_color_means_no_colour_at_all() {
        let t = Theme::new("auto", false);
        assert_eq!(t.palette, Palette::Mono);
        for f in Freshness::ALL {
            for o in [false, true] {
                assert_eq!(t.freshness(f, o).fg, None);
            }
        }
        for s in SnapshotState::ALL {
            assert_eq!(t.state(s).fg, None);
        }
        assert_eq!(Theme::new("colorblind", true).palette, Palette::Colorblind);
    }

    #[test]
    fn every_freshness_state_has_its_own_look_in_every_palette() {
        for p in [Palette::Auto, Palette::Colorblind, Palette::Mono] {
            let t = Theme { palette: p };
            let looks: Vec<_> = [
                (Freshness::Fresh, false),
                (Freshness::Stale, false),
                (Freshness::Stale, true),
                (Freshness::Critical, false),
                (Freshness::Expired, false),
            ]
            .iter()
            .map(|&(f, o)| (freshness_glyph(f, o), t.freshness(f, o)))
            .collect();
            for (i, a) in looks.iter().enumerate() {
                for b in &looks[i + 1..] {
                    assert_ne!(a, b, "{p:?}");
                }
            }
        }
    }
}

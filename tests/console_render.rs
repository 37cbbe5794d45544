//! Render tests: every screen drawn on ratatui's TestBackend at 80×24 and
//! 200×50 (text without colour, and a colour map with it) from a demo store with a fixed clock, compared with insta
//! snapshots; and the freshness styles (glyph, word and colour) per state,
//! with and without colour.

mod common;
mod console_support;

use console_support::{find, text, text_masked, Driver};
use crossterm::event::KeyCode;
use ratatui::style::{Color, Modifier};
use snapgov::console::theme::Theme;

const SIZES: [(u16, u16); 2] = [(80, 24), (200, 50)];

/// The colours of a screen, one character per cell: `.` the terminal's
/// own, a letter per named colour (upper case: reversed), so a snapshot
/// shows what colour says where.
fn colours(buf: &ratatui::buffer::Buffer) -> String {
    let w = buf.area.width as usize;
    let mut out = String::new();
    for row in buf.content.chunks(w) {
        let line: String = row
            .iter()
            .map(|c| {
                let ch = match c.fg {
                    Color::Reset => '.',
                    Color::Green => 'g',
                    Color::Yellow => 'y',
                    Color::Red => 'r',
                    Color::LightRed => 'o',
                    Color::Magenta => 'm',
                    Color::Cyan => 'c',
                    Color::Blue => 'b',
                    Color::DarkGray => 'd',
                    Color::Gray => 'a',
                    Color::LightYellow => 'l',
                    _ => '?',
                };
                if c.modifier.contains(Modifier::REVERSED) {
                    ch.to_ascii_uppercase()
                } else {
                    ch
                }
            })
            .collect();
        out.push_str(line.trim_end_matches('.'));
        out.push('\n');
    }
    out
}

/// Every screen at 80×24 and 200×50, without colour (its text) and with
/// colour (its colour map); the text is the same either way.
fn snap(name: &str, setup: impl Fn(&mut Driver)) {
    for (w, h) in SIZES {
        let mut d = Driver::demo(w, h);
        setup(&mut d);
        let mono = d.buffer(&Theme::new("auto", false));
        let colour = d.buffer(&Theme::new("auto", true));
        // Audit records carry chain hashes that differ from build to build.
        let (screen, screen_c) = if name.starts_with("audit") {
            (text_masked(&mono), text_masked(&colour))
        } else {
            (text(&mono), text(&colour))
        };
        assert_eq!(
            screen, screen_c,
            "{name}: the text does not depend on colour"
        );
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), screen);
        if !name.starts_with("audit") {
            insta::assert_snapshot!(format!("{name}_{w}x{h}_colour"), colours(&colour));
        }
    }
}

#[test]
fn governance_dialogs_and_the_timeline_cursor() {
    snap("dialog_expire", |d| {
        d.keys("jj").key(KeyCode::Enter).keys("je");
    });
    snap("dialog_retention", |d| {
        d.keys("5X");
    });
    snap("overview_timeline_cursor", |d| {
        d.keys("jj").key(KeyCode::Tab).key(KeyCode::Left);
    });
    snap("overview_find", |d| {
        d.keys("/tr");
    });
    snap("snapshot_list_narrowed", |d| {
        d.keys("jj")
            .key(KeyCode::Enter)
            .keys("/112")
            .key(KeyCode::Enter);
    });
    snap("wizard_4_preview_narrowed", |d| {
        d.keys("jjr")
            .key(KeyCode::Enter)
            .key(KeyCode::Enter)
            .keys("/nectar");
    });
    snap("audit_narrowed", |d| {
        d.keys("4/rolled_b");
    });
}

#[test]
fn overview() {
    snap("overview", |_| {});
}

#[test]
fn overview_zoomed_out() {
    snap("overview_zoomed_out", |d| {
        d.keys("--");
    });
}

#[test]
fn snapshot_list() {
    snap("snapshot_list", |d| {
        d.keys("jj").key(KeyCode::Enter);
    });
}

#[test]
fn snapshot_detail_pane() {
    snap("snapshot_detail", |d| {
        d.keys("jjj")
            .key(KeyCode::Enter)
            .keys("jjjjj")
            .key(KeyCode::Tab);
    });
}

#[test]
fn sla() {
    snap("sla", |d| {
        d.keys("2");
    });
}

#[test]
fn retention() {
    snap("retention", |d| {
        d.keys("5");
    });
}

#[test]
fn audit() {
    snap("audit", |d| {
        d.keys("4");
    });
}

#[test]
fn audit_filter_form() {
    snap("audit_filter", |d| {
        d.keys("4f")
            .key(KeyCode::Right)
            .key(KeyCode::Right)
            .key(KeyCode::Down)
            .key(KeyCode::Right)
            .key(KeyCode::Right)
            .key(KeyCode::Right);
    });
}

#[test]
fn audit_filtered() {
    snap("audit_filtered", |d| {
        d.keys("4f")
            .key(KeyCode::Right)
            .key(KeyCode::Right)
            .key(KeyCode::Right)
            .key(KeyCode::Right)
            .key(KeyCode::Enter);
    });
}

#[test]
fn help() {
    snap("help", |d| {
        d.keys("?");
    });
}

#[test]
fn wizard_steps() {
    // syft is the third tool; `r` starts the wizard on it at the target step.
    snap("wizard_1_tool", |d| {
        d.keys("3");
    });
    snap("wizard_2_target", |d| {
        d.keys("jjr");
    });
    snap("wizard_3_verified", |d| {
        d.keys("jjr").key(KeyCode::Enter);
    });
    snap("wizard_4_preview", |d| {
        d.keys("jjr").key(KeyCode::Enter).key(KeyCode::Enter);
    });
    snap("wizard_4_preview_filtered", |d| {
        d.keys("jjr")
            .key(KeyCode::Enter)
            .key(KeyCode::Enter)
            .keys("cc");
    });
    snap("wizard_5_reason", |d| {
        d.keys("jjr")
            .key(KeyCode::Enter)
            .key(KeyCode::Enter)
            .key(KeyCode::Enter)
            .keys("corrupt nightly SBOM");
    });
    snap("wizard_6_confirm", |d| {
        d.keys("jjr")
            .key(KeyCode::Enter)
            .key(KeyCode::Enter)
            .key(KeyCode::Enter)
            .keys("corrupt nightly SBOM")
            .key(KeyCode::Enter);
    });
    snap("wizard_8_result", |d| {
        d.keys("jjr")
            .key(KeyCode::Enter)
            .key(KeyCode::Enter)
            .key(KeyCode::Enter)
            .keys("corrupt nightly SBOM")
            .key(KeyCode::Enter)
            .keys("syft")
            .key(KeyCode::Enter);
    });
}

#[test]
fn read_only_offers_no_rollback() {
    for (w, h) in SIZES {
        let (_dir, db) = console_support::demo_db();
        let mut d = Driver::open(&db, console_support::env(), true, w, h);
        d.keys("3");
        let screen = text(&d.buffer(&Theme::new("auto", true)));
        assert!(screen.contains("READ-ONLY"), "{screen}");
        insta::assert_snapshot!(format!("read_only_rollback_{w}x{h}"), screen);
        d.keys("1r");
        assert!(d.screen().contains("rollback is not available"));
    }
}

#[test]
fn a_small_terminal_says_so_and_80x24_is_whole() {
    let mut d = Driver::demo(50, 12);
    let s = d.screen();
    assert!(
        s.contains("terminal too small") && s.contains("need 80×24"),
        "{s}"
    );
    insta::assert_snapshot!("too_small_50x12", s);
    // At 80×24 every screen keeps its hint bar and its main content.
    d.resize(80, 24);
    for (key, must) in [
        ("1", "FRESHNESS"),
        ("2", "NEXT CHANGE"),
        ("3", "Choose the tool"),
        ("4", "chain verified"),
        ("5", "next run"),
    ] {
        d.keys(key);
        let s = d.screen();
        assert!(s.contains(must), "screen {key}: {s}");
        assert!(
            s.lines().last().unwrap().contains("help"),
            "screen {key}: {s}"
        );
    }
}

/// Each tool's FRESHNESS cell in the overview: (tool, glyph, word, colour).
#[test]
fn freshness_cells_have_glyph_word_and_colour() {
    let d = Driver::demo(160, 48);
    let cases = [
        ("clair", "✖ critical", Color::Red),
        ("licensewatch", "⊘ expired", Color::Magenta),
        ("syft", "● fresh", Color::Green),
        ("trivy", "△ stale", Color::Yellow),
    ];
    let colored = d.buffer(&Theme::new("auto", true));
    let mono = d.buffer(&Theme::new("auto", false));
    for (tool, word, color) in cases {
        let (_, y) = find(&colored, &format!("{tool} ")).unwrap();
        let row: String = (0..160).map(|x| colored[(x, y)].symbol()).collect();
        let x = row
            .find(word)
            .map(|b| row[..b].chars().count() as u16)
            .unwrap_or_else(|| panic!("{tool}: {row}"));
        for i in 0..word.chars().count() as u16 {
            assert_eq!(colored[(x + i, y)].fg, color, "{tool} {word}");
            assert_eq!(
                mono[(x + i, y)].fg,
                Color::Reset,
                "{tool} {word} without colour"
            );
        }
        assert_eq!(colored[(x, y)].symbol(), word.split(' ').next().unwrap());
        assert_eq!(mono[(x, y)].symbol(), word.split(' ').next().unwrap());
    }
    // Mono keeps urgency visible without colour.
    let (_, y) = find(&mono, "clair ").unwrap();
    let row: String = (0..160).map(|x| mono[(x, y)].symbol()).collect();
    let x = row
        .find("✖")
        .map(|b| row[..b].chars().count() as u16)
        .unwrap();
    assert!(mono[(x, y)].modifier.contains(Modifier::BOLD));
}

#[test]
fn overdue_and_the_colourblind_palette() {
    // Six days later trivy's active snapshot is past its stale threshold.
    let (_dir, db) = console_support::demo_db();
    let later = console_support::now() + chrono::Duration::days(6);
    let d = Driver::open(&db, console_support::env_at(later), false, 160, 48);
    for (theme, color) in [
        (Theme::new("auto", true), Color::LightRed),
        (Theme::new("colorblind", true), Color::LightYellow),
        (Theme::new("colorblind", false), Color::Reset),
    ] {
        let b = d.buffer(&theme);
        let (x, y) = find(&b, "▲ stale (overdue)").expect("overdue trivy");
        assert_eq!(b[(x, y)].fg, color, "{theme:?}");
        assert!(b[(x, y)].modifier.contains(Modifier::BOLD));
    }
    let b = d.buffer(&Theme::new("colorblind", true));
    let (x, y) = find(&b, "● fresh").unwrap();
    assert_eq!(b[(x, y)].fg, Color::Blue, "colour-blind fresh is blue");
}

#[test]
fn timeline_marks_tell_states_apart() {
    let d = Driver::demo(160, 48);
    let b = d.buffer(&Theme::new("auto", true));
    let (_, y) = find(&b, "trivy ").unwrap();
    let row: Vec<(String, Color, Modifier)> = (0..160)
        .map(|x| {
            (
                b[(x, y)].symbol().to_string(),
                b[(x, y)].fg,
                b[(x, y)].modifier,
            )
        })
        .collect();
    let has = |g: &str, c: Color| row.iter().any(|(s, fg, _)| s == g && *fg == c);
    // Marks show the snapshot's state, coloured as the legend and the lists
    // colour that state.
    assert!(has("✗", Color::Red), "failed import mark");
    assert!(has("▣", Color::Cyan), "archived, as in the legend");
    assert!(has("↶", Color::Yellow), "rolled back from");
    assert!(
        has("┊", Color::Yellow) || has("┊", Color::Green),
        "threshold guide"
    );
    let active = row
        .iter()
        .find(|(s, _, _)| s == "◆")
        .expect("the active snapshot has its own glyph");
    assert_eq!(active.1, Color::Green);
    assert!(active.2.contains(Modifier::BOLD));
    let legend_y = find(&b, "archived").unwrap().1;
    let legend: Vec<(String, Color)> = (0..160)
        .map(|x| (b[(x, legend_y)].symbol().to_string(), b[(x, legend_y)].fg))
        .collect();
    for (g, c) in [("▣", Color::Cyan), ("✗", Color::Red), ("◆", Color::Green)] {
        assert!(
            legend.iter().any(|(s, fg)| s == g && *fg == c),
            "{g} looks the same in the legend"
        );
    }
    // Without colour every mark keeps its glyph.
    let m = d.buffer(&Theme::new("auto", false));
    let glyphs: String = (0..160).map(|x| m[(x, y)].symbol()).collect();
    for g in ["✗", "▣", "↶", "◆"] {
        assert!(glyphs.contains(g), "{g} in {glyphs}");
    }
    assert!((0..160).all(|x| m[(x, y)].fg == Color::Reset));
}

//! The layers, enforced from the source so they cannot silently erode:
//! `domain` uses nothing of the crate but itself; `ingest` and `store` use
//! only `domain` (and themselves); `ops` uses no front end (`cli`,
//! `console`, `api`); `rusqlite` and `postgres` are spelled only under `src/store/`.
//!
//! The reader works on text: it drops comments, then resolves each
//! `crate::`, `snapgov::` and leading `super::` path to the top-level module
//! it names. That is enough for this tree (no `#[path]`, no macros building
//! paths); the self-tests below show it catches each kind of breach.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Top-level modules of the crate (src/lib.rs), read so a new one is known.
fn top_modules(src: &Path) -> BTreeSet<String> {
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("read src/lib.rs");
    strip_comments(&lib)
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let rest = l
                .strip_prefix("pub mod ")
                .or_else(|| l.strip_prefix("mod "))?;
            Some(rest.trim_end_matches(';').trim().to_string())
        })
        .collect()
}

/// Removes `//` and `/* */` comments, keeping line breaks so line numbers
/// stay right, and leaving string literals alone.
fn strip_comments(text: &str) -> String {
    let b: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut in_str = false;
    let mut block = 0usize;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if block > 0 {
            if c == '*' && next == Some('/') {
                block -= 1;
                i += 2;
                continue;
            }
            if c == '/' && next == Some('*') {
                block += 1;
                i += 2;
                continue;
            }
            if c == '\n' {
                out.push('\n');
            }
            i += 1;
            continue;
        }
        if in_str {
            out.push(c);
            if c == '\\' {
                if let Some(n) = next {
                    out.push(n);
                }
                i += 2;
                continue;
            }
            if c == '"' {
                in_str = false;
            }
            i += 1;
            continue;
        }
        match (c, next) {
            ('/', Some('/')) => {
                while i < b.len() && b[i] != '\n' {
                    i += 1;
                }
            }
            ('/', Some('*')) => {
                block = 1;
                i += 2;
            }
            ('"', _) => {
                in_str = true;
                out.push(c);
                i += 1;
            }
            // A char literal (`'"'`, `'\\''`) must not open a string.
            ('\'', Some('\\')) => {
                let end = (i + 2..b.len())
                    .find(|&j| b[j] == '\'')
                    .unwrap_or(b.len() - 1);
                out.extend(&b[i..=end]);
                i = end + 1;
            }
            ('\'', Some(_)) if b.get(i + 2) == Some(&'\'') => {
                out.extend(&b[i..i + 3]);
                i += 3;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

fn ident_at(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Each (line, top-level module) a piece of source refers to. `module_path`
/// is the file's own module path (`["ingest", "syft"]`), used to resolve
/// `super::`.
fn references(source: &str, module_path: &[String]) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (n, line) in strip_comments(source).lines().enumerate() {
        let lineno = n + 1;
        for root in ["crate::", "snapgov::"] {
            let mut from = 0;
            while let Some(pos) = line[from..].find(root) {
                let at = from + pos;
                from = at + root.len();
                if line[..at].chars().next_back().is_some_and(is_ident_char) {
                    continue;
                }
                let rest = &line[from..];
                if let Some(group) = rest.strip_prefix('{') {
                    // `use crate::{a::x, b}`: each item's first segment.
                    let group = group.split('}').next().unwrap_or("");
                    for item in group.split(',') {
                        let name = ident_at(item.trim());
                        if !name.is_empty() {
                            found.push((lineno, name.to_string()));
                        }
                    }
                } else {
                    let name = ident_at(rest);
                    if !name.is_empty() {
                        found.push((lineno, name.to_string()));
                    }
                }
            }
        }
        // `super::super::x` climbing out of the file's layer.
        let mut from = 0;
        while let Some(pos) = line[from..].find("super::") {
            let at = from + pos;
            if line[..at].chars().next_back().is_some_and(is_ident_char)
                || line[..at].ends_with("super::")
            {
                from = at + "super::".len();
                continue;
            }
            let mut rest = &line[at..];
            let mut ups = 0;
            while let Some(r) = rest.strip_prefix("super::") {
                ups += 1;
                rest = r;
            }
            from = line.len() - rest.len();
            if ups >= module_path.len() {
                let name = ident_at(rest);
                if !name.is_empty() {
                    found.push((lineno, name.to_string()));
                }
            }
        }
    }
    found
}

fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap();
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// What a layer may use of the crate: a list it keeps to, or one it avoids.
enum Rule {
    Only(&'static [&'static str]),
    Not(&'static [&'static str]),
}

fn rule_for(layer: &str) -> Option<Rule> {
    match layer {
        "domain" => Some(Rule::Only(&["domain"])),
        "ingest" => Some(Rule::Only(&["domain", "ingest"])),
        "store" => Some(Rule::Only(&["domain", "store"])),
        "ops" => Some(Rule::Not(&["cli", "console", "api"])),
        _ => None,
    }
}

/// Every breach in one file, as "path:line: message".
fn breaches(
    shown: &str,
    source: &str,
    module_path: &[String],
    tops: &BTreeSet<String>,
) -> Vec<String> {
    let mut out = Vec::new();
    let layer = module_path.first().map(String::as_str).unwrap_or("");
    if let Some(rule) = rule_for(layer) {
        for (line, name) in references(source, module_path) {
            if !tops.contains(&name) {
                continue;
            }
            let allowed = match rule {
                Rule::Only(ok) => ok.contains(&name.as_str()),
                Rule::Not(bad) => !bad.contains(&name.as_str()),
            };
            if !allowed {
                let what = match rule {
                    Rule::Only(ok) => format!("may use only {}", ok.join(", ")),
                    Rule::Not(bad) => format!("must not use the front ends {}", bad.join(", ")),
                };
                out.push(format!(
                    "{shown}:{line}: `{layer}` uses `crate::{name}`, but `{layer}` {what}; \
                     move the code it needs down a layer or the caller up"
                ));
            }
        }
    }
    if layer != "store" {
        for (n, line) in strip_comments(source).lines().enumerate() {
            for engine in DB_CRATES {
                // A path (`postgres::Client`) or the bare name, not a URL
                // scheme (`postgres://`) in a message.
                let hit = line.match_indices(engine).any(|(at, _)| {
                    let rest = &line[at + engine.len()..];
                    !line[..at].chars().next_back().is_some_and(is_ident_char)
                        && (rest.starts_with("::")
                            || !rest
                                .chars()
                                .next()
                                .is_some_and(|c| is_ident_char(c) || c == ':'))
                });
                if hit {
                    out.push(format!(
                        "{shown}:{}: `{engine}` outside src/store/; SQL lives only in the store, \
                         so add a store function and call it",
                        n + 1
                    ));
                }
            }
        }
    }
    out
}

/// The database client crates: only the store speaks to an engine.
const DB_CRATES: [&str; 3] = ["rusqlite", "postgres", "postgres_native_tls"];

fn path_of(s: &str) -> Vec<String> {
    s.split('/').map(String::from).collect()
}

fn tops() -> BTreeSet<String> {
    [
        "api",
        "cli",
        "config",
        "console",
        "domain",
        "ingest",
        "ops",
        "store",
        "synthetic_feed",
    ]
    .into_iter()
    .map(String::from)
    .collect()
}

#[test]
fn the_source_tree_keeps_its_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let tops = top_modules(&src);
    for layer in ["domain", "ingest", "store", "ops"] {
        assert!(
            tops.contains(layer),
            "src/lib.rs no longer declares `{layer}`"
        );
    }
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut all = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let shown = format!("src/{}", f.strip_prefix(&src).unwrap().display());
        all.extend(breaches(&shown, &text, &module_path(&src, f), &tops));
    }
    assert!(
        all.is_empty(),
        "{} layering breach(es):\n{}",
        all.len(),
        all.join("\n")
    );
}

#[test]
fn an_upward_import_is_named_with_file_and_line() {
    let src = "use crate::domain::x;\n\nuse crate::{domain::y, store::Store};\n";
    let got = breaches("src/ingest/x.rs", src, &path_of("ingest/x"), &tops());
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].starts_with("src/ingest/x.rs:3: `ingest` uses `crate::store`"));
}

#[test]
fn domain_may_not_reach_a_sibling_layer_by_super() {
    let src = "fn f() { super::super::ops::run(); super::time::now(); }\n";
    let got = breaches("src/domain/x.rs", src, &path_of("domain/x"), &tops());
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].contains("`domain` uses `crate::ops`"), "{got:?}");
}

#[test]
fn ops_may_not_use_a_front_end_but_comments_do_not_count() {
    let src =
        "// lives in crate::api\n/* crate::cli */\nlet s = \"//\"; use crate::console::App;\n";
    let got = breaches("src/ops/x.rs", src, &path_of("ops/x"), &tops());
    assert_eq!(got, vec!["src/ops/x.rs:3: `ops` uses `crate::console`, but `ops` must not use the front ends cli, console, api; move the code it needs down a layer or the caller up".to_string()]);
}

#[test]
fn rusqlite_is_spelled_only_in_the_store() {
    let src = "use rusqlite::Connection;\n// rusqlite in a comment\nlet my_rusqlite_x = 1;\n";
    let got = breaches("src/ops/x.rs", src, &path_of("ops/x"), &tops());
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].starts_with("src/ops/x.rs:1: `rusqlite` outside src/store/"));
    assert!(breaches("src/store/x.rs", src, &path_of("store/x"), &tops()).is_empty());
}

#[test]
fn the_postgresql_client_is_spelled_only_in_the_store() {
    let src = "let c = postgres::Client::connect(u, t);\nlet is_postgres = true;\nlet help = \"a postgres://host/db URL\";\n";
    let got = breaches("src/api/x.rs", src, &path_of("api/x"), &tops());
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].starts_with("src/api/x.rs:1: `postgres` outside src/store/"));
    assert!(breaches("src/store/pg.rs", src, &path_of("store/pg"), &tops()).is_empty());
}

/// Each (line, `--flag`) spelled in code (not comments) of one file.
fn cli_flags(source: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (n, line) in strip_comments(source).lines().enumerate() {
        for (at, _) in line.match_indices("--") {
            if line[..at]
                .chars()
                .next_back()
                .is_some_and(|c| is_ident_char(c) || c == '-')
            {
                continue;
            }
            let rest = &line[at + 2..];
            if !rest.starts_with(|c: char| c.is_ascii_lowercase()) {
                continue;
            }
            let end = rest
                .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
                .unwrap_or(rest.len());
            found.push((n + 1, format!("--{}", rest[..end].trim_end_matches('-'))));
        }
    }
    found
}

/// Flags of other programs, which snapgov may name anywhere.
const NOT_OURS: &[&str] = &["--list-all-pkgs"];

#[test]
fn cli_flags_are_spelled_only_in_the_cli() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut found = Vec::new();
    for f in &files {
        let shown = format!("src/{}", f.strip_prefix(&src).unwrap().display());
        if shown.starts_with("src/cli/") {
            continue;
        }
        for (line, flag) in cli_flags(&std::fs::read_to_string(f).unwrap()) {
            if !NOT_OURS.contains(&flag.as_str()) {
                found.push(format!(
                    "{shown}:{line}: the CLI flag `{flag}` is spelled outside src/cli/; \
                     return the facts (a Problem with a Hint) and let each front end word it"
                ));
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// Files that are data tables, not code a reader follows: allowed past the
/// size limits (the key bindings; the OpenAPI schemas).
const DATA_TABLES: &[&str] = &["src/console/keymap/table.rs", "src/api/openapi.rs"];

const MAX_FILE_LINES: usize = 600;
const MAX_FN_LINES: usize = 80;

/// `code` (comments already stripped) with every string literal's content,
/// raw strings included, replaced by spaces: braces inside strings must not
/// count.
fn blank_strings(code: &str) -> String {
    let b: Vec<char> = code.chars().collect();
    let mut out: Vec<char> = b.clone();
    let mut i = 0;
    while i < b.len() {
        let raw = b[i] == 'r'
            && (i == 0 || !(b[i - 1].is_alphanumeric() || b[i - 1] == '_') || b[i - 1] == 'b')
            && matches!(b.get(i + 1), Some('"') | Some('#'));
        if raw {
            let hashes = b[i + 1..].iter().take_while(|&&c| c == '#').count();
            if b.get(i + 1 + hashes) == Some(&'"') {
                let close: Vec<char> = std::iter::once('"')
                    .chain(std::iter::repeat_n('#', hashes))
                    .collect();
                let start = i + 2 + hashes;
                let end = (start..b.len())
                    .find(|&j| b[j..].starts_with(&close))
                    .unwrap_or(b.len());
                for c in out.iter_mut().take(end).skip(start) {
                    if *c != '\n' {
                        *c = ' ';
                    }
                }
                i = end + close.len();
                continue;
            }
        }
        if b[i] == '\'' {
            // A char literal ('"', '{', '\'') is blanked whole.
            let len = if b.get(i + 1) == Some(&'\\') {
                (i + 2..b.len()).find(|&j| b[j] == '\'').map(|j| j + 1 - i)
            } else if b.get(i + 2) == Some(&'\'') {
                Some(3)
            } else {
                None
            };
            if let Some(n) = len {
                for c in out.iter_mut().skip(i + 1).take(n - 2) {
                    *c = ' ';
                }
                i += n;
                continue;
            }
        }
        if b[i] == '"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != '"' {
                j += if b[j] == '\\' { 2 } else { 1 };
            }
            for c in out.iter_mut().take(j.min(b.len())).skip(i + 1) {
                if *c != '\n' {
                    *c = ' ';
                }
            }
            i = j + 1;
            continue;
        }
        i += 1;
    }
    out.into_iter().collect()
}

/// Every function body in `code` (before its test module) longer than
/// `max` lines: (first line, name, length).
fn long_functions(code: &str, max: usize) -> Vec<(usize, String, usize)> {
    let code = blank_strings(&strip_comments(code));
    let code = match code.find("#[cfg(test)]\nmod ") {
        Some(i) => &code[..i],
        None => &code[..],
    };
    let line_of = |i: usize| code[..i].matches('\n').count() + 1;
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(k) = code[from..].find("fn ") {
        let at = from + k;
        from = at + 3;
        if at > 0
            && (code.as_bytes()[at - 1].is_ascii_alphanumeric() || code.as_bytes()[at - 1] == b'_')
        {
            continue;
        }
        let name = ident_at(&code[at + 3..]).to_string();
        let (Some(open), semi) = (code[at..].find('{'), code[at..].find(';')) else {
            continue;
        };
        if semi.is_some_and(|s| s < open) {
            continue;
        }
        let mut depth = 0;
        let mut end = at + open;
        for (j, c) in code[at + open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = at + open + j;
                        break;
                    }
                }
                _ => {}
            }
        }
        let (first, last) = (line_of(at), line_of(end));
        if last - first + 1 > max {
            out.push((first, name, last - first + 1));
        }
    }
    out
}

#[test]
fn files_and_functions_stay_small_enough_to_hold_in_your_head() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut over = Vec::new();
    for f in &files {
        let shown = format!("src/{}", f.strip_prefix(&src).unwrap().display());
        if DATA_TABLES.contains(&shown.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap();
        let lines = text.lines().count();
        if lines > MAX_FILE_LINES {
            over.push(format!(
                "{shown}: {lines} lines (at most {MAX_FILE_LINES}); split it along a seam"
            ));
        }
        for (line, name, n) in long_functions(&text, MAX_FN_LINES) {
            over.push(format!(
                "{shown}:{line}: fn {name} is {n} lines (at most {MAX_FN_LINES})"
            ));
        }
    }
    assert!(over.is_empty(), "{}", over.join("\n"));
}

#[test]
fn a_long_function_is_measured_without_its_strings_comments_or_tests() {
    let body: String = (0..90)
        .map(|i| format!("    let x{i} = \"{{\";\n"))
        .collect();
    let code = format!(
        "// fn not_code() {{\nfn long() {{\n{body}}}\nfn short() {{ let s = r#\"}}\"#; }}\n#[cfg(test)]\nmod tests {{\n    fn in_tests() {{\n{body}    }}\n}}\n"
    );
    let long = long_functions(&code, 80);
    assert_eq!(long, vec![(2, "long".to_string(), 92)]);
}

#[test]
fn a_flag_in_a_string_is_found_but_not_in_a_comment_or_a_decrement() {
    let src = "// use --old\nlet m = \"import again with --allow-empty\"; x -= 1; y--;\nlet a = \"--\";\n";
    assert_eq!(cli_flags(src), vec![(2, "--allow-empty".to_string())]);
}

//! The import's progress on stderr: a bar of bytes against the file's size
//! (its last state stays as one line when the import succeeds), a spinner
//! without an ETA for standard input, nothing with --json or --quiet or
//! when stderr is not a terminal. `SNAPGOV_PROGRESS=always` forces it on
//! where stderr is a pipe, as here.

mod common;

use common::{import_args, Run, Sandbox};
use indicatif::HumanBytes;
use snapgov::ingest::Format;
use snapgov::synthetic_feed::FeedSpec;
use std::io::Write;
use std::process::Stdio;

fn feed(sb: &Sandbox) -> (std::path::PathBuf, u64) {
    let spec = FeedSpec {
        packages: 3000,
        seed: 1,
        ..Default::default()
    };
    let p = sb.feed("feed.syft.json", Format::SyftJson, &spec);
    let size = std::fs::metadata(&p).unwrap().len();
    (p, size)
}

fn forced(sb: &Sandbox, args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut c = sb.cmd(args);
    c.env("SNAPGOV_PROGRESS", "always")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        input.write_all(bytes).unwrap();
    }
    drop(input);
    let r: Run = child.wait_with_output().unwrap().into();
    assert_eq!(r.code, 0, "snapgov {args:?}: {}", r.stderr);
    r
}

#[test]
fn a_file_import_ends_with_the_bytes_read_against_the_files_size() {
    let sb = Sandbox::new();
    let (p, size) = feed(&sb);
    let r = forced(&sb, &import_args("syft", &[], p.to_str().unwrap()), None);
    let last = r.stderr.lines().last().unwrap_or_default();
    let want = format!("read {}/{} (", HumanBytes(size), HumanBytes(size));
    assert!(
        last.starts_with(&want),
        "want {want:?}, stderr:\n{}",
        r.stderr
    );
    assert!(last.contains("3000 records"), "{last}");
    assert!(r.stdout.starts_with("imported syft as"), "{}", r.stdout);
}

#[test]
fn a_stdin_import_shows_bytes_and_rate_but_no_eta() {
    let sb = Sandbox::new();
    let (p, size) = feed(&sb);
    let bytes = std::fs::read(&p).unwrap();
    let r = forced(&sb, &import_args("syft", &[], "-"), Some(&bytes));
    assert!(!r.stderr.contains("ETA"), "{}", r.stderr);
    let last = r.stderr.lines().last().unwrap_or_default();
    let want = format!("read {} (", HumanBytes(size));
    assert!(
        last.starts_with(&want),
        "want {want:?}, stderr:\n{}",
        r.stderr
    );
    assert!(!last.contains(&format!("/{}", HumanBytes(size))), "{last}");
}

#[test]
fn json_quiet_and_a_pipe_show_no_progress() {
    let sb = Sandbox::new();
    let (p, _) = feed(&sb);
    let file = p.to_str().unwrap();
    let mut json = vec!["--json"];
    json.extend(import_args("syft", &[], file));
    let r = forced(&sb, &json, None);
    assert_eq!(r.stderr, "", "--json");
    let r = forced(
        &sb,
        &import_args("syft", &["--quiet", "--allow-shrink"], file),
        None,
    );
    assert_eq!(r.stderr, "", "--quiet");
    // Not forced, and stderr is a pipe.
    let r = sb.ok(&import_args("syft", &["--allow-shrink"], file));
    assert_eq!(r.stderr, "", "a pipe");
}

//! The console and the server keep working while several processes write
//! to the same store at once, and both show the others' changes.

mod api_common;
mod common;
#[path = "console_support/mod.rs"]
mod console_support;

use api_common::{client, Scratch};
use console_support::{env, text, Driver};
use snapgov::console::theme::Theme;
use snapgov::ingest::Format;
use snapgov::synthetic_feed::FeedSpec;

#[test]
fn console_and_server_keep_working_during_concurrent_writes() {
    let s = Scratch::demo("");
    let viewer = s.token("viewer", "v");
    let server = s.serve();
    let feeds: Vec<_> = (1..=4u64)
        .map(|seed| {
            let p = s.path(&format!("f{seed}.json"));
            let mut f = std::fs::File::create(&p).unwrap();
            snapgov::synthetic_feed::write_feed(
                Format::SyftJson,
                &FeedSpec {
                    packages: 400,
                    seed,
                    churn_permille: 50,
                    ..Default::default()
                },
                &mut f,
            )
            .unwrap();
            p
        })
        .collect();
    let mut console = Driver::open(std::path::Path::new(&s.location()), env(), true, 120, 40);
    let theme = Theme::new("auto", false);
    let c = client();
    let (polls, renders) = std::thread::scope(|scope| {
        let writers: Vec<_> = (0..6)
            .map(|w| {
                let s = &s;
                let feeds = &feeds;
                scope.spawn(move || {
                    for k in 0..4 {
                        let out = if (w + k) % 3 == 2 {
                            s.cli(&["ingest", "retention", "run"])
                        } else {
                            s.cli(&[
                                "ingest",
                                "import",
                                "--tool",
                                "syft",
                                "--allow-shrink",
                                feeds[(w + k) % 4].to_str().unwrap(),
                            ])
                        };
                        let code = out.status.code().unwrap_or(-1);
                        assert!(
                            code == 0 || code == 5,
                            "writer {w}: {}",
                            String::from_utf8_lossy(&out.stderr)
                        );
                    }
                })
            })
            .collect();
        let (mut polls, mut renders) = (0, 0);
        // Reads keep being answered, and the console keeps drawing, while the writers run.
        while writers.iter().any(|h| !h.is_finished()) {
            let h = c.get(server.url("/healthz")).send().unwrap();
            assert_eq!(h.status().as_u16(), 200);
            let r = c
                .get(server.url("/api/v1/ingest/snapshots?tool=syft&newestFirst=true&limit=1"))
                .bearer_auth(&viewer)
                .send()
                .unwrap();
            assert_eq!(r.status().as_u16(), 200, "{:?}", r.text());
            polls += 1;
            console.key(crossterm::event::KeyCode::Char('R'));
            let screen = text(&console.buffer(&theme));
            assert!(screen.contains("syft"), "{screen}");
            renders += 1;
        }
        for h in writers {
            h.join().unwrap();
        }
        (polls, renders)
    });
    eprintln!("during the writes: {polls} API polls, {renders} console redraws");
    assert!(polls > 0 && renders > 0);
    // Both now show the newest snapshot the writers made.
    let newest = s.cli_json(&[
        "ingest",
        "snapshots",
        "--tool",
        "syft",
        "--newest-first",
        "--limit",
        "1",
    ]);
    let id = newest["snapshots"][0]["id"].as_str().unwrap().to_string();
    let r: serde_json::Value = c
        .get(server.url("/api/v1/ingest/snapshots?tool=syft&newestFirst=true&limit=1"))
        .bearer_auth(&viewer)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(r["snapshots"][0]["id"], id.as_str());
    console.key(crossterm::event::KeyCode::Char('R'));
    let screen = text(&console.buffer(&theme));
    assert!(
        screen.contains(&id) || screen.contains(id.trim_start_matches("syft-")),
        "the console does not show {id}:\n{screen}"
    );
    assert_eq!(s.cli(&["ingest", "audit", "verify"]).status.code(), Some(0));
}

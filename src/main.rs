use std::process::ExitCode;

fn main() -> ExitCode {
    // Panics get color-eyre's report (with the hooks that later restore the
    // terminal); errors the user can act on are printed by the CLI itself.
    // No colour codes into a file or a pipe (logs, CI).
    let theme = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        color_eyre::config::Theme::dark()
    } else {
        color_eyre::config::Theme::new()
    };
    let _ = color_eyre::config::HookBuilder::default()
        .theme(theme)
        .install();
    quiet_on_closed_pipe();
    snapgov::cli::run()
}

/// `snapgov … | head`: once the reader has gone, printing fails with a
/// broken pipe, which `println!` turns into a panic. That is the reader's
/// choice, not a crash: end quietly, as Unix filters do (ripgrep exits 0
/// too). SIGPIPE itself stays ignored, as Rust sets it, so the server's and
/// PostgreSQL client's sockets keep reporting a closed peer as an error.
fn quiet_on_closed_pipe() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let p = info.payload();
        let msg = p
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| p.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.starts_with("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(0);
        }
        report(info)
    }));
}

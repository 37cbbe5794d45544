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
    snapgov::cli::run()
}

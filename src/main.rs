use std::process::ExitCode;

fn main() -> ExitCode {
    // Panics get color-eyre's report (with the hooks that later restore the
    // terminal); errors the user can act on are printed by the CLI itself.
    let _ = color_eyre::install();
    snapgov::cli::run()
}

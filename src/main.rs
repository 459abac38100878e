//! The `liqwave` binary: parses the command line, runs the subcommand, maps errors to exit codes
//! (78 for an invalid config or a missing secret, 1 for any other failure). Everything else lives
//! in the library.

use std::process::ExitCode;

use clap::Parser;
use liqwave::cli::{self, Cli};

fn main() -> ExitCode {
    liqwave::supervisor::install_crypto_provider();
    let cli = Cli::parse();
    match cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // `liqwave status | head`: the reader has what it wanted.
        Err(error) if cli::is_closed_output(&error) => ExitCode::SUCCESS,
        Err(error) => {
            // The one place errors reach a human directly: before logging may exist.
            #[allow(clippy::print_stderr)]
            {
                eprintln!("error: {error:#}");
            }
            cli::exit_code(&error)
        }
    }
}

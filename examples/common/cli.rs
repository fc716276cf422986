//! Shared by the examples: how a command line ends.

use std::process::ExitCode;

/// Parses the arguments, then runs: a usage error prints its message and exits 2, a failure
/// prints `error: …` and exits 1.
pub fn main_with<A, E: std::fmt::Display>(
    parse: impl FnOnce() -> Result<A, String>,
    run: impl FnOnce(A) -> Result<(), E>,
) -> ExitCode {
    match parse() {
        Err(msg) => {
            eprintln!("{msg}");
            ExitCode::from(2)
        }
        Ok(args) => match run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

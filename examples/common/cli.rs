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

/// The stores of `--servers`, each server's address from its flag or else the `WEBSIGHT_*`
/// variable of `scripts/services.sh env`.
#[allow(dead_code)] // not every example runs on servers
pub fn servers(
    kafka: Option<String>,
    redis: Option<String>,
    mongodb: Option<String>,
    search: Option<String>,
    prefix: &str,
) -> Result<websight::connectors::topology::Servers, String> {
    let from_env = |flag: Option<String>, var: &str, name: &str| {
        flag.or_else(|| std::env::var(var).ok()).ok_or(format!(
            "--servers needs {name} (or {var}; see scripts/services.sh env)"
        ))
    };
    Ok(websight::connectors::topology::Servers::all(
        &from_env(kafka, "WEBSIGHT_KAFKA_BROKERS", "--kafka")?,
        &from_env(redis, "WEBSIGHT_REDIS_URL", "--redis")?,
        &from_env(mongodb, "WEBSIGHT_MONGODB_URL", "--mongodb")?,
        &from_env(search, "WEBSIGHT_SEARCH_URL", "--search")?,
        prefix,
    ))
}

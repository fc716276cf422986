//! Shared by the connector tests: the local servers of `scripts/services.sh`.

use std::process::Command;

/// The server URL in `var` (set by `eval "$(scripts/services.sh env)"`); without it the
/// test is skipped, unless the suite requires servers (`WEBSIGHT_REQUIRE_SERVICES`).
pub fn server(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) => Some(url),
        Err(_) => {
            assert!(
                std::env::var_os("WEBSIGHT_REQUIRE_SERVICES").is_none(),
                "{var} unset: run scripts/services.sh start and eval its env"
            );
            eprintln!("skipping: {var} unset (scripts/services.sh start)");
            None
        }
    }
}

/// Runs `scripts/services.sh ARGS` (e.g. `stop-one search`), failing the test if it fails.
#[allow(dead_code)] // not every test binary stops servers
pub fn services(args: &[&str]) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/services.sh");
    let status = Command::new("bash")
        .arg(script)
        .args(args)
        .status()
        .unwrap();
    assert!(status.success(), "services.sh {args:?}");
}

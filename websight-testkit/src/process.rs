//! Running the built examples and outside programs (Node.js SDK scripts, headless Chromium)
//! from integration tests.

use std::path::PathBuf;
use std::process::Command;

/// The built example `name` (`cargo test` builds them in `target/<profile>/examples`).
pub fn example(name: &str) -> Command {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    let path: PathBuf = profile_dir.join("examples").join(name);
    assert!(path.exists(), "{} was not built", path.display());
    Command::new(path)
}

/// Runs `cmd`, failing the test with its standard error unless it succeeds.
pub fn run_ok(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `cmd`, failing the test unless it exits with `code` and its standard error says
/// `said`; returns that standard error.
pub fn run_failing(cmd: &mut Command, code: i32, said: &str) -> String {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "{cmd:?}: {stderr}");
    assert!(
        stderr.contains(said),
        "{cmd:?} did not say {said:?}: {stderr}"
    );
    stderr
}

/// The repository's root (this crate lives one level below it).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("websight-testkit lives in the workspace")
        .to_owned()
}

/// Headless Chromium: `WEBSIGHT_CHROMIUM`, else Debian's `/usr/bin/chromium`. The test suite
/// script installs it and sets `WEBSIGHT_REQUIRE_BROWSER=1`, so a missing browser fails there
/// and only skips (with a note) in a bare `cargo test`.
pub fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("WEBSIGHT_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var_os("WEBSIGHT_REQUIRE_BROWSER").is_none(),
        "no Chromium at {} (scripts/test.sh installs Debian's chromium)",
        path.display()
    );
    eprintln!(
        "skipping the browser test: no Chromium at {}",
        path.display()
    );
    None
}

/// `browser` run headless with its own `profile` directory (no first-run dialogs, no GPU).
pub fn headless(browser: &PathBuf, profile: &std::path::Path) -> Command {
    let mut cmd = Command::new(browser);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=3000",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    cmd
}

/// `scripts/sdk` with its npm packages installed and Node.js on the path; `None` (skip)
/// without, unless the suite requires them (`WEBSIGHT_REQUIRE_SERVICES`).
pub fn node_sdk() -> Option<PathBuf> {
    let sdk = root().join("scripts/sdk");
    let packages = [
        "@segment/analytics-node",
        "@segment/analytics-next",
        "@rudderstack/rudder-sdk-node",
        "@rudderstack/analytics-js",
        "@jitsu/js",
    ];
    let ready = packages
        .iter()
        .all(|package| sdk.join("node_modules").join(package).exists())
        && Command::new("node")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
    required(
        ready,
        "node and scripts/sdk/node_modules (npm ci --prefix scripts/sdk)",
    )
    .then_some(sdk)
}

/// The Python of `scripts/sdk/.venv` with the SDKs of `scripts/sdk/requirements.txt`
/// importable; `None` (skip) without, unless the suite requires them
/// (`WEBSIGHT_REQUIRE_SERVICES`).
pub fn python_sdk() -> Option<PathBuf> {
    let python = root().join("scripts/sdk/.venv/bin/python");
    let ready = Command::new(&python)
        .args(["-c", "import segment.analytics, rudderstack.analytics"])
        .output()
        .is_ok_and(|o| o.status.success());
    required(
        ready,
        "the Python SDKs in scripts/sdk/.venv (scripts/test.sh installs them)",
    )
    .then_some(python)
}

/// nginx (Debian's `nginx-light`, which `scripts/test.sh` installs): `WEBSIGHT_NGINX`, else
/// `/usr/sbin/nginx`; `None` (skip) without, unless the suite requires everything
/// (`WEBSIGHT_REQUIRE_SERVICES`).
pub fn nginx() -> Option<PathBuf> {
    let path = std::env::var_os("WEBSIGHT_NGINX")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/nginx"));
    required(path.exists(), "nginx (Debian's nginx-light)").then_some(path)
}

/// `ready`; when not, a test skips (saying it needs `what`) — or fails, when the suite
/// requires everything (`WEBSIGHT_REQUIRE_SERVICES`).
fn required(ready: bool, what: &str) -> bool {
    if !ready {
        assert!(
            std::env::var_os("WEBSIGHT_REQUIRE_SERVICES").is_none(),
            "{what} are needed"
        );
        eprintln!("skipping: {what} are needed");
    }
    ready
}

/// The variables of `scripts/services.sh env` naming all four servers.
pub const ALL_SERVERS: [&str; 4] = [
    "WEBSIGHT_KAFKA_BROKERS",
    "WEBSIGHT_REDIS_URL",
    "WEBSIGHT_MONGODB_URL",
    "WEBSIGHT_SEARCH_URL",
];

/// The values of server variables of `scripts/services.sh env`; `None` (skip) when one is
/// unset, unless the suite requires the servers (`WEBSIGHT_REQUIRE_SERVICES`).
pub fn servers<const N: usize>(vars: [&str; N]) -> Option<[String; N]> {
    let values = vars.map(|v| std::env::var(v).ok());
    let what = format!("the servers of {vars:?} (scripts/services.sh start, then env)");
    required(values.iter().all(Option::is_some), &what)
        .then(|| values.map(Option::unwrap_or_default))
}

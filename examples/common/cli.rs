//! Shared by the examples: how a command line is read and how it ends.

use std::process::ExitCode;

/// The command line read flag by flag: [`Flags::value`] and [`Flags::parse`] read the value
/// of the flag [`Flags::next`] returned last, and their errors name that flag.
pub struct Flags {
    args: std::iter::Skip<std::env::Args>,
    flag: String,
}

#[allow(dead_code)] // not every example reads flags
impl Flags {
    /// The process's arguments after the program's name.
    pub fn from_env() -> Flags {
        Flags {
            args: std::env::args().skip(1),
            flag: String::new(),
        }
    }

    /// The next flag (or argument), `None` at the end.
    #[allow(clippy::should_implement_trait)] // not an iterator: values are read in between
    pub fn next(&mut self) -> Option<String> {
        let flag = self.args.next()?;
        self.flag.clone_from(&flag);
        Some(flag)
    }

    /// The current flag's value: `--flag needs a value` when there is none.
    pub fn value(&mut self) -> Result<String, String> {
        self.args
            .next()
            .ok_or_else(|| format!("{} needs a value", self.flag))
    }

    /// The current flag's value as a file the tool writes when it is done: refused now
    /// (`--flag PATH: no directory DIR to write it in`) when its directory is missing, not
    /// after all the work.
    pub fn file_out(&mut self) -> Result<String, String> {
        let path = self.value()?;
        let dir = match std::path::Path::new(&path).parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => std::path::Path::new("."),
        };
        if !dir.is_dir() {
            return Err(format!(
                "{} {path}: no directory {} to write it in",
                self.flag,
                dir.display()
            ));
        }
        Ok(path)
    }

    /// The current flag's value read as a count of `what`, at least 1: `--flag is a number of
    /// {what}: at least 1` when it is 0.
    pub fn positive<T>(&mut self, what: &str) -> Result<T, String>
    where
        T: std::str::FromStr + Default + PartialEq,
        T::Err: std::fmt::Display,
    {
        let n: T = self.parse()?;
        if n == T::default() {
            return Err(format!("{} is a number of {what}: at least 1", self.flag));
        }
        Ok(n)
    }

    /// The current flag's value read as a `T`: `--flag "v": why` when it is not one (a
    /// number out of `T`'s range included, never cut to fit).
    pub fn parse<T: std::str::FromStr>(&mut self) -> Result<T, String>
    where
        T::Err: std::fmt::Display,
    {
        let v = self.value()?;
        v.parse().map_err(|e| format!("{} {v:?}: {e}", self.flag))
    }
}

/// What `--help` answers: the usage, a line on what the tool does, then each flag with what
/// it does and its default, in sections, wrapped to 100 columns.
#[allow(dead_code)] // not every example describes its flags
pub struct Help(String);

/// Where a flag's description starts.
const HELP_INDENT: usize = 30;
/// The width help text is wrapped to.
const HELP_WIDTH: usize = 100;

#[allow(dead_code)]
impl Help {
    /// The usage (which starts `usage:`, so that [`main_with`] recognises it), then `about`.
    pub fn new(usage: &str, about: &str) -> Help {
        let mut help = Help(format!("{usage}\n\n"));
        help.wrapped(about, 0);
        help
    }

    /// A section's title.
    pub fn section(mut self, title: &str) -> Help {
        self.0.push('\n');
        self.0.push_str(title);
        self.0.push_str(":\n");
        self
    }

    /// `flag` (as the usage writes it, with its value) and what it does.
    pub fn flag(mut self, flag: &str, what: impl std::fmt::Display) -> Help {
        self.0.push_str("  ");
        self.0.push_str(flag);
        let at = 2 + flag.chars().count();
        if at + 2 > HELP_INDENT {
            self.0.push('\n');
            self.0.push_str(&" ".repeat(HELP_INDENT));
        } else {
            self.0.push_str(&" ".repeat(HELP_INDENT - at));
        }
        self.wrapped(&what.to_string(), HELP_INDENT);
        self
    }

    /// `text` from the current column, its later lines indented by `indent`.
    fn wrapped(&mut self, text: &str, indent: usize) {
        let mut column = indent;
        for (i, word) in text.split_whitespace().enumerate() {
            let width = word.chars().count();
            if i > 0 && column + 1 + width > HELP_WIDTH {
                self.0.push('\n');
                self.0.push_str(&" ".repeat(indent));
                column = indent;
            } else if i > 0 {
                self.0.push(' ');
                column += 1;
            }
            self.0.push_str(word);
            column += width;
        }
        self.0.push('\n');
    }

    /// The whole text, as the parser's answer to `--help`.
    pub fn done(self) -> String {
        self.0
    }
}

/// A size in MiB given to `flag` (fractions allowed), in bytes: above 0, at most 1,000,000.
#[allow(dead_code)] // not every example that includes this module takes a size
pub fn mebibytes(flag: &str, mb: f64) -> Result<u64, String> {
    if mb > 0.0 && mb <= 1e6 {
        Ok(((mb * (1u64 << 20) as f64).round() as u64).max(1))
    } else {
        Err(format!(
            "{flag} is a size in MiB: above 0, at most 1,000,000"
        ))
    }
}

/// Takes the gate's flags into `gate`, `true` if `flag` is one of them:
/// `--ip-visits-per-minute N`, the visits one sender may start a minute before the `ip_rate`
/// rule rejects the next ([`GateConfig::ip_rate_max_visits`]), and `--max-quantity N`, the
/// most units of one product in one event before `impossible_figures` rejects it
/// ([`GateConfig::max_quantity`]); both at least 1.
///
/// [`GateConfig::ip_rate_max_visits`]: websight::core::gate::GateConfig::ip_rate_max_visits
/// [`GateConfig::max_quantity`]: websight::core::gate::GateConfig::max_quantity
#[allow(dead_code)] // not every example that includes this module has a gate
pub fn take_gate_flag(
    flag: &str,
    flags: &mut Flags,
    gate: &mut websight::core::gate::GateConfig,
) -> Result<bool, String> {
    match flag {
        "--ip-visits-per-minute" => gate.ip_rate_max_visits = flags.positive("visits")?,
        "--max-quantity" => gate.max_quantity = flags.positive("units")?,
        _ => return Ok(false),
    }
    Ok(true)
}

/// Takes the generator's flags into `config`, `true` if `flag` is one of them: `--sessions
/// N`, `--users N`, `--days N` and `--seed N`.
#[allow(dead_code)] // not every example generates traffic
pub fn take_synth_flag(
    flag: &str,
    flags: &mut Flags,
    config: &mut websight::core::synth::SynthConfig,
) -> Result<bool, String> {
    match flag {
        "--sessions" => config.sessions = flags.parse()?,
        "--users" => config.users = flags.parse()?,
        "--days" => config.days = flags.parse()?,
        "--seed" => config.seed = flags.parse()?,
        _ => return Ok(false),
    }
    Ok(true)
}

/// The lines of `--help` for the flags [`take_synth_flag`] takes, with their defaults.
#[allow(dead_code)]
pub fn synth_help(help: Help) -> Help {
    let d = websight::core::synth::SynthConfig::default();
    help.flag(
        "--sessions N",
        format!(
            "sessions to generate, abuse included (default {})",
            d.sessions
        ),
    )
    .flag(
        "--users N",
        format!("regular visitors they come from (default {})", d.users),
    )
    .flag("--days N", format!("days they span (default {})", d.days))
    .flag(
        "--seed N",
        format!(
            "seed of the generated traffic: the same seed, the same bytes (default {})",
            d.seed
        ),
    )
}

/// The lines of `--help` for the flags [`take_gate_flag`] takes, with their defaults.
#[allow(dead_code)]
pub fn gate_help(help: Help) -> Help {
    let d = websight::core::gate::GateConfig::default();
    help.flag(
        "--ip-visits-per-minute N",
        format!(
            "visits one sender (an IPv4 address, an IPv6 /64) may start a minute before the \
             gate's ip_rate rule rejects the next (default {}); raise it where visitors share \
             an address (offices, campuses, a mobile carrier's NAT)",
            d.ip_rate_max_visits
        ),
    )
    .flag(
        "--max-quantity N",
        format!(
            "the most units of one product in one event before impossible_figures rejects \
             it (default {}); raise it for a trade shop",
            d.max_quantity
        ),
    )
}

/// Standard output closed early (piped into `head`) ends the process as it ends `cat`: by
/// SIGPIPE, quietly. Rust ignores SIGPIPE, so `println!` on a closed pipe panicked with a
/// backtrace and a writer reported `Broken pipe` as a failure.
///
/// Only for a process without sockets: a vectored write to a socket whose peer has gone
/// (`writev`, which takes no `MSG_NOSIGNAL`) would then kill it instead of failing. A tool
/// with sockets prints with [`say!`] instead.
pub fn quiet_on_closed_stdout() {
    #[cfg(unix)]
    // SAFETY: sets one signal's disposition back to the default (process-wide, from any
    // thread); nothing else is touched.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// `println!` for a tool that keeps SIGPIPE ignored (it has sockets): when standard output
/// was closed early, the tool ends there by SIGPIPE as `cat` does, where `println!` would
/// panic with a backtrace — or goes on without it, after [`outlive_stdout`].
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::cli::said(::std::io::Write::write_fmt(
            &mut ::std::io::stdout().lock(),
            format_args!("{}\n", format_args!($($arg)*)),
        ))
    };
}
#[allow(unused_imports)] // not every example prints with it
pub(crate) use say;

/// Set by [`outlive_stdout`].
static OUTLIVE_STDOUT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// For a server: [`say!`] goes on when standard output is gone. `serve | tee log` stopped
/// with Ctrl-C loses `tee` at once, while `serve` still drains what it accepted.
#[allow(dead_code)] // for servers only
pub fn outlive_stdout() {
    OUTLIVE_STDOUT.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// What [`say!`] does with its write's result: a closed standard output ends the process by
/// SIGPIPE (its disposition restored only now, so sockets never met it); any other failure
/// (a full disk) ends it with `error: …` and exit status 1. After [`outlive_stdout`], a
/// failure is passed over.
#[allow(dead_code)]
pub fn said(written: std::io::Result<()>) {
    let Err(e) = written else { return };
    if OUTLIVE_STDOUT.load(std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        quiet_on_closed_stdout();
        #[cfg(unix)]
        // SAFETY: sends SIGPIPE, now at its default disposition, to this process, which
        // ends it; nothing else is touched.
        unsafe {
            libc::raise(libc::SIGPIPE);
        }
    } else {
        eprintln!("error: writing to standard output: {e}");
    }
    std::process::exit(1);
}

/// Parses the arguments, then runs: a usage error prints its message and exits 2, a failure
/// prints `error: …` and exits 1. Asked for with `-h` or `--help`, the help (what the
/// parser answers it with) goes to stdout and the exit is 0; with `-V` or `--version` alone,
/// the tool's name and websight's version.
pub fn main_with<A, E: std::fmt::Display>(
    parse: impl FnOnce() -> Result<A, String>,
    run: impl FnOnce(A) -> Result<(), E>,
) -> ExitCode {
    let mut args = std::env::args();
    if let (Some(tool), Some(flag), None) = (args.next(), args.next(), args.next())
        && (flag == "-V" || flag == "--version")
    {
        let name = std::path::Path::new(&tool)
            .file_stem()
            .map_or(tool.clone(), |n| n.to_string_lossy().into_owned());
        say!("{name} {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    match parse() {
        Err(usage) if usage.starts_with("usage:") && help_asked() => {
            say!("{}", usage.trim_end());
            ExitCode::SUCCESS
        }
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

/// Whether `-h` or `--help` is among the arguments.
pub fn help_asked() -> bool {
    std::env::args().skip(1).any(|a| a == "-h" || a == "--help")
}

/// The help's section on the environment of a tool that pseudonymises and logs:
/// `WEBSIGHT_PSEUDONYM_KEY` (what it does without one: `key_default`) and what
/// [`log_to_stderr`] reads.
#[allow(dead_code)] // not every example logs
pub fn environment_help(help: Help, key_default: &str) -> Help {
    help.section("Environment")
        .flag(
            "WEBSIGHT_PSEUDONYM_KEY",
            format!("the secret key of the pseudonyms (default: {key_default})"),
        )
        .flag(
            "RUST_LOG",
            "log levels on standard error: a level or target=level pairs, comma-separated \
             (default info)",
        )
}

/// Logs to stderr at `RUST_LOG`'s levels (`info` when unset or unreadable): a level, or
/// `target=level` pairs, comma-separated. `tracing_subscriber`'s `Targets` filter reads them
/// without regexes; its `EnvFilter` would bring in a regex build that makes every regex of
/// the process (the user-agent rules: ≈ 1,200) also build a full DFA, a quarter more
/// start-up work.
#[allow(dead_code)] // not every example logs
pub fn log_to_stderr() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let levels: tracing_subscriber::filter::Targets = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            tracing_subscriber::filter::Targets::new().with_default(tracing::Level::INFO)
        });
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())),
        )
        .with(levels)
        .init();
}

/// The server flags `pipeline` and `serve` share: `--servers [--prefix P] [--kafka
/// HOST:PORT] [--redis URL] [--mongodb URL]`. Each server's address comes from its flag or
/// else the `WEBSIGHT_*` variable of `scripts/services.sh env`.
#[allow(dead_code)] // not every example runs on servers
#[derive(Debug, Default)]
pub struct ServerFlags {
    servers: bool,
    kafka: Option<String>,
    redis: Option<String>,
    mongodb: Option<String>,
    prefix: Option<String>,
}

#[allow(dead_code)]
impl ServerFlags {
    /// Takes `flag` (reading its value from `flags`) if it is a server flag.
    pub fn take(&mut self, flag: &str, flags: &mut Flags) -> Result<bool, String> {
        match flag {
            "--servers" => self.servers = true,
            "--kafka" => self.kafka = Some(flags.value()?),
            "--redis" => self.redis = Some(flags.value()?),
            "--mongodb" => self.mongodb = Some(flags.value()?),
            "--prefix" => self.prefix = Some(flags.value()?),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The lines of `--help` for these flags; `prefix` says what `--prefix` names and its
    /// default, which differ between the tools.
    pub fn help(help: Help, prefix: &str) -> Help {
        help.flag(
            "--servers",
            "run on real servers: Kafka, Redis, MongoDB and Elasticsearch/OpenSearch (feature \
             connectors); each address from its flag, else its WEBSIGHT_* variable \
             (scripts/services.sh env)",
        )
        .flag(
            "--kafka HOST:PORT",
            "Kafka's brokers (or WEBSIGHT_KAFKA_BROKERS)",
        )
        .flag("--redis URL", "Redis (or WEBSIGHT_REDIS_URL)")
        .flag("--mongodb URL", "MongoDB (or WEBSIGHT_MONGODB_URL)")
        .flag("--prefix P", prefix)
    }

    /// Whether `--servers` was given.
    pub fn given(&self) -> bool {
        self.servers
    }

    /// Whether `--prefix` named the run.
    pub fn prefix_given(&self) -> bool {
        self.prefix.is_some()
    }

    /// The stores of `--servers` (`None` without it), with `search` as the search server:
    /// named by `--prefix`, else by what `default_prefix` gives (its error when it has none).
    pub fn check(
        self,
        search: Option<String>,
        default_prefix: impl FnOnce() -> Result<String, String>,
    ) -> Result<Option<websight::connectors::topology::Servers>, String> {
        if !self.servers {
            if self.kafka.is_some()
                || self.redis.is_some()
                || self.mongodb.is_some()
                || self.prefix.is_some()
            {
                return Err("--kafka, --redis, --mongodb and --prefix go with --servers".into());
            }
            return Ok(None);
        }
        let prefix = match self.prefix {
            Some(prefix) => prefix,
            None => default_prefix()?,
        };
        let from_env = |flag: Option<String>, var: &str, name: &str| {
            flag.or_else(|| std::env::var(var).ok()).ok_or(format!(
                "--servers needs {name} (or {var}; see scripts/services.sh env)"
            ))
        };
        Ok(Some(websight::connectors::topology::Servers::all(
            &from_env(self.kafka, "WEBSIGHT_KAFKA_BROKERS", "--kafka")?,
            &from_env(self.redis, "WEBSIGHT_REDIS_URL", "--redis")?,
            &from_env(self.mongodb, "WEBSIGHT_MONGODB_URL", "--mongodb")?,
            &from_env(search, "WEBSIGHT_SEARCH_URL", "--search")?,
            &prefix,
        )))
    }
}

/// The DP release flags of `pipeline` and `serve`: `--dp-epsilon E --dp-budget TOTAL
/// --dp-ledger FILE [--dp-budget-delta D] [--dp-visits-per-person K] [--dp-revenue-cap R]`.
#[allow(dead_code)] // not every example releases a dashboard
#[derive(Debug, Default)]
pub struct DpFlags {
    epsilon: Option<f64>,
    budget: Option<f64>,
    budget_delta: Option<f64>,
    ledger: Option<std::path::PathBuf>,
    visits_per_person: Option<u32>,
    revenue_cap: Option<f64>,
}

/// The ledger's δ budget when `--dp-budget-delta` is not given.
#[allow(dead_code)]
pub const DEFAULT_BUDGET_DELTA: f64 = 1e-5;

/// A DP release asked for on the command line.
#[allow(dead_code)]
#[derive(Clone)]
pub struct DpRelease {
    /// ε of the dashboard release.
    pub epsilon: f64,
    /// The persisted budget.
    pub ledger: websight::dp::Ledger,
    /// How contributions are bounded.
    pub bounds: websight::dp::dashboard::ContributionBounds,
}

#[allow(dead_code)]
impl DpFlags {
    /// Takes `flag` (reading its value from `flags`) if it is a DP flag.
    pub fn take(&mut self, flag: &str, flags: &mut Flags) -> Result<bool, String> {
        match flag {
            "--dp-epsilon" => self.epsilon = Some(flags.parse()?),
            "--dp-budget" => self.budget = Some(flags.parse()?),
            "--dp-budget-delta" => self.budget_delta = Some(flags.parse()?),
            "--dp-revenue-cap" => self.revenue_cap = Some(flags.parse()?),
            "--dp-visits-per-person" => self.visits_per_person = Some(flags.parse()?),
            "--dp-ledger" => self.ledger = Some(flags.value()?.into()),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The lines of `--help` for these flags, with their defaults.
    pub fn help(help: Help) -> Help {
        let bounds = websight::dp::dashboard::ContributionBounds::default();
        help.flag(
            "--dp-epsilon E",
            "also release visitors, visits, orders and revenue per day and per channel with \
             differential privacy, ε = E per person, with 95 % error bars (dp_dashboard.json, \
             the report); needs --dp-budget and --dp-ledger",
        )
        .flag(
            "--dp-budget TOTAL",
            "the whole ε budget the ledger allows; a release that does not fit is refused",
        )
        .flag(
            "--dp-ledger FILE",
            "the persisted budget, which every release is charged to first, across runs and \
             processes",
        )
        .flag(
            "--dp-budget-delta D",
            format!("the ledger's δ budget (default {DEFAULT_BUDGET_DELTA:e})"),
        )
        .flag(
            "--dp-visits-per-person K",
            format!(
                "visits counted per person, their first ones (default {})",
                bounds.visits_per_person
            ),
        )
        .flag(
            "--dp-revenue-cap R",
            format!(
                "revenue counted per visit, in {} (default {})",
                bounds.currency, bounds.revenue_cap
            ),
        )
    }

    /// The release, if `--dp-epsilon` was given (then `--dp-budget` and `--dp-ledger` are
    /// required); the ledger is opened now, so a bad one fails before any work.
    pub fn check(self, currency: &str) -> Result<Option<DpRelease>, String> {
        let Some(epsilon) = self.epsilon else {
            if self.budget.is_some() || self.budget_delta.is_some() || self.ledger.is_some() {
                return Err(
                    "--dp-budget, --dp-budget-delta and --dp-ledger go with --dp-epsilon".into(),
                );
            }
            return Ok(None);
        };
        let (Some(budget), Some(path)) = (self.budget, self.ledger) else {
            return Err("--dp-epsilon needs --dp-budget TOTAL and --dp-ledger FILE".into());
        };
        let mut bounds = websight::dp::dashboard::ContributionBounds {
            currency: currency.to_owned(),
            ..Default::default()
        };
        bounds.visits_per_person = self.visits_per_person.unwrap_or(bounds.visits_per_person);
        bounds.revenue_cap = self.revenue_cap.unwrap_or(bounds.revenue_cap);
        // δ of the whole budget: the private models spend 1e-5 of it.
        let delta = self.budget_delta.unwrap_or(DEFAULT_BUDGET_DELTA);
        let ledger = websight::dp::Ledger::open(path, budget, delta).map_err(|e| e.to_string())?;
        Ok(Some(DpRelease {
            epsilon,
            ledger,
            bounds,
        }))
    }
}

#[allow(dead_code)]
impl DpRelease {
    /// Releases the tally's dashboard (charging the ledger first), writes it to
    /// `dir/dp_dashboard.json` when given, and says what was spent.
    pub fn publish(
        &self,
        tally: &websight::dp::dashboard::DashboardTally,
        dir: Option<&std::path::Path>,
    ) -> Result<websight::dp::dashboard::PrivateDashboard, websight::dp::DpError> {
        let dp = tally.release(
            self.epsilon,
            &self.ledger,
            &mut websight::dp::exact::os_rng(),
        )?;
        self.announce(&dp, tally, dir)?;
        Ok(dp)
    }

    /// Says what a release of `tally` spent, and writes it to `dir/dp_dashboard.json` when
    /// given — replaced whole, so a reader never finds half of one.
    pub fn announce(
        &self,
        dp: &websight::dp::dashboard::PrivateDashboard,
        tally: &websight::dp::dashboard::DashboardTally,
        dir: Option<&std::path::Path>,
    ) -> Result<(), websight::dp::DpError> {
        say!(
            "DP dashboard: ε = {} per person ({} visits beyond {} per person left out), counts ±{} and revenue ±{:.2} {} at 95 %; budget left {:.3} of {} ({})",
            dp.epsilon,
            tally.dropped(),
            dp.bounds.visits_per_person,
            dp.count_error95,
            dp.revenue_error95,
            dp.bounds.currency,
            dp.budget_left,
            dp.budget_epsilon,
            self.ledger.path().display()
        );
        if let Some(dir) = dir {
            let path = dir.join(DP_DASHBOARD_FILE);
            let partial = path.with_extension("json.partial");
            let text = serde_json::to_string_pretty(dp).expect("serialisable") + "\n";
            std::fs::write(&partial, text)
                .and_then(|()| std::fs::rename(&partial, &path))
                .map_err(|e| {
                    websight::dp::DpError::Ledger(format!("cannot write {}: {e}", path.display()))
                })?;
        }
        Ok(())
    }

    /// The last release [`announce`](Self::announce) wrote to `dir`, if any is there and
    /// readable (e.g. one an earlier process made).
    #[allow(dead_code)]
    pub fn published(dir: &std::path::Path) -> Option<websight::dp::dashboard::PrivateDashboard> {
        let text = std::fs::read_to_string(dir.join(DP_DASHBOARD_FILE)).ok()?;
        serde_json::from_str(&text).ok()
    }
}

/// Where a DP dashboard release is written in an output directory.
const DP_DASHBOARD_FILE: &str = "dp_dashboard.json";

//! The privacy accountant from the command line.
//!
//! ```text
//! cargo run --release --example dp -- epsilon --q Q --sigma S --steps T --delta D
//!     → {"epsilon": …, "order": …}
//! cargo run --release --example dp -- epsilon --grid FILE.json
//!     FILE.json: [{"q","sigma","steps","delta"}, …] → [{"q","sigma","steps","delta","epsilon","order"}, …]
//! cargo run --release --example dp -- sigma --epsilon E --q Q --steps T --delta D
//!     → {"sigma": …, "epsilon": …}   (the smallest noise multiplier within ε)
//! cargo run --release --example dp -- sample --mechanism discrete-laplace|discrete-gaussian|laplace --scale S --n N
//!     → N samples, one per line (S: the Laplace scale b, or the Gaussian σ, read exactly)
//! cargo run --release --example dp -- ledger --ledger FILE --budget E [--budget-delta D]
//!                                     [--spend E [--delta D] --what TEXT]
//!     → {"budget_epsilon","budget_delta","spent_epsilon","spent_delta","remaining_epsilon","entries"}
//!     (the persisted budget: `--spend` charges it first and fails, changing nothing, when
//!     the spend does not fit)
//! ```
//!
//! `sample` draws from the exact samplers of `websight::dp::exact` with the operating
//! system's generator (`--seed-for-tests N` makes it reproducible, for tests only);
//! `laplace` is the snapped (grid) Laplace, whose outputs are multiples of a power of two.
//!
//! ε is opacus 1.6's RDP accounting of the Poisson-subsampled Gaussian mechanism over its
//! default orders, for add/remove-one neighbouring.

use std::process::ExitCode;

use serde::Deserialize;
use serde_json::json;
use websight::dp::accountant::{epsilon, epsilon_grid, noise_multiplier};

#[path = "common/cli.rs"]
mod cli;

const USAGE: &str = "usage:
  dp epsilon --q Q --sigma S --steps T --delta D
  dp epsilon --grid FILE.json
  dp sigma --epsilon E --q Q --steps T --delta D
  dp sample --mechanism discrete-laplace|discrete-gaussian|laplace --scale S --n N [--seed-for-tests N]
  dp ledger --ledger FILE --budget E [--budget-delta D] [--spend E [--delta D] --what TEXT]";

/// What `--help` answers.
fn help() -> String {
    cli::Help::new(
        USAGE,
        "The privacy accountant and samplers from the command line. ε is opacus 1.6's RDP \
         accounting of the Poisson-subsampled Gaussian mechanism (add/remove-one neighbours); \
         the samplers are exact, drawing from the operating system's generator. Each \
         answer is one JSON line (sample: one number per line).",
    )
    .section("Commands")
    .flag("epsilon", "ε of DP-SGD's steps: {\"epsilon\", \"order\"}")
    .flag(
        "sigma",
        "the smallest noise multiplier within ε: {\"sigma\", \"epsilon\"}",
    )
    .flag("sample", "N draws of a mechanism")
    .flag(
        "ledger",
        "a persisted budget, spent from first with --spend (refused, changing nothing, when \
         it does not fit): {\"budget_epsilon\", \"spent_epsilon\", \"remaining_epsilon\", \
         \"entries\", ...}",
    )
    .section("Flags")
    .flag("--q Q", "the sampling rate of a step")
    .flag("--sigma S", "the noise multiplier")
    .flag("--steps T", "the number of steps")
    .flag(
        "--delta D",
        "δ of the accounting (epsilon, sigma), or of a --spend (ledger; without it the \
         spend is pure ε)",
    )
    .flag("--epsilon E", "the ε to stay within (sigma)")
    .flag(
        "--grid FILE.json",
        "[{\"q\", \"sigma\", \"steps\", \"delta\"}, ...]: ε of each, in one array",
    )
    .flag(
        "--mechanism discrete-laplace|discrete-gaussian|laplace",
        "what to sample; laplace is the snapped Laplace, whose outputs lie on a grid of a \
         power of two",
    )
    .flag(
        "--scale S",
        "the Laplace scale b, or the Gaussian σ, read exactly",
    )
    .flag("--n N", "how many draws")
    .flag(
        "--seed-for-tests N",
        "a seeded generator instead of the operating system's: reproducible, for tests only",
    )
    .flag("--ledger FILE", "the ledger's file (made when missing)")
    .flag("--budget E", "the ledger's ε budget")
    .flag(
        "--budget-delta D",
        format!(
            "the ledger's δ budget (default {:e})",
            cli::DEFAULT_BUDGET_DELTA
        ),
    )
    .flag("--spend E", "charge ε = E to the ledger")
    .flag("--what TEXT", "what the spend is for, kept in the ledger")
    .done()
}

#[derive(Deserialize)]
struct Config {
    q: f64,
    sigma: f64,
    steps: u64,
    delta: f64,
}

/// A command with its flags read and checked.
enum Command {
    Epsilon(Config),
    Grid(String),
    Sigma {
        epsilon: f64,
        q: f64,
        steps: u64,
        delta: f64,
    },
    Sample {
        mechanism: Mechanism,
        scale: websight::dp::exact::Rational,
        n: usize,
        seed: Option<u64>,
    },
    Ledger {
        path: String,
        budget: f64,
        budget_delta: f64,
        spend: Option<(websight::dp::Guarantee, String)>,
    },
}

enum Mechanism {
    DiscreteLaplace,
    DiscreteGaussian,
    Laplace,
}

/// A command's flags, each given once and each one the command takes.
struct Given(std::collections::HashMap<String, String>);

impl Given {
    fn read(command: &str, args: &[String], takes: &[&str]) -> Result<Given, String> {
        let mut out = std::collections::HashMap::new();
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let name = match flag.strip_prefix("--") {
                Some(name) if takes.contains(&name) => name,
                Some(_) => return Err(format!("dp {command}: unknown flag {flag:?}\n{USAGE}")),
                None => return Err(format!("unexpected argument {flag:?}\n{USAGE}")),
            };
            let value = it.next().ok_or(format!("{flag} needs a value"))?;
            if out.insert(name.to_owned(), value.clone()).is_some() {
                return Err(format!("{flag} is given twice"));
            }
        }
        Ok(Given(out))
    }

    fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    fn text(&self, name: &str) -> Result<String, String> {
        self.0
            .get(name)
            .cloned()
            .ok_or(format!("--{name} is required\n{USAGE}"))
    }

    fn number<T: std::str::FromStr>(&self, name: &str) -> Result<T, String>
    where
        T::Err: std::fmt::Display,
    {
        let raw = self.text(name)?;
        raw.parse().map_err(|e| format!("--{name} {raw:?}: {e}"))
    }

    fn optional<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, String>
    where
        T::Err: std::fmt::Display,
    {
        self.has(name).then(|| self.number(name)).transpose()
    }
}

/// Reads the command line (`epsilon` when it starts with a flag); any mistake in it is a
/// usage error.
fn parse(args: &[String]) -> Result<Command, String> {
    let (command, rest) = match args.split_first() {
        Some((c, rest)) if !c.starts_with("--") => (c.as_str(), rest),
        _ => ("epsilon", args),
    };
    let read = |takes: &[&str]| Given::read(command, rest, takes);
    Ok(match command {
        "epsilon" => {
            let f = read(&["q", "sigma", "steps", "delta", "grid"])?;
            if f.has("grid") {
                if f.0.len() > 1 {
                    return Err(format!("--grid takes no other flag\n{USAGE}"));
                }
                Command::Grid(f.text("grid")?)
            } else {
                Command::Epsilon(Config {
                    q: f.number("q")?,
                    sigma: f.number("sigma")?,
                    steps: f.number("steps")?,
                    delta: f.number("delta")?,
                })
            }
        }
        "sigma" => {
            let f = read(&["epsilon", "q", "steps", "delta"])?;
            Command::Sigma {
                epsilon: f.number("epsilon")?,
                q: f.number("q")?,
                steps: f.number("steps")?,
                delta: f.number("delta")?,
            }
        }
        "sample" => {
            let f = read(&["mechanism", "scale", "n", "seed-for-tests"])?;
            let mechanism = match f.text("mechanism")?.as_str() {
                "discrete-laplace" => Mechanism::DiscreteLaplace,
                "discrete-gaussian" => Mechanism::DiscreteGaussian,
                "laplace" => Mechanism::Laplace,
                other => return Err(format!("--mechanism {other:?}: unknown mechanism\n{USAGE}")),
            };
            let raw = f.text("scale")?;
            let scale = websight::dp::exact::Rational::parse_decimal(&raw)
                .map_err(|e| format!("--scale {raw:?}: {e}"))?;
            Command::Sample {
                mechanism,
                scale,
                n: f.number("n")?,
                seed: f.optional("seed-for-tests")?,
            }
        }
        "ledger" => {
            use websight::dp::Guarantee;
            let f = read(&["ledger", "budget", "budget-delta", "spend", "delta", "what"])?;
            let spend = match f.optional("spend")? {
                Some(epsilon) => {
                    let guarantee = match f.optional("delta")? {
                        Some(delta) => Guarantee::Approximate { epsilon, delta },
                        None => Guarantee::Pure { epsilon },
                    };
                    Some((guarantee, f.text("what")?))
                }
                None if f.has("delta") || f.has("what") => {
                    return Err(format!("--delta and --what go with --spend\n{USAGE}"));
                }
                None => None,
            };
            Command::Ledger {
                path: f.text("ledger")?,
                budget: f.number("budget")?,
                budget_delta: f
                    .optional("budget-delta")?
                    .unwrap_or(cli::DEFAULT_BUDGET_DELTA),
                spend,
            }
        }
        other => return Err(format!("unknown command {other:?}\n{USAGE}")),
    })
}

fn run(command: Command) -> Result<String, String> {
    match command {
        Command::Grid(path) => {
            let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
            let configs: Vec<Config> =
                serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
            let params: Vec<(f64, f64, u64, f64)> = configs
                .iter()
                .map(|c| (c.q, c.sigma, c.steps, c.delta))
                .collect();
            let results = epsilon_grid(&params).map_err(|e| e.to_string())?;
            let out: Vec<serde_json::Value> = configs
                .iter()
                .zip(results)
                .map(|(c, (eps, order))| {
                    json!({"q": c.q, "sigma": c.sigma, "steps": c.steps, "delta": c.delta,
                           "epsilon": eps, "order": order})
                })
                .collect();
            Ok(serde_json::Value::Array(out).to_string())
        }
        Command::Epsilon(c) => {
            let (eps, order) =
                epsilon(c.q, c.sigma, c.steps, c.delta).map_err(|e| e.to_string())?;
            Ok(json!({"epsilon": eps, "order": order}).to_string())
        }
        Command::Sigma {
            epsilon: target,
            q,
            steps,
            delta,
        } => {
            let sigma = noise_multiplier(target, q, steps, delta).map_err(|e| e.to_string())?;
            let (eps, _) = epsilon(q, sigma, steps, delta).map_err(|e| e.to_string())?;
            Ok(json!({"sigma": sigma, "epsilon": eps}).to_string())
        }
        Command::Sample {
            mechanism,
            scale,
            n,
            seed,
        } => sample(mechanism, scale, n, seed),
        Command::Ledger {
            path,
            budget,
            budget_delta,
            spend,
        } => ledger(&path, budget, budget_delta, spend),
    }
}

/// Opens (or creates) a ledger, optionally spends from it, and prints its state.
fn ledger(
    path: &str,
    budget: f64,
    budget_delta: f64,
    spend: Option<(websight::dp::Guarantee, String)>,
) -> Result<String, String> {
    let ledger =
        websight::dp::Ledger::open(path, budget, budget_delta).map_err(|e| e.to_string())?;
    if let Some((guarantee, what)) = spend {
        ledger
            .spend(&what, &[guarantee])
            .map_err(|e| e.to_string())?;
    }
    let spent = ledger.spent().map_err(|e| e.to_string())?;
    let (spent_epsilon, spent_delta) = (spent.epsilon(), spent.delta());
    let budget = ledger.budget();
    Ok(json!({
        "budget_epsilon": budget.epsilon(),
        "budget_delta": budget.delta(),
        "spent_epsilon": spent_epsilon,
        "spent_delta": spent_delta,
        "remaining_epsilon": ledger.remaining().map_err(|e| e.to_string())?,
        "entries": ledger.entries().map_err(|e| e.to_string())?,
    })
    .to_string())
}

/// N samples of one exact sampler, one per line.
fn sample(
    mechanism: Mechanism,
    scale: websight::dp::exact::Rational,
    n: usize,
    seed: Option<u64>,
) -> Result<String, String> {
    use std::fmt::Write;
    use websight::dp::exact::{
        DiscreteGaussian, DiscreteLaplace, SnappedLaplace, os_rng, seeded_for_tests,
    };
    let mut rng: Box<dyn rand::RngCore> = match seed {
        Some(seed) => Box::new(seeded_for_tests(seed)),
        None => Box::new(os_rng()),
    };
    let mut out = String::with_capacity(n * 4);
    match mechanism {
        Mechanism::DiscreteLaplace => {
            let m = DiscreteLaplace::new(scale, 1).map_err(|e| e.to_string())?;
            for _ in 0..n {
                let _ = writeln!(out, "{}", m.sample(rng.as_mut()));
            }
        }
        Mechanism::DiscreteGaussian => {
            let m = DiscreteGaussian::from_sigma(scale, 1).map_err(|e| e.to_string())?;
            for _ in 0..n {
                let _ = writeln!(out, "{}", m.sample(rng.as_mut()));
            }
        }
        Mechanism::Laplace => {
            let m = SnappedLaplace::new(scale.to_f64(), 1.0).map_err(|e| e.to_string())?;
            for _ in 0..n {
                let _ = writeln!(out, "{}", m.sample(rng.as_mut()));
            }
        }
    }
    out.pop();
    Ok(out)
}

fn main() -> ExitCode {
    let read = || {
        let args: Vec<String> = std::env::args().skip(1).collect();
        if cli::help_asked() {
            return Err(help());
        }
        if args.is_empty() {
            return Err(USAGE.to_owned());
        }
        parse(&args)
    };
    // No sockets: `dp sample … | head` ends quietly.
    cli::quiet_on_closed_stdout();
    cli::main_with(read, |command| {
        run(command).map(|out| {
            println!("{out}");
        })
    })
}

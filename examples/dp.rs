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

fn flags(args: &[String]) -> Result<std::collections::HashMap<String, String>, String> {
    let mut out = std::collections::HashMap::new();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let name = flag
            .strip_prefix("--")
            .ok_or(format!("unexpected argument {flag:?}\n{USAGE}"))?;
        let value = it.next().ok_or(format!("{flag} needs a value\n{USAGE}"))?;
        out.insert(name.to_owned(), value.clone());
    }
    Ok(out)
}

fn number<T: std::str::FromStr>(
    f: &std::collections::HashMap<String, String>,
    name: &str,
) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    let raw = f
        .get(name)
        .ok_or(format!("--{name} is required\n{USAGE}"))?;
    raw.parse().map_err(|e| format!("--{name} {raw:?}: {e}"))
}

fn run(args: &[String]) -> Result<String, String> {
    let (command, rest) = match args.split_first() {
        Some((c, rest)) if !c.starts_with("--") => (c.as_str(), rest),
        _ => ("epsilon", args),
    };
    let f = flags(rest)?;
    match command {
        "epsilon" if f.contains_key("grid") => {
            let text =
                std::fs::read_to_string(&f["grid"]).map_err(|e| format!("{}: {e}", f["grid"]))?;
            let configs: Vec<Config> =
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", f["grid"]))?;
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
        "epsilon" => {
            let (eps, order) = epsilon(
                number(&f, "q")?,
                number(&f, "sigma")?,
                number(&f, "steps")?,
                number(&f, "delta")?,
            )
            .map_err(|e| e.to_string())?;
            Ok(json!({"epsilon": eps, "order": order}).to_string())
        }
        "sigma" => {
            let (target, q, steps, delta) = (
                number(&f, "epsilon")?,
                number(&f, "q")?,
                number(&f, "steps")?,
                number(&f, "delta")?,
            );
            let sigma = noise_multiplier(target, q, steps, delta).map_err(|e| e.to_string())?;
            let (eps, _) = epsilon(q, sigma, steps, delta).map_err(|e| e.to_string())?;
            Ok(json!({"sigma": sigma, "epsilon": eps}).to_string())
        }
        "sample" => sample(&f),
        "ledger" => ledger(&f),
        other => Err(format!("unknown command {other:?}\n{USAGE}")),
    }
}

/// Opens (or creates) a ledger, optionally spends from it, and prints its state.
fn ledger(f: &std::collections::HashMap<String, String>) -> Result<String, String> {
    use websight::dp::{Guarantee, Ledger};
    let path = f
        .get("ledger")
        .ok_or(format!("--ledger is required\n{USAGE}"))?;
    let budget_delta = match f.get("budget-delta") {
        Some(_) => number(f, "budget-delta")?,
        None => cli::DEFAULT_BUDGET_DELTA,
    };
    let ledger =
        Ledger::open(path, number(f, "budget")?, budget_delta).map_err(|e| e.to_string())?;
    if f.contains_key("spend") {
        let epsilon = number(f, "spend")?;
        let guarantee = match f.get("delta") {
            Some(_) => Guarantee::Approximate {
                epsilon,
                delta: number(f, "delta")?,
            },
            None => Guarantee::Pure { epsilon },
        };
        let what = f
            .get("what")
            .ok_or(format!("--what is required\n{USAGE}"))?;
        ledger
            .spend(what, &[guarantee])
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
fn sample(f: &std::collections::HashMap<String, String>) -> Result<String, String> {
    use std::fmt::Write;
    use websight::dp::exact::{
        DiscreteGaussian, DiscreteLaplace, Rational, SnappedLaplace, os_rng, seeded_for_tests,
    };
    let n: usize = number(f, "n")?;
    let scale_text = f
        .get("scale")
        .ok_or(format!("--scale is required\n{USAGE}"))?;
    let scale = Rational::parse_decimal(scale_text).map_err(|e| e.to_string())?;
    let mut rng: Box<dyn rand::RngCore> = match f.get("seed-for-tests") {
        Some(_) => Box::new(seeded_for_tests(number(f, "seed-for-tests")?)),
        None => Box::new(os_rng()),
    };
    let mechanism = f
        .get("mechanism")
        .ok_or(format!("--mechanism is required\n{USAGE}"))?;
    let mut out = String::with_capacity(n * 4);
    match mechanism.as_str() {
        "discrete-laplace" => {
            let m = DiscreteLaplace::new(scale, 1).map_err(|e| e.to_string())?;
            for _ in 0..n {
                let _ = writeln!(out, "{}", m.sample(rng.as_mut()));
            }
        }
        "discrete-gaussian" => {
            let m = DiscreteGaussian::from_sigma(scale, 1).map_err(|e| e.to_string())?;
            for _ in 0..n {
                let _ = writeln!(out, "{}", m.sample(rng.as_mut()));
            }
        }
        "laplace" => {
            let m = SnappedLaplace::new(scale.to_f64(), 1.0).map_err(|e| e.to_string())?;
            for _ in 0..n {
                let _ = writeln!(out, "{}", m.sample(rng.as_mut()));
            }
        }
        other => return Err(format!("unknown mechanism {other:?}\n{USAGE}")),
    }
    out.pop();
    Ok(out)
}

fn main() -> ExitCode {
    let parse = || {
        let args: Vec<String> = std::env::args().skip(1).collect();
        if args.iter().any(|a| a == "-h" || a == "--help") {
            return Err(help());
        }
        if args.is_empty() {
            return Err(USAGE.to_owned());
        }
        Ok(args)
    };
    // No sockets: `dp sample … | head` ends quietly.
    cli::quiet_on_closed_stdout();
    cli::main_with(parse, |args| {
        run(&args).map(|out| {
            println!("{out}");
        })
    })
}

//! MinHash LSH over users' item sets, scored against exact Jaccard.
//!
//! ```text
//! cargo run --release --example lsh -- --users FILE --num-perm 128 --threshold 0.5 \
//!     [--queries N] --out OUT.json
//! ```
//!
//! FILE has one user per line (line i is user i), space-separated item ids. Signatures are
//! datasketch 2.0's (`MinHash(num_perm, seed=1)` over the decimal ids' bytes). The N query
//! users (default 200) are spread evenly over the file (user ⌊i·n/N⌋), so other tools can
//! query the same ones (`scripts/lsh_reference.py` does, with datasketch). OUT.json:
//! `{"b","r","signatures":{"0":[…],…},"queries":{"user":[candidates…]},"recall","precision",
//! "timings_s"}`.

#[path = "common/cli.rs"]
mod cli;

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::process::ExitCode;
use std::time::Instant;

use websight::core::io::at_path;
use websight::lsh::evaluate::evaluate;
use websight::lsh::exact::read_sets;

struct Args {
    users: String,
    num_perm: usize,
    threshold: f64,
    queries: usize,
    out: String,
}

const USAGE: &str =
    "usage: lsh --users FILE --num-perm N --threshold T [--queries N] --out OUT.json";

/// MinHash permutations, unless `--num-perm`.
const NUM_PERM: usize = 128;
/// The Jaccard similarity the banding is tuned to, unless `--threshold`.
const THRESHOLD: f64 = 0.5;
/// Users queried, unless `--queries`.
const QUERIES: usize = 200;

/// What `--help` answers.
fn help() -> String {
    cli::Help::new(
        USAGE,
        "MinHash LSH over users' item sets (datasketch 2.0's signatures), its candidates \
         scored against exact Jaccard: recall, precision and timings.",
    )
    .section("Flags")
    .flag(
        "--users FILE",
        "one user per line (line i is user i), space-separated item ids (required)",
    )
    .flag(
        "--num-perm N",
        format!("permutations of each signature (default {NUM_PERM})"),
    )
    .flag(
        "--threshold T",
        format!("the Jaccard similarity the bands are tuned to (default {THRESHOLD})"),
    )
    .flag(
        "--queries N",
        format!("users queried, spread evenly over the file (default {QUERIES})"),
    )
    .flag(
        "--out OUT.json",
        "{\"b\", \"r\", \"signatures\", \"queries\", \"recall\", \"precision\", \
         \"timings_s\"} (required)",
    )
    .done()
}

fn parse_args() -> Result<Args, String> {
    let (mut users, mut out) = (None, None);
    let (mut num_perm, mut threshold, mut queries) = (NUM_PERM, THRESHOLD, QUERIES);
    let mut flags = cli::Flags::from_env();
    while let Some(flag) = flags.next() {
        match flag.as_str() {
            "--users" => users = Some(flags.value()?),
            "--out" => out = Some(flags.file_out()?),
            "--num-perm" => num_perm = flags.parse()?,
            "--threshold" => threshold = flags.parse()?,
            "--queries" => queries = flags.parse()?,
            "-h" | "--help" => return Err(help()),
            other => return Err(format!("unknown flag {other:?}\n{USAGE}")),
        }
    }
    Ok(Args {
        users: users.ok_or(format!("--users is required\n{USAGE}"))?,
        out: out.ok_or(format!("--out is required\n{USAGE}"))?,
        num_perm,
        threshold,
        queries,
    })
}

fn main() -> ExitCode {
    cli::quiet_on_closed_stdout();
    cli::main_with(parse_args, |a| run(&a))
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let t = Instant::now();
    let users = File::open(&args.users).map_err(at_path(args.users.as_ref()))?;
    let sets = read_sets(BufReader::new(users))?;
    if sets.is_empty() {
        return Err("the users file is empty".into());
    }
    let read_s = t.elapsed().as_secs_f64();
    let e = evaluate(&sets, args.num_perm, args.threshold, args.queries)?;
    let t = &e.timings;
    let queries = e.queries.len().max(1) as f64;
    println!(
        "users {}, num_perm {}, threshold {}: bands b = {}, rows r = {}",
        sets.len(),
        args.num_perm,
        args.threshold,
        e.b,
        e.r
    );
    println!("read           {read_s:>9.3} s");
    println!(
        "minhash        {:>9.3} s  ({:.0} users/s)",
        t.minhash,
        sets.len() as f64 / t.minhash
    );
    println!("choose b, r    {:>9.3} s", t.params);
    println!("insert         {:>9.3} s", t.insert);
    println!("build+insert   {:>9.3} s", t.minhash + t.insert);
    println!(
        "queries        {:>9.3} s  ({:.1} µs/query, {} queries)",
        t.query_total,
        1e6 * t.query_total / queries,
        e.queries.len()
    );
    println!("exact truth    {:>9.3} s", t.exact);
    println!(
        "recall {:.3}  precision {:.3}  (against exact Jaccard >= {})",
        e.recall, e.precision, args.threshold
    );
    let out = File::create(&args.out).map_err(at_path(args.out.as_ref()))?;
    serde_json::to_writer(BufWriter::new(out), &e)?;
    println!("wrote {}", args.out);
    Ok(())
}

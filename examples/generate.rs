//! Writes synthetic traffic as JSON lines, e.g. to feed a broker or another tool.
//!
//! ```text
//! cargo run --release --example generate -- [--sessions N] [--users N] [--days N] [--seed N]
//!     [--format events|sessions] [--out FILE]
//! ```
//!
//! `events` (default): the Segment-spec messages a shop's tracking SDKs send, in arrival
//! order (out of order in event time, as a collector receives them), personal data included
//! as real traffic has it. `sessions`: the original system's session records.
//! Memory stays constant however many sessions are asked for.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::process::ExitCode;

use websight::core::synth::{Generator, SynthConfig};

fn run() -> Result<(), String> {
    let mut config = SynthConfig::default();
    let (mut format, mut out) = ("events".to_owned(), None);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<u64>()
                .map_err(|e| format!("{flag} {value:?}: {e}"))
        };
        match flag.as_str() {
            "--sessions" => config.sessions = number()?,
            "--users" => config.users = number()? as u32,
            "--days" => config.days = number()? as u32,
            "--seed" => config.seed = number()?,
            "--format" => format = value,
            "--out" => out = Some(value),
            other => return Err(format!("unknown flag {other:?}")),
        }
    }
    let generator = Generator::new(config).map_err(|e| e.to_string())?;
    let sink: Box<dyn Write> = match out {
        Some(path) => Box::new(File::create(&path).map_err(|e| format!("{path}: {e}"))?),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut sink = BufWriter::new(sink);
    let written = match format.as_str() {
        "events" => generator.write_events(&mut sink),
        "sessions" => generator.write_session_records(&mut sink),
        other => return Err(format!("--format {other:?}: expected events or sessions")),
    }
    .map_err(|e| e.to_string())?;
    sink.flush().map_err(|e| e.to_string())?;
    eprintln!("wrote {written} {format}");
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!(
                "error: {msg}\nusage: generate [--sessions N] [--users N] [--days N] [--seed N] [--format events|sessions] [--out FILE]"
            );
            ExitCode::from(2)
        }
    }
}

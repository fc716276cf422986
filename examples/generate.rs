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

#[path = "common/cli.rs"]
mod cli;

const USAGE: &str = "usage: generate [--sessions N] [--users N] [--days N] [--seed N] [--format events|sessions] [--out FILE]";

struct Args {
    config: SynthConfig,
    /// Session records (the original system's), not Segment messages.
    records: bool,
    out: Option<String>,
}

/// What `--help` answers.
fn help() -> String {
    let help = cli::Help::new(
        USAGE,
        "Writes a furniture shop's generated traffic as JSON lines, with planted bots and \
         abuse, e.g. to feed a broker or another tool. Memory stays constant however many \
         sessions are asked for.",
    )
    .section("Flags");
    cli::synth_help(help)
        .flag(
            "--format events|sessions",
            "events: the Segment messages a shop's tracking SDKs send, in arrival order, personal \
         data included as real traffic has it; sessions: the original system's session \
         records (default events)",
        )
        .flag("--out FILE", "where to write (default: standard output)")
        .done()
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        config: SynthConfig::default(),
        records: false,
        out: None,
    };
    let mut flags = cli::Flags::from_env();
    while let Some(flag) = flags.next() {
        if cli::take_synth_flag(&flag, &mut flags, &mut args.config)? {
            continue;
        }
        match flag.as_str() {
            "--format" => {
                args.records = match flags.value()?.as_str() {
                    "events" => false,
                    "sessions" => true,
                    other => {
                        return Err(format!("--format {other:?}: expected events or sessions"));
                    }
                }
            }
            "--out" => args.out = Some(flags.value()?),
            "-h" | "--help" => return Err(help()),
            other => return Err(format!("unknown flag {other:?}\n{USAGE}")),
        }
    }
    Ok(args)
}

fn run(args: Args) -> Result<(), String> {
    let generator = Generator::new(args.config).map_err(|e| e.to_string())?;
    let sink: Box<dyn Write> = match args.out {
        Some(path) => Box::new(File::create(&path).map_err(|e| format!("{path}: {e}"))?),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut sink = BufWriter::new(sink);
    let (written, format) = if args.records {
        (generator.write_session_records(&mut sink), "sessions")
    } else {
        (generator.write_events(&mut sink), "events")
    };
    let written = written.map_err(|e| e.to_string())?;
    sink.flush().map_err(|e| e.to_string())?;
    eprintln!("wrote {written} {format}");
    Ok(())
}

fn main() -> ExitCode {
    cli::quiet_on_closed_stdout();
    cli::main_with(parse_args, run)
}

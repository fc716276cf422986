//! VADER sentiment of lines of text.
//!
//! ```text
//! cargo run --release --example sentiment -- [FILE]      # FILE, or standard input
//! ```
//!
//! Writes one JSON object per input line:
//! `{"text","neg","neu","pos","compound","label"}` (label: positive / neutral / negative with
//! the original system's cut-offs, compound > 0.05 and < −0.05).

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::process::ExitCode;

use serde_json::json;
use websight::core::io::at_path;
use websight::core::sentiment::Vader;

#[path = "common/cli.rs"]
mod cli;

const USAGE: &str = "usage: sentiment [FILE]   (FILE, or standard input when absent or -)";

/// What `--help` answers.
fn help() -> String {
    cli::Help::new(
        USAGE,
        "VADER sentiment of each line of text, one JSON object a line: {\"text\", \"neg\", \
         \"neu\", \"pos\", \"compound\", \"label\"}; the label is positive above a \
         compound of 0.05, negative below -0.05, else neutral.",
    )
    .done()
}

/// The file to read, `None` for standard input.
fn parse_args() -> Result<Option<String>, String> {
    let mut args = std::env::args().skip(1);
    match (args.next(), args.next()) {
        (Some(flag), _) if flag == "-h" || flag == "--help" => Err(help()),
        (None, None) => Ok(None),
        (Some(path), None) if path == "-" => Ok(None),
        (Some(path), None) if !path.starts_with('-') => Ok(Some(path)),
        _ => Err(USAGE.into()),
    }
}

fn run(file: Option<String>) -> std::io::Result<()> {
    let input: Box<dyn BufRead> = match file {
        Some(path) => Box::new(BufReader::new(
            std::fs::File::open(&path).map_err(at_path(path.as_ref()))?,
        )),
        None => Box::new(BufReader::new(std::io::stdin())),
    };
    let vader = Vader::new();
    let mut out = BufWriter::new(std::io::stdout().lock());
    for line in input.lines() {
        let text = line?;
        let s = vader.polarity_scores(&text);
        let row = json!({"text": text, "neg": s.neg, "neu": s.neu, "pos": s.pos,
                         "compound": s.compound, "label": s.label().as_str()});
        writeln!(out, "{row}")?;
    }
    out.flush()
}

fn main() -> ExitCode {
    cli::quiet_on_closed_stdout();
    cli::main_with(parse_args, run)
}

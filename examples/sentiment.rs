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
use websight::core::sentiment::Vader;

fn run() -> std::io::Result<()> {
    let input: Box<dyn BufRead> = match std::env::args().nth(1) {
        Some(path) if path != "-" => Box::new(BufReader::new(std::fs::File::open(path)?)),
        _ => Box::new(BufReader::new(std::io::stdin())),
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
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

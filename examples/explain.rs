//! SHAP values for rows of a CSV, from a model file.
//!
//! ```text
//! cargo run --release --example explain -- tree --model PATH --format sklearn|xgboost \
//!     --data CSV [--label COL] [--rows N] --out OUT.json
//! cargo run --release --example explain -- kernel --model PATH --background PATH \
//!     --data CSV [--label COL] [--rows N] --out OUT.json
//! ```
//!
//! `tree`: exact path-dependent Tree SHAP of a scikit-learn forest (`sklearn-forest-v1`
//! export; class-1 probability) or an XGBoost JSON model (`save_model`; margin).
//! `kernel`: Kernel SHAP of a logistic (`{"w","b"}`, margin) or MLP
//! (`{"scaler_mean","scaler_scale","W1","b1","W2","b2"}`, probability) model against a
//! background: a CSV with a header (the `--label` column dropped when present), a JSON array
//! of rows, or a JSON object with the rows under `"values"`.
//!
//! The data CSV has a header; the `--label` column, when named, is ignored. The first N rows
//! (all by default) are explained. OUT.json: `{"expected_value": f64, "shap_values":
//! [[f64; features]; rows]}`. A summary (top features by mean |SHAP|, the first row's
//! explanation, time) goes to standard error.

#[path = "common/cli.rs"]
mod cli;

use std::fs::File;
use std::io::BufReader;
use std::process::ExitCode;
use std::time::Instant;

use ndarray::{Array2, s};
use serde_json::json;
use websight::core::datasets::{NumericTable, numeric_csv};
use websight::explain::{Explainer, KernelModel, KernelShap, TreeEnsemble, TreeShap};

const USAGE: &str = "usage:
  explain tree --model PATH --format sklearn|xgboost --data CSV [--label COL] [--rows N] --out OUT.json
  explain kernel --model PATH --background PATH --data CSV [--label COL] [--rows N] --out OUT.json";

#[derive(Default)]
struct Args {
    command: String,
    model: String,
    format: Option<String>,
    background: Option<String>,
    data: String,
    label: Option<String>,
    rows: Option<usize>,
    out: String,
}

/// What `--help` answers.
fn help() -> String {
    cli::Help::new(
        USAGE,
        "SHAP values for the rows of a CSV, from a model file. OUT.json: {\"expected_value\", \
         \"shap_values\": [[...], ...]}, a row of values per row explained; a summary (top \
         features by mean |SHAP|, the first row's explanation) goes to standard error.",
    )
    .section("Commands")
    .flag(
        "tree",
        "exact path-dependent Tree SHAP of a scikit-learn forest (sklearn-forest-v1 export; \
         the class-1 probability) or an XGBoost JSON model (save_model; the margin)",
    )
    .flag(
        "kernel",
        "Kernel SHAP of a logistic model ({\"w\", \"b\"}; the margin) or an MLP \
         ({\"scaler_mean\", \"scaler_scale\", \"W1\", \"b1\", \"W2\", \"b2\"}; the \
         probability) against a background",
    )
    .section("Flags")
    .flag("--model PATH", "the model file (required)")
    .flag(
        "--format sklearn|xgboost",
        "the tree model's format (tree: required)",
    )
    .flag(
        "--background PATH",
        "the reference rows that absent features are drawn from: a CSV with a header, a JSON \
         array of rows, or an object with the rows under \"values\" (kernel: required)",
    )
    .flag(
        "--data CSV",
        "the rows to explain, with a header (required)",
    )
    .flag(
        "--label COL",
        "a column of --data (and of a CSV background) to leave out",
    )
    .flag("--rows N", "explain the first N rows (default: all)")
    .flag("--out OUT.json", "where the values go (required)")
    .done()
}

fn parse_args() -> Result<Args, String> {
    let mut flags = cli::Flags::from_env();
    let command = flags.next().ok_or(USAGE)?;
    if command == "-h" || command == "--help" {
        return Err(help());
    }
    let mut args = Args {
        command,
        ..Args::default()
    };
    if !matches!(args.command.as_str(), "tree" | "kernel") {
        return Err(format!("unknown command {:?}\n{USAGE}", args.command));
    }
    let (mut model, mut data, mut out) = (None, None, None);
    while let Some(flag) = flags.next() {
        match flag.as_str() {
            "--model" => model = Some(flags.value()?),
            "--format" => args.format = Some(flags.value()?),
            "--background" => args.background = Some(flags.value()?),
            "--data" => data = Some(flags.value()?),
            "--label" => args.label = Some(flags.value()?),
            "--rows" => args.rows = Some(flags.parse()?),
            "--out" => out = Some(flags.file_out()?),
            "-h" | "--help" => return Err(help()),
            other => return Err(format!("unknown flag {other:?}\n{USAGE}")),
        }
    }
    let required =
        |v: Option<String>, name: &str| v.ok_or(format!("--{name} is required\n{USAGE}"));
    args.model = required(model, "model")?;
    args.data = required(data, "data")?;
    args.out = required(out, "out")?;
    match args.command.as_str() {
        "tree" if !matches!(args.format.as_deref(), Some("sklearn" | "xgboost")) => {
            Err(format!("tree needs --format sklearn|xgboost\n{USAGE}"))
        }
        "kernel" if args.background.is_none() => {
            Err(format!("kernel needs --background PATH\n{USAGE}"))
        }
        _ => Ok(args),
    }
}

fn main() -> ExitCode {
    cli::quiet_on_closed_stdout();
    cli::main_with(parse_args, |a| run(&a))
}

fn read_csv(path: &str, label: Option<&str>) -> Result<NumericTable, Box<dyn std::error::Error>> {
    let file = File::open(path).map_err(|e| format!("{path}: {e}"))?;
    Ok(numeric_csv(BufReader::new(file), label).map_err(|e| format!("{path}: {e}"))?)
}

/// Background rows: CSV (label dropped when the file has that column) or JSON.
fn read_background(
    path: &str,
    label: Option<&str>,
) -> Result<Array2<f64>, Box<dyn std::error::Error>> {
    if path.ends_with(".csv") {
        let mut header = String::new();
        std::io::BufRead::read_line(
            &mut BufReader::new(File::open(path).map_err(|e| format!("{path}: {e}"))?),
            &mut header,
        )?;
        let has_label = label.is_some_and(|l| header.split(',').any(|c| c.trim() == l));
        return Ok(read_csv(path, label.filter(|_| has_label))?.values);
    }
    let value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?)
            .map_err(|e| format!("{path}: {e}"))?;
    let rows = value.get("values").unwrap_or(&value).clone();
    let rows: Vec<Vec<f64>> = serde_json::from_value(rows).map_err(|e| {
        format!("{path}: expected rows of numbers ([[…]] or {{\"values\": [[…]]}}): {e}")
    })?;
    let width = rows.first().map_or(0, Vec::len);
    if rows.iter().any(|r| r.len() != width) {
        return Err(format!("{path}: rows of different widths").into());
    }
    Ok(Array2::from_shape_vec(
        (rows.len(), width),
        rows.into_iter().flatten().collect(),
    )?)
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let table = read_csv(&args.data, args.label.as_deref())?;
    let n = args
        .rows
        .unwrap_or(table.values.nrows())
        .min(table.values.nrows());
    let x = table.values.slice(s![..n, ..]);
    let model_text =
        std::fs::read_to_string(&args.model).map_err(|e| format!("{}: {e}", args.model))?;
    let t = Instant::now();
    let explanation = if args.command == "tree" {
        let model = match args.format.as_deref() {
            Some("sklearn") => TreeEnsemble::from_sklearn_json(&model_text)?,
            _ => TreeEnsemble::from_xgboost_json(&model_text)?,
        };
        TreeShap::new(&model).explain(x)?
    } else {
        let model = KernelModel::from_json(&model_text)?;
        let background_path = args.background.as_deref().unwrap_or_default();
        let background = read_background(background_path, args.label.as_deref())?;
        KernelShap::new(&model, background)?.explain(x)?
    };
    let seconds = t.elapsed().as_secs_f64();
    let out = json!({
        "expected_value": explanation.expected_value,
        "shap_values": explanation.values.outer_iter().map(|r| r.to_vec()).collect::<Vec<_>>(),
    });
    std::fs::write(&args.out, serde_json::to_string(&out)?)
        .map_err(|e| format!("{}: {e}", args.out))?;

    eprintln!(
        "{n} rows × {} features explained in {seconds:.3} s ({:.0} rows/s); additivity error {:.1e}",
        x.ncols(),
        n as f64 / seconds.max(1e-9),
        explanation.additivity_error()
    );
    eprintln!("mean |SHAP|:");
    for imp in explanation.global_importance(&table.columns).iter().take(5) {
        eprintln!("  {:<24} {:.4}", imp.feature, imp.mean_abs_shap);
    }
    if n > 0 {
        eprintln!("row 0: {}", explanation.why(0, x.row(0), &table.columns, 3));
    }
    Ok(())
}

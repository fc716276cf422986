//! Real data: the UCI Online Shoppers Purchasing Intention data set (Sakar et al. 2018,
//! CC BY 4.0), and a stratified split.

use std::io::BufRead;

use ndarray::{Array1, Array2, Axis};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::{CoreError, Result};

/// A labelled table.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Rows × features.
    pub x: Array2<f64>,
    /// Labels.
    pub y: Array1<bool>,
    /// Column names.
    pub feature_names: Vec<String>,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "June", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const VISITORS: [&str; 3] = ["New_Visitor", "Other", "Returning_Visitor"];

/// Reads `online_shoppers_intention.csv`: the 17 features in file order, categoricals as
/// ordinal codes (Month 1–12, VisitorType New 0 / Other 1 / Returning 2, Weekend 0/1; the
/// integer-coded OperatingSystems, Browser, Region, TrafficType as given), label `Revenue`.
/// A malformed line is an error naming it.
pub fn online_shoppers(reader: impl BufRead) -> Result<Dataset> {
    let mut lines = reader.lines();
    let header = lines
        .next()
        .ok_or_else(|| CoreError::invalid("csv", "empty file"))??;
    let names: Vec<String> = header.trim().split(',').map(str::to_owned).collect();
    if names.len() != 18 || names[17] != "Revenue" {
        return Err(CoreError::invalid(
            "csv",
            format!("unexpected header {header:?}"),
        ));
    }
    let mut values = Vec::new();
    let mut labels = Vec::new();
    for_each_record(lines, |fields, bad| {
        let bad = |what: &str| bad(what.to_owned());
        if fields.len() != 18 {
            return Err(bad("expected 18 fields"));
        }
        for (j, f) in fields[..17].iter().enumerate() {
            let v = match j {
                10 => MONTHS.iter().position(|m| m == f).map(|p| p as f64 + 1.0),
                15 => VISITORS.iter().position(|v| v == f).map(|p| p as f64),
                16 => match *f {
                    "TRUE" => Some(1.0),
                    "FALSE" => Some(0.0),
                    _ => None,
                },
                _ => f.parse::<f64>().ok().filter(|v| v.is_finite()),
            };
            values.push(v.ok_or_else(|| bad(&format!("bad {}", names[j])))?);
        }
        labels.push(match fields[17] {
            "TRUE" => true,
            "FALSE" => false,
            _ => return Err(bad("Revenue must be TRUE or FALSE")),
        });
        Ok(())
    })?;
    let x = Array2::from_shape_vec((labels.len(), 17), values)
        .map_err(|e| CoreError::invalid("csv", e.to_string()))?;
    Ok(Dataset {
        x,
        y: Array1::from(labels),
        feature_names: names[..17].to_vec(),
    })
}

/// A numeric table read from CSV with a header line: every field a number (empty or `NaN`
/// reads as NaN, i.e. missing), optionally without one named column (a label).
///
/// ```
/// let csv = "a,b,label\n1,2.5,1\n3,,0\n";
/// let table = websight_core::datasets::numeric_csv(csv.as_bytes(), Some("label")).unwrap();
/// assert_eq!(table.columns, ["a", "b"]);
/// assert_eq!(table.values[[0, 1]], 2.5);
/// assert!(table.values[[1, 1]].is_nan());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct NumericTable {
    /// Column names, in file order (without the dropped one).
    pub columns: Vec<String>,
    /// Rows × columns.
    pub values: Array2<f64>,
}

/// Reads a [`NumericTable`]; `drop` names a column to leave out (an error if absent). A
/// field that is not a number, or a row of the wrong width, is an error naming the line.
pub fn numeric_csv(reader: impl BufRead, drop: Option<&str>) -> Result<NumericTable> {
    let mut lines = reader.lines();
    let header = lines
        .next()
        .ok_or_else(|| CoreError::invalid("csv", "empty file"))??;
    let names: Vec<String> = header
        .trim()
        .split(',')
        .map(|n| n.trim().trim_matches('"').to_owned())
        .collect();
    let dropped = match drop {
        Some(label) => Some(names.iter().position(|n| n == label).ok_or_else(|| {
            CoreError::invalid("csv", format!("no column {label:?} in header {header:?}"))
        })?),
        None => None,
    };
    let mut values = Vec::new();
    let mut rows = 0;
    for_each_record(lines, |fields, bad| {
        if fields.len() != names.len() {
            return Err(bad(format!("expected {} fields", names.len())));
        }
        for (j, field) in fields.iter().enumerate() {
            if Some(j) == dropped {
                continue;
            }
            let field = field.trim();
            let v = if field.is_empty() {
                f64::NAN
            } else {
                field
                    .parse::<f64>()
                    .map_err(|_| bad(format!("{} is not a number", names[j])))?
            };
            values.push(v);
        }
        rows += 1;
        Ok(())
    })?;
    let columns: Vec<String> = names
        .into_iter()
        .enumerate()
        .filter(|(j, _)| Some(*j) != dropped)
        .map(|(_, n)| n)
        .collect();
    let values = Array2::from_shape_vec((rows, columns.len()), values)
        .map_err(|e| CoreError::invalid("csv", e.to_string()))?;
    Ok(NumericTable { columns, values })
}

/// Calls `f` with the comma-separated fields of every non-empty line after the header, and
/// a maker of errors that name the line.
fn for_each_record(
    lines: std::io::Lines<impl BufRead>,
    mut f: impl FnMut(&[&str], &dyn Fn(String) -> CoreError) -> Result<()>,
) -> Result<()> {
    for (i, line) in lines.enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.trim().split(',').collect();
        let bad =
            |what: String| CoreError::invalid("csv", format!("line {}: {what}: {line:?}", i + 2));
        f(&fields, &bad)?;
    }
    Ok(())
}

/// Row indices of a stratified split: `test_fraction` of each class goes to the test side.
pub fn stratified_split(
    y: &Array1<bool>,
    test_fraction: f64,
    seed: u64,
) -> (Vec<usize>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for class in [false, true] {
        let mut rows: Vec<usize> = (0..y.len()).filter(|&i| y[i] == class).collect();
        rows.shuffle(&mut rng);
        let n_test = (rows.len() as f64 * test_fraction).round() as usize;
        test.extend_from_slice(&rows[..n_test]);
        train.extend_from_slice(&rows[n_test..]);
    }
    train.sort_unstable();
    test.sort_unstable();
    (train, test)
}

impl Dataset {
    /// The rows at `indices`.
    pub fn rows(&self, indices: &[usize]) -> Dataset {
        Dataset {
            x: self.x.select(Axis(0), indices),
            y: self.y.select(Axis(0), indices),
            feature_names: self.feature_names.clone(),
        }
    }
}

/// Per-column standardisation fitted on training rows (z = (x − mean)/sd; constant columns
/// keep sd 1). Every column is kept.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Standardizer {
    mean: Vec<f64>,
    sd: Vec<f64>,
}

impl Standardizer {
    /// Fits on `x`.
    pub fn fit(x: &Array2<f64>) -> Standardizer {
        let n = x.nrows().max(1) as f64;
        let mean: Vec<f64> = x.axis_iter(Axis(1)).map(|c| c.sum() / n).collect();
        let sd = x
            .axis_iter(Axis(1))
            .zip(&mean)
            .map(|(c, m)| {
                let sd = (c.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n).sqrt();
                if sd > 0.0 { sd } else { 1.0 }
            })
            .collect();
        Standardizer { mean, sd }
    }

    /// The standardised copy of `x` (same column count as fitted, else an error).
    pub fn transform(&self, x: &Array2<f64>) -> Result<Array2<f64>> {
        if x.ncols() != self.mean.len() {
            return Err(CoreError::parameter(
                "x",
                format!("{} columns, fitted on {}", x.ncols(), self.mean.len()),
            ));
        }
        let mut out = x.clone();
        for (mut col, (m, s)) in out
            .axis_iter_mut(Axis(1))
            .zip(self.mean.iter().zip(&self.sd))
        {
            col.mapv_inplace(|v| (v - m) / s);
        }
        Ok(out)
    }
}

/// A feature's range known without looking at the data (from what it measures), and
/// whether it is compared on a log scale: what private models may scale and split by.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FeatureRange {
    /// Smallest meaningful value (smaller ones are clamped).
    pub lo: f64,
    /// Largest meaningful value (larger ones are clamped).
    pub hi: f64,
    /// Whether ln(1 + x) is the natural scale (counts, durations, money).
    pub log: bool,
}

impl FeatureRange {
    /// A linear range.
    pub const fn linear(lo: f64, hi: f64) -> Self {
        FeatureRange { lo, hi, log: false }
    }

    /// A range compared on the ln(1 + x) scale (lo ≥ 0).
    pub const fn log(lo: f64, hi: f64) -> Self {
        FeatureRange { lo, hi, log: true }
    }

    /// `v` clamped and mapped to [0, 1] (NaN to 0).
    pub fn unit(&self, v: f64) -> f64 {
        let f = |x: f64| if self.log { x.max(0.0).ln_1p() } else { x };
        let (lo, hi) = (f(self.lo), f(self.hi));
        if v.is_nan() || hi <= lo {
            return 0.0;
        }
        ((f(v.clamp(self.lo, self.hi)) - lo) / (hi - lo)).clamp(0.0, 1.0)
    }
}

/// Every column of `x` mapped to [0, 1] by its public range (a scaler that learns nothing
/// from the rows, so a private model may use it for free).
pub fn scale_to_unit(x: &Array2<f64>, ranges: &[FeatureRange]) -> Result<Array2<f64>> {
    if x.ncols() != ranges.len() {
        return Err(CoreError::parameter(
            "x",
            format!("{} columns, {} ranges", x.ncols(), ranges.len()),
        ));
    }
    Ok(Array2::from_shape_fn(x.raw_dim(), |(i, j)| {
        ranges[j].unit(x[[i, j]])
    }))
}

/// Public ranges of the Online Shoppers columns, from what they measure (Sakar et al.
/// 2018): page counts up to 1,000, durations up to a day (seconds), bounce and exit rates
/// in [0, 1], page values up to 1,000, the special-day closeness in [0, 1], and the codes'
/// documented domains (months 1–12, 8 operating systems, 13 browsers, 9 regions, 20
/// traffic types, 3 visitor types, weekend 0/1).
pub fn online_shoppers_ranges() -> Vec<FeatureRange> {
    let pages = FeatureRange::log(0.0, 1_000.0);
    let seconds = FeatureRange::log(0.0, 86_400.0);
    vec![
        pages,
        seconds,
        pages,
        seconds,
        pages,
        seconds,
        FeatureRange::linear(0.0, 1.0),
        FeatureRange::linear(0.0, 1.0),
        FeatureRange::log(0.0, 1_000.0),
        FeatureRange::linear(0.0, 1.0),
        FeatureRange::linear(1.0, 12.0),
        FeatureRange::linear(1.0, 8.0),
        FeatureRange::linear(1.0, 13.0),
        FeatureRange::linear(1.0, 9.0),
        FeatureRange::linear(1.0, 20.0),
        FeatureRange::linear(0.0, 2.0),
        FeatureRange::linear(0.0, 1.0),
    ]
}

//! What explainers return: per-row SHAP values with the expected value, global importance,
//! and a readable per-session account of the top contributions.

use std::fmt;

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use crate::Result;

/// Explains rows of a model's output.
pub trait Explainer {
    /// SHAP values for every row of `x` (rows × features).
    fn explain(&self, x: ArrayView2<'_, f64>) -> Result<Explanation>;
}

/// SHAP values of some rows: `outputs[i] = expected_value + Σ_j values[[i, j]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// The model's expected output (over its training data or background): the base value.
    pub expected_value: f64,
    /// Rows × features: each feature's contribution to the row's output.
    pub values: Array2<f64>,
    /// The model's output for each row.
    pub outputs: Array1<f64>,
}

impl Explanation {
    pub(crate) fn new(expected_value: f64, values: Array2<f64>, outputs: Array1<f64>) -> Self {
        Explanation {
            expected_value,
            values,
            outputs,
        }
    }

    /// Largest |expected value + Σ values − output| over the rows: 0 up to rounding for an
    /// exact method.
    pub fn additivity_error(&self) -> f64 {
        self.values
            .sum_axis(Axis(1))
            .iter()
            .zip(&self.outputs)
            .map(|(s, o)| (self.expected_value + s - o).abs())
            .fold(0.0, f64::max)
    }

    /// Global importance: mean |SHAP value| of each feature over the rows.
    pub fn mean_abs(&self) -> Array1<f64> {
        let n = self.values.nrows().max(1) as f64;
        self.values.mapv(f64::abs).sum_axis(Axis(0)) / n
    }

    /// Features ranked by [`Explanation::mean_abs`], largest first, with their names.
    pub fn global_importance(&self, names: &[String]) -> Vec<Importance> {
        let mut ranked: Vec<Importance> = self
            .mean_abs()
            .iter()
            .enumerate()
            .map(|(j, &m)| Importance {
                feature: feature_name(names, j),
                mean_abs_shap: m,
            })
            .collect();
        ranked.sort_by(|a, b| b.mean_abs_shap.total_cmp(&a.mean_abs_shap));
        ranked
    }

    /// Why row `row` gets its output: the `top` largest contributions by size, with sign,
    /// the feature's value and name. `x_row` is the explained row itself.
    ///
    /// # Panics
    /// If `row` is out of range (like indexing).
    pub fn why(
        &self,
        row: usize,
        x_row: ArrayView1<'_, f64>,
        names: &[String],
        top: usize,
    ) -> RowExplanation {
        let phi = self.values.row(row);
        let mut order: Vec<usize> = (0..phi.len()).collect();
        order.sort_by(|&a, &b| phi[b].abs().total_cmp(&phi[a].abs()));
        RowExplanation {
            expected_value: self.expected_value,
            output: self.outputs[row],
            contributions: order
                .into_iter()
                .take(top)
                .map(|j| Contribution {
                    feature: feature_name(names, j),
                    value: x_row.get(j).copied().unwrap_or(f64::NAN),
                    shap: phi[j],
                })
                .collect(),
        }
    }
}

fn feature_name(names: &[String], j: usize) -> String {
    names.get(j).cloned().unwrap_or_else(|| format!("f{j}"))
}

/// One feature's global importance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Importance {
    /// Feature name.
    pub feature: String,
    /// Mean |SHAP value| over the explained rows.
    pub mean_abs_shap: f64,
}

/// One feature's contribution to one row's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    /// Feature name.
    pub feature: String,
    /// The row's value of the feature.
    pub value: f64,
    /// Its SHAP value: how much it moves the output from the expected value.
    pub shap: f64,
}

/// "Why this visitor is likely to buy": the output, the base value and the top contributions.
/// `Display` writes it as one readable paragraph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowExplanation {
    /// The model's expected output.
    pub expected_value: f64,
    /// The model's output for this row.
    pub output: f64,
    /// The largest contributions, by size.
    pub contributions: Vec<Contribution>,
}

impl fmt::Display for RowExplanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let direction = if self.output >= self.expected_value {
            "above"
        } else {
            "below"
        };
        write!(
            f,
            "output {:.3}, {direction} the average {:.3}",
            self.output, self.expected_value
        )?;
        for (i, c) in self.contributions.iter().enumerate() {
            let sep = if i == 0 { ": " } else { "; " };
            let effect = if c.shap >= 0.0 { "raises" } else { "lowers" };
            write!(
                f,
                "{sep}{} = {} {effect} it by {:.3}",
                c.feature,
                format_value(c.value),
                c.shap.abs()
            )?;
        }
        Ok(())
    }
}

/// A feature value for people: integers as such, else three decimals without trailing
/// zeros (`2.5518` → `2.552`, `3.0` → `3`).
pub fn format_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn importance_and_row_explanations_rank_by_size() {
        let e = Explanation::new(
            0.2,
            array![[0.1, -0.3, 0.0], [0.1, 0.1, 0.0]],
            array![0.0, 0.4],
        );
        assert!(e.additivity_error() < 1e-15);
        let names = vec!["cart_adds".to_owned(), "bounce".to_owned()];
        let global = e.global_importance(&names);
        assert_eq!(global[0].feature, "bounce");
        assert!((global[0].mean_abs_shap - 0.2).abs() < 1e-15);
        assert_eq!(global[2].feature, "f2");
        let why = e.why(0, array![3.0, 1.0, 9.0].view(), &names, 2);
        assert_eq!(why.contributions[0].feature, "bounce");
        assert_eq!(why.contributions[1].shap, 0.1);
        assert_eq!(format_value(2.5518), "2.552");
        assert_eq!(format_value(0.1), "0.1");
        assert_eq!(format_value(-3.0), "-3");
        assert_eq!(
            why.to_string(),
            "output 0.000, below the average 0.200: bounce = 1 lowers it by 0.300; \
             cart_adds = 3 raises it by 0.100"
        );
    }
}

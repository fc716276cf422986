//! Gradient-boosted trees through `xgboost-rs` (feature `xgboost`).
//!
//! Two facts about xgboost-rs 0.3 shape this module: `DMatrix::from_dense` reads 0.0 as a
//! missing value, so matrices are built from an array interface with NaN as "missing"; and
//! `Booster::train` ignores its round count, so the booster is updated once per round here.

use std::collections::HashMap;

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};
use xgboost_rs::{Booster, DMatrix};

use super::{Fit, PredictProba};
use crate::{CoreError, Result};

/// Gradient boosting parameters (defaults: 100 rounds, depth 6, learning rate 0.3,
/// `hist` trees, seed 0, one thread so results are reproducible).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradientBoostingParams {
    rounds: usize,
    max_depth: usize,
    learning_rate: f64,
    seed: u64,
    threads: usize,
}

impl Default for GradientBoostingParams {
    fn default() -> Self {
        GradientBoostingParams {
            rounds: 100,
            max_depth: 6,
            learning_rate: 0.3,
            seed: 0,
            threads: 1,
        }
    }
}

impl GradientBoostingParams {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    setter!(/// Boosting rounds (trees).
        rounds: usize);

    setter!(/// Tree depth.
        max_depth: usize);

    setter!(/// Shrinkage (`eta`).
        learning_rate: f64);

    setter!(/// Seed.
        seed: u64);

    /// Threads XGBoost may use.
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = n.max(1);
        self
    }
}

/// A fitted booster (binary:logistic).
pub struct GradientBoosting {
    booster: Booster,
    n_features: usize,
}

impl std::fmt::Debug for GradientBoosting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GradientBoosting({} features)", self.n_features)
    }
}

fn xgb(e: impl std::fmt::Display) -> CoreError {
    CoreError::parameter("xgboost", e.to_string())
}

/// A DMatrix of `x` where NaN (never 0.0) means missing.
fn dmatrix(x: ArrayView2<'_, f64>) -> Result<DMatrix> {
    super::check_values(&x, true)?;
    let data: Vec<f32> = x.iter().map(|&v| v as f32).collect(); // row-major
    let (rows, cols) = x.dim();
    DMatrix::from_col_major_f32(&data, 4 * cols, 4, rows, cols, 1, f32::NAN).map_err(xgb)
}

impl Fit for GradientBoostingParams {
    type Model = GradientBoosting;

    fn fit(&self, x: ArrayView2<'_, f64>, y: ArrayView1<'_, bool>) -> Result<GradientBoosting> {
        super::check_training(&x, y.len(), 1, true)?;
        if self.rounds == 0
            || self.max_depth == 0
            || !(self.learning_rate > 0.0 && self.learning_rate <= 1.0)
        {
            return Err(CoreError::parameter(
                "rounds",
                "need rounds >= 1, max_depth >= 1, 0 < learning_rate <= 1",
            ));
        }
        let mut dmat = dmatrix(x)?;
        let labels: Vec<f32> = y.iter().map(|&b| f32::from(u8::from(b))).collect();
        dmat.set_labels(&labels).map_err(xgb)?;
        let config: HashMap<String, String> = [
            ("objective", "binary:logistic".to_owned()),
            ("max_depth", self.max_depth.to_string()),
            ("eta", self.learning_rate.to_string()),
            ("seed", self.seed.to_string()),
            ("nthread", self.threads.to_string()),
            ("tree_method", "hist".to_owned()),
            ("verbosity", "0".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let mut booster = Booster::new_with_json_config(&[&dmat], config).map_err(xgb)?;
        for round in 0..self.rounds {
            booster.update(&dmat, round as i32).map_err(xgb)?;
        }
        Ok(GradientBoosting {
            booster,
            n_features: x.ncols(),
        })
    }
}

impl GradientBoosting {
    /// The model in XGBoost's JSON format (`save_model`): trees with `split_indices`,
    /// `split_conditions`, children, `sum_hessian` covers, `default_left` — what Tree SHAP
    /// importers read.
    pub fn model_json(&self) -> Result<String> {
        self.booster.save_to_buffer("json".to_owned()).map_err(xgb)
    }

    /// Margins (log-odds) of the rows.
    pub fn predict_margin(&self, x: ArrayView2<'_, f64>) -> Result<Array1<f64>> {
        super::check_width(&x, self.n_features)?;
        let m = self.booster.predict_margin(&dmatrix(x)?).map_err(xgb)?;
        Ok(m.into_iter().map(f64::from).collect())
    }

    /// XGBoost's own SHAP values (`pred_contribs`, computed in f32 by its C++ Tree SHAP):
    /// rows × (features + 1), the last column the bias (expected margin).
    pub fn contributions(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        super::check_width(&x, self.n_features)?;
        let (values, (rows, cols)) = self
            .booster
            .predict_contributions(&dmatrix(x)?)
            .map_err(xgb)?;
        Array2::from_shape_vec((rows, cols), values.into_iter().map(f64::from).collect())
            .map_err(xgb)
    }
}

impl PredictProba for GradientBoosting {
    fn predict_proba(&self, x: ArrayView2<'_, f64>) -> Result<Array1<f64>> {
        super::check_width(&x, self.n_features)?;
        let p = self.booster.predict(&dmatrix(x)?).map_err(xgb)?;
        Ok(p.into_iter().map(f64::from).collect())
    }
}

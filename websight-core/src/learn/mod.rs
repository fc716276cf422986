//! Learning vocabulary shared by websight's models, after linfa: checked parameters `fit`
//! a model; a fitted model predicts.
//!
//! - [`Fit`]: parameters + data → fitted model.
//! - [`PredictProba`]: fitted model + rows → P(class 1) per row.
//! - [`Mlp`]: a multilayer perceptron (ReLU hidden layers, sigmoid output) trained with
//!   Adam and early stopping, whose per-example gradients can be clipped — the hook
//!   `websight-dp`'s DP-SGD uses.
//! - [`RandomForest`]: bagged `linfa-trees` decision trees exposed as explicit [`Tree`]s
//!   (feature, threshold, rule, children, cover, value) for Tree SHAP.
//! - `GradientBoosting` (feature `xgboost`): XGBoost through `xgboost-rs`.

mod adam;
#[cfg(feature = "xgboost")]
#[cfg_attr(docsrs, doc(cfg(feature = "xgboost")))]
mod boosting;
mod forest;
mod mlp;
mod tree;

pub use adam::Adam;
#[cfg(feature = "xgboost")]
#[cfg_attr(docsrs, doc(cfg(feature = "xgboost")))]
pub use boosting::{GradientBoosting, GradientBoostingParams};
pub use forest::{RandomForest, RandomForestParams};
pub use mlp::{Gradients, Mlp, MlpParams};
pub use tree::{Tree, TreeNode};

use ndarray::{ArrayView1, ArrayView2};

use crate::Result;

/// Parameters that fit a model to rows `x` (records × features) and binary labels `y`.
pub trait Fit {
    /// The fitted model.
    type Model;

    /// Fits, validating the data's shape and values first.
    fn fit(&self, x: ArrayView2<'_, f64>, y: ArrayView1<'_, bool>) -> Result<Self::Model>;
}

/// A fitted binary classifier.
pub trait PredictProba {
    /// P(class 1) for each row.
    fn predict_proba(&self, x: ArrayView2<'_, f64>) -> Result<ndarray::Array1<f64>>;

    /// Class labels at threshold ½.
    fn predict(&self, x: ArrayView2<'_, f64>) -> Result<ndarray::Array1<bool>> {
        Ok(self.predict_proba(x)?.mapv(|p| p >= 0.5))
    }
}

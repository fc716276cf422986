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

/// A consuming builder setter: `fn name(self, value) -> Self`.
macro_rules! setter {
    ($(#[$m:meta])* $name:ident: $ty:ty) => {
        $(#[$m])*
        pub fn $name(mut self, value: $ty) -> Self {
            self.$name = value;
            self
        }
    };
}

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

/// Checks training data: `y_len` labels for the rows, at least `min_rows` rows and one
/// feature, every value finite (NaN allowed when the model reads it as missing).
pub(crate) fn check_training(
    x: &ArrayView2<'_, f64>,
    y_len: usize,
    min_rows: usize,
    nan_is_missing: bool,
) -> Result<()> {
    if x.nrows() != y_len || x.nrows() < min_rows || x.ncols() == 0 {
        return Err(crate::CoreError::parameter(
            "x",
            format!(
                "{} rows × {} features with {} labels (need >= {min_rows} rows)",
                x.nrows(),
                x.ncols(),
                y_len
            ),
        ));
    }
    check_values(x, nan_is_missing)
}

/// Every value finite (or NaN, when it means missing).
pub(crate) fn check_values(x: &ArrayView2<'_, f64>, nan_is_missing: bool) -> Result<()> {
    if x.iter()
        .any(|v| v.is_infinite() || (v.is_nan() && !nan_is_missing))
    {
        return Err(crate::CoreError::parameter(
            "x",
            if nan_is_missing {
                "features must be finite or NaN (missing)"
            } else {
                "features must be finite"
            },
        ));
    }
    Ok(())
}

/// Checks that rows to predict have the model's `n_features` columns.
pub(crate) fn check_width(x: &ArrayView2<'_, f64>, n_features: usize) -> Result<()> {
    if x.ncols() != n_features {
        return Err(crate::CoreError::parameter(
            "x",
            format!("{} features, the model has {n_features}", x.ncols()),
        ));
    }
    Ok(())
}

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

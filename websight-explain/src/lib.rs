//! # websight-explain
//!
//! Why a model predicts what it does: exact SHAP values for tree ensembles and for any model.
//!
//! - [`TreeEnsemble`]: trees with explicit comparison semantics ([`SplitRule`]: scikit-learn's
//!   `(f64)(f32)x <= t`, XGBoost's `(f32)x < t`, websight's `x < t`), missing-value
//!   direction, cover and leaf values; imported from websight's
//!   [`RandomForest`](websight_core::learn::RandomForest), scikit-learn forest exports,
//!   XGBoost JSON model files and (feature `xgboost`) live boosters.
//! - [`TreeShap`]: exact path-dependent Tree SHAP (Lundberg et al. 2018, Algorithm 2),
//!   and Fast TreeSHAP v2 (Yang 2021) where its precomputation pays off, parallel over
//!   rows; equal to shap 0.51 to 1e-12 on a scikit-learn forest and to XGBoost's
//!   own `pred_contribs` to f32 precision.
//! - [`KernelShap`]: Kernel SHAP for any [`BatchModel`] (a closure from rows to outputs, a
//!   websight model through [`Probability`], or a [`KernelModel`] file) against a background
//!   set: every coalition when the budget allows (exact Shapley values), else paired
//!   sampling; weighted least squares under the efficiency constraint.
//! - [`Explanation`]: values, expected value and outputs; [`Explanation::global_importance`]
//!   (mean |SHAP|) and [`Explanation::why`], the readable per-session account ("why this
//!   visitor is likely to buy").
//!
//! Both explainers implement [`Explainer`]: `explain(rows) → Explanation`.
//!
//! ```
//! use ndarray::Array2;
//! use websight_core::learn::{Fit, RandomForestParams};
//! use websight_explain::{Explainer, TreeEnsemble, TreeShap};
//!
//! // Buyers add to cart (feature 0); feature 1 is noise.
//! let x = Array2::from_shape_fn((200, 2), |(i, j)| ((i * (3 + j * 4)) % 17) as f64);
//! let y = x.column(0).mapv(|v| v > 8.0);
//! let forest = RandomForestParams::new().trees(10).max_depth(Some(3)).fit(x.view(), y.view())?;
//! let model = TreeEnsemble::from_forest(&forest)?;
//! let explanation = TreeShap::new(&model).explain(x.view())?;
//! assert!(explanation.additivity_error() < 1e-12);
//! let names = ["cart_adds".to_owned(), "noise".to_owned()];
//! assert_eq!(explanation.global_importance(&names)[0].feature, "cart_adds");
//! println!("{}", explanation.why(0, x.row(0), &names, 2));
//! # Ok::<(), websight_explain::ExplainError>(())
//! ```
//!
//! # Feature flags
//!
//! - `xgboost`: `TreeEnsemble::from_booster` for websight-core's `GradientBoosting`
//!   (builds XGBoost's C++ sources; needs cmake and libclang). XGBoost JSON files import
//!   without it.
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod ensemble;
mod explanation;
mod fast_v2;
mod import;
mod kernel;
mod models;
mod treeshap;

pub use ensemble::{MAX_DEPTH, MAX_NODES, Node, Output, SplitRule, Tree, TreeEnsemble};
pub use explanation::{
    Contribution, Explainer, Explanation, Importance, RowExplanation, format_value,
};
pub use kernel::{BatchModel, KernelShap, Probability};
pub use models::KernelModel;
pub use treeshap::{Algorithm, TreeShap};

use thiserror::Error;

/// Errors of `websight-explain`.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ExplainError {
    /// An error from `websight-core` (model training, prediction, data).
    #[error(transparent)]
    Core(#[from] websight_core::CoreError),
    /// A model (file or structure) that cannot be used, and why.
    #[error("invalid model: {reason}")]
    InvalidModel {
        /// What is wrong.
        reason: String,
    },
    /// Rows, background or model outputs of the wrong shape or with invalid values.
    #[error("bad input: {reason}")]
    Shape {
        /// What is wrong.
        reason: String,
    },
}

/// Test support: exact Shapley values by the permutation-weight formula over all coalitions.
#[cfg(test)]
pub(crate) fn exact_shapley(d: usize, value: impl Fn(usize) -> f64) -> Vec<f64> {
    let fact = |n: usize| (1..=n).map(|k| k as f64).product::<f64>();
    (0..d)
        .map(|j| {
            (0..1usize << d)
                .filter(|m| m & (1 << j) == 0)
                .map(|m| {
                    let s = m.count_ones() as usize;
                    fact(s) * fact(d - s - 1) / fact(d) * (value(m | 1 << j) - value(m))
                })
                .sum()
        })
        .collect()
}

/// Result with [`ExplainError`].
pub type Result<T, E = ExplainError> = std::result::Result<T, E>;

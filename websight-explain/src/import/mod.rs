//! Importers into [`TreeEnsemble`](crate::TreeEnsemble): websight's random forest,
//! scikit-learn forest exports, XGBoost JSON model files and live `xgboost-rs` boosters.

mod forest;
mod sklearn;
mod xgboost;

use crate::ExplainError;

/// A model file that does not have the expected shape.
pub(crate) fn invalid(reason: impl Into<String>) -> ExplainError {
    ExplainError::InvalidModel {
        reason: reason.into(),
    }
}

/// An array of child indices where -1 (or any negative) means "none", as `Option<usize>`.
pub(crate) fn child(index: i64) -> Option<usize> {
    usize::try_from(index).ok()
}

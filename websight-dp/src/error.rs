//! The DP error type.

use thiserror::Error;

/// Errors of `websight-dp`.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DpError {
    /// An error from `websight-core`.
    #[error(transparent)]
    Core(#[from] websight_core::CoreError),
    /// A privacy parameter outside its valid range (ε ≤ 0, Δ ≤ 0, δ ∉ (0, 1), NaN…).
    #[error("invalid parameter `{param}` = {value}: {reason}")]
    InvalidParameter {
        /// The parameter's name.
        param: &'static str,
        /// The value refused.
        value: f64,
        /// Why.
        reason: String,
    },
    /// A release would exceed the privacy budget; nothing was released or charged.
    #[error(
        "privacy budget exceeded: spending ε = {requested_epsilon}, δ = {requested_delta} \
         would exceed the budget (ε = {budget_epsilon}, δ = {budget_delta}; spent so far \
         ε = {spent_epsilon})"
    )]
    BudgetExceeded {
        /// ε the release asked for (its own cost under basic composition, or the total
        /// after it under RDP).
        requested_epsilon: f64,
        /// δ the release asked for.
        requested_delta: f64,
        /// The filter's ε budget.
        budget_epsilon: f64,
        /// The filter's δ budget.
        budget_delta: f64,
        /// ε spent before this release.
        spent_epsilon: f64,
    },
    /// The privacy ledger cannot be read, written or locked, or holds another budget.
    #[error("privacy ledger: {0}")]
    Ledger(String),
    /// Data with the wrong shape (e.g. bounds for 3 columns, 4 columns given).
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// No σ up to the search limit reaches the target ε.
    #[error("no noise multiplier up to {max_sigma} reaches ε = {target_epsilon}")]
    Unreachable {
        /// The target.
        target_epsilon: f64,
        /// The largest σ tried.
        max_sigma: f64,
    },
}

/// `Result` specialised to [`DpError`].
pub type Result<T, E = DpError> = std::result::Result<T, E>;

/// Refuses NaN, infinities and values outside `(lo, hi)` (open) or `[lo, hi)`.
pub(crate) fn check_range(
    param: &'static str,
    value: f64,
    lo: f64,
    hi: f64,
    inclusive_lo: bool,
) -> Result<f64> {
    let above = if inclusive_lo {
        value >= lo
    } else {
        value > lo
    };
    if value.is_finite() && above && value < hi {
        Ok(value)
    } else {
        Err(DpError::InvalidParameter {
            param,
            value,
            reason: match (inclusive_lo, hi.is_infinite()) {
                (false, true) => format!("must be finite and > {lo}"),
                (true, true) => format!("must be finite and >= {lo}"),
                (false, false) => format!("must lie in ({lo}, {hi})"),
                (true, false) => format!("must lie in [{lo}, {hi})"),
            },
        })
    }
}

/// ε > 0 and finite.
pub(crate) fn positive(param: &'static str, value: f64) -> Result<f64> {
    check_range(param, value, 0.0, f64::INFINITY, false)
}

//! # websight-dp
//!
//! Differential privacy done right: per-record Laplace and Gaussian mechanisms, a privacy budget filter, a Rényi accountant for DP-SGD and DP-SGD itself.
//!
//! **Status:** scaffolding. This crate holds its error type and its place in the workspace;
//! its algorithms land with the project's issue "websight-dp: correct, accounted differential privacy". Until then it has no other public items.
//!
//! ```
//! use websight_dp::DpError;
//! use websight_core::CoreError;
//!
//! // Errors from websight-core surface wrapped, with their cause intact.
//! let core = "Bing".parse::<websight_core::model::Referrer>().unwrap_err();
//! let err: DpError = core.into();
//! assert!(matches!(err, DpError::Core(CoreError::InvalidRecord { .. })));
//! ```
//!
//! # Feature flags
//!
//! None.
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

use thiserror::Error;

/// Errors of `websight-dp`.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DpError {
    /// An error from `websight-core`.
    #[error(transparent)]
    Core(#[from] websight_core::CoreError),
}

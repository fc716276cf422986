//! # websight-explain
//!
//! Explanations of purchase models: exact path-dependent Tree SHAP and Kernel SHAP for any model.
//!
//! **Status:** scaffolding. This crate holds its error type and its place in the workspace;
//! its algorithms land with the project's issue "websight-explain: exact Tree SHAP and Kernel SHAP". Until then it has no other public items.
//!
//! ```
//! use websight_explain::ExplainError;
//! use websight_core::CoreError;
//!
//! // Errors from websight-core surface wrapped, with their cause intact.
//! let core = "Bing".parse::<websight_core::model::Referrer>().unwrap_err();
//! let err: ExplainError = core.into();
//! assert!(matches!(err, ExplainError::Core(CoreError::InvalidRecord { .. })));
//! ```
//!
//! # Feature flags
//!
//! None.
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

use thiserror::Error;

/// Errors of `websight-explain`.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ExplainError {
    /// An error from `websight-core`.
    #[error(transparent)]
    Core(#[from] websight_core::CoreError),
}
